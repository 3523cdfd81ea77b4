"""``keras.random``: random draws (``normal``, ``uniform``, ...) and ``SeedGenerator``."""

from __future__ import annotations

__all__: list[str] = []
