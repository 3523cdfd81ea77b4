"""``keras.backend``: the backend-level helpers Keras 3 exposes: global settings (``floatx``, ``epsilon``,
``image_data_format`` and their setters, shared with ``keras.config``), dtype helpers
(``standardize_dtype``, ``result_type`` with Keras's promotion lattice, ``is_float_dtype``,
``is_int_dtype``), ``is_keras_tensor``, ``get_uid`` and ``clear_session``.

Example:
    >>> from tessera.keras import backend
    >>> backend.result_type("int32", float), backend.standardize_dtype(ts.float64)
    ('float32', 'float64')
"""

from __future__ import annotations

import collections

import numpy as np

from .config import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from .layers import base as _base

__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "get_uid",
    "image_data_format",
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "result_type",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "standardize_dtype",
]

_INTS = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
_FLOATS = ("bfloat16", "float16", "float32", "float64")
_FLOAT8 = ("float8_e4m3fn", "float8_e5m2")
ALLOWED_DTYPES = ("bool", "string", "complex64", "complex128") + _INTS + _FLOATS + _FLOAT8
_PYTHON = {bool: "bool", int: "int32", float: "float32", str: "string", complex: "complex64", "int": "int32"}


def standardize_dtype(dtype) -> str:
    """The Keras name of a dtype given as a string, a Tessera/NumPy dtype or a Python type (``None``:
    ``floatx()``); ``ValueError`` for anything else.

    Example:
        >>> standardize_dtype(int), standardize_dtype(np.float16)
        ('int32', 'float16')
    """
    if dtype is None:
        return floatx()
    try:
        dtype = _PYTHON.get(dtype, dtype)
    except TypeError:  # unhashable
        pass
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        dtype = np.dtype(dtype).name
    elif hasattr(dtype, "name") and not isinstance(dtype, str):
        dtype = dtype.name
    elif not isinstance(dtype, str) and ("torch" in str(dtype) or "jax.numpy" in str(dtype)):
        dtype = str(dtype).split(".")[-1]
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise ValueError(f"keras.backend.standardize_dtype: invalid dtype {dtype!r}")
    return dtype


def is_float_dtype(dtype) -> bool:
    """Whether ``dtype`` is a floating type (``float*`` or ``bfloat16``).

    Example:
        >>> is_float_dtype("bfloat16"), is_float_dtype("int8")
        (True, False)
    """
    d = standardize_dtype(dtype)
    return d.startswith("float") or d.startswith("bfloat")


def is_int_dtype(dtype) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer type.

    Example:
        >>> is_int_dtype("uint8"), is_int_dtype(float)
        (True, False)
    """
    d = standardize_dtype(dtype)
    return d.startswith("int") or d.startswith("uint")


# Keras's (JAX's) promotion lattice: each type and the types directly above it; "int"/"float" are the weak
# types of Python scalars, which adopt the other operand's precision.
_LATTICE = {
    "bool": ["int"],
    "uint8": ["int16", "uint16"],
    "uint16": ["int32", "uint32"],
    "uint32": ["int64", "uint64"],
    "uint64": ["float"],
    "int": ["uint8", "int8", "complex64"],
    "int8": ["int16"],
    "int16": ["int32"],
    "int32": ["int64"],
    "int64": ["float"],
    "float": ["bfloat16", "float16"],
    "bfloat16": ["float32"],
    "float16": ["float32"],
    "float32": ["float64", "complex64"],
    "float64": ["complex128"],
    "complex64": ["complex128"],
    "complex128": [],
}


def _upper_bounds() -> dict:
    ub = {n: {n} for n in _LATTICE}
    for n in _LATTICE:
        while True:
            more = set().union(*(_LATTICE[b] for b in ub[n]))
            if more <= ub[n]:
                break
            ub[n] |= more
    return ub


_UB = _upper_bounds()
_TO_32 = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _least_upper_bound(nodes: set) -> str:
    common = set.intersection(*(_UB[n] for n in nodes))
    lub = (common & nodes) or {c for c in common if common <= _UB[c]}
    if len(lub) != 1:
        raise ValueError(
            f"keras.backend.result_type: input dtypes {tuple(sorted(nodes))} have no implicit promotion path; "
            "cast the inputs explicitly"
        )
    return lub.pop()


def _weak(dtype: str) -> str:
    if dtype == "bool":
        return dtype
    for kind in ("float", "int", "complex"):
        if kind in dtype:
            return kind
    return dtype


def result_type(*dtypes) -> str:
    """The dtype Keras computes in for operands of ``dtypes`` (its promotion lattice: Python ``int``/``float``
    are weak and adopt the other operand's precision; 64-bit results are narrowed to 32 bits as in Keras's
    non-TensorFlow backends).

    Example:
        >>> result_type("int8", "uint8"), result_type("bfloat16", int), result_type("float16", "bfloat16")
        ('int16', 'bfloat16', 'float32')
    """
    if not dtypes:
        return floatx()
    for d in dtypes:
        if isinstance(d, str) and d in _FLOAT8:
            raise ValueError(
                f"keras.backend.result_type: there is no implicit conversion from float8 dtypes; got {dtypes}"
            )
    parsed = [(standardize_dtype(floatx() if d is None else d), d is int or d is float) for d in dtypes]
    names = [n for n, _ in parsed]
    weak = [w for _, w in parsed]
    for n in names:
        if n not in _LATTICE:
            raise ValueError(f"keras.backend.result_type: dtype {n!r} takes no part in type promotion")
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(set(names)), True
    else:
        out = _least_upper_bound({_weak(n) if w else n for n, w in parsed})
        out_weak = out in ("int", "float")
    if out != "bool" and out_weak:
        bits = floatx()[-2:]
        kind = "f" if out == "bfloat16" else out[0]
        out = {"i": f"int{bits}", "u": f"uint{bits}"}.get(kind, f"float{bits}")
    return _TO_32.get(out, out)


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic ``KerasTensor`` (a functional-model placeholder).

    Example:
        >>> is_keras_tensor(ts.keras.Input((3,))), is_keras_tensor(ts.ones(3))
        (True, False)
    """
    return isinstance(x, _base.KerasTensor)


_UIDS: collections.defaultdict = collections.defaultdict(int)


def get_uid(prefix: str = "") -> int:
    """A per-``prefix`` counter: 1 on the first call, then 2, 3... (reset by ``clear_session``).

    Example:
        >>> clear_session(); get_uid("dense"), get_uid("dense")
        (1, 2)
    """
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def clear_session(free_memory: bool = True) -> None:
    """Reset Keras's global state: automatic layer names (``dense``, ``dense_1``... start again) and the
    ``get_uid`` counters.

    Example:
        >>> clear_session()
    """
    _base.clear_session()
    _UIDS.clear()
