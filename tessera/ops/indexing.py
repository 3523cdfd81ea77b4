"""Indexing ops: ``__getitem__``/``__setitem__`` (basic, advanced and boolean), gather/scatter,
index_select/index_add, masked_fill/masked_select, take/take_along_dim, nonzero.

Indexing follows PyTorch: integer indices and ``None`` are applied first as a view (``select``/``unsqueeze``),
then the advanced indices (integer arrays, boolean masks) index that view with NumPy's rules. So
``x[0, :, [1, 2]]`` has shape ``(4, 2)`` for ``x`` of shape ``(3, 4, 5)``, as in PyTorch (NumPy gives
``(2, 4)``).

A key is split into its static part, two hashable attributes, and its index tensors, which are inputs of the
op (so a recorded graph replays with other index values):
  * ``key``: the basic key of the view, a tuple of ints, ``None``, ``Ellipsis`` and
    ``("slice", start, stop, step)``; or None when there is no basic part.
  * ``adv``: the advanced key applied to that view, a tuple with ``None`` for a full slice and ``j`` for the
    ``j``-th index tensor input; or None.
  * ``scalars`` (only while tracing): ``(position in key, input j)`` pairs for 0-d integer index tensors,
    which index like ints but whose values must not be baked into a trace. In eager mode such a tensor
    is read and becomes an int of ``key``, as PyTorch does.
Lists, ranges and NumPy arrays in a key are converted to constant tensors.

Ops:
  * ``getitem``       basic indexing, a view of the input (shares memory and version counter).
  * ``index``         advanced indexing with integer index tensors, a copy.
  * ``masked_index``  the same with boolean masks among the indices: its shape depends on the mask's values.
  * ``index_put``     ``x`` with ``x[key][adv]`` set to (or, with ``accumulate``, incremented by) ``values``;
    it is the gradient of the getitem ops, and its own gradient is a getitem again (double backward).
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from ..core import dtypes as _dt
from ..core.creation import ones as _ones
from ..core.creation import tensor as _tensor
from ..core.creation import zeros as _zeros
from ..core.dispatch import OpDef, OpError, TensorMeta, is_tracing
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor, _inplace
from ._util import apply, canonical_dim, check_tensor, method

__all__ = [
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "index_add",
    "index_put",
    "index_put_",
    "masked_fill",
    "masked_select",
    "take",
    "take_along_dim",
    "nonzero",
    "argwhere",
    "scatter_reduce",
    "index_reduce",
    "index_copy",
    "index_fill",
    "put",
    "masked_scatter",
    "select_scatter",
    "slice_scatter",
    "diagonal_scatter",
]

_FULL = slice(None)
_FULL_KEY = ("slice", None, None, None)  # ``:`` in an encoded basic key
_NoneType = type(None)
_EllipsisType = type(Ellipsis)
_BOOL = _dt.bool


# -- static keys ---------------------------------------------------------------------------------------------
_DECODED: dict = {}  # encoded basic key -> the NumPy key (slices rebuilt); keys are few, so a memo pays


def _decode(key):
    k = _DECODED.get(key)
    if k is None:
        k = tuple(slice(e[1], e[2], e[3]) if e.__class__ is tuple else e for e in key)
        if len(_DECODED) > 4096:
            _DECODED.clear()
        _DECODED[key] = k
    return k


def _np_key(key, idx, scalars):
    """The NumPy basic key: ``key`` decoded, with the 0-d index tensors of ``scalars`` read as ints."""
    k = _DECODED.get(key)
    if k is None:
        k = _decode(key)
    if scalars:
        k = list(k)
        for p, j in scalars:
            k[p] = int(idx[j])
        k = tuple(k)
    return k


def _np_adv(adv, idx):
    if len(adv) == 1:
        return idx[adv[0]]
    return tuple(_FULL if a is None else idx[a] for a in adv)


def _slice_len(n, e):
    return len(range(*slice(e[1], e[2], e[3]).indices(n)))


def _basic_shape(shape, key, scalars=(), opname="getitem"):
    """The shape of ``x[key]`` for an encoded basic key, without indexing (raises ``OpError``)."""
    nd = len(shape)
    consumed = 0
    for e in key:
        if e is not None and e is not Ellipsis:
            consumed += 1
    if consumed > nd:
        raise OpError(f"{opname}: too many indices for tensor of dimension {nd}")
    dyn = {p for p, _ in scalars}
    out = []
    d = 0
    for p, e in enumerate(key):
        if e is None:
            out.append(1)
        elif e is Ellipsis:
            n = nd - consumed
            out.extend(shape[d : d + n])
            d += n
        elif e.__class__ is tuple:
            out.append(_slice_len(shape[d], e))
            d += 1
        else:
            n = shape[d]
            if p not in dyn and (e >= n or e < -n):
                raise OpError(f"{opname}: index {e} is out of bounds for dimension {d} with size {n}")
            d += 1
    out.extend(shape[d:])
    return tuple(out)


def _broadcast(shapes, opname):
    """Broadcast index shapes; ``None`` (a mask's unknown count) stays unknown."""
    if not any(s is None for sh in shapes for s in sh):
        try:
            return tuple(shapes[0]) if len(shapes) == 1 else tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            pass
    else:
        n = max(len(s) for s in shapes)
        out = []
        for i in range(n):
            dims = [s[len(s) - n + i] for s in shapes if len(s) - n + i >= 0]
            known = {v for v in dims if v is not None and v != 1}
            if len(known) > 1:
                break
            out.append(None if None in dims else (known.pop() if known else 1))
        else:
            return tuple(out)
    shown = ", ".join(str(list(s)) for s in shapes)
    raise IndexError(
        f"{opname}: shape mismatch: indexing tensors could not be broadcast together with shapes {shown}"
    )


def _adv_shape(vshape, adv, idx, counts=None, opname="index"):
    """The shape of ``view[adv]`` (NumPy rules) from the index tensors' shapes; a mask contributes its count
    of True values when ``counts`` has it, else an unknown (None) size."""
    segs = []  # sizes of full slices, or None at the positions of the advanced indices
    ishapes = []
    d = 0
    for a in adv:
        if a is None:
            segs.append(vshape[d])
            d += 1
            continue
        m = idx[a]
        segs.append(None)
        if m.dtype is _BOOL:
            if tuple(m.shape) != tuple(vshape[d : d + m.ndim]):
                raise OpError(
                    f"{opname}: mask of shape {list(m.shape)} does not match the indexed dimensions "
                    f"{list(vshape[d : d + m.ndim])}"
                )
            ishapes.append((counts[a] if counts else None,))
            d += m.ndim
        else:
            ishapes.append(tuple(m.shape))
            d += 1
    if d > len(vshape):
        raise OpError(f"{opname}: too many indices for tensor of dimension {len(vshape)}")
    b = _broadcast(ishapes, opname)
    where = [i for i, s in enumerate(segs) if s is None]
    rest = tuple(vshape[d:])
    if where[-1] - where[0] + 1 == len(where):
        first = where[0]
        return tuple(segs[:first]) + b + tuple(s for s in segs[first:] if s is not None) + rest
    return b + tuple(s for s in segs if s is not None) + rest


def _index_meta(x, idx, key, adv, scalars, counts=None, opname="index"):
    shape = tuple(x.shape)
    if key is not None:
        shape = _basic_shape(shape, key, scalars, opname)
    if adv is not None:
        for t in idx:
            if t.dtype is not _BOOL and t.dtype not in (_dt.int64, _dt.int32, _dt.int16, _dt.int8):
                raise OpError(f"{opname}: index tensors must be integer or bool tensors, got {t.dtype.name}")
        shape = _adv_shape(shape, adv, idx, counts, opname)
    return TensorMeta(shape, x.dtype)


# -- key parsing ---------------------------------------------------------------------------------------------
def _index_tensor(item, opname):
    """An index entry (tensor, array, list, range) as an integer or boolean tensor. Arrays and lists given
    by the caller become constant tensors (a private copy: the key is kept for backward)."""
    if isinstance(item, Tensor):
        k = item._data.dtype.kind
        if k == "b" or k == "i":
            return item
        if item._data.dtype == np.uint8:  # PyTorch's legacy byte masks
            return item.to(_BOOL)
        if k == "u":
            return item.to(_dt.int64)
        arr = item._data  # only its dtype is read below
    else:
        if isinstance(item, np.ndarray):
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
            return Tensor._wrap(arr)
        if arr.dtype == np.uint8:
            return Tensor._wrap(arr.astype(bool))
        if k == "u":
            return Tensor._wrap(arr.astype(np.int64))
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


_ERRORS = {"IndexError": IndexError, "RuntimeError": RuntimeError}


def _check_index_forward(index, lo, hi, message, error):
    bad = _out_of_range(index, lo, hi)
    if bad is not None:
        raise _ERRORS[error](message.format(bad))
    return np.zeros((), np.bool_)


# Index values cannot be checked outside an op while tracing (a trace must not depend on them), so the
# bound check becomes this assertion op: recorded, it checks the values of every replay. Eager code checks
# directly instead (no op, same message).
CHECK_INDEX = OpDef("check_index", _check_index_forward, differentiable=False)


@CHECK_INDEX.defshape
def _check_index_rule(index, lo, hi, message, error):
    if index.dtype is _BOOL or index.dtype.is_floating_point:
        raise OpError(f"check_index: expected an integer index tensor, got {index.dtype.name}")
    return TensorMeta((), _BOOL)


def _check_range(index, lo, hi, message, error=IndexError):
    """Raise ``error(message.format(v))`` for the first value ``v`` of ``index`` outside ``[lo, hi)``."""
    if is_tracing():
        apply(CHECK_INDEX, (index,), {"lo": lo, "hi": hi, "message": message, "error": error.__name__})
        return
    bad = _out_of_range(index._data, lo, hi)
    if bad is not None:
        raise error(message.format(bad))


def _slice_key(k):
    start, stop, step = k.start, k.stop, k.step
    if start is not None and start.__class__ is not int:
        start = operator.index(start)
    if stop is not None and stop.__class__ is not int:
        stop = operator.index(stop)
    return ("slice", start, stop, step)


class _Key:
    """A parsed key: ``key``/``adv``/``scalars`` attributes, the index tensors (``inputs``) and whether a
    mask is among them (``masked``: the result's shape depends on values)."""

    __slots__ = ("key", "adv", "inputs", "scalars", "masked")

    def __init__(self, key, adv, inputs, scalars, masked):
        self.key, self.adv, self.inputs, self.scalars, self.masked = key, adv, inputs, scalars, masked

    @property
    def op(self):
        if self.adv is None and not self.scalars:
            return GETITEM
        return MASKED_INDEX if self.masked else INDEX

    def attrs(self, **extra):
        if self.adv is None and not self.scalars:
            a = {"key": self.key}
        else:
            a = {"key": self.key, "adv": self.adv}
            if self.scalars:
                a["scalars"] = self.scalars
        a.update(extra)
        return a


def _parse_key(x, key, opname="__getitem__"):
    """Canonicalise ``key`` for ``x``; validates every entry (masks, steps, and in eager mode the index
    values: bounds, mask counts)."""
    if key.__class__ is not tuple:
        if isinstance(key, list) and _is_seq_key(key) and not any(isinstance(k, (list, tuple)) for k in key):
            key = tuple(key)  # legacy PyTorch: x[[0, slice(None)]] means x[0, :]
        else:
            key = (key,)
    tracing = is_tracing()
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
                k = slice(k.start, k.stop, step)
            consumed += 1
        elif k is None:
            pass
        elif k is Ellipsis:
            if ellipsis:
                raise IndexError(f"{opname}: an index can only have a single ellipsis ('...')")
            ellipsis = True
        elif (
            c is Tensor
            or c is np.ndarray
            or c is list
            or c is tuple
            or c is range
            or isinstance(k, (Tensor, np.ndarray))
        ):
            k = _index_tensor(k, opname)
            kd = k._data
            if kd.ndim == 0 and kd.dtype.kind == "i":
                if not tracing:
                    k = int(kd)  # a 0-d integer tensor indexes like an int (and gives a view)
                consumed += 1
            else:
                consumed += kd.ndim if kd.dtype.kind == "b" else 1
        elif isinstance(k, (bool, np.bool_)):
            k = Tensor._wrap(np.array(bool(k)))
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
    adv = []  # (position in the basic view, input number, number of dims it covers)
    inputs = []
    scalars = []
    masked = False
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
            basic.append(_slice_key(k))
            d += 1
            p += 1
        elif k is None:
            basic.append(None)
            p += 1
        elif k is Ellipsis:
            basic.append(Ellipsis)
            d += span
            p += span
        elif k._data.dtype.kind == "b":
            masked = True
            kshape = k._data.shape
            if not kshape:  # x[True]: a new axis of size 1, kept or dropped by the mask
                basic.append(None)
                adv.append((p, len(inputs), 1))
                inputs.append(k.reshape(1))
                p += 1
                continue
            if kshape != shape[d : d + len(kshape)]:
                j = next(j for j in range(len(kshape)) if kshape[j] != shape[d + j])
                raise IndexError(
                    f"{opname}: The shape of the mask {list(kshape)} at index {j} does not match the shape "
                    f"of the indexed tensor {list(shape)} at index {d + j}"
                )
            basic.extend([_FULL_KEY] * len(kshape))
            adv.append((p, len(inputs), len(kshape)))
            inputs.append(k)
            d += len(kshape)
            p += len(kshape)
        elif not k._data.shape:  # a 0-d integer tensor while tracing: an int whose value is an input
            scalars.append((len(basic), len(inputs)))
            inputs.append(k)
            basic.append(0)
            has_int = True
            d += 1
        else:
            n = shape[d]
            if not tracing:
                bad = _out_of_range(k._data, -n, n)
                if bad is not None:
                    raise _oob(opname, bad, d, n)
            else:
                _check_range(
                    k, -n, n, f"{opname}: index {{}} is out of bounds for dimension {d} with size {n}"
                )
            basic.append(_FULL_KEY)
            adv.append((p, len(inputs), 1))
            inputs.append(k)
            d += 1
            p += 1
    if not ellipsis:
        if has_int or not basic:
            basic.append(Ellipsis)  # so that an all-int key gives a 0-d view, not a NumPy scalar
    if not adv:
        return _Key(tuple(basic), None, tuple(inputs), tuple(scalars), False)
    if not has_int and all(b == _FULL_KEY or b is Ellipsis for b in basic):
        basic = None
    else:
        basic = tuple(basic)
    if len(adv) > 1 and not tracing:
        _broadcast([_index_shape(inputs[j]) for _, j, _ in adv], opname)
    akey = []
    pos = 0
    for q, j, cover in adv:
        akey.extend([None] * (q - pos))
        akey.append(j)
        pos = q + cover
    return _Key(basic, tuple(akey), tuple(inputs), tuple(scalars), masked)


def _kept(pk, *tensors):
    """``pk.inputs``, cloned when autograd records the op: the gradient reads the index tensors, and a
    later in-place change to the caller's index tensor must not change it."""
    if _GRAD.enabled and any(isinstance(t, Tensor) and t._requires_grad for t in tensors):
        return tuple(t.clone() for t in pk.inputs)
    return pk.inputs


def _index_shape(t):
    """An index tensor's contribution to the broadcast shape (a mask's count of True values: eager only)."""
    a = t._data
    return (int(np.count_nonzero(a)),) if a.dtype.kind == "b" else a.shape


def _result_shape(x, pk, opname):
    """The shape of ``x[key]``; a mask's count is known in eager mode, unknown (None) while tracing."""
    counts = None
    if pk.masked and not is_tracing():
        counts = {
            j: int(np.count_nonzero(t._data)) for j, t in enumerate(pk.inputs) if t._data.dtype.kind == "b"
        }
    shape = tuple(x._data.shape)
    if pk.key is not None:
        shape = _basic_shape(shape, pk.key, pk.scalars, opname)
    if pk.adv is not None:
        shape = _adv_shape(shape, pk.adv, pk.inputs, counts, opname)
    return shape


# -- the core ops --------------------------------------------------------------------------------------------
def _getitem_forward(x, key):
    k = _DECODED.get(key)
    if k is None:
        k = _decode(key)
    return x[k]


GETITEM = OpDef("getitem", _getitem_forward, view=True)


@GETITEM.defshape
def _getitem_rule(x, key):
    return TensorMeta(_basic_shape(tuple(x.shape), key), x.dtype)


def _index_forward(x, *idx, key, adv, scalars=()):
    if key is not None:
        x = x[_np_key(key, idx, scalars)]
    if adv is None:
        return np.array(x)  # only 0-d index tensors (tracing): a copy, as ``index`` never aliases
    return x[_np_adv(adv, idx)]


def _index_rule(x, *idx, key, adv, scalars=()):
    return _index_meta(x, idx, key, adv, scalars)


INDEX = OpDef("index", _index_forward, shape_rule=_index_rule)
# The same with boolean masks among the indices: its shape depends on the masks' values (the rule leaves
# those sizes unknown, None).
MASKED_INDEX = OpDef("masked_index", _index_forward, shape_rule=_index_rule, data_dependent=True)


def _put(out, v, idx, key, adv, accumulate, scalars):
    t = out[_np_key(key, idx, scalars)] if key is not None else out
    if adv is None:
        if accumulate:
            np.add(t, v, out=t, casting="unsafe")
        else:
            t[...] = v
    elif accumulate:
        np.add.at(t, _np_adv(adv, idx), v)
    else:
        t[_np_adv(adv, idx)] = v


def _index_put_forward(x, v, *idx, key, adv, accumulate=False, scalars=()):
    out = x.copy()
    _put(out, v, idx, key, adv, accumulate, scalars)
    return out


def _index_put_into(out, x, v, *idx, key, adv, accumulate=False, scalars=()):
    _put(out, v, idx, key, adv, accumulate, scalars)


INDEX_PUT = OpDef("index_put", _index_put_forward, inplace_forward=_index_put_into)


@INDEX_PUT.defshape
def _index_put_rule(x, v, *idx, key, adv, accumulate=False, scalars=()):
    _index_meta(x, idx, key, adv, scalars, opname="index_put")  # validates the static key
    return TensorMeta(tuple(x.shape), x.dtype)


def _shape_of(ctx, i):
    return ctx.input_shape(i)


def _index_inputs(ctx, start):
    """The index tensors of a recorded op (its inputs from ``start`` on), checked against in-place changes
    since recording. The indexed tensor itself is not needed (only its shape), so it is not checked."""
    ctx.check_alive()
    inputs = ctx._inputs
    for i in range(start, len(inputs)):
        t = inputs[i]
        if t._version_counter[0] != ctx._versions[i]:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: input {i} of {ctx.name()}, a tensor of shape {tuple(t.shape)}, is at version "
                f"{t._version_counter[0]}; expected version {ctx._versions[i]} instead."
            )
    return inputs[start:]


