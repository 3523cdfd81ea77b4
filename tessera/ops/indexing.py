"""Indexing ops: ``__getitem__``/``__setitem__`` (basic, advanced and boolean), gather/scatter,
index_select/index_add, masked_fill/masked_select, take/take_along_dim, nonzero.

Indexing follows PyTorch: integer indices and ``None`` are applied first as a view (``select``/``unsqueeze``),
then the advanced indices (integer arrays, boolean masks) index that view with NumPy's rules. So
``x[0, :, [1, 2]]`` has shape ``(4, 2)`` for ``x`` of shape ``(3, 4, 5)``, as in PyTorch (NumPy gives
``(2, 4)``). A key is canonicalised into two attributes: ``key`` (a basic tuple for the view, or None) and
``adv`` (the advanced part: arrays and full slices, or None).

Ops:
  * ``getitem``   basic indexing, a view of the input (shares memory and version counter).
  * ``index``     advanced indexing, a copy.
  * ``index_put`` ``x`` with ``x[key][adv]`` set to (or, with ``accumulate``, incremented by) ``values``;
    it is the gradient of both getitem ops, and its own gradient is a getitem again (double backward).
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from ..core import dtypes as _dt
from ..core.creation import tensor as _tensor
from ..core.creation import zeros as _zeros
from ..core.dispatch import OpDef, TensorMeta
from ..core.tensor import Tensor, _inplace
from ._util import apply, canonical_dim, check_tensor, method

__all__ = [
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "index_add",
    "index_put",
    "masked_fill",
    "masked_select",
    "take",
    "take_along_dim",
    "nonzero",
    "argwhere",
]

_FULL = slice(None)
_BOUND_TYPES = (int, type(None))


def _bound(v):
    return None if v is None else operator.index(v)


_NoneType = type(None)
_EllipsisType = type(Ellipsis)


# -- key parsing ---------------------------------------------------------------------------------------------
def _index_array(item, opname):
    """An index entry (tensor, array, list) as an integer or boolean NumPy array (a private copy: the key is
    kept for backward, so later in-place changes to the index tensor must not affect it)."""
    if isinstance(item, Tensor):
        arr = item._data.copy()
    elif isinstance(item, np.ndarray):
        arr = item.copy()
    else:
        try:
            arr = np.asarray(item)
        except (ValueError, TypeError):
            raise IndexError(f"{opname}: could not convert {type(item).__name__} to an index") from None
        if arr.size == 0 and arr.dtype.kind == "f":  # x[[]]
            arr = arr.astype(np.int64)
    k = arr.dtype.kind
    if k == "b" or k == "i":
        return arr
    if arr.dtype == np.uint8:  # PyTorch's legacy byte masks
        return arr.astype(bool)
    if k == "u":
        return arr.astype(np.int64)
    raise IndexError(
        f"{opname}: tensors used as indices must be long, int, byte or bool tensors, got "
        f"{_dt._FROM_NP[arr.dtype].name if arr.dtype in _dt._FROM_NP else arr.dtype}"
    )


def _is_seq_key(key):
    return any(isinstance(k, (slice, _NoneType, _EllipsisType, Tensor, list, tuple, np.ndarray)) for k in key)


def _out_of_range(a, lo, hi):
    """The first value of integer array ``a`` outside ``[lo, hi)``, or None."""
    if a.size <= 32:  # Python min/max beat two NumPy reductions on small index arrays
        vals = a.ravel().tolist()
        if not vals:
            return None
        mx, mn = max(vals), min(vals)
    else:
        mx, mn = int(a.max()), int(a.min())
    if mx >= hi:
        return mx
    if mn < lo:
        return mn
    return None


def _oob(opname, i, d, n, exc=IndexError):
    return exc(f"{opname}: index {i} is out of bounds for dimension {d} with size {n}")


def _parse_key(x, key, opname="__getitem__"):
    """Canonicalise ``key`` for ``x`` into ``(basic, adv)``; validates every entry (bounds, masks, steps)."""
    if key.__class__ is not tuple:
        if isinstance(key, list) and _is_seq_key(key) and not any(isinstance(k, (list, tuple)) for k in key):
            key = tuple(key)  # legacy PyTorch: x[[0, slice(None)]] means x[0, :]
        else:
            key = (key,)
    shape = x._data.shape
    nd = len(shape)
    items = []
    consumed = 0
    ellipsis = False
    for k in key:
        c = k.__class__
        if c is int:
            consumed += 1
        elif c is slice:
            if k.start.__class__ not in _BOUND_TYPES or k.stop.__class__ not in _BOUND_TYPES:
                # bounds given as tensors or NumPy ints become plain ints: attributes are static values
                k = slice(_bound(k.start), _bound(k.stop), k.step)
            step = k.step
            if step is not None:
                if step.__class__ is not int:
                    step = operator.index(step)
                if step <= 0:
                    raise ValueError(
                        f"{opname}: slice step cannot be zero"
                        if step == 0
                        else f"{opname}: step must be greater than zero"
                    )
            consumed += 1
        elif k is None:
            pass
        elif k is Ellipsis:
            if ellipsis:
                raise IndexError(f"{opname}: an index can only have a single ellipsis ('...')")
            ellipsis = True
        elif c is Tensor or c is np.ndarray or c is list or c is tuple or isinstance(k, (Tensor, np.ndarray)):
            k = _index_array(k, opname)
            if k.ndim == 0 and k.dtype.kind == "i":
                k = int(k)  # a 0-d integer tensor indexes like an int (and gives a view)
                consumed += 1
            else:
                consumed += k.ndim if k.dtype.kind == "b" else 1
        elif isinstance(k, (bool, np.bool_)):
            k = np.asarray(k)
        elif isinstance(k, numbers.Integral):
            k = operator.index(k)
            consumed += 1
        else:
            raise TypeError(
                f"{opname}: only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                f"tensors are valid indices (got {type(k).__name__})"
            )
        items.append(k)
    if consumed > nd:
        if nd == 0:
            raise IndexError(
                f"{opname}: invalid index of a 0-dim tensor. Use `tensor.item()` to convert a "
                "0-dim tensor to a number"
            )
        raise IndexError(f"{opname}: too many indices for tensor of dimension {nd}")
    span = nd - consumed
    basic = []
    adv = []  # (position in the basic view, array, number of dims it covers)
    d = p = 0
    has_int = False
    for k in items:
        c = k.__class__
        if c is int:
            n = shape[d]
            if k >= n or k < -n:
                raise _oob(opname, k, d, n)
            basic.append(k)
            has_int = True
            d += 1
        elif c is slice:
            basic.append(k)
            d += 1
            p += 1
        elif k is None:
            basic.append(None)
            p += 1
        elif k is Ellipsis:
            basic.append(Ellipsis)
            d += span
            p += span
        elif k.dtype.kind == "b":
            if k.ndim == 0:
                basic.append(None)
                adv.append((p, np.arange(1 if k else 0), 1))
                p += 1
                continue
            if k.shape != shape[d : d + k.ndim]:
                j = next(j for j in range(k.ndim) if k.shape[j] != shape[d + j])
                raise IndexError(
                    f"{opname}: The shape of the mask {list(k.shape)} at index {j} does not match the shape "
                    f"of the indexed tensor {list(shape)} at index {d + j}"
                )
            basic.extend([_FULL] * k.ndim)
            adv.append((p, k, k.ndim))
            d += k.ndim
            p += k.ndim
        else:
            n = shape[d]
            bad = _out_of_range(k, -n, n)
            if bad is not None:
                raise _oob(opname, bad, d, n)
            basic.append(_FULL)
            adv.append((p, k, 1))
            d += 1
            p += 1
    if not ellipsis:
        if has_int or not basic:
            basic.append(Ellipsis)  # so that an all-int key gives a 0-d view, not a NumPy scalar
    if not adv:
        return tuple(basic), None
    if not has_int and all(b is _FULL or b is Ellipsis for b in basic):
        basic = None
    else:
        basic = tuple(basic)
    if len(adv) > 1:
        shapes = [(int(np.count_nonzero(a)),) if a.dtype.kind == "b" else a.shape for _, a, _ in adv]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise IndexError(
                f"{opname}: shape mismatch: indexing tensors could not be broadcast together "
                f"with shapes {', '.join(str(list(s)) for s in shapes)}"
            ) from None
    akey = []
    pos = 0
    for q, arr, cover in adv:
        akey.extend([_FULL] * (q - pos))
        akey.append(arr)
        pos = q + cover
    return basic, tuple(akey)


def _adv_shape(vshape, adv, opname):
    """The shape of ``view[adv]`` (NumPy rules), computed without indexing."""
    segs = []  # sizes of full slices, or None for the advanced block positions
    ishapes = []
    d = 0
    for k in adv:
        if k.__class__ is slice:
            segs.append(vshape[d])
            d += 1
        else:
            segs.append(None)
            if k.dtype.kind == "b":
                ishapes.append((int(np.count_nonzero(k)),))
                d += k.ndim
            else:
                ishapes.append(k.shape)
                d += 1
    try:
        b = tuple(ishapes[0]) if len(ishapes) == 1 else tuple(np.broadcast_shapes(*ishapes))
    except ValueError:
        raise IndexError(
            f"{opname}: shape mismatch: indexing tensors could not be broadcast together with "
            f"shapes {', '.join(str(list(s)) for s in ishapes)}"
        ) from None
    where = [i for i, s in enumerate(segs) if s is None]
    rest = tuple(vshape[d:])
    sizes = [s for s in segs if s is not None]
    if where[-1] - where[0] + 1 == len(where):
        first = where[0]
        return tuple(segs[:first]) + b + tuple(s for s in segs[first:] if s is not None) + rest
    return b + tuple(sizes) + rest


def _result_shape(x, basic, adv, opname):
    v = x._data[basic] if basic is not None else x._data
    if adv is None:
        return v.shape
    return _adv_shape(v.shape, adv, opname)


# -- the three core ops --------------------------------------------------------------------------------------
def _getitem_forward(x, key):
    return x[key]


GETITEM = OpDef("getitem", _getitem_forward, view=True)


def _index_forward(x, key, adv):
    if key is not None:
        x = x[key]
    return x[adv]


INDEX = OpDef("index", _index_forward)


def _put(out, v, key, adv, accumulate):
    t = out[key] if key is not None else out
    if adv is None:
        if accumulate:
            np.add(t, v, out=t, casting="unsafe")
        else:
            t[...] = v
    elif accumulate:
        np.add.at(t, adv, v)
    else:
        t[adv] = v


def _index_put_forward(x, v, key, adv, accumulate=False):
    out = x.copy()
    _put(out, v, key, adv, accumulate)
    return out


def _index_put_into(out, x, v, key, adv, accumulate=False):
    _put(out, v, key, adv, accumulate)


INDEX_PUT = OpDef("index_put", _index_put_forward, inplace_forward=_index_put_into)


def _shape_of(ctx, i):
    return ctx.input_shape(i)


def _select(g, key, adv):
    """``g[key][adv]`` with canonical attributes (differentiable)."""
    if adv is None:
        return apply(GETITEM, (g,), {"key": key})
    return apply(INDEX, (g,), {"key": key, "adv": adv})


def _scatter_into_zeros(g, shape, key, adv):
    z = _zeros(shape, dtype=g.dtype)
    return apply(INDEX_PUT, (z, g), {"key": key, "adv": adv, "accumulate": adv is not None})


@GETITEM.defgrad
def _getitem_grad(ctx, g):
    return _scatter_into_zeros(g, _shape_of(ctx, 0), ctx.attrs["key"], None)


@INDEX.defgrad
def _index_grad(ctx, g):
    return _scatter_into_zeros(g, _shape_of(ctx, 0), ctx.attrs["key"], ctx.attrs["adv"])


@INDEX_PUT.defgrad
def _index_put_grad(ctx, g):
    a = ctx.attrs
    key, adv = a["key"], a["adv"]
    gx = gv = None
    if ctx.needs_grad[0]:
        if a.get("accumulate"):
            gx = g
        else:
            gx = apply(INDEX_PUT, (g, 0), {"key": key, "adv": adv, "accumulate": False})
    if ctx.needs_grad[1]:
        gv = _select(g, key, adv)
    return gx, gv


def _getitem(self, key):
    c = key.__class__
    if c is int:
        shape = self._data.shape
        if shape:
            n = shape[0]
            if -n <= key < n:
                return apply(GETITEM, (self,), {"key": (key, Ellipsis)})
    elif (
        c is slice
        and (key.step is None or (key.step.__class__ is int and key.step > 0))
        and key.start.__class__ in _BOUND_TYPES
        and key.stop.__class__ in _BOUND_TYPES
    ):
        if self._data.shape:
            return apply(GETITEM, (self,), {"key": (key,)})
    basic, adv = _parse_key(self, key)
    if adv is None:
        return apply(GETITEM, (self,), {"key": basic})
    return apply(INDEX, (self,), {"key": basic, "adv": adv})


Tensor.__getitem__ = _getitem


def _fit_value(opname, value, rshape, dtype, strict_dtype):
    """Validate/convert a value written to an indexing result of shape ``rshape``."""
    if isinstance(value, Tensor):
        if value._data.dtype != dtype.np:
            if strict_dtype:
                raise RuntimeError(
                    f"{opname}: Index put requires the source and destination dtypes match, got "
                    f"{dtype.name} for the destination and {value.dtype.name} for the source."
                )
            value = value.to(dtype)
    elif isinstance(value, _SCALARS):
        return value
    elif isinstance(value, (np.ndarray, list, tuple)):
        value = _tensor(value, dtype=dtype)
    else:
        raise TypeError(f"{opname}: can't assign a {type(value).__name__} to a {dtype.name} tensor")
    vs = value._data.shape
    if vs != rshape:
        k = 0
        while len(vs) - k > len(rshape) and vs[k] == 1:
            k += 1
        core = vs[k:]
        if len(core) > len(rshape) or any(a != 1 and a != b for a, b in zip(core[::-1], rshape[::-1])):
            raise RuntimeError(
                f"{opname}: shape mismatch: value tensor of shape {list(vs)} cannot be broadcast to indexing "
                f"result of shape {list(rshape)}"
            )
        if k:
            value = value.reshape(core)
    return value


_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def _setitem(self, key, value):
    basic, adv = _parse_key(self, key, "__setitem__")
    if not isinstance(value, _SCALARS):
        rshape = _result_shape(self, basic, adv, "__setitem__")
        value = _fit_value("__setitem__", value, rshape, self.dtype, strict_dtype=adv is not None)
    _inplace(self, INDEX_PUT, (value,), {"key": basic, "adv": adv, "accumulate": False})


Tensor.__setitem__ = _setitem


def _put_key(opname, input, indices):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{opname}: indices must be a tuple of tensors, got {type(indices).__name__}")
    for i in indices:
        if i is not None and not isinstance(i, Tensor):
            raise TypeError(f"{opname}: indices must be a tuple of tensors (or None), got {type(i).__name__}")
    key = tuple(_FULL if i is None else i for i in indices)
    return _parse_key(input, key, opname)


@method("index_put")
def index_put(input, indices, values, accumulate: bool = False):
    """``input`` with ``input[indices]`` replaced by (or, with ``accumulate``, incremented by) ``values``.

    Example:
        >>> ts.index_put(ts.zeros(3), (ts.tensor([0, 0]),), ts.tensor(1.0), accumulate=True)
        tensor([2., 0., 0.])
    """
    check_tensor("index_put", "input", input)
    check_tensor("index_put", "values", values)
    basic, adv = _put_key("index_put", input, indices)
    rshape = _result_shape(input, basic, adv, "index_put")
    values = _fit_value("index_put", values, rshape, input.dtype, strict_dtype=True)
    return apply(INDEX_PUT, (input, values), {"key": basic, "adv": adv, "accumulate": bool(accumulate)})


@method("index_put_")
def index_put_(input, indices, values, accumulate: bool = False):
    """In-place ``index_put``."""
    check_tensor("index_put_", "values", values)
    basic, adv = _put_key("index_put_", input, indices)
    rshape = _result_shape(input, basic, adv, "index_put_")
    values = _fit_value("index_put_", values, rshape, input.dtype, strict_dtype=True)
    return _inplace(input, INDEX_PUT, (values,), {"key": basic, "adv": adv, "accumulate": bool(accumulate)})


# -- gather / scatter ----------------------------------------------------------------------------------------
def _check_index_dtype(opname, index, argname="index"):
    check_tensor(opname, argname, index)
    if index._data.dtype != np.int64 and index._data.dtype != np.int32:
        raise RuntimeError(f"{opname}: Expected dtype int32/int64 for {argname}, got {index.dtype.name}")


def _check_bounds(opname, index, dim, n, exc=RuntimeError):
    bad = _out_of_range(index._data, 0, n)
    if bad is not None:
        raise _oob(opname, bad, dim, n, exc)


def _check_gather_like(opname, input, dim, index, src=None):
    _check_index_dtype(opname, index)
    nd = input._data.ndim
    d = canonical_dim(opname, dim, nd)
    ishape, xshape = index._data.shape, input._data.shape
    if len(ishape) != nd and not (max(nd, 1) == 1 and len(ishape) <= 1):
        raise RuntimeError(
            f"{opname}: Index tensor must have the same number of dimensions as input tensor "
            f"(got index of shape {list(ishape)} and input of shape {list(xshape)})"
        )
    if nd:
        for i, (a, b) in enumerate(zip(ishape, xshape)):
            if i != d and a > b:
                raise RuntimeError(
                    f"{opname}: Size does not match at dimension {i} expected index {list(ishape)} to be no "
                    f"larger than self {list(xshape)} apart from dimension {d}"
                )
        if src is not None:
            sshape = src._data.shape
            if len(sshape) != nd or any(a > b for a, b in zip(ishape, sshape)):
                raise RuntimeError(
                    f"{opname}: Expected index {list(ishape)} to be no larger than self {list(xshape)} apart "
                    f"from dimension {d} and to be no larger size than src {list(sshape)}"
                )
    _check_bounds(opname, index, d, xshape[d] if nd else 1)
    return d


def _lead(a, shape):
    """``a[:shape[0], :shape[1], ...]``."""
    if a.shape == tuple(shape):
        return a
    return a[tuple(slice(0, s) for s in shape)]


def _gather_forward(x, index, dim):
    if x.ndim == 0:
        return x.reshape(1)[index.reshape(-1)].reshape(index.shape)
    sl = tuple(_FULL if i == dim else slice(0, s) for i, s in enumerate(index.shape))
    return np.take_along_axis(x[sl], index, axis=dim)


GATHER = OpDef("gather", _gather_forward)


def _scatter_index(index, dim, ndim):
    if ndim == 0:
        return (index.reshape(-1),)
    idx = list(np.indices(index.shape, sparse=True))
    idx[dim] = index
    return tuple(idx)


def _src_part(src, index):
    if isinstance(src, np.ndarray) and src.ndim:
        return _lead(src, index.shape)
    return src


def _scatter_into(out, x, index, src, dim):
    flat = out.reshape(1) if out.ndim == 0 else out
    s = _src_part(src, index)
    flat[_scatter_index(index, dim, out.ndim)] = s.reshape(-1) if out.ndim == 0 and np.ndim(s) else s


def _scatter_forward(x, index, src, dim):
    out = x.copy()
    _scatter_into(out, x, index, src, dim)
    return out


SCATTER = OpDef("scatter", _scatter_forward, inplace_forward=_scatter_into)


def _scatter_add_into(out, x, index, src, dim):
    flat = out.reshape(1) if out.ndim == 0 else out
    s = _src_part(src, index)
    s = s.reshape(-1) if out.ndim == 0 and np.ndim(s) else s
    np.add.at(flat, _scatter_index(index, dim, out.ndim), s)


def _scatter_add_forward(x, index, src, dim):
    out = x.copy()
    _scatter_add_into(out, x, index, src, dim)
    return out


SCATTER_ADD = OpDef("scatter_add", _scatter_add_forward, inplace_forward=_scatter_add_into)


def _pad_to(g, shape):
    """``g`` placed in the leading corner of zeros of ``shape`` (the gradient of taking ``src``'s corner)."""
    if tuple(g._data.shape) == tuple(shape):
        return g
    key = tuple(slice(0, s) for s in g._data.shape) + (Ellipsis,)
    return apply(INDEX_PUT, (_zeros(shape, dtype=g.dtype), g), {"key": key, "adv": None, "accumulate": False})


@GATHER.defgrad
def _gather_grad(ctx, g):
    index = ctx.saved[1]
    z = _zeros(_shape_of(ctx, 0), dtype=g.dtype)
    return apply(SCATTER_ADD, (z, index, g), ctx.attrs), None


@SCATTER.defgrad
def _scatter_grad(ctx, g):
    index = ctx.saved[1]
    gx = apply(SCATTER, (g, index, 0), ctx.attrs) if ctx.needs_grad[0] else None
    gs = None
    if ctx.needs_grad[2]:
        gs = _pad_to(apply(GATHER, (g, index), ctx.attrs), _shape_of(ctx, 2))
    return gx, None, gs


@SCATTER_ADD.defgrad
def _scatter_add_grad(ctx, g):
    index = ctx.saved[1]
    gs = None
    if ctx.needs_grad[2]:
        gs = _pad_to(apply(GATHER, (g, index), ctx.attrs), _shape_of(ctx, 2))
    return (g if ctx.needs_grad[0] else None), None, gs


@method("gather")
def gather(input, dim: int, index, *, sparse_grad: bool = False):
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[index[i][j]][j]`` for ``dim=0``.

    ``index`` has ``input``'s number of dimensions and is no larger than it outside ``dim``.

    Example:
        >>> ts.gather(ts.tensor([[1, 2], [3, 4]]), 1, ts.tensor([[0, 0], [1, 0]]))
        tensor([[1, 1],
                [4, 3]])
    """
    check_tensor("gather", "input", input)
    d = _check_gather_like("gather", input, dim, index)
    return apply(GATHER, (input, index), {"dim": d})


def _scatter_args(opname, input, dim, index, src, value):
    check_tensor(opname, "input", input)
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{opname}: expected a 'src' tensor or a 'value'")
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"{opname}: Expected self.dtype to be equal to src.dtype (got "
                f"{input.dtype.name} and {src.dtype.name})"
            )
        d = _check_gather_like(opname, input, dim, index, src)
    elif isinstance(src, (numbers.Number, np.generic)):
        d = _check_gather_like(opname, input, dim, index)
    else:
        raise TypeError(f"{opname}: src must be a Tensor or a number, got {type(src).__name__}")
    return d, src


def _reduce_op(opname, reduce):
    if reduce is None:
        return SCATTER
    if reduce == "add":
        return SCATTER_ADD
    raise NotImplementedError(f"{opname}: reduce={reduce!r} is not supported (use 'add' or scatter_add)")


@method("scatter")
def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """``input`` with values from ``src`` (a tensor or a number) written at ``index`` along ``dim``:
    ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``. With duplicate indices the last write wins.

    Example:
        >>> ts.zeros(2, 3).scatter(0, ts.tensor([[1, 0, 1]]), 5.0)
        tensor([[0., 5., 0.],
                [5., 0., 5.]])
    """
    d, src = _scatter_args("scatter", input, dim, index, src, value)
    return apply(_reduce_op("scatter", reduce), (input, index, src), {"dim": d})


@method("scatter_")
def scatter_(input, dim: int, index, src=None, *, value=None, reduce=None):
    """In-place ``scatter``."""
    d, src = _scatter_args("scatter_", input, dim, index, src, value)
    return _inplace(input, _reduce_op("scatter_", reduce), (index, src), {"dim": d})


@method("scatter_add")
def scatter_add(input, dim: int, index, src):
    """``input`` with ``src`` added at ``index`` along ``dim``; duplicate indices accumulate."""
    check_tensor("scatter_add", "src", src)
    d, src = _scatter_args("scatter_add", input, dim, index, src, None)
    return apply(SCATTER_ADD, (input, index, src), {"dim": d})


@method("scatter_add_")
def scatter_add_(input, dim: int, index, src):
    """In-place ``scatter_add``."""
    check_tensor("scatter_add_", "src", src)
    d, src = _scatter_args("scatter_add_", input, dim, index, src, None)
    return _inplace(input, SCATTER_ADD, (index, src), {"dim": d})


# -- index_select / index_add --------------------------------------------------------------------------------
def _index_select_forward(x, index, dim):
    if x.ndim == 0:
        return x.reshape(1)[index]
    return np.take(x, index, axis=dim)


INDEX_SELECT = OpDef("index_select", _index_select_forward)


def _index_add_into(out, x, index, src, dim, alpha=1):
    if alpha != 1:
        src = src * alpha
    if out.ndim == 0:
        np.add.at(out.reshape(1), index, src.reshape(-1))
    else:
        np.add.at(np.moveaxis(out, dim, 0), index, np.moveaxis(src, dim, 0))


def _index_add_forward(x, index, src, dim, alpha=1):
    out = x.copy()
    _index_add_into(out, x, index, src, dim, alpha)
    return out


INDEX_ADD = OpDef("index_add", _index_add_forward, inplace_forward=_index_add_into)


@INDEX_SELECT.defgrad
def _index_select_grad(ctx, g):
    index = ctx.saved[1]
    z = _zeros(_shape_of(ctx, 0), dtype=g.dtype)
    return apply(INDEX_ADD, (z, index, g), {"dim": ctx.attrs["dim"]}), None


@INDEX_ADD.defgrad
def _index_add_grad(ctx, g):
    index = ctx.saved[1]
    gs = None
    if ctx.needs_grad[2]:
        gs = apply(INDEX_SELECT, (g, index), {"dim": ctx.attrs["dim"]})
        alpha = ctx.attrs.get("alpha", 1)
        if alpha != 1:
            gs = gs * alpha
        if len(ctx.input_shape(2)) == 0:
            gs = gs.reshape(())
    return (g if ctx.needs_grad[0] else None), None, gs


def _vector_index(opname, input, dim, index):
    _check_index_dtype(opname, index)
    if index._data.ndim > 1:
        raise IndexError(f"{opname}: Index is supposed to be a vector, got shape {list(index.shape)}")
    d = canonical_dim(opname, dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    _check_bounds(opname, index, d, n, exc=IndexError if opname == "index_select" else RuntimeError)
    if index._data.ndim == 0:
        index = Tensor._wrap(index._data.reshape(1))
    return d, index


@method("index_select")
def index_select(input, dim: int, index):
    """The entries of ``input`` at positions ``index`` (a 1-D int tensor) along ``dim``.

    Example:
        >>> ts.index_select(ts.tensor([[1, 2], [3, 4]]), 0, ts.tensor([1, 1]))
        tensor([[3, 4],
                [3, 4]])
    """
    check_tensor("index_select", "input", input)
    d, index = _vector_index("index_select", input, dim, index)
    return apply(INDEX_SELECT, (input, index), {"dim": d})


def _index_add_args(opname, input, dim, index, source, alpha):
    check_tensor(opname, "input", input)
    check_tensor(opname, "source", source)
    d, index = _vector_index(opname, input, dim, index)
    xs, ss = input._data.shape, source._data.shape
    n = index._data.shape[0]
    if len(ss) != len(xs) and not (len(xs) <= 1 and len(ss) <= 1):
        raise RuntimeError(
            f"{opname}: source of shape {list(ss)} must have the same number of dimensions as self {list(xs)}"
        )
    if len(xs) >= 1 and len(ss) >= 1:
        if ss[d] != n:
            raise RuntimeError(
                f"{opname}: Number of indices ({n}) should be equal to source.size(dim): "
                f"({ss[d]}), for dim: {d}"
            )
        if any(a != b for i, (a, b) in enumerate(zip(xs, ss)) if i != d):
            raise RuntimeError(
                f"{opname}: source of shape {list(ss)} must match self {list(xs)} outside dimension {d}"
            )
    elif n != 1:
        raise RuntimeError(f"{opname}: Number of indices ({n}) should be equal to source.size(dim): (1)")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"{opname}: self ({input.dtype.name}) and source ({source.dtype.name}) must have "
            "the same scalar type"
        )
    attrs = {"dim": d}
    if alpha != 1:
        attrs["alpha"] = alpha
    return index, attrs


@method("index_add")
def index_add(input, dim: int, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (duplicates accumulate)."""
    index, attrs = _index_add_args("index_add", input, dim, index, source, alpha)
    return apply(INDEX_ADD, (input, index, source), attrs)


@method("index_add_")
def index_add_(input, dim: int, index, source, *, alpha=1):
    """In-place ``index_add``."""
    index, attrs = _index_add_args("index_add_", input, dim, index, source, alpha)
    return _inplace(input, INDEX_ADD, (index, source), attrs)


# -- masks ---------------------------------------------------------------------------------------------------
def _masked_fill_forward(x, mask, value):
    shape = np.broadcast_shapes(x.shape, mask.shape)
    out = np.array(np.broadcast_to(x, shape)) if shape != x.shape else x.copy()
    np.copyto(out, value, casting="unsafe", where=mask)
    return out


def _masked_fill_into(out, x, mask, value):
    np.copyto(out, value, casting="unsafe", where=mask)


MASKED_FILL = OpDef("masked_fill", _masked_fill_forward, inplace_forward=_masked_fill_into)


@MASKED_FILL.defgrad
def _masked_fill_grad(ctx, g):
    mask = ctx.saved[1]
    kept = apply(MASKED_FILL, (g, mask, 0))
    gv = (g - kept).sum() if ctx.needs_grad[2] else None
    return (kept if ctx.needs_grad[0] else None), None, gv


def _masked_fill_args(opname, input, mask, value):
    check_tensor(opname, "input", input)
    check_tensor(opname, "mask", mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(
            f"{opname}: only supports boolean masks, but got mask with dtype {mask.dtype.name}"
        )
    try:
        shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(
            f"{opname}: mask of shape {list(mask.shape)} is not broadcastable with input of "
            f"shape {list(input.shape)}"
        ) from None
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"{opname}: only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        if value._data.dtype != input._data.dtype:
            value = value.to(input.dtype)
    elif not isinstance(value, (numbers.Number, np.generic)) or isinstance(value, complex):
        raise TypeError(f"{opname}: value must be a number or a 0-d tensor, got {type(value).__name__}")
    return shape, value


@method("masked_fill")
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or 0-d tensor) where the bool ``mask`` (broadcast) is True.

    Example:
        >>> ts.tensor([1.0, 2.0, 3.0]).masked_fill(ts.tensor([True, False, True]), 0.0)
        tensor([0., 2., 0.])
    """
    _, value = _masked_fill_args("masked_fill", input, mask, value)
    return apply(MASKED_FILL, (input, mask, value))


@method("masked_fill_")
def masked_fill_(input, mask, value):
    """In-place ``masked_fill``; ``mask`` must broadcast to ``input``'s shape."""
    shape, value = _masked_fill_args("masked_fill_", input, mask, value)
    if shape != input._data.shape:
        raise RuntimeError(
            f"masked_fill_: output with shape {list(input.shape)} doesn't match the broadcast "
            f"shape {list(shape)}"
        )
    return _inplace(input, MASKED_FILL, (mask, value), {})


@method("masked_select")
def masked_select(input, mask):
    """The 1-D tensor of ``input``'s elements where ``mask`` is True (both broadcast together)."""
    check_tensor("masked_select", "input", input)
    check_tensor("masked_select", "mask", mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected a boolean mask, got {mask.dtype.name}")
    try:
        shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(
            f"masked_select: mask of shape {list(mask.shape)} is not broadcastable with input "
            f"of shape {list(input.shape)}"
        ) from None
    if shape != input._data.shape:
        input = input.expand(shape)
    m = mask._data if mask._data.shape == shape else np.broadcast_to(mask._data, shape)
    if m.ndim == 0:
        return apply(INDEX, (input,), {"key": (None,), "adv": (np.arange(1 if m else 0),)})
    return apply(INDEX, (input,), {"key": None, "adv": (m,)})


# -- take / take_along_dim / nonzero -------------------------------------------------------------------------
@method("take")
def take(input, index):
    """``input`` treated as 1-D, indexed by ``index`` (negative indices count from the end); the result
    has ``index``'s shape."""
    check_tensor("take", "input", input)
    _check_index_dtype("take", index)
    n = input._data.size
    a = index._data
    bad = _out_of_range(a, -n, n)
    if bad is not None:
        raise IndexError(f"take: out of range: tried to access index {bad} on a tensor of {n} elements.")
    flat = input.reshape(-1)
    if a.ndim == 0:
        return apply(INDEX, (flat,), {"key": None, "adv": (a.reshape(1),)}).reshape(())
    return apply(INDEX, (flat,), {"key": None, "adv": (a,)})


@method("take_along_dim")
def take_along_dim(input, indices, dim=None):
    """Values of ``input`` at ``indices`` along ``dim`` (other dims broadcast); with ``dim=None`` both are
    flattened first. Pairs with ``argmax``/``argsort(dim, keepdim=True)``."""
    check_tensor("take_along_dim", "input", input)
    _check_index_dtype("take_along_dim", indices, "indices")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    nd = input._data.ndim
    d = canonical_dim("take_along_dim", dim, nd)
    if indices._data.ndim != nd:
        raise RuntimeError(
            f"take_along_dim: input and indices should have the same number of dimensions, "
            f"but got {nd} dimensions for input, and {indices._data.ndim} dimensions for "
            "indices"
        )
    xs, ishape = list(input._data.shape), list(indices._data.shape)
    for i in range(nd):
        if i == d:
            continue
        a, b = xs[i], ishape[i]
        if a != b and a != 1 and b != 1:
            raise RuntimeError(
                f"take_along_dim: The size of tensor a ({a}) must match the size of tensor b "
                f"({b}) at non-singleton dimension {i}"
            )
        xs[i] = ishape[i] = max(a, b) if a and b else 0
    if tuple(xs) != input._data.shape:
        input = input.expand(tuple(xs))
    if tuple(ishape) != indices._data.shape:
        indices = Tensor._wrap(np.broadcast_to(indices._data, tuple(ishape)))
    return gather(input, d, indices)


NONZERO = OpDef("nonzero", lambda x: np.argwhere(x), differentiable=False, data_dependent=True)
# The number of rows is known only once the values are: None marks that data-dependent dimension.
NONZERO.defshape(lambda x: TensorMeta((None, x.ndim), _dt.int64))


@method("nonzero")
def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an int64 tensor of shape ``(n, ndim)``, or with ``as_tuple=True``
    one 1-D tensor per dimension (usable as an index: ``x[x.nonzero(as_tuple=True)]``)."""
    check_tensor("nonzero", "input", input)
    out = apply(NONZERO, (input,))
    if not as_tuple:
        return out
    o = out._data
    if o.shape[1] == 0:  # 0-d input
        return (Tensor._wrap(np.zeros(o.shape[0], dtype=np.int64)),)
    return tuple(Tensor._wrap(np.ascontiguousarray(o[:, i])) for i in range(o.shape[1]))


@method("argwhere")
def argwhere(input):
    """Indices of the non-zero elements as an int64 tensor of shape ``(n, ndim)`` (``nonzero``)."""
    return nonzero(input)


# -- shape rules -----------------------------------------------------------------------------------------
def _meta(shape, like):
    return TensorMeta(tuple(shape), like.dtype)


def _basic_shape(x, key):
    # NumPy's basic-indexing rules applied to a zero-strided stand-in: metadata only, no data touched
    return (
        np.broadcast_to(np.zeros((), x.dtype.np), tuple(x.shape))[key].shape if key is not None else x.shape
    )


GETITEM.defshape(lambda x, key: _meta(_basic_shape(x, key), x))
INDEX.defshape(lambda x, key, adv: _meta(_adv_shape(_basic_shape(x, key), adv, "index"), x))
INDEX_PUT.defshape(lambda x, v, key, adv, accumulate=False: _meta(x.shape, x))
GATHER.defshape(lambda x, index, dim: _meta(index.shape, x))
SCATTER.defshape(lambda x, index, src, dim: _meta(x.shape, x))
SCATTER_ADD.defshape(lambda x, index, src, dim: _meta(x.shape, x))
INDEX_ADD.defshape(lambda x, index, src, dim, alpha=1: _meta(x.shape, x))
MASKED_FILL.defshape(lambda x, mask, value: _meta(np.broadcast_shapes(tuple(x.shape), tuple(mask.shape)), x))


@INDEX_SELECT.defshape
def _index_select_shape(x, index, dim):
    if x.ndim == 0:
        return _meta(tuple(index.shape) if index.ndim else (), x)
    n = 1
    for s in index.shape:
        n *= s
    return _meta(tuple(x.shape[:dim]) + (n,) + tuple(x.shape[dim + 1 :]), x)
