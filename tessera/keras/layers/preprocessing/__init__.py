"""Keras preprocessing layers.

- ``text``: ``TextVectorization``, ``StringLookup``, ``IntegerLookup``, ``Hashing``, ``HashedCrossing``
- ``numeric``: ``Normalization``, ``Discretization``, ``CategoryEncoding``
- ``image``: ``Rescaling``, ``Resizing``, ``CenterCrop`` and the geometric/brightness/contrast augmentations
- ``color``: color augmentations, ``AutoContrast``, ``Equalization``, CLAHE, ``Solarization``...
- ``mixing``: ``MixUp``, ``CutMix``, ``RandomErasing``, ``RandomShear``, ``RandomPerspective``,
  ``RandomElasticTransform``, ``RandAugment``, ``AugMix``, ``Pipeline``, ``MaxNumBoundingBoxes``
- ``audio``: ``STFTSpectrogram``, ``MelSpectrogram``
"""

from __future__ import annotations

from . import audio, color, image, mixing, numeric, text
from .audio import *
from .color import *
from .image import *
from .mixing import *
from .numeric import *
from .text import *

__all__: list[str] = [
    name for module in (text, numeric, image, color, mixing, audio) for name in module.__all__
]
