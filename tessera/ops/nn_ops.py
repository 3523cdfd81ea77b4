"""Fused primitives behind the normalization layers, attention and the hot losses of ``ts.nn.functional``.

Not part of the public ``ts.*`` namespace: ``tessera.nn.functional`` calls them through ``apply``.

Export-level ops (what an exporter maps to one node each): ``batch_norm`` (training and evaluation),
``instance_norm``, ``layer_norm``, ``group_norm``, ``scaled_dot_product_attention``, ``cross_entropy``,
``nll_loss``, ``binary_cross_entropy``. Their forwards are fused NumPy kernels and their geometry lives in
their shape rules; each has a ``decompose`` reference in plain Tessera ops (a test oracle).

The normalization ops compute the mean, reciprocal standard deviation and biased variance once; their
gradient rules get them back through the kernel op ``norm_stats`` (a memo hit on the very input array the
forward saw, see ``_Memo``) and run the fused NumPy backward ops ``norm_backward_input`` and
``norm_backward_weight`` when the backward pass is not itself recorded; with ``create_graph=True`` they run
the same formulas as Tessera ops so higher-order gradients are exact. Running statistics change through
``running_stat_update``, a state-update op on the buffer (``mutates``).

``nll_loss`` and ``nll_loss_backward`` are each other's gradient (both are linear in their first input).
``binary_cross_entropy`` is elementwise (the caller weights and reduces) with PyTorch's log clamp at -100
and its gradient formulas ``(x - t) / max(x (1 - x), 1e-12)`` and ``log(1 - x) - log(x)``. The losses check
their targets (class-index bounds, probabilities in [0, 1]) inside their forwards, so the checks hold for a
replayed trace too and nothing outside an op reads tensor values.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, apply
from ..core.grad_mode import STATE as _GRAD
from ..core.grad_mode import no_grad as _no_grad
from . import elementwise as _ew
from . import indexing as _ix
from . import reduction as _red
from . import shape as _shape

__all__: list[str] = []

_add_reduce = np.add.reduce


def _is_half(a) -> bool:
    return a.dtype.itemsize < 4 and a.dtype.kind in "fV"


def _f32(a):
    return a.astype(np.float32) if _is_half(a) else a


def _count(shape, dims) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _kshape(shape, dims) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _adims(ndim, wshape) -> tuple:
    """Axes of an ``ndim`` input along which a weight viewed as ``wshape`` (right-aligned) is broadcast."""
    lead = ndim - len(wshape)
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(wshape) if s == 1)


# -- normalization: row (trailing-axes) fast paths ----------------------------------------------------------
# When the normalized axes are the trailing ones (layer/instance/group norm) the input is viewed as an
# (M, D) matrix of rows. Row and column sums then run as BLAS matrix-vector products and row dot products
# as ``np.vecdot``, several times faster than ``np.add.reduce``, and the statistics come from one read of
# the input: var = E[x^2] - mean^2. That formula loses precision when |mean| is large next to the standard
# deviation, so it is only used (in the forward and in the backward, which uses the same expansions) when
# every row has mean^2 <= _ROW_RATIO * var; otherwise the centered two-pass formulas run.
_ROW_RATIO = 8.0


def _row_dims(ndim, dims) -> bool:
    k = len(dims)
    return k > 0 and tuple(dims) == tuple(range(ndim - k, ndim))


def _rows_ok(mean, var) -> bool:
    """Whether the expanded (uncentered) row formulas are accurate for these statistics (no NaN/inf)."""
    return bool(np.all(mean * mean <= var * var.dtype.type(_ROW_RATIO)))


def _as_rows(a, d):
    return a.reshape(-1, d)


def _row_stats(xf, dims, eps, out):
    """``norm_stats`` over trailing ``dims`` into ``out`` (3, *kshape); False if the input is empty."""
    d = _count(xf.shape, dims)
    if d == 0 or xf.size == 0:
        return False
    x2 = _as_rows(xf, d)
    dt = xf.dtype.type
    mean, rstd, var = out[0].reshape(-1), out[1].reshape(-1), out[2].reshape(-1)
    np.matmul(x2, np.ones(d, xf.dtype), out=mean)
    mean *= dt(1.0 / d)
    np.vecdot(x2, x2, out=var)
    var *= dt(1.0 / d)
    var -= mean * mean
    if not _rows_ok(mean, var):
        xc = x2 - mean[:, None]
        np.vecdot(xc, xc, out=var)
        var *= dt(1.0 / d)
    np.add(var, dt(eps), out=rstd)
    np.sqrt(rstd, out=rstd)
    np.reciprocal(rstd, out=rstd)
    return True


# -- memo of fused intermediates ----------------------------------------------------------------------------
class _Memo:
    """Values that are pure functions of some input arrays (normalization statistics, attention weights),
    kept while those very arrays live.

    A fused forward (``layer_norm``, ``scaled_dot_product_attention``...) stores what its backward kernels
    and the running-statistics update would otherwise recompute; a lookup hits only for the same array
    objects and the same attributes, so a hit returns exactly what recomputing would. Its users are
    gradient rules, whose saved inputs autograd version-checks before they are read (an array changed in
    place since the forward raises there first), and the update that runs right after the forward. The
    graph stays a graph of pure ops: a replay or a compiler that never fills the memo recomputes.
    """

    __slots__ = ("_d",)

    def __init__(self):
        self._d = {}

    def put(self, arrays, key, value):
        ids = tuple(map(id, arrays))
        d = self._d

        def drop(ref, ids=ids):
            e = d.get(ids)
            if e is not None and any(r is ref for r in e[0]):
                d.pop(ids, None)

        d[ids] = (tuple(weakref.ref(a, drop) for a in arrays), key, value)

    def get(self, arrays, key):
        e = self._d.get(tuple(map(id, arrays)))
        if e is None or e[1] != key:
            return None
        for r, a in zip(e[0], arrays):
            if r() is not a:
                return None
        return e[2]


_MEMO = _Memo()


# -- normalization: statistics ------------------------------------------------------------------------------
def _norm_stats_compute(x, dims, eps):
    xf = x.astype(np.float32) if x.dtype.itemsize < 4 else x
    n = _count(x.shape, dims)
    out = np.empty((3,) + _kshape(x.shape, dims), xf.dtype)
    if _row_dims(x.ndim, dims) and _row_stats(xf, dims, eps, out):
        return out
    mean, rstd, var = out[0], out[1], out[2]
    _add_reduce(xf, axis=dims, keepdims=True, out=mean)
    mean /= n
    d = xf - mean
    d *= d
    _add_reduce(d, axis=dims, keepdims=True, out=var)
    var /= n
    np.add(var, xf.dtype.type(eps), out=rstd)
    np.sqrt(rstd, out=rstd)
    np.reciprocal(rstd, out=rstd)
    return out


def _stats_of(x, dims, eps, view, fresh=False):
    """(mean, rstd, biased var) of ``x`` (viewed as ``view``) over ``dims``, from the memo when the forward
    of a normalization op on this very array already computed them. A forward passes ``fresh``: it always
    computes (its input may have changed since an earlier call) and refreshes the memo."""
    key = ("norm", dims, eps, view)
    s = None if fresh else _MEMO.get((x,), key)
    if s is None:
        s = _norm_stats_compute(x if view is None else x.reshape(view), dims, eps)
        _MEMO.put((x,), key, s)
    return s


def _norm_stats_forward(x, dims, eps, view=None):
    return _stats_of(x, dims, eps, view)


def _norm_stats_shape(x, dims, eps, view=None):
    if x.dtype.category != _dt._FLOAT:
        raise OpError(f"norm_stats: expected a floating point input, got {x.dtype.name}")
    dt = _dt.float32 if x.dtype.itemsize < 4 else x.dtype
    return TensorMeta((3,) + _kshape(tuple(x.shape) if view is None else view, dims), dt)


# No gradient rule: the statistics are a cache that the normalization ops' rules differentiate themselves.
# ``view``: the shape ``x`` is reshaped to first (group norm's (N, G, C/G, L)).
NORM_STATS = OpDef("norm_stats", _norm_stats_forward, differentiable=False, shape_rule=_norm_stats_shape)


@NORM_STATS.defdecompose
def _norm_stats_decompose(x, dims, eps, view=None):
    xv = x if view is None else x.reshape(view)
    if x.dtype.itemsize < 4:
        xv = xv.float()
    mean = _red.mean(xv, dims, keepdim=True)
    xc = xv - mean
    var = _red.mean(xc * xc, dims, keepdim=True)
    return _shape.stack([mean, _ew.rsqrt(var + eps), var])


def norm_attrs(ndim: int, dims: tuple, wshape, eps: float) -> dict:
    """Attributes of the normalize step: the normalized ``dims``, the weight's broadcast view ``wshape``
    (right aligned to the input, or None), the axes ``adims`` the weight is broadcast along, and ``wconst``:
    the weight is constant along every normalized axis (batch/instance norm, not layer norm)."""
    adims = _adims(ndim, wshape) if wshape is not None else None
    wconst = wshape is None or set(dims) <= set(adims)
    return {"dims": dims, "wshape": wshape, "eps": float(eps), "adims": adims, "wconst": wconst}


# -- normalization: normalize + affine ----------------------------------------------------------------------
def _normalize(x, stats, w, b, dims, wshape, eps, adims, wconst):
    half = x.dtype.itemsize < 4
    xf = x.astype(np.float32) if half else x
    mean, rstd = stats[0], stats[1]
    if w is not None:
        w = (w.astype(np.float32) if half else w).reshape(wshape)
    if b is not None:
        b = (b.astype(np.float32) if half else b).reshape(wshape)
    if wconst or w is None:
        # scale and shift are constant along the normalized axes: y = x * scale + shift (two passes)
        scale = rstd if w is None else rstd * w
        shift = -mean * scale
        if b is not None:
            shift += b
        y = np.multiply(xf, scale, dtype=xf.dtype)
        y += shift.astype(xf.dtype, copy=False)
    elif _row_dims(x.ndim, dims):
        # per-row scalars first (a multiply before the subtract is the cheaper broadcast), then the weight
        y = np.multiply(xf, rstd, dtype=xf.dtype)
        y -= mean * rstd
        y *= w
        if b is not None:
            y += b
    else:
        y = xf - mean
        y *= rstd
        y *= w
        if b is not None:
            y += b
    return y.astype(x.dtype, copy=False) if y.dtype != x.dtype else y


@functools.lru_cache(maxsize=256)
def _geometry(kind: str, shape: tuple, extra) -> tuple:
    """(view, dims, normalize attrs) of a normalization op on an input of ``shape``: ``view`` is the shape
    the input is seen as (group norm) or None; ``extra`` is layer norm's normalized ndim or group norm's
    number of groups."""
    ndim = len(shape)
    if kind == "layer_norm":
        dims = tuple(range(ndim - extra, ndim))
        return None, dims, norm_attrs(ndim, dims, tuple(shape[ndim - extra :]), 0.0)
    if kind == "group_norm":
        n, c, g = shape[0], shape[1], extra
        view = (n, g, c // g, _count(shape, range(2, ndim)))
        return view, (2, 3), norm_attrs(4, (2, 3), (g, c // g, 1), 0.0)
    c = shape[1]
    wshape = (1, c) + (1,) * (ndim - 2)
    dims = (0,) + tuple(range(2, ndim)) if kind == "batch_norm" else tuple(range(2, ndim))
    return None, dims, norm_attrs(ndim, dims, wshape, 0.0)


def _norm_forward(kind, x, w, b, eps, extra=None):
    view, dims, a = _geometry(kind, x.shape, extra)
    stats = _stats_of(x, dims, eps, view, fresh=True)
    xv = x if view is None else x.reshape(view)
    y = _normalize(xv, stats, w, b, dims, a["wshape"], eps, a["adims"], a["wconst"])
    return y if view is None else y.reshape(x.shape)


def _float_input(name, x):
    if x.dtype.category != _dt._FLOAT:
        raise OpError(f"{name}: expected a floating point input, got {x.dtype.name}")


def _vec_meta(name, argname, t, size):
    if t is not None and tuple(t.shape) != (size,):
        raise OpError(f"{name}: {argname} should have shape ({size},), got {tuple(t.shape)}")


def _norm_grads(ctx, g, kind, x, w, b, eps, extra):
    """Gradients of a batch-statistics normalization for (x, w, b): the fused backward kernels, or with
    ``create_graph`` the same formulas as Tessera ops (differentiable: double backward)."""
    view, dims, a = _geometry(kind, tuple(x.shape), extra)
    nx, nw, nb = ctx.needs_grad[0], w is not None and ctx.needs_grad[-2], b is not None and ctx.needs_grad[-1]
    xv = x if view is None else x.reshape(view)
    gv = g if view is None else g.reshape(view)
    if _GRAD.enabled:
        gx, gw, gb = _composite_norm_grads(xv, w, b, gv, dims, a, eps, nx, nw, nb)
    else:
        gx, gw, gb = _fused_norm_grads(x, xv, w, b, gv, dims, view, a, eps, nx, nw, nb)
    if gx is not None and view is not None:
        gx = gx.reshape(tuple(x.shape))
    return gx, gw, gb


def _composite_norm_grads(x, w, b, g, dims, a, eps, nx, nw, nb):
    adims = a["adims"]
    wv = w.reshape(a["wshape"]) if w is not None else None
    xc = x - _red.mean(x, dims, keepdim=True)
    rstd = _ew.rsqrt(_red.mean(xc * xc, dims, keepdim=True) + eps)
    xhat = xc * rstd
    gx = gw = gb = None
    if nx:
        dxhat = g * wv if wv is not None else g
        m1 = _red.mean(dxhat, dims, keepdim=True)
        m2 = _red.mean(dxhat * xhat, dims, keepdim=True)
        gx = (dxhat - m1 - xhat * m2) * rstd
    if nw:
        gw = _red.sum(g * xhat, adims).reshape(tuple(w.shape))
    if nb:
        gb = _red.sum(g, adims).reshape(tuple(b.shape))
    return gx, gw, gb


def _fused_norm_grads(x, xv, w, b, g, dims, view, a, eps, nx, nw, nb):
    # the statistics come from the memo the forward filled (recomputed when it is gone)
    stats = apply(NORM_STATS, (x,), {"dims": dims, "eps": eps, "view": view})
    adims, wconst = a["adims"], a["wconst"]
    shared = nx and w is not None and wconst and len(adims) == len(dims)
    gw = gb = gx = None
    if w is not None and (nw or shared):
        gw = apply(
            NORM_BACKWARD_WEIGHT, (xv, stats, g), {"adims": adims, "out_shape": tuple(w.shape), "dims": dims}
        )
    if nb or shared:
        gb = _red.sum(g, adims)
        if b is not None and tuple(gb.shape) != tuple(b.shape):
            gb = gb.reshape(tuple(b.shape))
    if nx:
        gx = apply(
            NORM_BACKWARD_INPUT,
            (xv, stats, w, g, gw, gb),
            {"dims": dims, "wshape": a["wshape"], "wconst": wconst, "shared": shared},
        )
    return gx, gw if nw else None, gb if nb else None


# -- normalization: the export-level ops --------------------------------------------------------------------
# ``batch_norm(x, running_mean, running_var, weight, bias; training, eps)``: with ``training`` the batch
# statistics normalize (the running buffers are not inputs then: their update is its own op,
# ``running_stat_update``), otherwise the running statistics do, as one affine map.
def _batch_norm_forward(x, running_mean, running_var, w, b, training=True, eps=1e-5):
    if training:
        return _norm_forward("batch_norm", x, w, b, eps)
    # evaluation: y = x * scale + shift, in the promoted dtype of all the inputs (as the composite was)
    arrs = [a for a in (x, running_mean, running_var, w, b) if a is not None]
    dt = _dt.result_type(*arrs).np
    cast = [a if a is None or a.dtype == dt else a.astype(dt) for a in (x, running_mean, running_var, w, b)]
    xc, rm, rv, wc, bc = cast
    scale = _ew._rsqrt(rv + dt.type(eps))
    if wc is not None:
        scale = scale * wc
    shift = -rm * scale
    if bc is not None:
        shift = shift + bc
    wshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    y = xc * scale.reshape(wshape)
    y += shift.reshape(wshape)
    return y


def _batch_norm_shape(x, running_mean, running_var, w, b, training=True, eps=1e-5):
    _float_input("batch_norm", x)
    if x.ndim < 2:
        raise OpError(f"batch_norm: expected an input of shape (N, C, *), got shape {tuple(x.shape)}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", w), ("bias", b)):
        _vec_meta("batch_norm", name, t, c)
    if training:
        return TensorMeta(x.shape, x.dtype)
    if running_mean is None or running_var is None:
        raise OpError("batch_norm: evaluation mode needs running_mean and running_var")
    return TensorMeta(
        x.shape, _dt.result_type(*(t for t in (x, running_mean, running_var, w, b) if t is not None))
    )


BATCH_NORM = OpDef("batch_norm", _batch_norm_forward, shape_rule=_batch_norm_shape)


@BATCH_NORM.defgrad
def _batch_norm_grad(ctx, g):
    x, rm, rv, w, b = ctx.saved
    a = ctx.attrs
    if a["training"]:
        gx, gw, gb = _norm_grads(ctx, g, "batch_norm", x, w, b, a["eps"], None)
        return gx, None, None, gw, gb
    # evaluation: an affine map of x (the running statistics get no gradient, as PyTorch's)
    adims = (0,) + tuple(range(2, x.ndim))
    wshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    rstd = _ew.rsqrt(rv + a["eps"])
    gx = gw = gb = None
    if ctx.needs_grad[0]:
        gx = g * (rstd if w is None else rstd * w).reshape(wshape)
    if w is not None and ctx.needs_grad[3]:
        gw = _red.sum(g * ((x - rm.reshape(wshape)) * rstd.reshape(wshape)), adims)
    if b is not None and ctx.needs_grad[4]:
        gb = _red.sum(g, adims)
    return gx, None, None, gw, gb


@BATCH_NORM.defdecompose
def _batch_norm_decompose(x, running_mean, running_var, w, b, training=True, eps=1e-5):
    wshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    dims = (0,) + tuple(range(2, x.ndim))
    if training:
        return _decompose_norm(x, w, b, dims, wshape, eps)
    scale = _ew.rsqrt(running_var + eps)
    if w is not None:
        scale = scale * w
    shift = -running_mean * scale
    if b is not None:
        shift = shift + b
    return x * scale.reshape(wshape) + shift.reshape(wshape)


def _decompose_norm(x, w, b, dims, wshape, eps):
    xf = x.float() if x.dtype.itemsize < 4 else x
    xc = xf - _red.mean(xf, dims, keepdim=True)
    y = xc * _ew.rsqrt(_red.mean(xc * xc, dims, keepdim=True) + eps)
    if w is not None:
        y = y * w.reshape(wshape)
    if b is not None:
        y = y + b.reshape(wshape)
    return y.to(x.dtype) if y.dtype is not x.dtype else y


def _instance_norm_forward(x, w, b, eps=1e-5):
    return _norm_forward("instance_norm", x, w, b, eps)


def _instance_norm_shape(x, w, b, eps=1e-5):
    _float_input("instance_norm", x)
    if x.ndim < 3:
        raise OpError(
            f"instance_norm: expected an (N, C, *) input with spatial dimensions, got {tuple(x.shape)}"
        )
    _vec_meta("instance_norm", "weight", w, x.shape[1])
    _vec_meta("instance_norm", "bias", b, x.shape[1])
    return TensorMeta(x.shape, x.dtype)


INSTANCE_NORM = OpDef("instance_norm", _instance_norm_forward, shape_rule=_instance_norm_shape)


@INSTANCE_NORM.defgrad
def _instance_norm_grad(ctx, g):
    x, w, b = ctx.saved
    return _norm_grads(ctx, g, "instance_norm", x, w, b, ctx.attrs["eps"], None)


@INSTANCE_NORM.defdecompose
def _instance_norm_decompose(x, w, b, eps=1e-5):
    wshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return _decompose_norm(x, w, b, tuple(range(2, x.ndim)), wshape, eps)


def _layer_norm_forward(x, w, b, normalized_shape=(), eps=1e-5):
    return _norm_forward("layer_norm", x, w, b, eps, len(normalized_shape))


def _layer_norm_shape(x, w, b, normalized_shape=(), eps=1e-5):
    _float_input("layer_norm", x)
    k = len(normalized_shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != tuple(normalized_shape):
        raise OpError(
            f"layer_norm: given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of shape {tuple(x.shape)}"
        )
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and tuple(t.shape) != tuple(normalized_shape):
            raise OpError(
                f"layer_norm: expected {name} of shape {tuple(normalized_shape)}, got {tuple(t.shape)}"
            )
    return TensorMeta(x.shape, x.dtype)


LAYER_NORM = OpDef("layer_norm", _layer_norm_forward, shape_rule=_layer_norm_shape)


@LAYER_NORM.defgrad
def _layer_norm_grad(ctx, g):
    x, w, b = ctx.saved
    a = ctx.attrs
    return _norm_grads(ctx, g, "layer_norm", x, w, b, a["eps"], len(a["normalized_shape"]))


@LAYER_NORM.defdecompose
def _layer_norm_decompose(x, w, b, normalized_shape=(), eps=1e-5):
    k = len(normalized_shape)
    return _decompose_norm(x, w, b, tuple(range(x.ndim - k, x.ndim)), tuple(normalized_shape), eps)


def _group_norm_forward(x, w, b, num_groups=1, eps=1e-5):
    return _norm_forward("group_norm", x, w, b, eps, num_groups)


def _group_norm_shape(x, w, b, num_groups=1, eps=1e-5):
    _float_input("group_norm", x)
    if x.ndim < 2 or num_groups <= 0 or x.shape[1] % num_groups:
        raise OpError(
            f"group_norm: expected an (N, C, *) input with C divisible by num_groups={num_groups}, got shape "
            f"{tuple(x.shape)}"
        )
    _vec_meta("group_norm", "weight", w, x.shape[1])
    _vec_meta("group_norm", "bias", b, x.shape[1])
    return TensorMeta(x.shape, x.dtype)


GROUP_NORM = OpDef("group_norm", _group_norm_forward, shape_rule=_group_norm_shape)


@GROUP_NORM.defgrad
def _group_norm_grad(ctx, g):
    x, w, b = ctx.saved
    a = ctx.attrs
    return _norm_grads(ctx, g, "group_norm", x, w, b, a["eps"], a["num_groups"])


@GROUP_NORM.defdecompose
def _group_norm_decompose(x, w, b, num_groups=1, eps=1e-5):
    view, dims, a = _geometry("group_norm", tuple(x.shape), num_groups)
    y = _decompose_norm(x.reshape(view), None, None, dims, None, eps).reshape(tuple(x.shape))
    wshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if w is not None:
        y = y * w.reshape(wshape)
    if b is not None:
        y = y + b.reshape(wshape)
    return y


# -- normalization: running statistics ----------------------------------------------------------------------
def _running_stat_forward(
    buf, x, count, stat="mean", dims=(), eps=1e-5, momentum=0.1, keep=None, unbiased=True
):
    """``buf = keep * buf + momentum * batch_stat`` in place. ``batch_stat``: the per-channel mean or
    variance (unbiased with ``unbiased``) of ``x`` over ``dims`` (averaged over the samples when the
    statistics are per sample: instance norm); ``keep`` defaults to ``1 - momentum``. ``momentum=None``:
    the cumulative average, ``1 / count`` with ``count`` the number of batches seen (a tensor)."""
    c = buf.size
    s = _stats_of(x, dims, eps, None)
    per = s[0 if stat == "mean" else 2].reshape(-1, c)
    per = per[0] if per.shape[0] == 1 else per.mean(0)
    if stat == "var" and unbiased:
        m = _count(x.shape, dims)
        per = per * (m / (m - 1))
    if momentum is None:
        momentum = 1.0 / float(count)
    if keep is None:
        keep = 1.0 - momentum
    buf *= buf.dtype.type(keep)
    buf += (momentum * per).astype(buf.dtype, copy=False).reshape(buf.shape)
    return buf


def _running_stat_shape(buf, x, count, stat="mean", dims=(), **attrs):
    if stat not in ("mean", "var"):
        raise OpError(f"running_stat_update: stat must be 'mean' or 'var', got {stat!r}")
    if attrs.get("momentum", 0.1) is None and count is None:
        raise OpError("running_stat_update: momentum=None (cumulative average) needs the batch count tensor")
    return TensorMeta(buf.shape, buf.dtype)


# A state update (mutates the buffer, records no history): what an exporter sees as the running-statistics
# outputs of a training-mode BatchNormalization.
RUNNING_STAT_UPDATE = OpDef(
    "running_stat_update", _running_stat_forward, mutates=(0,), shape_rule=_running_stat_shape
)


def update_running_stats(
    running_mean, running_var, x, dims, eps, momentum, *, keep=None, count=None, unbiased=True
) -> None:
    """Update the running mean and variance buffers (either may be None) with the batch statistics of
    ``x`` over ``dims``, one ``running_stat_update`` op each (shared by ``nn`` and ``keras``: PyTorch's
    ``momentum`` is the weight of the batch statistic, Keras passes ``keep`` = its momentum)."""
    base = {"dims": dims, "eps": float(eps), "momentum": momentum, "keep": keep, "unbiased": unbiased}
    with _no_grad():
        for buf, stat in ((running_mean, "mean"), (running_var, "var")):
            if buf is not None:
                apply(RUNNING_STAT_UPDATE, (buf, x, count), dict(base, stat=stat))


# -- normalization: backward kernels ------------------------------------------------------------------------
def _row_affine(x, adims, dims) -> bool:
    """The rows fast path applies to the weight: normalized over trailing ``dims``, broadcast only along
    the leading axes (layer norm), and the input is not empty."""
    return (
        dims is not None
        and x.size > 0
        and _row_dims(x.ndim, dims)
        and tuple(adims) == tuple(range(x.ndim - len(dims)))
    )


def _norm_backward_weight_forward(x, stats, g, adims, out_shape, dims=None):
    """``sum(g * xhat)`` over the axes the weight is broadcast along, in the weight's shape."""
    half = x.dtype.itemsize < 4
    if _row_affine(x, adims, dims):
        mean, rstd = stats[0].reshape(-1), stats[1].reshape(-1)
        if _rows_ok(mean, stats[2].reshape(-1)):
            # sum_i rstd_i (x_ij - mean_i) g_ij = rstd @ (g * x) - (rstd * mean) @ g: two BLAS products
            d = _count(x.shape, dims)
            g2 = _as_rows(g.astype(np.float32) if half else g, d)
            gx = np.multiply(_as_rows(x, d), g2, dtype=g2.dtype)
            r = rstd.astype(g2.dtype, copy=False)
            out = r @ gx
            out -= (r * mean.astype(g2.dtype, copy=False)) @ g2
            return out.reshape(out_shape).astype(g.dtype, copy=False)
    xhat = (x.astype(np.float32) if half else x) - stats[0]
    xhat *= stats[1]
    xhat *= g.astype(np.float32) if half else g
    return _add_reduce(xhat, axis=adims).reshape(out_shape).astype(g.dtype, copy=False)


