"""``keras.ops``: Keras 3's backend-neutral operations. Each function runs eagerly on tensors (anything
``convert_to_tensor`` takes) and, given a symbolic ``KerasTensor``, records an ``OpLayer`` in the functional
graph. ``numpy`` holds the NumPy-like functions, ``nn`` the neural-network ones, ``core`` conversion, control
flow and scatter/slice, ``math``, ``linalg`` and ``image`` the rest.

Example:
    >>> from tessera.keras import ops
    >>> ops.mean(ops.ones((2, 3)), axis=1).shape
    tessera.Size([2])
"""

from __future__ import annotations

from . import core, image, linalg, math, nn, numpy
from .core import *
from .linalg import *
from .math import *
from .nn import *
from .numpy import *

__all__ = ["core", "image", "linalg", "math", "nn", "numpy"] + sorted(
    set(numpy.__all__) | set(nn.__all__) | set(core.__all__) | set(math.__all__) | set(linalg.__all__)
)
