"""``keras.ops.numpy``: the NumPy-like operations of ``keras.ops`` (``matmul``, ``mean``, ``concatenate``...)."""

from __future__ import annotations

__all__: list[str] = []
