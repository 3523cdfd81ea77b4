"""Sorting and selection ops: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``unique`` and friends.

The selecting ops (``sort``, ``topk``, ``kthvalue``, ``mode``, ``cummax``/``cummin``) are split in two, as
``max(dim)`` is: an op computing the int64 indices (no gradient), and ``gather`` picking the values at them,
whose gradient scatters ``g`` back to the chosen positions. Quantiles and ``diff`` are compositions of
existing ops. Counting ops (``unique``, ``bincount``, ``histc``, ``histogram``, ``searchsorted``) have no
gradient; ``unique`` and ``bincount`` have value-dependent output shapes (``data_dependent``).

NaN orders as PyTorch's: it sorts as the largest value (last ascending, first descending).
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, is_tracing
from ..core.tensor import Tensor
from . import elementwise as _ew
from . import shape as _sh
from ._util import apply, canonical_dim, check_tensor, method, reduced_shape
from .indexing import GATHER

__all__ = [
    "sort",
    "argsort",
    "msort",
    "topk",
    "kthvalue",
    "mode",
    "quantile",
    "nanquantile",
    "unique",
    "unique_consecutive",
    "searchsorted",
    "bucketize",
    "histc",
    "histogram",
    "bincount",
    "cummax",
    "cummin",
    "logcumsumexp",
    "diff",
]

_INT64 = _dt.int64


def _rt(name, fields):
    t = namedtuple(name, fields)
    t.__module__ = "tessera.return_types"
    return t


_RT_SORT = _rt("sort", ["values", "indices"])
_RT_TOPK = _rt("topk", ["values", "indices"])
_RT_KTHVALUE = _rt("kthvalue", ["values", "indices"])
_RT_MODE = _rt("mode", ["values", "indices"])
_RT_CUMMAX = _rt("cummax", ["values", "indices"])
_RT_CUMMIN = _rt("cummin", ["values", "indices"])
_RT_HISTOGRAM = _rt("histogram", ["hist", "bin_edges"])


def _sortable(x):
    """``x`` as an array NumPy sorts in PyTorch's order (bfloat16 compares through float32)."""
    return x.astype(np.float32) if x.dtype.kind == "V" else x


def _argsort_np(x, dim, descending):
    """Stable argsort along ``dim``; descending keeps equal elements in their original order and puts NaN
    first (ascending puts it last)."""
    a = _sortable(x)
    if not descending:
        return np.argsort(a, axis=dim, kind="stable").astype(np.int64, copy=False)
    n = a.shape[dim]
    r = np.argsort(np.flip(a, dim), axis=dim, kind="stable")
    return (n - 1 - np.flip(r, dim)).astype(np.int64, copy=False)


def _check_input(opname, input):
    check_tensor(opname, "input", input)