def _select(g, idx, key, adv, scalars=()):
    """``g[key][adv]`` with canonical attributes (differentiable)."""
    if adv is None and not scalars:
        return apply(GETITEM, (g,), {"key": key})
    attrs = {"key": key, "adv": adv}
    if scalars:
        attrs["scalars"] = scalars
    masked = any(t.dtype is _BOOL for t in idx)
    return apply(MASKED_INDEX if masked else INDEX, (g,) + tuple(idx), attrs)


def _put_attrs(key, adv, accumulate, scalars):
    a = {"key": key, "adv": adv, "accumulate": accumulate}
    if scalars:
        a["scalars"] = scalars
    return a


def _scatter_into_zeros(g, shape, idx, key, adv, scalars=()):
    z = _zeros(shape, dtype=g.dtype)
    return apply(INDEX_PUT, (z, g) + tuple(idx), _put_attrs(key, adv, adv is not None, scalars))


@GETITEM.defgrad
def _getitem_grad(ctx, g):
    return _scatter_into_zeros(g, _shape_of(ctx, 0), (), ctx.attrs["key"], None)


def _index_grad(ctx, g):
    idx = _index_inputs(ctx, 1)
    a = ctx.attrs
    gx = _scatter_into_zeros(g, _shape_of(ctx, 0), idx, a["key"], a["adv"], a.get("scalars", ()))
    return (gx,) + (None,) * len(idx)


