"""Reductions over dimensions: sum, mean, var/std, max/min, prod, logsumexp, softmax, cumsum, norm..."""

from __future__ import annotations

import numpy as np

from ..core.dispatch import OpDef
from ._util import apply, canonical_dims, method, shape_args

__all__ = ["sum", "sum_to_size"]

_sum = sum  # Python's builtin, kept before the op below shadows it


def _kept_shape(shape, dims):
    return tuple(1 if (dims is None or i in dims) else s for i, s in enumerate(shape))


def _sum_forward(x, dims=None, keepdim=False, dtype=None):
    if dtype is not None:
        acc = dtype.np
    elif x.dtype.kind in "biu":
        acc = np.int64
    elif x.dtype.itemsize < 4:  # float16/bfloat16 accumulate in float32, as PyTorch does
        return np.sum(x, axis=dims, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    else:
        acc = None
    return np.sum(x, axis=dims, keepdims=keepdim, dtype=acc)


SUM = OpDef("sum", _sum_forward)


@SUM.defgrad
def _sum_grad(ctx, g):
    (x,) = ctx.saved
    shape = x._data.shape
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
    dims = canonical_dims("sum", dim, input.ndim)
    attrs = {"dims": dims, "keepdim": bool(keepdim)}
    if dtype is not None:
        from ..core.dtypes import as_dtype

        attrs["dtype"] = as_dtype(dtype)
    return apply(SUM, (input,), attrs)


def _sum_to_size_forward(x, shape):
    lead = x.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    out = np.sum(x, axis=dims, keepdims=True) if dims else x
    return out.reshape(shape)


SUM_TO_SIZE = OpDef("sum_to_size", _sum_to_size_forward)


@SUM_TO_SIZE.defgrad
def _sum_to_size_grad(ctx, g):
    (x,) = ctx.saved
    return g.expand(x._data.shape)


@method("sum_to_size")
def sum_to_size(input, *size):
    """Sum ``input`` down to ``size``, which ``input``'s shape must be broadcastable from."""
    shape = shape_args("sum_to_size", size)
    try:
        np.broadcast_shapes(shape, input._data.shape)
        ok = np.broadcast_shapes(shape, input._data.shape) == input._data.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size {list(input.shape)}")
    if shape == input._data.shape:
        return input
    return apply(SUM_TO_SIZE, (input,), {"shape": shape})
