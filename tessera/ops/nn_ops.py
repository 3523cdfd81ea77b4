"""Fused primitives behind the normalization layers and the hot losses of ``ts.nn.functional``.

Not part of the public ``ts.*`` namespace: ``tessera.nn.functional`` calls them through ``apply``.

Normalization (batch/layer/group/instance norm) runs as two ops: ``norm_stats`` computes the mean, the
reciprocal standard deviation and the biased variance over ``dims`` once (it has no gradient: its output
is a cache of a function of its input), and ``native_norm`` normalizes with them and applies the affine
weight and bias. ``native_norm``'s gradient rule uses the fused NumPy backward ops ``norm_backward_input``
and ``norm_backward_affine`` when the backward pass is not itself recorded; with ``create_graph=True`` it
runs the same formulas as Tessera ops so higher-order gradients are exact.

``nll_loss`` and ``nll_loss_backward`` are each other's gradient (both are linear in their first input).
``binary_cross_entropy`` is elementwise (the caller weights and reduces) with PyTorch's log clamp at -100
and its gradient formulas ``(x - t) / max(x (1 - x), 1e-12)`` and ``log(1 - x) - log(x)``.
"""

from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, apply
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor
from . import elementwise as _ew
from . import reduction as _red

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


# -- normalization: statistics ------------------------------------------------------------------------------
def _norm_stats_forward(x, dims, eps):
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


def _norm_stats_shape(x, dims, eps):
    if x.dtype.category != _dt._FLOAT:
        raise OpError(f"norm_stats: expected a floating point input, got {x.dtype.name}")
    dt = _dt.float32 if x.dtype.itemsize < 4 else x.dtype
    return TensorMeta((3,) + _kshape(tuple(x.shape), dims), dt)


# No gradient rule: the statistics are a cache that ``native_norm``'s rule differentiates through itself.
NORM_STATS = OpDef("norm_stats", _norm_stats_forward, differentiable=False, shape_rule=_norm_stats_shape)


def norm_attrs(ndim: int, dims: tuple, wshape, eps: float) -> dict:
    """Attributes of ``native_norm``: the normalized ``dims``, the weight's broadcast view ``wshape`` (right
    aligned to the input, or None), the axes ``adims`` the weight is broadcast along, and ``wconst``: the
    weight is constant along every normalized axis (batch/instance norm, not layer norm)."""
    adims = _adims(ndim, wshape) if wshape is not None else None
    wconst = wshape is None or set(dims) <= set(adims)
    return {"dims": dims, "wshape": wshape, "eps": float(eps), "adims": adims, "wconst": wconst}


# -- normalization: normalize + affine ----------------------------------------------------------------------
def _native_norm_forward(x, stats, w, b, dims, wshape, eps, adims, wconst):
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


def _native_norm_shape(x, stats, w, b, **attrs):
    return TensorMeta(x.shape, x.dtype)


NATIVE_NORM = OpDef("native_norm", _native_norm_forward, shape_rule=_native_norm_shape)


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


def _composite_norm_grads(ctx, g):
    """The same gradients as the fused backward ops, as Tessera ops (differentiable: double backward)."""
    x, stats, w, b = ctx.saved
    a = ctx.attrs
    dims, adims = a["dims"], a["adims"]
    wv = w.reshape(a["wshape"]) if w is not None else None
    xc = x - _red.mean(x, dims, keepdim=True)
    rstd = _ew.rsqrt(_red.mean(xc * xc, dims, keepdim=True) + a["eps"])
    xhat = xc * rstd
    gx = gw = gb = None
    if ctx.needs_grad[0]:
        dxhat = g * wv if wv is not None else g
        m1 = _red.mean(dxhat, dims, keepdim=True)
        m2 = _red.mean(dxhat * xhat, dims, keepdim=True)
        gx = (dxhat - m1 - xhat * m2) * rstd
    if w is not None and ctx.needs_grad[2]:
        gw = _red.sum(g * xhat, adims).reshape(w.shape)
    if b is not None and ctx.needs_grad[3]:
        gb = _red.sum(g, adims).reshape(b.shape)
    return gx, None, gw, gb


@NATIVE_NORM.defgrad
def _native_norm_grad(ctx, g):
    if _GRAD.enabled:
        return _composite_norm_grads(ctx, g)
    x, stats, w, b = ctx.saved
    a = ctx.attrs
    dims, adims, wconst = a["dims"], a["adims"], a["wconst"]
    need_x = ctx.needs_grad[0]
    shared = need_x and w is not None and wconst and len(adims) == len(dims)
    gw = gb = gx = None
    if w is not None and (ctx.needs_grad[2] or shared):
        gw = apply(
            NORM_BACKWARD_WEIGHT,
            (x, stats, g),
            {"adims": adims, "out_shape": w._data.shape, "dims": dims},
        )
    if b is not None and ctx.needs_grad[3] or shared:
        gb = _red.sum(g, adims)
        if b is not None and gb._data.shape != b._data.shape:
            gb = gb.reshape(b._data.shape)
    if need_x:
        gx = apply(
            NORM_BACKWARD_INPUT,
            (x, stats, w, g, gw, gb),
            {"dims": dims, "wshape": a["wshape"], "wconst": wconst, "shared": shared},
        )
    return (
        gx,
        None,
        gw if ctx.needs_grad[2] else None,
        gb if b is not None and ctx.needs_grad[3] else None,
    )


# -- negative log likelihood --------------------------------------------------------------------------------
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


def _nll_shape(x, target, weight, ignore_index=-100, reduction="mean"):
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
    if reduction == "none":
        return TensorMeta(tuple(target.shape), x.dtype)
    return TensorMeta((), x.dtype)


CROSS_ENTROPY = OpDef("cross_entropy", _cross_entropy_forward, shape_rule=_cross_entropy_shape)


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
    # recorded backward (create_graph): softmax(x) * a - b with a, b linear in g, as Tessera ops
    at = ctx.attrs
    xd = x._data
    ones = np.ones(() if at["reduction"] != "none" else g._data.shape, xd.dtype)
    a, b = _ce_coefficients(
        xd,
        target._data,
        None if weight is None else weight._data,
        ones,
        at["ignore_index"],
        at["reduction"],
        at["label_smoothing"],
    )
    gb = g.reshape(g.shape[:1] + (1,) + tuple(g.shape[1:])) if at["reduction"] == "none" else g
    p = _red.softmax(x, 1)
    return (p * Tensor._wrap(a) - Tensor._wrap(b)) * gb, None, None


# -- binary cross entropy -----------------------------------------------------------------------------------
def _bce_forward(x, t):
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
