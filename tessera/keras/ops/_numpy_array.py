"""``keras.ops.numpy`` creation, shape and indexing, sorting/searching, products and window functions."""

from __future__ import annotations

__all__: list[str] = []
