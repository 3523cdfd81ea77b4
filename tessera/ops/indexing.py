"""Indexing ops: ``__getitem__``/``__setitem__`` (basic, advanced and boolean), gather/scatter,
index_select, masked_fill, nonzero."""

from __future__ import annotations

__all__: list[str] = []