def _norm_backward_weight_shape(x, stats, g, adims, out_shape, dims=None):
    return TensorMeta(tuple(out_shape), g.dtype)


NORM_BACKWARD_WEIGHT = OpDef(
    "norm_backward_weight",
    _norm_backward_weight_forward,
    differentiable=False,
    shape_rule=_norm_backward_weight_shape,
)


@NORM_BACKWARD_WEIGHT.defdecompose
def _norm_backward_weight_decompose(x, stats, g, adims, out_shape, dims=None):
    xhat = (x - stats[0]) * stats[1]
    return _red.sum(g * xhat, adims).reshape(tuple(out_shape)).to(g.dtype)


def _row_backward_input(xf, mean, rstd, w, gf, d):
    """dx = rstd * (g w - mean(g w) - xhat * mean(g w xhat)) over (M, D) rows, with xhat expanded:
    dx = rstd (g w) + c x + e for per-row c = -rstd^2 m2, e = -c mean - rstd m1 (one pass each)."""
    x2, g2 = _as_rows(xf, d), _as_rows(gf, d)
    mean, rstd = mean.reshape(-1), rstd.reshape(-1)
    dt = g2.dtype
    if w is not None:
        wv = w.reshape(-1).astype(dt, copy=False)
        m1 = g2 @ wv
        dx = np.multiply(g2, wv)
    else:
        m1 = g2 @ np.ones(d, dt)
        dx = g2.copy()
    # m2 = mean_j(g w xhat) = rstd / d * (sum_j g w x - mean * sum_j g w)
    m2 = np.vecdot(dx, x2)
    m2 -= mean * m1
    m2 *= rstd * dt.type(1.0 / d)
    m1 *= dt.type(1.0 / d)
    c = rstd * rstd
    c *= m2
    np.negative(c, out=c)
    e = -c * mean
    e -= rstd * m1
    dx *= rstd[:, None]
    t = np.multiply(x2, c[:, None], dtype=dt)
    dx += t
    dx += e[:, None]
    return dx.reshape(gf.shape)


