"""``keras.ops.numpy``: the NumPy-like operations of ``keras.ops``. ``_numpy_math`` holds the element-wise,
comparison, logical, bitwise and reduction/statistics functions; ``_numpy_array`` creation, shape and
indexing, sorting/searching, products (``matmul``, ``einsum``...) and windows."""

from __future__ import annotations

from . import _numpy_array, _numpy_math
from ._numpy_array import *  # noqa: F403 - the namespace re-exports both halves
from ._numpy_math import *  # noqa: F403

__all__ = sorted(set(_numpy_math.__all__) | set(_numpy_array.__all__))
