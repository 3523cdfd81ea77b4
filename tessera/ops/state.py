"""Ops that write into existing tensors: ``copy_``, ``fill_``, ``zero_``.

They are the in-place variants of ordinary ops (``copy``: broadcast ``src`` to ``x``'s shape and dtype;
``fill``: ``x``'s shape and dtype, one value), so they go through ``apply(..., out=x)`` when no history is
recorded and through the autograd in-place path otherwise. The core uses ``copy`` for its own writes
(in-place results, view snapshots), so an interceptor sees every change of a tensor's memory.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core.dispatch import OpDef, TensorMeta
from ..core.tensor import _OPS, Tensor, _inplace
from ._util import meta_if_broadcasts, method

__all__: list[str] = []


def _copy_forward(x, src):
    return np.broadcast_to(src, x.shape).astype(x.dtype, copy=True)


def _copy_into(out, x, src):
    np.copyto(out, src, casting="unsafe")


COPY = OpDef("copy", _copy_forward, inplace_forward=_copy_into)


@COPY.defshape
def _copy_shape(x, src):
    return meta_if_broadcasts("copy_", src, x, "the source")


@COPY.defgrad
def _copy_grad(ctx, g):
    x, src = ctx.saved
    gs = None
    if ctx.needs_grad[1]:
        gs = g.sum_to_size(tuple(src.shape)) if g.shape != src.shape else g
        if gs.dtype != src.dtype:
            gs = gs.to(src.dtype)
    return (g * 0 if ctx.needs_grad[0] else None), gs


def _fill_forward(x, value):
    return np.full(x.shape, value, dtype=x.dtype)


def _fill_into(out, x, value):
    out.fill(value)


FILL = OpDef("fill", _fill_forward, inplace_forward=_fill_into)


@FILL.defshape
def _fill_shape(x, value):
    return TensorMeta(x.shape, x.dtype)


@FILL.defgrad
def _fill_grad(ctx, g):
    return (g * 0 if ctx.needs_grad[0] else None), None


@method("copy_")
def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place.

    Example:
        >>> w = ts.zeros(2, 3)
        >>> w.copy_(ts.ones(3))
    """
    if not isinstance(src, Tensor):
        if not isinstance(src, (numbers.Number, np.ndarray)):
            raise TypeError(f"copy_: src must be a Tensor, got {type(src).__name__}")
        src = Tensor._wrap(np.asarray(src))
    return _inplace(self, COPY, (src,), {})


@method("fill_")
def fill_(self: Tensor, value) -> Tensor:
    """Fill this tensor with ``value`` in place: ``w.fill_(0.5)``."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill_: only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions"
            )
        return _inplace(self, COPY, (value,), {})
    if not isinstance(value, numbers.Number):
        raise TypeError(f"fill_: value must be a number, got {type(value).__name__}")
    return _inplace(self, FILL, (value,), {})


@method("zero_")
def zero_(self: Tensor) -> Tensor:
    """Fill this tensor with zeros in place."""
    return _inplace(self, FILL, (0,), {})


_OPS.copy = COPY
