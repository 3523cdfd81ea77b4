"""Convolution and pooling primitives (NumPy kernels; the public API lives in ``tessera.nn.functional``).

Convolution is lowered to three differentiable pieces so that every gradient is itself differentiable:

* ``im2col`` (N, C, H, W) -> (G, C/G * kh * kw, N * Ho * Wo): the sliding windows as a channel-major
  column matrix, built with one strided copy. Its adjoint is ``col2im`` (overlapping windows summed back,
  one strided add per kernel offset), and each op's gradient is the other.
* ``matmul`` of the grouped weight (G, O/G, C/G * kh * kw) with the columns: ONE BLAS call per group. The
  columns are what the weight gradient needs, so the backward pass does not rebuild them.
* ``conv_output`` (G, O/G, N * Ho * Wo) -> contiguous (N, O, Ho, Wo) with the bias added in the same pass.

``conv_transpose`` is the same pipeline run backwards (``matmul`` with the transposed weight, then
``col2im``). Pooling ops loop over the kernel offsets (never over output positions) with strided views.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core.dispatch import OpDef, TensorMeta
from ._util import apply

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
def _im2col_forward(x, kernel, stride, padding, dilation, groups, out_hw, input_shape=None):
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
    return TensorMeta((groups, (c // groups) * kernel[0] * kernel[1], n * out_hw[0] * out_hw[1]), x.dtype)


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


# -- conv output layout + bias -------------------------------------------------------------------------------
def _conv_output_forward(y, *bias, batch, out_hw):
    ho, wo = out_hw
    o = y.shape[0] * y.shape[1]
    src = y.reshape(o, batch, ho * wo)
    out = np.empty((batch, o, ho, wo), np.result_type(y, *bias))
    dst = out.reshape(batch, o, ho * wo).transpose(1, 0, 2)  # iterate in the source's order
    if bias:
        np.add(src, bias[0].reshape(o, 1, 1), out=dst)
    else:
        np.copyto(dst, src)
    return out


def _conv_output_shape(y, *bias, batch, out_hw):
    return TensorMeta((batch, y.shape[0] * y.shape[1]) + tuple(out_hw), y.dtype)


CONV_OUTPUT = OpDef("conv_output", _conv_output_forward, shape_rule=_conv_output_shape)


@CONV_OUTPUT.defgrad
def _conv_output_grad(ctx, g):
    gsh = ctx.input_shape(0)
    gy = g.permute(1, 0, 2, 3).reshape(gsh) if ctx.needs_grad[0] else None
    if len(ctx.needs_grad) == 1:
        return (gy,)
    gb = g.sum((0, 2, 3)) if ctx.needs_grad[1] else None
    return gy, gb


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


def _tiled2(x, kernel, stride, padding, dilation, out_hw):
    """Whether the 2x2 windows tile ``x`` exactly (kernel = stride = 2, no padding, dilation 1)."""
    return (
        tuple(kernel) == (2, 2)
        and tuple(stride) == (2, 2)
        and tuple(padding) == (0, 0)
        and tuple(dilation) == (1, 1)
        and x.shape[2] == 2 * out_hw[0]
        and x.shape[3] == 2 * out_hw[1]
    )


def _max_pool_forward(x, kernel, stride, padding, dilation, out_hw):
    kh, kw = kernel
    if _tiled2(x, kernel, stride, padding, dilation, out_hw):
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


def _pool_meta(x, *rest, kernel, stride, padding, out_hw, **_):
    return TensorMeta(tuple(x.shape[:2]) + tuple(out_hw), x.dtype)


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
        _tiled2(x, kernel, stride, padding, dilation, out_hw)
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


MAX_POOL2D = OpDef("max_pool2d", _max_pool_forward, save_output=True, shape_rule=_pool_meta)
# The gradient routed back to the input's positions, and its transpose (double backward).
MAX_POOL2D_BACKWARD = OpDef(
    "max_pool2d_backward",
    _max_pool_backward_forward,
    shape_rule=lambda g, x, out, **attrs: TensorMeta(x.shape, g.dtype),
)
MAX_POOL2D_GATHER = OpDef(
    "max_pool2d_gather",
    _max_pool_gather_forward,
    shape_rule=lambda gg, x, out, **attrs: TensorMeta(out.shape, gg.dtype),
)


@MAX_POOL2D.defgrad
def _max_pool_grad(ctx, g):
    x = ctx.saved[0]
    return (apply(MAX_POOL2D_BACKWARD, (g, x, ctx.out), ctx.attrs),)


@MAX_POOL2D_BACKWARD.defgrad
def _max_pool_backward_grad(ctx, gg):
    _, x, out = ctx.saved
    return apply(MAX_POOL2D_GATHER, (gg, x, out), ctx.attrs), None, None


@MAX_POOL2D_GATHER.defgrad
def _max_pool_gather_grad(ctx, g):
    _, x, out = ctx.saved
    return apply(MAX_POOL2D_BACKWARD, (g, x, out), ctx.attrs), None, None


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


def _avg_backward_meta(g, *, input_shape, **_):
    return TensorMeta(tuple(input_shape), g.dtype)


AVG_POOL2D = OpDef("avg_pool2d", _avg_pool_forward, shape_rule=_pool_meta)
AVG_POOL2D_BACKWARD = OpDef("avg_pool2d_backward", _avg_pool_backward_forward, shape_rule=_avg_backward_meta)


@AVG_POOL2D.defgrad
def _avg_pool_grad(ctx, g):
    attrs = dict(ctx.attrs)
    attrs["input_shape"] = tuple(ctx.input_shape(0))
    return (apply(AVG_POOL2D_BACKWARD, (g,), attrs),)


@AVG_POOL2D_BACKWARD.defgrad
def _avg_pool_backward_grad(ctx, g):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "input_shape"}
    return (apply(AVG_POOL2D, (g,), attrs),)
