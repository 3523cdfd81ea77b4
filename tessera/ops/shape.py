"""Shape and layout ops: reshape/view, transpose/permute, squeeze/unsqueeze, expand, cat/stack/split..."""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, is_tracing
from ..core.tensor import Size, Tensor, _inplace
from ._util import OpShapeError, apply, canonical_dim, method, shape_args, unary_rule

__all__ = [
    "reshape",
    "view_as",
    "reshape_as",
    "unflatten",
    "transpose",
    "swapaxes",
    "swapdims",
    "permute",
    "squeeze",
    "unsqueeze",
    "expand",
    "broadcast_to",
    "flatten",
    "t",
    "movedim",
    "moveaxis",
    "narrow",
    "select",
    "split",
    "split_with_sizes",
    "chunk",
    "unbind",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "row_stack",
    "column_stack",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "tensor_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "flip",
    "fliplr",
    "flipud",
    "rot90",
    "roll",
    "repeat",
    "tile",
    "repeat_interleave",
    "pad",
    "tril",
    "triu",
    "diag",
    "diagonal",
    "diag_embed",
    "one_hot",
    "broadcast_tensors",
    "broadcast_shapes",
    "meshgrid",
]


_SEQ = (tuple, list, Size)
_builtin_min, _builtin_max = min, max


def _to_attr_shape(g, shape, **attrs):
    """Rule of the scatter-back kernels (``slice_backward``...): the ``shape`` attribute, ``g``'s dtype."""
    return TensorMeta(shape, g.dtype)


def _shape(opname, args):
    """``f(2, 3)`` / ``f((2, 3))`` / ``f([2, 3])`` as a tuple; plain ints take a fast path."""
    if len(args) == 1 and args[0].__class__ in _SEQ:
        args = args[0]
    for s in args:
        if s.__class__ is not int:
            return shape_args(opname, args)
    return tuple(args)


def _dim(opname, d, nd):
    """``d`` made non-negative; plain in-range ints take a fast path."""
    if d.__class__ is int and -nd <= d < nd:
        return d + nd if d < 0 else d
    return canonical_dim(opname, d, nd)


def _canon_dims(opname, dims, nd):
    """Each dim made non-negative (IndexError naming ``opname`` when out of range)."""
    out = []
    for d in dims:
        if d.__class__ is not int or not -nd <= d < nd:
            d = canonical_dim(opname, d, nd)
        elif d < 0:
            d += nd
        out.append(d)
    return out


def _infer_shape(opname, shape, numel, in_shape):
    if -1 in shape or (shape and min(shape) < 0):
        neg = [i for i, s in enumerate(shape) if s == -1]
        if len(neg) > 1:
            raise OpError(f"{opname}: only one dimension can be inferred, got shape {list(shape)}")
        if any(s < -1 for s in shape):
            raise OpError(f"{opname}: invalid shape dimension in {list(shape)}")
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
            f"{opname}: shape '{list(shape)}' is invalid for input of size {numel} "
            f"(input shape {list(in_shape)})"
        )
    return shape


RESHAPE = OpDef("reshape", lambda x, shape: x.reshape(shape), view=True)


@RESHAPE.defshape
def _reshape_shape(x, shape):
    if math.prod(shape) != math.prod(x.shape):
        raise OpShapeError(f"reshape: shape '{list(shape)}' is invalid for input of shape {list(x.shape)}")
    return TensorMeta(shape, x.dtype)


@RESHAPE.defgrad
def _reshape_grad(ctx, g):
    return apply(RESHAPE, (g,), {"shape": _in_shape(ctx)})


@method("reshape")
def reshape(input, *shape):
    """``input`` with a new shape of the same number of elements (one dim may be -1); a view when possible.

    Example:
        >>> ts.arange(6).reshape(2, 3).shape
        tessera.Size([2, 3])
    """
    arr = input._data
    shape = _infer_shape("reshape", _shape("reshape", shape), arr.size, arr.shape)
    if shape == arr.shape and not input._requires_grad and not is_tracing():
        return _alias(input)  # an eager shortcut; a trace records the reshape
    return apply(RESHAPE, (input,), {"shape": shape})


def _alias(t):
    out = Tensor._wrap(t._data.view())
    out._version_counter = t._version_counter
    out._base = t._base if t._base is not None else t
    return out


@method("view")
def view(self, *shape):
    """Like ``reshape``, but the result always shares memory; non-viewable layouts raise.
    ``view(dtype)`` reinterprets the memory as another dtype (not differentiable)."""
    if len(shape) == 1 and shape[0].__class__ is _dt.dtype:
        return _view_dtype(self, shape[0])
    arr = self._data
    new = _infer_shape("view", _shape("view", shape), arr.size, arr.shape)
    if not arr.flags.c_contiguous and new != arr.shape:
        try:
            probe = arr.view()
            probe.shape = new
        except (AttributeError, ValueError):
            raise RuntimeError(
                f"view: view size is not compatible with input tensor's size and stride "
                f"(shape {list(self.shape)} -> {list(new)}); use .reshape(...) instead."
            ) from None
    return apply(RESHAPE, (self,), {"shape": new})


def _view_dtype(self, dtype):
    if dtype.np == self._data.dtype:
        return reshape(self, self._data.shape)
    try:
        arr = self._data.view(dtype.np)
    except ValueError as e:
        raise RuntimeError(
            f"view: cannot view a {self.dtype} tensor of shape {list(self.shape)} as {dtype}: {e}"
        ) from None
    out = Tensor._wrap(arr)
    out._version_counter = self._version_counter
    out._base = self._base if self._base is not None else self
    return out


TRANSPOSE = OpDef("transpose", lambda x, dim0, dim1: x.swapaxes(dim0, dim1), view=True)


@TRANSPOSE.defshape
def _transpose_shape(x, dim0, dim1):
    shape = list(x.shape)
    if shape:
        shape[dim0], shape[dim1] = shape[dim1], shape[dim0]
    return TensorMeta(shape, x.dtype)


@TRANSPOSE.defgrad
def _transpose_grad(ctx, g):
    return apply(TRANSPOSE, (g,), ctx.attrs)


@method("transpose")
def transpose(input, dim0: int, dim1: int):
    """Swap dimensions ``dim0`` and ``dim1`` (a view)."""
    nd = input._data.ndim
    if dim0.__class__ is not int or not -nd <= dim0 < nd:
        dim0 = _dim("transpose", dim0, nd)
    if dim1.__class__ is not int or not -nd <= dim1 < nd:
        dim1 = _dim("transpose", dim1, nd)
    return apply(TRANSPOSE, (input,), {"dim0": dim0 % nd if nd else 0, "dim1": dim1 % nd if nd else 0})


swapaxes = swapdims = transpose
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
        raise RuntimeError(
            f"mT: tensor.mT is only supported on matrices or batches of matrices. Got {x.ndim}-D"
        )
    return transpose(x, -2, -1)


PERMUTE = OpDef("permute", lambda x, dims: x.transpose(dims), view=True)


@PERMUTE.defshape
def _permute_shape(x, dims):
    if sorted(dims) != list(range(len(x.shape))):
        raise OpShapeError(f"permute: dims {list(dims)} are not a permutation of the dims of {list(x.shape)}")
    return TensorMeta(tuple(x.shape[d] for d in dims), x.dtype)


@PERMUTE.defgrad
def _permute_grad(ctx, g):
    dims = ctx.attrs["dims"]
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return apply(PERMUTE, (g,), {"dims": tuple(inv)})


@method("permute")
def permute(input, *dims):
    """Reorder dimensions: ``x.permute(2, 0, 1)`` (a view)."""
    if len(dims) == 1 and dims[0].__class__ in _SEQ:
        dims = dims[0]
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute: number of dims don't match in permute (input has {nd} dims, got {len(dims)}: "
            f"{list(dims)})"
        )
    canon = _canon_dims("permute", dims, nd)
    if len(set(canon)) != nd:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return apply(PERMUTE, (input,), {"dims": tuple(canon)})


def _squeeze_forward(x, dims):
    return x.reshape([s for i, s in enumerate(x.shape) if i not in dims])


SQUEEZE = OpDef("squeeze", _squeeze_forward, view=True)


@SQUEEZE.defshape
def _squeeze_shape(x, dims):
    shape = tuple(x.shape)
    if any(shape[d] != 1 for d in dims):
        raise OpShapeError(f"squeeze: dims {list(dims)} of shape {list(shape)} are not all of size 1")
    return TensorMeta(tuple(s for i, s in enumerate(shape) if i not in dims), x.dtype)


@SQUEEZE.defgrad
def _squeeze_grad(ctx, g):
    return apply(RESHAPE, (g,), {"shape": _in_shape(ctx)})


@method("squeeze")
def squeeze(input, dim=None):
    """Remove dimensions of size 1 (all of them, or those in ``dim``: an int or a tuple of ints)."""
    shape = input._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        ds = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        nd = len(shape)
        dims = tuple(i for i in _canon_dims("squeeze", ds, nd) if nd and shape[i] == 1)
    return apply(SQUEEZE, (input,), {"dims": dims})


UNSQUEEZE = OpDef("unsqueeze", lambda x, dim: x[(slice(None),) * dim + (None,)], view=True)


@UNSQUEEZE.defshape
def _unsqueeze_shape(x, dim):
    shape = tuple(x.shape)
    return TensorMeta(shape[:dim] + (1,) + shape[dim:], x.dtype)


@UNSQUEEZE.defgrad
def _unsqueeze_grad(ctx, g):
    return apply(SQUEEZE, (g,), {"dims": (ctx.attrs["dim"],)})


