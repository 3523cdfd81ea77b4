"""``keras.ops.numpy`` creation, shape and indexing, sorting/searching, products, windows and set functions.

Every function is built on Tessera's ops (so autograd and the compiler see it), takes Keras 3's arguments and
defaults and gives Keras 3's result dtypes (the torch backend's: ``matmul``/``dot``/``tensordot`` follow
Keras's type-promotion lattice, ``concatenate``/``outer``/``kron`` PyTorch's promotion). Given a symbolic
``KerasTensor`` a function records an ``OpLayer``. Errors are ``ValueError``/``TypeError`` naming
``keras.ops.<function>`` and the arguments seen.

Example:
    >>> from tessera.keras import ops
    >>> ops.matmul(ops.ones((2, 3)), ops.ones((3, 4))).shape
    tessera.Size([2, 4])
"""

from __future__ import annotations

import functools
import math
import numbers
import re
from collections.abc import Callable

import numpy as np

import tessera as ts

from ...core import dtypes as _dt
from ...core.tensor import Tensor
from .. import config
from ..layers.base import GetItem, KerasTensor, in_symbolic_call, symbolic_op
from ._convert import standardize_dtype, to_tensor

__all__ = (
    "array arange linspace logspace geomspace eye identity tri tril triu diag diagflat diagonal trace zeros ones "
    "full empty zeros_like ones_like full_like empty_like copy meshgrid vander bartlett blackman hamming hanning "
    "kaiser reshape ravel view transpose swapaxes moveaxis expand_dims squeeze broadcast_to concatenate stack "
    "hstack vstack dstack split array_split hsplit vsplit dsplit append tile repeat flip fliplr flipud roll "
    "rot90 pad take take_along_axis get_item nonzero unravel_index size ndim matmul dot vdot inner outer "
    "tensordot einsum kron cross diff sort argsort argpartition searchsorted unique isin slogdet vectorize"
).split()


# -- errors --------------------------------------------------------------------------------------------------
def _fail(fn: str, msg: str, kind=ValueError):
    raise kind(f"keras.ops.{fn}: {msg}")


def _describe(v) -> str:
    if isinstance(v, Tensor):
        return f"tensor(shape={tuple(v.shape)}, dtype={v.dtype.name})"
    if isinstance(v, np.ndarray):
        return f"array(shape={v.shape}, dtype={v.dtype})"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return f"{type(v).__name__} of {len(v)}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_describe(e) for e in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _op(f):
    """``symbolic_op`` plus error naming: a failure inside Tessera's ops is re-raised as Keras would raise it
    (TypeError and IndexError kept, others ValueError) with the public function's name and the arguments it received."""
    name = f.__name__

    @functools.wraps(f)
    def checked(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except (ValueError, TypeError, IndexError, RuntimeError) as e:
            if str(e).startswith("keras.ops."):
                raise
            seen = ", ".join(
                [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
            )
            kind = next((k for k in (TypeError, IndexError) if isinstance(e, k)), ValueError)
            raise kind(f"keras.ops.{name}: {e}. Received: {seen}") from e

    return symbolic_op(checked, name=name)


# -- dtypes: Keras 3's type-promotion lattice (keras.backend.result_type) ------------------------------------
_LATTICE = {
    "bool": ["int"], "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"],
    "uint64": ["float"], "int": ["uint8", "int8", "complex64"], "int8": ["int16"], "int16": ["int32"],
    "int32": ["int64"], "int64": ["float"], "float": ["bfloat16", "float16"], "bfloat16": ["float32"],
    "float16": ["float32"], "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex64": ["complex128"], "complex128": [],
}  # fmt: skip


def _upper_bounds():
    ub = {n: {n} for n in _LATTICE}
    for n in _LATTICE:
        while True:
            new = set().union(*(_LATTICE[b] for b in ub[n]))
            if new <= ub[n]:
                break
            ub[n] |= new
    return ub


_UB = _upper_bounds()
_TO_32 = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _dtype_name(x) -> tuple[str, bool]:
    """(Keras dtype name, weak) of a dtype, a Python type, a tensor or a Python/NumPy value."""
    if x is int or x is float or x is bool:
        return {int: "int32", float: config.floatx(), bool: "bool"}[x], x is not bool
    if isinstance(x, (Tensor, np.ndarray, np.generic)):
        return standardize_dtype(x.dtype).name, False
    if isinstance(x, _dt.dtype):
        return x.name, False
    if isinstance(x, bool):
        return "bool", False
    if isinstance(x, numbers.Integral):
        return "int32", True
    if isinstance(x, float):
        return config.floatx(), True
    return standardize_dtype(x).name, False


def _result_type(*items) -> _dt.dtype:
    """Keras 3's ``result_type`` (as the torch backend uses it: 64-bit results become 32-bit)."""
    pairs = [_dtype_name(i) for i in items]
    names = [p[0] for p in pairs]
    weak = [p[1] for p in pairs]
    if len(names) == 1 or (len(set(names)) == 1 and not all(weak)):
        out, out_weak = names[0], weak[0] and len(names) == 1
    else:
        nodes = {n if all(weak) or not w else _weak(n) for n, w in zip(names, weak)}
        common = set.intersection(*(_UB[n] for n in nodes))
        lub = (common & nodes) or {c for c in common if common <= _UB[c]}
        out = lub.pop()
        out_weak = out in ("int", "float") or all(weak)
    if out_weak and out != "bool":
        bits = config.floatx()[-2:]
        out = "bool" if out == "bool" else (f"int{bits}" if out[0] == "i" else f"float{bits}")
    return _dt.as_dtype(_TO_32.get(out, out))


def _weak(name: str) -> str:
    if name == "bool":
        return name
    return "float" if "float" in name else ("int" if "int" in name else name)


def _torch_promote(tensors) -> _dt.dtype:
    out = tensors[0].dtype
    for t in tensors[1:]:
        out = _dt.promote_types(out, t.dtype)
    return out


def _cast(t: Tensor, dtype) -> Tensor:
    return t if t.dtype is dtype else t.to(dtype)


def _compute_dtype(dtype: _dt.dtype) -> _dt.dtype:
    """The dtype a product runs in: half precision and integers/bools in float (as Keras's torch backend on
    CPU does), the result cast back."""
    if dtype in (_dt.float16, _dt.bfloat16) or not (dtype.is_floating_point or dtype.is_complex):
        return _dt.float32 if dtype.itemsize < 4 or dtype.is_floating_point else _dt.float64
    return dtype


# -- argument helpers ----------------------------------------------------------------------------------------
def _axis(fn: str, axis, ndim: int, arg: str = "axis") -> int:
    if isinstance(axis, bool) or not isinstance(axis, (numbers.Integral,)):
        _fail(fn, f"`{arg}` must be an int, received {arg}={axis!r}", TypeError)
    a = int(axis)
    if not -ndim <= a < ndim:
        _fail(fn, f"`{arg}`={a} is out of bounds for a tensor of rank {ndim}")
    return a % ndim


def _axes(fn: str, axis, ndim: int, arg: str = "axis") -> tuple[int, ...]:
    seq = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    out = tuple(_axis(fn, a, ndim, arg) for a in seq)
    if len(set(out)) != len(out):
        _fail(fn, f"repeated axis in {arg}={axis!r}")
    return out


def _shape_arg(fn: str, shape, arg: str = "shape") -> tuple[int, ...]:
    if isinstance(shape, (Tensor, np.ndarray)):
        shape = shape.tolist()
    if isinstance(shape, (numbers.Integral,)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        _fail(fn, f"`{arg}` must be an int or a sequence of ints, received {arg}={shape!r}", TypeError)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            _fail(fn, f"`{arg}` must hold ints, received {arg}={shape!r}", TypeError)
    return tuple(int(d) for d in dims)


def _nonneg_shape(fn: str, shape, arg: str = "shape") -> tuple[int, ...]:
    dims = _shape_arg(fn, shape, arg)
    if any(d < 0 for d in dims):
        _fail(fn, f"`{arg}` must hold non-negative sizes, received {arg}={shape!r}")
    return dims


def _int_arg(fn: str, v, arg: str, minimum: int | None = None) -> int:
    if isinstance(v, Tensor) and v.ndim == 0:
        v = v.item()
    if isinstance(v, (np.ndarray,)) and v.ndim == 0:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        _fail(fn, f"`{arg}` must be an int, received {arg}={v!r}", TypeError)
    if minimum is not None and v < minimum:
        _fail(fn, f"`{arg}` must be >= {minimum}, received {arg}={v}")
    return int(v)


def _dtype_or(dtype, default) -> _dt.dtype:
    return standardize_dtype(dtype) if dtype is not None else default


def _seq(fn: str, xs, arg: str = "xs") -> list[Tensor]:
    if isinstance(xs, Tensor) or not isinstance(xs, (list, tuple)):
        if isinstance(xs, Tensor) and xs.ndim > 0:
            return list(ts.unbind(xs, 0))
        _fail(fn, f"`{arg}` must be a list or tuple of tensors, received {_describe(xs)}", TypeError)
    if not xs:
        _fail(fn, f"`{arg}` must hold at least one tensor, received an empty {type(xs).__name__}")
    return [to_tensor(x) for x in xs]


# -- creation ------------------------------------------------------------------------------------------------
@_op
def array(x, dtype=None) -> Tensor:
    """``x`` as a tensor (Python ints int32, floats floatx, NumPy arrays keep their dtype).

    Example:
        >>> array([1, 2]).dtype
        tessera.int32
    """
    return to_tensor(x, dtype)


def _scalar_value(v):
    if isinstance(v, Tensor):
        return v.item()
    return v.item() if isinstance(v, (np.ndarray, np.generic)) else v


@_op
def arange(start, stop=None, step=None, dtype=None) -> Tensor:
    """Evenly spaced values in ``[start, stop)``; the dtype follows the arguments' (ints int32).

    Example:
        >>> arange(0, 1, 0.25).tolist()
        [0.0, 0.25, 0.5, 0.75]
    """
    if dtype is None:
        parts = [start] + [v for v in (stop, step) if v is not None]
        dtype = _result_type(
            *[p if isinstance(p, (Tensor, np.ndarray, np.generic)) else type(p) for p in parts]
        )
    else:
        dtype = standardize_dtype(dtype)
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    start, stop, step = (_scalar_value(v) for v in (start, stop, step))
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if not isinstance(v, numbers.Real):
            _fail("arange", f"`{name}` must be a real number, received {name}={v!r}", TypeError)
    if step == 0:
        _fail("arange", "`step` must not be zero")
    return ts.arange(start, stop, step, dtype=dtype)


def _space_dtype(start, stop, dtype) -> _dt.dtype:
    """Keras's result dtype of the spacing functions: the endpoints' dtypes promoted with float."""
    if dtype is not None:
        return standardize_dtype(dtype)
    kinds = [v if isinstance(v, (Tensor, np.ndarray, np.generic)) else type(v) for v in (start, stop)]
    return _result_type(*kinds, float)


def _spaced(fn, start, stop, num, endpoint, dtype, axis):
    """``num`` evenly spaced points from ``start`` to ``stop`` (broadcast arrays), the new axis at ``axis``;
    differentiable w.r.t. tensor endpoints. Returns (points, step)."""
    num = _int_arg(fn, num, "num", 0)
    dtype = _space_dtype(start, stop, dtype)
    # float64 work keeps log-spaced points exact where float32 rounding shows (10 ** log10(100)); the result is
    # cast to the requested dtype, which keeps gradients flowing
    work = _dt.float64
    a, b = to_tensor(start), to_tensor(stop)
    a, b = ts.broadcast_tensors(_cast(a, work), _cast(b, work))
    div = num - 1 if endpoint else num
    steps = ts.arange(num, dtype=work).reshape((num,) + (1,) * a.ndim)
    if div > 0:
        step = (b - a) / div
        y = a.unsqueeze(0) + steps * step.unsqueeze(0)
        if endpoint and num > 1:
            y = ts.cat([y[:-1], b.unsqueeze(0)], 0)
    else:
        step = ts.full(a.shape, float("nan"), dtype=work)
        y = a.unsqueeze(0) + steps * 0
    out_axis = _axis(fn, axis, y.ndim)
    if out_axis != 0:
        y = ts.moveaxis(y, 0, out_axis)
    return y, step, dtype


@_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced numbers over ``[start, stop]`` (``stop`` excluded when ``endpoint=False``);
    array endpoints give one sequence per element along ``axis``. ``retstep=True`` also returns the spacing.

    Example:
        >>> linspace(0, 1, 5).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    y, step, dtype = _spaced("linspace", start, stop, num, endpoint, dtype, axis)
    y = _cast(y, dtype) if dtype.is_floating_point else _cast(ts.trunc(y), dtype)
    if retstep and step.ndim == 0 and not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        step = float(step.item())  # scalar endpoints give a Python float step, as in Keras and NumPy
    elif retstep:
        step = _cast(step, dtype if dtype.is_floating_point else standardize_dtype(None))
    return (y, step) if retstep else y


@_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0) -> Tensor:
    """``base ** linspace(start, stop, ...)``: numbers spaced evenly on a log scale.

    Example:
        >>> logspace(0, 2, 3).tolist()
        [1.0, 10.0, 100.0]
    """
    y, _, dtype = _spaced("logspace", start, stop, num, endpoint, dtype, axis)
    base = to_tensor(base)
    y = ts.pow(_cast(base, y.dtype), y)
    return _cast(y, dtype)


@_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0) -> Tensor:
    """Numbers spaced evenly on a log scale between the endpoints themselves (a geometric progression).

    Example:
        >>> [round(v, 3) for v in geomspace(1, 1000, 4).tolist()]
        [1.0, 10.0, 100.0, 1000.0]
    """
    a, b = to_tensor(start), to_tensor(stop)
    # (symbolic calls run on zero placeholders: the values are not known yet)
    if not in_symbolic_call() and (bool(ts.any(a == 0)) or bool(ts.any(b == 0))):
        _fail("geomspace", f"geometric sequence cannot include zero, received start={start!r}, stop={stop!r}")
    work = _dt.float64
    la, lb = ts.log10(ts.abs(_cast(a, work))), ts.log10(ts.abs(_cast(b, work)))
    y, _, _ = _spaced("geomspace", la, lb, num, endpoint, work, 0)
    dtype = _space_dtype(start, stop, dtype)
    y = ts.pow(ts.tensor(10.0, dtype=y.dtype), y) * ts.sign(_cast(a, y.dtype)).unsqueeze(0)
    if y.ndim and axis != 0:
        y = ts.moveaxis(y, 0, _axis("geomspace", axis, y.ndim))
    return _cast(y, dtype)


