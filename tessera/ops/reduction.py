"""Reductions over dimensions: sum, mean, var/std, max/min, prod, logsumexp, softmax, cumsum, norm...

Every op here is one ``OpDef`` with a NumPy forward and a gradient rule written with Tessera ops (so it can
be differentiated again). Reductions taking ``dim`` accept an int, a tuple of ints or ``None`` (all dims);
``()`` also means all dims, as in PyTorch. Integer and bool inputs follow PyTorch's result dtypes (``sum`` and
``prod`` give int64, ``mean``/``var`` refuse them, ``argmax`` gives int64); float16/bfloat16 accumulate in
float32.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from ..core import dtypes as _dt
from ..core.creation import arange as _arange
from ..core.creation import zeros_like as _zeros_like
from ..core.dispatch import OpDef, OpError
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor
from . import elementwise as _ew
from . import shape as _sh
from ._util import (
    TensorMeta,
    apply,
    canonical_dim,
    canonical_dims,
    check_tensor,
    method,
    reduction_rule,
    shape_args,
    unary_rule,
)
from ._util import (
    reduced_shape as _reduced_shape,
)

__all__ = [
    "sum",
    "sum_to_size",
    "mean",
    "var",
    "std",
    "var_mean",
    "std_mean",
    "max",
    "min",
    "amax",
    "amin",
    "aminmax",
    "argmax",
    "argmin",
    "prod",
    "logsumexp",
    "softmax",
    "log_softmax",
    "cumsum",
    "cumprod",
    "all",
    "any",
    "norm",
    "count_nonzero",
    "median",
    "nansum",
    "nanmean",
    "nanmedian",
]

_bmax = max  # Python's builtin, kept before the op below shadows it

_FLOAT_KINDS = "fV"
_add_reduce, _mul_reduce = np.add.reduce, np.multiply.reduce
_max_reduce, _min_reduce = np.maximum.reduce, np.minimum.reduce

# Named result tuples, as ``torch.return_types.max`` and friends.
_RT_MAX = namedtuple("max", ["values", "indices"])
_RT_MIN = namedtuple("min", ["values", "indices"])
_RT_MEDIAN = namedtuple("median", ["values", "indices"])
_RT_AMINMAX = namedtuple("aminmax", ["min", "max"])
_RT_NANMEDIAN = namedtuple("nanmedian", ["values", "indices"])
for _rt in (_RT_MAX, _RT_MIN, _RT_MEDIAN, _RT_AMINMAX, _RT_NANMEDIAN):
    _rt.__module__ = "tessera.return_types"


# -- helpers ------------------------------------------------------------------------------------------------
def _rdims(opname, dim, ndim):
    """Reduction dims as a sorted tuple of non-negative ints, or ``None`` for "all dimensions"
    (``None``, ``()``, every dim, and any valid dim of a 0-d tensor all mean that)."""
    if dim is None:
        return None
    if dim.__class__ is int and -ndim <= dim < ndim:  # fast path
        return (dim + ndim if dim < 0 else dim,) if ndim > 1 else None
    if not isinstance(dim, (numbers.Integral, tuple, list)) or isinstance(dim, bool):
        raise TypeError(
            f"{opname}: argument 'dim' must be an int, a tuple of ints or None, not {type(dim).__name__}"
        )
    dims = canonical_dims(opname, dim, ndim)
    if not dims or len(dims) == ndim or ndim == 0:
        return None
    return dims


def _kept_shape(shape, dims):
    return tuple(1 if (dims is None or i in dims) else s for i, s in enumerate(shape))


def _count(shape, dims):
    n = 1
    for i, s in enumerate(shape):
        if dims is None or i in dims:
            n *= s
    return n


def _is_half(a):
    return a.dtype.kind in _FLOAT_KINDS and a.dtype.itemsize == 2


def _as_dtype(dtype):
    return None if dtype is None else _dt.as_dtype(dtype)


def _require_float(opname, input, what="floating point"):
    check_tensor(opname, "input", input)
    if input._data.dtype.kind not in _FLOAT_KINDS:
        raise RuntimeError(f"{opname}: expected a {what} input, got {input.dtype.name}")


def _check_tensor(opname, input):
    check_tensor(opname, "input", input)


def _check_nonempty(opname, x, dims):
    """PyTorch refuses to reduce a zero-size dimension for ops without an identity (max, argmax...)."""
    shape = x._data.shape
    if dims is None:
        if x._data.size == 0:
            raise IndexError(
                f"{opname}: Expected reduction dim to be specified for input.numel() == 0 "
                f"(input shape {list(shape)})."
            )
        return
    for d in dims:
        if shape[d] == 0:
            raise IndexError(
                f"{opname}: Expected reduction dim {d} to have non-zero size (input shape {list(shape)})."
            )


def _unreduce(g, shape, dims, keepdim):
    """``g`` (a reduction's output gradient) reshaped with size-1 reduced dims, ready to broadcast."""
    if not keepdim:
        g = g.reshape(_kept_shape(shape, dims))
    return g


def _const(like, value):
    """A 0-d constant of ``like``'s dtype (avoids NumPy widening bfloat16 next to Python scalars)."""
    return Tensor._wrap(np.array(value, dtype=like._data.dtype))


def _eq(a, b):
    return _ew.eq(a, b)


def _int64_unless_float(d, attrs):
    """Result dtype of sum/prod/cumsum: ``dtype=`` if given; integers and bools accumulate in int64."""
    return attrs.get("dtype") or (d if d.is_floating_point else _dt.int64)


def _attr_dtype_or_input(d, attrs):
    return attrs.get("dtype") or d


def _int64(d, attrs):
    return _dt.int64


def _spread(mask, g, dims):
    """``g`` split evenly among the True entries of ``mask`` in each reduced slice (ties share), with
    PyTorch's formula ``mask * (g / count)``."""
    count = apply(SUM, (mask,), {"dims": dims, "keepdim": True})
    return (g / count) * mask


# -- sum ----------------------------------------------------------------------------------------------------
def _sum_forward(x, dims=None, keepdim=False, dtype=None):
    if dtype is not None:
        acc = dtype.np
    elif x.dtype.kind in "biu":
        acc = np.int64
    elif x.dtype.itemsize < 4:  # float16/bfloat16 accumulate in float32, as PyTorch does
        return _add_reduce(x, axis=dims, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    else:
        acc = None
    return _add_reduce(x, axis=dims, keepdims=keepdim, dtype=acc)


SUM = OpDef("sum", _sum_forward, shape_rule=reduction_rule("sum", _int64_unless_float))


@SUM.defgrad
def _sum_grad(ctx, g):
    shape = ctx.input_shape(0)
    if not ctx.attrs.get("keepdim", False):
        g = g.reshape(_kept_shape(shape, ctx.attrs.get("dims")))
    return g.expand(shape)


@method("sum")
def sum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Sum over ``dim`` (an int, a tuple of ints, or None for all); ints and bools sum to int64.

    Example:
        >>> ts.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
        tensor([4., 6.])
    """
    if input.__class__ is not Tensor:
        _check_tensor("sum", input)
    dims = _rdims("sum", dim, input._data.ndim) if dim is not None else None
    attrs = {"dims": dims, "keepdim": bool(keepdim)}
    if dtype is not None:
        attrs["dtype"] = _dt.as_dtype(dtype)
    return apply(SUM, (input,), attrs)


def _sum_to_size_forward(x, shape):
    lead = x.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    # integers and bools sum in int64 (NumPy would give uint8 sums in uint64)
    out = (
        np.sum(x, axis=dims, keepdims=True, dtype=np.int64 if x.dtype.kind in "biu" else None) if dims else x
    )
    return out.reshape(shape)


SUM_TO_SIZE = OpDef("sum_to_size", _sum_to_size_forward)


@SUM_TO_SIZE.defshape
def _sum_to_size_shape(x, shape):
    xs = tuple(x.shape)
    try:
        ok = np.broadcast_shapes(shape, xs) == xs
    except ValueError:
        ok = False
    if not ok:
        raise OpError(f"sum_to_size: size {list(shape)} is not expandable to size {list(xs)}")
    # np.sum widens integers and bools to int64 whenever it reduces something
    dt = x.dtype if x.dtype.is_floating_point or xs == tuple(shape) else _dt.int64
    return TensorMeta(shape, dt)


@SUM_TO_SIZE.defgrad
def _sum_to_size_grad(ctx, g):
    return g.expand(ctx.input_shape(0))


@method("sum_to_size")
def sum_to_size(input, *size):
    """Sum ``input`` down to ``size``, which ``input``'s shape must be broadcastable from."""
    shape = shape_args("sum_to_size", size)
    try:
        ok = np.broadcast_shapes(shape, input._data.shape) == input._data.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size {list(input.shape)}")
    if shape == input._data.shape:
        return input
    return apply(SUM_TO_SIZE, (input,), {"shape": shape})


def _nansum_forward(x, dims=None, keepdim=False, dtype=None):
    if x.dtype.kind in _FLOAT_KINDS:
        x = np.where(np.isnan(x), np.zeros((), x.dtype), x)
    return _sum_forward(x, dims, keepdim, dtype)


NANSUM = OpDef("nansum", _nansum_forward, shape_rule=reduction_rule("nansum", _int64_unless_float))


@NANSUM.defgrad
def _nansum_grad(ctx, g):
    (x,) = ctx.saved
    shape = x._data.shape
    g = _unreduce(g, shape, ctx.attrs["dims"], ctx.attrs["keepdim"]).expand(shape)
    return _ew.where(_ew.isnan(x), _const(g, 0), g)


@method("nansum")
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``sum`` treating NaN as zero."""
    _check_tensor("nansum", input)
    dims = _rdims("nansum", dim, input._data.ndim)
    return apply(NANSUM, (input,), {"dims": dims, "keepdim": bool(keepdim), "dtype": _as_dtype(dtype)})


# -- mean ---------------------------------------------------------------------------------------------------
def _mean_forward(x, dims=None, keepdim=False, dtype=None):
    if dtype is not None and x.dtype != dtype.np:
        x = x.astype(dtype.np)
    n = _count(x.shape, dims)
    s = _add_reduce(x, axis=dims, keepdims=keepdim, dtype=np.float32 if _is_half(x) else None)
    if not n:
        return np.full(np.shape(s), np.nan, x.dtype)
    if s.__class__ is np.ndarray:
        s /= n
    else:
        s = s / n
    return s.astype(x.dtype, copy=False)


MEAN = OpDef("mean", _mean_forward, shape_rule=reduction_rule("mean", _attr_dtype_or_input))


@MEAN.defgrad
def _mean_grad(ctx, g):
    shape = ctx.input_shape(0)
    dims = ctx.attrs["dims"]
    n = _count(shape, dims)
    g = _unreduce(g, shape, dims, ctx.attrs["keepdim"]).expand(shape)
    return g / n if n else g


def _mean_dtype_check(opname, input, dtype):
    if dtype is None:
        if input._data.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(
                f"{opname}: could not infer output dtype. Input dtype must be either a floating point or "
                f"complex dtype. Got: {input.dtype.name}"
            )
        return None
    d = _dt.as_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{opname}: dtype must be a floating point dtype, got {d.name}")
    return d


@method("mean")
def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Arithmetic mean over ``dim`` (None for all). Integer inputs need ``dtype=`` (as in PyTorch).

    Example:
        >>> ts.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(1)
        tensor([1.5000, 3.5000])
    """
    _check_tensor("mean", input)
    if dtype is not None or input._data.dtype.kind not in _FLOAT_KINDS:
        dtype = _mean_dtype_check("mean", input, dtype)
    dims = _rdims("mean", dim, input._data.ndim) if dim is not None else None
    return apply(MEAN, (input,), {"dims": dims, "keepdim": bool(keepdim), "dtype": dtype})


def _nanmean_forward(x, dims=None, keepdim=False, dtype=None):
    if dtype is not None and x.dtype != dtype.np:
        x = x.astype(dtype.np)
    nan = np.isnan(x)
    s = _nansum_forward(x, dims, keepdim, None)
    n = np.sum(~nan, axis=dims, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        if _is_half(x):
            return (s.astype(np.float32) / n).astype(x.dtype)
        return np.true_divide(s, n, dtype=s.dtype)


NANMEAN = OpDef("nanmean", _nanmean_forward, shape_rule=reduction_rule("nanmean", _attr_dtype_or_input))


@NANMEAN.defgrad
def _nanmean_grad(ctx, g):
    (x,) = ctx.saved
    shape = x._data.shape
    dims = ctx.attrs["dims"]
    ok = _ew.logical_not(_ew.isnan(x))
    n = apply(SUM, (ok,), {"dims": dims, "keepdim": True})
    g = _unreduce(g, shape, dims, ctx.attrs["keepdim"])
    return _ew.where(ok, g / n, _const(g, 0))


@method("nanmean")
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``mean`` ignoring NaN entries."""
    _check_tensor("nanmean", input)
    dtype = _mean_dtype_check("nanmean", input, dtype)
    dims = _rdims("nanmean", dim, input._data.ndim)
    return apply(NANMEAN, (input,), {"dims": dims, "keepdim": bool(keepdim), "dtype": dtype})


# -- var / std ----------------------------------------------------------------------------------------------
def _var_forward(x, dims=None, correction=1, keepdim=False):
    half = _is_half(x)
    xf = x.astype(np.float32) if half else x
    n = _count(x.shape, dims)
    if n == 0:
        shape = _kept_shape(x.shape, dims)
        if not keepdim:
            shape = tuple(s for i, s in enumerate(x.shape) if dims is not None and i not in dims)
        out = np.full(shape, np.nan, xf.dtype)
    else:
        m = _add_reduce(xf, axis=dims, keepdims=True)
        m /= n
        d = xf - m
        d *= d
        s = _add_reduce(d, axis=dims, keepdims=keepdim)
        div = n - correction
        if div > 0:
            out = s / div
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                out = s / 0.0
    return out.astype(x.dtype) if half else out


def _std_forward(x, dims=None, correction=1, keepdim=False):
    out = _var_forward(x, dims, correction, keepdim)
    return np.sqrt(out.astype(np.float32)).astype(x.dtype) if _is_half(x) else np.sqrt(out)


VAR = OpDef("var", _var_forward, shape_rule=reduction_rule("var"))
STD = OpDef("std", _std_forward, save_output=True, shape_rule=reduction_rule("std"))


def _var_backward(x, g, dims, correction, keepdim, scale):
    """d var / dx applied to ``g``, times ``scale`` (a Python number or a broadcastable tensor)."""
    shape = x._data.shape
    div = _bmax(_count(shape, dims) - correction, 0)
    centered = x - apply(MEAN, (x,), {"dims": dims, "keepdim": True, "dtype": None})
    g = _unreduce(g, shape, dims, keepdim)
    return g * scale * centered * ((1.0 / div) if div else math.inf)


@VAR.defgrad
def _var_grad(ctx, g):
    (x,) = ctx.saved
    a = ctx.attrs
    return _var_backward(x, g, a["dims"], a["correction"], a["keepdim"], 2.0)


@STD.defgrad
def _std_grad(ctx, g):
    (x,) = ctx.saved
    a = ctx.attrs
    shape, dims = x._data.shape, a["dims"]
    g = _unreduce(g, shape, dims, a["keepdim"]) / _unreduce(ctx.out, shape, dims, a["keepdim"])
    return _var_backward(x, g, dims, a["correction"], True, 1.0)


def _var_args(opname, input, dim, unbiased, keepdim, correction):
    _require_float(opname, input, "floating point (std and var only support floating point dtypes)")
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{opname}: got 'unbiased' twice (positionally as dim={dim} and by keyword)")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{opname}: cannot specify both 'correction' and 'unbiased'")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif not isinstance(correction, numbers.Real) or isinstance(correction, bool):
        raise TypeError(f"{opname}: 'correction' must be a number, got {type(correction).__name__}")
    dims = _rdims(opname, dim, input._data.ndim)
    return {"dims": dims, "correction": correction, "keepdim": bool(keepdim)}


@method("var")
def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (default 1; ``unbiased=False`` means 0).

    Example:
        >>> ts.tensor([1.0, 2.0, 3.0, 4.0]).var()
        tensor(1.6667)
    """
    return apply(VAR, (input,), _var_args("var", input, dim, unbiased, keepdim, correction))


@method("std")
def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation over ``dim`` (``sqrt`` of ``var`` with the same arguments)."""
    return apply(STD, (input,), _var_args("std", input, dim, unbiased, keepdim, correction))


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``, as ``torch.var_mean``."""
    attrs = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    m = apply(MEAN, (input,), {"dims": attrs["dims"], "keepdim": attrs["keepdim"], "dtype": None})
    return apply(VAR, (input,), attrs), m


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``, as ``torch.std_mean``."""
    attrs = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    m = apply(MEAN, (input,), {"dims": attrs["dims"], "keepdim": attrs["keepdim"], "dtype": None})
    return apply(STD, (input,), attrs), m


# -- max / min / amax / amin --------------------------------------------------------------------------------
def _amax_forward(x, dims=None, keepdim=False):
    return _max_reduce(x, axis=dims, keepdims=keepdim)


def _amin_forward(x, dims=None, keepdim=False):
    return _min_reduce(x, axis=dims, keepdims=keepdim)


def _extremum_grad(ctx, g):
    """Gradient of amax/amin over ``dims``: split evenly among the tied extreme entries (a NaN result
    gives NaN gradients, as in PyTorch)."""
    (x,) = ctx.saved
    a = ctx.attrs
    dims = a.get("dims")
    keepdim = a.get("keepdim", False)
    shape = x._data.shape
    out = _unreduce(ctx.out, shape, dims, keepdim)
    g = _unreduce(g, shape, dims, keepdim)
    return _spread(_eq(x, out), g, dims)


def _full_extremum_grad(ctx, g):
    """Gradient of max()/min()/median() without a dim: split evenly among the entries equal to the result,
    or among the NaN entries when the result is NaN (PyTorch's evenly_distribute_backward)."""
    (x,) = ctx.saved
    out = ctx.out
    mask = _eq(x, out)
    if out.dtype.is_floating_point:  # branch-free: a NaN result selects the NaN entries
        mask = _ew.logical_or(mask, _ew.logical_and(_ew.isnan(x), _ew.isnan(out)))
    return _spread(mask, g, None)


AMAX = OpDef("amax", _amax_forward, save_output=True, shape_rule=reduction_rule("amax"))
AMIN = OpDef("amin", _amin_forward, save_output=True, shape_rule=reduction_rule("amin"))
MAX_ALL = OpDef("max", _amax_forward, save_output=True, shape_rule=reduction_rule("max"))
MIN_ALL = OpDef("min", _amin_forward, save_output=True, shape_rule=reduction_rule("min"))
AMAX.defgrad(_extremum_grad)
AMIN.defgrad(_extremum_grad)
MAX_ALL.defgrad(_full_extremum_grad)
MIN_ALL.defgrad(_full_extremum_grad)


def _argext_forward(fn):
    def forward(x, dim=None, keepdim=False):
        if x.ndim == 0:
            return np.zeros((), np.int64)
        if dim is None:
            r = getattr(x.reshape(-1), fn)()
            return np.full((1,) * x.ndim, r, np.int64) if keepdim else np.asarray(r, np.int64)
        return getattr(x, fn)(axis=dim, keepdims=keepdim).astype(np.int64, copy=False)

    return forward


ARGMAX = OpDef("argmax", _argext_forward("argmax"), shape_rule=reduction_rule("argmax", _int64, "dim"))
ARGMIN = OpDef("argmin", _argext_forward("argmin"), shape_rule=reduction_rule("argmin", _int64, "dim"))


def _select_forward(x, idx, dim, keepdim=False):
    if x.ndim == 0:
        return x.copy()
    i = idx if keepdim else np.expand_dims(idx, dim)
    out = np.take_along_axis(x, i, axis=dim)
    return out if keepdim else np.squeeze(out, dim)


def _select_grad(ctx, g):
    x, idx = ctx.saved
    if x._data.ndim == 0:
        return g, None
    dim, keepdim = ctx.attrs["dim"], ctx.attrs["keepdim"]
    shape = x._data.shape
    if not keepdim:
        idx = idx.unsqueeze(dim)
        g = g.unsqueeze(dim)
    pos = _arange(shape[dim]).reshape(tuple(-1 if i == dim else 1 for i in range(len(shape))))
    return _ew.where(_eq(idx, pos), g, _const(g, 0)), None


def _reduce_select_forward(reduce):
    def forward(x, idx, dim, keepdim=False):
        # the values at ``idx`` (argmax/argmin, NaN-first) are the max/min themselves: reduce directly
        return x.copy() if x.ndim == 0 else reduce(x, axis=dim, keepdims=keepdim)

    return forward


def _select_op(name, backward_name, forward=_select_forward):
    """The values at ``indices`` along ``dim``: the differentiable half of max/min/median with a dim."""
    op = OpDef(name, forward, shape_rule=reduction_rule(name, None, "dim"))
    op.defgrad(_select_grad)
    op.backward_name = backward_name
    return op


SELECT_MAX = _select_op("max_dim", "MaxBackward0", _reduce_select_forward(_max_reduce))
SELECT_MIN = _select_op("min_dim", "MinBackward0", _reduce_select_forward(_min_reduce))
SELECT_MEDIAN = _select_op("median_dim", "MedianBackward1")
MAX_ALL.backward_name = "MaxBackward1"
MIN_ALL.backward_name = "MinBackward1"


def _ext_dim(opname, argop, selop, rt, input, dim, keepdim):
    nd = input._data.ndim
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{opname}: argument 'dim' must be int, not {type(dim).__name__}")
    d = canonical_dim(opname, dim, nd)
    if nd and input._data.shape[d] == 0:
        _check_nonempty(opname, input, (d,))
    attrs = {"dim": d, "keepdim": bool(keepdim)}
    idx = apply(argop, (input,), attrs)
    return rt(apply(selop, (input, idx), attrs), idx)


def _max_min(opname, allop, argop, selop, other_fn, rt, input, dim, keepdim, other):
    _check_tensor(opname, input)
    if other is not None or isinstance(dim, Tensor):
        o = other if other is not None else dim
        return other_fn(input, o)
    if dim is None:
        if keepdim:
            raise TypeError(f"{opname}: keepdim=True needs a dim (use amax/amin for a full reduction)")
        if input._data.size == 0:
            _check_nonempty(opname, input, None)
        return apply(allop, (input,), {"dims": None, "keepdim": False})
    return _ext_dim(opname, argop, selop, rt, input, dim, keepdim)


@method("max")
def max(input, dim=None, keepdim: bool = False, *, other=None):
    """Largest value: with no ``dim`` the full reduction; with an int ``dim`` a named tuple
    ``(values, indices)``; with a tensor second argument the elementwise ``maximum``.

    Example:
        >>> ts.tensor([[1.0, 5.0], [3.0, 2.0]]).max(dim=1)
        max(values=tensor([5., 3.]), indices=tensor([1, 0]))
    """
    return _max_min("max", MAX_ALL, ARGMAX, SELECT_MAX, _ew_maximum, _RT_MAX, input, dim, keepdim, other)


@method("min")
def min(input, dim=None, keepdim: bool = False, *, other=None):
    """Smallest value; same forms as ``max`` (full, ``(values, indices)`` along ``dim``, elementwise)."""
    return _max_min("min", MIN_ALL, ARGMIN, SELECT_MIN, _ew_minimum, _RT_MIN, input, dim, keepdim, other)


def _ew_maximum(a, b):
    return _ew.maximum(a, b)


def _ew_minimum(a, b):
    return _ew.minimum(a, b)


def _amax_amin(opname, op, input, dim, keepdim):
    _check_tensor(opname, input)
    dims = _rdims(opname, dim, input._data.ndim)
    if input._data.size == 0:
        _check_nonempty(opname, input, dims)
    return apply(op, (input,), {"dims": dims, "keepdim": bool(keepdim)})


@method("amax")
def amax(input, dim=(), keepdim: bool = False):
    """Maximum over ``dim`` (int, tuple, or ``()``/None for all). The gradient is split evenly among ties."""
    return _amax_amin("amax", AMAX, input, dim, keepdim)


@method("amin")
def amin(input, dim=(), keepdim: bool = False):
    """Minimum over ``dim`` (int, tuple, or ``()``/None for all). The gradient is split evenly among ties."""
    return _amax_amin("amin", AMIN, input, dim, keepdim)


@method("aminmax")
def aminmax(input, *, dim=None, keepdim: bool = False):
    """Named tuple ``(min, max)`` over ``dim`` (an int) or over all elements."""
    _check_tensor("aminmax", input)
    if dim is not None and (not isinstance(dim, numbers.Integral) or isinstance(dim, bool)):
        raise TypeError(f"aminmax: argument 'dim' must be int, not {type(dim).__name__}")
    return _RT_AMINMAX(
        _amax_amin("aminmax", AMIN, input, dim, keepdim), _amax_amin("aminmax", AMAX, input, dim, keepdim)
    )


def _argext(opname, op, input, dim, keepdim):
    _check_tensor(opname, input)
    if input._data.dtype == np.bool_:
        raise RuntimeError(f"{opname}: does not support bool input")
    nd = input._data.ndim
    if dim is None:
        if input._data.size == 0:
            _check_nonempty(opname, input, None)
        return apply(op, (input,), {"dim": None, "keepdim": bool(keepdim)})
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{opname}: argument 'dim' must be int, not {type(dim).__name__}")
    d = canonical_dim(opname, dim, nd)
    if nd and input._data.shape[d] == 0:
        _check_nonempty(opname, input, (d,))
    return apply(op, (input,), {"dim": d, "keepdim": bool(keepdim)})


@method("argmax")
def argmax(input, dim=None, keepdim: bool = False):
    """Index (int64) of the largest value along ``dim``; of the flattened tensor when ``dim`` is None.
    Ties give the first occurrence; NaN counts as the largest value."""
    return _argext("argmax", ARGMAX, input, dim, keepdim)


@method("argmin")
def argmin(input, dim=None, keepdim: bool = False):
    """Index (int64) of the smallest value along ``dim`` (flattened when ``dim`` is None)."""
    return _argext("argmin", ARGMIN, input, dim, keepdim)


# -- median -------------------------------------------------------------------------------------------------
def _median_all_forward(x):
    flat = x.reshape(-1)
    if flat.size == 0:
        return np.array(np.nan, x.dtype)
    if flat.dtype.kind in _FLOAT_KINDS and np.isnan(flat).any():
        return np.array(np.nan, x.dtype)
    return np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]


MEDIAN = OpDef("median", _median_all_forward, save_output=True, shape_rule=lambda x: TensorMeta((), x.dtype))
MEDIAN.defgrad(_full_extremum_grad)


def _median_idx_forward(x, dim, keepdim=False):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    n = x.shape[dim]
    order = np.argsort(x, axis=dim, kind="stable")
    idx = np.take(order, [(n - 1) // 2], axis=dim)
    if x.dtype.kind in _FLOAT_KINDS:
        nan = np.isnan(x)
        has = nan.any(axis=dim, keepdims=True)
        if has.any():
            idx = np.where(has, np.argmax(nan, axis=dim, keepdims=True), idx)
    idx = idx.astype(np.int64, copy=False)
    return idx if keepdim else np.squeeze(idx, dim)


MEDIAN_IDX = OpDef(
    "median_indices", _median_idx_forward, shape_rule=reduction_rule("median_indices", _int64, "dim")
)


@method("median")
def median(input, dim=None, keepdim: bool = False):
    """Lower median: of all elements (a tensor) when ``dim`` is None, else a named tuple
    ``(values, indices)`` along ``dim``. NaN propagates."""
    _check_tensor("median", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("median: not implemented for bool input")
    if dim is None:
        return apply(MEDIAN, (input,))
    return _ext_dim("median", MEDIAN_IDX, SELECT_MEDIAN, _RT_MEDIAN, input, dim, keepdim)


def _nanmedian_all_forward(x):
    flat = x.reshape(-1)
    if flat.dtype.kind in _FLOAT_KINDS:
        flat = flat[~np.isnan(flat)]
    if flat.size == 0:
        return np.array(np.nan, x.dtype)
    return np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]


NANMEDIAN = OpDef(
    "nanmedian", _nanmedian_all_forward, save_output=True, shape_rule=lambda x: TensorMeta((), x.dtype)
)
NANMEDIAN.defgrad(_full_extremum_grad)


def _nanmedian_idx_forward(x, dim, keepdim=False):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    order = np.argsort(x.astype(np.float32) if x.dtype.kind == "V" else x, axis=dim, kind="stable")
    valid = (~np.isnan(x)).sum(axis=dim, keepdims=True) if x.dtype.kind in _FLOAT_KINDS else x.shape[dim]
    pos = np.maximum((np.asarray(valid) - 1) // 2, 0)  # NaN sorts last: the median of the others
    pos = np.broadcast_to(pos, tuple(1 if i == dim else s for i, s in enumerate(x.shape)))
    idx = np.take_along_axis(order, pos, axis=dim).astype(np.int64, copy=False)
    return idx if keepdim else np.squeeze(idx, dim)


NANMEDIAN_IDX = OpDef(
    "nanmedian_indices",
    _nanmedian_idx_forward,
    shape_rule=reduction_rule("nanmedian_indices", _int64, "dim"),
)


@method("nanmedian")
def nanmedian(input, dim=None, keepdim: bool = False):
    """``median`` ignoring NaN values: the lower median of the non-NaN elements (NaN when there are
    none), of all elements when ``dim`` is None, else a named tuple ``(values, indices)`` along ``dim``.

    Example:
        >>> ts.nanmedian(ts.tensor([1.0, float("nan"), 3.0, 2.0]))
        tensor(2.)
    """
    _check_tensor("nanmedian", input)
    if input._data.dtype == np.bool_:
        raise NotImplementedError("nanmedian: \"median_out\" not implemented for 'Bool'")
    if dim is None:
        return apply(NANMEDIAN, (input,))
    return _ext_dim("nanmedian", NANMEDIAN_IDX, SELECT_MEDIAN, _RT_NANMEDIAN, input, dim, keepdim)


# -- prod ---------------------------------------------------------------------------------------------------
def _prod_forward(x, dims=None, keepdim=False, dtype=None):
    if dtype is not None:
        acc = dtype.np
    elif x.dtype.kind in "biu":
        acc = np.int64
    elif _is_half(x):
        return _mul_reduce(x, axis=dims, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    else:
        acc = None
    return _mul_reduce(x, axis=dims, keepdims=keepdim, dtype=acc)


PROD = OpDef("prod", _prod_forward, save_output=True, shape_rule=reduction_rule("prod", _int64_unless_float))


@PROD.defgrad
def _prod_grad(ctx, g):
    # d prod / dx_i = product of the other entries. Without zeros that is out / x_i, as PyTorch computes it;
    # with a zero anywhere it is (exclusive cumprod from the left) * (exclusive cumprod from the right) over
    # the reduced entries, which stays exact when differentiated again (PyTorch's
    # prod_safe_zeros_backward). Both are computed and ``where`` picks one, so no Python branch reads values;
    # the division uses a zero-free divisor so the branch not taken stays finite in double backward.
    (x,) = ctx.saved
    a = ctx.attrs
    dims = a["dims"]
    shape = x.shape
    g = _unreduce(g, shape, dims, a["keepdim"])
    if not x.ndim:
        return g
    nd = len(shape)
    red = tuple(range(nd)) if dims is None else dims
    keep = tuple(i for i in range(nd) if i not in red)
    perm = keep + red
    xt = x.permute(perm) if perm != tuple(range(nd)) else x
    xt = xt.reshape(tuple(shape[i] for i in keep) + (math.prod(shape[i] for i in red),))
    excl = {"dim": len(keep), "dtype": None, "reverse": False, "exclusive": True}
    left = apply(CUMPROD, (xt,), excl)
    right = apply(CUMPROD, (xt,), dict(excl, reverse=True))
    others = (left * right).reshape(tuple(shape[i] for i in perm))
    if perm != tuple(range(nd)):
        others = others.permute(tuple(int(i) for i in np.argsort(perm)))
    is0 = _eq(x, _const(x, 0))
    has_zero = apply(ANY, (is0,), {"dims": None, "keepdim": False})
    divisor = _ew.where(is0, _const(x, 1), x)
    by_division = g * _unreduce(ctx.out, shape, dims, a["keepdim"]) / divisor
    return _ew.where(has_zero, g * others, by_division)


@method("prod")
def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Product over ``dim`` (an int) or all elements; ints and bools give int64. The gradient is exact
    when some entries are zero."""
    _check_tensor("prod", input)
    if dim is None:
        dims = None
    else:
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise TypeError(f"prod: argument 'dim' must be int, not {type(dim).__name__}")
        dims = _rdims("prod", dim, input._data.ndim)
    return apply(PROD, (input,), {"dims": dims, "keepdim": bool(keepdim), "dtype": _as_dtype(dtype)})


# -- logsumexp / softmax / log_softmax ----------------------------------------------------------------------
def _logsumexp_forward(x, dims=None, keepdim=False):
    half = _is_half(x)
    xf = x.astype(np.float32) if half else x
    m = _max_reduce(xf, axis=dims, keepdims=True, initial=-np.inf)
    finite = np.isfinite(m)
    if finite.all():  # then every exp(x - m) <= 1 and their sum >= 1: no overflow, no log(0)
        out = np.log(_add_reduce(np.exp(xf - m), axis=dims, keepdims=True))
        out += m
    else:
        m = np.where(finite, m, np.zeros((), m.dtype))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.log(_add_reduce(np.exp(xf - m), axis=dims, keepdims=True)) + m
    if not keepdim:
        out = out.reshape(tuple(s for i, s in enumerate(out.shape) if dims is not None and i not in dims))
    return out.astype(x.dtype) if half else out


LOGSUMEXP = OpDef(
    "logsumexp",
    _logsumexp_forward,
    to_float=True,
    save_output=True,
    shape_rule=reduction_rule(
        "logsumexp", lambda d, attrs: d if d.is_floating_point else _dt.get_default_dtype()
    ),
)


@LOGSUMEXP.defgrad
def _logsumexp_grad(ctx, g):
    (x,) = ctx.saved
    a = ctx.attrs
    shape = x._data.shape
    out = _unreduce(ctx.out, shape, a["dims"], a["keepdim"])
    return _unreduce(g, shape, a["dims"], a["keepdim"]) * _ew.exp(x - out)


@method("logsumexp")
def logsumexp(input, dim, keepdim: bool = False):
    """``log(sum(exp(input), dim))`` computed stably; integer inputs give the default float dtype.

    Example:
        >>> ts.tensor([0.0, 0.0]).logsumexp(0)
        tensor(0.6931)
    """
    _check_tensor("logsumexp", input)
    dims = _rdims("logsumexp", dim, input._data.ndim)
    return apply(LOGSUMEXP, (input,), {"dims": dims, "keepdim": bool(keepdim)})


def _softmax_forward(x, dims=None):
    if x.ndim == 0 or x.size == 0:
        return _softmax_forward(x.reshape(1), (0,)).reshape(()) if x.ndim == 0 else x.copy()
    half = _is_half(x)
    xf = x.astype(np.float32) if half else x
    e = xf - _max_reduce(xf, axis=dims, keepdims=True)  # a row of all -inf gives NaN, as in PyTorch
    np.exp(e, out=e)
    e /= _add_reduce(e, axis=dims, keepdims=True)
    return e.astype(x.dtype) if half else e


def _log_softmax_forward(x, dims=None):
    if x.ndim == 0 or x.size == 0:
        return _log_softmax_forward(x.reshape(1), (0,)).reshape(()) if x.ndim == 0 else x.copy()
    half = _is_half(x)
    xf = x.astype(np.float32) if half else x
    s = xf - _max_reduce(xf, axis=dims, keepdims=True)
    s -= np.log(_add_reduce(np.exp(s), axis=dims, keepdims=True))
    return s.astype(x.dtype) if half else s


SOFTMAX = OpDef("softmax", _softmax_forward, save_output=True, shape_rule=unary_rule("softmax"))
LOG_SOFTMAX = OpDef(
    "log_softmax", _log_softmax_forward, save_output=True, shape_rule=unary_rule("log_softmax")
)


@SOFTMAX.defgrad
def _softmax_grad(ctx, g):
    y = ctx.out
    dims = ctx.attrs["dims"]
    return y * (g - apply(SUM, (g * y,), {"dims": dims, "keepdim": True}))


@LOG_SOFTMAX.defgrad
def _log_softmax_grad(ctx, g):
    y = ctx.out
    dims = ctx.attrs["dims"]
    return g - _ew.exp(y) * apply(SUM, (g,), {"dims": dims, "keepdim": True})


def _softmax_args(opname, input, dim, dtype):
    _check_tensor(opname, input)
    if dtype is not None:
        input = input.to(_dt.as_dtype(dtype))
    elif input._data.dtype.kind not in _FLOAT_KINDS:
        raise NotImplementedError(
            f"{opname}: not implemented for {input.dtype.name} input (pass a floating dtype=)"
        )
    nd = input._data.ndim
    if dim is None:
        warnings.warn(
            f"{opname}: implicit dimension choice has been deprecated; pass dim explicitly",
            UserWarning,
            stacklevel=3,
        )
        dim = 0 if nd in (0, 1, 3) else 1
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{opname}: argument 'dim' must be int, not {type(dim).__name__}")
    d = canonical_dim(opname, dim, nd)
    return input, {"dims": (d,) if nd else None}


@method("softmax")
def softmax(input, dim=None, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably (``dtype`` casts the input first).

    Example:
        >>> ts.tensor([0.0, 0.0]).softmax(0)
        tensor([0.5000, 0.5000])
    """
    input, attrs = _softmax_args("softmax", input, dim, dtype)
    return apply(SOFTMAX, (input,), attrs)


@method("log_softmax")
def log_softmax(input, dim=None, dtype=None):
    """``log(softmax(input, dim))`` computed stably (``dtype`` casts the input first)."""
    input, attrs = _softmax_args("log_softmax", input, dim, dtype)
    return apply(LOG_SOFTMAX, (input,), attrs)


# -- cumsum / cumprod ---------------------------------------------------------------------------------------
def _cum_dtype(x, dtype):
    if dtype is not None:
        return dtype.np
    if x.dtype.kind in "biu":
        return np.dtype(np.int64)
    return x.dtype


def _scan(fn, identity, x, dim, dtype, reverse, exclusive):
    """``fn`` (``np.add.accumulate``...) along ``dim``, optionally right-to-left and/or exclusive (each
    entry combines only the entries strictly before it; the first gets ``identity``)."""
    target = _cum_dtype(x, dtype)
    if x.ndim == 0:
        return np.full((), identity, target) if exclusive else x.astype(target)
    acc = np.float32 if target.kind in _FLOAT_KINDS and target.itemsize == 2 else target
    if reverse:
        x = np.flip(x, dim)
    out = fn(x, axis=dim, dtype=acc)
    if exclusive and out.shape[dim]:
        shifted = np.full(out.shape, identity, out.dtype)
        dst = [slice(None)] * x.ndim
        src = [slice(None)] * x.ndim
        dst[dim], src[dim] = slice(1, None), slice(None, -1)
        shifted[tuple(dst)] = out[tuple(src)]
        out = shifted
    if reverse:
        out = np.flip(out, dim)
    return out.astype(target, copy=False)


def _cumsum_forward(x, dim, dtype=None, reverse=False, exclusive=False):
    return _scan(np.add.accumulate, 0, x, dim, dtype, reverse, exclusive)


def _cumprod_forward(x, dim, dtype=None, reverse=False, exclusive=False):
    return _scan(np.multiply.accumulate, 1, x, dim, dtype, reverse, exclusive)


# Internal attrs ``reverse`` / ``exclusive`` give the transposed scans the gradients need.
def _cum_shape(x, dim, dtype=None, reverse=False, exclusive=False):
    return TensorMeta(x.shape, _int64_unless_float(x.dtype, {"dtype": dtype}))


CUMSUM = OpDef("cumsum", _cumsum_forward, shape_rule=_cum_shape)
CUMPROD = OpDef("cumprod", _cumprod_forward, save_output=True, shape_rule=_cum_shape)


def _transposed_cumsum(t, attrs):
    """The adjoint of the scan described by ``attrs``: the same scan run in the other direction."""
    rev = not attrs.get("reverse", False)
    return apply(
        CUMSUM,
        (t,),
        {"dim": attrs["dim"], "dtype": None, "reverse": rev, "exclusive": attrs.get("exclusive", False)},
    )


@CUMSUM.defgrad
def _cumsum_grad(ctx, g):
    return _transposed_cumsum(g, ctx.attrs)


def _cumprod_grad_forward_inclusive(x, g, out, dim):
    """Gradient of an inclusive left-to-right cumprod ``out`` of ``x`` along ``dim``, exact with zeros.

    grad_i = sum_{k >= i} g_k * prod_{j <= k, j != i} x_j. Before the first zero of a slice that is
    ``revcumsum(g * out)_i / x_i`` (the divisor is non-zero there); at the first zero it is
    ``revcumsum(g * cumprod(x with that zero replaced by one))_i``; after it, every term has a zero factor.
    Masks select the three cases (no value-dependent Python branch), and every division is by a non-zero.
    Its derivative is not cumprod's second derivative where x has zeros: see ``_cumprod_grad_exact``."""
    is0 = _eq(x, _const(x, 0))
    seen = _inclusive_cumsum(is0, dim)  # zeros at or before each position
    before = _eq(seen, 0)
    first = _ew.logical_and(is0, _eq(seen, 1))
    one = _const(x, 1)
    a = _reverse_cumsum(g * out, dim) / _ew.where(before, x, one)
    b = _reverse_cumsum(g * apply(CUMPROD, (_ew.where(first, one, x),), _scan_attrs(dim)), dim)
    return _ew.where(before, a, _ew.where(first, b, _const(x, 0)))


def _scan_attrs(dim, reverse=False, exclusive=False):
    return {"dim": dim, "dtype": None, "reverse": reverse, "exclusive": exclusive}


def _inclusive_cumsum(t, dim):
    return apply(CUMSUM, (t,), _scan_attrs(dim))


def _reverse_cumsum(t, dim):
    return apply(CUMSUM, (t,), _scan_attrs(dim, reverse=True))


def _cumprod_grad_exact(x, g, out, attrs):
    """Gradient of a cumprod that stays exact when differentiated again, zeros included: for every i the
    scan of x with x_i replaced by one (an n x n matrix per slice), so no division is needed. Used when
    a graph of the gradient is recorded (as PyTorch's O(n^2) formula under create_graph)."""
    dim = attrs["dim"]
    nd = x.ndim
    n = x.shape[dim]
    xt = x.transpose(dim, -1) if dim != nd - 1 else x
    ar = _arange(n)
    eye = _eq(ar.reshape(n, 1), ar.reshape(1, n))
    scan = _scan_attrs(nd, attrs.get("reverse", False), attrs.get("exclusive", False))
    others = apply(CUMPROD, (_ew.where(eye, _const(x, 1), xt.unsqueeze(-2)),), scan)  # [..., i, k]
    member = apply(CUMSUM, (eye,), dict(scan, dim=1))  # 1 where output k includes input i
    gt = g.transpose(dim, -1) if dim != nd - 1 else g
    res = apply(SUM, (member * gt.unsqueeze(-2) * others,), {"dims": (nd,), "keepdim": False})
    res = res.transpose(dim, -1) if dim != nd - 1 else res
    # Without zeros, PyTorch's (and the first-order) formula: divide by x (made zero-free, so the branch
    # that ``where`` drops stays finite in a further backward).
    is0 = _eq(x, _const(x, 0))
    has_zero = apply(ANY, (is0,), {"dims": None, "keepdim": False})
    by_division = _transposed_cumsum(g * out, attrs) / _ew.where(is0, _const(x, 1), x)
    return _ew.where(has_zero, res, by_division)


@CUMPROD.defgrad
def _cumprod_grad(ctx, g):
    (x,) = ctx.saved
    a = ctx.attrs
    exclusive, reverse = a.get("exclusive", False), a.get("reverse", False)
    if x.ndim == 0:
        return g * 0 if exclusive else g
    dim = a["dim"]
    n = x.shape[dim]
    if n == 0:
        return g
    if _GRAD.enabled:  # create_graph: the gradient itself must be differentiable exactly
        return _cumprod_grad_exact(x, g, ctx.out, a)
    # First order, O(n): a reversed scan is the forward scan of the flipped input; an exclusive scan is the
    # inclusive scan of the input shifted by one (a leading 1, the last entry dropped), whose last entry gets
    # no gradient.
    out = ctx.out
    if reverse:
        x, g, out = (apply(_sh.FLIP, (t,), {"dims": (dim,)}) for t in (x, g, out))
    if exclusive:
        edge = tuple(1 if i == dim else s for i, s in enumerate(x.shape))
        ones = _const(x, 1).reshape((1,) * x.ndim).expand(edge)
        shifted = _sh.cat((ones, x.narrow(dim, 0, n - 1)), dim)
        gs = _cumprod_grad_forward_inclusive(shifted, g, out, dim)
        gx = _sh.cat((gs.narrow(dim, 1, n - 1), _zeros_like(ones)), dim)
    else:
        gx = _cumprod_grad_forward_inclusive(x, g, out, dim)
    return apply(_sh.FLIP, (gx,), {"dims": (dim,)}) if reverse else gx


def _cum_args(opname, input, dim, dtype):
    _check_tensor(opname, input)
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{opname}: argument 'dim' must be int, not {type(dim).__name__}")
    return {"dim": canonical_dim(opname, dim, input._data.ndim), "dtype": _as_dtype(dtype)}


@method("cumsum")
def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``; ints and bools accumulate in int64.

    Example:
        >>> ts.tensor([1.0, 2.0, 3.0]).cumsum(0)
        tensor([1., 3., 6.])
    """
    return apply(CUMSUM, (input,), _cum_args("cumsum", input, dim, dtype))


@method("cumprod")
def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``; the gradient is exact when entries are zero."""
    return apply(CUMPROD, (input,), _cum_args("cumprod", input, dim, dtype))


# -- all / any / count_nonzero ------------------------------------------------------------------------------
def _logical_forward(fn):
    def forward(x, dims=None, keepdim=False):
        out = fn(x, axis=dims, keepdims=keepdim)
        return np.asarray(out, np.uint8) if x.dtype == np.uint8 else out

    return forward


def _bool_unless_uint8(d, attrs):
    return _dt.uint8 if d is _dt.uint8 else _dt.bool


ALL = OpDef("all", _logical_forward(np.all), shape_rule=reduction_rule("all", _bool_unless_uint8))
ANY = OpDef("any", _logical_forward(np.any), shape_rule=reduction_rule("any", _bool_unless_uint8))


def _logical(opname, op, input, dim, keepdim):
    _check_tensor(opname, input)
    if dim is None:
        dims = None
    else:
        if not isinstance(dim, (numbers.Integral, tuple, list)) or isinstance(dim, bool):
            raise TypeError(
                f"{opname}: argument 'dim' must be an int or a tuple of ints, not {type(dim).__name__}"
            )
        dims = canonical_dims(opname, dim, input._data.ndim)
        if input._data.ndim == 0:
            dims = None
    return apply(op, (input,), {"dims": dims, "keepdim": bool(keepdim)})


@method("all")
def all(input, dim=None, keepdim: bool = False):
    """True where every element along ``dim`` is non-zero (bool result; uint8 inputs give uint8)."""
    return _logical("all", ALL, input, dim, keepdim)


@method("any")
def any(input, dim=None, keepdim: bool = False):
    """True where some element along ``dim`` is non-zero (bool result; uint8 inputs give uint8)."""
    return _logical("any", ANY, input, dim, keepdim)


def _count_nonzero_forward(x, dims=None):
    return np.asarray(np.count_nonzero(x, axis=dims), np.int64)


COUNT_NONZERO = OpDef(
    "count_nonzero", _count_nonzero_forward, shape_rule=reduction_rule("count_nonzero", _int64)
)


@method("count_nonzero")
def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (an int, a tuple, or None for all), as int64."""
    _check_tensor("count_nonzero", input)
    return apply(COUNT_NONZERO, (input,), {"dims": _rdims("count_nonzero", dim, input._data.ndim)})


# -- norm ---------------------------------------------------------------------------------------------------
def _norm_forward(x, p=2.0, dims=None, keepdim=False):
    half = _is_half(x)
    xf = x.astype(np.float32) if half else x
    if p == 2.0:
        out = np.sqrt(_add_reduce(xf * xf, axis=dims, keepdims=keepdim))
    elif p == 1.0:
        out = _add_reduce(np.abs(xf), axis=dims, keepdims=keepdim)
    elif p == math.inf:
        out = _max_reduce(np.abs(xf), axis=dims, keepdims=keepdim)
    elif p == -math.inf:
        out = _min_reduce(np.abs(xf), axis=dims, keepdims=keepdim)
    elif p == 0.0:
        out = _add_reduce(xf != 0, axis=dims, keepdims=keepdim, dtype=xf.dtype)
    else:
        with np.errstate(over="ignore", divide="ignore"):
            out = np.power(_add_reduce(np.power(np.abs(xf), p), axis=dims, keepdims=keepdim), 1.0 / p)
    out = np.asarray(out, xf.dtype)
    return out.astype(x.dtype) if half else out


NORM = OpDef("norm", _norm_forward, save_output=True, shape_rule=reduction_rule("norm"))


@NORM.defgrad
def _norm_grad(ctx, g):
    (x,) = ctx.saved
    a = ctx.attrs
    p, dims = a["p"], a["dims"]
    shape = x._data.shape
    g = _unreduce(g, shape, dims, a["keepdim"])
    if p == 0.0:
        return _zeros_like(x)
    if p == 1.0:
        return g * _ew.sign(x)
    out = _unreduce(ctx.out, shape, dims, a["keepdim"])
    if p == math.inf or p == -math.inf:
        return _spread(_eq(_ew.abs(x), out), g * _ew.sign(x), dims)
    zero = _const(out, 0)
    is0 = _eq(out, zero)
    safe = _ew.where(is0, _const(out, 1), out)
    if p == 2.0:
        return x * _ew.where(is0, zero, g / safe)
    scale = _ew.where(is0, zero, g / _ew.pow(safe, p - 1.0))
    return _ew.sign(x) * _ew.pow(_ew.abs(x), p - 1.0) * scale


@method("norm")
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None): ``p`` = 2 / 'fro' (default), 1, inf, -inf, 0
    (count of non-zeros) or any other number. The gradient at a zero norm is zero, as in PyTorch."""
    _check_tensor("norm", input)
    if dtype is not None:
        input = input.to(_dt.as_dtype(dtype))
    if input._data.dtype.kind not in _FLOAT_KINDS:
        raise RuntimeError(f"norm: expected a floating point tensor as input, got {input.dtype.name}")
    if isinstance(p, str):
        if p != "fro":
            raise NotImplementedError(f"norm: p={p!r} is not supported (use 'fro' or a number)")
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"norm: p='fro' needs dim of at most 2 dims, got {tuple(dim)}")
        p = 2.0
    elif p is None:
        p = 2.0
    elif not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"norm: argument 'p' must be a number or 'fro', not {type(p).__name__}")
    dims = _rdims("norm", dim, input._data.ndim)
    p = float(p)
    if (p == math.inf or p == -math.inf) and input._data.size == 0:
        raise RuntimeError(
            "norm: cannot compute the inf norm on an empty tensor because the operation "
            "does not have an identity"
        )
    return apply(NORM, (input,), {"p": p, "dims": dims, "keepdim": bool(keepdim)})


# -- reference decompositions of the fused kernels (test oracles; what a compiler may lower instead) --------
def _red(op, x, dims, keepdim=True):
    return apply(op, (x,), {"dims": dims, "keepdim": keepdim})


@SOFTMAX.defdecompose
def _softmax_ref(x, dims=None):
    e = _ew.exp(x - _red(AMAX, x, dims))
    return e / _red(SUM, e, dims)


@LOG_SOFTMAX.defdecompose
def _log_softmax_ref(x, dims=None):
    s = x - _red(AMAX, x, dims)
    return s - _ew.log(_red(SUM, _ew.exp(s), dims))


@LOGSUMEXP.defdecompose
def _logsumexp_ref(x, dims=None, keepdim=False):
    m = _red(AMAX, x, dims)
    out = _ew.log(_red(SUM, _ew.exp(x - m), dims)) + m
    return out if keepdim else out.reshape(_reduced_shape(x.shape, dims, False))


@VAR.defdecompose
def _var_ref(x, dims=None, correction=1, keepdim=False):
    d = x - _red(MEAN, x, dims)
    n = _count(x.shape, dims)
    return _red(SUM, d * d, dims, keepdim) / _bmax(n - correction, 0)


@STD.defdecompose
def _std_ref(x, dims=None, correction=1, keepdim=False):
    return _ew.sqrt(_var_ref(x, dims, correction, keepdim))


@SUM_TO_SIZE.defdecompose
def _sum_to_size_ref(x, shape):
    lead = x.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    return _red(SUM, x, dims or None).reshape(shape) if dims else x.reshape(shape)


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
def _onnx_reduction(onnx_op, cast_first=True):
    def lower(g, x, dims=None, keepdim=False, dtype=None):
        out_dt = g.node.outputs[0].dtype
        if cast_first:
            x = g.tensor(x, out_dt)
        return g.reduce(onnx_op, x, dims, keepdim)

    return lower


for _op, _onnx_op in {
    SUM: "ReduceSum",
    MEAN: "ReduceMean",
    AMAX: "ReduceMax",
    AMIN: "ReduceMin",
    MAX_ALL: "ReduceMax",
    MIN_ALL: "ReduceMin",
    PROD: "ReduceProd",
    LOGSUMEXP: "ReduceLogSumExp",
}.items():
    _op.defonnx(_onnx_reduction(_onnx_op))


def _onnx_reduced_count(g, x, dims):
    shape = g.shape(x)
    dims = range(len(shape)) if dims is None else dims
    if g.dyn(x).intersection(d % len(shape) for d in dims):  # (``any`` is this module's reduction)
        g.fail("a variance over a dynamic axis is not supported")
    return math.prod(shape[d] for d in dims)


@VAR.defonnx
def _var_onnx(g, x, dims=None, correction=1, keepdim=False):
    dt = g.node.outputs[0].dtype
    d = g.op("Sub", x, g.reduce("ReduceMean", x, dims, True))
    ss = g.reduce("ReduceSum", g.op("Mul", d, d), dims, keepdim)
    n = _onnx_reduced_count(g, x, dims) - correction
    n = n if n > 0 else 0  # (``max`` is this module's reduction)
    return g.op("Div", ss, g.const(n, dt))


@STD.defonnx
def _std_onnx(g, x, dims=None, correction=1, keepdim=False):
    return g.op("Sqrt", _var_onnx(g, x, dims, correction, keepdim))


def _onnx_argext(onnx_op):
    def lower(g, x, dim=None, keepdim=False):
        if dim is None:
            flat = g.op("Reshape", x, g.ints([-1]))
            r = g.op(onnx_op, flat, axis=0, keepdims=0)
            return g.op("Reshape", r, g.ints([1] * g.ndim(x))) if keepdim else r
        return g.op(onnx_op, x, axis=dim, keepdims=int(keepdim))

    return lower


ARGMAX.defonnx(_onnx_argext("ArgMax"))
ARGMIN.defonnx(_onnx_argext("ArgMin"))


def _onnx_softmax(onnx_op):
    def lower(g, x, dims=None):
        if dims is None or len(dims) != 1:
            g.fail(f"softmax over dims {dims} (ONNX takes one axis)")
        return g.op(onnx_op, x, axis=dims[0])

    return lower


SOFTMAX.defonnx(_onnx_softmax("Softmax"))
LOG_SOFTMAX.defonnx(_onnx_softmax("LogSoftmax"))


@CUMSUM.defonnx
def _cumsum_onnx(g, x, dim, dtype=None, reverse=False, exclusive=False):
    x = g.tensor(x, g.node.outputs[0].dtype)
    return g.op("CumSum", x, g.const(np.int64(dim)), reverse=int(reverse), exclusive=int(exclusive))


def _onnx_select_ext(onnx_op):
    def lower(g, x, idx, dim, keepdim=False):
        return g.reduce(onnx_op, x, [dim], keepdim)

    return lower


SELECT_MAX.defonnx(_onnx_select_ext("ReduceMax"))
SELECT_MIN.defonnx(_onnx_select_ext("ReduceMin"))


@NORM.defonnx
def _norm_onnx(g, x, p=2.0, dims=None, keepdim=False):
    if p == 2.0:
        return g.reduce("ReduceL2", x, dims, keepdim)
    if p == 1.0:
        return g.reduce("ReduceL1", x, dims, keepdim)
    if p in (math.inf, -math.inf):
        return g.reduce("ReduceMax" if p > 0 else "ReduceMin", g.op("Abs", x), dims, keepdim)
    if p == 0.0:
        dt = g.dtype(x)
        nz = g.cast(g.op("Not", g.op("Equal", x, g.const(0, dt))), dt)
        return g.reduce("ReduceSum", nz, dims, keepdim)
    dt = g.dtype(x)
    s = g.reduce("ReduceSum", g.op("Pow", g.op("Abs", x), g.const(p, dt)), dims, keepdim)
    return g.op("Pow", s, g.const(1.0 / p, dt))