@method("unsqueeze")
def unsqueeze(input, dim: int):
    """Insert a dimension of size 1 at ``dim`` (in range [-ndim-1, ndim])."""
    nd = input._data.ndim + 1
    if dim.__class__ is not int or not -nd <= dim < nd:
        dim = _dim("unsqueeze", dim, nd)
    elif dim < 0:
        dim += nd
    return apply(UNSQUEEZE, (input,), {"dim": dim})


def _expand_forward(x, shape):
    if x.flags.c_contiguous and x.size:
        lead = len(shape) - x.ndim
        strides = [0] * len(shape)
        xs = x.strides
        for i, n in enumerate(x.shape):
            if n != 1 or shape[lead + i] == 1:
                strides[lead + i] = xs[i]
        try:
            out = np.ndarray(shape, x.dtype, x, 0, strides)  # much cheaper than np.broadcast_to
        except (TypeError, ValueError):
            return np.broadcast_to(x, shape)
        out.flags.writeable = False
        return out
    return np.broadcast_to(x, shape)


EXPAND = OpDef("expand", _expand_forward, view=True)


@EXPAND.defshape
def _expand_shape(x, shape):
    xs = tuple(x.shape)
    lead = len(shape) - len(xs)
    if lead < 0 or any(n != 1 and n != shape[lead + i] for i, n in enumerate(xs)):
        raise OpShapeError(f"expand: shape {list(xs)} cannot be expanded to {list(shape)}")
    return TensorMeta(shape, x.dtype)


@EXPAND.defgrad
def _expand_grad(ctx, g):
    return g  # the engine sums the gradient back over broadcast dimensions


@method("expand")
def expand(input, *sizes):
    """Broadcast size-1 dimensions to ``sizes`` without copying (-1 keeps a dimension)."""
    sizes = _shape("expand", sizes)
    shape = input._data.shape
    if sizes == shape:
        return input
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})"
        )
    target = list(sizes)
    for i in range(lead):
        if sizes[i] < 0:
            raise RuntimeError(
                f"expand: -1 is not allowed in a leading, non-existing dimension ({list(sizes)})"
                if sizes[i] == -1
                else f"expand: invalid size {sizes[i]} in {list(sizes)}"
            )
    for i, cur in enumerate(shape):
        s = sizes[lead + i]
        if s != cur:
            if s == -1:
                target[lead + i] = cur
            elif cur != 1 or s < 0:
                raise RuntimeError(
                    f"expand: the expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                    f"non-singleton dimension {lead + i}. Target sizes: {list(sizes)}. Tensor sizes: "
                    f"{list(shape)}"
                )
    target = tuple(target)
    if target == shape:
        return input
    return apply(EXPAND, (input,), {"shape": target})


@method("expand_as")
def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, other._data.shape)


def broadcast_to(input, size):
    """``input`` broadcast to ``size`` (same rules as ``expand``)."""
    return expand(input, tuple(size))


method("broadcast_to")(broadcast_to)


@method("flatten")
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one (``input`` itself when nothing merges)."""
    shape = input._data.shape
    nd = len(shape)
    if nd == 0:
        return reshape(input, (1,))
    s, e = _canon_dims("flatten", (start_dim, end_dim), nd)
    if s > e:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    if s == e:
        return input
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return apply(RESHAPE, (input,), {"shape": shape[:s] + (n,) + shape[e + 1 :]})


def _in_shape(ctx, i=0):
    return ctx.input_shape(i)


# -- slicing along one dimension (narrow / split / chunk / unbind, and the gradients of cat / stack) -------
def _slice_index(dim, start, stop, step, index):
    if index is None:
        return (slice(None),) * dim + (slice(start, stop, step),)
    return (slice(None),) * dim + (index, Ellipsis)  # Ellipsis keeps a 0-d result an ndarray view


def _slice_forward(x, dim, start=None, stop=None, step=None, index=None):
    return x[_slice_index(dim, start, stop, step, index)]


SLICE = OpDef("slice", _slice_forward, view=True)


@SLICE.defshape
def _slice_shape(x, dim, start=None, stop=None, step=None, index=None):
    shape = list(x.shape)
    if index is not None:
        if not -shape[dim] <= index < shape[dim]:
            raise OpShapeError(f"slice: index {index} out of range for dim {dim} of shape {shape}")
        del shape[dim]
    else:
        shape[dim] = len(range(*slice(start, stop, step).indices(shape[dim])))
    return TensorMeta(shape, x.dtype)


def _slice_backward_forward(g, shape, dim, start=None, stop=None, step=None, index=None):
    out = np.zeros(shape, dtype=g.dtype)
    out[_slice_index(dim, start, stop, step, index)] = g
    return out


SLICE_BACKWARD = OpDef("slice_backward", _slice_backward_forward, shape_rule=_to_attr_shape)


@SLICE.defgrad
def _slice_grad(ctx, g):
    return apply(SLICE_BACKWARD, (g,), {"shape": _in_shape(ctx), **ctx.attrs})


@SLICE_BACKWARD.defgrad
def _slice_backward_grad(ctx, g):
    attrs = dict(ctx.attrs)
    del attrs["shape"]
    return apply(SLICE, (g,), attrs)


def _int_arg(opname, name, v):
    if v.__class__ is int:
        return v
    if isinstance(v, Tensor):
        if v._data.ndim != 0 or v._data.dtype.kind not in "iu":
            raise TypeError(f"{opname}: argument '{name}' must be an int or a 0-dim integer tensor")
        return int(v._data)
    if not isinstance(v, numbers.Integral) or isinstance(v, bool):
        raise TypeError(f"{opname}: argument '{name}' must be an int, not {type(v).__name__}")
    return int(v)


@method("narrow")
def narrow(input, dim: int, start, length: int):
    """The slice ``start : start + length`` of dimension ``dim`` (a view; ``start`` may be negative).

    Example:
        >>> ts.arange(6).narrow(0, 2, 3)
        tensor([2, 3, 4])
    """
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow: cannot be applied to a 0-dim tensor.")
    d = _dim("narrow", dim, len(shape))
    start, length = _int_arg("narrow", "start", start), _int_arg("narrow", "length", length)
    n = shape[d]
    if not -n <= start <= n:
        raise IndexError(
            f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return apply(SLICE, (input,), {"dim": d, "start": start, "stop": start + length})


@method("split")
def split(tensor, split_size_or_sections, dim: int = 0):
    """Split into pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes.

    Example:
        >>> [t.tolist() for t in ts.arange(5).split([2, 3])]
        [[0, 1], [2, 3, 4]]
    """
    shape = tensor._data.shape
    if not shape:
        raise RuntimeError("split: expected a tensor with at least 1 dimension, got a 0-dim tensor")
    d = _dim("split", dim, len(shape))
    n = shape[d]
    if isinstance(split_size_or_sections, (numbers.Integral, Tensor)):
        size = _int_arg("split", "split_size", split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(
                f"split: split_size must be a positive integer, got {size} (dim {d} has size {n})"
            )
        if n == 0:
            sizes = [0]
        else:
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [_int_arg("split", "split_sizes", s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(
                f"split: split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {d}), but got split_sizes={sizes}"
            )
    out = []
    start = 0
    for s in sizes:
        out.append(apply(SLICE, (tensor,), {"dim": d, "start": start, "stop": start + s}))
        start += s
    return tuple(out)


def split_with_sizes(input, split_sizes, dim: int = 0):
    """Split into pieces of the listed sizes along ``dim`` (they must sum to its length).

    Example:
        >>> [t.tolist() for t in ts.split_with_sizes(ts.arange(5), [2, 3])]
        [[0, 1], [2, 3, 4]]
    """
    return _renamed("split_with_sizes", split, input, list(split_sizes), dim)


method("split_with_sizes")(split_with_sizes)


@method("tensor_split")
def tensor_split(input, indices_or_sections, dim: int = 0):
    """Split into ``n`` nearly equal pieces (the first ``size % n`` one longer), or at the given indices."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("tensor_split: expected at least a 1-dimensional tensor, but got a 0-dim tensor")
    d = _dim("tensor_split", dim, len(shape))
    n = shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._data.dtype.kind not in "iu" or ios._data.ndim > 1:
            raise RuntimeError("tensor_split: indices_or_sections must be an int64 tensor with 0 or 1 dims")
        ios = ios._data.tolist()
    if isinstance(ios, numbers.Integral):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        bounds = [0]
        for i in range(k):
            bounds.append(bounds[-1] + q + (1 if i < r else 0))
    else:
        bounds = [0] + [min(max(int(i) + n if i < 0 else int(i), 0), n) for i in ios] + [n]
    return tuple(
        apply(SLICE, (input,), {"dim": d, "start": a, "stop": max(a, b)})
        for a, b in zip(bounds[:-1], bounds[1:])
    )


def _split_dir(opname, input, ios, dim, min_nd):
    nd = input._data.ndim
    if nd < min_nd:
        raise RuntimeError(f"{opname}: requires a tensor with at least {min_nd} dimension(s), but got {nd}")
    if isinstance(ios, numbers.Integral):
        n = input._data.shape[dim]
        if ios <= 0 or n % ios:
            raise RuntimeError(
                f"{opname}: attempted to split along dimension {dim}, but the size of the dimension {n} is "
                f"not divisible by the split_size {ios}!"
            )
    return tensor_split(input, ios, dim)


@method("hsplit")
def hsplit(input, indices_or_sections):
    """``tensor_split`` along dim 1 (dim 0 for 1-d tensors); an int must divide the size evenly."""
    return _split_dir("hsplit", input, indices_or_sections, 0 if input._data.ndim == 1 else 1, 1)