def _eye_mask(N: int, M: int, k: int, lower: bool) -> Tensor:
    rows = ts.arange(N, dtype=_dt.int64).unsqueeze(1) + k
    cols = ts.arange(M, dtype=_dt.int64).unsqueeze(0)
    return cols <= rows if lower else cols == rows


@_op
def eye(N, M=None, k=0, dtype=None) -> Tensor:
    """An ``N x M`` matrix with ones on the ``k``-th diagonal and zeros elsewhere (dtype floatx).

    Example:
        >>> eye(2, 3, k=1).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    N = _int_arg("eye", N, "N", 0)
    M = N if M is None else _int_arg("eye", M, "M", 0)
    k = 0 if k is None else _int_arg("eye", k, "k")
    return _eye_mask(N, M, k, False).to(_dtype_or(dtype, standardize_dtype(None)))


@_op
def identity(n, dtype=None) -> Tensor:
    """The ``n x n`` identity matrix (dtype floatx).

    Example:
        >>> identity(2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    n = _int_arg("identity", n, "n", 0)
    return _eye_mask(n, n, 0, False).to(_dtype_or(dtype, standardize_dtype(None)))


@_op
def tri(N, M=None, k=0, dtype=None) -> Tensor:
    """An ``N x M`` matrix with ones at and below the ``k``-th diagonal.

    Example:
        >>> tri(2, 3).tolist()
        [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    N = _int_arg("tri", N, "N", 0)
    M = N if not M else _int_arg("tri", M, "M", 0)
    k = _int_arg("tri", k, "k")
    return _eye_mask(N, M, k, True).to(_dtype_or(dtype, standardize_dtype(None)))


def _min_ndim(fn: str, x: Tensor, n: int, arg: str = "x") -> None:
    if x.ndim < n:
        _fail(fn, f"`{arg}` must have at least {n} dimensions, received {arg}.shape={tuple(x.shape)}")


@_op
def tril(x, k=0) -> Tensor:
    """``x`` with the elements above the ``k``-th diagonal of its last two axes zeroed.

    Example:
        >>> tril([[1, 2], [3, 4]]).tolist()
        [[1, 0], [3, 4]]
    """
    x = to_tensor(x)
    _min_ndim("tril", x, 2)
    return ts.tril(x, _int_arg("tril", k, "k"))


@_op
def triu(x, k=0) -> Tensor:
    """``x`` with the elements below the ``k``-th diagonal of its last two axes zeroed.

    Example:
        >>> triu([[1, 2], [3, 4]]).tolist()
        [[1, 2], [0, 4]]
    """
    x = to_tensor(x)
    _min_ndim("triu", x, 2)
    return ts.triu(x, _int_arg("triu", k, "k"))


@_op
def diag(x, k=0) -> Tensor:
    """The ``k``-th diagonal of a matrix, or the matrix with a vector on its ``k``-th diagonal.

    Example:
        >>> diag([1, 2]).tolist()
        [[1, 0], [0, 2]]
    """
    x = to_tensor(x)
    if x.ndim not in (1, 2):
        _fail("diag", f"`x` must be 1-D or 2-D, received x.shape={tuple(x.shape)}")
    return ts.diag(x, _int_arg("diag", k, "k"))


@_op
def diagflat(x, k=0) -> Tensor:
    """A 2-D tensor with the flattened ``x`` on its ``k``-th diagonal.

    Example:
        >>> diagflat([[1, 2]]).tolist()
        [[1, 0], [0, 2]]
    """
    return ts.diagflat(to_tensor(x), _int_arg("diagflat", k, "k"))


@_op
def diagonal(x, offset=0, axis1=0, axis2=1) -> Tensor:
    """The diagonal at ``offset`` of the 2-D slices over ``axis1``/``axis2``, as the last axis.

    Example:
        >>> diagonal([[1, 2], [3, 4]]).tolist()
        [1, 4]
    """
    x = to_tensor(x)
    _min_ndim("diagonal", x, 2)
    a1, a2 = _axis("diagonal", axis1, x.ndim, "axis1"), _axis("diagonal", axis2, x.ndim, "axis2")
    if a1 == a2:
        _fail("diagonal", f"`axis1` and `axis2` must differ, received axis1={axis1}, axis2={axis2}")
    return ts.diagonal(x, _int_arg("diagonal", offset, "offset"), a1, a2)


@_op
def trace(x, offset=0, axis1=0, axis2=1) -> Tensor:
    """The sum along a diagonal (bool and small integers summed as int32).

    Example:
        >>> int(trace([[1, 2], [3, 4]]))
        5
    """
    d = diagonal(to_tensor(x), offset, axis1, axis2)
    dtype = _dt.int32 if d.dtype in (_dt.bool, _dt.int8, _dt.int16, _dt.uint8) else d.dtype
    return ts.sum(d, -1, dtype=dtype)


def _filled(fn: str, shape, value: float, dtype) -> Tensor:
    return ts.full(_nonneg_shape(fn, shape), value, dtype=_dtype_or(dtype, standardize_dtype(None)))


@_op
def zeros(shape, dtype=None) -> Tensor:
    """A tensor of zeros (dtype floatx).

    Example:
        >>> zeros((2,)).tolist()
        [0.0, 0.0]
    """
    return _filled("zeros", shape, 0, dtype)


@_op
def ones(shape, dtype=None) -> Tensor:
    """A tensor of ones (dtype floatx).

    Example:
        >>> ones(2, dtype="int32").tolist()
        [1, 1]
    """
    return _filled("ones", shape, 1, dtype)


@_op
def empty(shape, dtype=None) -> Tensor:
    """An uninitialized tensor; Tessera fills it with zeros so that results stay deterministic.

    Example:
        >>> empty((2, 3)).shape
        tessera.Size([2, 3])
    """
    return _filled("empty", shape, 0, dtype)


@_op
def full(shape, fill_value, dtype=None) -> Tensor:
    """A tensor of ``fill_value`` (a scalar, or a tensor broadcast to ``shape``); dtype floatx by default.

    Example:
        >>> full((2,), 7, dtype="int32").tolist()
        [7, 7]
    """
    dims = _nonneg_shape("full", shape)
    value = to_tensor(fill_value, _dtype_or(dtype, standardize_dtype(None)))
    return ts.broadcast_to(value, dims).clone()


def _like(x, value, dtype) -> Tensor:
    x = to_tensor(x)
    return ts.full(tuple(x.shape), value, dtype=_dtype_or(dtype, x.dtype))


@_op
def zeros_like(x, dtype=None) -> Tensor:
    """Zeros with the shape and dtype of ``x``.

    Example:
        >>> zeros_like([1, 2]).tolist()
        [0, 0]
    """
    return _like(x, 0, dtype)


@_op
def ones_like(x, dtype=None) -> Tensor:
    """Ones with the shape and dtype of ``x``.

    Example:
        >>> ones_like([1.5]).tolist()
        [1.0]
    """
    return _like(x, 1, dtype)


@_op
def empty_like(x, dtype=None) -> Tensor:
    """An uninitialized (here: zero) tensor with the shape and dtype of ``x``.

    Example:
        >>> empty_like([[1, 2]]).shape
        tessera.Size([1, 2])
    """
    return _like(x, 0, dtype)


@_op
def full_like(x, fill_value, dtype=None) -> Tensor:
    """``fill_value`` with the shape and dtype of ``x``.

    Example:
        >>> full_like([1, 2], 2.7).tolist()
        [2, 2]
    """
    x = to_tensor(x)
    return full(tuple(x.shape), fill_value, _dtype_or(dtype, x.dtype))


@_op
def copy(x) -> Tensor:
    """A copy of ``x`` (gradients flow to ``x``).

    Example:
        >>> copy([1, 2]).tolist()
        [1, 2]
    """
    return ts.clone(to_tensor(x))


@_op
def meshgrid(*x, indexing="xy") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D coordinate vectors (``indexing="xy"`` Cartesian, ``"ij"`` matrix).

    Example:
        >>> [g.shape for g in meshgrid([1, 2, 3], [4, 5])]
        [tessera.Size([2, 3]), tessera.Size([2, 3])]
    """
    if indexing not in ("xy", "ij"):
        _fail("meshgrid", f"`indexing` must be 'xy' or 'ij', received indexing={indexing!r}")
    xs = [ts.ravel(to_tensor(v)) for v in x]
    if not xs:
        return ()
    return tuple(ts.meshgrid(*xs, indexing=indexing))


@_op
def vander(x, N=None, increasing=False) -> Tensor:
    """The Vandermonde matrix of a 1-D ``x``: columns are powers of ``x`` (decreasing unless ``increasing``).

    Example:
        >>> vander([1, 2, 3], 3).tolist()
        [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    """
    x = to_tensor(x)
    if x.ndim != 1:
        _fail("vander", f"`x` must be 1-D, received x.shape={tuple(x.shape)}")
    N = x.shape[0] if N is None else _int_arg("vander", N, "N", 0)
    out_dtype = _result_type(x.dtype)
    powers = ts.arange(N, dtype=_dt.int64)
    if not increasing:
        powers = ts.flip(powers, 0)
    if x.dtype.is_floating_point:
        return _cast(ts.pow(x.unsqueeze(1), _cast(powers, x.dtype).unsqueeze(0)), out_dtype)
    return _cast(ts.pow(_cast(x, _dt.int64).unsqueeze(1), powers.unsqueeze(0)), out_dtype)


# -- windows -------------------------------------------------------------------------------------------------
def _window(fn: str, M, formula) -> Tensor:
    M = _int_arg(fn, M, "x")
    dtype = standardize_dtype(None)
    if M <= 0:
        return ts.zeros(0, dtype=dtype)
    if M == 1:
        return ts.ones(1, dtype=dtype)
    n = ts.arange(M, dtype=_dt.float64)
    return _cast(formula(n, M), dtype)


def _cosine_window(*coeffs):
    def formula(n, M):
        out = 0.0
        for i, c in enumerate(coeffs):
            out = out + ((-1) ** i) * c * ts.cos(2 * math.pi * i * n / (M - 1))
        return out

    return formula


# name -> (window formula, docstring first line)
_WINDOWS = {
    "bartlett": (lambda n, M: 1 - ts.abs(2 * n / (M - 1) - 1), "The Bartlett (triangular) window"),
    "blackman": (_cosine_window(0.42, 0.5, 0.08), "The Blackman window"),
    "hamming": (_cosine_window(0.54, 0.46), "The Hamming window"),
    "hanning": (_cosine_window(0.5, 0.5), "The Hann(ing) window"),
}


def _make_window(name: str, formula, doc: str):
    def window(x) -> Tensor:
        return _window(name, x, formula)

    window.__name__ = window.__qualname__ = name
    window.__doc__ = (
        f"{doc} of ``x`` points (symmetric, as NumPy's), dtype floatx.\n\n    Example:\n"
        f"        >>> {name}(5).shape\n        tessera.Size([5])\n    "
    )
    return _op(window)


for _name, (_formula, _doc) in _WINDOWS.items():
    globals()[_name] = _make_window(_name, _formula, _doc)


@_op
def kaiser(x, beta) -> Tensor:
    """The Kaiser window of ``x`` points with shape parameter ``beta`` (dtype floatx).

    Example:
        >>> kaiser(3, 0.0).tolist()
        [1.0, 1.0, 1.0]
    """
    beta_t = to_tensor(beta, _dt.float64)
    if beta_t.ndim:
        _fail("kaiser", f"`beta` must be a scalar, received {_describe(beta)}")

    def formula(n, M):
        r = 2 * n / (M - 1) - 1
        return ts.i0(beta_t * ts.sqrt(ts.clamp(1 - r * r, min=0.0))) / ts.i0(beta_t)

    return _window("kaiser", x, formula)


# -- shape ---------------------------------------------------------------------------------------------------
def _reshape_target(fn: str, newshape, size: int, in_shape) -> tuple[int, ...]:
    dims = _shape_arg(fn, newshape, "newshape")
    unknown = [i for i, d in enumerate(dims) if d == -1]
    if len(unknown) > 1:
        _fail(
            fn,
            f"there must be at most one unknown dimension (-1) in newshape, received newshape={newshape!r}",
        )
    if any(d < -1 for d in dims):
        _fail(fn, f"`newshape` sizes must be >= 0 or -1, received newshape={newshape!r}")
    known = math.prod(d for d in dims if d != -1)
    if unknown:
        if known == 0 or size % known:
            _fail(fn, f"cannot reshape a tensor of shape {tuple(in_shape)} ({size} elements) into {dims}")
        dims = tuple(size // known if d == -1 else d for d in dims)
    elif known != size:
        _fail(fn, f"cannot reshape a tensor of shape {tuple(in_shape)} ({size} elements) into {dims}")
    return dims


@_op
def reshape(x, newshape) -> Tensor:
    """``x`` with a new shape (one size may be -1, inferred).

    Example:
        >>> reshape(arange(6), (2, -1)).shape
        tessera.Size([2, 3])
    """
    x = to_tensor(x)
    return ts.reshape(x, _reshape_target("reshape", newshape, x.numel(), x.shape))


@_op
def ravel(x) -> Tensor:
    """``x`` flattened to 1-D.

    Example:
        >>> ravel([[1, 2], [3, 4]]).tolist()
        [1, 2, 3, 4]
    """
    return ts.reshape(to_tensor(x), (-1,))


@_op
def view(x, dtype=None) -> Tensor:
    """``x``'s bytes reinterpreted as ``dtype`` (the last axis scales by the itemsize ratio).

    Example:
        >>> view(ones((1,), dtype="float32"), "int32").tolist()
        [1065353216]
    """
    x = to_tensor(x)
    if dtype is None:
        return x
    dtype = standardize_dtype(dtype)
    if dtype.itemsize != x.dtype.itemsize:
        if x.ndim == 0:
            _fail("view", f"cannot view a 0-d {x.dtype.name} tensor as {dtype.name} (itemsizes differ)")
        if (x.shape[-1] * x.dtype.itemsize) % dtype.itemsize:
            _fail(
                "view",
                f"the last axis of x.shape={tuple(x.shape)} does not fit a whole number of {dtype.name}",
            )
    return x.view(dtype)


@_op
def transpose(x, axes=None) -> Tensor:
    """``x`` with its axes permuted (reversed when ``axes`` is None).

    Example:
        >>> transpose(ones((2, 3, 4)), (1, 0, 2)).shape
        tessera.Size([3, 2, 4])
    """
    x = to_tensor(x)
    if axes is None:
        perm = tuple(range(x.ndim))[::-1]
    else:
        perm = _axes("transpose", axes, x.ndim, "axes")
        if len(perm) != x.ndim:
            _fail("transpose", f"`axes`={axes!r} do not match a tensor of shape {tuple(x.shape)}")
    return ts.permute(x, *perm) if x.ndim else x


@_op
def swapaxes(x, axis1, axis2) -> Tensor:
    """``x`` with two axes interchanged.

    Example:
        >>> swapaxes(ones((2, 3)), 0, 1).shape
        tessera.Size([3, 2])
    """
    x = to_tensor(x)
    return ts.swapaxes(
        x, _axis("swapaxes", axis1, x.ndim, "axis1"), _axis("swapaxes", axis2, x.ndim, "axis2")
    )


@_op
def moveaxis(x, source, destination) -> Tensor:
    """``x`` with the ``source`` axes moved to ``destination`` positions.

    Example:
        >>> moveaxis(ones((2, 3, 4)), 0, -1).shape
        tessera.Size([3, 4, 2])
    """
    x = to_tensor(x)
    src = _axes("moveaxis", source, x.ndim, "source")
    dst = _axes("moveaxis", destination, x.ndim, "destination")
    if len(src) != len(dst):
        _fail(
            "moveaxis",
            f"`source` and `destination` must have the same length, received {source}, {destination}",
        )
    return ts.moveaxis(x, list(src), list(dst))


@_op
def expand_dims(x, axis) -> Tensor:
    """``x`` with new size-1 axes at positions ``axis`` (an int or tuple, in the result's numbering).

    Example:
        >>> expand_dims(ones((2, 3)), (0, -1)).shape
        tessera.Size([1, 2, 3, 1])
    """
    x = to_tensor(x)
    n_new = len(axis) if isinstance(axis, (list, tuple)) else 1
    for a in sorted(_axes("expand_dims", axis, x.ndim + n_new)):
        x = ts.unsqueeze(x, a)
    return x


@_op
def squeeze(x, axis=None) -> Tensor:
    """``x`` without its size-1 axes (all of them, or those in ``axis``, which must have size 1).

    Example:
        >>> squeeze(ones((1, 3, 1)), axis=0).shape
        tessera.Size([3, 1])
    """
    x = to_tensor(x)
    if axis is None:
        # symbolic calls probe an unknown batch with size 1: Keras never squeezes such a None dimension
        skip = 0 if in_symbolic_call() else -1
        dims = tuple(i for i, d in enumerate(x.shape) if d == 1 and i != skip)
    else:
        dims = _axes("squeeze", axis, x.ndim)
        for a in dims:
            if x.shape[a] != 1:
                _fail(
                    "squeeze",
                    f"cannot squeeze axis {a}: its size is {x.shape[a]}, not 1 (x.shape={tuple(x.shape)})",
                )
    keep = tuple(d for i, d in enumerate(x.shape) if i not in dims)
    return ts.reshape(x, keep)


@_op
def broadcast_to(x, shape) -> Tensor:
    """``x`` broadcast to ``shape`` (NumPy broadcasting rules).

    Example:
        >>> broadcast_to([1, 2], (3, 2)).shape
        tessera.Size([3, 2])
    """
    x = to_tensor(x)
    dims = _nonneg_shape("broadcast_to", shape)
    ok = len(dims) >= x.ndim and all(
        s == d or s == 1 for s, d in zip(reversed(tuple(x.shape)), reversed(dims))
    )
    if not ok:
        _fail("broadcast_to", f"cannot broadcast a tensor of shape {tuple(x.shape)} to shape {dims}")
    return ts.broadcast_to(x, dims)


def _join(fn: str, xs, axis: int, new_axis: bool) -> Tensor:
    xs = _seq(fn, xs)
    dtype = _torch_promote(xs)
    xs = [_cast(t, dtype) for t in xs]
    first = tuple(xs[0].shape)
    if new_axis:
        a = _axis(fn, axis, len(first) + 1)
        for t in xs:
            if tuple(t.shape) != first:
                _fail(
                    fn,
                    f"all tensors must have the same shape, received shapes {[tuple(v.shape) for v in xs]}",
                )
        return ts.stack(xs, a)
    if any(t.ndim == 0 for t in xs):
        _fail(
            fn,
            f"zero-dimensional tensors cannot be concatenated, received shapes {[tuple(v.shape) for v in xs]}",
        )
    a = _axis(fn, axis, len(first))
    for t in xs:
        s = tuple(t.shape)
        if len(s) != len(first) or any(p != q for i, (p, q) in enumerate(zip(s, first)) if i != a):
            _fail(
                fn,
                f"all tensors must match except along axis {axis}, received shapes "
                f"{[tuple(v.shape) for v in xs]}",
            )
    return ts.cat(xs, a)


@_op
def concatenate(xs, axis=0) -> Tensor:
    """Tensors joined along an existing axis (``axis=None`` flattens them first); dtypes are promoted.

    Example:
        >>> concatenate([ones((2, 3)), zeros((1, 3))]).shape
        tessera.Size([3, 3])
    """
    if axis is None:
        return _join("concatenate", [ts.reshape(t, (-1,)) for t in _seq("concatenate", xs)], 0, False)
    return _join("concatenate", xs, axis, False)


@_op
def stack(x, axis=0) -> Tensor:
    """Same-shape tensors joined along a new axis.

    Example:
        >>> stack([ones(3), zeros(3)], axis=1).shape
        tessera.Size([3, 2])
    """
    return _join("stack", x, axis, True)


# NumPy's atleast_{1,2,3}d: where a tensor of rank r < n goes in the n-d shape
_ATLEAST = {
    1: lambda s: (1,),
    2: lambda s: (1,) * (2 - len(s)) + s,
    3: lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)],
}


