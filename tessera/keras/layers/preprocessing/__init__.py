"""Preprocessing layers: text (TextVectorization, StringLookup, IntegerLookup, Hashing), numeric
(Normalization, Discretization, CategoryEncoding) and image (Rescaling, Resizing, RandomFlip, ...)."""

from __future__ import annotations

from . import text
from .text import *

__all__: list[str] = list(text.__all__)
