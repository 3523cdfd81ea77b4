"""``keras.backend``: the backend-level helpers Keras 3 exposes (``backend()``, ``floatx``, ``epsilon``...)."""

from __future__ import annotations

__all__: list[str] = []