def _atleast(xs, n: int) -> list[Tensor]:
    return [ts.reshape(t, _ATLEAST[n](tuple(t.shape))) if t.ndim < n else t for t in xs]


@_op
def hstack(xs) -> Tensor:
    """Tensors joined column-wise (along axis 1; axis 0 for 1-D tensors).

    Example:
        >>> hstack([ones(2), zeros(3)]).shape
        tessera.Size([5])
    """
    xs = _atleast(_seq("hstack", xs), 1)
    return _join("hstack", xs, 0 if xs[0].ndim == 1 else 1, False)


@_op
def vstack(xs) -> Tensor:
    """Tensors joined row-wise (1-D tensors become rows).

    Example:
        >>> vstack([ones(3), zeros(3)]).shape
        tessera.Size([2, 3])
    """
    return _join("vstack", _atleast(_seq("vstack", xs), 2), 0, False)


@_op
def dstack(xs) -> Tensor:
    """Tensors joined depth-wise (along axis 2; 1-D and 2-D tensors get size-1 axes).

    Example:
        >>> dstack([ones((2, 3)), zeros((2, 3))]).shape
        tessera.Size([2, 3, 2])
    """
    return _join("dstack", _atleast(_seq("dstack", xs), 3), 2, False)


def _split(fn: str, x: Tensor, ios, axis: int, even: bool) -> list[Tensor]:
    a = _axis(fn, axis, x.ndim) if x.ndim else _fail(fn, "cannot split a 0-d tensor")
    n = x.shape[a]
    if isinstance(ios, (Tensor, np.ndarray)) and np.ndim(ios) == 0:
        ios = int(_scalar_value(ios))
    if isinstance(ios, numbers.Integral) and not isinstance(ios, bool):
        sections = int(ios)
        if sections <= 0:
            _fail(fn, f"number of sections must be larger than 0, received indices_or_sections={ios}")
        if even and n % sections:
            _fail(
                fn,
                f"received indices_or_sections={sections} (interpreted as a number of sections) and axis={axis}, "
                f"but input dimension x.shape[{axis}]={n} is not divisible by {sections}. "
                f"Full input shape: x.shape={tuple(x.shape)}",
            )
        base, extra = divmod(n, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        idx = ios.tolist() if isinstance(ios, (Tensor, np.ndarray)) else list(ios)
        for i in idx:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                _fail(
                    fn, f"`indices_or_sections` must be an int or a list of ints, received {ios!r}", TypeError
                )
        idx = [min(max(i + n if i < 0 else i, 0), n) for i in idx]
        bounds = [0] + idx + [n]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        key = (slice(None),) * a + (slice(lo, max(lo, hi)),)
        out.append(x[key])
    return out


@_op
def split(x, indices_or_sections, axis=0) -> list[Tensor]:
    """``x`` split into equal sections (an int that must divide the axis) or at the given indices.

    Example:
        >>> [t.shape[0] for t in split(arange(6), [1, 4])]
        [1, 3, 2]
    """
    return _split("split", to_tensor(x), indices_or_sections, axis, True)


@_op
def array_split(x, indices_or_sections, axis=0) -> list[Tensor]:
    """Like ``split``, but an int need not divide the axis (the first sections get one more element).

    Example:
        >>> [t.shape[0] for t in array_split(arange(7), 3)]
        [3, 2, 2]
    """
    return _split("array_split", to_tensor(x), indices_or_sections, axis, False)


def _make_dir_split(name: str, axis_of, min_ndim: int, doc: str):
    def fn(x, indices_or_sections) -> list[Tensor]:
        x = to_tensor(x)
        _min_ndim(name, x, min_ndim)
        return _split(name, x, indices_or_sections, axis_of(x), True)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``split`` along {doc}.\n\n    Example:\n        >>> len({name}(ones((4, 4, 4)), 2))\n        2\n    "
    return _op(fn)


hsplit = _make_dir_split("hsplit", lambda x: 0 if x.ndim == 1 else 1, 1, "axis 1 (axis 0 for 1-D tensors)")
vsplit = _make_dir_split("vsplit", lambda x: 0, 2, "axis 0 (of a tensor with at least 2 dimensions)")
dsplit = _make_dir_split("dsplit", lambda x: 2, 3, "axis 2 (of a tensor with at least 3 dimensions)")


@_op
def append(x1, x2, axis=None) -> Tensor:
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when ``axis`` is None).

    Example:
        >>> append([1, 2], [[3]]).tolist()
        [1, 2, 3]
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if axis is None:
        return _join("append", [ts.reshape(x1, (-1,)), ts.reshape(x2, (-1,))], 0, False)
    return _join("append", [x1, x2], axis, False)