INDEX.defgrad(_index_grad)
MASKED_INDEX.defgrad(_index_grad)


@INDEX_PUT.defgrad
def _index_put_grad(ctx, g):
    a = ctx.attrs
    key, adv, scalars = a["key"], a["adv"], a.get("scalars", ())
    idx = _index_inputs(ctx, 2)
    gx = gv = None
    if ctx.needs_grad[0]:
        if a.get("accumulate"):
            gx = g
        else:
            gx = apply(INDEX_PUT, (g, 0) + tuple(idx), _put_attrs(key, adv, False, scalars))
    if ctx.needs_grad[1]:
        gv = _select(g, idx, key, adv, scalars)
    return (gx, gv) + (None,) * len(idx)


def _getitem(self, key):
    c = key.__class__
    if c is int:
        shape = self._data.shape
        if shape:
            n = shape[0]
            if -n <= key < n:
                return apply(GETITEM, (self,), {"key": (key, Ellipsis)})
    elif c is slice:
        start, stop, step = key.start, key.stop, key.step
        if (
            (step is None or (step.__class__ is int and step > 0))
            and (start is None or start.__class__ is int)
            and (stop is None or stop.__class__ is int)
            and self._data.shape
        ):
            return apply(GETITEM, (self,), {"key": (("slice", start, stop, step),)})
    pk = _parse_key(self, key)
    if pk.adv is None and not pk.scalars:
        return apply(GETITEM, (self,), {"key": pk.key})
    return apply(pk.op, (self,) + _kept(pk, self), pk.attrs())


Tensor.__getitem__ = _getitem


def _fit_value(opname, value, rshape, dtype, strict_dtype):
    """Validate/convert a value written to an indexing result of shape ``rshape`` (None: a size that is
    unknown while tracing)."""
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
        if len(core) > len(rshape) or any(
            a != 1 and b is not None and a != b for a, b in zip(core[::-1], rshape[::-1])
        ):
            shown = [s if s is not None else "?" for s in rshape]
            raise RuntimeError(
                f"{opname}: shape mismatch: value tensor of shape {list(vs)} cannot be broadcast to indexing "
                f"result of shape {shown}".replace("'?'", "?")
            )
        if k:
            value = value.reshape(core)
    return value


