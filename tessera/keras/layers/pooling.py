"""Pooling layers beyond conv.py's 1-D/2-D ones: 3-D, global 3-D and adaptive pooling."""

from __future__ import annotations

__all__: list[str] = []