@_op
def tile(x, repeats) -> Tensor:
    """``x`` repeated ``repeats`` times along each axis (NumPy's rules for mismatched lengths).

    Example:
        >>> tile([1, 2], 2).tolist()
        [1, 2, 1, 2]
    """
    x = to_tensor(x)
    reps = _shape_arg("tile", repeats, "repeats")
    if any(r < 0 for r in reps):
        _fail("tile", f"`repeats` must be non-negative, received repeats={repeats!r}")
    if not reps:
        return ts.clone(x)
    return ts.tile(x, *reps)


@_op
def repeat(x, repeats, axis=None) -> Tensor:
    """Each element of ``x`` repeated (``repeats`` an int or one count per element along ``axis``; the
    flattened ``x`` when ``axis`` is None).

    Example:
        >>> repeat([1, 2], [1, 2]).tolist()
        [1, 2, 2]
    """
    x = to_tensor(x)
    if axis is None:
        x, a = ts.reshape(x, (-1,)), 0
    else:
        a = _axis("repeat", axis, x.ndim)
    if isinstance(repeats, (numbers.Integral,)) and not isinstance(repeats, bool):
        counts = [int(repeats)]
    else:
        counts = _shape_arg("repeat", repeats, "repeats")
    if any(c < 0 for c in counts):
        _fail("repeat", f"`repeats` must be non-negative, received repeats={_describe(repeats)}")
    n = x.shape[a]
    if len(counts) not in (1, n):
        _fail("repeat", f"`repeats` has {len(counts)} counts, but x has {n} elements along axis {a}")
    if len(counts) == 1:
        counts = counts * n
    index = ts.tensor(np.repeat(np.arange(n), counts), dtype=_dt.int64)
    return ts.index_select(x, a, index)