_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def _setitem(self, key, value):
    pk = _parse_key(self, key, "__setitem__")
    if not isinstance(value, _SCALARS):
        rshape = _result_shape(self, pk, "__setitem__")
        value = _fit_value("__setitem__", value, rshape, self.dtype, strict_dtype=pk.adv is not None)
    attrs = _put_attrs(pk.key, pk.adv, False, pk.scalars)
    _inplace(self, INDEX_PUT, (value,) + _kept(pk, self, value), attrs)


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
    pk = _put_key("index_put", input, indices)
    rshape = _result_shape(input, pk, "index_put")
    values = _fit_value("index_put", values, rshape, input.dtype, strict_dtype=True)
    attrs = _put_attrs(pk.key, pk.adv, bool(accumulate), pk.scalars)
    return apply(INDEX_PUT, (input, values) + _kept(pk, input, values), attrs)


@method("index_put_")
def index_put_(input, indices, values, accumulate: bool = False):
    """In-place ``index_put``."""
    check_tensor("index_put_", "values", values)
    pk = _put_key("index_put_", input, indices)
    rshape = _result_shape(input, pk, "index_put_")
    values = _fit_value("index_put_", values, rshape, input.dtype, strict_dtype=True)
    attrs = _put_attrs(pk.key, pk.adv, bool(accumulate), pk.scalars)
    return _inplace(input, INDEX_PUT, (values,) + _kept(pk, input, values), attrs)


# -- gather / scatter ----------------------------------------------------------------------------------------
def _check_index_dtype(opname, index, argname="index"):
    check_tensor(opname, argname, index)
    if index._data.dtype != np.int64 and index._data.dtype != np.int32:
        raise RuntimeError(f"{opname}: Expected dtype int32/int64 for {argname}, got {index.dtype.name}")


def _check_bounds(opname, index, dim, n, exc=RuntimeError):
    if is_tracing():
        _check_range(
            index, 0, n, f"{opname}: index {{}} is out of bounds for dimension {dim} with size {n}", exc
        )
        return
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
_INT_INDEX = (_dt.int64, _dt.int32)


def _gather_like_rule(opname, x, index, dim):
    if index.dtype not in _INT_INDEX:
        raise OpError(f"{opname}: Expected dtype int32/int64 for index, got {index.dtype.name}")
    nd = x.ndim
    if index.ndim != nd and not (max(nd, 1) == 1 and index.ndim <= 1):
        raise OpError(
            f"{opname}: Index tensor must have the same number of dimensions as input tensor "
            f"(got index of shape {list(index.shape)} and input of shape {list(x.shape)})"
        )
    if nd and not 0 <= dim < nd:
        raise OpError(f"{opname}: dimension {dim} out of range for a {nd}-d input")


@GATHER.defshape
def _gather_rule(x, index, dim):
    _gather_like_rule("gather", x, index, dim)
    return TensorMeta(tuple(index.shape), x.dtype)


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


@SCATTER.defshape
def _scatter_rule(x, index, src, dim):
    _gather_like_rule("scatter", x, index, dim)
    return TensorMeta(tuple(x.shape), x.dtype)


@SCATTER_ADD.defshape
def _scatter_add_rule(x, index, src, dim):
    _gather_like_rule("scatter_add", x, index, dim)
    return TensorMeta(tuple(x.shape), x.dtype)


def _pad_to(g, shape):
    """``g`` placed in the leading corner of zeros of ``shape`` (the gradient of taking ``src``'s corner)."""
    if tuple(g._data.shape) == tuple(shape):
        return g
    key = tuple(("slice", 0, s, None) for s in g._data.shape) + (Ellipsis,)
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


def _reduce_op(opname, reduce, d):
    """The op and attributes of ``scatter(..., reduce=)``: ``"add"`` is ``scatter_add``, ``"multiply"``
    a ``scatter_reduce`` with ``"prod"`` that includes the input's values."""
    if reduce is None:
        return SCATTER, {"dim": d}
    if reduce == "add":
        return SCATTER_ADD, {"dim": d}
    if reduce == "multiply":
        return SCATTER_REDUCE, {"dim": d, "reduce": "prod", "include_self": True}
    raise RuntimeError(f"{opname}: reduce argument must be either add or multiply.")


@method("scatter")
def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """``input`` with values from ``src`` (a tensor or a number) written at ``index`` along ``dim``:
    ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``. With duplicate indices the last write wins;
    ``reduce="add"``/``"multiply"`` accumulates instead.

    Example:
        >>> ts.zeros(2, 3).scatter(0, ts.tensor([[1, 0, 1]]), 5.0)
        tensor([[0., 5., 0.],
                [5., 0., 5.]])
    """
    d, src = _scatter_args("scatter", input, dim, index, src, value)
    op, attrs = _reduce_op("scatter", reduce, d)
    return apply(op, (input, index, src), attrs)


@method("scatter_")
def scatter_(input, dim: int, index, src=None, *, value=None, reduce=None):
    """In-place ``scatter``."""
    d, src = _scatter_args("scatter_", input, dim, index, src, value)
    op, attrs = _reduce_op("scatter_", reduce, d)
    return _inplace(input, op, (index, src), attrs)


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


def _vector_rule(opname, x, index, dim):
    if index.dtype not in _INT_INDEX:
        raise OpError(f"{opname}: Expected dtype int32/int64 for index, got {index.dtype.name}")
    if index.ndim > 1:
        raise OpError(f"{opname}: Index is supposed to be a vector, got shape {list(index.shape)}")
    if x.ndim and not 0 <= dim < x.ndim:
        raise OpError(f"{opname}: dimension {dim} out of range for a {x.ndim}-d input")


@INDEX_SELECT.defshape
def _index_select_rule(x, index, dim):
    _vector_rule("index_select", x, index, dim)
    if x.ndim == 0:
        return TensorMeta(tuple(index.shape), x.dtype)
    shape = tuple(x.shape)
    return TensorMeta(shape[:dim] + tuple(index.shape) + shape[dim + 1 :], x.dtype)


@INDEX_ADD.defshape
def _index_add_rule(x, index, src, dim, alpha=1):
    _vector_rule("index_add", x, index, dim)
    return TensorMeta(tuple(x.shape), x.dtype)


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
        index = index.reshape(1)
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


@MASKED_FILL.defshape
def _masked_fill_rule(x, mask, value):
    if mask.dtype is not _BOOL:
        raise OpError(f"masked_fill: only supports boolean masks, but got mask with dtype {mask.dtype.name}")
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    except ValueError:
        raise OpError(
            f"masked_fill: mask of shape {list(mask.shape)} is not broadcastable with input of "
            f"shape {list(x.shape)}"
        ) from None
    return TensorMeta(shape, x.dtype)


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
    if mask._data.shape != shape:
        mask = mask.expand(shape)
    if not shape:  # a new axis of size 1, kept or dropped by the mask
        return apply(MASKED_INDEX, (input, mask.reshape(1)), {"key": (None,), "adv": (0,)})
    return apply(MASKED_INDEX, (input, mask), {"key": None, "adv": (0,)})


