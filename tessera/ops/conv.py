"""Convolution and pooling ops (NumPy kernels; the public API lives in ``tessera.nn.functional``).

The export-level ops are ``convolution`` (1-d and 2-d, stride, padding, dilation, groups, transposed with
output padding), ``max_pool`` (with ``max_pool_indices`` for ``return_indices``) and ``avg_pool``. Their
geometry (output sizes and the checks behind them) is their shape rule's, and each has a reference
decomposition in plain Tessera ops (a test oracle for the fused kernels).

``convolution``'s eager forward is one fused pipeline:

* ``im2col`` (N, C, H, W) -> (G, C/G * kh * kw, N * Ho * Wo): the sliding windows as a channel-major
  column matrix, built with one strided copy. Its adjoint is ``col2im`` (overlapping windows summed back,
  one strided add per kernel offset); both are ops too, each the other's gradient.
* the grouped weight (G, O/G, C/G * kh * kw) times the columns: ONE BLAS call per group. The columns are
  what the weight gradient needs, so an eager backward pass does not rebuild them.
* (G, O/G, N * Ho * Wo) -> contiguous (N, O, Ho, Wo) with the bias added in the same pass.

The transposed convolution is the same pipeline run backwards (the transposed weight times the input, then
``col2im``). Pooling kernels loop over the kernel offsets (never over output positions) with strided views.
"""

from __future__ import annotations

import functools
import itertools
import sys
import weakref

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, is_tracing
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor
from ._util import apply, matmul_arrays
from .elementwise import _c_max

__all__: list[str] = []


# -- geometry helpers ---------------------------------------------------------------------------------------
def _win(a, i, j, kernel_stride_dil, out_hw):
    """View of ``a[..., h, w]`` at kernel offset (i, j) for every output position."""
    (sh, sw), (dh, dw) = kernel_stride_dil
    ho, wo = out_hw
    r0, c0 = i * dh, j * dw
    return a[..., r0 : r0 + (ho - 1) * sh + 1 : sh, c0 : c0 + (wo - 1) * sw + 1 : sw]


def _pad_hw(x, top, bottom, left, right, value):
    """``x`` padded on its last two dims with ``value`` (``x`` itself when no padding is needed)."""
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = np.empty((n, c, h + top + bottom, w + left + right), x.dtype)
    if top or bottom:
        out[:, :, :top] = value
        out[:, :, top + h :] = value
    if left or right:
        out[:, :, top : top + h, :left] = value
        out[:, :, top : top + h, left + w :] = value
    out[:, :, top : top + h, left : left + w] = x
    return out


def _extent(n_out, stride, dil, k):
    return (n_out - 1) * stride + dil * (k - 1) + 1


# -- "same"-size stride-1 fast path ------------------------------------------------------------------------
# When stride is 1 and the output grid equals the input grid, every kernel offset is ONE flat shift of the
# (C, N * H * W) image stack: positions whose window element falls in the padding (or wraps into the
# neighbouring row / image) are cleared with a precomputed bit mask. Each offset then costs one coalesced
# copy/add per channel instead of one short strided loop per image row.
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _flat_ok(shape_hw, stride, out_hw, dtype):
    return tuple(stride) == (1, 1) and tuple(out_hw) == tuple(shape_hw) and dtype.itemsize in _UINT


@functools.lru_cache(maxsize=32)
def _shift_masks(n, h, w, kernel, dilation, padding, itemsize):
    """Per kernel offset: (flat shift, bit mask or None when every position is valid, or False when none
    is). The mask covers the whole N * H * W stack (one coalesced pass) unless that would be large; then it
    covers one image and is broadcast over the batch."""
    reps = n if n * h * w <= 1 << 18 else 1
    kh, kw = kernel
    dh, dw = dilation
    pt, pl = padding[0], padding[2]
    ut = _UINT[itemsize]
    hh, ww = np.arange(h)[:, None], np.arange(w)[None, :]
    res = []
    for i in range(kh):
        for j in range(kw):
            ro, co = i * dh - pt, j * dw - pl
            valid = (hh + ro >= 0) & (hh + ro < h) & (ww + co >= 0) & (ww + co < w)
            if valid.all():
                m = None
            elif not valid.any():
                m = False
            else:
                m = np.tile(np.where(valid.ravel(), np.iinfo(ut).max, 0).astype(ut), reps)
                m.flags.writeable = False
            res.append((ro * w + co, m))
    return tuple(res)


