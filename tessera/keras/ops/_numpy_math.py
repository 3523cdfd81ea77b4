"""``keras.ops.numpy`` element-wise, comparison, logical, bitwise and reduction/statistics functions.

Every function converts its arguments with Keras 3's rules (``_convert.to_tensor``: Python ints -> int32,
floats -> floatx), computes with Tessera ops (so autograd and the compiler see it) and gives the result the
dtype Keras 3 gives on its torch backend: Tessera's own promotion follows PyTorch's, and where Keras casts by
its JAX-like lattice (``keras.backend.result_type``) ``_result_type`` below reproduces it. Errors name the
``keras.ops`` function called.

Example:
    >>> from tessera.keras import ops
    >>> ops.mean(ops.add([1, 2], 3)).dtype
    tessera.float32
"""

from __future__ import annotations

import builtins
import functools
import math
import threading
from typing import Any

import numpy as np

from ... import ops as T
from ...core import creation as C
from ...core import dtypes as _dt
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import config
from ..layers.base import symbolic_op
from ._convert import standardize_dtype, to_tensor

ArrayLike = Any  # a Tensor, NumPy array, Python number or (nested) list

# -- Keras 3's type promotion (keras.backend.result_type) ---------------------------------------------------
# Keras adapts JAX's lattice: each dtype -> the dtypes immediately above it; "int"/"float" are the weak types
# of Python scalars. Results are then narrowed to 32 bits on every backend but TensorFlow.
_LATTICE = {
    "bool": ("int",),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int": ("uint8", "int8", "complex64"),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}
_NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _upper_bounds() -> dict:
    bounds = {}
    for node in _LATTICE:
        seen, todo = {node}, [node]
        while todo:
            for up in _LATTICE[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        bounds[node] = seen
    return bounds


_UB = _upper_bounds()


def _least_upper_bound(nodes: frozenset) -> str:
    common = set.intersection(*(_UB[n] for n in nodes))
    lub = (common & nodes) or {c for c in common if common <= _UB[c]}
    if len(lub) != 1:
        raise ValueError(f"Input dtypes {sorted(nodes)} have no implicit dtype promotion path")
    return lub.pop()


def _dtype_name(d) -> tuple[str, bool]:
    """(Keras dtype name, weak) of a dtype spec; the Python types ``int``/``float`` are weak."""
    if d is builtins.int or d is builtins.float:
        return ("int32" if d is builtins.int else config.floatx()), True
    if d is builtins.bool:
        return "bool", False
    if d is None:
        return config.floatx(), False
    return standardize_dtype(d).name, False


@functools.lru_cache(maxsize=1024)
def _result_type_names(*specs) -> str:
    names, weak = zip(*specs)
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not builtins.all(weak):
        out, out_weak = names[0], False
    elif builtins.all(weak):
        out, out_weak = _least_upper_bound(frozenset(names)), True
    else:

        def lattice_name(n, w):
            if not w or n == "bool":
                return n
            return "float" if "float" in n else "int"

        out = _least_upper_bound(frozenset(lattice_name(n, w) for n, w in zip(names, weak)))
        out_weak = out in ("int", "float")
    if out != "bool" and out_weak:
        precision = config.floatx()[-2:]
        out = f"float{precision}" if ("float" in out or out == "bfloat16") else f"int{precision}"
    return _NARROW.get(out, out)


def _result_type(*dtypes) -> _dt.dtype:
    """Keras 3's ``result_type`` of dtype specs (Tessera dtypes, names, or ``int``/``float`` for weak
    Python scalars), as a Tessera dtype."""
    return standardize_dtype(_result_type_names(*(_dtype_name(d) for d in dtypes)))


def _weak_dtype(x):
    """What Keras's torch backend promotes a value as: Python numbers stay weak (their type)."""
    if isinstance(x, (builtins.int, builtins.float)) and not isinstance(x, np.generic):
        return builtins.bool if isinstance(x, builtins.bool) else type(x)
    return x.dtype


# -- helpers -------------------------------------------------------------------------------------------------
_CALL = threading.local()


def _public(fn):
    """A ``keras.ops`` function: symbolic on ``KerasTensor``s; an error from inside names the function the
    user called (only the outermost ``keras.ops`` call adds its name)."""
    name = fn.__name__
    prefix = f"keras.ops.{name}"

    @functools.wraps(fn)
    def run(*args, **kwargs):
        depth = getattr(_CALL, "depth", 0)
        _CALL.depth = depth + 1
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError, IndexError) as e:
            msg = str(e)
            if depth or msg.startswith("keras.ops."):
                raise
            try:
                err = type(e)(f"{prefix}: {msg}")
            except Exception:  # noqa: BLE001  (an exception class with its own constructor)
                err = (ValueError if isinstance(e, ValueError) else TypeError)(f"{prefix}: {msg}")
            raise err from e
        finally:
            _CALL.depth = depth

    return symbolic_op(run, name=name)


def _to(x, dtype=None) -> Tensor:
    # a list holding tensors is stacked (through the op, keeping autograd), as Keras does
    if isinstance(x, (list, tuple)) and x and builtins.any(isinstance(v, Tensor) for v in x):
        stacked = T.stack([to_tensor(v) for v in x])
        return stacked if dtype is None else _cast(stacked, dtype)
    return to_tensor(x, dtype)


def _cast(x: Tensor, dtype) -> Tensor:
    dt = standardize_dtype(dtype)
    return x if x.dtype is dt else x.to(dt)


def _is_int(t: Tensor) -> bool:
    return t.dtype.category == _dt._INT


def _int_or_bool(t: Tensor) -> bool:
    return t.dtype.category in (_dt._INT, _dt._BOOL)


def _floatx() -> _dt.dtype:
    return standardize_dtype(None)


def _shape(t) -> tuple:
    return tuple(t.shape)


def _broadcast(name: str, **tensors) -> None:
    """Raise ValueError naming ``keras.ops.<name>`` and the argument shapes when they cannot broadcast."""
    shapes = [_shape(t) for t in tensors.values()]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        seen = ", ".join(f"{k}.shape={_shape(t)}" for k, t in tensors.items())
        raise ValueError(
            f"keras.ops.{name}: the input shapes cannot be broadcast together ({seen})"
        ) from None


def _axes(name: str, axis, ndim: int, *, tuples: bool = True):
    """``axis`` (None, an int or a tuple/list of ints) checked against ``ndim``, negative axes resolved."""
    if axis is None:
        return None
    seq = isinstance(axis, (list, tuple))
    if seq and not tuples:
        raise TypeError(f"keras.ops.{name}: axis must be an int or None, got axis={axis!r}")
    out = []
    for a in axis if seq else (axis,):
        if isinstance(a, builtins.bool) or not isinstance(a, (builtins.int, np.integer)):
            raise TypeError(f"keras.ops.{name}: axis must be an int or a tuple of ints, got axis={axis!r}")
        n = builtins.max(ndim, 1)  # a 0-d input accepts axis 0/-1, as on the torch backend
        if not -n <= a < n:
            raise ValueError(f"keras.ops.{name}: axis {a} is out of bounds for an input of rank {ndim}")
        out.append(builtins.int(a) % n)
    if len(set(out)) != len(out):
        raise ValueError(f"keras.ops.{name}: repeated axis in axis={axis!r}")
    return tuple(out) if seq else out[0]


def _doc(name: str, summary: str, example: str) -> str:
    return f"``keras.ops.{name}``: {summary}\n\nExample:\n    >>> from tessera.keras import ops\n    >>> {example}\n"


# -- element-wise unary functions ----------------------------------------------------------------------------
def _float_unary(fn):
    """``fn`` on floats; integer/bool inputs are first cast to floatx (as Keras does for exp)."""
    return lambda x: fn(_cast(x, _floatx()) if _int_or_bool(x) else x)


def _sqrt(x):
    return T.sqrt(_cast(x, _floatx()) if x.dtype is _dt.int64 else x)


def _square(x):
    return T.square(_cast(x, _dt.int32) if x.dtype is _dt.bool else x)


def _absolute(x):
    return x if x.dtype is _dt.bool else T.abs(x)


def _fabs(x):
    if x.dtype.is_complex:
        raise TypeError(f"fabs does not support complex inputs. Received: x.dtype={x.dtype.name}")
    return T.abs(_cast(x, _floatx()) if _int_or_bool(x) else x)


def _cbrt(x):
    if x.dtype is _dt.bool:
        x = _cast(x, _dt.int32)
    elif x.dtype is _dt.int64:
        x = _cast(x, _dt.float64)
    return T.sign(x) * T.abs(x) ** (1.0 / 3.0)


def _ceil(x):
    dt = _floatx() if x.dtype is _dt.int64 else _result_type(x.dtype, builtins.float)
    if x.dtype is _dt.bool:
        x = _cast(x, _dt.uint8)
    return _cast(T.ceil(x), dt)


def _floor(x):
    dt = _floatx() if x.dtype is _dt.int64 else _result_type(x.dtype, builtins.float)
    return T.floor(_cast(x, dt))


def _trunc(x):
    return x if x.dtype is _dt.bool else T.trunc(x)


def _angle_like(fn):
    """deg2rad/rad2deg: int64 inputs give float64 (other ints floatx, by the op)."""
    return lambda x: _cast(fn(x), _dt.float64) if x.dtype is _dt.int64 else fn(x)


def _i0(x):
    if x.dtype in (_dt.int64, _dt.float64):
        dt = _dt.float64
    elif x.dtype in (_dt.bfloat16, _dt.float16):
        dt = x.dtype
    else:
        dt = _floatx()
    return T.i0(_cast(x, dt))


def _imag(x):
    # NumPy (and Keras's JAX/TF backends) give zeros for a real input
    return T.imag(x) if x.dtype.is_complex else C.zeros_like(x)


def _isreal(x):
    return T.eq(T.imag(x), 0) if x.dtype.is_complex else T.isreal(x)


def _conj(x):
    return T.conj(x) if x.dtype.is_complex else x


# name -> (computation on a tensor, summary, example argument)
_UNARY = {
    "abs": (_absolute, "absolute value, element-wise (bool stays bool).", "[-1.5, 2.0]"),
    "absolute": (_absolute, "absolute value, element-wise (bool stays bool).", "[-1.5, 2.0]"),
    "fabs": (_fabs, "absolute value as a float (integers become floatx).", "[-1, 2]"),
    "negative": (T.negative, "numerical negative, element-wise.", "[1.0, -2.0]"),
    "reciprocal": (T.reciprocal, "``1 / x``, element-wise.", "[2.0, 4.0]"),
    "square": (_square, "``x * x``, element-wise (bool becomes int32).", "[2, 3]"),
    "sqrt": (_sqrt, "non-negative square root, element-wise.", "[4.0, 9.0]"),
    "cbrt": (_cbrt, "cube root, element-wise.", "[8.0, -27.0]"),
    "exp": (_float_unary(T.exp), "``e ** x``, element-wise.", "[0.0, 1.0]"),
    "exp2": (_float_unary(T.exp2), "``2 ** x``, element-wise.", "[1.0, 3.0]"),
    "expm1": (_float_unary(T.expm1), "``exp(x) - 1``, accurate near zero.", "[1e-5, 1.0]"),
    "log": (T.log, "natural logarithm, element-wise.", "[1.0, 2.0]"),
    "log10": (T.log10, "base-10 logarithm, element-wise.", "[10.0, 100.0]"),
    "log1p": (T.log1p, "``log(1 + x)``, accurate near zero.", "[1e-5, 1.0]"),
    "log2": (T.log2, "base-2 logarithm, element-wise.", "[2.0, 8.0]"),
    "sin": (T.sin, "sine, element-wise.", "[0.0, 1.0]"),
    "cos": (T.cos, "cosine, element-wise.", "[0.0, 1.0]"),
    "tan": (T.tan, "tangent, element-wise.", "[0.0, 1.0]"),
    "arcsin": (T.arcsin, "inverse sine, element-wise.", "[0.0, 0.5]"),
    "arccos": (T.arccos, "inverse cosine, element-wise.", "[0.0, 0.5]"),
    "arctan": (T.arctan, "inverse tangent, element-wise.", "[0.0, 1.0]"),
    "sinh": (T.sinh, "hyperbolic sine, element-wise.", "[0.0, 1.0]"),
    "cosh": (T.cosh, "hyperbolic cosine, element-wise.", "[0.0, 1.0]"),
    "tanh": (T.tanh, "hyperbolic tangent, element-wise.", "[0.0, 1.0]"),
    "arcsinh": (T.arcsinh, "inverse hyperbolic sine, element-wise.", "[0.0, 1.0]"),
    "arccosh": (T.arccosh, "inverse hyperbolic cosine, element-wise.", "[1.0, 2.0]"),
    "arctanh": (T.arctanh, "inverse hyperbolic tangent, element-wise.", "[0.0, 0.5]"),
    "deg2rad": (_angle_like(T.deg2rad), "degrees to radians, element-wise.", "[180.0, 90.0]"),
    "rad2deg": (_angle_like(T.rad2deg), "radians to degrees, element-wise.", "[3.14159, 1.0]"),
    "ceil": (_ceil, "the smallest integer-valued float >= x.", "[1.2, -1.5]"),
    "floor": (_floor, "the largest integer-valued float <= x.", "[1.2, -1.5]"),
    "trunc": (_trunc, "rounds towards zero, element-wise.", "[1.7, -1.7]"),
    "sign": (T.sign, "-1, 0 or 1 by the sign of x, element-wise.", "[-2.0, 0.0, 3.0]"),
    "signbit": (T.signbit, "True where the sign bit is set (negative numbers, -0.0).", "[-2.0, 0.0]"),
    "i0": (_i0, "modified Bessel function of the first kind, order 0.", "[0.0, 1.0]"),
    "sinc": (T.sinc, "normalized sinc, ``sin(pi x) / (pi x)``.", "[0.0, 0.5]"),
    "isfinite": (T.isfinite, "True where x is neither inf nor nan.", "[1.0, float('inf')]"),
    "isinf": (T.isinf, "True where x is +inf or -inf.", "[1.0, float('inf')]"),
    "isnan": (T.isnan, "True where x is nan.", "[1.0, float('nan')]"),
    "isneginf": (T.isneginf, "True where x is -inf.", "[1.0, float('-inf')]"),
    "isposinf": (T.isposinf, "True where x is +inf.", "[1.0, float('inf')]"),
    "isreal": (_isreal, "True where the imaginary part is zero.", "[1.0, 2.0]"),
    "logical_not": (T.logical_not, "``not x`` element-wise (nonzero is True).", "[True, False]"),
    "bitwise_not": (T.bitwise_not, "bitwise NOT of integers/bools.", "[0, 7]"),
    "bitwise_invert": (T.bitwise_not, "bitwise NOT of integers/bools.", "[0, 7]"),
    "real": (T.real, "the real part (the input itself when it is real).", "[1.0, 2.0]"),
    "imag": (_imag, "the imaginary part (zeros for a real input).", "[1.0, 2.0]"),
    "conj": (_conj, "the complex conjugate (the input itself when it is real).", "[1.0, 2.0]"),
    "conjugate": (_conj, "the complex conjugate (the input itself when it is real).", "[1.0, 2.0]"),
    "angle": (T.angle, "the angle of complex numbers (0 or pi for reals).", "[-1.0, 2.0]"),
}


def _make_unary(name: str, fn, summary: str, example: str):
    def op(x: ArrayLike) -> Tensor:
        return fn(_to(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _doc(name, summary, f"ops.{name}({example})")
    return _public(op)


for _name, (_fn, _summary, _example) in _UNARY.items():
    globals()[_name] = _make_unary(_name, _fn, _summary, _example)


# -- element-wise binary functions ---------------------------------------------------------------------------
def _subtract(x1, x2):
    # Tessera (like torch) has no bool subtraction: Keras casts a bool operand to the other's dtype
    if x1.dtype is _dt.bool:
        x1 = _cast(x1, x2.dtype)
    if x2.dtype is _dt.bool:
        x2 = _cast(x2, x1.dtype)
    return T.subtract(x1, x2)


def _float_promoted(fn):
    """``fn`` on both operands cast to ``result_type(x1, x2, float)`` (arctan2, logaddexp...)."""

    def run(x1, x2):
        dt = _result_type(x1.dtype, x2.dtype, builtins.float)
        return fn(_cast(x1, dt), _cast(x2, dt))

    return run


def _int_to_float(fn):
    """``fn`` on the promoted operands, integers computed as floats (hypot, heaviside)."""

    def run(x1, x2):
        dt = _result_type(x1.dtype, x2.dtype)
        if dt is _dt.int64:
            dt = _dt.float64
        elif dt.category == _dt._INT:
            dt = _floatx()
        return fn(_cast(x1, dt), _cast(x2, dt))

    return run


def _bool_as_int(fn):
    """mod/fmod: two bool operands are computed as int32."""

    def run(x1, x2):
        if _result_type(x1.dtype, x2.dtype) is _dt.bool:
            x1, x2 = _cast(x1, _dt.int32), _cast(x2, _dt.int32)
        return fn(x1, x2)

    return run


def _ldexp(x1, x2):
    if x2.dtype.category != _dt._INT:
        raise TypeError(f"ldexp exponent must be an integer type. Received: x2 dtype={x2.dtype.name}")
    dt = _result_type(x1.dtype, x2.dtype, builtins.float)
    return _cast(T.ldexp(x1, x2), dt)


def _nextafter(x1, x2):
    # Keras computes in float64 and casts to the promoted dtype (so float32 inputs mostly come back unchanged)
    dt = _result_type(x1.dtype, x2.dtype, builtins.float)
    return _cast(T.nextafter(_cast(x1, _dt.float64), _cast(x2, _dt.float64)), dt)


# name -> (computation on two tensors, summary, example arguments)
_BINARY = {
    "add": (T.add, "``x1 + x2``, element-wise with broadcasting.", "[1, 2], [3, 4]"),
    "subtract": (_subtract, "``x1 - x2``, element-wise with broadcasting.", "[3, 4], [1, 2]"),
    "multiply": (T.multiply, "``x1 * x2``, element-wise with broadcasting.", "[1, 2], [3, 4]"),
    "power": (T.pow, "``x1 ** x2``, element-wise with broadcasting.", "[2, 3], [3, 2]"),
    "mod": (_bool_as_int(T.remainder), "remainder with the sign of the divisor.", "[-3, 3], [2, 2]"),
    "fmod": (_bool_as_int(T.fmod), "C-style remainder (the sign of the dividend).", "[-3, 3], [2, 2]"),
    "arctan2": (_float_promoted(T.arctan2), "element-wise arc tangent of ``x1 / x2``.", "[1.0], [-1.0]"),
    "logaddexp": (_float_promoted(T.logaddexp), "``log(exp(x1) + exp(x2))``, stably.", "[1.0], [2.0]"),
    "logaddexp2": (_float_promoted(T.logaddexp2), "``log2(2**x1 + 2**x2)``, stably.", "[1.0], [2.0]"),
    "hypot": (_int_to_float(T.hypot), "``sqrt(x1**2 + x2**2)``, element-wise.", "[3.0], [4.0]"),
    "heaviside": (_int_to_float(T.heaviside), "step function: 0, x2 at 0, 1.", "[-1.0, 0.0, 2.0], 0.5"),
    "ldexp": (_ldexp, "``x1 * 2 ** x2`` (``x2`` integer).", "[1.0, 2.0], [3, 1]"),
    "nextafter": (_nextafter, "the next float after x1 towards x2.", "[1.0], [2.0]"),
    "gcd": (T.gcd, "greatest common divisor of integers.", "[12, 18], [8, 27]"),
    "lcm": (T.lcm, "least common multiple of integers.", "[4, 6], [6, 4]"),
    "equal": (T.eq, "``x1 == x2``, element-wise.", "[1, 2], [1, 3]"),
    "not_equal": (T.ne, "``x1 != x2``, element-wise.", "[1, 2], [1, 3]"),
    "greater": (T.gt, "``x1 > x2``, element-wise.", "[1, 2], [1, 1]"),
    "greater_equal": (T.ge, "``x1 >= x2``, element-wise.", "[1, 2], [1, 3]"),
    "less": (T.lt, "``x1 < x2``, element-wise.", "[1, 2], [1, 3]"),
    "less_equal": (T.le, "``x1 <= x2``, element-wise.", "[1, 2], [1, 1]"),
    "logical_and": (T.logical_and, "``x1 and x2`` element-wise (nonzero is True).", "[True, False], True"),
    "logical_or": (T.logical_or, "``x1 or x2`` element-wise (nonzero is True).", "[True, False], False"),
    "logical_xor": (T.logical_xor, "``x1 xor x2`` element-wise (nonzero is True).", "[True, False], True"),
}
# the bitwise functions name their arguments x and y, as in Keras
_BITWISE = {
    "bitwise_and": (T.bitwise_and, "bitwise AND of integers/bools.", "[12, 10], [10, 6]"),
    "bitwise_or": (T.bitwise_or, "bitwise OR of integers/bools.", "[12, 10], [10, 6]"),
    "bitwise_xor": (T.bitwise_xor, "bitwise XOR of integers/bools.", "[12, 10], [10, 6]"),
}


def _binary_call(name: str, fn, names: tuple[str, str], a, b) -> Tensor:
    a, b = _to(a), _to(b)
    _broadcast(name, **dict(zip(names, (a, b))))
    return fn(a, b)


def _make_binary(name: str, fn, summary: str, example: str, names: tuple[str, str]):
    # the signature names the arguments as Keras does: (x1, x2), or (x, y) for the bitwise functions
    if names == ("x1", "x2"):

        def op(x1: ArrayLike, x2: ArrayLike) -> Tensor:
            return _binary_call(name, fn, names, x1, x2)

    else:

        def op(x: ArrayLike, y: ArrayLike) -> Tensor:
            return _binary_call(name, fn, names, x, y)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _doc(name, summary, f"ops.{name}({example})")
    return _public(op)


for _name, (_fn, _summary, _example) in _BINARY.items():
    globals()[_name] = _make_binary(_name, _fn, _summary, _example, ("x1", "x2"))
for _name, (_fn, _summary, _example) in _BITWISE.items():
    globals()[_name] = _make_binary(_name, _fn, _summary, _example, ("x", "y"))


def _scalar_or_tensor(x):
    """Keras's torch backend keeps Python numbers as scalars here (they promote weakly)."""
    return x if isinstance(x, (builtins.int, builtins.float)) and not isinstance(x, builtins.bool) else _to(x)


def _both(name: str, x1, x2):
    x1, x2 = _scalar_or_tensor(x1), _scalar_or_tensor(x2)
    if not isinstance(x1, Tensor) and not isinstance(x2, Tensor):
        x1, x2 = _to(x1), _to(x2)
    t1, t2 = (x if isinstance(x, Tensor) else _to(x) for x in (x1, x2))
    _broadcast(name, x1=t1, x2=t2)
    return x1, x2


def _divide(x1, x2) -> Tensor:
    return T.true_divide(x1, x2)


def _make_divide(name: str):
    def op(x1: ArrayLike, x2: ArrayLike) -> Tensor:
        return _divide(*_both(name, x1, x2))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _doc(
        name, "true division ``x1 / x2`` (integers give floats), with broadcasting.", f"ops.{name}([1, 2], 2)"
    )
    return _public(op)


divide = _make_divide("divide")
true_divide = _make_divide("true_divide")


@_public
def floor_divide(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """``keras.ops.floor_divide``: ``x1 // x2``, in the promoted dtype.

    Example:
        >>> from tessera.keras import ops
        >>> ops.floor_divide([7, -7], 2)
        tensor([ 3, -4], dtype=tessera.int32)
    """
    x1, x2 = _both("floor_divide", x1, x2)
    dt = _result_type(_weak_dtype(x1), _weak_dtype(x2))
    return _cast(T.floor_divide(x1, x2), dt)


def _weak_promoted(name: str, fn, x1, x2) -> Tensor:
    """maximum/minimum/fmax/fmin: both operands converted to the weakly promoted dtype first."""
    x1, x2 = _scalar_or_tensor(x1), _scalar_or_tensor(x2)
    dt = _result_type(_weak_dtype(x1), _weak_dtype(x2))
    x1, x2 = _to(x1, dt), _to(x2, dt)
    _broadcast(name, x1=x1, x2=x2)
    return fn(x1, x2)


# maximum & co: both operands converted to the weakly promoted dtype first (a Python number adapts)
_WEAK_BINARY = {
    "maximum": (T.maximum, "the element-wise maximum (nan propagates).", "[1, 5], 3"),
    "minimum": (T.minimum, "the element-wise minimum (nan propagates).", "[1, 5], 3"),
    "fmax": (
        T.fmax,
        "the element-wise maximum, ignoring nan where the other value is a number.",
        "[1.0], [2.0]",
    ),
    "fmin": (
        T.fmin,
        "the element-wise minimum, ignoring nan where the other value is a number.",
        "[1.0], [2.0]",
    ),
}


def _make_weak_binary(name: str, fn, summary: str, example: str):
    def op(x1: ArrayLike, x2: ArrayLike) -> Tensor:
        return _weak_promoted(name, fn, x1, x2)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _doc(name, summary, f"ops.{name}({example})")
    return _public(op)


for _name, (_fn, _summary, _example) in _WEAK_BINARY.items():
    globals()[_name] = _make_weak_binary(_name, _fn, _summary, _example)


@_public
def divide_no_nan(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """``keras.ops.divide_no_nan``: ``x1 / x2``, and 0 where ``x2`` is 0.

    Example:
        >>> from tessera.keras import ops
        >>> ops.divide_no_nan([1.0, 2.0], [0.0, 4.0])
        tensor([0.0000, 0.5000])
    """
    x1, x2 = _scalar_or_tensor(x1), _scalar_or_tensor(x2)
    dt = _result_type(_weak_dtype(x1), _weak_dtype(x2), builtins.float)
    x1, x2 = _to(x1, dt), _to(x2, dt)
    _broadcast("divide_no_nan", x1=x1, x2=x2)
    zero = T.eq(x2, 0)
    safe = T.where(zero, C.ones_like(x2), x2)
    return T.where(zero, C.zeros((), dtype=dt), T.true_divide(x1, safe))


def _shift(name: str, fn, x, y) -> Tensor:
    x = _to(x)
    if not (isinstance(y, builtins.int) and not isinstance(y, builtins.bool)):
        y = _to(y)
        _broadcast(name, x=x, y=y)
    return fn(x, y)


# the shifts: a Python int shift count stays a scalar
_SHIFTS = {
    "bitwise_left_shift": (T.bitwise_left_shift, "``x << y`` for integers.", "[1, 2], 2"),
    "left_shift": (T.bitwise_left_shift, "``x << y`` for integers.", "[1, 2], 2"),
    "bitwise_right_shift": (
        T.bitwise_right_shift,
        "``x >> y`` for integers (arithmetic shift).",
        "[8, -8], 2",
    ),
    "right_shift": (T.bitwise_right_shift, "``x >> y`` for integers (arithmetic shift).", "[8, -8], 2"),
}


def _make_shift(name: str, fn, summary: str, example: str):
    def op(x: ArrayLike, y: ArrayLike) -> Tensor:
        return _shift(name, fn, x, y)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _doc(name, summary, f"ops.{name}({example})")
    return _public(op)


for _name, (_fn, _summary, _example) in _SHIFTS.items():
    globals()[_name] = _make_shift(_name, _fn, _summary, _example)


@_public
def round(x: ArrayLike, decimals: int = 0) -> Tensor:
    """``keras.ops.round``: rounds half to even, to ``decimals`` decimal places; integers keep their dtype.

    Example:
        >>> from tessera.keras import ops
        >>> ops.round([0.5, 1.5, 2.567], decimals=0)
        tensor([0., 2., 3.])
    """
    if isinstance(decimals, builtins.bool) or not isinstance(decimals, (builtins.int, np.integer)):
        raise TypeError(f"keras.ops.round: decimals must be an int, got decimals={decimals!r}")
    x = _to(x)
    if _is_int(x):
        return _cast(T.round(_cast(x, _floatx()), decimals=builtins.int(decimals)), x.dtype)
    return T.round(x, decimals=builtins.int(decimals))


@_public
def clip(x: ArrayLike, x_min: ArrayLike, x_max: ArrayLike) -> Tensor:
    """``keras.ops.clip``: ``x`` limited to ``[x_min, x_max]`` (bool inputs become int32).

    Example:
        >>> from tessera.keras import ops
        >>> ops.clip([-2.0, 0.5, 3.0], 0.0, 1.0)
        tensor([0.0000, 0.5000, 1.0000])
    """
    x, lo, hi = _to(x), _to(x_min), _to(x_max)
    _broadcast("clip", x=x, x_min=lo, x_max=hi)
    if x.dtype is _dt.float16:
        return _cast(T.clip(_cast(x, _dt.float32), lo, hi), _dt.float16)
    if x.dtype is _dt.bool:
        x = _cast(x, _dt.int32)
    return T.clip(x, lo, hi)


@_public
def nan_to_num(
    x: ArrayLike, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """``keras.ops.nan_to_num``: nan -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (default: the
    largest/smallest finite value of the dtype).

    Example:
        >>> from tessera.keras import ops
        >>> ops.nan_to_num([float("nan"), 1.0], nan=-1.0)
        tensor([-1.,  1.])
    """
    for arg, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and not isinstance(v, (builtins.int, builtins.float, np.number)):
            raise TypeError(f"keras.ops.nan_to_num: {arg} must be a number, got {arg}={v!r}")
    return T.nan_to_num(_to(x), nan=nan, posinf=posinf, neginf=neginf)


def _close(name: str, x1, x2, rtol, atol, equal_nan) -> Tensor:
    x1, x2 = _to(x1), _to(x2)
    _broadcast(name, x1=x1, x2=x2)
    dt = _result_type(x1.dtype, x2.dtype)
    x1, x2 = _cast(x1, dt), _cast(x2, dt)
    if dt.is_floating_point:
        return T.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return T.eq(x1, x2)


@_public
def isclose(
    x1: ArrayLike, x2: ArrayLike, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """``keras.ops.isclose``: ``|x1 - x2| <= atol + rtol * |x2|`` element-wise.

    Example:
        >>> from tessera.keras import ops
        >>> ops.isclose([1.0, 2.0], [1.0 + 1e-9, 2.1])
        tensor([ True, False])
    """
    return _close("isclose", x1, x2, rtol, atol, equal_nan)


@_public
def allclose(
    x1: ArrayLike, x2: ArrayLike, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """``keras.ops.allclose``: whether ``isclose`` holds everywhere (a 0-d bool tensor).

    Example:
        >>> from tessera.keras import ops
        >>> bool(ops.allclose([1.0, 2.0], [1.0, 2.0]))
        True
    """
    return T.all(_close("allclose", x1, x2, rtol, atol, equal_nan))


@_public
def where(condition: ArrayLike, x1: ArrayLike = None, x2: ArrayLike = None) -> Tensor:
    """``keras.ops.where``: ``x1`` where ``condition`` holds, else ``x2``; with neither, the indices of the
    True elements as one ``(ndim, n)`` int64 tensor.

    Example:
        >>> from tessera.keras import ops
        >>> ops.where([True, False], [1, 2], [10, 20])
        tensor([ 1, 20], dtype=tessera.int32)
    """
    if (x1 is None) != (x2 is None):
        raise ValueError("`x1` and `x2` either both should be `None` or both should have non-None value.")
    cond = _to(condition, _dt.bool)
    if x1 is None:
        return T.stack(list(T.where(cond)), 0)
    x1, x2 = _to(x1), _to(x2)
    _broadcast("where", condition=cond, x1=x1, x2=x2)
    return T.where(cond, x1, x2)


@_public
def select(condlist: list, choicelist: list, default: ArrayLike = 0) -> Tensor:
    """``keras.ops.select``: for each element the choice of the first condition that holds, else
    ``default``.

    Example:
        >>> from tessera.keras import ops
        >>> x = [0, 1, 2]
        >>> ops.select([ops.less(x, 1), ops.greater(x, 1)], [[10, 10, 10], [20, 20, 20]])
        tensor([10,  0, 20], dtype=tessera.int32)
    """
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(
            "condlist and choicelist must be lists. Received: "
            f"type(condlist) = {type(condlist)}, type(choicelist) = {type(choicelist)}"
        )
    if not condlist or not choicelist:
        raise ValueError(
            f"condlist and choicelist must not be empty. Received: condlist = {condlist}, "
            f"choicelist = {choicelist}"
        )
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"condlist and choicelist must have the same length. Received: {len(condlist)} conditions and "
            f"{len(choicelist)} choices"
        )
    conds = [_to(c) for c in condlist]
    choices = [_to(c) for c in choicelist]
    out = _to(default)
    for c, v in reversed(list(zip(conds, choices))):
        _broadcast("select", condition=c, choice=v, default=out)
        out = T.where(_cast(c, _dt.bool), v, out)
    return out


# -- reductions ----------------------------------------------------------------------------------------------
_SMALL_INTS = (_dt.bool, _dt.uint8, _dt.int8, _dt.int16)  # summed as int32, as JAX does


def _empty_axis(axis) -> bool:
    return isinstance(axis, (tuple, list)) and len(axis) == 0


def _reduce_dims(axis):
    return () if axis is None else axis


@_public
def sum(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.sum``: the sum over ``axis`` (all axes when None); small integers and bools sum as int32.

    Example:
        >>> from tessera.keras import ops
        >>> ops.sum([[1, 2], [3, 4]], axis=0)
        tensor([4, 6], dtype=tessera.int32)
    """
    x = _to(x)
    if _empty_axis(axis):
        return x
    ax = _axes("sum", axis, x.ndim)
    dt = _dt.int32 if x.dtype in _SMALL_INTS else x.dtype
    return _cast(T.sum(x, ax, keepdims), dt)


@_public
def prod(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False, dtype=None) -> Tensor:
    """``keras.ops.prod``: the product over ``axis``; ``dtype`` sets the accumulation/result dtype.

    Example:
        >>> from tessera.keras import ops
        >>> ops.prod([[1, 2], [3, 4]], axis=1)
        tensor([ 2, 12], dtype=tessera.int32)
    """
    x = _to(x)
    if dtype is None:
        dt = _result_type(x.dtype)
        if dt in _SMALL_INTS:
            dt = _dt.int32
    else:
        dt = standardize_dtype(dtype)
    compute = _dt.float32 if dt is _dt.float16 else dt
    ax = _axes("prod", axis, x.ndim)
    if ax is None:
        out = T.prod(x, dtype=compute)
        return _cast(T.reshape(out, (1,) * x.ndim) if keepdims else out, dt)
    for a in sorted(ax if isinstance(ax, tuple) else (ax,), reverse=True):
        x = _cast(T.prod(x, a, keepdims, dtype=compute), dt)
    return x


@_public
def mean(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.mean``: the arithmetic mean over ``axis``; integers and bools give float32.

    Example:
        >>> from tessera.keras import ops
        >>> ops.mean([[1, 2], [3, 4]], axis=1)
        tensor([1.5000, 3.5000])
    """
    x = _to(x)
    if _empty_axis(axis):
        return x
    ax = _axes("mean", axis, x.ndim)
    compute = _result_type(x.dtype, "float32")
    out_dt = compute if _int_or_bool(x) else x.dtype
    return _cast(T.mean(_cast(x, compute), _reduce_dims(ax), keepdims), out_dt)


@_public
def var(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.var``: the population variance (no Bessel correction) over ``axis``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.var([1.0, 2.0, 3.0, 4.0])
        tensor(1.2500)
    """
    x = _to(x)
    compute = _result_type(x.dtype, "float32")
    out_dt = _result_type(x.dtype, builtins.float)
    if _empty_axis(axis):
        return C.zeros_like(x, dtype=out_dt)
    ax = _axes("var", axis, x.ndim)
    return _cast(T.var(_cast(x, compute), ax, keepdim=keepdims, correction=0), out_dt)


@_public
def std(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.std``: the population standard deviation over ``axis``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.std([1.0, 2.0, 3.0, 4.0])
        tensor(1.1180)
    """
    x = _to(x)
    if _int_or_bool(x):
        x = _cast(x, _dt.float32)
    ax = _axes("std", axis, x.ndim)
    if _empty_axis(axis):
        return C.zeros_like(x)
    return T.std(x, ax, keepdim=keepdims, correction=0)


def _amax_amin(name: str, fn, x, axis, keepdims) -> Tensor:
    x = _to(x)
    if _empty_axis(axis):
        return x
    ax = _axes(name, axis, x.ndim)
    if 0 in _shape(x):
        raise ValueError(f"keras.ops.{name}: cannot reduce an empty tensor (x.shape={_shape(x)})")
    return fn(x, _reduce_dims(ax), keepdims)


def _max_min(name: str, fn, pick, x, axis, keepdims, initial) -> Tensor:
    x = _to(x)
    if 0 in _shape(x):
        if initial is None:
            raise ValueError(f"Cannot compute the {name} of an empty tensor.")
        init = _to(initial)
        return T.reshape(init, (1,) * x.ndim) if keepdims else init
    out = _amax_amin(name, fn, x, axis, keepdims)
    if initial is not None:
        out = pick(out, _to(initial, out.dtype))
    return out


@_public
def max(
    x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False, initial: float | None = None
) -> Tensor:
    """``keras.ops.max``: the maximum over ``axis``, at least ``initial`` when given.

    Example:
        >>> from tessera.keras import ops
        >>> ops.max([[1, 5], [3, 2]], axis=0)
        tensor([3, 5], dtype=tessera.int32)
    """
    return _max_min("max", T.amax, T.maximum, x, axis, keepdims, initial)


@_public
def min(
    x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False, initial: float | None = None
) -> Tensor:
    """``keras.ops.min``: the minimum over ``axis``, at most ``initial`` when given.

    Example:
        >>> from tessera.keras import ops
        >>> ops.min([[1, 5], [3, 2]], axis=0)
        tensor([1, 2], dtype=tessera.int32)
    """
    return _max_min("min", T.amin, T.minimum, x, axis, keepdims, initial)


@_public
def amax(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.amax``: the maximum over ``axis``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.amax([[1, 5], [3, 2]], axis=1)
        tensor([5, 3], dtype=tessera.int32)
    """
    return _amax_amin("amax", T.amax, x, axis, keepdims)


@_public
def amin(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.amin``: the minimum over ``axis``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.amin([[1, 5], [3, 2]], axis=1)
        tensor([1, 2], dtype=tessera.int32)
    """
    return _amax_amin("amin", T.amin, x, axis, keepdims)


@_public
def ptp(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.ptp``: the range ``max - min`` over ``axis``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.ptp([[1, 5], [3, 2]], axis=1)
        tensor([4, 1], dtype=tessera.int32)
    """
    x = _to(x)
    if _empty_axis(axis):
        return C.zeros_like(x)
    return _subtract(
        _amax_amin("ptp", T.amax, x, axis, keepdims), _amax_amin("ptp", T.amin, x, axis, keepdims)
    )


def _all_any(name: str, fn, x, axis, keepdims) -> Tensor:
    x = _to(x)
    if _empty_axis(axis):
        return _cast(x, _dt.bool)
    ax = _axes(name, axis, x.ndim)
    return _cast(fn(x, ax, keepdims), _dt.bool)


@_public
def all(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.all``: whether every element along ``axis`` is nonzero.

    Example:
        >>> from tessera.keras import ops
        >>> ops.all([[True, False], [True, True]], axis=1)
        tensor([False,  True])
    """
    return _all_any("all", T.all, x, axis, keepdims)


@_public
def any(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.any``: whether some element along ``axis`` is nonzero.

    Example:
        >>> from tessera.keras import ops
        >>> ops.any([[True, False], [False, False]], axis=1)
        tensor([ True, False])
    """
    return _all_any("any", T.any, x, axis, keepdims)


@_public
def count_nonzero(x: ArrayLike, axis: int | tuple | None = None) -> Tensor:
    """``keras.ops.count_nonzero``: how many elements along ``axis`` are nonzero (int32).

    Example:
        >>> from tessera.keras import ops
        >>> ops.count_nonzero([[0, 1], [2, 3]], axis=0)
        tensor([1, 2], dtype=tessera.int32)
    """
    x = _to(x)
    if _empty_axis(axis):
        return _cast(T.ne(x, 0), _dt.int32)
    ax = _axes("count_nonzero", axis, x.ndim)
    return _cast(T.count_nonzero(x, ax), _dt.int32)


def _arg(name: str, fn, x, axis, keepdims) -> Tensor:
    x = _to(x)
    ax = _axes(name, axis, x.ndim, tuples=False)
    if 0 in _shape(x):
        raise ValueError(f"keras.ops.{name}: attempt to get {name} of an empty tensor (x.shape={_shape(x)})")
    if x.dtype is _dt.bool:
        x = _cast(x, _dt.uint8)
    return _cast(fn(x, ax, keepdims), _dt.int32)


@_public
def argmax(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.argmax``: the index of the maximum along ``axis`` (of the flattened input when None).

    Example:
        >>> from tessera.keras import ops
        >>> ops.argmax([[1, 5], [3, 2]], axis=1)
        tensor([1, 0], dtype=tessera.int32)
    """
    return _arg("argmax", T.argmax, x, axis, keepdims)


@_public
def argmin(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.argmin``: the index of the minimum along ``axis`` (of the flattened input when None).

    Example:
        >>> from tessera.keras import ops
        >>> ops.argmin([[1, 5], [3, 2]], axis=1)
        tensor([0, 1], dtype=tessera.int32)
    """
    return _arg("argmin", T.argmin, x, axis, keepdims)


def _cumulative(name: str, fn, x: Tensor, axis, dtype) -> Tensor:
    ax = _axes(name, axis, x.ndim, tuples=False)
    if ax is None:
        x, ax = T.reshape(x, (-1,)), 0
    dt = _result_type(standardize_dtype(dtype) if dtype is not None else x.dtype)
    if dt is _dt.bool:
        dt = _dt.int32
    if dt is _dt.float16:
        return _cast(fn(x, ax, dtype=_dt.float32), _dt.float16)
    return fn(x, ax, dtype=dt)


@_public
def cumsum(x: ArrayLike, axis: int | None = None, dtype=None) -> Tensor:
    """``keras.ops.cumsum``: the cumulative sum along ``axis`` (of the flattened input when None).

    Example:
        >>> from tessera.keras import ops
        >>> ops.cumsum([1, 2, 3])
        tensor([1, 3, 6], dtype=tessera.int32)
    """
    return _cumulative("cumsum", T.cumsum, _to(x), axis, dtype)


@_public
def cumprod(x: ArrayLike, axis: int | None = None, dtype=None) -> Tensor:
    """``keras.ops.cumprod``: the cumulative product along ``axis`` (of the flattened input when None).

    Example:
        >>> from tessera.keras import ops
        >>> ops.cumprod([1, 2, 3])
        tensor([1, 2, 6], dtype=tessera.int32)
    """
    return _cumulative("cumprod", T.cumprod, _to(x), axis, dtype)


# -- NaN-ignoring reductions ---------------------------------------------------------------------------------
@_public
def nansum(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nansum``: the sum over ``axis`` treating nan as zero.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nansum([1.0, float("nan"), 2.0])
        tensor(3.)
    """
    x = _to(x)
    dt = _dt.int32 if x.dtype in _SMALL_INTS else x.dtype
    if _empty_axis(axis):
        return _cast(T.nan_to_num(x, nan=0.0), dt)
    ax = _axes("nansum", axis, x.ndim)
    return _cast(T.nansum(x, ax, keepdims), dt)


@_public
def nanprod(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanprod``: the product over ``axis`` treating nan as one.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanprod([2.0, float("nan"), 3.0])
        tensor(6.)
    """
    x = _to(x)
    if _empty_axis(axis):
        return T.nan_to_num(x, nan=1.0)
    _axes("nanprod", axis, x.ndim)
    if x.dtype.is_floating_point:
        x = T.where(T.isnan(x), C.ones((), dtype=x.dtype), x)
    return prod(x, axis=axis, keepdims=keepdims)


@_public
def nanmean(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanmean``: the mean over ``axis`` of the values that are not nan.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanmean([1.0, float("nan"), 3.0])
        tensor(2.)
    """
    x = _to(x)
    if _empty_axis(axis):
        return x
    ax = _axes("nanmean", axis, x.ndim)
    return T.nanmean(_cast(x, _result_type(x.dtype, builtins.float)), ax, keepdims)


def _nan_extreme(name: str, fn, fill: float, x, axis, keepdims) -> Tensor:
    x = _to(x)
    ax = _axes(name, axis, x.ndim)
    if not x.dtype.is_floating_point:
        return fn(x, _reduce_dims(ax), keepdims)
    if _empty_axis(axis):
        return x
    nan = T.isnan(x)
    out = fn(T.where(nan, C.full((), fill, dtype=x.dtype), x), _reduce_dims(ax), keepdims)
    return T.where(T.all(nan, ax, keepdims), C.full((), math.nan, dtype=x.dtype), out)


@_public
def nanmax(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanmax``: the maximum over ``axis`` ignoring nan (nan where all values are nan).

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanmax([1.0, float("nan"), 3.0])
        tensor(3.)
    """
    return _nan_extreme("nanmax", T.amax, -math.inf, x, axis, keepdims)


@_public
def nanmin(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanmin``: the minimum over ``axis`` ignoring nan (nan where all values are nan).

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanmin([1.0, float("nan"), 3.0])
        tensor(1.)
    """
    return _nan_extreme("nanmin", T.amin, math.inf, x, axis, keepdims)


@_public
def nanvar(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanvar``: the population variance over ``axis`` of the values that are not nan.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanvar([1.0, float("nan"), 3.0])
        tensor(1.)
    """
    x = _to(x)
    x = _cast(x, _result_type(x.dtype, builtins.float))
    if _empty_axis(axis):
        return T.where(T.isnan(x), x, C.zeros((), dtype=x.dtype))
    ax = _axes("nanvar", axis, x.ndim)
    valid = T.logical_not(T.isnan(x))
    centered = T.where(valid, x - T.nanmean(x, ax, True), C.zeros((), dtype=x.dtype))
    count = T.sum(valid, ax, keepdims)
    return T.true_divide(T.sum(T.square(centered), ax, keepdims), count)


@_public
def nanstd(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanstd``: the population standard deviation over ``axis`` ignoring nan.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanstd([1.0, float("nan"), 3.0])
        tensor(1.)
    """
    return T.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_arg(name: str, fn, fill: float, x, axis, keepdims) -> Tensor:
    x = _to(x)
    if not x.dtype.is_floating_point:
        return _arg(name, fn, x, axis, keepdims)
    ax = _axes(name, axis, x.ndim, tuples=False)
    nan = T.isnan(x)
    idx = _arg(name, fn, T.where(nan, C.full((), fill, dtype=x.dtype), x), ax, keepdims)
    all_nan = T.all(nan, ax, keepdims)
    if ax is None and keepdims:
        all_nan = T.reshape(all_nan, (1,) * x.ndim)
    return T.where(all_nan, C.full((), -1, dtype=_dt.int32), idx)


@_public
def nanargmax(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanargmax``: the index of the maximum ignoring nan (-1 where all values are nan).

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanargmax([1.0, float("nan"), 3.0])
        tensor(2, dtype=tessera.int32)
    """
    return _nan_arg("nanargmax", T.argmax, -math.inf, x, axis, keepdims)


@_public
def nanargmin(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanargmin``: the index of the minimum ignoring nan (-1 where all values are nan).

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanargmin([1.0, float("nan"), 3.0])
        tensor(0, dtype=tessera.int32)
    """
    return _nan_arg("nanargmin", T.argmin, math.inf, x, axis, keepdims)


@_public
def nancumsum(x: ArrayLike, axis: int | None = None, dtype=None) -> Tensor:
    """``keras.ops.nancumsum``: the cumulative sum treating nan as zero.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nancumsum([1.0, float("nan"), 2.0])
        tensor([1., 1., 3.])
    """
    return _cumulative("nancumsum", T.cumsum, T.nan_to_num(_to(x), nan=0.0), axis, dtype)


@_public
def nancumprod(x: ArrayLike, axis: int | None = None, dtype=None) -> Tensor:
    """``keras.ops.nancumprod``: the cumulative product treating nan as one.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nancumprod([2.0, float("nan"), 3.0])
        tensor([2., 2., 6.])
    """
    return _cumulative("nancumprod", T.cumprod, T.nan_to_num(_to(x), nan=1.0), axis, dtype)


# -- quantiles -----------------------------------------------------------------------------------------------
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name: str, fn, x, q, axis, method, keepdims, percent: bool) -> Tensor:
    if method not in _METHODS:
        raise ValueError(f"keras.ops.{name}: method must be one of {_METHODS}, got method={method!r}")
    x = _to(x)
    q = T.true_divide(_to(q, _floatx()), 100.0) if percent else _to(q)
    if q.ndim > 1:
        raise ValueError(f"keras.ops.{name}: q must be a scalar or 1-D, got q.shape={_shape(q)}")
    ax = _axes(name, axis, x.ndim)
    if ax is not None and not isinstance(ax, tuple):
        ax = (ax,)
    compute = _result_type(x.dtype, "float32")
    out_dt = _result_type(x.dtype, builtins.float)
    x = _cast(x, compute)
    q = _cast(q, x.dtype)
    if ax is None:
        y = T.reshape(x, (-1,))
    else:
        others = [i for i in range(x.ndim) if i not in ax]
        shape = _shape(x)
        y = T.reshape(
            T.permute(x, others + list(ax)), [shape[i] for i in others] + [math.prod(shape[i] for i in ax)]
        )
    y = fn(y, q, dim=-1, interpolation=method)
    if keepdims:
        if ax is None:
            y = T.reshape(y, _shape(y) + (1,) * x.ndim)
        else:
            for i in sorted(ax):
                y = T.unsqueeze(y, i + 1 if q.ndim > 0 else i)
    return _cast(y, out_dt)


def _make_quantile(name: str, fn, percent: bool, what: str, example: str):
    def op(
        x: ArrayLike,
        q: ArrayLike,
        axis: int | tuple | None = None,
        method: str = "linear",
        keepdims: bool = False,
    ) -> Tensor:
        return _quantile(name, fn, x, q, axis, method, keepdims, percent)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _doc(
        name,
        f"the {what} along ``axis`` (``method``: linear, lower, higher, midpoint or nearest); a 1-D ``q`` "
        "adds a leading axis.",
        example,
    )
    return _public(op)


quantile = _make_quantile(
    "quantile", T.quantile, False, "q-th quantiles (q in [0, 1])", "ops.quantile([1.0, 2.0, 3.0], 0.5)"
)
nanquantile = _make_quantile(
    "nanquantile",
    T.nanquantile,
    False,
    "q-th quantiles ignoring nan",
    "ops.nanquantile([1.0, float('nan'), 3.0], 0.5)",
)
percentile = _make_quantile(
    "percentile", T.quantile, True, "q-th percentiles (q in [0, 100])", "ops.percentile([1.0, 2.0, 3.0], 50)"
)
nanpercentile = _make_quantile(
    "nanpercentile", T.nanquantile, True, "q-th percentiles ignoring nan", "ops.nanpercentile([1.0, 3.0], 50)"
)


@_public
def median(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.median``: the median along ``axis`` (the mean of the two middle values for even counts).

    Example:
        >>> from tessera.keras import ops
        >>> ops.median([1.0, 4.0, 2.0, 3.0])
        tensor(2.5000)
    """
    return _quantile("median", T.quantile, x, 0.5, axis, "linear", keepdims, False)


@_public
def nanmedian(x: ArrayLike, axis: int | tuple | None = None, keepdims: bool = False) -> Tensor:
    """``keras.ops.nanmedian``: the median along ``axis`` ignoring nan.

    Example:
        >>> from tessera.keras import ops
        >>> ops.nanmedian([1.0, float("nan"), 3.0])
        tensor(2.)
    """
    if _empty_axis(axis):
        return _to(x)
    return _quantile("nanmedian", T.nanquantile, x, 0.5, axis, "linear", keepdims, False)


@_public
def average(x: ArrayLike, axis: int | tuple | None = None, weights: ArrayLike = None) -> Tensor:
    """``keras.ops.average``: the (weighted) mean along ``axis``; 1-D ``weights`` weight the entries of
    ``axis``, otherwise ``weights`` has the shape of ``x``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.average([1.0, 2.0, 3.0], weights=[3.0, 1.0, 0.0])
        tensor(1.2500)
    """
    x = _to(x)
    specs = [x.dtype, builtins.float]
    if weights is not None:
        weights = _to(weights)
        specs.append(weights.dtype)
    dt = _result_type(*specs)
    x = _cast(x, dt)
    if _empty_axis(axis):
        return x
    ax = _axes("average", axis, x.ndim)
    if weights is None:
        return T.mean(x, _reduce_dims(ax))
    w = _cast(weights, dt)
    if _shape(w) != _shape(x):
        if ax is None or isinstance(ax, tuple):
            raise ValueError(
                f"keras.ops.average: axis must be one int when the shapes of x and weights differ "
                f"(x.shape={_shape(x)}, weights.shape={_shape(w)}, axis={axis!r})"
            )
        if w.ndim != 1 or w.shape[0] != x.shape[ax]:
            raise ValueError(
                f"keras.ops.average: weights must have the shape of x or be 1-D with the length of x.shape[axis] "
                f"(x.shape={_shape(x)}, weights.shape={_shape(w)}, axis={axis!r})"
            )
        w = T.reshape(w, [-1 if i == ax else 1 for i in range(x.ndim)])
        return T.true_divide(T.sum(x * w, ax), T.sum(w))
    return T.true_divide(T.sum(x * w, _reduce_dims(ax)), T.sum(w, _reduce_dims(ax)))


# -- histograms, counting, correlation -----------------------------------------------------------------------
@_public
def histogram(x: ArrayLike, bins: int = 10, range: tuple | None = None) -> tuple[Tensor, Tensor]:
    """``keras.ops.histogram``: ``(counts, bin_edges)`` of a 1-D input over ``bins`` equal bins spanning
    ``range`` (default: the input's min and max).

    Example:
        >>> from tessera.keras import ops
        >>> counts, edges = ops.histogram([0.0, 0.5, 1.0, 1.0], bins=2)
        >>> counts
        tensor([1., 3.])
    """
    if isinstance(bins, builtins.bool) or not isinstance(bins, builtins.int):
        raise TypeError(f"Argument `bins` must be of type `int`. Received: bins={bins}")
    if bins < 0:
        raise ValueError(f"Argument `bins` should be a non-negative integer. Received: bins={bins}")
    if range:
        if not isinstance(range, tuple) or len(range) < 2:
            raise ValueError(f"Argument `range` must be a tuple of two elements. Received: range={range}")
        if range[1] < range[0]:
            raise ValueError(
                f"The second element of `range` must be greater than the first. Received: range={range}"
            )
    x = _to(x)
    if x.ndim > 1:
        raise ValueError(f"Input tensor must be 1-dimensional. Received: input.shape={_shape(x)}")
    if not x.dtype.is_floating_point:
        x = _cast(x, _floatx())
    return tuple(T.histogram(x, bins, range=range))


@_public
def bincount(x: ArrayLike, weights: ArrayLike = None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """``keras.ops.bincount``: how often each non-negative integer occurs in ``x`` (1-D, or 2-D counted
    per row), summing ``weights`` instead of ones when given.

    Example:
        >>> from tessera.keras import ops
        >>> ops.bincount([0, 1, 1, 3])
        tensor([1, 2, 0, 1], dtype=tessera.int32)
    """
    if sparse:
        raise ValueError("Unsupported value `sparse=True` with torch backend")
    if (
        isinstance(minlength, builtins.bool)
        or not isinstance(minlength, (builtins.int, np.integer))
        or minlength < 0
    ):
        raise ValueError(f"`minlength` must be a non-negative int. Received: minlength={minlength!r}")
    x = _to(x)
    if x.dtype.category != _dt._INT:
        raise TypeError(f"Input dtype must be an integer type. Received: x.dtype={x.dtype.name}")
    if x.ndim not in (1, 2):
        raise ValueError(f"Input must be 1-D or 2-D. Received: x.shape={_shape(x)}")
    if weights is not None:
        weights = _to(weights)
        if _shape(weights) != _shape(x):
            raise ValueError(
                f"`weights` must have the shape of `x`. Received: x.shape={_shape(x)}, "
                f"weights.shape={_shape(weights)}"
            )
        dt = _result_type(x.dtype, weights.dtype)
    else:
        dt = _dt.int32
    values = x.numpy()  # a host read that only decides the output length (counting is not differentiable)
    if values.size and values.min() < 0:
        raise ValueError(f"Input values must be non-negative. Received: min(x)={values.min()}")
    if x.ndim == 1:
        return _cast(T.bincount(x, weights, builtins.int(minlength)), dt)
    length = builtins.max(builtins.int(minlength), builtins.int(values.max()) + 1 if values.size else 0)
    rows = [
        T.bincount(x[i], None if weights is None else weights[i], length) for i in builtins.range(x.shape[0])
    ]
    return _cast(T.stack(rows), dt)


@_public
def digitize(x: ArrayLike, bins: ArrayLike) -> Tensor:
    """``keras.ops.digitize``: for each element the index ``i`` of the bin with ``bins[i-1] <= x < bins[i]``
    (``bins`` increasing), as int32.

    Example:
        >>> from tessera.keras import ops
        >>> ops.digitize([0.5, 1.5, 3.0], [1.0, 2.0])
        tensor([0, 1, 2], dtype=tessera.int32)
    """
    x, b = _to(x), _to(bins)
    if b.ndim != 1:
        raise ValueError(f"`bins` must be 1-D. Received: bins.shape={_shape(b)}")
    if x.dtype is _dt.bool:
        x = _cast(x, _dt.uint8)
    return _cast(T.bucketize(x, b, right=True), _dt.int32)


@_public
def corrcoef(x: ArrayLike) -> Tensor:
    """``keras.ops.corrcoef``: the Pearson correlation matrix of the rows of ``x`` (variables in rows).

    Example:
        >>> from tessera.keras import ops
        >>> ops.corrcoef([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]]).shape
        tessera.Size([2, 2])
    """
    x = _to(x)
    if x.ndim > 2:
        raise ValueError(f"`x` must be 1-D or 2-D. Received: x.shape={_shape(x)}")
    if x.dtype is _dt.bool:
        x = _cast(x, _floatx())
    elif x.dtype is _dt.int64:
        x = _cast(x, _dt.float64)
    return T.corrcoef(x)


@_public
def correlate(x1: ArrayLike, x2: ArrayLike, mode: str = "valid") -> Tensor:
    """``keras.ops.correlate``: the cross-correlation of two 1-D sequences, ``c[k] = sum_n x1[n+k] x2[n]``
    (``mode``: "valid", "same" or "full").

    Example:
        >>> from tessera.keras import ops
        >>> ops.correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], mode="full")
        tensor([0.5000, 2.0000, 3.5000, 3.0000, 0.0000])
    """
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"`mode` must be one of 'valid', 'same', 'full'. Received: mode={mode!r}")
    x1, x2 = _to(x1), _to(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"`x1` and `x2` must be 1-D. Received: x1.shape={_shape(x1)}, x2.shape={_shape(x2)}")
    dt = _result_type(x1.dtype, x2.dtype)
    if dt is _dt.int64:
        dt = _dt.float64
    elif dt not in (_dt.bfloat16, _dt.float16, _dt.float64):
        dt = _dt.float32
    n1, n2 = x1.shape[0], x2.shape[0]
    if n1 == 0 or n2 == 0:
        raise ValueError(f"`x1` and `x2` must not be empty. Received: x1.shape={(n1,)}, x2.shape={(n2,)}")
    compute = _dt.float32 if dt in (_dt.float16, _dt.bfloat16) else dt
    full = F.conv1d(
        T.reshape(_cast(x1, compute), (1, 1, n1)), T.reshape(_cast(x2, compute), (1, 1, n2)), padding=n2 - 1
    )
    full = _cast(T.reshape(full, (-1,)), dt)
    if mode == "valid":
        length = builtins.max(n1, n2) - builtins.min(n1, n2) + 1
    elif mode == "same":
        length = builtins.max(n1, n2)
    else:
        return full
    extra = full.shape[0] - length
    start = extra // 2 if n1 >= n2 else extra - extra // 2  # NumPy swaps the inputs when x2 is longer
    return full[start : start + length]


@_public
def trapezoid(y: ArrayLike, x: ArrayLike = None, dx: float = 1.0, axis: int = -1) -> Tensor:
    """``keras.ops.trapezoid``: the integral of ``y`` along ``axis`` by the trapezoidal rule, at sample
    points ``x`` or with spacing ``dx``.

    Example:
        >>> from tessera.keras import ops
        >>> ops.trapezoid([1.0, 2.0, 3.0])
        tensor(4.)
    """
    y = _to(y)
    ax = _axes("trapezoid", axis, y.ndim, tuples=False)
    if y.dtype is _dt.bool:
        y = _cast(y, _floatx())
    if x is not None:
        x = _to(x)
        if x.ndim == 1 and x.shape[0] != y.shape[ax]:
            raise ValueError(
                f"`x` must have y.shape[axis] entries. Received: x.shape={_shape(x)}, y.shape={_shape(y)}, "
                f"axis={axis}"
            )
        return T.trapezoid(y, x, dim=ax)
    return T.trapezoid(y, dx=_to(dx), dim=ax)


__all__ = sorted(
    set(_UNARY)
    | set(_BINARY)
    | set(_BITWISE)
    | set(_WEAK_BINARY)
    | set(_SHIFTS)
    | {
        "divide", "true_divide", "floor_divide", "divide_no_nan", "round", "clip",
        "nan_to_num", "isclose", "allclose", "where", "select", "sum", "prod", "mean", "var", "std", "max",
        "min", "amax", "amin", "ptp", "all", "any", "count_nonzero", "argmax", "argmin", "cumsum", "cumprod",
        "nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd", "nanargmax", "nanargmin",
        "nancumsum", "nancumprod", "quantile", "nanquantile", "percentile", "nanpercentile", "median",
        "nanmedian", "average", "histogram", "bincount", "digitize", "corrcoef", "correlate", "trapezoid",
    }
)  # fmt: skip
