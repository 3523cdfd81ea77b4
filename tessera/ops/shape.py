"""Shape and layout ops: reshape/view, transpose/permute, squeeze/unsqueeze, expand, cat/stack/split..."""

from __future__ import annotations

import numpy as np

from ..core.dispatch import OpDef, OpError
from ..core.tensor import Tensor
from ._util import apply, canonical_dim, method, shape_args

__all__ = ["reshape", "transpose", "swapaxes", "permute", "squeeze", "unsqueeze", "expand", "broadcast_to",
           "flatten", "t"]


def _infer_shape(opname, shape, numel, in_shape):
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise OpError(f"{opname}: only one dimension can be inferred, got shape {list(shape)}")
    if any(s < -1 for s in shape):
        raise OpError(f"{opname}: invalid shape dimension in {list(shape)}")
    if neg:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or numel % known:
            raise OpError(f"{opname}: shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    n = 1
    for s in shape:
        n *= s
    if n != numel:
        raise OpError(
            f"{opname}: shape '{list(shape)}' is invalid for input of size {numel} (input shape {list(in_shape)})"
        )
    return shape


RESHAPE = OpDef("reshape", lambda x, shape: x.reshape(shape), view=True)


@RESHAPE.defgrad
def _reshape_grad(ctx, g):
    (x,) = ctx.saved
    return g.reshape(x._data.shape)


@method("reshape")
def reshape(input, *shape):
    """``input`` with a new shape of the same number of elements (one dim may be -1); a view when possible.

    Example:
        >>> ts.arange(6).reshape(2, 3).shape
        tessera.Size([2, 3])
    """
    shape = _infer_shape("reshape", shape_args("reshape", shape), input._data.size, input._data.shape)
    if shape == input._data.shape:
        return apply(RESHAPE, (input,), {"shape": shape}) if input._rg else _alias(input)
    return apply(RESHAPE, (input,), {"shape": shape})


def _alias(t):
    out = Tensor._wrap(t._data.view())
    out._vc = t._vc
    out._base = t._base if t._base is not None else t
    return out


@method("view")
def view(self, *shape):
    """Like ``reshape``, but the result always shares memory; non-viewable layouts raise."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and not hasattr(shape[0], "__len__"):
        return self.to(shape[0])
    from ..core import dtypes as _dt

    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        raise NotImplementedError("view(dtype): reinterpreting memory as another dtype is not supported")
    new = _infer_shape("view", shape_args("view", shape), self._data.size, self._data.shape)
    try:
        probe = self._data.view()
        probe.shape = new
    except (AttributeError, ValueError):
        raise RuntimeError(
            f"view: view size is not compatible with input tensor's size and stride (shape {list(self.shape)} "
            f"-> {list(new)}); use .reshape(...) instead."
        ) from None
    return reshape(self, new)


TRANSPOSE = OpDef("transpose", lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1), view=True)


@TRANSPOSE.defgrad
def _transpose_grad(ctx, g):
    return g.transpose(ctx.attrs["dim0"], ctx.attrs["dim1"])


@method("transpose")
def transpose(input, dim0: int, dim1: int):
    """Swap dimensions ``dim0`` and ``dim1`` (a view)."""
    nd = input._data.ndim
    d0, d1 = canonical_dim("transpose", dim0, nd), canonical_dim("transpose", dim1, nd)
    return apply(TRANSPOSE, (input,), {"dim0": d0, "dim1": d1})


swapaxes = transpose
method("swapaxes", "swapdims")(transpose)


@method("t")
def t(input):
    """Transpose a tensor of at most 2 dimensions."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return input if input.ndim < 2 else transpose(input, 0, 1)


Tensor.T = property(lambda self: self if self.ndim < 2 else permute(self, tuple(range(self.ndim))[::-1]))
Tensor.mT = property(lambda self: _mT(self))


def _mT(x):
    if x.ndim < 2:
        raise RuntimeError(f"mT: tensor.mT is only supported on matrices or batches of matrices. Got {x.ndim}-D")
    return transpose(x, -2, -1)


PERMUTE = OpDef("permute", lambda x, dims: np.transpose(x, dims), view=True)


@PERMUTE.defgrad
def _permute_grad(ctx, g):
    return g.permute(tuple(np.argsort(ctx.attrs["dims"])))


@method("permute")
def permute(input, *dims):
    """Reorder dimensions: ``x.permute(2, 0, 1)`` (a view)."""
    dims = shape_args("permute", dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute: number of dims don't match in permute (input has {nd} dims, got {len(dims)}: {list(dims)})"
        )
    canon = tuple(canonical_dim("permute", d, nd) for d in dims)
    if len(set(canon)) != nd:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return apply(PERMUTE, (input,), {"dims": canon})


def _squeeze_forward(x, dims):
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))


SQUEEZE = OpDef("squeeze", _squeeze_forward, view=True)


@SQUEEZE.defgrad
def _squeeze_grad(ctx, g):
    (x,) = ctx.saved
    return g.reshape(x._data.shape)


@method("squeeze")
def squeeze(input, dim=None):
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    shape = input._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        ds = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(i for i in (canonical_dim("squeeze", d, input.ndim) for d in ds) if shape and shape[i] == 1)
    return apply(SQUEEZE, (input,), {"dims": dims})


UNSQUEEZE = OpDef("unsqueeze", lambda x, dim: np.expand_dims(x, dim), view=True)


@UNSQUEEZE.defgrad
def _unsqueeze_grad(ctx, g):
    return g.squeeze(ctx.attrs["dim"])


@method("unsqueeze")
def unsqueeze(input, dim: int):
    """Insert a dimension of size 1 at ``dim`` (in range [-ndim-1, ndim])."""
    d = canonical_dim("unsqueeze", dim, input.ndim + 1)
    return apply(UNSQUEEZE, (input,), {"dim": d})


EXPAND = OpDef("expand", lambda x, shape: np.broadcast_to(x, shape), view=True)


@EXPAND.defgrad
def _expand_grad(ctx, g):
    return g  # the engine sums the gradient back over broadcast dimensions


@method("expand")
def expand(input, *sizes):
    """Broadcast size-1 dimensions to ``sizes`` without copying (-1 keeps a dimension)."""
    sizes = shape_args("expand", sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension ({list(sizes)})")
            s = cur
        if cur is not None and cur != 1 and cur != s:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}. Target sizes: {list(sizes)}. Tensor sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    if target == shape:
        return input
    return apply(EXPAND, (input,), {"shape": target})


@method("expand_as")
def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, size):
    """``input`` broadcast to ``size`` (same rules as ``expand``)."""
    return expand(input, tuple(size))


method("broadcast_to")(broadcast_to)


@method("flatten")
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one."""
    nd = input.ndim
    if nd == 0:
        return reshape(input, (1,))
    s, e = canonical_dim("flatten", start_dim, nd), canonical_dim("flatten", end_dim, nd)
    if s > e:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    shape = input._data.shape
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])