@_op
def flip(x, axis=None) -> Tensor:
    """``x`` with the order of elements reversed along ``axis`` (all axes when None).

    Example:
        >>> flip([1, 2, 3]).tolist()
        [3, 2, 1]
    """
    x = to_tensor(x)
    dims = tuple(range(x.ndim)) if axis is None else _axes("flip", axis, x.ndim)
    return ts.flip(x, *dims) if dims else ts.clone(x)


@_op
def fliplr(x) -> Tensor:
    """``x`` flipped along axis 1.

    Example:
        >>> fliplr([[1, 2]]).tolist()
        [[2, 1]]
    """
    x = to_tensor(x)
    _min_ndim("fliplr", x, 2)
    return ts.flip(x, 1)


@_op
def flipud(x) -> Tensor:
    """``x`` flipped along axis 0.

    Example:
        >>> flipud([[1], [2]]).tolist()
        [[2], [1]]
    """
    x = to_tensor(x)
    _min_ndim("flipud", x, 1)
    return ts.flip(x, 0)


@_op
def roll(x, shift, axis=None) -> Tensor:
    """``x`` rolled by ``shift`` along ``axis`` (the flattened ``x`` when None).

    Example:
        >>> roll([1, 2, 3], 1).tolist()
        [3, 1, 2]
    """
    x = to_tensor(x)
    shifts = _shape_arg("roll", shift, "shift")
    if axis is None:
        if len(shifts) != 1:
            _fail("roll", f"`shift` must be an int when axis is None, received shift={shift!r}")
        return ts.reshape(ts.roll(ts.reshape(x, (-1,)), shifts[0], 0), tuple(x.shape))
    dims = (
        _axes("roll", axis, x.ndim)
        if not isinstance(axis, (list, tuple))
        else tuple(_axis("roll", a, x.ndim) for a in axis)
    )
    if len(shifts) == 1 and len(dims) > 1:
        shifts = shifts * len(dims)
    if len(shifts) != len(dims):
        _fail(
            "roll", f"`shift` and `axis` must have the same length, received shift={shift!r}, axis={axis!r}"
        )
    return ts.roll(x, list(shifts), list(dims))


@_op
def rot90(array, k=1, axes=(0, 1)) -> Tensor:
    """``array`` rotated by 90 degrees ``k`` times in the plane of ``axes``.

    Example:
        >>> rot90([[1, 2], [3, 4]]).tolist()
        [[2, 4], [1, 3]]
    """
    x = to_tensor(array)
    if x.ndim < 2:
        _fail("rot90", f"input array must have at least 2 dimensions, received array.shape={tuple(x.shape)}")
    if len(tuple(axes)) != 2:
        _fail("rot90", f"`axes` must hold two different axes, received axes={axes!r}")
    ax = _axes("rot90", axes, x.ndim, "axes")
    return ts.rot90(x, _int_arg("rot90", k, "k"), list(ax))


_PAD_OTHER_MODES = ("constant", "empty", "linear_ramp", "maximum", "mean", "median", "minimum")
_PAD_INDEX_MODES = {
    "edge": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "wrap": "wrap",
    "circular": "wrap",
}


def _pad_widths(fn: str, pad_width, ndim: int) -> list[tuple[int, int]]:
    arr = np.asarray(pad_width.tolist() if isinstance(pad_width, Tensor) else pad_width, dtype=object)
    try:
        widths = np.broadcast_to(np.asarray(arr.tolist(), dtype=np.int64), (ndim, 2))
    except (ValueError, TypeError):
        _fail(fn, f"`pad_width`={pad_width!r} cannot be broadcast to ({ndim}, 2) for a rank-{ndim} tensor")
    if (widths < 0).any():
        _fail(fn, f"`pad_width` must be non-negative, received pad_width={pad_width!r}")
    return [(int(a), int(b)) for a, b in widths]


@_op
def pad(x, pad_width, mode="constant", constant_values=None) -> Tensor:
    """``x`` padded: ``pad_width`` is ``((before, after), ...)`` per axis, ``(before, after)``, ``(pad,)`` or
    an int. Modes as in NumPy: ``"constant"`` (``constant_values``, default 0), ``"edge"``,
    ``"linear_ramp"`` (towards 0), ``"maximum"``, ``"mean"``, ``"median"``, ``"minimum"`` (over the whole
    axis), ``"reflect"``, ``"symmetric"``, ``"wrap"``, ``"circular"`` (the same as wrap) and ``"empty"``
    (zeros here).

    Example:
        >>> pad([1, 2], 1, mode="reflect").tolist()
        [2, 1, 2, 1]
    """
    x = to_tensor(x)
    if mode not in _PAD_OTHER_MODES and mode not in _PAD_INDEX_MODES:
        modes = list(_PAD_OTHER_MODES) + list(_PAD_INDEX_MODES)
        _fail("pad", f"unsupported mode={mode!r}; expected one of {modes}")
    if constant_values is not None and mode != "constant":
        _fail(
            "pad",
            f"argument `constant_values` can only be provided when mode == 'constant', received mode={mode}",
        )
    widths = _pad_widths("pad", pad_width, x.ndim)
    if mode in ("constant", "empty"):  # "empty" leaves the padding undefined: zeros are as good as any
        flat = []
        for before, after in reversed(widths):
            flat += [before, after]
        value = 0 if constant_values is None else _scalar_value(constant_values)
        return ts.pad(x, flat, mode="constant", value=value) if flat else ts.clone(x)
    for a, (before, after) in enumerate(widths):
        if before == after == 0:
            continue
        n = x.shape[a]
        if n == 0:
            _fail("pad", f"cannot pad the empty axis {a} of x.shape={tuple(x.shape)} in mode={mode!r}")
        if mode in _PAD_INDEX_MODES:
            # NumPy's own index padding gives the exact reflect/symmetric/wrap semantics (also for widths
            # beyond the axis size); gathering those indices keeps the result differentiable.
            index = np.pad(np.arange(n), (before, after), mode=_PAD_INDEX_MODES[mode])
            x = ts.index_select(x, a, ts.tensor(index, dtype=_dt.int64))
        else:
            x = ts.cat([_pad_block(x, a, before, mode, True), x, _pad_block(x, a, after, mode, False)], a)
    return x