@method("vsplit")
def vsplit(input, indices_or_sections):
    """``tensor_split`` along dim 0 of a tensor with at least 2 dimensions."""
    return _split_dir("vsplit", input, indices_or_sections, 0, 2)


@method("dsplit")
def dsplit(input, indices_or_sections):
    """``tensor_split`` along dim 2 of a tensor with at least 3 dimensions."""
    return _split_dir("dsplit", input, indices_or_sections, 2, 3)


@method("chunk")
def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of equal size ``ceil(n / chunks)`` (fewer if ``n`` is small)."""
    chunks = _int_arg("chunk", "chunks", chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: expects `chunks` to be greater than 0, got: {chunks}")
    shape = input._data.shape
    if not shape:
        raise RuntimeError("chunk: expected a tensor with at least 1 dimension, got a 0-dim tensor")
    d = _dim("chunk", dim, len(shape))
    n = shape[d]
    size = -(-n // chunks)
    if size == 0:
        return tuple(apply(SLICE, (input,), {"dim": d, "start": 0, "stop": 0}) for _ in range(chunks))
    return tuple(
        apply(SLICE, (input,), {"dim": d, "start": i, "stop": min(i + size, n)}) for i in range(0, n, size)
    )


@method("unbind")
def unbind(input, dim: int = 0):
    """The slices of ``input`` along ``dim`` as a tuple of views with that dimension removed."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = _dim("unbind", dim, len(shape))
    return tuple(apply(SLICE, (input,), {"dim": d, "index": i}) for i in range(shape[d]))


def select(input, dim: int, index: int):
    """``input`` indexed at ``index`` along ``dim`` (a view with that dimension removed)."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select: cannot be applied to a 0-dim tensor.")
    d = _dim("select", dim, len(shape))
    i = _int_arg("select", "index", index)
    n = shape[d]
    if not -n <= i < n:
        raise IndexError(f"select: index {i} out of range for tensor of size {list(shape)} at dimension {d}")
    return apply(SLICE, (input,), {"dim": d, "index": i + n if i < 0 else i})


# -- concatenation ----------------------------------------------------------------------------------------
def _cat_forward(*arrays, dim):
    return np.concatenate(arrays, axis=dim)


CAT = OpDef("cat", _cat_forward, promote=True)


@CAT.defshape
def _cat_shape(*tensors, dim):
    first = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], 1):
        s = tuple(t.shape)
        if len(s) != len(first):
            raise OpError(
                f"cat: tensors must have same number of dimensions: got {len(first)} and {len(s)} "
                f"(tensor number {i} has shape {tuple(s)})"
            )
        if s[:dim] != first[:dim] or s[dim + 1 :] != first[dim + 1 :]:
            raise OpError(
                f"cat: sizes of tensors must match except in dimension {dim}; got {tuple(first)} and "
                f"{tuple(s)} (tensor number {i} in the list)"
            )
    shape = first[:dim] + (sum(t.shape[dim] for t in tensors),) + first[dim + 1 :]
    return TensorMeta(shape, _dt.result_type(*tensors))


@CAT.defgrad
def _cat_grad(ctx, g):
    d = ctx.attrs["dim"]
    out = []
    start = 0
    for i, need in enumerate(ctx.needs_grad):
        stop = start + ctx.input_shape(i)[d]
        out.append(apply(SLICE, (g,), {"dim": d, "start": start, "stop": stop}) if need else None)
        start = stop
    return out


def _tensor_seq(opname, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{opname}: expected a sequence of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{opname}: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{opname}: expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    return tensors


def cat(tensors, dim: int = 0, *, out=None):
    """Concatenate tensors along an existing dimension (dtypes are promoted as in PyTorch).

    Example:
        >>> ts.cat([ts.zeros(1, 2), ts.ones(2, 2)]).shape
        tessera.Size([3, 2])
    """
    if tensors.__class__ is not list and tensors.__class__ is not tuple or not tensors:
        tensors = _tensor_seq("cat", tensors)
    if out is not None:
        raise NotImplementedError("cat: the out= argument is not supported")
    nd = -1
    legacy = False
    for i, t in enumerate(tensors):
        if t.__class__ is not Tensor and not isinstance(t, Tensor):
            _tensor_seq("cat", tensors)
        n = t._data.ndim
        if n == 1 and t._data.shape[0] == 0:
            legacy = True
            continue
        if n == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
        if nd < 0:
            nd = n
    if nd < 0:  # only legacy empty 1-d tensors
        return apply(CAT, tuple(tensors), {"dim": 0})
    if dim.__class__ is not int or not -nd <= dim < nd:
        dim = _dim("cat", dim, nd)
    d = dim + nd if dim < 0 else dim
    if legacy and nd != 1:
        # PyTorch skips legacy empty 1-d tensors but keeps them in type promotion.
        target = _dt.result_type(*tensors)
        tensors = [t.to(target) for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)]
    return apply(CAT, tuple(tensors), {"dim": d})


concat = concatenate = cat


def _stack_forward(*arrays, dim):
    a0 = arrays[0]  # all of one dtype here: the dispatcher promoted them
    shape = a0.shape
    for a in arrays:
        if a.shape != shape:
            raise ValueError("all input arrays must have the same shape")
    out = np.empty(shape[:dim] + (len(arrays),) + shape[dim:], a0.dtype)
    pre = (slice(None),) * dim
    for i, a in enumerate(arrays):
        out[pre + (i,)] = a
    return out


STACK = OpDef("stack", _stack_forward, promote=True)


@STACK.defshape
def _stack_shape(*tensors, dim):
    first = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], 1):
        if tuple(t.shape) != first:
            raise OpError(
                f"stack: expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    return TensorMeta(first[:dim] + (len(tensors),) + first[dim:], _dt.result_type(*tensors))


@STACK.defgrad
def _stack_grad(ctx, g):
    d = ctx.attrs["dim"]
    return [
        apply(SLICE, (g,), {"dim": d, "index": i}) if need else None for i, need in enumerate(ctx.needs_grad)
    ]


def stack(tensors, dim: int = 0, *, out=None):
    """Join same-shaped tensors along a new dimension ``dim``.

    Example:
        >>> ts.stack([ts.zeros(2), ts.ones(2)], dim=1).shape
        tessera.Size([2, 2])
    """
    tensors = _tensor_seq("stack", tensors)
    if out is not None:
        raise NotImplementedError("stack: the out= argument is not supported")
    d = _dim("stack", dim, tensors[0]._data.ndim + 1)
    return apply(STACK, tuple(tensors), {"dim": d})


def _atleast(opname, n, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and not single:
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{opname}: expected Tensors, got {type(t).__name__}")
        s = t._data.shape
        if len(s) >= n:
            out.append(t)
        elif n == 1 or len(s) == 0:
            out.append(reshape(t, (1,) * n))
        elif n == 2:
            out.append(reshape(t, (1,) + s))
        else:
            out.append(reshape(t, (1,) + s + (1,) if len(s) == 1 else s + (1,)))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Tensors with at least one dimension (0-d become shape (1,)); one tensor in, one tensor out."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors):
    """Tensors with at least two dimensions (a 1-d tensor of size n becomes (1, n))."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors):
    """Tensors with at least three dimensions ((n,) -> (1, n, 1); (m, n) -> (m, n, 1))."""
    return _atleast("atleast_3d", 3, tensors)