def _norm_backward_input_forward(x, stats, w, g, gw, gb, dims, wshape, wconst, shared):
    """d(native_norm)/dx applied to ``g``. With ``shared`` (the weight's reduction axes equal ``dims``:
    batch norm), ``gw = sum(g * xhat)`` and ``gb = sum(g)`` are the weight/bias gradients already computed,
    sparing two reductions."""
    half = x.dtype.itemsize < 4
    xf = x.astype(np.float32) if half else x
    gf = g.astype(np.float32) if half else g
    mean, rstd = stats[0], stats[1]
    if w is not None:
        w = (w.astype(np.float32) if half else w).reshape(wshape)
    n = _count(x.shape, dims)
    rows = not wconst and _row_dims(x.ndim, dims) and x.size > 0
    if rows and (w is None or tuple(wshape) == x.shape[x.ndim - len(dims) :]) and _rows_ok(mean, stats[2]):
        return _row_backward_input(xf, mean, rstd, w, gf, n).astype(g.dtype, copy=False)
    xhat = xf - mean
    xhat *= rstd
    if wconst or w is None:
        kshape = mean.shape
        s_gx = gw.astype(xf.dtype).reshape(kshape) if shared else None
        s_g = gb.astype(xf.dtype).reshape(kshape) if shared else None
        if s_g is None:
            s_g = _add_reduce(gf, axis=dims, keepdims=True)
        if s_gx is None:
            s_gx = _add_reduce(gf * xhat, axis=dims, keepdims=True)
        scale = rstd if w is None else rstd * w
        # dx = scale * (g - mean(g) - xhat * mean(g * xhat))
        xhat *= -(s_gx / n) * scale
        xhat += gf * scale
        xhat -= (s_g / n) * scale
        return xhat.astype(g.dtype, copy=False)
    dxhat = gf * w if w is not None else gf.copy()
    m1 = _add_reduce(dxhat, axis=dims, keepdims=True)
    m1 /= n
    m2 = _add_reduce(dxhat * xhat, axis=dims, keepdims=True)
    m2 /= n
    xhat *= m2
    dxhat -= m1
    dxhat -= xhat
    dxhat *= rstd
    return dxhat.astype(g.dtype, copy=False)


