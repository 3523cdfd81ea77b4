"""``keras.ops.numpy`` element-wise, comparison, logical, bitwise and reduction/statistics functions."""

from __future__ import annotations

__all__: list[str] = []