def _im2col_flat(x, kernel, dilation, padding, groups):
    n, c, h, w = x.shape
    kh, kw = kernel
    t = n * h * w
    xt = np.ascontiguousarray(x.reshape(n, c, h * w).transpose(1, 0, 2)).reshape(c, t)
    cols = np.empty((c, kh * kw, t), x.dtype)
    ut = _UINT[x.dtype.itemsize]
    for k, (d, m) in enumerate(_shift_masks(n, h, w, kernel, dilation, padding, x.dtype.itemsize)):
        dst = cols[:, k]
        if m is False:
            dst[...] = 0
            continue
        q0, q1 = max(0, -d), t - max(0, d)
        np.copyto(dst[:, q0:q1], xt[:, q0 + d : q1 + d])
        if m is not None:  # also clears the uncovered ends: they are never valid
            dv = dst.view(ut) if m.size == t else dst.view(ut).reshape(c, n, h * w)
            np.bitwise_and(dv, m, out=dv)
    return cols.reshape(groups, (c // groups) * kh * kw, t)


def _col2im_flat(cols, kernel, dilation, padding, input_shape):
    n, c, h, w = input_shape
    kh, kw = kernel
    t = n * h * w
    src = cols.reshape(c, kh * kw, t)
    ut = _UINT[cols.dtype.itemsize]
    acc = np.empty((c, t), cols.dtype)
    tmp = None
    init = False
    offs = list(enumerate(_shift_masks(n, h, w, kernel, dilation, padding, cols.dtype.itemsize)))
    offs.sort(key=lambda e: e[1][1] is not None)  # the unmasked (centre) offset first: it initialises acc
    for k, (d, m) in offs:
        if m is False:
            continue
        s = src[:, k]
        if m is not None:
            if tmp is None:
                tmp = np.empty((c, t), cols.dtype)
            if m.size == t:
                np.bitwise_and(s.view(ut), m, out=tmp.view(ut))
            else:
                shp = (c, n, h * w)
                np.bitwise_and(s.view(ut).reshape(shp), m, out=tmp.view(ut).reshape(shp))
            s = tmp
        if not init:
            if d != 0:
                acc[...] = 0
            else:
                np.copyto(acc, s)
                init = True
                continue
            init = True
        q0, q1 = max(0, -d), t - max(0, d)
        dst = acc[:, q0 + d : q1 + d]
        np.add(dst, s[:, q0:q1], out=dst)
    if not init:
        acc[...] = 0
    out = np.empty((n, c, h, w), cols.dtype)
    np.copyto(out.reshape(n, c, h * w).transpose(1, 0, 2), acc.reshape(c, n, h * w))
    return out


# -- im2col / col2im ----------------------------------------------------------------------------------------
def _prod(values) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def _offset_slices(off, stride, dilation, out_sz):
    """Per spatial axis: the strided slice of a padded input that kernel offset ``off`` reads."""
    return tuple(
        slice(i * d, i * d + (m - 1) * s + 1, s) for i, d, m, s in zip(off, dilation, out_sz, stride)
    )


def _im2col_nd(x, kernel, stride, padding, dilation, groups, out_sz):
    """Any-rank ``im2col`` (the 3-d convolution's): one strided copy of the zero-padded input."""
    n, c = x.shape[:2]
    pairs = tuple(zip(padding[0::2], padding[1::2]))
    xp = np.pad(x, ((0, 0), (0, 0)) + pairs) if any(padding) else x
    st = xp.strides
    shape = (c,) + tuple(kernel) + (n,) + tuple(out_sz)
    strides = (
        (st[1],)
        + tuple(d * s for d, s in zip(dilation, st[2:]))
        + (st[0],)
        + tuple(k * s for k, s in zip(stride, st[2:]))
    )
    cols = np.empty(shape, x.dtype)
    np.copyto(cols, as_strided(xp, shape, strides, writeable=False))
    return cols.reshape(groups, (c // groups) * _prod(kernel), n * _prod(out_sz))


def _col2im_nd(cols, kernel, stride, padding, dilation, groups, out_sz, input_shape):
    """Any-rank ``col2im``: each kernel offset's columns added into a strided slice of the padded output
    (accumulated channel-major, the columns' order, then transposed once)."""
    n, c = input_shape[:2]
    spatial = tuple(input_shape[2:])
    pairs = tuple(zip(padding[0::2], padding[1::2]))
    src = cols.reshape((c,) + tuple(kernel) + (n,) + tuple(out_sz))
    full = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pairs))
    acc = np.zeros((c, n) + full, cols.dtype)
    for off in itertools.product(*(range(k) for k in kernel)):
        dst = acc[(slice(None), slice(None)) + _offset_slices(off, stride, dilation, out_sz)]
        dst += src[(slice(None),) + off]
    crop = tuple(slice(lo, lo + m) for m, (lo, _) in zip(spatial, pairs))
    return np.ascontiguousarray(np.swapaxes(acc[(slice(None), slice(None)) + crop], 0, 1))


def _im2col_forward(x, kernel, stride, padding, dilation, groups, out_hw, input_shape=None):
    if x.ndim != 4:
        return _im2col_nd(x, kernel, stride, padding, dilation, groups, out_hw)
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    pt, pb, pl, pr = padding
    ho, wo = out_hw
    if x.size and _flat_ok((h, w), stride, out_hw, x.dtype):
        return _im2col_flat(x, kernel, dilation, padding, groups)
    xp = _pad_hw(x, pt, pb, pl, pr, 0)
    s0, s1, s2, s3 = xp.strides
    win = as_strided(
        xp, (c, kh, kw, n, ho, wo), (s1, dh * s2, dw * s3, s0, sh * s2, sw * s3), writeable=False
    )
    cols = np.empty((c, kh, kw, n, ho, wo), x.dtype)
    np.copyto(cols, win)
    return cols.reshape(groups, (c // groups) * kh * kw, n * ho * wo)


def _col2im_forward(cols, kernel, stride, padding, dilation, groups, out_hw, input_shape):
    if len(input_shape) != 4:
        return _col2im_nd(cols, kernel, stride, padding, dilation, groups, out_hw, input_shape)
    n, c, h, w = input_shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    pt, pb, pl, pr = padding
    ho, wo = out_hw
    if n * c * h * w and _flat_ok((h, w), stride, out_hw, cols.dtype):
        return _col2im_flat(cols, kernel, dilation, padding, input_shape)
    src = cols.reshape(c, kh, kw, n, ho, wo)
    out = np.zeros((n, c, h, w), cols.dtype)
    # Accumulate straight into the unpadded output: for each kernel offset, the output positions whose
    # input row/column falls inside the image form one strided slice.
    rows = [_valid(i * dh - pt, sh, ho, h) for i in range(kh)]
    colr = [_valid(j * dw - pl, sw, wo, w) for j in range(kw)]
    for i in range(kh):
        ri = rows[i]
        if ri is None:
            continue
        (o0, o1, r0) = ri
        for j in range(kw):
            cj = colr[j]
            if cj is None:
                continue
            (q0, q1, c0) = cj
            dst = out[:, :, r0 : r0 + (o1 - o0 - 1) * sh + 1 : sh, c0 : c0 + (q1 - q0 - 1) * sw + 1 : sw]
            dst += src[:, i, j, :, o0:o1, q0:q1].transpose(1, 0, 2, 3)
    return out


def _valid(offset, stride, n_out, n_in):
    """Output range [o0, o1) whose input index ``o * stride + offset`` lies in [0, n_in), and its first
    input index; None when empty."""
    o0 = max(0, (-offset + stride - 1) // stride)
    last = n_in - 1 - offset
    if last < 0:
        return None
    o1 = min(n_out, last // stride + 1)
    if o1 <= o0:
        return None
    return o0, o1, o0 * stride + offset


def _geom_shape_im2col(x, kernel, stride, padding, dilation, groups, out_hw, input_shape=None):
    n, c = x.shape[:2]
    return TensorMeta((groups, (c // groups) * _prod(kernel), n * _prod(out_hw)), x.dtype)


def _geom_shape_col2im(cols, kernel, stride, padding, dilation, groups, out_hw, input_shape):
    return TensorMeta(tuple(input_shape), cols.dtype)


IM2COL = OpDef("im2col", _im2col_forward, shape_rule=_geom_shape_im2col)
COL2IM = OpDef("col2im", _col2im_forward, shape_rule=_geom_shape_col2im)


@IM2COL.defgrad
def _im2col_grad(ctx, g):
    attrs = dict(ctx.attrs)
    attrs["input_shape"] = tuple(ctx.input_shape(0))
    return (apply(COL2IM, (g,), attrs),)


@COL2IM.defgrad
def _col2im_grad(ctx, g):
    return (apply(IM2COL, (g,), ctx.attrs),)


# -- conv output layout + bias (a kernel of the fused convolution) ---------------------------------------
def _conv_output_forward(y, *bias, batch, out_hw):
    size = _prod(out_hw)
    o = y.shape[0] * y.shape[1]
    src = y.reshape(o, batch, size)
    out = np.empty((batch, o) + tuple(out_hw), np.result_type(y, *bias))
    dst = out.reshape(batch, o, size).transpose(1, 0, 2)  # iterate in the source's order
    if bias:
        np.add(src, bias[0].reshape(o, 1, 1), out=dst)
    else:
        np.copyto(dst, src)
    return out


# -- geometry: what the shape rules and the front ends share -------------------------------------------------
def _dims(values) -> str:
    return " x ".join(str(v) for v in values)


def conv_output_size(opname, spatial, kernel, stride, padding, dilation) -> tuple:
    """Output size of a convolution (or ``unfold``) over ``spatial``; ``padding`` holds (low, high) pairs."""
    padded = [n + lo + hi for n, (lo, hi) in zip(spatial, padding)]
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < e for p, e in zip(padded, extent)):
        raise OpError(
            f"{opname}: calculated padded input size per channel: ({_dims(padded)}). Kernel size: "
            f"({_dims(extent)}). Kernel size can't be greater than actual input size"
        )
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride))


def conv_transpose_output_size(opname, input_shape, kernel, stride, padding, dilation, output_padding):
    """Output size of a transposed convolution of a batched ``input_shape``."""
    out = tuple(
        (n - 1) * s - lo - hi + d * (k - 1) + op + 1
        for n, k, s, (lo, hi), d, op in zip(
            input_shape[2:], kernel, stride, padding, dilation, output_padding
        )
    )
    if any(o <= 0 for o in out):
        shown, sizes = tuple(input_shape), out
        if len(out) == 1:  # 1-d convolutions report the (N, C, 1, L) view they were computed on
            shown, sizes = shown[:2] + (1,) + shown[2:], (1,) + out
        raise OpError(
            f"{opname}: given input of shape {shown}, the calculated output size ({_dims(sizes)}) is too small"
        )
    return out


def _conv_meta(x, w, b, *, stride, padding, dilation, groups, transposed, output_padding):
    nd = len(stride)
    if x.ndim != nd + 2 or w.ndim != nd + 2:
        raise OpError(
            f"convolution: expected a {nd + 2}-D input and weight, got shapes {tuple(x.shape)} and "
            f"{tuple(w.shape)}"
        )
    if nd not in (1, 2, 3):
        raise OpError(f"convolution: {nd}-d convolutions are not implemented")
    if w.dtype is not x.dtype or (b is not None and b.dtype is not x.dtype) or not x.dtype.is_floating_point:
        raise OpError(
            f"convolution: expected floating-point input, weight and bias of one dtype, got {x.dtype}, "
            f"{w.dtype}" + (f", {b.dtype}" if b is not None else "")
        )
    n, c = x.shape[:2]
    kernel = tuple(w.shape[2:])
    if transposed:
        if w.shape[0] != c or c % groups:
            raise OpError(f"convolution: weight {tuple(w.shape)} does not match input {tuple(x.shape)}")
        o = w.shape[1] * groups
        spatial = conv_transpose_output_size(
            "convolution", tuple(x.shape), kernel, stride, padding, dilation, output_padding
        )
    else:
        o = w.shape[0]
        if w.shape[1] * groups != c or o % groups:
            raise OpError(f"convolution: weight {tuple(w.shape)} does not match input {tuple(x.shape)}")
        spatial = conv_output_size("convolution", tuple(x.shape[2:]), kernel, stride, padding, dilation)
    if b is not None and tuple(b.shape) != (o,):
        raise OpError(f"convolution: expected bias of shape ({o},), got {tuple(b.shape)}")
    return TensorMeta((n, o) + spatial, x.dtype)


def _as2d(nd, stride, padding, dilation, output_padding=(0,)):
    """The 2-d geometry a 1-d convolution or pooling runs as (a unit height axis in front)."""
    if nd != 1:
        return stride, padding, dilation, output_padding
    return (1,) + stride, ((0, 0),) + padding, (1,) + dilation, (0,) + output_padding


# The columns of a convolution are what its weight gradient multiplies with. The forward keeps them, keyed by
# the identity of the output array (which the node holds while it lives), so that the backward pass need not
# rebuild them; the first backward takes them. Only eager (untraced) training steps use this: a trace
# records the gradient's ``im2col`` so that its replay rebuilds them, and double backward rebuilds them
# through ``im2col`` to differentiate them.
_COLUMNS: dict = {}


def _keep_columns(out, cols):
    key = id(out)
    _COLUMNS[key] = cols
    weakref.finalize(out, _COLUMNS.pop, key, None)


def _convolution_forward(x, w, b, *, stride, padding, dilation, groups, transposed, output_padding):
    nd = x.ndim - 2
    if nd == 1:
        x, w = x[:, :, None], w[:, :, None]
    stride, padding, dilation, output_padding = _as2d(nd, stride, padding, dilation, output_padding)
    kernel = w.shape[2:]
    pads = sum(padding, ())  # (low, high) per spatial axis, flat: (top, bottom, left, right) in 2-d
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    if not transposed:
        out_sz = conv_output_size("convolution", spatial, kernel, stride, padding, dilation)
        cols = _im2col_forward(x, kernel, stride, pads, dilation, groups, out_sz)
        o = w.shape[0]
        y = matmul_arrays(w.reshape(groups, o // groups, cols.shape[1]), cols)
        out = _conv_output_forward(y, *(() if b is None else (b,)), batch=n, out_hw=out_sz)
        if _GRAD.enabled and not is_tracing():
            _keep_columns(out, cols)
    else:
        out_sz = conv_transpose_output_size(
            "convolution", x.shape, kernel, stride, padding, dilation, output_padding
        )
        cin_g = c // groups
        o = w.shape[1] * groups
        # (N, Cin, *S) -> (G, Cin/G, N*prod(S)); columns = W_g^T @ x_g; col2im sums the windows back.
        xt = np.swapaxes(x, 0, 1).reshape(groups, cin_g, n * _prod(spatial))
        cols = matmul_arrays(w.reshape(groups, cin_g, -1).transpose(0, 2, 1), xt)
        out = _col2im_forward(cols, kernel, stride, pads, dilation, groups, spatial, (n, o) + out_sz)
        if b is not None:
            out += b.reshape((1, o) + (1,) * len(spatial))
    return out[:, :, 0] if nd == 1 else out


CONVOLUTION = OpDef("convolution", _convolution_forward, save_output=True, shape_rule=_conv_meta)


def _col_attrs(kernel, stride, padding, dilation, groups, out_hw, input_shape=None):
    attrs = {
        "kernel": tuple(kernel),
        "stride": stride,
        "padding": sum(padding, ()),
        "dilation": dilation,
        "groups": groups,
        "out_hw": tuple(out_hw),
    }
    if input_shape is not None:
        attrs["input_shape"] = tuple(input_shape)
    return attrs


@CONVOLUTION.defgrad
def _convolution_grad(ctx, g):
    x, w, b = ctx.saved
    a = ctx.attrs
    nd = x.ndim - 2
    groups = a["groups"]
    stride, padding, dilation, _ = _as2d(nd, a["stride"], a["padding"], a["dilation"])
    need_x, need_w = ctx.needs_grad[0], ctx.needs_grad[1]
    need_b = b is not None and ctx.needs_grad[2]
    xs, ws, gs = (x.unsqueeze(2), w.unsqueeze(2), g.unsqueeze(2)) if nd == 1 else (x, w, g)
    n, c = xs.shape[:2]
    spatial = tuple(xs.shape[2:])
    kernel = tuple(ws.shape[2:])
    swap = (1, 0) + tuple(range(2, xs.ndim))
    gx = gw = None
    if not a["transposed"]:
        o = ws.shape[0]
        out_sz = tuple(gs.shape[2:])
        wg = ws.reshape(groups, o // groups, -1)
        gy = gs.permute(*swap).reshape(groups, o // groups, n * _prod(out_sz))
        if need_w:
            cols = None
            if not _GRAD.enabled and not is_tracing():
                cols = _COLUMNS.pop(id(ctx._out_data), None)
            if cols is not None:
                cols = Tensor._wrap(cols)
            else:
                cols = apply(IM2COL, (xs,), _col_attrs(kernel, stride, padding, dilation, groups, out_sz))
            gw = (gy @ cols.mT).reshape(w.shape)
        if need_x:
            attrs = _col_attrs(kernel, stride, padding, dilation, groups, out_sz, xs.shape)
            gx = apply(COL2IM, (wg.mT @ gy,), attrs)
    else:
        cin_g = c // groups
        gcols = apply(IM2COL, (gs,), _col_attrs(kernel, stride, padding, dilation, groups, spatial))
        wg = ws.reshape(groups, cin_g, -1)
        if need_x:
            gx = (wg @ gcols).reshape((c, n) + spatial).permute(*swap)
        if need_w:
            xt = xs.permute(*swap).reshape(groups, cin_g, n * _prod(spatial))
            gw = (xt @ gcols.mT).reshape(w.shape)
    if gx is not None and nd == 1:
        gx = gx.squeeze(2)
    gb = g.sum((0,) + tuple(range(2, g.ndim))) if need_b else None
    return gx, gw, gb


def _dilate(t, axis, s):
    """``t`` with ``s - 1`` zeros between neighbours along ``axis`` (plain stack / reshape / slice ops)."""
    if s == 1:
        return t
    from .. import ops

    n = t.shape[axis]
    st = ops.stack([t] + [t * 0] * (s - 1), axis + 1)
    shape = tuple(t.shape[:axis]) + (n * s,) + tuple(t.shape[axis + 1 :])
    return st.reshape(shape)[(slice(None),) * axis + (slice(0, (n - 1) * s + 1),)]


def _flat_pad(pairs):
    """(low, high) pairs, first spatial axis first, as ``pad``'s last-axis-first list."""
    out = []
    for lo, hi in reversed(pairs):
        out += [lo, hi]
    return tuple(out)


@CONVOLUTION.defdecompose
def _convolution_decompose(x, w, b, *, stride, padding, dilation, groups, transposed, output_padding):
    """Reference: one small matmul per kernel offset over strided slices of the padded input (the
    transposed form scatters each offset's product into place by dilation and padding)."""
    from .. import ops

    nd = x.ndim - 2
    n, c = x.shape[:2]
    kernel = tuple(w.shape[2:])
    offsets = list(itertools.product(*(range(k) for k in kernel)))
    sp = (slice(None),) * 3
    acc = None
    if not transposed:
        o = w.shape[0]
        og, cg = o // groups, c // groups
        out_sz = conv_output_size("convolution", tuple(x.shape[2:]), kernel, stride, padding, dilation)
        xp = ops.pad(x, _flat_pad(padding))
        xg = xp.reshape((n, groups, cg) + tuple(xp.shape[2:]))
        wg = w.reshape((groups, og, cg) + kernel)
        for off in offsets:
            sl = tuple(
                slice(i * d, i * d + (m - 1) * s + 1, s) for i, d, m, s in zip(off, dilation, out_sz, stride)
            )
            patch = xg[sp + sl].reshape(n, groups, cg, -1)
            term = ops.matmul(wg[sp + off], patch)  # (G, Og, Cg) @ (N, G, Cg, P)
            acc = term if acc is None else acc + term
        out = acc.reshape((n, o) + out_sz)
    else:
        cg = c // groups
        og = w.shape[1]
        o = og * groups
        spatial = tuple(x.shape[2:])
        out_sz = conv_transpose_output_size(
            "convolution", tuple(x.shape), kernel, stride, padding, dilation, output_padding
        )
        full = [sz + lo + hi for sz, (lo, hi) in zip(out_sz, padding)]
        xg = x.reshape(n, groups, cg, -1)
        wg = w.reshape((groups, cg, og) + kernel)
        for off in offsets:
            term = ops.matmul(wg[sp + off].mT, xg).reshape((n, o) + spatial)
            pads = []
            for ax, (i, d, s, sz) in enumerate(zip(off, dilation, stride, spatial)):
                term = _dilate(term, 2 + ax, s)
                pads.append((i * d, full[ax] - i * d - ((sz - 1) * s + 1)))
            term = ops.pad(term, _flat_pad(pads))
            acc = term if acc is None else acc + term
        crop = tuple(slice(lo, lo + m) for (lo, _), m in zip(padding, out_sz))
        out = acc[(slice(None),) * 2 + crop]
    if b is not None:
        out = out + b.reshape((1, o) + (1,) * nd)
    return out


# -- pooling geometry ---------------------------------------------------------------------------------------
def _pool_out(n, k, s, p, d, ceil_mode):
    """PyTorch's ``pooling_output_shape``: the last window must start inside the (left-padded) input."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def pool_output_size(opname, input_shape, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """Output size of a max/avg pooling of a batched ``input_shape``, with PyTorch's checks."""
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise OpError(
                f"{opname}: pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
    spatial = tuple(input_shape[2:])
    out = tuple(
        _pool_out(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    )
    if min(out) < 1 or min(spatial) < 1:
        c = input_shape[1]
        raise OpError(
            f"{opname}: given input size: ({'x'.join(map(str, (c,) + spatial))}). Calculated output size: "
            f"({'x'.join(map(str, (c,) + out))}). Output size is too small"
        )
    return out


def _pool2d(x, nd, kernel, stride, padding, dilation, ceil_mode):
    """``x`` as (N, C, H, W) and the 2-d geometry and output grid its kernels run with."""
    out_hw = pool_output_size("pool", x.shape, kernel, stride, padding, dilation, ceil_mode)
    if nd == 1:
        return x[:, :, None], (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation, (1,) + out_hw
    return x, kernel, stride, padding, dilation, out_hw


def _pool_meta(x, *rest, kernel, stride, padding, dilation=None, ceil_mode, **_):
    nd = len(kernel)
    if x.ndim != nd + 2:
        raise OpError(f"pool: expected a {nd + 2}-D input, got shape {tuple(x.shape)}")
    dilation = dilation or (1,) * nd
    out = pool_output_size("pool", tuple(x.shape), kernel, stride, padding, dilation, ceil_mode)
    return TensorMeta(tuple(x.shape[:2]) + out, x.dtype)


def _windows(xp, kernel, stride, dilation, out_sz):
    """Every kernel offset's strided slice of the padded ``xp`` (plain indexing ops)."""
    sp = (slice(None),) * 2
    for off in itertools.product(*(range(k) for k in kernel)):
        yield xp[
            sp
            + tuple(
                slice(i * d, i * d + (m - 1) * s + 1, s) for i, d, m, s in zip(off, dilation, out_sz, stride)
            )
        ]


def _pool_pad_pairs(spatial, kernel, stride, padding, dilation, out_sz):
    """(low, high) padding so every window fits (ceil mode may need more on the high side)."""
    return tuple(
        (p, max(0, _extent(m, s, d, k) - n - p))
        for n, k, s, p, d, m in zip(spatial, kernel, stride, padding, dilation, out_sz)
    )


# -- max pooling ----------------------------------------------------------------------------------------------
def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pool_pads(x_hw, kernel, stride, padding, dilation, out_hw):
    """(top, bottom, left, right) padding so every window of the output grid fits (ceil mode may need more
    on the bottom/right than ``padding``)."""
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = x_hw, kernel, stride, padding, dilation, out_hw
    bottom = max(0, _extent(ho, sh, dh, kh) - h - ph)
    right = max(0, _extent(wo, sw, dw, kw) - w - pw)
    return ph, bottom, pw, right


def _tiled2(x_hw, kernel, stride, padding, dilation, out_hw):
    """Whether the 2x2 windows tile an input of spatial size ``x_hw`` exactly (kernel = stride = 2, no
    padding, dilation 1)."""
    return (
        tuple(kernel) == (2, 2)
        and tuple(stride) == (2, 2)
        and tuple(padding) == (0, 0)
        and tuple(dilation) == (1, 1)
        and x_hw[0] == 2 * out_hw[0]
        and x_hw[1] == 2 * out_hw[1]
    )


def _max_pool_forward(x, kernel, stride, padding, dilation, out_hw):
    kh, kw = kernel
    if _tiled2(x.shape[2:], kernel, stride, padding, dilation, out_hw):
        # Row pairs first (contiguous rows), then the column pairs of the half-size result.
        n, c, h, w = x.shape
        x5 = x.reshape(n, c, h // 2, 2, w)
        m = np.maximum(x5[:, :, :, 0], x5[:, :, :, 1])
        return np.maximum(m[..., 0::2], m[..., 1::2])
    pads = _pool_pads(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    xp = _pad_hw(x, *pads, _lowest(x.dtype))
    sd = (stride, dilation)
    offs = [(i, j) for i in range(kh) for j in range(kw)]
    if len(offs) == 1:
        return np.ascontiguousarray(_win(xp, 0, 0, sd, out_hw))
    out = np.maximum(_win(xp, *offs[0], sd, out_hw), _win(xp, *offs[1], sd, out_hw))
    for i, j in offs[2:]:
        np.maximum(out, _win(xp, i, j, sd, out_hw), out=out)
    return out


def _route(x, out, kernel, stride, padding, dilation, out_hw, visit):
    """Call ``visit(k, (i, j), sel)`` for each kernel offset with the mask of output positions whose FIRST
    maximum (PyTorch's tie rule) sits at that offset. Works on the padded input; returns the pads used."""
    kh, kw = kernel
    pads = _pool_pads(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    xp = _pad_hw(x, *pads, _lowest(x.dtype))
    sd = (stride, dilation)
    nan = x.dtype.kind == "f" and np.isnan(out.sum())
    taken = None
    last = kh * kw - 1
    for k in range(kh * kw):
        i, j = divmod(k, kw)
        v = _win(xp, i, j, sd, out_hw)
        sel = v == out
        if nan:
            sel |= np.isnan(v) & np.isnan(out)
        if taken is None:
            taken = sel
        else:
            np.greater(sel, taken, out=sel)  # sel & ~taken without a temporary
            if k != last:
                taken |= sel
        visit(i, j, sel)
    return pads


def _overlapping(kernel, stride, dilation):
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


_PAIR = {2: (np.uint16, np.uint32, 0x10001), 4: (np.uint32, np.uint64, 0x100000001)}


def _dup_w(a):
    """``a`` (N, C, Ho, Wo) with every element repeated twice along W: one contiguous cast + multiply
    (each element becomes both halves of a double-width integer) instead of two stride-2 writes."""
    narrow, wide, mul = _PAIR[a.dtype.itemsize]
    d = a.view(narrow).astype(wide)
    d *= wide(mul)
    return d.view(a.dtype)


def _max_pool_backward_tiled2(g, x, out):
    """2x2 / stride-2 backward: the first maximum of each window (PyTorch's tie rule) gets the gradient.

    The window maxima, repeated along W, are compared with the top and the bottom rows of ``x`` (two
    half-size boolean masks). Each mask is read as uint16 byte pairs (left, right) and the right byte is
    cleared where the left is set; a bottom pair is cleared where its top pair holds a maximum. The gradient,
    repeated along W, times each mask is one half-size row block of the result, copied in whole rows."""
    # The byte-pair views below need C-contiguous operands (a channels_last input arrives permuted).
    g, x, out = np.ascontiguousarray(g), np.ascontiguousarray(x), np.ascontiguousarray(out)
    n, c, h, w = x.shape
    ho = h // 2
    x5 = x.reshape(n, c, ho, 2, w)
    od = _dup_w(out)
    top = np.equal(x5[:, :, :, 0], od)
    bot = np.equal(x5[:, :, :, 1], od)
    u8 = np.uint16(8)
    for e in (top.view(np.uint16), bot.view(np.uint16)):  # (left, right) byte pairs, little-endian
        s = np.left_shift(e, u8)  # the left byte moved onto the right one
        np.invert(s, out=s)
        np.bitwise_and(e, s, out=e)
    bot16 = bot.view(np.uint16)
    np.multiply(bot16, top.view(np.uint16) == 0, out=bot16)
    gd = _dup_w(g)
    dx = np.empty((n, c, ho, 2, w), g.dtype)
    row = np.dtype((np.void, g.itemsize * w))  # whole rows: one copy per row, not per element
    dv = dx.view(row)
    dv[:, :, :, 0] = np.multiply(gd, top).view(row)
    dv[:, :, :, 1] = np.multiply(gd, bot, out=gd).view(row)
    return dx.reshape(n, c, h, w)


def _max_pool_backward_forward(g, x, out, kernel, stride, padding, dilation, out_hw):
    if (
        _tiled2(x.shape[2:], kernel, stride, padding, dilation, out_hw)
        and sys.byteorder == "little"
        and x.dtype.itemsize in _PAIR
        and g.dtype.itemsize in _PAIR
        and x.dtype.kind in "fiu"
        and x.size
        and not (x.dtype.kind == "f" and np.isnan(out.sum()))
    ):
        return _max_pool_backward_tiled2(g, x, out)
    pads = _pool_pads(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    n, c, h, w = x.shape
    overlap = _overlapping(kernel, stride, dilation)
    # Windows that tile the input exactly write every position once: no need to zero-fill first.
    tiled = not overlap and not any(pads) and tuple(dilation) == (1, 1) and tuple(stride) == tuple(kernel)
    tiled = tiled and out_hw[0] * kernel[0] == h and out_hw[1] * kernel[1] == w
    dx = (np.empty if tiled else np.zeros)((n, c, h + pads[0] + pads[1], w + pads[2] + pads[3]), g.dtype)
    sd = (stride, dilation)

    def visit(i, j, sel):
        dst = _win(dx, i, j, sd, out_hw)
        if overlap:
            dst += g * sel
        else:
            np.multiply(g, sel, out=dst)

    _route(x, out, kernel, stride, padding, dilation, out_hw, visit)
    if any(pads):
        return np.ascontiguousarray(dx[:, :, pads[0] : pads[0] + h, pads[2] : pads[2] + w])
    return dx


def _max_pool_gather_forward(gg, x, out, kernel, stride, padding, dilation, out_hw):
    pads = _pool_pads(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    ggp = _pad_hw(gg, *pads, 0)
    res = np.zeros(out.shape, gg.dtype)
    sd = (stride, dilation)

    def visit(i, j, sel):
        res[sel] = _win(ggp, i, j, sd, out_hw)[sel]

    _route(x, out, kernel, stride, padding, dilation, out_hw, visit)
    return res


def max_pool2d_indices(
    x: np.ndarray, out: np.ndarray, kernel, stride, padding, dilation, out_hw
) -> np.ndarray:
    """Flat ``h * W + w`` index of each window's (first) maximum, as ``torch.max_pool2d_with_indices``."""
    n, c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_hw
    base = (np.arange(ho) * sh - ph)[:, None] * w + (np.arange(wo) * sw - pw)[None, :]
    idx = np.zeros(out.shape, np.int64)

    def visit(i, j, sel):
        idx[sel] = np.broadcast_to(base + (i * dh * w + j * dw), sel.shape)[sel]

    _route(x, out, kernel, stride, padding, dilation, out_hw, visit)
    return idx


# -- any-rank pooling kernels (the 3-d pooling's; 1-d and 2-d run the 2-d kernels above) ----------------
def _padded_nd(x, kernel, stride, padding, dilation, out_sz, value):
    """``x`` padded so every window fits (``value`` in the padding), and the (low, high) pairs used."""
    pairs = _pool_pad_pairs(tuple(x.shape[2:]), kernel, stride, padding, dilation, out_sz)
    if not any(lo or hi for lo, hi in pairs):
        return x, pairs
    return np.pad(x, ((0, 0), (0, 0)) + pairs, constant_values=value), pairs


def _offsets(kernel):
    return itertools.product(*(range(k) for k in kernel))


def _crop_nd(a, spatial, pairs):
    if not any(lo or hi for lo, hi in pairs):
        return a
    return np.ascontiguousarray(
        a[(slice(None),) * 2 + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, pairs))]
    )


def _max_pool_nd(x, kernel, stride, padding, dilation, out_sz):
    xp, _ = _padded_nd(x, kernel, stride, padding, dilation, out_sz, _lowest(x.dtype))
    out = None
    for off in _offsets(kernel):
        v = xp[(slice(None),) * 2 + _offset_slices(off, stride, dilation, out_sz)]
        out = np.array(v) if out is None else np.maximum(out, v, out=out)
    return out


def _route_nd(x, out, kernel, stride, padding, dilation, out_sz, visit):
    """``_route`` for any rank: ``visit(off, sel)`` per kernel offset, ``sel`` the output positions whose
    first maximum sits there; returns the (low, high) pads of the padded input."""
    xp, pairs = _padded_nd(x, kernel, stride, padding, dilation, out_sz, _lowest(x.dtype))
    nan = x.dtype.kind == "f" and np.isnan(out.sum())
    taken = None
    for off in _offsets(kernel):
        v = xp[(slice(None),) * 2 + _offset_slices(off, stride, dilation, out_sz)]
        sel = v == out
        if nan:
            sel |= np.isnan(v) & np.isnan(out)
        if taken is None:
            taken = sel.copy()
        else:
            np.greater(sel, taken, out=sel)
            taken |= sel
        visit(off, sel)
    return pairs


def _max_pool_backward_nd(g, x, out, kernel, stride, padding, dilation, out_sz):
    pairs = _pool_pad_pairs(tuple(x.shape[2:]), kernel, stride, padding, dilation, out_sz)
    full = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pairs))
    dx = np.zeros(tuple(x.shape[:2]) + full, g.dtype)

    def visit(off, sel):
        dst = dx[(slice(None),) * 2 + _offset_slices(off, stride, dilation, out_sz)]
        dst += g * sel

    _route_nd(x, out, kernel, stride, padding, dilation, out_sz, visit)
    return _crop_nd(dx, tuple(x.shape[2:]), pairs)


def _max_pool_gather_nd(gg, x, out, kernel, stride, padding, dilation, out_sz):
    ggp, _ = _padded_nd(gg, kernel, stride, padding, dilation, out_sz, 0)
    res = np.zeros(out.shape, gg.dtype)

    def visit(off, sel):
        res[sel] = ggp[(slice(None),) * 2 + _offset_slices(off, stride, dilation, out_sz)][sel]

    _route_nd(x, out, kernel, stride, padding, dilation, out_sz, visit)
    return res


def _max_pool_indices_nd(x, out, kernel, stride, padding, dilation, out_sz):
    """Flat (row-major) index into the input's spatial volume of each window's first maximum."""
    spatial = tuple(x.shape[2:])
    place = [_prod(spatial[i + 1 :]) for i in range(len(spatial))]
    grids = np.meshgrid(
        *[(np.arange(m) * s - p) * f for m, s, p, f in zip(out_sz, stride, padding, place)], indexing="ij"
    )
    base = sum(grids)
    idx = np.zeros(out.shape, np.int64)

    def visit(off, sel):
        shift = sum(i * d * f for i, d, f in zip(off, dilation, place))
        idx[sel] = np.broadcast_to(base + shift, sel.shape)[sel]

    _route_nd(x, out, kernel, stride, padding, dilation, out_sz, visit)
    return idx


def _avg_divisor_nd(spatial, kernel, stride, padding, out_sz, count_include_pad, divisor_override):
    """Reciprocal divisor of every window (PyTorch's rule), broadcastable over the output."""
    if divisor_override:
        return 1.0 / divisor_override
    div = np.ones((), np.int64)
    for n, k, s, p, m in zip(spatial, kernel, stride, padding, out_sz):
        start = np.arange(m) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        div = np.multiply.outer(div, size)
    return 1.0 / div


def _avg_pool_nd(x, kernel, stride, padding, out_sz, count_include_pad, divisor_override):
    dil = (1,) * len(kernel)
    xp, _ = _padded_nd(x, kernel, stride, padding, dil, out_sz, 0)
    out = None
    for off in _offsets(kernel):
        v = xp[(slice(None),) * 2 + _offset_slices(off, stride, dil, out_sz)]
        out = np.array(v) if out is None else np.add(out, v, out=out)
    scale = _avg_divisor_nd(x.shape[2:], kernel, stride, padding, out_sz, count_include_pad, divisor_override)
    out *= np.asarray(scale, out.dtype)
    return out


def _avg_pool_backward_nd(
    g, kernel, stride, padding, out_sz, input_shape, count_include_pad, divisor_override
):
    spatial = tuple(input_shape[2:])
    dil = (1,) * len(kernel)
    pairs = _pool_pad_pairs(spatial, kernel, stride, padding, dil, out_sz)
    scale = _avg_divisor_nd(spatial, kernel, stride, padding, out_sz, count_include_pad, divisor_override)
    gs = g * np.asarray(scale, g.dtype)
    full = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pairs))
    dx = np.zeros(tuple(input_shape[:2]) + full, g.dtype)
    for off in _offsets(kernel):
        dst = dx[(slice(None),) * 2 + _offset_slices(off, stride, dil, out_sz)]
        dst += gs
    return _crop_nd(dx, spatial, pairs)


def _pool_nd(x, kernel, stride, padding, dilation, ceil_mode):
    return pool_output_size("pool", x.shape, kernel, stride, padding, dilation, ceil_mode)


def _max_pool_op_forward(x, *, kernel, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    if nd == 3:
        out_sz = _pool_nd(x, kernel, stride, padding, dilation, ceil_mode)
        return _max_pool_nd(x, kernel, stride, padding, dilation, out_sz)
    x4, k, s, p, d, out_hw = _pool2d(x, nd, kernel, stride, padding, dilation, ceil_mode)
    out = _max_pool_forward(x4, k, s, p, d, out_hw)
    return out[:, :, 0] if nd == 1 else out


def _max_pool_backward_op(g, x, out, *, kernel, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    if nd == 3:
        out_sz = _pool_nd(x, kernel, stride, padding, dilation, ceil_mode)
        return _max_pool_backward_nd(g, x, out, kernel, stride, padding, dilation, out_sz)
    x4, k, s, p, d, out_hw = _pool2d(x, nd, kernel, stride, padding, dilation, ceil_mode)
    if nd == 1:
        g, out = g[:, :, None], out[:, :, None]
    dx = _max_pool_backward_forward(g, x4, out, k, s, p, d, out_hw)
    return dx[:, :, 0] if nd == 1 else dx


def _max_pool_gather_op(gg, x, out, *, kernel, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    if nd == 3:
        out_sz = _pool_nd(x, kernel, stride, padding, dilation, ceil_mode)
        return _max_pool_gather_nd(gg, x, out, kernel, stride, padding, dilation, out_sz)
    x4, k, s, p, d, out_hw = _pool2d(x, nd, kernel, stride, padding, dilation, ceil_mode)
    if nd == 1:
        gg, out = gg[:, :, None], out[:, :, None]
    res = _max_pool_gather_forward(gg, x4, out, k, s, p, d, out_hw)
    return res[:, :, 0] if nd == 1 else res


def _max_pool_indices_op(x, out, *, kernel, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    if nd == 3:
        out_sz = _pool_nd(x, kernel, stride, padding, dilation, ceil_mode)
        return _max_pool_indices_nd(x, out, kernel, stride, padding, dilation, out_sz)
    x4, k, s, p, d, out_hw = _pool2d(x, nd, kernel, stride, padding, dilation, ceil_mode)
    idx = max_pool2d_indices(x4, out[:, :, None] if nd == 1 else out, k, s, p, d, out_hw)
    return idx[:, :, 0] if nd == 1 else idx


def _like_input(g, x, out, **_):
    return TensorMeta(tuple(x.shape), g.dtype)


def _like_output(gg, x, out, **_):
    return TensorMeta(tuple(out.shape), gg.dtype)


def _indices_meta(x, out, **_):
    return TensorMeta(tuple(out.shape), _dt.int64)


MAX_POOL = OpDef("max_pool", _max_pool_op_forward, save_output=True, shape_rule=_pool_meta)
MAX_POOL_BACKWARD = OpDef("max_pool_backward", _max_pool_backward_op, shape_rule=_like_input)
MAX_POOL_GATHER = OpDef("max_pool_gather", _max_pool_gather_op, shape_rule=_like_output)
# The flat ``h * W + w`` position of each window's first maximum (``return_indices``), from the input and
# the pooled output.
MAX_POOL_INDICES = OpDef(
    "max_pool_indices", _max_pool_indices_op, differentiable=False, shape_rule=_indices_meta
)


@MAX_POOL.defgrad
def _max_pool_grad(ctx, g):
    x = ctx.saved[0]
    return (apply(MAX_POOL_BACKWARD, (g, x, ctx.out), ctx.attrs),)


@MAX_POOL_BACKWARD.defgrad
def _max_pool_backward_grad(ctx, gg):
    _, x, out = ctx.saved
    return apply(MAX_POOL_GATHER, (gg, x, out), ctx.attrs), None, None


@MAX_POOL_GATHER.defgrad
def _max_pool_gather_grad(ctx, g):
    _, x, out = ctx.saved
    return apply(MAX_POOL_BACKWARD, (g, x, out), ctx.attrs), None, None


@MAX_POOL.defdecompose
def _max_pool_decompose(x, *, kernel, stride, padding, dilation, ceil_mode):
    """Reference: the maximum over the stacked windows of the input padded with the lowest value (the
    gradient goes to the first maximum, as the fused kernel's)."""
    from .. import ops

    out_sz = pool_output_size("max_pool", tuple(x.shape), kernel, stride, padding, dilation, ceil_mode)
    pairs = _pool_pad_pairs(tuple(x.shape[2:]), kernel, stride, padding, dilation, out_sz)
    xp = ops.pad(x, _flat_pad(pairs), value=float(_lowest(x.dtype.np)))
    win = ops.stack(list(_windows(xp, kernel, stride, dilation, out_sz)), -1)
    return ops.max(win, -1)[0]


# -- average pooling ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _avg_scale(x_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    """Reciprocal divisor: a float, or an (Ho, Wo) array when windows differ (PyTorch's rule)."""
    if divisor_override:
        return 1.0 / divisor_override
    (h, w), (kh, kw), (sh, sw), (ph, pw), (ho, wo) = x_hw, kernel, stride, padding, out_hw

    def sizes(n_out, s, p, k, n):
        start = np.arange(n_out) * s - p
        end = np.minimum(start + k, n + p)
        full = end - start
        return full, np.minimum(end, n) - np.maximum(start, 0)

    fh, vh = sizes(ho, sh, ph, kh, h)
    fw, vw = sizes(wo, sw, pw, kw, w)
    div = np.outer(fh, fw) if count_include_pad else np.outer(vh, vw)
    if (div == kh * kw).all():
        return 1.0 / (kh * kw)
    return 1.0 / div


def _avg_args(x_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    return _avg_scale(tuple(x_hw), kernel, stride, padding, out_hw, count_include_pad, divisor_override)


def _avg_pool_forward(x, kernel, stride, padding, out_hw, count_include_pad=True, divisor_override=None):
    kh, kw = kernel
    pads = _pool_pads(x.shape[2:], kernel, stride, padding, (1, 1), out_hw)
    xp = _pad_hw(x, *pads, 0)
    sd = (stride, (1, 1))
    offs = [(i, j) for i in range(kh) for j in range(kw)]
    if len(offs) == 1:
        out = np.array(_win(xp, 0, 0, sd, out_hw))
    else:
        out = np.add(_win(xp, *offs[0], sd, out_hw), _win(xp, *offs[1], sd, out_hw))
        for i, j in offs[2:]:
            out += _win(xp, i, j, sd, out_hw)
    scale = _avg_args(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad, divisor_override)
    out *= np.asarray(scale, dtype=out.dtype) if isinstance(scale, np.ndarray) else out.dtype.type(scale)
    return out


def _avg_pool_backward_forward(
    g, kernel, stride, padding, out_hw, input_shape, count_include_pad=True, divisor_override=None
):
    n, c, h, w = input_shape
    pads = _pool_pads((h, w), kernel, stride, padding, (1, 1), out_hw)
    scale = _avg_args((h, w), kernel, stride, padding, out_hw, count_include_pad, divisor_override)
    gs = g * (np.asarray(scale, dtype=g.dtype) if isinstance(scale, np.ndarray) else g.dtype.type(scale))
    dx = np.zeros((n, c, h + pads[0] + pads[1], w + pads[2] + pads[3]), g.dtype)
    sd = (stride, (1, 1))
    overlap = _overlapping(kernel, stride, (1, 1))
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            dst = _win(dx, i, j, sd, out_hw)
            if overlap:
                dst += gs
            else:
                dst[...] = gs
    if any(pads):
        return np.ascontiguousarray(dx[:, :, pads[0] : pads[0] + h, pads[2] : pads[2] + w])
    return dx


def _avg_pool_op_forward(x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    nd = x.ndim - 2
    if nd == 3:
        out_sz = _pool_nd(x, kernel, stride, padding, (1,) * nd, ceil_mode)
        return _avg_pool_nd(x, kernel, stride, padding, out_sz, count_include_pad, divisor_override)
    x4, k, s, p, _, out_hw = _pool2d(x, nd, kernel, stride, padding, (1,) * nd, ceil_mode)
    out = _avg_pool_forward(x4, k, s, p, out_hw, count_include_pad, divisor_override)
    return out[:, :, 0] if nd == 1 else out


def _avg_pool_backward_op(
    g, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, input_shape
):
    nd = len(input_shape) - 2
    if nd == 3:
        out_sz = pool_output_size("avg_pool", input_shape, kernel, stride, padding, (1,) * nd, ceil_mode)
        return _avg_pool_backward_nd(
            g, kernel, stride, padding, out_sz, input_shape, count_include_pad, divisor_override
        )
    shape4 = input_shape[:2] + (1,) + input_shape[2:] if nd == 1 else input_shape
    k, s, p = _as2d_pool(nd, kernel, stride, padding)
    out_hw = pool_output_size("avg_pool", shape4, k, s, p, (1, 1), ceil_mode)
    dx = _avg_pool_backward_forward(
        g[:, :, None] if nd == 1 else g, k, s, p, out_hw, shape4, count_include_pad, divisor_override
    )
    return dx[:, :, 0] if nd == 1 else dx


def _as2d_pool(nd, kernel, stride, padding):
    if nd == 2:
        return kernel, stride, padding
    return (1,) + kernel, (1,) + stride, (0,) + padding


def _avg_backward_meta(g, *, input_shape, **_):
    return TensorMeta(tuple(input_shape), g.dtype)


AVG_POOL = OpDef("avg_pool", _avg_pool_op_forward, shape_rule=_pool_meta)
AVG_POOL_BACKWARD = OpDef("avg_pool_backward", _avg_pool_backward_op, shape_rule=_avg_backward_meta)


@AVG_POOL.defgrad
def _avg_pool_grad(ctx, g):
    attrs = dict(ctx.attrs)
    attrs["input_shape"] = tuple(ctx.input_shape(0))
    return (apply(AVG_POOL_BACKWARD, (g,), attrs),)


@AVG_POOL_BACKWARD.defgrad
def _avg_pool_backward_grad(ctx, g):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "input_shape"}
    return (apply(AVG_POOL, (g,), attrs),)


@AVG_POOL.defdecompose
def _avg_pool_decompose(x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Reference: the sum over the windows of the zero-padded input, divided by the same windows' sum over
    ones (padding counted or not; the ceil-mode overhang never counts) or by ``divisor_override``."""
    from .. import ops
    from ..core import creation

    nd = len(kernel)
    dil = (1,) * nd
    spatial = tuple(x.shape[2:])
    out_sz = pool_output_size("avg_pool", tuple(x.shape), kernel, stride, padding, dil, ceil_mode)
    pairs = _pool_pad_pairs(spatial, kernel, stride, padding, dil, out_sz)
    total = None
    for v in _windows(ops.pad(x, _flat_pad(pairs)), kernel, stride, dil, out_sz):
        total = v if total is None else total + v
    if divisor_override:
        return total / divisor_override
    if count_include_pad:  # ones over the input and its padding, zeros over the ceil-mode overhang
        ones = creation.ones((1, 1) + tuple(n + 2 * p for n, p in zip(spatial, padding)), dtype=x.dtype)
        ones = ops.pad(ones, _flat_pad(tuple((0, hi - p) for (p, hi) in pairs)))
    else:
        ones = ops.pad(creation.ones((1, 1) + spatial, dtype=x.dtype), _flat_pad(pairs))
    count = None
    for v in _windows(ones, kernel, stride, dil, out_sz):
        count = v if count is None else count + v
    return total / count


# -- C lowerings (ts.compile runs these as loops of their own) -------------------------------------------
# ``fn(c, *input_metas, **attrs) -> (sizes, body)``: C statements over ``in{k}``, ``out0`` and the sizes
# ``n0, n1, ...`` they are called with, or None where the geometry is not covered. 2x2 windows at stride 2
# (the common MaxPool2d(2)), one output row per iteration: rows ``x0`` and ``x1`` of the input feed it.
def _tiled2_rows(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """(N*C*Ho, Wo) when the 2x2 / stride-2 windows tile a 4-D ``x_shape`` exactly, else None."""
    if len(x_shape) != 4 or tuple(kernel) != (2, 2):
        return None
    dilation = dilation or (1, 1)
    out_hw = pool_output_size("max_pool2d", x_shape, kernel, stride, padding, dilation, ceil_mode)
    if not _tiled2(x_shape[2:], kernel, stride, padding, dilation, out_hw):
        return None
    return x_shape[0] * x_shape[1] * out_hw[0], out_hw[1]


_ROWS = [
    "#pragma omp parallel for schedule(static) if (n0 * n1 >= 8388608LL)",
    "for (int64_t r = 0; r < n0; r++) {",
    "  const int64_t w = 2 * n1;",
]


def _c_max_pool(c, x, *, kernel, stride, padding, dilation, ceil_mode):
    rows = _tiled2_rows(x.shape, kernel, stride, padding, dilation, ceil_mode)
    if rows is None or not c.is_float or x.dtype is not c.dtype:
        return None
    t = c.t
    # the NumPy forward's order: top against bottom row, then left against right column
    left, right = _c_max(c, "x0[2 * j]", "x1[2 * j]"), _c_max(c, "x0[2 * j + 1]", "x1[2 * j + 1]")
    return rows, _ROWS + [
        f"  const {t} *x0 = in0 + 2 * r * w, *x1 = x0 + w;",
        "  #pragma omp simd",
        "  for (int64_t j = 0; j < n1; j++) {",
        f"    {t} a = {left}, b = {right};",
        f"    out0[r * n1 + j] = {_c_max(c, 'a', 'b')};",
        "  }",
        "}",
    ]


def _c_max_pool_backward(c, g, x, out, *, kernel, stride, padding, dilation, ceil_mode):
    rows = _tiled2_rows(x.shape, kernel, stride, padding, dilation, ceil_mode)
    if rows is None or not c.is_float or not (g.dtype is x.dtype is out.dtype is c.dtype):
        return None
    t = c.t

    def hit(v):  # the window's maximum (a NaN maximum matches a NaN); bitwise, so the loop vectorizes
        return f"(({v} == m) | ((m != m) & ({v} != {v})))"

    # The first maximum in the window's row-major order takes the gradient (PyTorch's tie rule); the
    # others get g * 0, as the NumPy forward's masked product gives.
    return rows, _ROWS + [
        f"  const {t} *x0 = in1 + 2 * r * w, *x1 = x0 + w;",
        f"  {t} *d0 = out0 + 2 * r * w, *d1 = d0 + w;",
        "  #pragma omp simd",
        "  for (int64_t j = 0; j < n1; j++) {",
        f"    const {t} m = in2[r * n1 + j], gv = in0[r * n1 + j];",
        f"    const int e0 = {hit('x0[2 * j]')}, e1 = {hit('x0[2 * j + 1]')};",
        f"    const int e2 = {hit('x1[2 * j]')}, e3 = {hit('x1[2 * j + 1]')};",
        f"    d0[2 * j] = gv * ({t})e0; d0[2 * j + 1] = gv * ({t})(e1 & !e0);",
        f"    d1[2 * j] = gv * ({t})(e2 & !(e0 | e1)); d1[2 * j + 1] = gv * ({t})(e3 & !(e0 | e1 | e2));",
        "  }",
        "}",
    ]


MAX_POOL.deflowering("c_kernel")(_c_max_pool)
MAX_POOL_BACKWARD.deflowering("c_kernel")(_c_max_pool_backward)


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
def _onnx_pads(padding):
    pairs = [(p, p) if isinstance(p, int) else tuple(p) for p in padding]
    return [b for b, _ in pairs] + [a for _, a in pairs]


@CONVOLUTION.defonnx
def _convolution_onnx(g, x, w, b, *, stride, padding, dilation, groups, transposed, output_padding):
    common = {
        "strides": list(stride),
        "pads": _onnx_pads(padding),
        "dilations": list(dilation),
        "group": groups,
        "kernel_shape": list(g.shape(w)[2:]),
    }
    if transposed:
        return g.op("ConvTranspose", x, w, b, output_padding=list(output_padding), **common)
    return g.op("Conv", x, w, b, **common)


@MAX_POOL.defonnx
def _max_pool_onnx(g, x, *, kernel, stride, padding, dilation, ceil_mode):
    return g.op(
        "MaxPool",
        x,
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=_onnx_pads(padding),
        dilations=list(dilation),
        ceil_mode=int(ceil_mode),
    )


@AVG_POOL.defonnx
def _avg_pool_onnx(g, x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if divisor_override is not None:
        g.fail("avg_pool's divisor_override has no ONNX equivalent")
    return g.op(
        "AveragePool",
        x,
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=_onnx_pads(padding),
        ceil_mode=int(ceil_mode),
        count_include_pad=int(count_include_pad),
    )
