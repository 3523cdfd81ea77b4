"""``keras.constraints``: weight constraints applied after each optimizer update."""

from __future__ import annotations

__all__: list[str] = []
