"""Turning ``keras.ops`` arguments into tensors with Keras 3's dtype rules: Python ints become int32, Python
floats ``floatx()`` (float32), bools bool; NumPy arrays and tensors keep their dtype."""

from __future__ import annotations

import numbers

import numpy as np

from ...core import creation
from ...core import dtypes as _dt
from ...core.tensor import Tensor
from .. import config

__all__ = ["to_tensor", "standardize_dtype"]


def standardize_dtype(dtype) -> _dt.dtype:
    """A Tessera dtype from a Keras dtype spec (``'float32'``, ``'int32'``, NumPy/Tessera dtypes, ``None`` ->
    floatx); Python ``float``/``int`` mean floatx/int32 as in Keras."""
    if dtype is None or dtype is float:
        return _dt.as_dtype(config.floatx())
    if dtype is int:
        return _dt.int32
    try:
        return _dt.as_dtype(dtype)
    except Exception:  # noqa: BLE001
        raise ValueError(f"keras.ops: invalid dtype {dtype!r}") from None


def _python_dtype(x):
    """The dtype Keras gives a (nested) Python scalar/list, or None when it holds no Python numbers."""
    leaves = [x]
    kinds = set()
    while leaves:
        v = leaves.pop()
        if isinstance(v, (list, tuple)):
            leaves.extend(v)
        elif isinstance(v, bool):
            kinds.add("b")
        elif isinstance(v, numbers.Integral) and not isinstance(v, np.integer):
            kinds.add("i")
        elif isinstance(v, float):
            kinds.add("f")
        else:
            return None
    if "f" in kinds:
        return standardize_dtype(None)
    if "i" in kinds:
        return _dt.int32
    return _dt.bool if kinds else standardize_dtype(None)


def to_tensor(x, dtype=None) -> Tensor:
    """``x`` as a Tensor (tensors pass through, cast when ``dtype`` differs).

    Example:
        >>> to_tensor([1, 2]).dtype, to_tensor(2.5).dtype
        (tessera.int32, tessera.float32)
    """
    if isinstance(x, Tensor):
        if dtype is not None:
            dt = standardize_dtype(dtype)
            if x.dtype is not dt:
                return x.to(dt)
        return x
    if dtype is not None:
        dt = standardize_dtype(dtype)
    elif isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, float):
        dt = None  # (a NumPy float64 scalar is a Python float: floatx, as Keras)
    else:
        dt = _python_dtype(x)
    if hasattr(x, "__dlpack__") and not isinstance(x, (np.ndarray, np.generic)):
        t = creation.from_dlpack(x) if hasattr(creation, "from_dlpack") else creation.as_tensor(np.asarray(x))
        return t if dt is None or t.dtype is dt else t.to(dt)
    return creation.as_tensor(np.asarray(x), dtype=dt)