def _norm_backward_input_shape(x, stats, w, g, gw, gb, **attrs):
    return TensorMeta(x.shape, g.dtype)


NORM_BACKWARD_INPUT = OpDef(
    "norm_backward_input",
    _norm_backward_input_forward,
    differentiable=False,
    shape_rule=_norm_backward_input_shape,
)


@NORM_BACKWARD_INPUT.defdecompose
def _norm_backward_input_decompose(x, stats, w, g, gw, gb, dims, wshape, wconst, shared):
    xhat = (x - stats[0]) * stats[1]
    dxhat = g * w.reshape(wshape) if w is not None else g
    m1 = _red.mean(dxhat, dims, keepdim=True)
    m2 = _red.mean(dxhat * xhat, dims, keepdim=True)
    return ((dxhat - m1 - xhat * m2) * stats[1]).to(g.dtype)


# -- negative log likelihood --------------------------------------------------------------------------------
class _TargetIndexError(OpError, IndexError):
    """A class-index target out of range: an ``IndexError`` that ``apply`` passes through unchanged."""


def _check_targets(opname, target, c, ignore_index):
    """PyTorch's bounds check of class-index targets, in the forward (so a replayed trace checks too)."""
    if target.size:
        bad = (target < 0) | (target >= c)
        bad &= target != ignore_index
        if bad.any():
            raise _TargetIndexError(
                f"{opname}: target {int(target[bad].flat[0])} is out of bounds for {c} classes"
            )


def _nll_parts(target, weight, ignore_index, dtype):
    """(valid mask, target with ignored entries at class 0, per-element weight) for ``target``."""
    valid = target != ignore_index
    tc = np.where(valid, target, 0) if not valid.all() else target
    if weight is not None:
        wt = weight.astype(dtype, copy=False)[tc]
        wt *= valid
    else:
        wt = valid.astype(dtype)
    return valid, tc, wt


def _nll_forward(x, target, weight, ignore_index=-100, reduction="mean"):
    _check_targets("nll_loss", target, x.shape[1], ignore_index)
    xf = _f32(x)
    _, tc, wt = _nll_parts(target, weight, ignore_index, xf.dtype)
    picked = np.take_along_axis(xf, tc[:, None], axis=1)[:, 0]
    losses = picked * wt
    np.negative(losses, out=losses)
    if reduction == "none":
        out = losses
    elif reduction == "sum":
        out = _add_reduce(losses, axis=None)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = _add_reduce(losses, axis=None) / _add_reduce(wt, axis=None)
    return np.asarray(out, dtype=x.dtype)


def _class_meta(opname, x, target, weight):
    if x.ndim < 2 or tuple(target.shape) != (x.shape[0],) + tuple(x.shape[2:]):
        raise OpError(
            f"{opname}: expected an (N, C, *) input and an (N, *) target, got {tuple(x.shape)} and "
            f"{tuple(target.shape)}"
        )
    if target.dtype is not _dt.int64:
        raise OpError(f"{opname}: expected an int64 target, got {target.dtype.name}")
    if weight is not None and tuple(weight.shape) != (x.shape[1],):
        raise OpError(f"{opname}: expected a weight of shape ({x.shape[1]},), got {tuple(weight.shape)}")


def _nll_shape(x, target, weight, ignore_index=-100, reduction="mean"):
    _class_meta("nll_loss", x, target, weight)
    if reduction == "none":
        return TensorMeta(tuple(target.shape), x.dtype)
    return TensorMeta((), x.dtype)


NLL_LOSS = OpDef("nll_loss", _nll_forward, shape_rule=_nll_shape)


def _nll_backward_forward(g, target, weight, ignore_index=-100, reduction="mean", shape=()):
    gf = _f32(g)
    _, tc, wt = _nll_parts(target, weight, ignore_index, gf.dtype)
    if reduction == "none":
        coef = wt * gf
    elif reduction == "sum":
        coef = wt * gf
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = wt * (gf / _add_reduce(wt, axis=None))
    np.negative(coef, out=coef)
    out = np.zeros(shape, gf.dtype)
    np.put_along_axis(out, tc[:, None], coef[:, None], axis=1)
    return out.astype(g.dtype, copy=False)


def _nll_backward_shape(g, target, weight, ignore_index=-100, reduction="mean", shape=()):
    return TensorMeta(tuple(shape), g.dtype)


@NLL_LOSS.defdecompose
def _nll_decompose(x, target, weight, ignore_index=-100, reduction="mean"):
    valid = target != ignore_index
    tc = _ew.where(valid, target, 0)
    picked = _ix.gather(x, 1, tc.unsqueeze(1)).squeeze(1)
    wt = (
        valid.to(x.dtype)
        if weight is None
        else _ix.gather(weight, 0, tc.flatten()).reshape(tuple(tc.shape)) * valid.to(x.dtype)
    )
    losses = -(picked * wt)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / wt.sum()


NLL_LOSS_BACKWARD = OpDef("nll_loss_backward", _nll_backward_forward, shape_rule=_nll_backward_shape)


@NLL_LOSS.defgrad
def _nll_grad(ctx, g):
    x, target, weight = ctx.saved
    attrs = dict(ctx.attrs, shape=ctx.input_shape(0))
    return apply(NLL_LOSS_BACKWARD, (g, target, weight), attrs), None, None


