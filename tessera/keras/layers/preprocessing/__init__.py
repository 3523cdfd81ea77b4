"""Preprocessing layers: text (TextVectorization, StringLookup, IntegerLookup, Hashing), numeric
(Normalization, Discretization, CategoryEncoding) and image (Rescaling, Resizing, RandomFlip, ...)."""

from __future__ import annotations

from . import audio, color, image, mixing, numeric, text
from .audio import *
from .color import *
from .image import *
from .mixing import *
from .numeric import *
from .text import *

__all__: list[str] = (
    list(text.__all__)
    + list(numeric.__all__)
    + list(image.__all__)
    + list(color.__all__)
    + list(audio.__all__)
    + list(mixing.__all__)
)