def _int_arg(opname, name, v):
    if isinstance(v, Tensor) and v._data.ndim == 0 and v._data.dtype.kind in "iu":
        return int(v._data)
    if not isinstance(v, numbers.Integral) or isinstance(v, bool):
        raise TypeError(f"{opname}: argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


def _dim(opname, dim, ndim):
    return canonical_dim(opname, _int_arg(opname, "dim", dim), ndim)


def _values_at(x, idx, dim):
    """``x`` gathered at ``idx`` along ``dim`` (differentiable: the gradient goes back to the positions)."""
    return apply(GATHER, (x, idx), {"dim": dim})


# -- sort / argsort / msort ---------------------------------------------------------------------------------
def _sort_forward(x, dim, descending=False):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    return _argsort_np(x, dim, descending)


SORT = OpDef("sort_indices", _sort_forward, differentiable=False)


@SORT.defshape
def _sort_rule(x, dim, descending=False):
    return TensorMeta(tuple(x.shape), _INT64)


def _sort_args(opname, input, dim, descending, stable):
    _check_input(opname, input)
    if stable is not None and not isinstance(stable, bool):
        raise TypeError(f"{opname}: argument 'stable' must be bool, not {type(stable).__name__}")
    return {"dim": _dim(opname, dim, input._data.ndim), "descending": bool(descending)}


@method("sort")
def sort(input, dim: int = -1, descending: bool = False, *, stable: bool | None = False):
    """Sort along ``dim``: a named tuple ``(values, indices)``. Equal elements keep their order (the sort
    is always stable); NaN sorts as the largest value.

    Example:
        >>> ts.sort(ts.tensor([3.0, 1.0, 2.0]))
        sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    attrs = _sort_args("sort", input, dim, descending, stable)
    idx = apply(SORT, (input,), attrs)
    return _RT_SORT(_values_at(input, idx, attrs["dim"]), idx)


@method("argsort")
def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """The indices (int64) that sort ``input`` along ``dim`` (stable; NaN sorts as the largest value).

    Example:
        >>> ts.argsort(ts.tensor([3.0, 1.0, 2.0]), descending=True)
        tensor([0, 2, 1])
    """
    return apply(SORT, (input,), _sort_args("argsort", input, dim, descending, stable))


@method("msort")
def msort(input):
    """``input`` sorted along its first dimension (the values of ``sort(input, dim=0)``).

    Example:
        >>> ts.msort(ts.tensor([[2, 1], [1, 3]]))
        tensor([[1, 1],
                [2, 3]])
    """
    _check_input("msort", input)
    return sort(input, 0).values


# -- topk / kthvalue / mode ---------------------------------------------------------------------------------
def _topk_forward(x, k, dim, largest=True):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    idx = _argsort_np(x, dim, largest)
    return np.take(idx, np.arange(k), axis=dim)


TOPK = OpDef("topk_indices", _topk_forward, differentiable=False)


@TOPK.defshape
def _topk_rule(x, k, dim, largest=True):
    shape = list(x.shape)
    if shape:
        if not 0 <= k <= shape[dim]:
            raise OpError("topk: selected index k out of range")
        shape[dim] = k
    return TensorMeta(tuple(shape), _INT64)


@method("topk")
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, as a named tuple
    ``(values, indices)`` in sorted order.

    Example:
        >>> ts.topk(ts.tensor([1.0, 5.0, 3.0]), 2)
        topk(values=tensor([5., 3.]), indices=tensor([1, 2]))
    """
    _check_input("topk", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("topk: topk does not support bool dtypes on CPU")
    k = _int_arg("topk", "k", k)
    nd = input._data.ndim
    d = _dim("topk", dim, nd)
    n = input._data.shape[d] if nd else 1
    if not 0 <= k <= n:
        raise RuntimeError("topk: selected index k out of range")
    idx = apply(TOPK, (input,), {"k": k, "dim": d, "largest": bool(largest)})
    return _RT_TOPK(_values_at(input, idx, d), idx)


def _kth_forward(x, k, dim, keepdim=False):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    idx = np.take(_argsort_np(x, dim, False), [k - 1], axis=dim)
    return idx if keepdim else np.squeeze(idx, dim)


KTHVALUE = OpDef("kthvalue_indices", _kth_forward, differentiable=False)


@KTHVALUE.defshape
def _kth_rule(x, k, dim, keepdim=False):
    if x.ndim == 0:
        return TensorMeta((), _INT64)
    if not 1 <= k <= x.shape[dim]:
        raise OpError(f"kthvalue: selected number k out of range for dimension {dim}")
    return TensorMeta(reduced_shape(tuple(x.shape), (dim,), keepdim), _INT64)


def _select_along(input, idx, d, keepdim):
    """The values at ``idx`` (the indices of a reduction along ``d``), keeping ``d`` only with keepdim."""
    if input._data.ndim == 0:
        return _values_at(input, idx, 0)
    vals = _values_at(input, idx if keepdim else idx.unsqueeze(d), d)
    return vals if keepdim else vals.squeeze(d)


@method("kthvalue")
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element along ``dim`` (``k`` from 1), as a named tuple ``(values, indices)``.

    Example:
        >>> ts.kthvalue(ts.tensor([3.0, 1.0, 2.0]), 2)
        kthvalue(values=tensor(2.), indices=tensor(2))
    """
    _check_input("kthvalue", input)
    if input._data.dtype == np.bool_:
        raise NotImplementedError("kthvalue: \"kthvalue_cpu\" not implemented for 'Bool'")
    k = _int_arg("kthvalue", "k", k)
    nd = input._data.ndim
    d = _dim("kthvalue", dim, nd)
    n = input._data.shape[d] if nd else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: selected number k out of range for dimension {d}")
    idx = apply(KTHVALUE, (input,), {"k": k, "dim": d, "keepdim": bool(keepdim)})
    return _RT_KTHVALUE(_select_along(input, idx, d, keepdim), idx)


def _mode_forward(x, dim, keepdim=False):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    a = np.moveaxis(_sortable(x), dim, -1)
    rows = a.reshape(-1, a.shape[-1])
    out = np.zeros(rows.shape[0], np.int64)
    n = rows.shape[1]
    for r, row in enumerate(rows):
        order = np.argsort(row, kind="stable")
        s = row[order]
        # runs of equal values (NaN equals NaN here, as in PyTorch's mode)
        same = s[1:] == s[:-1]
        if s.dtype.kind == "f":
            same |= np.isnan(s[1:]) & np.isnan(s[:-1])
        new = np.ones(n, bool)
        new[1:] = ~same
        starts = np.flatnonzero(new)
        counts = np.diff(np.append(starts, n))
        best = int(np.argmax(counts))  # the smallest of the most frequent values
        out[r] = order[starts[best] + counts[best] - 1]  # its last occurrence
    idx = out.reshape(a.shape[:-1])
    return np.expand_dims(idx, dim) if keepdim else idx


MODE = OpDef("mode_indices", _mode_forward, differentiable=False)


@MODE.defshape
def _mode_rule(x, dim, keepdim=False):
    if x.ndim == 0:
        return TensorMeta((), _INT64)
    return TensorMeta(reduced_shape(tuple(x.shape), (dim,), keepdim), _INT64)


@method("mode")
def mode(input, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest one on ties) and the index of its last
    occurrence, as a named tuple ``(values, indices)``.

    Example:
        >>> ts.mode(ts.tensor([1, 2, 2, 3]))
        mode(values=tensor(2), indices=tensor(2))
    """
    _check_input("mode", input)
    nd = input._data.ndim
    d = _dim("mode", dim, nd)
    if nd and input._data.shape[d] == 0:
        raise IndexError(f"mode: Expected reduction dim {d} to have non-zero size.")
    idx = apply(MODE, (input,), {"dim": d, "keepdim": bool(keepdim)})
    return _RT_MODE(_select_along(input, idx, d, keepdim), idx)


# -- quantile / nanquantile (compositions) ------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(opname, input, q, dim, keepdim, interpolation, ignore_nan):
    _check_input(opname, input)
    if input._data.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{opname}: input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{opname}: interpolation must be one of linear, lower, higher, midpoint or nearest, but got "
            f"{interpolation}"
        )
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        if not isinstance(q, numbers.Real) or isinstance(q, bool):
            raise TypeError(f"{opname}: argument 'q' must be a float or a Tensor, not {type(q).__name__}")
        if not 0 <= q <= 1:
            raise RuntimeError(f"{opname}: q must be in the range [0, 1] but got {q}")
        qt = Tensor._wrap(np.array([q], dtype=input._data.dtype))
    else:
        if q._data.ndim > 1:
            raise RuntimeError(f"{opname}: q must be a scalar or 1D tensor")
        if q._data.dtype != input._data.dtype:
            raise RuntimeError(f"{opname}: q tensor must be same dtype as the input tensor")
        if not is_tracing() and q._data.size and not ((q._data >= 0) & (q._data <= 1)).all():
            raise RuntimeError(f"{opname}: q values must be in the range [0, 1]")
        scalar_q = q._data.ndim == 0
        qt = q.reshape(-1)
    nd = input._data.ndim
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        d = _dim(opname, dim, nd)
        x = input if nd else input.reshape(1)
        if nd:
            x = x.movedim(d, -1)
        else:
            d = 0
    if x._data.shape[-1] == 0:
        raise RuntimeError(f"{opname}: input tensor must be non-empty")
    n = x._data.shape[-1]
    srt = sort(x, -1).values  # NaN last
    rest = tuple(srt._data.shape[:-1])
    nq = qt._data.shape[0]
    qb = qt.reshape((nq,) + (1,) * (len(rest) + 1))
    isnan = _ew.isnan(srt.detach())
    if ignore_nan:
        cnt = (~isnan).sum(-1, keepdim=True)  # non-NaN count per slice
        last = (cnt - 1).clamp(min=0).to(srt.dtype)
        rank = qb * last
    else:
        has_nan = isnan.any(-1, keepdim=True)
        full = Tensor._wrap(np.array(n - 1, dtype=srt._data.dtype))
        rank = _ew.where(has_nan, full, qb * full)  # a slice with NaN gives its last (NaN) element
    if interpolation == "nearest":
        rank = rank.round()
    lo = rank.floor()
    hi = rank.ceil()
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    big = srt.unsqueeze(0).expand((nq,) + tuple(srt._data.shape))
    v_lo = _values_at(big, lo.to(_INT64).expand((nq,) + rest + (1,)), len(rest) + 1)
    if interpolation in ("lower", "higher", "nearest"):
        out = v_lo
    else:
        v_hi = _values_at(big, hi.to(_INT64).expand((nq,) + rest + (1,)), len(rest) + 1)
        if interpolation == "midpoint":
            w = Tensor._wrap(np.array(0.5, dtype=srt._data.dtype))
            out = v_lo.lerp(v_hi, w)
        else:
            out = v_lo.lerp(v_hi, (rank - lo).expand((nq,) + rest + (1,)))
    out = out.squeeze(-1)  # (nq, *rest)
    if keepdim:
        if dim is None:
            out = out.reshape((nq,) + (1,) * nd)
        elif nd:
            out = out.unsqueeze(-1).movedim(-1, d + 1)
    return out.squeeze(0) if scalar_q else out


@method("quantile")
def quantile(input, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"):
    """The ``q``-th quantiles (``q`` a float or a 1-D tensor in [0, 1]) of ``input`` along ``dim`` (all
    elements when None). A slice containing NaN gives NaN. With a tensor ``q``, its entries form the first
    dimension of the result.

    Example:
        >>> ts.quantile(ts.tensor([1.0, 2.0, 3.0, 4.0]), 0.5)
        tensor(2.5000)
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@method("nanquantile")
def nanquantile(input, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"):
    """``quantile`` ignoring NaN values (an all-NaN slice gives NaN).

    Example:
        >>> ts.nanquantile(ts.tensor([1.0, float("nan"), 3.0]), 0.5)
        tensor(2.)
    """
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# -- unique / unique_consecutive ----------------------------------------------------------------------------
def _unique_parts(x, dim, consecutive):
    """(values, inverse, counts) of ``np.unique`` (or of runs of equal values when ``consecutive``);
    every NaN is its own value, as in PyTorch."""
    a = _sortable(x)
    if dim is None:
        flat = a.reshape(-1)
        if consecutive:
            n = flat.size
            new = np.ones(n, bool)
            new[1:] = flat[1:] != flat[:-1]
            starts = np.flatnonzero(new)
            inv = np.cumsum(new) - 1
            counts = np.diff(np.append(starts, n))
            vals = x.reshape(-1)[starts]
            return vals, inv.reshape(x.shape), counts
        kw = {"equal_nan": False} if a.dtype.kind == "f" else {}
        vals, inv, counts = np.unique(flat, return_inverse=True, return_counts=True, **kw)
        return vals.astype(x.dtype), inv.reshape(x.shape), counts
    moved = np.moveaxis(a, dim, 0)
    n = moved.shape[0]
    rows = moved.reshape(n, -1)
    if consecutive:
        new = np.ones(n, bool)
        if n > 1:
            new[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        inv = np.cumsum(new) - 1
        counts = np.diff(np.append(starts, n))
        vals = np.take(x, starts, axis=dim)
        return vals, inv, counts
    if n == 0:
        return x.copy(), np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort(rows.T[::-1]) if rows.shape[1] else np.arange(n)
    srt = rows[order]
    new = np.ones(n, bool)
    new[1:] = (srt[1:] != srt[:-1]).any(axis=1) if rows.shape[1] else False
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    inv = np.empty(n, np.int64)
    inv[order] = group
    counts = np.diff(np.append(starts, n))
    vals = np.take(x, order[starts], axis=dim)
    return vals, inv, counts


def _unique_forward(part):
    def forward(x, dim=None, consecutive=False):
        res = _unique_parts(x, dim, consecutive)[part]
        return res if part == 0 else res.astype(np.int64, copy=False)

    return forward


UNIQUE = OpDef("unique", _unique_forward(0), differentiable=False, data_dependent=True)
UNIQUE_INVERSE = OpDef("unique_inverse", _unique_forward(1), differentiable=False)
UNIQUE_COUNTS = OpDef("unique_counts", _unique_forward(2), differentiable=False, data_dependent=True)


@UNIQUE.defshape
def _unique_rule(x, dim=None, consecutive=False):
    if dim is None:
        return TensorMeta((None,), x.dtype)
    shape = list(x.shape)
    shape[dim] = None
    return TensorMeta(tuple(shape), x.dtype)


@UNIQUE_INVERSE.defshape
def _unique_inverse_rule(x, dim=None, consecutive=False):
    return TensorMeta(tuple(x.shape) if dim is None else (x.shape[dim],), _INT64)


@UNIQUE_COUNTS.defshape
def _unique_counts_rule(x, dim=None, consecutive=False):
    return TensorMeta((None,), _INT64)


def _unique(opname, input, return_inverse, return_counts, dim, consecutive):
    _check_input(opname, input)
    attrs = {"dim": None if dim is None else _dim(opname, dim, input._data.ndim), "consecutive": consecutive}
    if attrs["dim"] is not None and input._data.ndim == 0:
        attrs["dim"] = None
    out = [apply(UNIQUE, (input,), attrs)]
    if return_inverse:
        out.append(apply(UNIQUE_INVERSE, (input,), attrs))
    if return_counts:
        out.append(apply(UNIQUE_COUNTS, (input,), attrs))
    return out[0] if len(out) == 1 else tuple(out)


@method("unique")
def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The unique elements of ``input`` (sorted; with ``dim``, its unique slices along ``dim``), and
    optionally the inverse indices (where each element went) and the counts. Every NaN is unique.

    Example:
        >>> ts.unique(ts.tensor([3, 1, 3]), return_counts=True)
        (tensor([1, 3]), tensor([1, 2]))
    """
    return _unique("unique", input, return_inverse, return_counts, dim, False)


@method("unique_consecutive")
def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """Collapse each run of consecutive equal elements (slices along ``dim``) to one; optionally the
    inverse indices and the run lengths.

    Example:
        >>> ts.unique_consecutive(ts.tensor([1, 1, 2, 1]))
        tensor([1, 2, 1])
    """
    return _unique("unique_consecutive", input, return_inverse, return_counts, dim, True)


# -- searchsorted / bucketize -------------------------------------------------------------------------------
def _searchsorted_forward(seq, values, *sorter, right=False, out_int32=False):
    side = "right" if right else "left"
    dt = np.int32 if out_int32 else np.int64
    s, v = _sortable(seq), _sortable(values)
    if sorter:
        s = np.take_along_axis(s, sorter[0], axis=-1)
    if s.ndim <= 1:
        return np.searchsorted(s, v, side=side).astype(dt)
    lead = s.shape[:-1]
    rows = s.reshape(-1, s.shape[-1])
    vrows = v.reshape(rows.shape[0], -1)
    out = np.stack([np.searchsorted(r, q, side=side) for r, q in zip(rows, vrows)])
    return out.reshape(lead + v.shape[-1:]).astype(dt)


SEARCHSORTED = OpDef("searchsorted", _searchsorted_forward, differentiable=False)


@SEARCHSORTED.defshape
def _searchsorted_rule(seq, values, *sorter, right=False, out_int32=False):
    if seq.ndim > 1 and tuple(seq.shape[:-1]) != tuple(values.shape[:-1]):
        raise OpError(
            "searchsorted: boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
            f"tensor and input value tensor must match, but we got boundaries tensor {list(seq.shape)} and "
            f"input value tensor {list(values.shape)}"
        )
    return TensorMeta(tuple(values.shape), _dt.int32 if out_int32 else _INT64)


def _as_values(opname, like, values):
    if isinstance(values, Tensor):
        return values
    if isinstance(values, numbers.Number) and not isinstance(values, bool):
        return Tensor._wrap(np.array(values, dtype=like._data.dtype))
    raise TypeError(f"{opname}: argument 'input' must be a Tensor or a number, not {type(values).__name__}")


def searchsorted(
    sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None
):
    """Indices where the elements of ``input`` would be inserted into ``sorted_sequence`` (sorted along its
    last dimension) to keep it sorted: the first such index, or the last with ``right=True`` /
    ``side="right"``. ``sorter`` holds the indices that sort an unsorted sequence.

    Example:
        >>> ts.searchsorted(ts.tensor([1, 3, 5]), ts.tensor([3, 4]))
        tensor([1, 2])
    """
    check_tensor("searchsorted", "sorted_sequence", sorted_sequence)
    scalar = not isinstance(input, Tensor)
    values = _as_values("searchsorted", sorted_sequence, input)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted: side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError(
                "searchsorted: side and right can't be set to opposites, got side of left while right was True"
            )
        right = side == "right"
    sd, vd = sorted_sequence._data, values._data
    if sd.dtype == np.bool_ or vd.dtype == np.bool_:
        raise NotImplementedError("searchsorted: \"searchsorted_out_cpu\" not implemented for 'Bool'")
    if sd.ndim == 0:
        raise RuntimeError(
            "searchsorted: boundaries tensor should have positive dimension, but got 0 dimension"
        )
    if sd.ndim > 1 and (vd.ndim != sd.ndim or sd.shape[:-1] != vd.shape[:-1]):
        raise RuntimeError(
            "searchsorted: boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
            f"tensor and input value tensor must match, but we got boundaries tensor {list(sd.shape)} and "
            f"input value tensor {list(vd.shape)}"
        )
    args = (sorted_sequence, values)
    if sorter is not None:
        check_tensor("searchsorted", "sorter", sorter)
        if sorter._data.shape != sd.shape:
            raise RuntimeError(
                f"searchsorted: boundary and sorter must have the same size, but got boundary tensor "
                f"{list(sd.shape)} and got sorter tensor {list(sorter.shape)}"
            )
        if sorter._data.dtype != np.int64:
            raise RuntimeError(
                f"searchsorted: sorter must be a tensor of long dtype but got {sorter.dtype.name}"
            )
        args += (sorter,)
    if sd.dtype != vd.dtype:
        common = _dt.result_type(sorted_sequence, values)
        args = (sorted_sequence.to(common), values.to(common)) + args[2:]
    out = apply(SEARCHSORTED, args, {"right": bool(right), "out_int32": bool(out_int32)})
    return out.reshape(()) if scalar else out


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """The bucket of each element of ``input`` given the 1-D sorted ``boundaries``: ``i`` such that
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``boundaries[i-1] <= x < boundaries[i]``).

    Example:
        >>> ts.bucketize(ts.tensor([1, 4, 9]), ts.tensor([2, 4, 6]))
        tensor([0, 1, 3])
    """
    check_tensor("bucketize", "boundaries", boundaries)
    if boundaries._data.ndim != 1:
        raise RuntimeError(
            f"bucketize: boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})"
        )
    scalar = not isinstance(input, Tensor)
    values = _as_values("bucketize", boundaries, input)
    args = (boundaries, values)
    if boundaries._data.dtype != values._data.dtype:
        common = _dt.result_type(boundaries, values)
        args = (boundaries.to(common), values.to(common))
    out = apply(SEARCHSORTED, args, {"right": bool(right), "out_int32": bool(out_int32)})
    return out.reshape(()) if scalar else out


# -- histc / histogram / bincount ---------------------------------------------------------------------------
def _edges_forward(x, bins, lo=None, hi=None, pad=0.5):
    """``bins + 1`` evenly spaced edges over ``[lo, hi]`` (the data's range when None; widened by ``pad``
    on both sides when empty), in ``x``'s dtype."""
    if lo is None:
        if x.size:
            lo, hi = float(np.min(x)), float(np.max(x))
        else:
            lo = hi = 0.0
    if lo == hi:
        lo, hi = lo - pad, hi + pad
    return np.linspace(lo, hi, bins + 1).astype(x.dtype)


HISTOGRAM_EDGES = OpDef("histogram_edges", _edges_forward, differentiable=False)


@HISTOGRAM_EDGES.defshape
def _edges_rule(x, bins, lo=None, hi=None, pad=0.5):
    return TensorMeta((bins + 1,), x.dtype)


def _hist_forward(x, edges, *weight, density=False):
    """PyTorch's histogram: an element ``e`` with ``edges[i] <= e < edges[i+1]`` counts in bin ``i`` (the
    last bin also holds ``e == edges[-1]``); elements outside the edges (and NaN) are dropped."""
    flat = x.reshape(-1)
    nb = edges.size - 1
    w = weight[0].reshape(-1) if weight else None
    out = np.zeros(nb, np.float64)
    if nb > 0 and flat.size:
        pos = np.searchsorted(edges, flat, side="right") - 1
        pos = np.where(flat == edges[-1], nb - 1, pos)
        ok = (pos >= 0) & (pos < nb) & (flat >= edges[0]) & (flat <= edges[-1])
        np.add.at(out, pos[ok], 1.0 if w is None else w[ok].astype(np.float64))
    if density:
        total = out.sum()
        out = out / (total * np.diff(edges.astype(np.float64)))
    return out.astype(x.dtype)


HISTOGRAM = OpDef("histogram", _hist_forward, differentiable=False)


@HISTOGRAM.defshape
def _hist_rule(x, edges, *weight, density=False):
    return TensorMeta((edges.shape[0] - 1,), x.dtype)


def _float_input(opname, input):
    _check_input(opname, input)
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f"{opname}: \"{opname}_cpu\" not implemented for '{input.dtype.name}'")


@method("histc")
def histc(input, bins: int = 100, min: float = 0, max: float = 0):
    """Histogram of ``input`` with ``bins`` equal-width bins over ``[min, max]`` (the data's range when
    equal, as the default 0 and 0); elements outside are ignored. Float inputs only; no gradient.

    Example:
        >>> ts.histc(ts.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    _float_input("histc", input)
    bins = _int_arg("histc", "bins", bins)
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("histc: max must be larger than min")
    if math.isinf(lo) or math.isinf(hi) or math.isnan(lo) or math.isnan(hi):
        raise RuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    attrs = {"bins": bins, "pad": 1.0}
    if lo != hi:  # equal bounds (the default 0, 0) mean the data's range
        attrs.update(lo=lo, hi=hi)
    edges = apply(HISTOGRAM_EDGES, (input.detach(),), attrs)
    return apply(HISTOGRAM, (input.detach(), edges), {"density": False})


@method("histogram")
def histogram(input, bins=100, *, range=None, weight=None, density: bool = False):
    """Histogram of ``input``: ``bins`` equal-width bins over ``range`` (the data's range when None), or
    the given 1-D tensor of increasing bin edges. Returns a named tuple ``(hist, bin_edges)``. ``weight``
    (``input``'s shape) weights each element; ``density`` normalises to a probability density.

    Example:
        >>> ts.histogram(ts.tensor([1.0, 2.0, 1.0]), bins=2, range=(0.0, 2.0))
        histogram(hist=tensor([0., 3.]), bin_edges=tensor([0., 1., 2.]))
    """
    _float_input("histogram", input)
    x = input.detach()
    if isinstance(bins, Tensor):
        if bins._data.ndim != 1:
            raise RuntimeError(f"histogram: bins tensor should have one dimension, but got {bins.ndim}")
        if bins._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"histogram: input tensor and bins tensors should have the same dtype, but got input "
                f"{input.dtype.name} and bins {bins.dtype.name}"
            )
        if range is not None:
            raise TypeError("histogram: range cannot be given with a tensor of bin edges")
        edges = bins.detach()
    else:
        nb = _int_arg("histogram", "bins", bins)
        if nb <= 0:
            raise RuntimeError(f"histogram: bins must be > 0, but got {nb} for dimension 0")
        attrs = {"bins": nb}
        if range is not None:
            lo, hi = (float(v) for v in range)
            if lo > hi:
                raise RuntimeError(f"histogram: min should not exceed max, but got min {lo} max {hi}")
            attrs.update(lo=lo, hi=hi)
        edges = apply(HISTOGRAM_EDGES, (x,), attrs)
    args = (x, edges)
    if weight is not None:
        check_tensor("histogram", "weight", weight)
        if weight._data.shape != input._data.shape:
            raise RuntimeError(
                f"histogram: if weight tensor is provided it should have the same shape as the input tensor, "
                f"but got input with shape {list(input.shape)} and weight with shape {list(weight.shape)}"
            )
        args += (weight.detach(),)
    return _RT_HISTOGRAM(apply(HISTOGRAM, args, {"density": bool(density)}), edges)


def _bincount_forward(x, *weights, minlength=0):
    w = weights[0] if weights else None
    if w is None:
        return np.bincount(x, minlength=minlength).astype(np.int64)
    out = np.bincount(x, weights=w.astype(np.float64), minlength=minlength)
    return out.astype(w.dtype if w.dtype.kind in "fV" else np.float64)


BINCOUNT = OpDef("bincount", _bincount_forward, differentiable=False, data_dependent=True)


@BINCOUNT.defshape
def _bincount_rule(x, *weights, minlength=0):
    if not weights:
        dt = _INT64
    else:
        wd = weights[0].dtype
        dt = wd if wd.is_floating_point else _dt.float64
    return TensorMeta((None,), dt)


@method("bincount")
def bincount(input, weights=None, minlength: int = 0):
    """How many times each value ``0..max(input)`` occurs in the 1-D non-negative integer ``input`` (at
    least ``minlength`` bins); with ``weights``, the sum of the weights of each value.

    Example:
        >>> ts.bincount(ts.tensor([0, 2, 2]))
        tensor([1, 0, 2])
    """
    _check_input("bincount", input)
    if input._data.dtype.kind not in "iub" or input._data.dtype == np.bool_:
        raise NotImplementedError(f"bincount: \"bincount_cpu\" not implemented for '{input.dtype.name}'")
    minlength = _int_arg("bincount", "minlength", minlength)
    if minlength < 0:
        raise RuntimeError("bincount: minlength should be >= 0")
    if input._data.ndim != 1 or (not is_tracing() and input._data.size and input._data.min() < 0):
        raise RuntimeError("bincount: only supports 1-d non-negative integral inputs.")
    args = (input,)
    if weights is not None:
        check_tensor("bincount", "weights", weights)
        if weights._data.ndim != 1 or weights._data.shape[0] != input._data.shape[0]:
            raise RuntimeError("bincount: weights should be 1-d and have the same length as input")
        args += (weights.detach(),)
    return apply(BINCOUNT, args, {"minlength": minlength})


# -- cummax / cummin / logcumsumexp -------------------------------------------------------------------------
def _cumext_forward(x, dim, largest=True):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    a = np.moveaxis(_sortable(x), dim, -1)
    n = a.shape[-1]
    out = np.zeros(a.shape, np.int64)
    if n == 0:
        return np.moveaxis(out, -1, dim)
    best = a[..., 0].copy()
    cur = np.zeros(a.shape[:-1], np.int64)
    isf = a.dtype.kind == "f"
    with np.errstate(invalid="ignore"):
        for i in range(1, n):
            v = a[..., i]
            better = (v >= best) if largest else (v <= best)
            if isf:
                better = np.isnan(v) | (better & ~np.isnan(best))
            best = np.where(better, v, best)
            cur = np.where(better, i, cur)
            out[..., i] = cur
    return np.moveaxis(out, -1, dim)


CUMMAX = OpDef("cummax_indices", _cumext_forward, differentiable=False)


@CUMMAX.defshape
def _cumext_rule(x, dim, largest=True):
    return TensorMeta(tuple(x.shape), _INT64)


def _cumext(opname, rt, input, dim, largest):
    _check_input(opname, input)
    nd = input._data.ndim
    d = _dim(opname, dim, nd)
    idx = apply(CUMMAX, (input,), {"dim": d, "largest": largest})
    return rt(_values_at(input, idx, d), idx)


@method("cummax")
def cummax(input, dim: int):
    """Running maximum along ``dim`` and the index where it was reached (the latest on ties; NaN
    propagates), as a named tuple ``(values, indices)``.

    Example:
        >>> ts.cummax(ts.tensor([1.0, 3.0, 2.0]), 0)
        cummax(values=tensor([1., 3., 3.]), indices=tensor([0, 1, 1]))
    """
    return _cumext("cummax", _RT_CUMMAX, input, dim, True)


@method("cummin")
def cummin(input, dim: int):
    """Running minimum along ``dim`` and its index (the latest on ties), as a named tuple
    ``(values, indices)``.

    Example:
        >>> ts.cummin(ts.tensor([2.0, 1.0, 3.0]), 0)
        cummin(values=tensor([2., 1., 1.]), indices=tensor([0, 1, 1]))
    """
    return _cumext("cummin", _RT_CUMMIN, input, dim, False)


def _logcumsumexp_forward(x, dim, reverse=False):
    if x.ndim == 0:
        return x.copy()
    a = x.astype(np.float32) if x.dtype.itemsize == 2 else x
    if reverse:
        a = np.flip(a, dim)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.logaddexp.accumulate(a, axis=dim)
    if reverse:
        out = np.flip(out, dim)
    return out.astype(x.dtype, copy=False)


LOGCUMSUMEXP = OpDef("logcumsumexp", _logcumsumexp_forward, save_output=True)


@LOGCUMSUMEXP.defshape
def _logcumsumexp_rule(x, dim, reverse=False):
    if not x.dtype.is_floating_point:
        raise OpError(f"logcumsumexp: \"logcumsumexp_out_cpu\" not implemented for '{x.dtype.name}'")
    return TensorMeta(tuple(x.shape), x.dtype)


@LOGCUMSUMEXP.defgrad
def _logcumsumexp_grad(ctx, g):
    # d out_j / d x_i = exp(x_i - out_j) for the i the scan reaches j from; summed in log space with the
    # positive and negative parts of g apart, so no term overflows (PyTorch's formula).
    (x,) = ctx.saved
    if x.ndim == 0:
        return g
    out = ctx.out
    a = dict(ctx.attrs, reverse=not ctx.attrs.get("reverse", False))
    dt = out._data.dtype
    zero, one = Tensor._wrap(np.array(0, dtype=dt)), Tensor._wrap(np.array(1, dtype=dt))
    ninf = Tensor._wrap(np.array(-np.inf, dtype=dt))
    pos = _ew.where(g > zero, g, zero)
    neg = _ew.where(g < zero, -g, zero)

    def part(p):
        # log(p) - out where p > 0, else -inf (a zero term), with no log(0) or inf - inf on either branch
        live = p > zero
        lg = _ew.where(live, _ew.where(live, p, one).log() - out, ninf)
        return (x + apply(LOGCUMSUMEXP, (lg,), a)).exp()

    return part(pos) - part(neg)


@method("logcumsumexp")
def logcumsumexp(input, dim: int):
    """``log(cumsum(exp(input), dim))``, computed without overflow.

    Example:
        >>> ts.logcumsumexp(ts.tensor([0.0, 0.0]), 0)
        tensor([0.0000, 0.6931])
    """
    _check_input("logcumsumexp", input)
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f"logcumsumexp: \"logcumsumexp_out_cpu\" not implemented for '{input.dtype.name}'"
        )
    return apply(LOGCUMSUMEXP, (input,), {"dim": _dim("logcumsumexp", dim, input._data.ndim)})


# -- diff (a composition) -----------------------------------------------------------------------------------
def _diff_edge(t, input, d):
    """``diff``'s ``prepend``/``append`` as a tensor matching ``input`` outside dimension ``d``."""
    if t is None:
        return None
    if not isinstance(t, Tensor):
        t = Tensor._wrap(np.array(t, dtype=input._data.dtype))
    shape = input._data.shape
    if t._data.ndim == 0:
        return t.expand(tuple(1 if i == d else s for i, s in enumerate(shape)))
    ts_ = t._data.shape
    bad = next((i for i in range(len(shape)) if i != d and (i >= len(ts_) or ts_[i] != shape[i])), None)
    if len(ts_) != len(shape) or bad is not None:
        bad = bad if bad is not None else 0
        raise RuntimeError(
            "diff: diff expects the shape of tensor to prepend or append to match that of input except along "
            f"the differencing dimension; input.size({bad}) = {shape[bad]}, but got tensor.size({bad}) = "
            f"{ts_[bad] if bad < len(ts_) else None}"
        )
    return t


@method("diff")
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i+1] - x[i]``; for bool, ``!=``), after
    concatenating ``prepend`` and ``append`` along ``dim``.

    Example:
        >>> ts.diff(ts.tensor([1, 4, 9, 16]))
        tensor([3, 5, 7])
    """
    _check_input("diff", input)
    n = _int_arg("diff", "n", n)
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("diff: diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"diff: order must be non-negative but got {n}")
    d = _dim("diff", dim, nd)
    pre, app = (_diff_edge(t, input, d) for t in (prepend, append))
    seq = [t for t in (pre, input, app) if t is not None]
    x = _sh.cat(seq, d) if len(seq) > 1 else input
    is_bool = x._data.dtype == np.bool_
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = _ew.logical_xor(hi, lo) if is_bool else hi - lo
    return x


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
@TOPK.defonnx
def _topk_onnx(g, x, k, dim, largest=True):
    _, indices = g.op("TopK", x, g.ints([k]), outputs=2, axis=dim, largest=int(largest), sorted=1)
    return indices
