"""``keras.datasets``: the Keras data-set loaders, reading from the local Keras cache directory."""

from __future__ import annotations

__all__: list[str] = []