def hstack(tensors):
    """Concatenate horizontally: along dim 0 for 1-d tensors, dim 1 otherwise."""
    ts_ = atleast_1d(tuple(_tensor_seq("hstack", tensors)))
    return cat(ts_, 0 if ts_[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate vertically (along dim 0) after making every tensor at least 2-d."""
    return cat(atleast_2d(tuple(_tensor_seq("vstack", tensors))), 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate depth-wise (along dim 2) after making every tensor at least 3-d."""
    return cat(atleast_3d(tuple(_tensor_seq("dstack", tensors))), 2)


def column_stack(tensors):
    """Stack 0-d/1-d tensors as columns (and 2-d tensors as they are) along dim 1."""
    tensors = _tensor_seq("column_stack", tensors)
    cols = [reshape(t, (t.numel(), 1)) if t._data.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


# -- reshaping helpers -------------------------------------------------------------------------------------
@method("view_as")
def view_as(input, other):
    """``input.view(other.shape)``."""
    return view(input, other._data.shape)


@method("reshape_as")
def reshape_as(input, other):
    """``input.reshape(other.shape)``."""
    return reshape(input, other._data.shape)


@method("unflatten")
def unflatten(input, dim: int, sizes):
    """Expand dimension ``dim`` into ``sizes`` (one entry may be -1).

    Example:
        >>> ts.zeros(2, 6).unflatten(1, (3, -1)).shape
        tessera.Size([2, 3, 2])
    """
    shape = input._data.shape
    d = _dim("unflatten", dim, len(shape))
    sizes = shape_args("unflatten", (sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = shape[d]
    try:
        sizes = _infer_shape("unflatten", sizes, n, (n,))
    except OpError:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) in "
            "the input tensor"
        ) from None
    return reshape(input, shape[:d] + sizes + shape[d + 1 :])


def _dim_list(opname, dims, nd):
    if isinstance(dims, numbers.Integral):
        dims = (dims,)
    dims = tuple(_dim(opname, d, nd) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{opname}: repeated dim in {list(dims)}")
    return dims


@method("movedim", "moveaxis")
def movedim(input, source, destination):
    """Move dimension(s) ``source`` to position(s) ``destination``; the others keep their order (a view)."""
    nd = input._data.ndim
    if (
        source.__class__ is int
        and destination.__class__ is int
        and -nd <= source < nd
        and -nd <= destination < nd
    ):
        order = list(range(nd))
        order.insert(destination % nd, order.pop(source % nd))
        return apply(PERMUTE, (input,), {"dims": tuple(order)})
    src = _dim_list("movedim", source, nd)
    dst = _dim_list("movedim", destination, nd)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain the same "
            f"number of dims as destination ({list(dst)} dims)"
        )
    order = [d for d in range(nd) if d not in src]
    for dd, s in sorted(zip(dst, src)):
        order.insert(dd, s)
    if order == list(range(nd)):
        return reshape(input, input._data.shape)
    return apply(PERMUTE, (input,), {"dims": tuple(order)})


moveaxis = movedim


# -- flips, rolls, repeats ---------------------------------------------------------------------------------
def _flip_forward(x, dims):
    idx = [slice(None)] * x.ndim
    for d in dims:
        idx[d] = slice(None, None, -1)
    return x[tuple(idx)].copy()


FLIP = OpDef("flip", _flip_forward, shape_rule=unary_rule("flip"))


@FLIP.defgrad
def _flip_grad(ctx, g):
    return apply(FLIP, (g,), ctx.attrs)


@method("flip")
def flip(input, *dims):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    if len(dims) == 1 and not isinstance(dims[0], numbers.Integral):
        dims = dims[0]
    dims = _canon_dims("flip", (dims,) if dims.__class__ is int else dims, input._data.ndim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(
            f"flip: dims has duplicates, original flip dims size={len(dims)}, but unique flip "
            f"dims size={len(set(dims))}"
        )
    return apply(FLIP, (input,), {"dims": tuple(dims)})


@method("rot90")
def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first towards the second."""
    nd = input._data.ndim
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = _canon_dims("rot90", dims, nd)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, got dim0 = {d0} and dim1 = {d1}")
    k = _int_arg("rot90", "k", k) % 4
    if k == 1:
        return transpose(apply(FLIP, (input,), {"dims": (d1,)}), d0, d1)
    if k == 2:
        return apply(FLIP, (input,), {"dims": (d0, d1)})
    if k == 3:
        return transpose(apply(FLIP, (input,), {"dims": (d0,)}), d0, d1)
    return apply(FLIP, (input,), {"dims": ()})


@method("fliplr")
def fliplr(input):
    """Flip a tensor of at least 2 dimensions left/right (dim 1)."""
    if input._data.ndim < 2:
        raise RuntimeError(f"fliplr: input tensor must be at least 2-D, got {input._data.ndim}-D")
    return apply(FLIP, (input,), {"dims": (1,)})


@method("flipud")
def flipud(input):
    """Flip a tensor of at least 1 dimension up/down (dim 0)."""
    if input._data.ndim < 1:
        raise RuntimeError("flipud: input tensor must be at least 1-D, got 0-D")
    return apply(FLIP, (input,), {"dims": (0,)})


def _roll_forward(x, shifts, dims):
    if dims is None:
        return _roll_forward(x.reshape(-1), (shifts,), (0,)).reshape(x.shape)
    out = x
    for s, d in zip(shifts, dims):
        n = out.shape[d]
        s = s % n if n else 0
        if s:
            pre = (slice(None),) * d
            out = np.concatenate((out[pre + (slice(n - s, None),)], out[pre + (slice(0, n - s),)]), axis=d)
    return out.copy() if out is x else out


ROLL = OpDef("roll", _roll_forward, shape_rule=unary_rule("roll"))


@ROLL.defgrad
def _roll_grad(ctx, g):
    shifts = ctx.attrs["shifts"]
    neg = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
    return apply(ROLL, (g,), {"shifts": neg, "dims": ctx.attrs["dims"]})


@method("roll")
def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` by ``shifts`` (ints or tuples); ``dims=None`` rolls the
    flattened tensor."""
    nd = input._data.ndim
    if isinstance(shifts, numbers.Integral):
        shifts = (int(shifts),)
    else:
        shifts = tuple(_int_arg("roll", "shifts", s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0")
        return apply(ROLL, (input,), {"shifts": shifts[0], "dims": None})
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(dims)}"
        )
    dims = tuple(_dim("roll", d, nd) for d in dims)
    return apply(ROLL, (input,), {"shifts": shifts, "dims": dims})


REPEAT = OpDef("repeat", lambda x, sizes: np.tile(x, sizes))


@REPEAT.defshape
def _repeat_shape(x, sizes):
    xs = tuple(x.shape)
    xs = (1,) * (len(sizes) - len(xs)) + xs
    return TensorMeta(tuple(r * s for r, s in zip(sizes, xs)), x.dtype)


@REPEAT.defgrad
def _repeat_grad(ctx, g):
    sizes = ctx.attrs["sizes"]
    in_shape = _in_shape(ctx)
    xs = (1,) * (len(sizes) - len(in_shape)) + in_shape
    split_shape = []
    for r, s in zip(sizes, xs):
        split_shape += [r, s]
    g = reshape(g, tuple(split_shape)).sum(tuple(range(0, 2 * len(sizes), 2)))
    return reshape(g, in_shape)


@method("repeat")
def repeat(input, *sizes):
    """Tile ``input`` ``sizes[i]`` times along each dimension (PyTorch semantics: ``len(sizes) >= ndim``,
    extra leading sizes add dimensions).

    Example:
        >>> ts.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    sizes = shape_args("repeat", sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError(
            f"repeat: number of dimensions of repeat dims ({len(sizes)}) can not be smaller than number of "
            f"dimensions of tensor ({input._data.ndim})"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: trying to create tensor with negative dimension: {list(sizes)}")
    return apply(REPEAT, (input,), {"sizes": sizes})


@method("tile")
def tile(input, *dims):
    """Like ``repeat``, but ``dims`` shorter than ``input.ndim`` is padded with leading ones."""
    dims = shape_args("tile", dims)
    nd = input._data.ndim
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(input, dims)


def _repeat_interleave_forward(x, repeats, dim):
    return np.repeat(x, repeats, axis=dim)


REPEAT_INTERLEAVE = OpDef("repeat_interleave", _repeat_interleave_forward)


@REPEAT_INTERLEAVE.defshape
def _repeat_interleave_shape(x, repeats, dim):
    shape = list(x.shape)
    shape[dim] *= repeats
    return TensorMeta(shape, x.dtype)


@REPEAT_INTERLEAVE.defgrad
def _repeat_interleave_grad(ctx, g):
    d, r = ctx.attrs["dim"], ctx.attrs["repeats"]
    shape = _in_shape(ctx)
    return reshape(g, shape[:d] + (shape[d], r) + shape[d + 1 :]).sum(d + 1)


@method("repeat_interleave")
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (``dim=None``: of the flattened tensor).
    ``repeats`` is an int or a 1-d integer tensor with one count per element.

    Example:
        >>> ts.tensor([1, 2]).repeat_interleave(2)
        tensor([1, 1, 2, 2])
    """
    if repeats is None:  # ts.repeat_interleave(counts): arange(len(counts)) repeated
        counts = input
        if counts._data.ndim != 1 or counts._data.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be a 1-d integer tensor")
        return Tensor._wrap(np.repeat(np.arange(counts._data.shape[0]), counts._data))
    if dim is None:
        input = reshape(input, (-1,))
        d = 0
    else:
        d = _dim("repeat_interleave", dim, input._data.ndim)
    if input._data.ndim == 0:
        input = reshape(input, (1,))
    n = input._data.shape[d]
    rep_tensor = isinstance(repeats, Tensor) and repeats._data.ndim == 1
    if rep_tensor and not (repeats._data.shape[0] == 1 and n != 1):
        reps = repeats._data
        if reps.dtype.kind not in "iu":
            raise RuntimeError(f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}")
        if reps.shape[0] != n:
            raise RuntimeError(
                f"repeat_interleave: repeats must have the same size as input along dim, but got "
                f"repeats.size(0) = {reps.shape[0]} and input.size({d}) = {n}"
            )
        if (reps < 0).any():
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        idx = tuple(np.repeat(np.arange(n), reps).tolist())
        out = apply(TAKE_DIMS, (input,), {"dims": (d,), "indices": (idx,)})
    else:
        if isinstance(repeats, Tensor):
            repeats = reshape(repeats, ())
        r = _int_arg("repeat_interleave", "repeats", repeats)
        if r < 0:
            raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {r}")
        out = apply(REPEAT_INTERLEAVE, (input,), {"repeats": r, "dim": d})
    if output_size is not None and out._data.shape[d] != output_size:
        raise RuntimeError(
            f"repeat_interleave: output_size {output_size} does not match the result size "
            f"{out._data.shape[d]}"
        )
    return out


# -- gathering along dimensions by static index lists (non-constant padding, tensor repeats) ----------------
def _take_dims_forward(x, dims, indices):
    for d, idx in zip(dims, indices):
        x = np.take(x, idx, axis=d)
    return x


TAKE_DIMS = OpDef("take_dims", _take_dims_forward)


@TAKE_DIMS.defshape
def _take_dims_shape(x, dims, indices):
    shape = list(x.shape)
    for d, idx in zip(dims, indices):
        if idx and not -shape[d] <= _builtin_min(idx) <= _builtin_max(idx) < shape[d]:
            raise OpShapeError(f"take_dims: indices out of range for dim {d} of shape {list(x.shape)}")
        shape[d] = len(idx)
    return TensorMeta(shape, x.dtype)


def _take_dims_backward_forward(g, shape, dims, indices):
    for d, idx in zip(reversed(dims), reversed(indices)):
        cur = list(g.shape)
        cur[d] = shape[d]
        out = np.zeros(cur, dtype=g.dtype)
        np.add.at(np.moveaxis(out, d, 0), np.asarray(idx, dtype=np.intp), np.moveaxis(g, d, 0))
        g = out
    return g


TAKE_DIMS_BACKWARD = OpDef("take_dims_backward", _take_dims_backward_forward, shape_rule=_to_attr_shape)


@TAKE_DIMS.defgrad
def _take_dims_grad(ctx, g):
    return apply(TAKE_DIMS_BACKWARD, (g,), {"shape": _in_shape(ctx), **ctx.attrs})


@TAKE_DIMS_BACKWARD.defgrad
def _take_dims_backward_grad(ctx, g):
    return apply(TAKE_DIMS, (g,), {"dims": ctx.attrs["dims"], "indices": ctx.attrs["indices"]})


# -- padding -----------------------------------------------------------------------------------------------
def _pad_constant_forward(x, pads, value=0):
    """``pads``: one (before, after) pair per dimension; negative entries crop."""
    if any(b < 0 or a < 0 for b, a in pads):
        x = x[tuple(slice(-b if b < 0 else 0, n + a if a < 0 else n) for n, (b, a) in zip(x.shape, pads))]
    shape = []
    inner = []
    for n, (b, a) in zip(x.shape, pads):
        b = b if b > 0 else 0
        shape.append(n + b + (a if a > 0 else 0))
        inner.append(slice(b, b + n))
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[tuple(inner)] = x
    return out


PAD = OpDef("pad", _pad_constant_forward)


@PAD.defshape
def _pad_shape(x, pads, value=0):
    shape = tuple(n + b + a for n, (b, a) in zip(x.shape, pads))
    if len(pads) != len(x.shape) or _builtin_min(shape, default=0) < 0:
        raise OpShapeError(f"pad: padding {list(pads)} does not fit an input of shape {list(x.shape)}")
    return TensorMeta(shape, x.dtype)


@PAD.defgrad
def _pad_grad(ctx, g):
    return apply(PAD, (g,), {"pads": tuple((-b, -a) for b, a in ctx.attrs["pads"]), "value": 0})


@functools.lru_cache(maxsize=512)
def _pad_indices(npmode, n, before, after):
    return tuple(np.pad(np.arange(n), (before, after), mode=npmode).tolist())


_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode: str = "constant", value=None):
    """Pad ``input`` as ``torch.nn.functional.pad``: ``pad = (left, right, top, bottom, ...)`` pairs apply
    from the last dimension backwards. Modes: 'constant' (``value``, negative pads crop), 'reflect',
    'replicate', 'circular'.

    Example:
        >>> ts.pad(ts.ones(1, 2), (1, 1)).tolist()
        [[0.0, 1.0, 1.0, 0.0]]
    """
    if pad.__class__ is not tuple or any(p.__class__ is not int for p in pad):
        try:
            pad = tuple(_int_arg("pad", "pad", p) for p in pad)
        except TypeError:
            raise TypeError(f"pad: argument 'pad' must be a tuple of ints, got {pad!r}") from None
    shape = input._data.shape
    nd = len(shape)
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(pad)} ({pad})")
    k = len(pad) // 2
    if k > nd:
        raise RuntimeError(
            f"pad: padding length ({len(pad)}) too large for a {nd}-d input of shape {list(shape)}"
        )
    pairs = [(0, 0)] * (nd - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]
    if mode == "constant":
        for n, (b, a) in zip(shape, pairs):
            if n + b + a < 0:
                raise RuntimeError(f"pad: the input of shape {list(shape)} is too small for padding {pad}")
        return apply(PAD, (input,), {"pads": tuple(pairs), "value": 0 if value is None else value})
    npmode = _NP_PAD_MODE.get(mode)
    if npmode is None:
        raise NotImplementedError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if value not in (None, 0):
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take in value argument")
    if k > 3 or nd < k + 1:
        raise NotImplementedError(
            f"pad: {mode} padding of the last {k} dims needs a {k + 1}-d or {k + 2}-d input; got shape "
            f"{list(shape)}"
        )
    dims, indices = [], []
    for d in range(nd - k, nd):
        b, a = pairs[d]
        n = shape[d]
        if b < 0 or a < 0:
            raise NotImplementedError(f"pad: negative padding is only supported in constant mode, got {pad}")
        if (mode == "reflect" and (b >= n or a >= n)) or (mode == "circular" and (b > n or a > n)):
            raise RuntimeError(
                f"pad: padding size should be less than{'' if mode == 'reflect' else ' or equal to'} the "
                f"corresponding input dimension, but got padding ({b}, {a}) at dimension {d} of input "
                f"{list(shape)}"
            )
        if n == 0 and (b or a):
            raise RuntimeError(f"pad: cannot {mode}-pad an empty dimension {d} of input {list(shape)}")
        if b or a:
            dims.append(d)
            indices.append(_pad_indices(npmode, n, b, a))
    if not dims:
        return apply(PAD, (input,), {"pads": tuple(pairs), "value": 0})
    return apply(TAKE_DIMS, (input,), {"dims": tuple(dims), "indices": tuple(indices)})


# -- triangles and diagonals -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _tri_mask(n, m, k, upper):
    mask = np.tri(n, m, k - 1 if upper else k, dtype=bool)
    return ~mask if upper else mask


def _tril_forward(x, diagonal=0):
    return np.where(_tri_mask(x.shape[-2], x.shape[-1], diagonal, False), x, np.zeros((), x.dtype))


def _triu_forward(x, diagonal=0):
    return np.where(_tri_mask(x.shape[-2], x.shape[-1], diagonal, True), x, np.zeros((), x.dtype))


TRIL = OpDef("tril", _tril_forward, shape_rule=unary_rule("tril"))
TRIU = OpDef("triu", _triu_forward, shape_rule=unary_rule("triu"))


@TRIL.defgrad
def _tril_grad(ctx, g):
    return apply(TRIL, (g,), ctx.attrs)


@TRIU.defgrad
def _triu_grad(ctx, g):
    return apply(TRIU, (g,), ctx.attrs)


@method("tril")
def tril(input, diagonal: int = 0):
    """The lower triangle of the last two dimensions (elements above ``diagonal`` zeroed)."""
    if input._data.ndim < 2:
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got {list(input.shape)}")
    return apply(TRIL, (input,), {"diagonal": _int_arg("tril", "diagonal", diagonal)})


@method("triu")
def triu(input, diagonal: int = 0):
    """The upper triangle of the last two dimensions (elements below ``diagonal`` zeroed)."""
    if input._data.ndim < 2:
        raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got {list(input.shape)}")
    return apply(TRIU, (input,), {"diagonal": _int_arg("triu", "diagonal", diagonal)})


def _diag_view(x, offset, dim1, dim2):
    v = np.diagonal(x, offset, dim1, dim2)
    if x.flags.writeable:
        v.flags.writeable = True  # NumPy hands out read-only diagonals; PyTorch's are writable views
    return v


def _diagonal_forward(x, offset, dim1, dim2, copy=False):
    v = _diag_view(x, offset, dim1, dim2)
    return v.copy() if copy else v


DIAGONAL = OpDef("diagonal", _diagonal_forward, view=True)


@DIAGONAL.defshape
def _diagonal_shape(x, offset, dim1, dim2, copy=False):
    shape = tuple(x.shape)
    n1, n2 = shape[dim1], shape[dim2]
    n = _builtin_min(n1, n2 - offset) if offset >= 0 else _builtin_min(n1 + offset, n2)
    rest = tuple(s for i, s in enumerate(shape) if i != dim1 and i != dim2)
    return TensorMeta(rest + (_builtin_max(n, 0),), x.dtype)


def _diagonal_backward_forward(g, shape, offset, dim1, dim2):
    out = np.zeros(shape, dtype=g.dtype)
    _diag_view(out, offset, dim1, dim2)[...] = g
    return out


DIAG_EMBED = OpDef("diag_embed", _diagonal_backward_forward, shape_rule=_to_attr_shape)


@DIAGONAL.defgrad
def _diagonal_grad(ctx, g):
    a = ctx.attrs
    return apply(
        DIAG_EMBED,
        (g,),
        {"shape": _in_shape(ctx), "offset": a["offset"], "dim1": a["dim1"], "dim2": a["dim2"]},
    )


@DIAG_EMBED.defgrad
def _diag_embed_grad(ctx, g):
    a = ctx.attrs
    return apply(DIAGONAL, (g,), {"offset": a["offset"], "dim1": a["dim1"], "dim2": a["dim2"]})


def _diag_dims(opname, dim1, dim2, nd):
    d1, d2 = _dim(opname, dim1, nd), _dim(opname, dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"{opname}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@method("diagonal")
def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal (``offset`` above the main one) of the ``dim1`` x ``dim2`` planes, appended as the last
    dimension (a view)."""
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"diagonal: input must have at least 2 dimensions, got shape {list(input.shape)}")
    d1, d2 = _diag_dims("diagonal", dim1, dim2, nd)
    offset = _int_arg("diagonal", "offset", offset)
    return apply(DIAGONAL, (input,), {"offset": offset, "dim1": d1, "dim2": d2})


@method("diag_embed")
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Tensors whose ``dim1`` x ``dim2`` planes have the last dimension of ``input`` on their diagonal."""
    offset = _int_arg("diag_embed", "offset", offset)
    shape = input._data.shape
    if not shape:
        raise RuntimeError("diag_embed: input must have at least 1 dimension")
    nd = len(shape) + 1
    d1, d2 = _diag_dims("diag_embed", dim1, dim2, nd)
    m = shape[-1] + abs(offset)
    out_shape = list(shape[:-1])
    for d in sorted((d1, d2)):
        out_shape.insert(d, m)
    return apply(DIAG_EMBED, (input,), {"shape": tuple(out_shape), "offset": offset, "dim1": d1, "dim2": d2})


@method("diag")
def diag(input, diagonal: int = 0):
    """A 1-d input becomes a square matrix with it on diagonal ``diagonal``; a 2-d input gives that diagonal
    (as a new tensor)."""
    k = _int_arg("diag", "diagonal", diagonal)
    nd = input._data.ndim
    if nd == 1:
        m = input._data.shape[0] + abs(k)
        return apply(DIAG_EMBED, (input,), {"shape": (m, m), "offset": k, "dim1": 0, "dim2": 1})
    if nd == 2:
        return apply(DIAGONAL, (input,), {"offset": k, "dim1": 0, "dim2": 1, "copy": True})
    raise RuntimeError(f"diag: expected a 1-d or 2-d input, got shape {list(input.shape)}")


# -- one-hot, broadcasting, grids ------------------------------------------------------------------------
def _one_hot_forward(x, num_classes):
    # The value checks live in the kernel, so a traced graph still checks each new input when it runs.
    if x.size:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0:
            raise OpError(f"one_hot: class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise OpError(f"one_hot: class values must be smaller than num_classes ({num_classes}), got {hi}")
    return (x[..., None] == np.arange(num_classes)).astype(np.int64)


ONE_HOT = OpDef(
    "one_hot",
    _one_hot_forward,
    shape_rule=lambda x, num_classes: TensorMeta(tuple(x.shape) + (num_classes,), _dt.int64),
)


def one_hot(tensor, num_classes: int = -1):
    """Int64 tensor with a trailing dimension of size ``num_classes`` holding a 1 at each input value (-1:
    ``max + 1``). Not differentiable.

    Example:
        >>> ts.one_hot(ts.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor) or tensor._data.dtype != np.int64:
        got = tensor.dtype if isinstance(tensor, Tensor) else type(tensor).__name__
        raise RuntimeError(
            f"one_hot: is only applicable to index tensor of type LongTensor (int64), got {got}"
        )
    num_classes = _int_arg("one_hot", "num_classes", num_classes)
    if num_classes == -1:  # the output shape depends on the values: read them (data-dependent)
        x = tensor._data
        if not x.size:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor.")
        num_classes = _builtin_max(int(x.max()) + 1, 0)
    if num_classes < 0:
        raise RuntimeError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    return apply(ONE_HOT, (tensor,), {"num_classes": num_classes})


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to."""
    shapes = [(int(s),) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {shapes} cannot be broadcast together") from None


def broadcast_tensors(*tensors):
    """The tensors expanded (as views) to their common broadcast shape."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_tensors: expected Tensors, got {type(t).__name__} at position {i}")
    try:
        shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    except ValueError:
        raise RuntimeError(
            f"broadcast_tensors: shapes {[tuple(t.shape) for t in tensors]} cannot be broadcast together"
        ) from None
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-d tensors: ``indexing='ij'`` (matrix, default) or ``'xy'`` (Cartesian, first
    two output dimensions swapped). The outputs are expanded views."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise RuntimeError("meshgrid: expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid: expected Tensors, got {type(t).__name__} at position {i}")
        if t._data.ndim > 1:
            raise RuntimeError(
                f"meshgrid: expects all tensors to be 0-d or 1-d, got shape {list(t.shape)} at {i}"
            )
    n = len(tensors)
    pos = list(range(n))
    if indexing == "xy" and n >= 2:
        pos[0], pos[1] = 1, 0
    sizes = [0] * n
    for p, t in zip(pos, tensors):
        sizes[p] = t._data.size
    out = []
    for p, t in zip(pos, tensors):
        s = [1] * n
        s[p] = -1
        out.append(expand(reshape(t, tuple(s)), tuple(sizes)))
    return tuple(out)


# -- issue 9 extras: ravel, select as a method, unsafe splits, in-place triangles ---------------------------
method("select")(select)


@method("ravel")
def ravel(input):
    """``input`` flattened to 1-D (a view when the memory allows, else a copy).

    Example:
        >>> ts.ravel(ts.tensor([[1, 2], [3, 4]]))
        tensor([1, 2, 3, 4])
    """
    _check_input("ravel", input)
    return apply(RESHAPE, (input,), {"shape": (input._data.size,)})


def _check_input(opname, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{opname}: argument 'input' must be a Tensor, not {type(input).__name__}")


def unsafe_chunk(input, chunks: int, dim: int = 0):
    """``chunk`` (PyTorch's variant without view tracking; here the same views)."""
    return _renamed("unsafe_chunk", chunk, input, chunks, dim)


def unsafe_split(tensor, split_size, dim: int = 0):
    """``split`` (PyTorch's variant without view tracking; here the same views)."""
    return _renamed("unsafe_split", split, tensor, split_size, dim)


def unsafe_split_with_sizes(input, split_sizes, dim: int = 0):
    """``split_with_sizes`` (PyTorch's variant without view tracking)."""
    return _renamed("unsafe_split_with_sizes", split, input, list(split_sizes), dim)


for _n in ("unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes"):
    method(_n)(globals()[_n])


def _renamed(public, fn, *args, **kwargs):
    """``fn(*args)`` with its argument errors naming the function the user called (``public``)."""
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, IndexError, TypeError, ValueError) as e:
        msg = str(e)
        head, sep, rest = msg.partition(": ")
        if sep and head.replace("_", "").replace(".", "").isalnum() and head != public:
            msg = f"{public}: {rest}"
        elif not msg.startswith(public):
            msg = f"{public}: {msg}"
        raise type(e)(msg) from None


@method("tril_")
def tril_(input, diagonal: int = 0):
    """In-place ``tril``."""
    if input._data.ndim < 2:
        raise RuntimeError(f"tril_: input tensor must have at least 2 dimensions, got {list(input.shape)}")
    return _inplace(input, TRIL, (), {"diagonal": _int_arg("tril_", "diagonal", diagonal)})


@method("triu_")
def triu_(input, diagonal: int = 0):
    """In-place ``triu``."""
    if input._data.ndim < 2:
        raise RuntimeError(f"triu_: input tensor must have at least 2 dimensions, got {list(input.shape)}")
    return _inplace(input, TRIU, (), {"diagonal": _int_arg("triu_", "diagonal", diagonal)})


def _tri_indices(opname, row, col, offset, dtype, upper):
    from ..core.creation import tensor as _tensor

    row, col, offset = (_int_arg(opname, n, v) for n, v in (("row", row), ("col", col), ("offset", offset)))
    if row < 0 or col < 0:
        raise RuntimeError(f"{opname}: row and col must be non-negative, got row={row}, col={col}")
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    if dt not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"{opname}: \"{opname}\" not implemented for '{dt.name}'")
    fn = np.triu_indices if upper else np.tril_indices
    r, c = fn(row, offset, col) if row and col else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    return _tensor(np.stack([r, c]).astype(dt.np).reshape(2, -1))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None):
    """The (2, N) row/column indices of the lower triangle (diagonal ``offset`` and below) of a
    ``row`` x ``col`` matrix, in row-major order.

    Example:
        >>> ts.tril_indices(2, 2)
        tensor([[0, 1, 1],
                [0, 0, 1]])
    """
    return _tri_indices("tril_indices", row, col, offset, dtype, False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the upper triangle (diagonal ``offset`` and above), row-major.

    Example:
        >>> ts.triu_indices(2, 2)
        tensor([[0, 0, 1],
                [0, 1, 1]])
    """
    return _tri_indices("triu_indices", row, col, offset, dtype, True)


# -- combinations / cartesian_prod / block_diag / diagflat / vander (compositions) --------------------------
def combinations(input, r: int = 2, with_replacement: bool = False):
    """The length-``r`` combinations of the elements of the 1-D ``input`` (as ``itertools.combinations``,
    or ``combinations_with_replacement``), one per row.

    Example:
        >>> ts.combinations(ts.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    import itertools

    _check_input("combinations", input)
    if input._data.ndim != 1:
        raise RuntimeError(f"combinations: Expect a 1D vector, but got shape {list(input.shape)}")
    r = _int_arg("combinations", "r", r)
    if r < 0:
        raise RuntimeError(f"combinations: Expect a non-negative number, but got {r}")
    if r == 0:
        return apply(SLICE, (input,), {"dim": 0, "start": 0, "stop": 0})
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    combos = np.array(list(make(range(input._data.shape[0]), r)), np.int64).reshape(-1, r)
    from .indexing import index_select

    idx = Tensor._wrap(combos.reshape(-1))
    return index_select(input, 0, idx).reshape(combos.shape)


def cartesian_prod(*tensors):
    """The Cartesian product of 1-D tensors, one combination per row (a single tensor is returned as is).

    Example:
        >>> ts.cartesian_prod(ts.tensor([1, 2]), ts.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cartesian_prod: expected Tensors, got {type(t).__name__} at position {i}")
        if t._data.ndim != 1:
            raise RuntimeError(f"cartesian_prod: Expect a 1D vector, but got shape {list(t.shape)}")
    if not tensors:
        raise RuntimeError("cartesian_prod: expects a non-empty TensorList")
    if len({t._data.dtype for t in tensors}) > 1:
        raise RuntimeError("cartesian_prod: meshgrid expects all tensors to have the same dtype")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-, 1- or 2-D tensors (a 1-D tensor is one row), dtypes promoted.

    Example:
        >>> ts.block_diag(ts.tensor([[1, 2]]), ts.tensor(3))
        tensor([[1, 2, 0],
                [0, 0, 3]])
    """
    from ..core.creation import zeros as _zeros

    mats = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"block_diag: expected Tensors, got {type(t).__name__} at position {i}")
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(
                f"block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {nd} dimensions"
            )
        mats.append(reshape(t, (1, 1)) if nd == 0 else reshape(t, (1, -1)) if nd == 1 else t)
    dt = _dt.result_type(*mats) if mats else _dt.get_default_dtype()
    mats = [m if m.dtype is dt else m.to(dt) for m in mats]
    total = sum(m._data.shape[1] for m in mats)
    if not mats:
        return _zeros((1, 0), dtype=dt)
    rows, left = [], 0
    for m in mats:
        r, c = m._data.shape
        parts = []
        if left:
            parts.append(_zeros((r, left), dtype=dt))
        parts.append(m)
        if total - left - c:
            parts.append(_zeros((r, total - left - c), dtype=dt))
        rows.append(cat(parts, 1) if len(parts) > 1 else m)
        left += c
    return cat(rows, 0)


@method("diagflat")
def diagflat(input, offset: int = 0):
    """A square matrix with the flattened ``input`` on diagonal ``offset``.

    Example:
        >>> ts.diagflat(ts.tensor([[1, 2]]))
        tensor([[1, 0],
                [0, 2]])
    """
    _check_input("diagflat", input)
    return _renamed("diagflat", diag, reshape(input, (-1,)), offset)


def vander(x, N: int | None = None, increasing: bool = False):
    """The Vandermonde matrix of the 1-D ``x``: columns ``x**(N-1), ..., x**0`` (``increasing``: ascending
    powers). Integer and bool inputs give int64.

    Example:
        >>> ts.vander(ts.tensor([1, 2, 3]), N=3)
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]])
    """
    from ..core.creation import ones as _ones

    _check_input("vander", x)
    if x._data.ndim != 1:
        raise RuntimeError("vander: x must be a one-dimensional tensor.")
    n = x._data.shape[0] if N is None else _int_arg("vander", "N", N)
    if n < 0:
        raise RuntimeError("vander: N must be non-negative.")
    if not x.dtype.is_floating_point:
        x = x.to(_dt.int64)
    m = x._data.shape[0]
    if n == 0:
        return _ones((m, 0), dtype=x.dtype)
    # as PyTorch: cumprod of [1, x, x, ...] (exact gradients where x is zero)
    cols = [_ones((m, 1), dtype=x.dtype)]
    if n > 1:
        cols.append(expand(reshape(x, (m, 1)), (m, n - 1)))
    out = cat(cols, 1).cumprod(1)
    return out if increasing else flip(out, (1,))


# -- as_strided / unfold (views) ----------------------------------------------------------------------------
def _as_strided_forward(x, size, stride, storage_offset=0):
    it = x.itemsize
    base = x.reshape(-1)[storage_offset:] if x.size else x.reshape(-1)
    return np.lib.stride_tricks.as_strided(
        base, shape=size, strides=tuple(s * it for s in stride), writeable=x.flags.writeable
    )


AS_STRIDED = OpDef("as_strided", _as_strided_forward, view=True)


def _strided_extent(size, stride, storage_offset):
    if any(s == 0 for s in size):
        return 0
    return storage_offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))


@AS_STRIDED.defshape
def _as_strided_rule(x, size, stride, storage_offset=0):
    need = _strided_extent(size, stride, storage_offset)
    numel = math.prod(x.shape)
    if need > numel:
        raise OpShapeError(
            f"as_strided: sizes {list(size)}, strides {list(stride)}, storage offset {storage_offset} require "
            f"{need} elements, but the input has {numel}"
        )
    return TensorMeta(tuple(size), x.dtype)


@AS_STRIDED.defgrad
def _as_strided_grad(ctx, g):
    a = ctx.attrs
    shape = tuple(ctx.input_shape(0))
    pos = np.zeros(a["size"], np.int64) + a["storage_offset"]
    for d, (n, s) in enumerate(zip(a["size"], a["stride"])):
        view = [1] * len(a["size"])
        view[d] = n
        pos = pos + (np.arange(n, dtype=np.int64) * s).reshape(view)
    from ..core.creation import zeros as _zeros
    from .indexing import INDEX_PUT

    flat = _zeros((math.prod(shape),), dtype=g.dtype)
    idx = Tensor._wrap(pos.reshape(-1))
    gx = apply(INDEX_PUT, (flat, reshape(g, (-1,)), idx), {"key": None, "adv": (0,), "accumulate": True})
    return reshape(gx, shape)


@method("as_strided")
def as_strided(input, size, stride, storage_offset: int | None = None):
    """A view of the memory of the contiguous ``input`` with the given ``size`` and ``stride`` (in
    elements), starting ``storage_offset`` elements in (counted from ``input``'s first element).

    Example:
        >>> ts.arange(6).as_strided((2, 2), (3, 1))
        tensor([[0, 1],
                [3, 4]])
    """
    _check_input("as_strided", input)
    size = tuple(_int_arg("as_strided", "size", s) for s in size)
    stride = tuple(_int_arg("as_strided", "stride", s) for s in stride)
    off = 0 if storage_offset is None else _int_arg("as_strided", "storage_offset", storage_offset)
    if len(size) != len(stride):
        raise RuntimeError(
            f"as_strided: mismatch in length of strides and shape ({len(stride)} vs {len(size)})"
        )
    if any(s < 0 for s in size) or any(s < 0 for s in stride) or off < 0:
        raise RuntimeError("as_strided: sizes, strides and the storage offset must be non-negative")
    if not input._data.flags.c_contiguous:
        raise RuntimeError(
            "as_strided: only contiguous inputs are supported (call .contiguous() first; Tessera does not "
            "expose a tensor's underlying storage)"
        )
    need = _strided_extent(size, stride, off)
    if need > input._data.size:
        raise RuntimeError(
            f"as_strided: setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {off}, and "
            f"itemsize {input._data.itemsize} requiring a storage size of {need * input._data.itemsize} are "
            f"out of bounds for storage of size {input._data.size * input._data.itemsize}"
        )
    return apply(AS_STRIDED, (input,), {"size": size, "stride": stride, "storage_offset": off})


def _unfold_forward(x, dim, size, step):
    if x.ndim == 0:
        return x.reshape(1)
    w = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim, writeable=x.flags.writeable)
    return w[(slice(None),) * dim + (slice(None, None, step),)]


UNFOLD = OpDef("unfold", _unfold_forward, view=True)


@UNFOLD.defshape
def _unfold_rule(x, dim, size, step):
    shape = list(x.shape)
    if not shape:
        return TensorMeta((1,), x.dtype)
    if size > shape[dim]:
        raise OpShapeError(
            f"unfold: maximum size for tensor at dimension {dim} is {shape[dim]} but size is {size}"
        )
    shape[dim] = (shape[dim] - size) // step + 1
    return TensorMeta(tuple(shape) + (size,), x.dtype)


def _unfold_backward_forward(g, shape, dim, size, step):
    out = np.zeros(shape, g.dtype)
    if not shape:
        out[...] = g.reshape(())
        return out
    for w in range(g.shape[dim]):
        region = out[(slice(None),) * dim + (slice(w * step, w * step + size),)]
        region += np.moveaxis(np.take(g, w, axis=dim), -1, dim)
    return out


UNFOLD_BACKWARD = OpDef("unfold_backward", _unfold_backward_forward, shape_rule=_to_attr_shape)


@UNFOLD.defgrad
def _unfold_grad(ctx, g):
    return apply(UNFOLD_BACKWARD, (g,), {"shape": tuple(ctx.input_shape(0)), **ctx.attrs})


@UNFOLD_BACKWARD.defgrad
def _unfold_backward_grad(ctx, gg):
    a = dict(ctx.attrs)
    del a["shape"]
    return apply(UNFOLD, (gg,), a)


@method("unfold")
def unfold(input, dimension: int, size: int, step: int):
    """A view of all length-``size`` windows of ``input`` along ``dimension``, ``step`` apart: that
    dimension becomes the number of windows and a new last dimension of length ``size`` is appended.

    Example:
        >>> ts.arange(5).unfold(0, 2, 2)
        tensor([[0, 1],
                [2, 3]])
    """
    _check_input("unfold", input)
    nd = input._data.ndim
    d = _dim("unfold", dimension, max(nd, 1)) if nd else _dim("unfold", dimension, 1)
    size, step = _int_arg("unfold", "size", size), _int_arg("unfold", "step", step)
    n = input._data.shape[d] if nd else 1
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    return apply(UNFOLD, (input,), {"dim": d, "size": size, "step": step})


# -- the ``*_copy`` functions: the view ops' results as new tensors ------------------------------------------
def _copy_of(public, view_fn, example):
    def fn(input, *args, **kwargs):
        _check_input(public, input)
        out = _renamed(public, view_fn, input, *args, **kwargs)
        if isinstance(out, tuple):
            return tuple(apply(_CLONE_OP(), (o,)) for o in out)
        return apply(_CLONE_OP(), (out,))

    fn.__name__ = fn.__qualname__ = public
    fn.__doc__ = (
        f"``{public[: -len('_copy')]}`` as a new tensor (no memory shared with ``input``); gradients flow "
        f"back.\n\n    Example:\n        >>> ts.{public}({example})\n"
    )
    return fn


def _CLONE_OP():
    from ..core.dispatch import REGISTRY

    return REGISTRY["clone"]


def _view_method(name):
    return lambda input, *args, **kwargs: getattr(input, name)(*args, **kwargs)


def _slice_view(input, dim: int = 0, start=None, end=None, step: int = 1):
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("slice: cannot be applied to a 0-dim tensor")
    d = _dim("slice", dim, nd)
    step = _int_arg("slice", "step", step)
    if step <= 0:
        raise RuntimeError("slice: slice step must be positive")
    return apply(
        SLICE, (input,), {"dim": d, "start": start, "stop": end, "step": None if step == 1 else step}
    )


def _alias(input):
    return apply(RESHAPE, (input,), {"shape": tuple(input._data.shape)})


# name: (the view it copies, the arguments of its docstring example)
_COPY_TABLE = {
    "view_copy": (_view_method("view"), "ts.ones(2, 3), (3, 2)"),
    "permute_copy": (permute, "ts.ones(2, 3), (1, 0)"),
    "expand_copy": (expand, "ts.ones(3), (2, 3)"),
    "t_copy": (t, "ts.ones(2, 3)"),
    "transpose_copy": (transpose, "ts.ones(2, 3), 0, 1"),
    "unsqueeze_copy": (unsqueeze, "ts.ones(3), 0"),
    "squeeze_copy": (squeeze, "ts.ones(1, 3)"),
    "select_copy": (select, "ts.ones(2, 3), 0, 1"),
    "slice_copy": (_slice_view, "ts.arange(5), 0, 1, 4, 2"),
    "split_copy": (split, "ts.arange(5), 2"),
    "split_with_sizes_copy": (split_with_sizes, "ts.arange(5), [2, 3]"),
    "unbind_copy": (unbind, "ts.ones(2, 3)"),
    "diagonal_copy": (diagonal, "ts.ones(3, 3)"),
    "narrow_copy": (narrow, "ts.arange(5), 0, 1, 2"),
    "detach_copy": (lambda input: input.detach(), "ts.ones(2)"),
    "alias_copy": (_alias, "ts.ones(2)"),
    "as_strided_copy": (as_strided, "ts.arange(6), (2, 2), (3, 1)"),
    "unfold_copy": (unfold, "ts.arange(5), 0, 2, 1"),
}
for _n, (_f, _example) in _COPY_TABLE.items():
    globals()[_n] = _copy_of(_n, _f, _example)
method("narrow_copy")(globals()["narrow_copy"])

__all__ += [
    "ravel",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "tril_indices",
    "triu_indices",
    "combinations",
    "cartesian_prod",
    "block_diag",
    "diagflat",
    "vander",
    "as_strided",
    *_COPY_TABLE,
]


# -- in-place metadata changes -------------------------------------------------------------------------------
# PyTorch's ``t_``, ``squeeze_``, ``resize_``... change a tensor's shape in place. Tessera's in-place path
# (``apply(op, args, out=t)``) writes values into a tensor's memory and keeps its shape, and no registry op
# rebinds a tensor's metadata, so these raise (naming the out-of-place op to use) rather than bypass it.
_SHAPE_INPLACE = {
    "t_": "x = x.t()",
    "transpose_": "x = x.transpose(dim0, dim1)",
    "swapaxes_": "x = x.swapaxes(axis0, axis1)",
    "swapdims_": "x = x.swapdims(dim0, dim1)",
    "squeeze_": "x = x.squeeze(dim)",
    "unsqueeze_": "x = x.unsqueeze(dim)",
    "resize_": "x = x.new_zeros(size) (or reshape)",
    "resize_as_": "x = x.new_zeros(other.shape) (or reshape_as)",
    "as_strided_": "x = x.as_strided(size, stride)",
}


def _no_inplace_shape(name, hint):
    def fn(self, *args, **kwargs):
        raise RuntimeError(
            f"{name}: Tessera cannot change a tensor's shape in place (in-place ops write values through the "
            f"op registry, never metadata); use {hint}"
        )

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Not supported: changes the shape in place. Use ``{hint}``."
    fn.unsupported = True  # an explanatory error, not an implementation: the coverage test does not count it
    return fn


for _n, _hint in _SHAPE_INPLACE.items():
    setattr(Tensor, _n, _no_inplace_shape(_n, _hint))


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
_ONNX_INT64_MAX = np.iinfo(np.int64).max


@RESHAPE.defonnx
def _reshape_onnx(g, x, shape):
    target = g.shape_target(x, shape, g.alt_attrs.get("shape"))
    return g.op("Reshape", x, g.ints(target))


@TRANSPOSE.defonnx
def _transpose_onnx(g, x, dim0, dim1):
    perm = list(range(g.ndim(x)))
    if perm:
        perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
    return g.op("Transpose", x, perm=perm)


@PERMUTE.defonnx
def _permute_onnx(g, x, dims):
    n = g.ndim(x)
    return g.op("Transpose", x, perm=[d % n for d in dims])


@SLICE.defonnx
def _slice_onnx(g, x, dim, start=None, stop=None, step=None, index=None):
    if index is not None:
        return g.op("Gather", x, g.const(np.int64(index)), axis=dim)
    step = 1 if step is None else step
    start = (0 if step > 0 else -1) if start is None else start
    stop = (_ONNX_INT64_MAX if step > 0 else -_ONNX_INT64_MAX) if stop is None else stop
    return g.op("Slice", x, g.ints([start]), g.ints([stop]), g.ints([dim]), g.ints([step]))


@CAT.defonnx
def _cat_onnx(g, *xs, dim):
    xs = g.promoted("cat", *xs)
    return g.op("Concat", *xs, axis=dim % len(g.node.outputs[0].shape))


@STACK.defonnx
def _stack_onnx(g, *xs, dim):
    xs = g.promoted("stack", *xs)
    dim = dim % len(g.node.outputs[0].shape)
    return g.op("Concat", *(g.unsqueeze(x, [dim]) for x in xs), axis=dim)


@UNSQUEEZE.defonnx
def _unsqueeze_onnx(g, x, dim):
    return g.unsqueeze(x, [dim])


@SQUEEZE.defonnx
def _squeeze_onnx(g, x, dims):
    return g.squeeze(x, list(dims)) if dims else g.op("Identity", x)


@EXPAND.defonnx
def _expand_onnx(g, x, shape):
    shape = list(shape)
    alt = g.alt_attrs.get("shape")
    if alt is not None:
        xin, lead = g.shape(x), len(shape) - g.ndim(x)
        for i, (a, b) in enumerate(zip(shape, alt)):
            if a != b:
                if i < lead or xin[i - lead] != a:
                    g.fail(
                        f"the expanded shape {tuple(shape)} follows a dynamic axis the input does not have"
                    )
                shape[i] = 1  # broadcasting keeps the input's (dynamic) size
    return g.op("Expand", x, g.ints(shape))


@FLIP.defonnx
def _flip_onnx(g, x, dims):
    n = len(dims)
    return g.op("Slice", x, g.ints([-1] * n), g.ints([-_ONNX_INT64_MAX] * n), g.ints(dims), g.ints([-1] * n))


@REPEAT.defonnx
def _repeat_onnx(g, x, sizes):
    lead = len(sizes) - g.ndim(x)
    if lead:
        x = g.op("Reshape", x, g.ints([1] * lead + list(g.shape(x))))
    return g.op("Tile", x, g.ints(sizes))


@PAD.defonnx
def _pad_onnx(g, x, pads, value=0):
    onnx_pads = [b for b, _ in pads] + [a for _, a in pads]
    return g.op("Pad", x, g.ints(onnx_pads), g.const(np.asarray(value, g.dtype(x).np)), mode="constant")


@TRIL.defonnx
def _tril_onnx(g, x, diagonal=0):
    return g.op("Trilu", x, g.const(np.int64(diagonal)), upper=0)


@TRIU.defonnx
def _triu_onnx(g, x, diagonal=0):
    return g.op("Trilu", x, g.const(np.int64(diagonal)), upper=1)


@REPEAT_INTERLEAVE.defonnx
def _repeat_interleave_onnx(g, x, repeats, dim):
    if not isinstance(repeats, int):
        g.fail("repeat_interleave with a tensor of repeats is not supported")
    shape = g.shape(x)
    n = len(shape)
    dim %= n
    # (..., d, ...) -> (..., d, 1, ...) -> tile -> (..., d * repeats, ...)
    y = g.unsqueeze(x, [dim + 1])
    reps = [1] * (n + 1)
    reps[dim + 1] = repeats
    y = g.op("Tile", y, g.ints(reps))
    # the target: x's own shape (read at run time, dynamic dims included) with dim ``dim`` times repeats
    xs = g.op("Shape", x)
    d = g.op("Mul", g.op("Slice", xs, g.ints([dim]), g.ints([dim + 1])), g.ints([repeats]))
    target = g.op(
        "Concat",
        g.op("Slice", xs, g.ints([0]), g.ints([dim])),
        d,
        g.op("Slice", xs, g.ints([dim + 1]), g.ints([n])),
        axis=0,
    )
    return g.op("Reshape", y, target)


@TAKE_DIMS.defonnx
def _take_dims_onnx(g, x, dims, indices):
    for d, idx in zip(dims, indices):
        x = g.op("Gather", x, g.const(np.asarray(idx, dtype=np.int64)), axis=d)
    return x


@ONE_HOT.defonnx
def _one_hot_onnx(g, x, num_classes):
    values = g.const(np.asarray([0, 1], dtype=np.int64))
    return g.op("OneHot", g.cast(x, _dt.int64), g.const(np.int64(num_classes)), values, axis=-1)
