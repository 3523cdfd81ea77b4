"""``keras.config``: global settings (``floatx``, ``epsilon``, ``image_data_format``, ``backend``...)."""

from __future__ import annotations

__all__: list[str] = []