@NLL_LOSS_BACKWARD.defgrad
def _nll_backward_grad(ctx, gg):
    _, target, weight = ctx.saved
    attrs = {k: v for k, v in ctx.attrs.items() if k != "shape"}
    return apply(NLL_LOSS, (gg, target, weight), attrs), None, None


# -- cross entropy with class indices (log_softmax + nll + label smoothing, fused) ------------------------
def _ce_parts(x, target, weight, ignore_index, label_smoothing):
    """Per-element (N, *) coefficients: ``wt`` (target weight, 0 where ignored), ``valid`` and the total
    class weight ``wsum`` (C without ``weight``)."""
    c = x.shape[1]
    valid, tc, wt = _nll_parts(target, weight, ignore_index, x.dtype)
    wsum = float(c) if weight is None else float(weight.sum(dtype=np.float64))
    return valid, tc, wt, wsum


def _ce_denom(wt):
    return _add_reduce(wt, axis=None)


def _cross_entropy_forward(x, target, weight, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    _check_targets("cross_entropy", target, x.shape[1], ignore_index)
    xf = _f32(x)
    c = xf.shape[1]
    valid, tc, wt, _ = _ce_parts(xf, target, weight, ignore_index, label_smoothing)
    m = np.max(xf, axis=1, keepdims=True)
    s = xf - m
    e = np.exp(s)
    lse = np.log(_add_reduce(e, axis=1, keepdims=True))
    picked = np.take_along_axis(s, tc[:, None], axis=1)
    picked -= lse
    losses = picked[:, 0]
    losses *= wt
    np.negative(losses, out=losses)
    if label_smoothing:
        s -= lse  # log-probabilities
        if weight is not None:
            w = weight.astype(xf.dtype, copy=False).reshape((c,) + (1,) * (xf.ndim - 2))
            smooth = -_add_reduce(s * w, axis=1)
        else:
            smooth = -_add_reduce(s, axis=1)
        smooth *= valid
        losses *= 1.0 - label_smoothing
        losses += smooth * (label_smoothing / c)
    if reduction == "none":
        out = losses
    elif reduction == "sum":
        out = _add_reduce(losses, axis=None)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = _add_reduce(losses, axis=None) / _ce_denom(wt)
    return np.asarray(out, dtype=x.dtype)


def _cross_entropy_shape(x, target, weight, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    _class_meta("cross_entropy", x, target, weight)
    if reduction == "none":
        return TensorMeta(tuple(target.shape), x.dtype)
    return TensorMeta((), x.dtype)


CROSS_ENTROPY = OpDef("cross_entropy", _cross_entropy_forward, shape_rule=_cross_entropy_shape)


@CROSS_ENTROPY.defdecompose
def _cross_entropy_decompose(x, target, weight, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    xf = x.float() if x.dtype.itemsize < 4 else x
    c = x.shape[1]
    logp = _red.log_softmax(xf, 1)
    valid = (target != ignore_index).to(xf.dtype)
    tc = _ew.where(target != ignore_index, target, 0)
    picked = _ix.gather(logp, 1, tc.unsqueeze(1)).squeeze(1)
    if weight is None:
        wt = valid
    else:
        wt = _ix.gather(weight.to(xf.dtype), 0, tc.flatten()).reshape(tuple(tc.shape)) * valid
    losses = -(picked * wt)
    if label_smoothing:
        lw = logp if weight is None else logp * weight.to(xf.dtype).reshape((c,) + (1,) * (x.ndim - 2))
        smooth = -lw.sum(1) * valid
        losses = losses * (1.0 - label_smoothing) + smooth * (label_smoothing / c)
    if reduction == "none":
        out = losses
    else:
        out = losses.sum() if reduction == "sum" else losses.sum() / wt.sum()
    return out.to(x.dtype) if out.dtype is not x.dtype else out


def _ce_coefficients(x, target, weight, g, ignore_index, reduction, label_smoothing):
    """``d loss / d x = p * a - b``: ``a`` (N, 1, *) and the dense ``b`` (N, C, *), both scaled by the
    incoming gradient ``g`` (a NumPy array here)."""
    c = x.shape[1]
    valid, tc, wt, wsum = _ce_parts(x, target, weight, ignore_index, label_smoothing)
    if reduction == "none":
        coef = g.astype(x.dtype, copy=False)
    elif reduction == "sum":
        coef = np.broadcast_to(g.astype(x.dtype), wt.shape)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = np.broadcast_to((g / _ce_denom(wt)).astype(x.dtype), wt.shape)
    ls = label_smoothing
    hot = wt * coef
    a = hot * (1.0 - ls)
    if ls:
        a += (valid * coef) * (ls * wsum / c)
    b = np.zeros(x.shape, x.dtype)
    np.put_along_axis(b, tc[:, None], (hot * (1.0 - ls))[:, None], axis=1)
    if ls:
        w = np.ones(c, x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        vc = (valid * coef * (ls / c))[:, None]
        b += vc * w.reshape((c,) + (1,) * (x.ndim - 2))
    return a[:, None], b


def _cross_entropy_backward_forward(
    x, target, weight, g, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    xf, gf = _f32(x), _f32(g)
    a, b = _ce_coefficients(xf, target, weight, gf, ignore_index, reduction, label_smoothing)
    p = xf - np.max(xf, axis=1, keepdims=True)
    np.exp(p, out=p)
    p *= a / _add_reduce(p, axis=1, keepdims=True)
    p -= b
    return p.astype(g.dtype, copy=False)


def _cross_entropy_backward_shape(x, target, weight, g, **attrs):
    return TensorMeta(tuple(x.shape), g.dtype)


CROSS_ENTROPY_BACKWARD = OpDef(
    "cross_entropy_backward",
    _cross_entropy_backward_forward,
    differentiable=False,
    shape_rule=_cross_entropy_backward_shape,
)


@CROSS_ENTROPY.defgrad
def _cross_entropy_grad(ctx, g):
    x, target, weight = ctx.saved
    if not _GRAD.enabled:
        return apply(CROSS_ENTROPY_BACKWARD, (x, target, weight, g), ctx.attrs), None, None
    # recorded backward (create_graph): (softmax(x) * a - b) * g with b the coefficients for a unit g (an
    # op of the target) and a = sum_c b (the gradient of a softmax loss sums to zero over the classes)
    at = ctx.attrs
    b = apply(CROSS_ENTROPY_TARGET_GRAD, (x, target, weight), at)
    gb = g.reshape(tuple(g.shape[:1]) + (1,) + tuple(g.shape[1:])) if at["reduction"] == "none" else g
    p = _red.softmax(x, 1)
    return (p * _red.sum(b, (1,), keepdim=True) - b) * gb, None, None


def _ce_target_grad_forward(x, target, weight, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """``b`` of ``d loss / d x = softmax(x) * a - b`` for a unit incoming gradient (x: shape and dtype)."""
    ones = np.ones(target.shape if reduction == "none" else (), x.dtype)
    return _ce_coefficients(x, target, weight, ones, ignore_index, reduction, label_smoothing)[1]


def _ce_target_grad_shape(x, target, weight, **attrs):
    return TensorMeta(tuple(x.shape), x.dtype)


CROSS_ENTROPY_TARGET_GRAD = OpDef(
    "cross_entropy_target_grad",
    _ce_target_grad_forward,
    differentiable=False,
    shape_rule=_ce_target_grad_shape,
)


# -- binary cross entropy -----------------------------------------------------------------------------------
def _bce_forward(x, t):
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise OpError("binary_cross_entropy: all elements of input should be between 0 and 1")
    xf, tf = _f32(x), _f32(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(xf)
        l1 = np.log1p(-xf)
    np.maximum(lx, -100, out=lx)
    np.maximum(l1, -100, out=l1)
    # -(t * log(x) + (1 - t) * log(1 - x)) = (t - 1) * l1 - t * lx
    out = (tf - 1) * l1
    out -= tf * lx
    return out.astype(x.dtype, copy=False)


def _bce_shape(x, t):
    return TensorMeta(tuple(np.broadcast_shapes(tuple(x.shape), tuple(t.shape))), x.dtype)


BINARY_CROSS_ENTROPY = OpDef("binary_cross_entropy", _bce_forward, promote=True, shape_rule=_bce_shape)


@BINARY_CROSS_ENTROPY.defgrad
def _bce_grad(ctx, g):
    x, t = ctx.saved
    gx = gt = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if ctx.needs_grad[0]:
            gx = g * (x - t) / _ew.clamp_min(x * (1 - x), 1e-12)
        if ctx.needs_grad[1]:  # PyTorch does not clamp the logs here
            gt = g * (_ew.log1p(-x) - _ew.log(x))
    return gx, gt


# -- scaled dot-product attention ---------------------------------------------------------------------------
# ``scaled_dot_product_attention(q, k, v, mask; is_causal, scale)``: softmax(q k^T * scale + mask) v over the
# last two axes, leading axes broadcast. ``mask``: a bool tensor (True = takes part) or a float tensor
# added to the scores, or None. Rows with no visible position give zeros. Dropout and grouped-query heads
# stay outside (their own ops). The attention weights, which the gradient needs, are an op of their own
# (``sdpa_weights``), served from the memo the forward filled.
_NEG_INF = float("-inf")


@functools.lru_cache(maxsize=64)
def _causal_hidden(L: int, S: int) -> np.ndarray:
    """(L, S) bool array, True above the diagonal: the positions a causal (top-left aligned) mask hides."""
    m = np.triu(np.ones((L, S), dtype=bool), 1)
    m.flags.writeable = False
    return m


def _sdpa_weights_compute(q, k, mask, is_causal, scale):
    if _is_half(q):
        q, k = q.astype(np.float32), k.astype(np.float32)
    scores = np.matmul(q * q.dtype.type(scale), np.swapaxes(k, -1, -2))
    hidden = bias = None
    if mask is not None:
        if mask.dtype == np.bool_:
            hidden = ~mask
        else:
            bias = mask.astype(scores.dtype, copy=False)
    elif is_causal:
        hidden = _causal_hidden(q.shape[-2], k.shape[-2])
    full = None
    if hidden is not None or bias is not None:
        h = hidden
        if bias is not None:
            hb = np.isneginf(bias)
            h = hb if h is None else (h | hb)
        f = h.all(-1, keepdims=True)
        if f.any():
            # rows with nothing to attend to: softmax them unmasked (finite), then zero their weights
            full = f
            if hidden is not None:
                hidden = hidden & ~f
            if bias is not None:
                bias = np.where(f, scores.dtype.type(0), bias)
    if bias is not None:
        scores = scores + bias
    if hidden is not None:
        scores = np.where(hidden, scores.dtype.type(_NEG_INF), scores)
    scores -= np.max(scores, axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= _add_reduce(scores, axis=-1, keepdims=True)
    if full is not None:
        scores = np.where(full, scores.dtype.type(0), scores)
    return scores


def _sdpa_weights(q, k, mask, is_causal, scale, fresh=False):
    arrays = (q, k) if mask is None else (q, k, mask)
    key = ("sdpa", is_causal, scale)
    w = None if fresh else _MEMO.get(arrays, key)
    if w is None:
        w = _sdpa_weights_compute(q, k, mask, is_causal, scale)
        if _GRAD.enabled:  # only a recorded graph can ask for them again
            _MEMO.put(arrays, key, w)
    return w


def _sdpa_weights_forward(q, k, mask, is_causal=False, scale=1.0):
    w = _sdpa_weights(q, k, mask, is_causal, scale)
    return w.astype(q.dtype) if w.dtype != q.dtype else w


def _sdpa_batch(name, q, k, v, mask):
    if q.ndim < 2 or k.ndim < 2 or (v is not None and v.ndim < 2):
        raise OpError(f"{name}: expected query, key and value with at least 2 dimensions")
    if q.dtype.category != _dt._FLOAT or k.dtype is not q.dtype or (v is not None and v.dtype is not q.dtype):
        raise OpError(f"{name}: expected query, key and value of the same floating dtype")
    if q.shape[-1] != k.shape[-1] or (v is not None and k.shape[-2] != v.shape[-2]):
        raise OpError(f"{name}: incompatible query {tuple(q.shape)}, key {tuple(k.shape)} shapes")
    try:
        batch = np.broadcast_shapes(tuple(q.shape[:-2]), tuple(k.shape[:-2]))
        if v is not None:
            batch = np.broadcast_shapes(batch, tuple(v.shape[:-2]))
        L, S = q.shape[-2], k.shape[-2]
        if mask is not None:
            if mask.dtype is not _dt.bool and mask.dtype.category != _dt._FLOAT:
                raise OpError(f"{name}: the mask must be bool or floating point, got {mask.dtype.name}")
            full = np.broadcast_shapes(tuple(mask.shape), batch + (L, S))
            batch = full[:-2]
    except ValueError:
        raise OpError(
            f"{name}: batch dimensions of query, key, value and mask are not broadcastable"
        ) from None
    return batch, L, S


def _sdpa_weights_shape(q, k, mask, is_causal=False, scale=1.0):
    batch, L, S = _sdpa_batch("sdpa_weights", q, k, None, mask)
    return TensorMeta(batch + (L, S), q.dtype)


SDPA_WEIGHTS = OpDef(
    "sdpa_weights", _sdpa_weights_forward, differentiable=False, shape_rule=_sdpa_weights_shape
)


def attention_probs(scores, hidden, bias, safe: bool):
    """softmax(scores + bias, hidden positions at -inf) over the last axis, as Tessera ops (no branch on
    values). ``hidden``: bool tensor (True = hidden) or None; ``bias``: float tensor or None. ``safe``: rows
    hidden entirely give zero weights (and gradients) instead of NaN."""
    from .. import ops as _ops

    full = None
    if safe and (hidden is not None or bias is not None):
        h = hidden
        if bias is not None:
            hb = _ops.isneginf(bias)
            h = hb if h is None else _ops.logical_or(h, hb)
        full = _ops.all(h, -1, keepdim=True)
        if hidden is not None:
            hidden = _ops.logical_and(hidden, _ops.logical_not(full))
        if bias is not None:
            bias = _ops.masked_fill(bias, full, 0.0)
    if bias is not None:
        scores = scores + bias
    if hidden is not None:
        scores = _ops.masked_fill(scores, hidden, _NEG_INF)
    attn = _ops.softmax(scores, -1)
    if full is not None:
        attn = _ops.masked_fill(attn, full, 0.0)
    return attn


@SDPA_WEIGHTS.defdecompose
def _sdpa_weights_decompose(q, k, mask, is_causal=False, scale=1.0):
    from .. import ops as _ops
    from ..core import creation as _creation

    hidden = bias = None
    if mask is not None:
        if mask.dtype is _dt.bool:
            hidden = _ops.logical_not(mask)
        else:
            bias = mask.to(q.dtype)
    elif is_causal:
        L, S = q.shape[-2], k.shape[-2]
        hidden = _ops.triu(_creation.ones((L, S), dtype=_dt.bool), 1)
    return attention_probs(_ops.matmul(q * scale, k.mT), hidden, bias, True)


def _sdpa_forward(q, k, v, mask, is_causal=False, scale=1.0):
    w = _sdpa_weights(q, k, mask, is_causal, scale, fresh=True)
    out = np.matmul(w, v.astype(w.dtype, copy=False))
    return out.astype(q.dtype) if out.dtype != q.dtype else out


def _sdpa_shape(q, k, v, mask, is_causal=False, scale=1.0):
    batch, L, S = _sdpa_batch("scaled_dot_product_attention", q, k, v, mask)
    return TensorMeta(batch + (L, v.shape[-1]), q.dtype)


SDPA = OpDef("scaled_dot_product_attention", _sdpa_forward, shape_rule=_sdpa_shape)


def _sum_to(t, ref):
    if tuple(t.shape) != tuple(ref.shape):
        t = t.sum_to_size(tuple(ref.shape))
    return t if t.dtype is ref.dtype else t.to(ref.dtype)


@SDPA.defgrad
def _sdpa_grad(ctx, g):
    from .linalg import matmul

    q, k, v, mask = ctx.saved
    a = ctx.attrs
    if _GRAD.enabled:  # create_graph: differentiable weights
        attn = _sdpa_weights_decompose(q, k, mask, **a)
    else:
        attn = apply(SDPA_WEIGHTS, (q, k, mask), a)
    gq = gk = gv = gm = None
    if ctx.needs_grad[2]:
        gv = _sum_to(matmul(attn.mT, g), v)
    if ctx.needs_grad[0] or ctx.needs_grad[1] or ctx.needs_grad[3]:
        ga = matmul(g, v.mT)
        ds = attn * (ga - _red.sum(ga * attn, (-1,), keepdim=True))
        if ctx.needs_grad[0]:
            gq = _sum_to(matmul(ds, k) * a["scale"], q)
        if ctx.needs_grad[1]:
            gk = _sum_to(matmul(ds.mT, q) * a["scale"], k)
        if ctx.needs_grad[3]:
            gm = _sum_to(ds, mask)
    return gq, gk, gv, gm


@SDPA.defdecompose
def _sdpa_decompose(q, k, v, mask, is_causal=False, scale=1.0):
    from .linalg import matmul

    return matmul(_sdpa_weights_decompose(q, k, mask, is_causal, scale), v)


# -- connectionist temporal classification ------------------------------------------------------------------
# ``ctc_loss(log_probs (T, N, C), targets, input_lengths (N,), target_lengths (N,); blank, zero_infinity)``
# -> the per-sample negative log likelihood (N,). ``targets`` is (N, S) padded or (sum(target_lengths),)
# concatenated. The forward runs the alpha recursion in log space over the extended label sequences (blanks
# around each label), vectorised over the batch; the gradient op ``ctc_loss_backward`` runs the beta
# recursion and returns PyTorch's gradient ``exp(lp) - sum_s exp(alpha + beta + nll - lp)`` (that of the
# logits under a log_softmax, which PyTorch's kernel returns for ``log_probs``), zero past each input length.
_NEG = -np.inf


def _ctc_labels(targets, target_lengths, c, blank):
    """The (N, 2 S + 1) extended labels (blank, l1, blank, l2, ..., blank) and the lengths as arrays."""
    tl = target_lengths.astype(np.int64)
    n = tl.shape[0]
    if (tl < 0).any():
        raise OpError("ctc_loss: target_lengths must be non-negative")
    s = int(tl.max()) if n else 0
    if targets.ndim == 2:
        if s > targets.shape[1]:
            raise OpError(
                f"ctc_loss: Expected tensor to have size at least {s} at dimension 1, but got size "
                f"{targets.shape[1]} for argument #2 'targets'"
            )
        padded = targets[:, :s].astype(np.int64)
    else:
        ends = np.cumsum(tl)
        if n and ends[-1] > targets.shape[0]:
            raise OpError(
                f"ctc_loss: the target lengths sum to {int(ends[-1])} but targets has {targets.shape[0]} entries"
            )
        padded = np.zeros((n, s), np.int64)
        for i in range(n):
            padded[i, : tl[i]] = targets[ends[i] - tl[i] : ends[i]]
    used = np.arange(s)[None, :] < tl[:, None]
    padded = np.where(used, padded, blank)
    if used.any() and ((padded[used] < 0) | (padded[used] >= c)).any():
        bad = padded[used][(padded[used] < 0) | (padded[used] >= c)][0]
        raise _TargetIndexError(f"ctc_loss: target {int(bad)} is out of bounds for {c} classes")
    ext = np.full((n, 2 * s + 1), blank, np.int64)
    ext[:, 1::2] = padded
    # s may skip from s - 2 when it holds a label that differs from the label two places before
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip, tl


def _lse(*arrays):
    m = np.maximum.reduce(arrays)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(sum(np.exp(a - safe) for a in arrays)) + safe


def _ctc_check_lengths(lp, il):
    t = lp.shape[0]
    if (il > t).any() or (il < 0).any():
        bad = il[(il > t) | (il < 0)][0]
        raise OpError(f"ctc_loss: Expected input_lengths to have value at most {t}, but got value {int(bad)}")


def _ctc_alpha(lp, ext, skip, il):
    """log alpha (T, N, 2S+1) in float64 (frames past a sample's input length are never read)."""
    t_max, n, _ = lp.shape
    width = ext.shape[1]
    rows = np.arange(n)[:, None]
    alpha = np.full((max(t_max, 1), n, width), _NEG)
    if t_max:
        alpha[0, :, 0] = lp[0, np.arange(n), ext[:, 0]]
        if width > 1:
            alpha[0, :, 1] = lp[0, np.arange(n), ext[:, 1]]
    for t in range(1, t_max):
        prev = alpha[t - 1]
        a1 = np.full_like(prev, _NEG)
        a1[:, 1:] = prev[:, :-1]
        a2 = np.full_like(prev, _NEG)
        a2[:, 2:] = prev[:, :-2]
        a2 = np.where(skip, a2, _NEG)
        alpha[t] = _lse(prev, a1, a2) + lp[t][rows, ext]
    return alpha


def _ctc_nll(alpha, il, tl):
    n = alpha.shape[1]
    last = np.clip(il - 1, 0, None)
    idx = np.arange(n)
    end = alpha[last, idx, 2 * tl]
    end1 = np.where(tl > 0, alpha[last, idx, np.maximum(2 * tl - 1, 0)], _NEG)
    nll = -_lse(end, end1)
    return np.where(il > 0, nll, np.where(tl == 0, 0.0, np.inf))


def _ctc_forward(log_probs, targets, input_lengths, target_lengths, blank=0, zero_infinity=False):
    lp = log_probs.astype(np.float64)
    il = input_lengths.astype(np.int64)
    _ctc_check_lengths(lp, il)
    ext, skip, tl = _ctc_labels(targets, target_lengths, lp.shape[2], blank)
    nll = _ctc_nll(_ctc_alpha(lp, ext, skip, il), il, tl)
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    return nll.astype(log_probs.dtype)


def _ctc_meta(opname, log_probs, targets, input_lengths, target_lengths):
    if log_probs.ndim != 3:
        raise OpError(f"{opname}: expected log_probs of shape (T, N, C), got {tuple(log_probs.shape)}")
    n = log_probs.shape[1]
    for name, t in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if tuple(t.shape) != (n,):
            raise OpError(f"{opname}: expected {name} of shape ({n},), got {tuple(t.shape)}")
    if targets.ndim not in (1, 2) or (targets.ndim == 2 and targets.shape[0] != n):
        raise OpError(
            f"{opname}: expected targets of shape ({n}, S) or (sum(target_lengths),), got {tuple(targets.shape)}"
        )


def _ctc_shape(log_probs, targets, input_lengths, target_lengths, blank=0, zero_infinity=False):
    _ctc_meta("ctc_loss", log_probs, targets, input_lengths, target_lengths)
    return TensorMeta((log_probs.shape[1],), log_probs.dtype)


CTC_LOSS = OpDef("ctc_loss", _ctc_forward, save_output=True, shape_rule=_ctc_shape)


def _ctc_backward_forward(
    g, log_probs, targets, input_lengths, target_lengths, nll, blank=0, zero_infinity=False
):
    lp = log_probs.astype(np.float64)
    t_max, n, c = lp.shape
    il = input_lengths.astype(np.int64)
    ext, skip, tl = _ctc_labels(targets, target_lengths, c, blank)
    alpha = _ctc_alpha(lp, ext, skip, il)
    width = ext.shape[1]
    rows = np.arange(n)[:, None]
    # the beta recursion, started at each sample's last frame
    beta = np.full((max(t_max, 1), n, width), _NEG)
    init = np.full((n, width), _NEG)
    idx = np.arange(n)
    last = np.clip(il - 1, 0, None)
    if t_max:
        init[idx, 2 * tl] = lp[last, idx, blank]
        has = tl > 0
        init[idx[has], 2 * tl[has] - 1] = lp[last[has], idx[has], ext[idx[has], 2 * tl[has] - 1]]
    skip_up = np.zeros(ext.shape, bool)  # s may come from s + 2
    skip_up[:, :-2] = skip[:, 2:]
    nxt = np.full((n, width), _NEG)
    for t in range(t_max - 1, -1, -1):
        b1 = np.full_like(nxt, _NEG)
        b1[:, :-1] = nxt[:, 1:]
        b2 = np.full_like(nxt, _NEG)
        b2[:, :-2] = nxt[:, 2:]
        b2 = np.where(skip_up, b2, _NEG)
        cur = _lse(nxt, b1, b2) + lp[t][rows, ext]
        cur = np.where((t == il - 1)[:, None], init, np.where((t < il - 1)[:, None], cur, _NEG))
        beta[t] = cur
        nxt = cur
    nll_true = _ctc_nll(alpha, il, tl)
    with np.errstate(invalid="ignore", over="ignore"):
        occ = np.exp(
            alpha
            + beta
            + nll_true[None, :, None]
            - lp[np.arange(t_max)[:, None, None], rows[None], ext[None]]
        )
        occ = np.where(np.isfinite(alpha + beta), occ, 0.0)
        grad = np.exp(lp)
        tt = np.broadcast_to(np.arange(t_max)[:, None, None], occ.shape)
        nn_ = np.broadcast_to(rows[None], occ.shape)
        cc = np.broadcast_to(ext[None], occ.shape)
        np.add.at(grad, (tt, nn_, cc), -occ)
    grad *= (np.arange(t_max)[:, None] < il[None, :])[:, :, None]
    if zero_infinity:
        grad *= ~np.isinf(nll_true)[None, :, None]
    grad *= g.astype(np.float64)[None, :, None]
    return grad.astype(g.dtype, copy=False)


def _ctc_backward_shape(g, log_probs, targets, input_lengths, target_lengths, nll, **attrs):
    return TensorMeta(tuple(log_probs.shape), g.dtype)


CTC_LOSS_BACKWARD = OpDef(
    "ctc_loss_backward", _ctc_backward_forward, differentiable=False, shape_rule=_ctc_backward_shape
)


@CTC_LOSS.defgrad
def _ctc_grad(ctx, g):
    log_probs, targets, il, tl = ctx.saved
    args = (g, log_probs, targets, il, tl, ctx.out)
    return apply(CTC_LOSS_BACKWARD, args, ctx.attrs), None, None, None


# -- embedding bags -----------------------------------------------------------------------------------------
# ``F.embedding_bag`` composes ``embedding`` (the looked-up rows), ``index_add`` (sum and mean) and ``gather``
# (max) with two index ops: ``embedding_bag_segments`` maps each index to its bag (``num_bags`` for indices
# that belong to none: padding, or past the last offset with ``include_last_offset``) and checks the
# offsets and index bounds; ``segment_argmax`` gives, per bag and column, the position of the first maximum
# (``L``, one past the rows, for an empty bag).
def _bag_segments_forward(indices, offsets, *, num_weights, include_last_offset=False, padding_idx=None):
    n = indices.shape[0]
    if n and ((indices < 0) | (indices >= num_weights)).any():
        bad = indices[(indices < 0) | (indices >= num_weights)][0]
        raise _TargetIndexError(
            f"embedding_bag: index {int(bad)} is out of range for {num_weights} embeddings"
        )
    k = offsets.shape[0]
    bags = k - 1 if include_last_offset else k
    if k:
        if offsets[0] != 0:
            raise OpError(
                "embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                f"start from position 0. However, got {int(offsets[0])}"
            )
        if offsets[-1] > n:
            raise OpError(
                f"embedding_bag: offsets[-1] can not be greater than input's length {n} but got "
                f"offsets[-1] of {int(offsets[-1])}"
            )
        if (np.diff(offsets) < 0).any():
            raise OpError("embedding_bag: offsets must be non-decreasing")
    seg = np.searchsorted(offsets, np.arange(n), side="right").astype(np.int64) - 1
    if include_last_offset:
        seg[seg >= bags] = bags
    if k == 0 or bags <= 0:
        seg[:] = max(bags, 0)
    if padding_idx is not None:
        seg[indices == padding_idx] = max(bags, 0)
    return seg


def _bag_segments_shape(indices, offsets, **attrs):
    if indices.ndim != 1 or offsets.ndim != 1:
        raise OpError(
            f"embedding_bag_segments: expected 1-D indices and offsets, got {tuple(indices.shape)} and "
            f"{tuple(offsets.shape)}"
        )
    return TensorMeta(tuple(indices.shape), _dt.int64)


EMBEDDING_BAG_SEGMENTS = OpDef(
    "embedding_bag_segments", _bag_segments_forward, differentiable=False, shape_rule=_bag_segments_shape
)


def _segment_argmax_forward(rows, seg, *, num_segments):
    n, d = rows.shape
    pos = np.full((num_segments, d), n, np.int64)
    keep = seg < num_segments
    if not keep.any():
        return pos
    r, s = rows[keep], seg[keep]
    mx = np.full((num_segments, d), -np.inf, np.float64)
    np.maximum.at(mx, s, r)
    at = np.where(r == mx[s], np.nonzero(keep)[0][:, None], n)
    np.minimum.at(pos, s, at)
    return pos


def _segment_argmax_shape(rows, seg, *, num_segments):
    if rows.ndim != 2 or tuple(seg.shape) != (rows.shape[0],):
        raise OpError(
            f"segment_argmax: expected (L, D) rows and (L,) segments, got {tuple(rows.shape)} and "
            f"{tuple(seg.shape)}"
        )
    return TensorMeta((num_segments, rows.shape[1]), _dt.int64)


SEGMENT_ARGMAX = OpDef(
    "segment_argmax", _segment_argmax_forward, differentiable=False, shape_rule=_segment_argmax_shape
)


# -- PyTorch's legacy cross-map local response normalization ------------------------------------------------
# ``cross_map_lrn2d(x (N, C, H, W); size, alpha, beta, k)`` = ``x * (k + alpha / size * M @ x**2) ** -beta``
# over the channels, with the window matrix ``M`` of PyTorch's running-sum forward (which keeps channel 0 in
# every window past the first ``(size - 1) / 2 + 1``). Its gradient is PyTorch's backward formula, whose
# window (channels ``c - size + 1 + (size - 1) // 2 ... c + (size - 1) // 2``, as coded there) is not
# the forward's: the layer's gradients are PyTorch's, not those of its forward.
@functools.lru_cache(maxsize=64)
def _lrn_windows(c: int, size: int) -> tuple:
    pre_pad = int((size - 1) / 2 + 1)
    fwd = np.zeros((c, c))
    cur = np.zeros(c)
    cur[: min(pre_pad, c)] = 1
    fwd[0] = cur
    for i in range(1, c):
        if i < c - pre_pad + 1:
            cur[i + pre_pad - 1] += 1
        if i > pre_pad:
            cur[i - pre_pad] -= 1
        fwd[i] = cur
    inverse_pre_pad = int(size - (size - 1) / 2)
    bwd = np.zeros((c, c))
    for i in range(c):
        for p in range(i, i + size):  # padded positions; channel p - inverse_pre_pad
            d = p - inverse_pre_pad
            if 0 <= d < c:
                bwd[i, d] = 1
    return fwd, bwd


def _lrn_scale_np(x, size, alpha, k):
    fwd, _ = _lrn_windows(x.shape[1], size)
    return k + (alpha / size) * np.einsum("dc,nchw->ndhw", fwd, x * x)


def _cross_map_lrn2d_forward(x, *, size, alpha=1e-4, beta=0.75, k=1.0):
    xf = x.astype(np.float64)
    return (xf * _lrn_scale_np(xf, size, alpha, k) ** -beta).astype(x.dtype)


def _cross_map_lrn2d_shape(x, *, size, alpha=1e-4, beta=0.75, k=1.0):
    if x.ndim != 4:
        raise OpError(f"CrossMapLRN2d: Expected input to be 4D, got {x.ndim}D instead.")
    if not x.dtype.is_floating_point:
        raise OpError(f"CrossMapLRN2d: expected a floating point input, got {x.dtype.name}")
    return TensorMeta(tuple(x.shape), x.dtype)


CROSS_MAP_LRN2D = OpDef(
    "cross_map_lrn2d", _cross_map_lrn2d_forward, save_output=True, shape_rule=_cross_map_lrn2d_shape
)


def _channel_mix(m: np.ndarray, t):
    """``einsum('dc,nchw->ndhw', m, t)`` in Tessera ops (``m`` a constant window matrix)."""
    from ..core import creation
    from .linalg import matmul

    n, c, h, w = t.shape
    mt = creation.tensor(m.astype(t.dtype.np))
    return matmul(mt, t.reshape(n, c, h * w)).reshape(n, c, h, w)


@CROSS_MAP_LRN2D.defgrad
def _cross_map_lrn2d_grad(ctx, g):
    (x,) = ctx.saved
    a = ctx.attrs
    size, alpha, beta, k = a["size"], a.get("alpha", 1e-4), a.get("beta", 0.75), a.get("k", 1.0)
    fwd, bwd = _lrn_windows(x.shape[1], size)
    scale = _channel_mix(fwd, x * x) * (alpha / size) + k
    ratio = _channel_mix(bwd, g * ctx.out / scale)
    return scale ** (-beta) * g - x * ratio * (2 * alpha * beta / size)


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
def _onnx_normalize(g, x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance), as the norms compute it."""
    dt = g.dtype(x)
    d = g.op("Sub", x, g.reduce("ReduceMean", x, axes, True))
    var = g.reduce("ReduceMean", g.op("Mul", d, d), axes, True)
    return g.op("Div", d, g.op("Sqrt", g.op("Add", var, g.const(eps, dt))))


def _onnx_channel_affine(g, y, w, b, ndim):
    """``y * w + b`` with per-channel (dim 1) ``w``/``b`` (either may be None)."""
    shape = [-1] + [1] * (ndim - 2)
    if w is not None:
        y = g.op("Mul", y, g.op("Reshape", w, g.ints(shape)))
    if b is not None:
        y = g.op("Add", y, g.op("Reshape", b, g.ints(shape)))
    return y


@BATCH_NORM.defonnx
def _batch_norm_onnx(g, x, running_mean, running_var, w, b, training=True, eps=1e-5):
    nd = g.ndim(x)
    if training or running_mean is None:
        y = _onnx_normalize(g, x, [0] + list(range(2, nd)), eps)
        return _onnx_channel_affine(g, y, w, b, nd)
    c = g.shape(x)[1]
    dt = g.dtype(x)
    w = g.const(np.ones(c), dt) if w is None else g.cast(w, dt)
    b = g.const(np.zeros(c), dt) if b is None else g.cast(b, dt)
    rm, rv = g.cast(running_mean, dt), g.cast(running_var, dt)
    return g.op("BatchNormalization", x, w, b, rm, rv, epsilon=float(eps))


@INSTANCE_NORM.defonnx
def _instance_norm_onnx(g, x, w, b, eps=1e-5):
    nd = g.ndim(x)
    return _onnx_channel_affine(g, _onnx_normalize(g, x, list(range(2, nd)), eps), w, b, nd)


@LAYER_NORM.defonnx
def _layer_norm_onnx(g, x, w, b, normalized_shape=(), eps=1e-5):
    dt = g.dtype(x)
    if w is None:
        w = g.const(np.ones(normalized_shape), dt)
    return g.op("LayerNormalization", x, w, b, axis=-len(normalized_shape), epsilon=float(eps))


@GROUP_NORM.defonnx
def _group_norm_onnx(g, x, w, b, num_groups=1, eps=1e-5):
    nd = g.ndim(x)
    xr = g.op("Reshape", x, g.ints([0, num_groups, -1]))
    y = g.op("Reshape", _onnx_normalize(g, xr, [2], eps), g.op("Shape", x))
    return _onnx_channel_affine(g, y, w, b, nd)


@SDPA.defonnx
def _sdpa_onnx(g, q, k, v, mask, is_causal=False, scale=1.0):
    dt = g.dtype(q)
    nk = g.ndim(k)
    perm = list(range(nk - 2)) + [nk - 1, nk - 2]
    scores = g.op("MatMul", g.op("Mul", q, g.const(scale, dt)), g.op("Transpose", k, perm=perm))
    if mask is not None:
        if g.dtype(mask) is _dt.bool:
            scores = g.op("Where", mask, scores, g.const(-np.inf, dt))
        else:
            scores = g.op("Add", scores, g.cast(mask, dt))
    elif is_causal:
        L, S = g.shape(q)[-2], g.shape(k)[-2]
        keep = np.tril(np.ones((L, S), dtype=bool))
        scores = g.op("Where", g.const(keep), scores, g.const(-np.inf, dt))
    return g.op("MatMul", g.op("Softmax", scores, axis=-1), g.cast(v, dt))
