"""Preprocessing layers: text (TextVectorization, StringLookup, IntegerLookup, Hashing), numeric
(Normalization, Discretization, CategoryEncoding) and image (Rescaling, Resizing, RandomFlip, ...)."""

from __future__ import annotations

__all__: list[str] = []