# -- take / take_along_dim / nonzero -------------------------------------------------------------------------
@method("take")
def take(input, index):
    """``input`` treated as 1-D, indexed by ``index`` (negative indices count from the end); the result
    has ``index``'s shape."""
    check_tensor("take", "input", input)
    _check_index_dtype("take", index)
    n = input._data.size
    _check_range(index, -n, n, f"take: out of range: tried to access index {{}} on a tensor of {n} elements.")
    flat = input.reshape(-1)
    if index._data.ndim == 0:
        return apply(INDEX, (flat, index.reshape(1)), {"key": None, "adv": (0,)}).reshape(())
    return apply(INDEX, (flat, index), {"key": None, "adv": (0,)})


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
        indices = indices.expand(tuple(ishape))
    return gather(input, d, indices)


NONZERO = OpDef("nonzero", lambda x: np.argwhere(x), differentiable=False, data_dependent=True)


@NONZERO.defshape
def _nonzero_rule(x):
    return TensorMeta((None, x.ndim), _dt.int64)  # the number of non-zeros depends on the values


@method("nonzero")
def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an int64 tensor of shape ``(n, ndim)``, or with ``as_tuple=True``
    one 1-D tensor per dimension (usable as an index: ``x[x.nonzero(as_tuple=True)]``)."""
    check_tensor("nonzero", "input", input)
    out = apply(NONZERO, (input,))
    if not as_tuple:
        return out
    if input._data.ndim == 0:  # (n, 0) indices: one column of n zeros
        return (out.sum(1),)
    return tuple(out[:, i].contiguous() for i in range(input._data.ndim))


@method("argwhere")
def argwhere(input):
    """Indices of the non-zero elements as an int64 tensor of shape ``(n, ndim)`` (``nonzero``)."""
    return nonzero(input)


# -- scatter_reduce / index_reduce / index_copy / index_fill -------------------------------------------------
_SCATTER_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_REDUCE_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind in "fV":
        return -np.inf if reduce == "amax" else np.inf
    if dtype == np.bool_:
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _scatter_reduce_into(out, x, index, src, dim, reduce, include_self=True):
    flat = out.reshape(1) if out.ndim == 0 else out
    s = _src_part(src, index)
    s = s.reshape(-1) if out.ndim == 0 and np.ndim(s) else s
    where = _scatter_index(index, dim, out.ndim)
    if reduce == "mean":
        count = np.zeros(flat.shape, np.int64)
        np.add.at(count, where, 1)
    if not include_self:
        flat[where] = _identity(reduce, out.dtype)
    _REDUCE_UFUNC[reduce].at(flat, where, s.astype(out.dtype, copy=False) if np.ndim(s) else s)
    if reduce == "mean":
        n = count + (1 if include_self else 0)
        n = np.maximum(n, 1)
        if out.dtype.kind in "fV":
            np.divide(flat, n, out=flat, casting="unsafe")
        else:
            np.floor_divide(flat, n, out=flat, casting="unsafe")


def _scatter_reduce_forward(x, index, src, dim, reduce, include_self=True):
    out = x.copy()
    _scatter_reduce_into(out, x, index, src, dim, reduce, include_self)
    return out


SCATTER_REDUCE = OpDef("scatter_reduce", _scatter_reduce_forward, inplace_forward=_scatter_reduce_into)


@SCATTER_REDUCE.defshape
def _scatter_reduce_rule(x, index, src, dim, reduce, include_self=True):
    _gather_like_rule("scatter_reduce", x, index, dim)
    if reduce not in _SCATTER_REDUCTIONS:
        raise OpError(
            f"scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    return TensorMeta(tuple(x.shape), x.dtype)


def _const_like(t, v):
    return Tensor._wrap(np.array(v, dtype=t._data.dtype))


@SCATTER_REDUCE.defgrad
def _scatter_reduce_grad(ctx, g):
    # PyTorch's scatter_reduce_backward, in Tessera ops (so it can be differentiated again).
    from . import elementwise as _ew

    x, index, full_src = ctx.saved
    a = ctx.attrs
    dim, reduce, include_self = a["dim"], a["reduce"], a.get("include_self", True)
    src = full_src  # only the leading corner of index's shape takes part
    if not isinstance(src, Tensor):  # a number (``scatter(..., value, reduce="multiply")``)
        src = full_src = Tensor._wrap(np.array(src, dtype=x._data.dtype)).expand(tuple(index.shape))
    if tuple(src.shape) != tuple(index.shape):
        src = src[tuple(slice(0, n) for n in index.shape)]
    da = {"dim": dim}
    zero, one = _const_like(g, 0), _const_like(g, 1)
    gx = gs = None
    if reduce == "sum":
        gx = g
        gs = apply(GATHER, (g, index), da)
    elif reduce == "mean":
        ones = _ones(tuple(src.shape), dtype=g.dtype)
        n = apply(SCATTER_ADD, (_zeros(tuple(g.shape), dtype=g.dtype), index, ones), da)
        if include_self:
            n = n + one
        n = _ew.where(_ew.eq(n, zero), one, n)
        gx = g / n
        gs = apply(GATHER, (gx, index), da)
    elif reduce == "prod":
        result = apply(SCATTER_REDUCE, (x, index, src), a)
        masked_self = _ew.where(_ew.eq(x, zero), one, x)
        masked_self_result = apply(SCATTER_REDUCE, (masked_self, index, src), a)
        gx = g * masked_self_result / masked_self
        src_zero = _ew.eq(src, zero)
        zeros_at = apply(
            SCATTER_ADD, (_zeros(tuple(g.shape), dtype=g.dtype), index, _ew.where(src_zero, one, zero)), da
        )
        single = _ew.logical_and(src_zero, _ew.eq(apply(GATHER, (zeros_at, index), da), one))
        masked_src = _ew.where(single, one, src)
        masked_src_result = apply(SCATTER_REDUCE, (x, index, masked_src), a)
        gs = _ew.where(
            single,
            apply(GATHER, (g * masked_src_result, index), da),
            apply(GATHER, (g * result, index), da) / _ew.where(src_zero, one, src),
        )
    else:  # amax / amin: split among the entries equal to the result
        result = apply(SCATTER_REDUCE, (x, index, src), a).detach()
        value = apply(GATHER, (result, index), da)
        self_is = _ew.where(_ew.eq(x.detach(), result), one, zero)
        src_is = _ew.where(_ew.eq(src.detach(), value), one, zero)
        count = apply(SCATTER_ADD, (self_is, index, src_is), da)
        spread = g / count
        gx = self_is * spread
        gs = src_is * apply(GATHER, (spread, index), da)
    if not include_self:
        touched = apply(SCATTER, (_zeros(tuple(g.shape), dtype=g.dtype), index, 1.0), da)
        gx = _ew.where(_ew.eq(touched, one), zero, gx)
    if gs is not None and tuple(gs.shape) != tuple(full_src.shape):
        gs = _pad_to(gs, tuple(full_src.shape))
    return (gx if ctx.needs_grad[0] else None), None, (gs if ctx.needs_grad[2] else None)


def _scatter_reduce_args(opname, input, dim, index, src, reduce, include_self):
    check_tensor(opname, "input", input)
    check_tensor(opname, "src", src)
    if reduce not in _SCATTER_REDUCTIONS:
        raise RuntimeError(
            f"{opname}: reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if reduce == "mean" and input._data.dtype == np.bool_:
        raise NotImplementedError(
            f"{opname}: \"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'"
        )
    d, src = _scatter_args(opname, input, dim, index, src, None)
    return {"dim": d, "reduce": reduce, "include_self": bool(include_self)}


@method("scatter_reduce")
def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """``input`` with ``src`` reduced into it at ``index`` along ``dim`` with ``reduce`` (``"sum"``,
    ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``); with ``include_self=False`` the values of ``input`` at
    the scattered positions are left out of the reduction.

    Example:
        >>> ts.zeros(3).scatter_reduce(0, ts.tensor([0, 0, 2]), ts.tensor([1.0, 2.0, 3.0]), "amax",
        ...                            include_self=False)
        tensor([2., 0., 3.])
    """
    attrs = _scatter_reduce_args("scatter_reduce", input, dim, index, src, reduce, include_self)
    return apply(SCATTER_REDUCE, (input, index, src), attrs)


@method("scatter_reduce_")
def scatter_reduce_(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """In-place ``scatter_reduce``."""
    attrs = _scatter_reduce_args("scatter_reduce_", input, dim, index, src, reduce, include_self)
    return _inplace(input, SCATTER_REDUCE, (index, src), attrs)


def _spread_index(index, d, shape):
    """A vector ``index`` along ``d`` as a gather/scatter index of ``shape`` (``shape[d]`` = its length)."""
    if not shape:
        return index.reshape(())
    view = tuple(-1 if i == d else 1 for i in range(len(shape)))
    return index.reshape(view).expand(tuple(shape))


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def _index_reduce_args(opname, input, dim, index, source, reduce, include_self):
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(
            f"{opname}: Expected reduce to be one of prod, mean, amax or amin but got {reduce}."
        )
    index, attrs = _index_add_args(opname, input, dim, index, source, 1)
    d = attrs["dim"]
    src = source if source._data.ndim == max(input._data.ndim, 1) else source.reshape(-1)
    idx = _spread_index(index, d, tuple(src.shape))
    return idx, src, {"dim": d, "reduce": reduce, "include_self": bool(include_self)}


@method("index_reduce")
def index_reduce(input, dim: int, index, source, reduce: str, *, include_self: bool = True):
    """``input`` with the slices of ``source`` reduced into the slices ``index`` along ``dim`` with
    ``reduce`` (``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``); ``include_self=False`` leaves ``input``'s
    values at those slices out.

    Example:
        >>> ts.ones(3).index_reduce(0, ts.tensor([0, 0]), ts.tensor([2.0, 3.0]), "prod")
        tensor([6., 1., 1.])
    """
    idx, src, attrs = _index_reduce_args("index_reduce", input, dim, index, source, reduce, include_self)
    if not input._data.ndim:
        return apply(SCATTER_REDUCE, (input.reshape(1), idx, src), attrs).reshape(())
    return apply(SCATTER_REDUCE, (input, idx, src), attrs)


@method("index_reduce_")
def index_reduce_(input, dim: int, index, source, reduce: str, *, include_self: bool = True):
    """In-place ``index_reduce``."""
    idx, src, attrs = _index_reduce_args("index_reduce_", input, dim, index, source, reduce, include_self)
    if not input._data.ndim:
        raise RuntimeError("index_reduce_: a 0-dim self is not supported in place")
    return _inplace(input, SCATTER_REDUCE, (idx, src), attrs)


def _index_copy_args(opname, input, dim, index, source):
    check_tensor(opname, "input", input)
    check_tensor(opname, "source", source)
    _check_index_dtype(opname, index)
    if index._data.ndim > 1:
        raise IndexError(f"{opname}: Index should have dimension 1 or 0 (got {index._data.ndim})")
    d = canonical_dim(opname, dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"{opname}: self and source expected to have the same dtype, but got (self) {input.dtype.name} and "
            f"(source) {source.dtype.name}"
        )
    k = index._data.size
    ss = source._data.shape
    m = ss[d] if source._data.ndim else 1
    if k != m:
        raise IndexError(f"{opname}: Number of indices ({k}) should be equal to source.size(dim) ({m})")
    xs = input._data.shape
    if source._data.ndim != input._data.ndim or any(a != b for i, (a, b) in enumerate(zip(xs, ss)) if i != d):
        raise IndexError(
            f"{opname}: Source/destination tensor must have same slice shapes. Destination slice shape: "
            f"{[s for i, s in enumerate(xs) if i != d]} at dimension {d} and source slice shape: "
            f"{[s for i, s in enumerate(ss) if i != d]} at dimension {d}."
        )
    _check_bounds(opname, index, d, n, exc=IndexError)
    return d, _spread_index(index.reshape(-1), d, ss)


@method("index_copy")
def index_copy(input, dim: int, index, source):
    """``input`` with its slices ``index`` along ``dim`` replaced by the slices of ``source``.

    Example:
        >>> ts.zeros(3, 2).index_copy(0, ts.tensor([2, 0]), ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([[3., 4.],
                [0., 0.],
                [1., 2.]])
    """
    d, idx = _index_copy_args("index_copy", input, dim, index, source)
    return apply(SCATTER, (input, idx, source), {"dim": d})


@method("index_copy_")
def index_copy_(input, dim: int, index, source):
    """In-place ``index_copy``."""
    d, idx = _index_copy_args("index_copy_", input, dim, index, source)
    return _inplace(input, SCATTER, (idx, source), {"dim": d})


def _index_fill_args(opname, input, dim, index, value):
    check_tensor(opname, "input", input)
    _check_index_dtype(opname, index)
    if index._data.ndim > 1:
        raise IndexError(f"{opname}: Index has to be a vector/scalar (got {index._data.ndim} dims)")
    d = canonical_dim(opname, dim, input._data.ndim)
    nd = input._data.ndim
    n = input._data.shape[d] if nd else 1
    _check_bounds(opname, index, d, n, exc=IndexError)
    shape = list(input._data.shape)
    if nd:
        shape[d] = index._data.size
    idx = _spread_index(index.reshape(-1), d, tuple(shape))
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"{opname}: only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        if value._data.dtype != input._data.dtype:
            value = value.to(input.dtype)
        value = value.expand(tuple(shape)) if shape else value
    elif not isinstance(value, (numbers.Number, np.generic)) or isinstance(value, complex):
        raise TypeError(f"{opname}: value must be a number or a 0-d tensor, got {type(value).__name__}")
    return d, idx, value


@method("index_fill")
def index_fill(input, dim: int, index, value):
    """``input`` with its slices ``index`` along ``dim`` filled with ``value`` (a number or 0-d tensor).

    Example:
        >>> ts.zeros(2, 3).index_fill(1, ts.tensor([0, 2]), 1.0)
        tensor([[1., 0., 1.],
                [1., 0., 1.]])
    """
    d, idx, value = _index_fill_args("index_fill", input, dim, index, value)
    return apply(SCATTER, (input, idx, value), {"dim": d})


@method("index_fill_")
def index_fill_(input, dim: int, index, value):
    """In-place ``index_fill``."""
    d, idx, value = _index_fill_args("index_fill_", input, dim, index, value)
    return _inplace(input, SCATTER, (idx, value), {"dim": d})


# -- put / masked_scatter / fill_diagonal_ -------------------------------------------------------------------
def _put_args(opname, input, index, source):
    check_tensor(opname, "input", input)
    check_tensor(opname, "source", source)
    _check_index_dtype(opname, index)
    if index._data.size != source._data.size:
        raise IndexError(
            f"{opname}: Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"{opname}: self and source expected to have the same dtype, but got {input.dtype.name} and "
            f"{source.dtype.name}"
        )
    n = input._data.size
    _check_range(
        index, -n, n, f"{opname}: out of range: tried to access index {{}} on a tensor of {n} elements."
    )
    flat = index.reshape(-1)
    flat = flat + (flat < 0).to(flat.dtype) * n  # negative indices count from the end
    shape = input._data.shape
    idx = []
    stride = n
    for s in shape:  # the flat index as one index tensor per dimension (ops: no values are read)
        stride //= s if s else 1
        idx.append((flat // stride) % s if s else flat)
    attrs = {"key": None, "adv": tuple(range(len(shape))), "accumulate": False}
    return tuple(idx), source.reshape(-1), attrs


@method("put")
def put(input, index, source, accumulate: bool = False):
    """``input`` (as if flattened) with the entries ``index`` set to (``accumulate``: incremented by) the
    entries of ``source``.

    Example:
        >>> ts.zeros(2, 2).put(ts.tensor([3, 0]), ts.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 1.]])
    """
    if isinstance(input, Tensor) and input._data.ndim == 0:
        return put(input.reshape(1), index, source, accumulate).reshape(())
    idx, src, attrs = _put_args("put", input, index, source)
    attrs["accumulate"] = bool(accumulate)
    return apply(INDEX_PUT, (input, src) + idx, attrs)


@method("put_")
def put_(input, index, source, accumulate: bool = False):
    """In-place ``put``."""
    if isinstance(input, Tensor) and input._data.ndim == 0:
        raise RuntimeError("put_: a 0-dim self is not supported in place")
    idx, src, attrs = _put_args("put_", input, index, source)
    attrs["accumulate"] = bool(accumulate)
    return _inplace(input, INDEX_PUT, (src,) + idx, attrs)


def _masked_scatter_into(out, x, mask, source):
    m = np.broadcast_to(mask, out.shape)
    k = int(np.count_nonzero(m))
    if source.size < k:
        raise RuntimeError("masked_scatter: Number of elements of source < number of ones in mask")
    out[m] = source.reshape(-1)[:k]


def _masked_scatter_forward(x, mask, source):
    shape = np.broadcast_shapes(x.shape, mask.shape)
    out = np.array(np.broadcast_to(x, shape))
    _masked_scatter_into(out, x, mask, source)
    return out


MASKED_SCATTER = OpDef("masked_scatter", _masked_scatter_forward, inplace_forward=_masked_scatter_into)


@MASKED_SCATTER.defshape
def _masked_scatter_rule(x, mask, source):
    if mask.dtype is not _BOOL:
        raise OpError(
            f"masked_scatter: only supports boolean masks, but got mask with dtype {mask.dtype.name}"
        )
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    except ValueError:
        raise OpError(
            f"masked_scatter: mask of shape {list(mask.shape)} is not broadcastable with input of shape "
            f"{list(x.shape)}"
        ) from None
    return TensorMeta(shape, x.dtype)


def _masked_scatter_backward_forward(g, mask, shape):
    out = np.zeros(int(np.prod(shape)), g.dtype)
    sel = g[np.broadcast_to(mask, g.shape)]
    out[: sel.size] = sel
    return out.reshape(shape)


MASKED_SCATTER_BACKWARD = OpDef("masked_scatter_backward", _masked_scatter_backward_forward)


@MASKED_SCATTER_BACKWARD.defshape
def _masked_scatter_backward_rule(g, mask, shape):
    return TensorMeta(tuple(shape), g.dtype)


@MASKED_SCATTER.defgrad
def _masked_scatter_grad(ctx, g):
    mask = ctx.saved[1]
    gx = gs = None
    if ctx.needs_grad[0]:
        gx = apply(MASKED_FILL, (g, mask, 0))
        xs = ctx.input_shape(0)
        if tuple(xs) != tuple(g.shape):
            gx = gx.sum_to_size(tuple(xs))
    if ctx.needs_grad[2]:
        gs = apply(MASKED_SCATTER_BACKWARD, (g, mask), {"shape": tuple(ctx.input_shape(2))})
    return gx, None, gs


@MASKED_SCATTER_BACKWARD.defgrad
def _masked_scatter_backward_grad(ctx, gg):
    g, mask = ctx.saved
    z = _zeros(tuple(g.shape), dtype=gg.dtype)
    return apply(MASKED_SCATTER, (z, mask, gg)), None


def _masked_scatter_args(opname, input, mask, source):
    check_tensor(opname, "input", input)
    check_tensor(opname, "mask", mask)
    check_tensor(opname, "source", source)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(
            f"{opname}: only supports boolean masks, but got mask with dtype {mask.dtype.name}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"{opname}: expected self and source to have same dtypes but got {input.dtype.name} and "
            f"{source.dtype.name}"
        )
    try:
        shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(
            f"{opname}: mask of shape {list(mask.shape)} is not broadcastable with input of shape "
            f"{list(input.shape)}"
        ) from None
    if not is_tracing() and source._data.size < int(np.count_nonzero(np.broadcast_to(mask._data, shape))):
        raise RuntimeError(f"{opname}: Number of elements of source < number of ones in mask")
    return shape


@method("masked_scatter")
def masked_scatter(input, mask, source):
    """``input`` with the positions where ``mask`` (broadcast) is True filled, in order, with the first
    elements of ``source``.

    Example:
        >>> ts.zeros(4).masked_scatter(ts.tensor([True, False, True, False]), ts.tensor([1.0, 2.0, 3.0]))
        tensor([1., 0., 2., 0.])
    """
    _masked_scatter_args("masked_scatter", input, mask, source)
    return apply(MASKED_SCATTER, (input, mask, source))


@method("masked_scatter_")
def masked_scatter_(input, mask, source):
    """In-place ``masked_scatter``; ``mask`` must broadcast to ``input``'s shape."""
    shape = _masked_scatter_args("masked_scatter_", input, mask, source)
    if shape != input._data.shape:
        raise RuntimeError(
            f"masked_scatter_: output with shape {list(input.shape)} doesn't match the broadcast shape "
            f"{list(shape)}"
        )
    return _inplace(input, MASKED_SCATTER, (mask, source), {})