def _pad_block(x: Tensor, a: int, width: int, mode: str, leading: bool) -> Tensor:
    """The ``width`` values NumPy's statistic and ramp modes put before/after ``x`` along axis ``a``
    (statistics over the whole axis; the ramp runs from 0 at the outer edge to the edge value)."""
    n = x.shape[a]
    work = x.dtype if x.dtype.is_floating_point else _dt.float64
    xf = _cast(x, work)
    if mode == "linear_ramp":
        edge = ts.narrow(xf, a, 0 if leading else n - 1, 1)
        frac = ts.arange(width, dtype=work) / max(width, 1)
        if not leading:
            frac = ts.flip(frac, 0)
        block = edge * ts.reshape(frac, (-1,) + (1,) * (x.ndim - a - 1))
        return _cast(block if x.dtype.is_floating_point else ts.floor(block), x.dtype)
    if mode in ("maximum", "minimum"):
        stat = (ts.amax if mode == "maximum" else ts.amin)(x, a, keepdim=True)
    else:
        stat = ts.mean(xf, a, keepdim=True) if mode == "mean" else ts.quantile(xf, 0.5, a, keepdim=True)
        stat = stat if x.dtype.is_floating_point else _cast(ts.round(stat), x.dtype)
    return ts.index_select(stat, a, ts.zeros(width, dtype=_dt.int64))


def _int_indices(fn: str, indices, arg: str = "indices") -> Tensor:
    idx = to_tensor(indices)
    if idx.dtype.is_floating_point or idx.dtype is _dt.bool:
        idx = idx.to(_dt.int64)
    elif idx.dtype.is_complex:
        _fail(fn, f"`{arg}` must be integers, received dtype {idx.dtype.name}", TypeError)
    return _cast(idx, _dt.int64)


def _wrap_negative(fn: str, idx: Tensor, n: int) -> Tensor:
    idx = ts.where(idx < 0, idx + n, idx)
    if idx.numel() and (bool(ts.any(idx < 0)) or bool(ts.any(idx >= n))):
        _fail(fn, f"index out of bounds for an axis of size {n}", IndexError)
    return idx