def _diag_positions(shape, wrap):
    """The flat positions of the main diagonal (of a tall matrix with ``wrap``: restarting every n + 1 rows)."""
    if len(shape) == 2:
        rows, cols = shape
        n = min(rows, cols)
        if wrap and rows > cols:
            return np.arange(0, rows * cols, cols + 1)
        return np.arange(n) * (cols + 1)
    stride = sum(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))
    return np.arange(shape[0]) * stride


def _fill_diagonal_into(out, x, value, wrap=False):
    out.reshape(-1)[_diag_positions(out.shape, wrap)] = value  # ``out`` is C-contiguous (a copy or ``x``)


def _fill_diagonal_forward(x, value, wrap=False):
    out = np.array(x, order="C")
    _fill_diagonal_into(out, x, value, wrap)
    return out


def _fill_diagonal_inplace(out, x, value, wrap=False):
    if out.flags.c_contiguous:
        _fill_diagonal_into(out, x, value, wrap)
    else:
        out[...] = _fill_diagonal_forward(out, value, wrap)


FILL_DIAGONAL = OpDef("fill_diagonal", _fill_diagonal_forward, inplace_forward=_fill_diagonal_inplace)


@FILL_DIAGONAL.defshape
def _fill_diagonal_rule(x, value, wrap=False):
    if x.ndim < 2:
        raise OpError("fill_diagonal_: dimensions must larger than 1")
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise OpError("fill_diagonal_: all dimensions of input must be of equal length")
    return TensorMeta(tuple(x.shape), x.dtype)