@_op
def take(x, indices, axis=None) -> Tensor:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` when None); negative indices
    count from the end. The result has shape ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``.

    Example:
        >>> take([[1, 2], [3, 4]], [1, -1], axis=1).tolist()
        [[2, 2], [4, 4]]
    """
    x = to_tensor(x)
    if axis is None:
        x, a = ts.reshape(x, (-1,)), 0
    else:
        a = _axis("take", axis, x.ndim)
    idx = _int_indices("take", indices)
    n = x.shape[a]
    idx = _wrap_negative("take", idx, n)
    shape = tuple(x.shape[:a]) + tuple(idx.shape) + tuple(x.shape[a + 1 :])
    return ts.reshape(ts.index_select(x, a, ts.reshape(idx, (-1,))), shape)


@_op
def take_along_axis(x, indices, axis=None) -> Tensor:
    """Values of ``x`` at ``indices`` along ``axis`` (``indices`` broadcasts against ``x`` on the other
    axes; both flattened when ``axis`` is None).

    Example:
        >>> take_along_axis([[10, 30, 20]], [[0, 2]], axis=1).tolist()
        [[10, 20]]
    """
    x = to_tensor(x)
    idx = _int_indices("take_along_axis", indices)
    if axis is None:
        x, idx, a = ts.reshape(x, (-1,)), ts.reshape(idx, (-1,)), 0
    else:
        a = _axis("take_along_axis", axis, x.ndim)
        if idx.ndim != x.ndim:
            _fail(
                "take_along_axis",
                f"`indices` must have the same rank as x, received x.shape={tuple(x.shape)}, "
                f"indices.shape={tuple(idx.shape)}",
            )
    idx = _wrap_negative("take_along_axis", idx, x.shape[a])
    xs, ids = list(x.shape), list(idx.shape)
    xs[a] = ids[a] = 1
    try:
        common = list(np.broadcast_shapes(tuple(xs), tuple(ids)))
    except ValueError:
        _fail(
            "take_along_axis",
            f"x.shape={tuple(x.shape)} and indices.shape={tuple(idx.shape)} do not broadcast outside axis {a}",
        )
    xb, ib = list(common), list(common)
    xb[a], ib[a] = x.shape[a], idx.shape[a]
    return ts.take_along_dim(ts.broadcast_to(x, xb), ts.broadcast_to(idx, ib), a)


def get_item(x, key):
    """``x[key]`` (Keras's indexing: ints, slices, ``None``, ``...``, index tensors and boolean masks).

    Example:
        >>> get_item(arange(6).reshape(2, 3), (1, slice(0, 2))).tolist()
        [3, 4]
    """
    if isinstance(x, KerasTensor):
        return GetItem(key)(x)
    return _get_item(x, key)


def _index(x, key):
    x = to_tensor(x)
    if isinstance(key, (list, np.ndarray)) or (isinstance(key, Tensor) and key.ndim):
        key = to_tensor(key)
    return x[key]


_index.__name__ = _index.__qualname__ = "get_item"  # errors name the public function
_get_item = _op(_index)


@_op
def nonzero(x) -> tuple[Tensor, ...]:
    """The indices of the non-zero elements of ``x``: one int32 tensor per axis.

    Example:
        >>> [t.tolist() for t in nonzero([[0, 1], [2, 0]])]
        [[0, 1], [1, 0]]
    """
    x = to_tensor(x)
    if x.ndim == 0:
        x = ts.reshape(x, (1,))
    return tuple(_cast(t, _dt.int32) for t in ts.nonzero(x, as_tuple=True))


@_op
def unravel_index(indices, shape) -> tuple[Tensor, ...]:
    """Flat indices converted to a tuple of coordinate tensors for ``shape`` (C order).

    Example:
        >>> [int(t) for t in unravel_index(5, (2, 3))]
        [1, 2]
    """
    idx = to_tensor(indices)
    if idx.dtype.is_floating_point or idx.dtype.is_complex or idx.dtype is _dt.bool:
        _fail("unravel_index", f"`indices` must be integers, received dtype {idx.dtype.name}", TypeError)
    dims = _nonneg_shape("unravel_index", shape)
    total = math.prod(dims)
    if idx.numel() and (bool(ts.any(idx < 0)) or bool(ts.any(idx >= total))):
        _fail("unravel_index", f"`indices` out of bounds for shape {dims} ({total} elements)")
    out_dtype = _result_type(idx.dtype)
    rest = _cast(idx, _dt.int64)
    coords = []
    for d in reversed(dims):
        coords.append(_cast(ts.remainder(rest, d), out_dtype))
        rest = ts.floor_divide(rest, d)
    return tuple(reversed(coords))


@_op
def size(x) -> Tensor:
    """The number of elements of ``x`` (an int64 scalar tensor, as Keras's torch backend).

    Example:
        >>> int(size(ones((2, 3))))
        6
    """
    return ts.tensor(to_tensor(x).numel(), dtype=_dt.int64)


def ndim(x) -> int:
    """The number of dimensions of ``x`` (a Python int; symbolic tensors answer from their shape).

    Example:
        >>> ndim(ones((2, 3)))
        2
    """
    if isinstance(x, KerasTensor):
        return x.ndim
    return to_tensor(x).ndim


# -- products ------------------------------------------------------------------------------------------------
def _product(f, x1: Tensor, x2: Tensor, out_dtype) -> Tensor:
    work = _compute_dtype(out_dtype)
    return _cast(f(_cast(x1, work), _cast(x2, work)), out_dtype)


@_op
def matmul(x1, x2) -> Tensor:
    """The matrix product of ``x1`` and ``x2`` (NumPy's rules: 1-D operands are vectors, leading axes
    broadcast). int8 x int8 gives int32; otherwise the dtype follows Keras's promotion.

    Example:
        >>> matmul(ones((2, 3)), ones((3,))).tolist()
        [3.0, 3.0]
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        _fail(
            "matmul", f"operands must not be scalars, received shapes {tuple(x1.shape)} and {tuple(x2.shape)}"
        )
    k1 = x1.shape[-1]
    k2 = x2.shape[0] if x2.ndim == 1 else x2.shape[-2]
    if k1 != k2:
        _fail(
            "matmul",
            f"inner dimensions do not match: x1.shape={tuple(x1.shape)}, x2.shape={tuple(x2.shape)} "
            f"({k1} != {k2})",
        )
    if x1.ndim > 2 and x2.ndim > 2:
        try:
            np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
        except ValueError:
            _fail(
                "matmul",
                f"batch dimensions do not broadcast: x1.shape={tuple(x1.shape)}, x2.shape={tuple(x2.shape)}",
            )
    if x1.dtype is _dt.int8 and x2.dtype is _dt.int8:
        out = _dt.int32
    else:
        out = _result_type(x1.dtype, x2.dtype)
    if out is _dt.bool:
        return _product(ts.matmul, x1, x2, _dt.float32) != 0
    return _product(ts.matmul, x1, x2, out)


def _numpy_dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        return ts.tensordot(a, b, dims=([a.ndim - 1], [0]))
    return ts.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2]))


@_op
def dot(x1, x2) -> Tensor:
    """NumPy's ``dot``: scalars multiply; otherwise a sum product over the last axis of ``x1`` and the
    second-to-last of ``x2`` (its only axis when 1-D).

    Example:
        >>> float(dot([1.0, 2.0], [3.0, 4.0]))
        11.0
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.ndim and x2.ndim:
        k2 = x2.shape[0] if x2.ndim == 1 else x2.shape[-2]
        if x1.shape[-1] != k2:
            _fail(
                "dot",
                f"shapes {tuple(x1.shape)} and {tuple(x2.shape)} are not aligned ({x1.shape[-1]} != {k2})",
            )
    return _product(_numpy_dot, x1, x2, _result_type(x1.dtype, x2.dtype))


@_op
def vdot(x1, x2) -> Tensor:
    """The dot product of the flattened inputs (the first complex-conjugated).

    Example:
        >>> float(vdot([[1.0, 2.0]], [3.0, 4.0]))
        11.0
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.numel() != x2.numel():
        _fail(
            "vdot",
            f"inputs must have the same number of elements, received shapes {tuple(x1.shape)}, {tuple(x2.shape)}",
        )

    def f(a, b):
        a = ts.conj(a) if a.dtype.is_complex else a
        return ts.sum(ts.reshape(a, (-1,)) * ts.reshape(b, (-1,)))

    return _product(f, x1, x2, _result_type(x1.dtype, x2.dtype))


@_op
def inner(x1, x2) -> Tensor:
    """The inner product over the last axes (scalars multiply).

    Example:
        >>> inner(ones((2, 3)), ones((4, 3))).shape
        tessera.Size([2, 4])
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)

    def f(a, b):
        if a.ndim == 0 or b.ndim == 0:
            return a * b
        return ts.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 1]))

    if x1.ndim and x2.ndim and x1.shape[-1] != x2.shape[-1]:
        _fail(
            "inner",
            f"the last dimensions must match, received shapes {tuple(x1.shape)} and {tuple(x2.shape)}",
        )
    return _product(f, x1, x2, _result_type(x1.dtype, x2.dtype))


@_op
def outer(x1, x2) -> Tensor:
    """The outer product of the flattened inputs.

    Example:
        >>> outer([1, 2], [1, 2, 3]).shape
        tessera.Size([2, 3])
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    dtype = _torch_promote([x1, x2])
    a, b = ts.reshape(_cast(x1, dtype), (-1, 1)), ts.reshape(_cast(x2, dtype), (1, -1))
    return a * b if dtype is not _dt.bool else ts.logical_and(a, b)


def _tensordot_axes(fn: str, axes, n1: int, n2: int):
    if isinstance(axes, (numbers.Integral,)) and not isinstance(axes, bool):
        k = int(axes)
        if k < 0 or k > min(n1, n2):
            _fail(fn, f"`axes`={k} must be between 0 and min(x1.ndim, x2.ndim)={min(n1, n2)}")
        return list(range(n1 - k, n1)), list(range(k))
    try:
        first, second = axes
    except (TypeError, ValueError):
        _fail(fn, f"`axes` must be an int or a pair of axis lists, received axes={axes!r}", TypeError)
    first = list(first) if isinstance(first, (list, tuple)) else [first]
    second = list(second) if isinstance(second, (list, tuple)) else [second]
    if len(first) != len(second):
        _fail(fn, f"both `axes` lists must have the same length, received axes={axes!r}")
    return [_axis(fn, a, n1, "axes") for a in first], [_axis(fn, a, n2, "axes") for a in second]


@_op
def tensordot(x1, x2, axes=2) -> Tensor:
    """The tensor dot product over ``axes`` (an int: the last ``axes`` of ``x1`` with the first of ``x2``;
    or a pair of axis lists).

    Example:
        >>> tensordot(ones((2, 3, 4)), ones((3, 4, 5))).shape
        tessera.Size([2, 5])
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    a1, a2 = _tensordot_axes("tensordot", axes, x1.ndim, x2.ndim)
    for p, q in zip(a1, a2):
        if x1.shape[p] != x2.shape[q]:
            _fail(
                "tensordot",
                f"shape mismatch for sum: x1.shape={tuple(x1.shape)} axis {p} vs x2.shape={tuple(x2.shape)} axis {q}",
            )
    f = functools.partial(lambda a, b, dims: ts.tensordot(a, b, dims=dims), dims=(a1, a2))
    return _product(f, x1, x2, _result_type(x1.dtype, x2.dtype))


@_op
def einsum(subscripts, *operands, **kwargs) -> Tensor:
    """Einstein summation over ``operands`` as described by ``subscripts`` (``"ij,jk->ik"``, with ``...``).

    Example:
        >>> einsum("ij,jk->ik", ones((2, 3)), ones((3, 4))).shape
        tessera.Size([2, 4])
    """
    if not isinstance(subscripts, str):
        _fail("einsum", f"`subscripts` must be a string, received {subscripts!r}", TypeError)
    # ``optimize`` only chooses a contraction order (NumPy/JAX); the result does not depend on it
    unknown = sorted(set(kwargs) - {"optimize"})
    if unknown:
        _fail("einsum", f"unexpected keyword arguments {unknown}", TypeError)
    ops_ = [to_tensor(o) for o in operands]
    if not ops_:
        _fail("einsum", "at least one operand is required")
    n_terms = len(subscripts.split("->")[0].split(","))
    if n_terms != len(ops_):
        _fail("einsum", f"subscripts {subscripts!r} name {n_terms} operands, received {len(ops_)}")
    if all(o.dtype is _dt.int8 for o in ops_):
        out = _dt.int32
    else:
        out = _torch_promote(ops_)
    work = _compute_dtype(out)
    return _cast(ts.einsum(subscripts, *[_cast(o, work) for o in ops_]), out)


@_op
def kron(x1, x2) -> Tensor:
    """The Kronecker product (blocks of ``x2`` scaled by the elements of ``x1``).

    Example:
        >>> kron([1, 2], [1, 1]).tolist()
        [1, 1, 2, 2]
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    dtype = _torch_promote([x1, x2])
    return ts.kron(_cast(x1, dtype), _cast(x2, dtype))


@_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None) -> Tensor:
    """The cross product of vectors of 2 or 3 components along ``axisa``/``axisb`` (``axis`` sets all
    three), result components along ``axisc``; 2-vectors only give the z component.

    Example:
        >>> cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).tolist()
        [0.0, 0.0, 1.0]
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    if x1.ndim == 0 or x2.ndim == 0:
        _fail("cross", f"inputs must be vectors, received shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    a = ts.moveaxis(x1, _axis("cross", axisa, x1.ndim, "axisa"), -1)
    b = ts.moveaxis(x2, _axis("cross", axisb, x2.ndim, "axisb"), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        _fail(
            "cross",
            f"incompatible dimensions for cross product (dimension must be 2 or 3), received shapes "
            f"{tuple(x1.shape)} and {tuple(x2.shape)}",
        )
    out = _result_type(x1.dtype, x2.dtype)
    work = _compute_dtype(out) if out is not _dt.bool else _dt.float32
    a, b = _cast(a, work), _cast(b, work)
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return _cast(z, out)
    a2 = a[..., 2] if a.shape[-1] == 3 else ts.zeros_like(a0)
    b2 = b[..., 2] if b.shape[-1] == 3 else ts.zeros_like(b0)
    c = ts.stack(ts.broadcast_tensors(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z), -1)
    return _cast(ts.moveaxis(c, -1, _axis("cross", axisc, c.ndim, "axisc")), out)


@_op
def diff(a, n=1, axis=-1) -> Tensor:
    """The ``n``-th discrete difference along ``axis`` (for bools: whether neighbours differ).

    Example:
        >>> diff([1, 4, 9]).tolist()
        [3, 5]
    """
    x = to_tensor(a)
    n = _int_arg("diff", n, "n", 0)
    if n == 0:
        return x
    if x.ndim == 0:
        _fail("diff", "diff requires input that is at least one dimensional")
    return ts.diff(x, n, _axis("diff", axis, x.ndim))


# -- sorting and searching -----------------------------------------------------------------------------------
def _sort_input(fn: str, x, axis):
    x = to_tensor(x)
    if axis is None:
        return ts.reshape(x, (-1,)), 0
    if x.ndim == 0:
        return ts.reshape(x, (1,)), 0
    return x, _axis(fn, axis, x.ndim)


@_op
def sort(x, axis=-1) -> Tensor:
    """``x`` sorted ascending along ``axis`` (the flattened ``x`` when None).

    Example:
        >>> sort([3, 1, 2]).tolist()
        [1, 2, 3]
    """
    x, a = _sort_input("sort", x, axis)
    work = _dt.uint8 if x.dtype is _dt.bool else x.dtype
    return _cast(ts.sort(_cast(x, work), a, stable=True)[0], x.dtype)


@_op
def argsort(x, axis=-1) -> Tensor:
    """The (stable) indices that sort ``x`` along ``axis``, as int32.

    Example:
        >>> argsort([3, 1, 2]).tolist()
        [1, 2, 0]
    """
    x, a = _sort_input("argsort", x, axis)
    x = _cast(x, _dt.uint8) if x.dtype is _dt.bool else x
    return _cast(ts.argsort(x, a, stable=True), _dt.int32)


@_op
def argpartition(x, kth, axis=-1) -> Tensor:
    """Indices that partition ``x`` along ``axis``: the ``kth`` element (or each of several) lands in its
    sorted position, smaller ones before it and larger ones after (int32; here a stable full sort).

    Example:
        >>> argpartition([3, 4, 2, 1], 2).tolist()[2]
        0
    """
    x, a = _sort_input("argpartition", x, axis)
    n = x.shape[a]
    for k in kth if isinstance(kth, (list, tuple)) else [kth]:
        k = _int_arg("argpartition", k, "kth")
        if not -n <= k < n:
            _fail("argpartition", f"kth(={k}) out of bounds for an axis of size {n}")
    x = _cast(x, _dt.uint8) if x.dtype is _dt.bool else x
    return _cast(ts.argsort(x, a, stable=True), _dt.int32)


@_op
def searchsorted(sorted_sequence, values, side="left") -> Tensor:
    """Indices where ``values`` would be inserted into the 1-D ``sorted_sequence`` to keep it sorted
    (``side="right"``: after equal elements), as int32.

    Example:
        >>> searchsorted([1, 2, 3], [2, 5]).tolist()
        [1, 3]
    """
    seq, vals = to_tensor(sorted_sequence), to_tensor(values)
    if seq.ndim != 1:
        _fail(
            "searchsorted",
            "`searchsorted` only supports 1-D sorted sequences. You can use `keras.ops.vectorized_map` to extend "
            f"it to N-D sequences. Received: sorted_sequence.shape={tuple(seq.shape)}",
        )
    if side not in ("left", "right"):
        _fail("searchsorted", f"`side` must be 'left' or 'right', received side={side!r}")
    dtype = _torch_promote([seq, vals])
    scalar = vals.ndim == 0
    out = ts.searchsorted(_cast(seq, dtype), _cast(ts.reshape(vals, (-1,)) if scalar else vals, dtype),
                          out_int32=True, right=side == "right")  # fmt: skip
    return ts.reshape(out, ()) if scalar else out


@_op
def unique(
    x,
    sorted=True,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    size=None,
    fill_value=None,
):
    """The unique elements of ``x`` (or unique slices along ``axis``), optionally with the first-occurrence
    indices, the inverse indices and the counts (int64). ``sorted=False`` keeps first-appearance order;
    ``size`` pads (with ``fill_value``, default 0) or truncates to a fixed length.

    Example:
        >>> unique([3, 1, 2, 1]).tolist()
        [1, 2, 3]
    """
    x = to_tensor(x)
    if axis is None:
        flat, a = ts.reshape(x, (-1,)), 0
    else:
        flat, a = x, _axis("unique", axis, x.ndim)
    if size is not None:
        size = _int_arg("unique", size, "size", 0)
    values, inverse, counts = ts.unique(flat, sorted=True, return_inverse=True, return_counts=True, dim=a)
    inv = inverse.numpy().astype(np.int64).reshape(-1)
    m = values.shape[a]
    first = np.full(m, inv.size, dtype=np.int64)
    np.minimum.at(first, inv, np.arange(inv.size))
    if not sorted:
        # first-appearance order: renumber the (sorted) unique entries by where they first occur
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(m)
        values = ts.index_select(values, a, ts.tensor(order, dtype=_dt.int64))
        counts = ts.index_select(counts, 0, ts.tensor(order, dtype=_dt.int64))
        first = first[order]
        inverse = ts.tensor(rank[inv].reshape(tuple(inverse.shape)), dtype=_dt.int64)
    index = ts.tensor(first, dtype=_dt.int64)
    counts = _cast(counts, _dt.int64)
    inverse = _cast(inverse, _dt.int64)
    if axis is None:
        inverse = ts.reshape(inverse, tuple(x.shape))  # Keras (and NumPy 2) give the inverse x's shape
    if size is not None:
        if m >= size:
            values = ts.narrow(values, a, 0, size)
            counts, index = counts[:size], index[:size]
        else:
            widths = [(0, 0)] * values.ndim
            widths[a] = (0, size - m)
            fill = 0 if fill_value is None else fill_value
            values = pad(values, widths, constant_values=fill)
            counts = ts.pad(counts, [0, size - m], value=0)
            index = ts.pad(index, [0, size - m], value=1)
    out = [values]
    if return_index:
        out.append(index)
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


@_op
def isin(x1, x2, assume_unique=False, invert=False) -> Tensor:
    """Whether each element of ``x1`` occurs in ``x2`` (``invert=True``: does not occur), as bool.

    Example:
        >>> isin([1, 2, 3], [2]).tolist()
        [False, True, False]
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    dtype = _torch_promote([x1, x2])
    if dtype is _dt.bool:
        dtype = _dt.int32
    return ts.isin(_cast(x1, dtype), _cast(x2, dtype), assume_unique=bool(assume_unique), invert=bool(invert))


@_op
def slogdet(x) -> tuple[Tensor, Tensor]:
    """The sign and the natural log of the absolute value of the determinant of (a batch of) square
    matrices.

    Example:
        >>> [round(float(v), 4) for v in slogdet([[2.0, 0.0], [0.0, 3.0]])]
        [1.0, 1.7918]
    """
    x = to_tensor(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        _fail("slogdet", f"`x` must be (a batch of) square matrices, received x.shape={tuple(x.shape)}")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(standardize_dtype(None))
    sign, logabsdet = ts.slogdet(x)
    return sign, logabsdet


# -- vectorize -----------------------------------------------------------------------------------------------
_DIM_NAME = r"\w+"
_CORE_DIMS = rf"(?:{_DIM_NAME}(?:,{_DIM_NAME})*)?"
_ARGUMENT = rf"\({_CORE_DIMS}\)"
_ARGUMENT_LIST = rf"{_ARGUMENT}(?:,{_ARGUMENT})*"
_SIGNATURE = rf"^{_ARGUMENT_LIST}->{_ARGUMENT_LIST}$"


def _parse_signature(signature: str):
    sig = signature.replace(" ", "")
    if not re.match(_SIGNATURE, sig):
        _fail("vectorize", f"not a valid gufunc signature: {signature}")
    ins, outs = (
        [tuple(re.findall(_DIM_NAME, arg)) for arg in re.findall(_ARGUMENT, part)] for part in sig.split("->")
    )
    return ins, outs


def vectorize(pyfunc: Callable, *, excluded=None, signature: str | None = None) -> Callable:
    """A function that applies ``pyfunc`` over the (broadcast) leading elements of its tensor arguments, as
    NumPy's ``vectorize``: by default ``pyfunc`` sees scalars; ``signature`` (e.g. ``"(m,n),(n)->(m)"``)
    gives it core sub-tensors. Positional indices or keyword names in ``excluded`` are passed unchanged,
    as are keyword arguments. Results are stacked, so gradients flow.

    Example:
        >>> vectorize(lambda a, b: a + b)([1, 2, 3], 2).tolist()
        [3, 4, 5]
    """
    if not callable(pyfunc):
        _fail("vectorize", f"expected argument `pyfunc` to be a callable, received pyfunc={pyfunc!r}")
    excluded = set(excluded or ())
    cores = _parse_signature(signature) if signature is not None else None

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        static = {i: a for i, a in enumerate(args) if i in excluded}
        dyn = [i for i in range(len(args)) if i not in excluded]
        tensors = [to_tensor(args[i]) for i in dyn]
        in_cores = cores[0] if cores is not None else [()] * len(tensors)
        if len(in_cores) != len(tensors):
            _fail(
                "vectorize",
                f"wrong number of positional arguments: expected {len(in_cores)}, got {len(tensors)}",
                TypeError,
            )
        sizes: dict[str, int] = {}
        loop_shapes = []
        for t, core in zip(tensors, in_cores):
            if t.ndim < len(core):
                _fail(
                    "vectorize",
                    f"input with shape {tuple(t.shape)} has fewer dimensions than core dims {core}",
                )
            for name, d in zip(core, tuple(t.shape)[t.ndim - len(core) :]):
                if sizes.setdefault(name, d) != d:
                    _fail("vectorize", f"inconsistent size for core dimension {name!r}: {sizes[name]} vs {d}")
            loop_shapes.append(tuple(t.shape)[: t.ndim - len(core)])
        try:
            loop = tuple(np.broadcast_shapes(*loop_shapes)) if loop_shapes else ()
        except ValueError:
            _fail("vectorize", f"loop dimensions {loop_shapes} do not broadcast")
        flat = [
            ts.reshape(
                ts.broadcast_to(t, loop + tuple(t.shape)[t.ndim - len(c) :]),
                (-1,) + tuple(t.shape)[t.ndim - len(c) :],
            )
            for t, c in zip(tensors, in_cores)
        ]

        def call(i):
            full = dict(static)
            for pos, t in zip(dyn, flat):
                full[pos] = t[i]
            return pyfunc(*[full[p] for p in range(len(args))], **kwargs)

        n = math.prod(loop)
        results = [call(i) for i in range(n)]
        if n == 0:
            _fail("vectorize", "cannot vectorize over zero-size inputs (the output shape is unknown)")
        multi = isinstance(results[0], tuple)
        outs = list(zip(*results)) if multi else [results]
        if cores is not None:
            if len(cores[1]) != len(outs):
                _fail(
                    "vectorize",
                    f"wrong number of outputs: expected {len(cores[1])}, got {len(outs)}",
                    TypeError,
                )
        stacked = []
        for j, col in enumerate(outs):
            col = [to_tensor(v) for v in col]
            if cores is not None:
                for name, d in zip(cores[1][j], tuple(col[0].shape)):
                    if sizes.setdefault(name, d) != d:
                        _fail(
                            "vectorize",
                            f"inconsistent size for core dimension {name!r}: {sizes[name]} vs {d}",
                        )
            s = ts.stack(col, 0)
            stacked.append(ts.reshape(s, loop + tuple(s.shape[1:])))
        return tuple(stacked) if multi else stacked[0]

    return wrapped