@FILL_DIAGONAL.defgrad
def _fill_diagonal_grad(ctx, g):
    return apply(FILL_DIAGONAL, (g,), dict(ctx.attrs, value=0))


@method("fill_diagonal_")
def fill_diagonal_(input, fill_value, wrap: bool = False):
    """Fill the main diagonal (entries with all indices equal) with ``fill_value`` in place; ``wrap``
    continues the diagonal of a tall matrix below every ``n`` columns + 1 rows.

    Example:
        >>> ts.zeros(2, 2).fill_diagonal_(1.0)
        tensor([[1., 0.],
                [0., 1.]])
    """
    check_tensor("fill_diagonal_", "input", input)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (numbers.Number, np.generic)) or isinstance(fill_value, complex):
        raise TypeError(f"fill_diagonal_: fill_value must be a number, got {type(fill_value).__name__}")
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError("fill_diagonal_: dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length")
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    return _inplace(input, FILL_DIAGONAL, (), {"value": fill_value, "wrap": bool(wrap)})


# -- select_scatter / slice_scatter / diagonal_scatter (``copy_slices``: base with a view region replaced) ---
def _scatter_region(opname, input, src, chain):
    from . import views as _views

    check_tensor(opname, "input", input)
    check_tensor(opname, "src", src)
    region = input.detach()
    for op, attrs in chain:
        region = apply(op, (region,), attrs)
    if tuple(region.shape) != tuple(src.shape):
        raise RuntimeError(
            f"{opname}: expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
            f"slice size = {list(region.shape)}"
        )
    if src._data.dtype != input._data.dtype:
        src = src.to(input.dtype)
    return apply(_views.COPY_SLICES, (input, src), {"chain": _views.chain_attr(chain)})


def select_scatter(input, src, dim: int, index: int):
    """``input`` with the slice ``index`` along ``dim`` replaced by ``src`` (a new tensor).

    Example:
        >>> ts.select_scatter(ts.zeros(2, 2), ts.ones(2), 0, 0)
        tensor([[1., 1.],
                [0., 0.]])
    """
    from . import shape as _sh

    check_tensor("select_scatter", "input", input)
    view = _sh.select(input.detach(), dim, index)
    return _scatter_region("select_scatter", input, src, _view_chain(view))


def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1):
    """``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src`` (a new tensor).

    Example:
        >>> ts.slice_scatter(ts.zeros(4), ts.ones(2), start=1, end=3)
        tensor([0., 1., 1., 0.])
    """
    from . import shape as _sh

    check_tensor("slice_scatter", "input", input)
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("slice_scatter: cannot be applied to a 0-dim tensor")
    d = canonical_dim("slice_scatter", dim, nd)
    if not isinstance(step, numbers.Integral) or step <= 0:
        raise RuntimeError(f"slice_scatter: slice step must be positive, got {step}")
    attrs = {"dim": d, "start": start, "stop": end, "step": None if step == 1 else int(step)}
    return _scatter_region("slice_scatter", input, src, ((_sh.SLICE, attrs),))


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """``input`` with its diagonal (as ``diagonal(input, offset, dim1, dim2)``) replaced by ``src``.

    Example:
        >>> ts.diagonal_scatter(ts.zeros(2, 2), ts.ones(2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    from . import shape as _sh

    check_tensor("diagonal_scatter", "input", input)
    view = _sh.diagonal(input.detach(), offset, dim1, dim2)
    return _scatter_region("diagonal_scatter", input, src, _view_chain(view))


def _view_chain(view):
    from ..core.dispatch import REGISTRY

    return tuple((REGISTRY[name], dict(attrs)) for name, attrs in view._view_ops)


for _name in ("select_scatter", "slice_scatter", "diagonal_scatter"):
    method(_name)(globals()[_name])


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
_ONNX_INT64_MAX = np.iinfo(np.int64).max


def _onnx_basic_key(g, x, key):
    """``x[key]`` for a basic key (ints, slices, None, Ellipsis) as ONNX Slice/Squeeze/Unsqueeze."""
    nd = g.ndim(x)
    used = sum(1 for e in key if e is not None and e is not Ellipsis)
    if used > nd:
        g.fail(f"the key indexes {used} dims of a {nd}-d tensor")
    full = []
    for e in key:
        if e is Ellipsis:
            full.extend([("slice", None, None, None)] * (nd - used))
        else:
            full.append(e)
    if Ellipsis not in key:
        full.extend([("slice", None, None, None)] * (nd - used))
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    d = out_pos = 0
    for e in full:
        if e is None:
            new.append(out_pos)
            out_pos += 1
            continue
        if e.__class__ is tuple:
            _, a, b, c = e
            c = 1 if c is None else c
            if (a, b, c) != (None, None, 1):
                starts.append((0 if c > 0 else -1) if a is None else a)
                ends.append((_ONNX_INT64_MAX if c > 0 else -_ONNX_INT64_MAX) if b is None else b)
                axes.append(d)
                steps.append(c)
            out_pos += 1
        elif isinstance(e, (int, np.integer)):
            i = int(e)
            starts.append(i)
            ends.append(i + 1 if i != -1 else _ONNX_INT64_MAX)
            axes.append(d)
            steps.append(1)
            drop.append(d)
        else:
            g.fail(f"index entries of type {type(e).__name__} are not supported")
        d += 1
    if axes:
        x = g.op("Slice", x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))
    if drop:
        x = g.squeeze(x, drop)
    if new:
        x = g.unsqueeze(x, new)
    return x if (axes or drop or new) else g.op("Identity", x)


@GETITEM.defonnx
def _getitem_onnx(g, x, key):
    return _onnx_basic_key(g, x, key)


@INDEX_SELECT.defonnx
def _index_select_onnx(g, x, index, dim):
    return g.op("Gather", x, g.cast(index, _dt.int64), axis=dim)


@GATHER.defonnx
def _gather_onnx(g, x, index, dim):
    if g.shape(index) != g.shape(x)[:dim] + g.shape(index)[dim : dim + 1] + g.shape(x)[dim + 1 :]:
        g.fail("gather with an index smaller than the input in other dims is not supported")
    return g.op("GatherElements", x, g.cast(index, _dt.int64), axis=dim)


@MASKED_FILL.defonnx
def _masked_fill_onnx(g, x, mask, value):
    dt = g.node.outputs[0].dtype
    return g.op("Where", g.cast(mask, _dt.bool), g.tensor(value, dt), g.tensor(x, dt))


@CHECK_INDEX.defonnx
def _check_index_onnx(g, index, lo, hi, message, error):
    # the bounds check has no ONNX counterpart (Gather's out-of-range behaviour is the runtime's)
    return g.const(np.bool_(True))


@INDEX.defonnx
def _index_onnx(g, x, *idx, key, adv, scalars=()):
    if scalars:
        g.fail("indexing with 0-d index tensors is not supported")
    if key is not None:
        x = _onnx_basic_key(g, x, key)
    if adv is None:
        return g.op("Identity", x)
    where = [(pos, j) for pos, j in enumerate(adv) if j is not None]
    if len(where) != 1:
        g.fail("indexing with several index tensors is not supported (one tensor index only)")
    pos, j = where[0]
    index = idx[j]
    if g.dtype(index) is _dt.bool:
        g.fail("boolean-mask indexing has a data-dependent shape")
    return g.op("Gather", x, g.cast(index, _dt.int64), axis=pos)
