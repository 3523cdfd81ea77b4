"""More ONNX op handlers for ``ts.onnx.load`` (losses, attention, normalization, sequences, ...)."""

from __future__ import annotations

import numpy as np

import tessera as ts
import tessera.nn.functional as F

from ._import_ops import _axis, _host, _ints, _is_float, _np_dtype, _opt, op
from .importer import to_tensor


@op("RMSNormalization")
def _rms(ins, attrs, ctx):
    x, scale = ins[0], ins[1]
    axis = _axis(attrs.get("axis", -1), x.ndim)
    eps = attrs.get("epsilon", 1e-5)
    axes = list(range(axis, x.ndim))
    ms = ts.mean(x * x, axes, keepdim=True)
    return x * ts.rsqrt(ms + eps) * scale


def _nll(logp, target, weight, reduction, ignore_index):
    target = target.to(ts.int64)
    if ignore_index is not None:
        valid = target != ignore_index
        safe = ts.where(valid, target, ts.zeros_like(target))
    else:
        valid, safe = None, target
    picked = ts.gather(logp, 1, safe.unsqueeze(1)).squeeze(1)
    loss = -picked
    w = None
    if weight is not None:
        w = ts.index_select(weight, 0, safe.reshape(-1)).reshape(*safe.shape)
        loss = loss * w
    if valid is not None:
        zero = ts.zeros_like(loss)
        loss = ts.where(valid, loss, zero)
        if w is not None:
            w = ts.where(valid, w, ts.zeros_like(w))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ts.sum(loss)
    if w is not None:
        return ts.sum(loss) / ts.sum(w)
    if valid is not None:
        return ts.sum(loss) / ts.sum(valid.to(loss.dtype))
    return ts.mean(loss)


@op("NegativeLogLikelihoodLoss")
def _nll_op(ins, attrs, ctx):
    return _nll(ins[0], ins[1], _opt(ins, 2), attrs.get("reduction", "mean"), attrs.get("ignore_index"))


@op("SoftmaxCrossEntropyLoss")
def _sce(ins, attrs, ctx):
    logp = ts.log_softmax(ins[0], 1)
    loss = _nll(logp, ins[1], _opt(ins, 2), attrs.get("reduction", "mean"), attrs.get("ignore_index"))
    return [loss, logp] if len(ctx.node.output) > 1 else loss


@op("CumProd")
def _cumprod(ins, attrs, ctx):
    x = ins[0]
    axis = _axis(int(_host(ins[1]).reshape(-1)[0]), x.ndim)
    rev = attrs.get("reverse", 0)
    if rev:
        x = ts.flip(x, [axis])
    if attrs.get("exclusive", 0):
        n = x.shape[axis]
        one = ts.ones_like(ts.narrow(x, axis, 0, 1))
        x = ts.cat([one, ts.narrow(x, axis, 0, n - 1)], axis) if n else x
    y = ts.cumprod(x, axis).to(ins[0].dtype)
    return ts.flip(y, [axis]) if rev else y


def _apply_causal(bias_shape_q, bias_shape_k, past, dtype):
    tri = np.triu(np.ones((bias_shape_q, bias_shape_k - past)), k=1)
    m = np.zeros((bias_shape_q, bias_shape_k))
    m[:, past:] = np.where(tri == 1, -np.inf, 0.0)
    return to_tensor(m.astype(dtype))


@op("Attention")
def _attention(ins, attrs, ctx):
    q, k, v = ins[0], ins[1], ins[2]
    mask, past_k, past_v, nonpad = _opt(ins, 3), _opt(ins, 4), _opt(ins, 5), _opt(ins, 6)
    qh, kvh = attrs.get("q_num_heads"), attrs.get("kv_num_heads")
    three = q.ndim == 3
    b = q.shape[0]
    if three:
        q = q.reshape(b, q.shape[1], qh, -1).permute(0, 2, 1, 3)
        k = k.reshape(b, k.shape[1], kvh, -1).permute(0, 2, 1, 3)
        v = v.reshape(b, v.shape[1], kvh, -1).permute(0, 2, 1, 3)
    scale = attrs.get("scale")
    if scale is None:
        scale = 1 / np.sqrt(q.shape[3])
    s = float(np.sqrt(scale))
    if past_k is not None:
        k = ts.cat([past_k, k], 2)
    if past_v is not None:
        v = ts.cat([past_v, v], 2)
    present_k, present_v = k, v
    lq, lk = q.shape[2], k.shape[2]
    dt = _np_dtype(q)
    bias = ts.zeros(lq, lk, dtype=q.dtype)
    if mask is not None:
        padw = lk - mask.shape[-1]
        if padw > 0:
            if mask.dtype == ts.bool:
                mask = F.pad(mask.to(ts.int64), [0, padw]).to(ts.bool)
            else:
                mask = F.pad(mask, [0, padw], "constant", float("-inf"))
        if mask.dtype == ts.bool:
            mask = ts.where(mask, ts.zeros((), dtype=q.dtype), ts.full((), float("-inf"), dtype=q.dtype))
    past = past_k.shape[2] if past_k is not None else 0
    if attrs.get("is_causal", 0):
        causal = _apply_causal(lq, lk, past, dt)
        bias = causal if mask is None else mask + causal
    elif mask is not None:
        bias = bias + mask
    if nonpad is not None:
        lens = _ints(nonpad)
        pm = np.where(np.arange(lk)[None, :] < np.array(lens)[:, None], 0.0, -np.inf).astype(dt)
        bias = bias.reshape(*([1] * (4 - bias.ndim)), *bias.shape) + to_tensor(pm.reshape(b, 1, 1, lk))
    nq = q.shape[1]
    nk = k.shape[1]
    if nq != nk and nq % nk == 0:
        k = k.repeat_interleave(nq // nk, 1)
        v = v.repeat_interleave(nq // nk, 1)
    qk = ts.matmul(q * s, (k * s).transpose(2, 3))
    mode = attrs.get("qk_matmul_output_mode", 0)
    qkb = qk + bias
    out_qk = qk
    if mode == 1:
        out_qk = qkb
    softcap = attrs.get("softcap")
    if softcap is not None and softcap > 0:
        qkb = ts.tanh(qkb / softcap) * softcap
        if mode == 2:
            out_qk = qkb
    sm = ts.softmax(qkb, -1)
    if mode == 3:
        out_qk = sm
    y = ts.matmul(sm, v)
    if three:
        y = y.permute(0, 2, 1, 3).reshape(b, lq, -1)
    return [y, present_k, present_v, out_qk]


@op("GridSample")
def _gridsample(ins, attrs, ctx):
    x, grid = ins
    mode = attrs.get("mode", "linear")
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    pad = attrs.get("padding_mode", "zeros")
    align = bool(attrs.get("align_corners", 0))
    nd = x.ndim - 2
    sp = list(x.shape[2:])
    n, c = x.shape[0], x.shape[1]
    # grid (N, *out, nd) with last coord = x (innermost dim)
    out_sp = list(grid.shape[1:-1])
    coords = []
    for i in range(nd):
        g = grid[..., nd - 1 - i]
        size = sp[i]
        if align:
            p = (g + 1) / 2 * (size - 1)
        else:
            p = ((g + 1) * size - 1) / 2
        coords.append(p)
    npts = int(np.prod(out_sp))
    xf = x.reshape(n, c, -1)

    def reflect(p, size):
        if align:
            lo, hi = 0.0, float(size - 1)
        else:
            lo, hi = -0.5, size - 0.5
        rng = hi - lo
        if rng <= 0:
            return ts.zeros_like(p)
        d = ts.abs(p - lo)
        flips = ts.floor(d / rng)
        extra = d - flips * rng
        even = ts.remainder(flips, 2) == 0
        return ts.where(even, lo + extra, hi - extra)

    if pad == "reflection":
        coords = [reflect(p, sp[i]) for i, p in enumerate(coords)]
    elif pad == "border" and mode != "cubic":
        coords = [ts.clamp(p, 0, sp[i] - 1) for i, p in enumerate(coords)]

    def fetch(idx_list):
        """Values at integer index tensors (N, *out) per dim; zeros outside (or clamped for border)."""
        valid = None
        lin = None
        for i, ix in enumerate(idx_list):
            if pad == "border" or pad == "reflection":
                ixc = ts.clamp(ix, 0, sp[i] - 1)
                ok = None
            else:
                ok = (ix >= 0) & (ix <= sp[i] - 1)
                ixc = ts.clamp(ix, 0, sp[i] - 1)
            valid = ok if valid is None else (valid if ok is None else valid & ok)
            lin = ixc if lin is None else lin * sp[i] + ixc
        lin = lin.reshape(n, 1, npts).expand(n, c, npts)
        vals = ts.gather(xf, 2, lin)
        if valid is not None:
            vm = valid.reshape(n, 1, npts)
            vals = ts.where(vm, vals, ts.zeros_like(vals))
        return vals

    if mode == "nearest":
        idx = [_round_even(p).to(ts.int64) for p in coords]
        out = fetch(idx)
    elif mode == "linear":
        out = None
        lo = [ts.floor(p) for p in coords]
        fr = [(p - lf).reshape(n, 1, npts) for p, lf in zip(coords, lo)]
        for corner in range(2**nd):
            idx, w = [], None
            for i in range(nd):
                bit = (corner >> (nd - 1 - i)) & 1
                idx.append((lo[i] + bit).to(ts.int64))
                wi = fr[i] if bit else 1 - fr[i]
                w = wi if w is None else w * wi
            term = fetch(idx) * w
            out = term if out is None else out + term
    else:
        a = -0.75
        lo = [ts.floor(p) for p in coords]
        fr = [(p - lf).reshape(n, 1, npts) for p, lf in zip(coords, lo)]

        def cw(t):
            return [
                ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                ((a + 2) * t - (a + 3)) * t * t + 1,
                ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
            ]

        ws = [cw(f) for f in fr]
        out = None
        import itertools

        for combo in itertools.product(range(4), repeat=nd):
            idx, w = [], None
            for i, kk in enumerate(combo):
                ix = (lo[i] + (kk - 1)).to(ts.int64)
                if pad == "border":
                    ix = ts.clamp(ix, 0, sp[i] - 1)
                elif pad == "reflection":
                    ix = _reflect_int(ix, sp[i], align)
                idx.append(ix)
                w = ws[i][kk] if w is None else w * ws[i][kk]
            term = fetch(idx) * w
            out = term if out is None else out + term
    return out.reshape(n, c, *out_sp)


def _round_even(p):
    return ts.round(p)


def _reflect_int(ix, size, align):
    p = ix.to(ts.float64)
    if align:
        lo, hi = 0.0, float(size - 1)
    else:
        lo, hi = -0.5, size - 0.5
    rng = hi - lo
    d = ts.abs(p - lo)
    flips = ts.floor(d / rng)
    extra = d - flips * rng
    even = ts.remainder(flips, 2) == 0
    r = ts.where(even, lo + extra, hi - extra)
    return ts.clamp(ts.round(r), 0, size - 1).to(ts.int64)


@op("AffineGrid")
def _affine_grid(ins, attrs, ctx):
    theta, size = ins
    size = _ints(size)
    align = bool(attrs.get("align_corners", 0))
    n = size[0]
    sp = size[2:]
    nd = len(sp)
    lin = []
    for s in sp:
        if align:
            v = np.linspace(-1, 1, s) if s > 1 else np.zeros(1)
        else:
            v = (np.arange(s) * 2 + 1) / s - 1
        lin.append(v)
    mesh = np.meshgrid(*lin, indexing="ij")
    pts = np.stack([*(m for m in mesh[::-1]), np.ones_like(mesh[0])], -1).reshape(-1, nd + 1)
    base = to_tensor(pts.astype(_np_dtype(theta)))
    out = ts.matmul(base, theta.transpose(1, 2))  # N, P, nd
    return out.reshape(n, *sp, nd)


# --------------------------------------------------------------------------------------- quantization
@op("QuantizeLinear")
def _quant(ins, attrs, ctx):
    x, scale = ins[0], ins[1]
    zp = _opt(ins, 2)
    axis = attrs.get("axis", 1)
    out_dt = zp.dtype if zp is not None else ts.uint8
    if attrs.get("output_dtype"):
        from ._import_ops import _ONNX_DTYPES

        out_dt = _ONNX_DTYPES.get(attrs["output_dtype"], out_dt)
    s = _bcast_param(scale, x, axis, attrs.get("block_size", 0))
    y = ts.round(x.to(ts.float32) / s.to(ts.float32))
    if zp is not None:
        y = y + _bcast_param(zp, x, axis, attrs.get("block_size", 0)).to(ts.float32)
    lo, hi = {ts.uint8: (0, 255), ts.int8: (-128, 127), ts.int16: (-32768, 32767)}.get(out_dt, (0, 65535))
    return ts.clamp(y, lo, hi).to(out_dt)


@op("DequantizeLinear")
def _dequant(ins, attrs, ctx):
    x, scale = ins[0], ins[1]
    zp = _opt(ins, 2)
    axis = attrs.get("axis", 1)
    bs = attrs.get("block_size", 0)
    xf = x.to(ts.float32)
    if zp is not None:
        xf = xf - _bcast_param(zp, x, axis, bs).to(ts.float32)
    return (xf * _bcast_param(scale, x, axis, bs).to(ts.float32)).to(scale.dtype)


def _bcast_param(p, x, axis, block):
    if p.ndim == 0 or p.numel() == 1 and x.ndim == 0:
        return p.reshape(())
    axis = _axis(axis, x.ndim)
    if block:
        p = p.repeat_interleave(block, axis)
        p = ts.narrow(p, axis, 0, x.shape[axis])
        return p
    if p.ndim == 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        return p.reshape(*shape)
    return p


@op("DynamicQuantizeLinear")
def _dyn_quant(ins, attrs, ctx):
    x = ins[0]
    mx = ts.maximum(ts.amax(x), ts.zeros((), dtype=x.dtype))
    mn = ts.minimum(ts.amin(x), ts.zeros((), dtype=x.dtype))
    scale = (mx - mn) / 255.0
    zp = ts.clamp(ts.round(0 - mn / scale), 0, 255)
    y = ts.clamp(ts.round(x / scale) + zp, 0, 255).to(ts.uint8)
    return [y, scale, zp.to(ts.uint8)]


@op("MatMulInteger")
def _matmul_int(ins, attrs, ctx):
    a, b = ins[0].to(ts.int32), ins[1].to(ts.int32)
    az, bz = _opt(ins, 2), _opt(ins, 3)
    if az is not None:
        a = a - (az.to(ts.int32).reshape(-1, 1) if az.ndim == 1 and az.numel() > 1 else az.to(ts.int32))
    if bz is not None:
        b = b - bz.to(ts.int32)
    return ts.matmul(a.to(ts.int64), b.to(ts.int64)).to(ts.int32)


# ---------------------------------------------------------------------------------------- sequences
@op("SequenceConstruct")
def _seq_construct(ins, attrs, ctx):
    return [list(ins)]


@op("SequenceEmpty")
def _seq_empty(ins, attrs, ctx):
    return [[]]


@op("SequenceInsert")
def _seq_insert(ins, attrs, ctx):
    seq = list(ins[0])
    pos = _opt(ins, 2)
    if pos is None:
        seq.append(ins[1])
    else:
        p = int(_host(pos).reshape(-1)[0])
        seq.insert(p + len(seq) if p < 0 else p, ins[1])
    return [seq]


@op("SequenceAt")
def _seq_at(ins, attrs, ctx):
    return ins[0][int(_host(ins[1]).reshape(-1)[0])]


@op("SequenceErase")
def _seq_erase(ins, attrs, ctx):
    seq = list(ins[0])
    pos = _opt(ins, 1)
    p = int(_host(pos).reshape(-1)[0]) if pos is not None else -1
    del seq[p]
    return [seq]


@op("SequenceLength")
def _seq_len(ins, attrs, ctx):
    return to_tensor(np.array(len(ins[0]), np.int64))


@op("ConcatFromSequence")
def _concat_seq(ins, attrs, ctx):
    axis = attrs["axis"]
    if attrs.get("new_axis", 0):
        return ts.stack(ins[0], _axis(axis, ins[0][0].ndim + 1))
    return ts.cat(ins[0], _axis(axis, ins[0][0].ndim))


@op("SplitToSequence")
def _split_seq(ins, attrs, ctx):
    x = ins[0]
    axis = _axis(attrs.get("axis", 0), x.ndim)
    sp = _opt(ins, 1)
    keep = attrs.get("keepdims", 1)
    if sp is None:
        parts = ts.split(x, 1, axis)
        if not keep:
            parts = [p.squeeze(axis) for p in parts]
        return [list(parts)]
    s = _ints(sp)
    if _host(sp).ndim == 0:
        return [list(ts.split(x, s[0], axis))]
    return [list(ts.split(x, s, axis))]


@op("SequenceMap")
def _seq_map(ins, attrs, ctx):
    body = attrs["body"]
    seqs = [v for v in ins if isinstance(v, list)]
    n = len(seqs[0])
    n_out = len(body.output)
    outs: list = [[] for _ in range(n_out)]
    for i in range(n):
        args = [v[i] if isinstance(v, list) else v for v in ins]
        res = ctx.run_subgraph(body, ctx.env, args)
        for j in range(n_out):
            outs[j].append(res[j])
    return outs


class _Optional:
    def __init__(self, value=None):
        self.value = value


@op("Optional")
def _optional(ins, attrs, ctx):
    return _Optional(_opt(ins, 0))


@op("OptionalHasElement")
def _opt_has(ins, attrs, ctx):
    v = _opt(ins, 0)
    has = v is not None and not (isinstance(v, _Optional) and v.value is None)
    return to_tensor(np.array(has))


@op("OptionalGetElement")
def _opt_get(ins, attrs, ctx):
    v = ins[0]
    return [v.value if isinstance(v, _Optional) else v]


# ----------------------------------------------------------------------------------------------- misc
@op("Compress")
def _compress(ins, attrs, ctx):
    x, cond = ins
    c = _host(cond).astype(bool).reshape(-1)
    axis = attrs.get("axis")
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    axis = _axis(axis, x.ndim)
    idx = np.nonzero(c[: x.shape[axis]])[0].astype(np.int64)
    return ts.index_select(x, axis, to_tensor(idx))


@op("CenterCropPad")
def _ccp(ins, attrs, ctx):
    x = ins[0]
    shape = _ints(ins[1])
    axes = attrs.get("axes", list(range(x.ndim)))
    axes = [_axis(a, x.ndim) for a in axes]
    for a, s in zip(axes, shape):
        d = x.shape[a]
        if s < d:
            start = (d - s) // 2
            x = ts.narrow(x, a, start, s)
        elif s > d:
            before = (s - d) // 2
            after = s - d - before
            xt = ts.movedim(x, a, -1)
            xt = F.pad(xt, [before, after])
            x = ts.movedim(xt, -1, a)
    return x


def _window(fn):
    def h(ins, attrs, ctx):
        n = int(_host(ins[0]).reshape(-1)[0])
        periodic = attrs.get("periodic", 1)
        from ._import_ops import _ONNX_DTYPES

        dt = _ONNX_DTYPES.get(attrs.get("output_datatype", 1), ts.float32)
        big_n = n if periodic else n - 1
        k = np.arange(n, dtype=np.float64)
        return to_tensor(fn(k, big_n).astype(np.float32)).to(dt)

    return h


op("HannWindow")(_window(lambda k, N: 0.5 - 0.5 * np.cos(2 * np.pi * k / N)))
op("HammingWindow")(_window(lambda k, N: 25 / 46 - 21 / 46 * np.cos(2 * np.pi * k / N)))
op("BlackmanWindow")(
    _window(lambda k, N: 0.42 - 0.5 * np.cos(2 * np.pi * k / N) + 0.08 * np.cos(4 * np.pi * k / N))
)


@op("Col2Im")
def _col2im(ins, attrs, ctx):
    x, image_shape, block_shape = ins
    img = _ints(image_shape)
    blk = _ints(block_shape)
    nd = len(img)
    dil = attrs.get("dilations", [1] * nd)
    pads = attrs.get("pads", [0] * (2 * nd))
    strides = attrs.get("strides", [1] * nd)
    n, ck, length = x.shape
    c = ck // int(np.prod(blk))
    # scatter-add each column entry into the padded image via a constant index map
    padded = [img[i] + pads[i] + pads[i + nd] for i in range(nd)]
    counts = [(padded[i] - (dil[i] * (blk[i] - 1) + 1)) // strides[i] + 1 for i in range(nd)]
    kidx = np.stack(np.meshgrid(*[np.arange(b) for b in blk], indexing="ij"), -1).reshape(-1, nd)
    lidx = np.stack(np.meshgrid(*[np.arange(cn) for cn in counts], indexing="ij"), -1).reshape(-1, nd)
    pos = kidx[:, None, :] * np.array(dil) + lidx[None, :, :] * np.array(strides)  # K, L, nd
    lin = np.zeros(pos.shape[:2], np.int64)
    for i in range(nd):
        lin = lin * padded[i] + pos[..., i]
    total = int(np.prod(padded))
    xr = x.reshape(n, c, -1)
    index = to_tensor(lin.reshape(1, 1, -1)).expand(n, c, lin.size)
    out = ts.zeros(n, c, total, dtype=x.dtype).scatter_add(2, index, xr)
    out = out.reshape(n, c, *padded)
    sl = [slice(None), slice(None)] + [slice(pads[i], pads[i] + img[i]) for i in range(nd)]
    return out[tuple(sl)]


@op("Unique")
def _unique(ins, attrs, ctx):
    x = ins[0]
    arr = _host(x)
    axis = attrs.get("axis")
    srt = attrs.get("sorted", 1)
    if axis is None:
        flat = arr.reshape(-1)
        u, idx, inv, cnt = np.unique(flat, return_index=True, return_inverse=True, return_counts=True)
        if not srt:
            order = np.argsort(idx)
            u, idx, cnt = u[order], idx[order], cnt[order]
            remap = np.argsort(order)
            inv = remap[inv]
        y = ts.index_select(x.reshape(-1), 0, to_tensor(idx.astype(np.int64)))
    else:
        axis = _axis(axis, arr.ndim)
        u, idx, inv, cnt = np.unique(
            arr, axis=axis, return_index=True, return_inverse=True, return_counts=True
        )
        if not srt:
            order = np.argsort(idx)
            idx, cnt = idx[order], cnt[order]
            inv = np.argsort(order)[inv]
        y = ts.index_select(x, axis, to_tensor(idx.astype(np.int64)))
    return [y, to_tensor(idx.astype(np.int64)), to_tensor(inv.reshape(-1).astype(np.int64)),
            to_tensor(cnt.astype(np.int64))]  # fmt: skip


@op("BitCast")
def _bitcast(ins, attrs, ctx):
    from ._import_ops import _ONNX_DTYPES

    x = ins[0]
    dt = _ONNX_DTYPES[attrs["to"]]
    target = _np_dtype(ts.zeros(1, dtype=dt))
    return to_tensor(np.array(_host(x), order="C").view(target).reshape(x.shape))


@op("NonMaxSuppression")
def _nms(ins, attrs, ctx):
    boxes, scores = _host(ins[0]), _host(ins[1])
    mo = _opt(ins, 2)
    max_out = int(_host(mo).reshape(-1)[0]) if mo is not None and mo.numel() else 0
    iou_t = float(_host(ins[3]).reshape(-1)[0]) if _opt(ins, 3) is not None else 0.0
    sc_t = float(_host(ins[4]).reshape(-1)[0]) if _opt(ins, 4) is not None else None
    center = attrs.get("center_point_box", 0)
    res = []
    for b in range(scores.shape[0]):
        bx = boxes[b].astype(np.float64)
        if center:
            cx, cy, w, h = bx.T
            bx = np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 1)
        y1 = np.minimum(bx[:, 0], bx[:, 2])
        y2 = np.maximum(bx[:, 0], bx[:, 2])
        x1 = np.minimum(bx[:, 1], bx[:, 3])
        x2 = np.maximum(bx[:, 1], bx[:, 3])
        area = (y2 - y1) * (x2 - x1)
        for c in range(scores.shape[1]):
            s = scores[b, c]
            order = sorted(range(len(s)), key=lambda i: (-s[i], i))
            keep = []
            for i in order:
                if sc_t is not None and s[i] <= sc_t:
                    continue
                if max_out and len(keep) >= max_out:
                    break
                ok = True
                for j in keep:
                    iw = max(0.0, min(x2[i], x2[j]) - max(x1[i], x1[j]))
                    ih = max(0.0, min(y2[i], y2[j]) - max(y1[i], y1[j]))
                    inter = iw * ih
                    union = area[i] + area[j] - inter
                    if union > 0 and inter / union > iou_t:
                        ok = False
                        break
                if ok:
                    keep.append(i)
            res += [[b, c, i] for i in keep]
    return to_tensor(np.array(res, np.int64).reshape(-1, 3))


@op("DFT")
def _dft(ins, attrs, ctx):
    x = ins[0]
    onesided = attrs.get("onesided", 0)
    inverse = attrs.get("inverse", 0)
    if ctx.opset >= 20:
        a = _opt(ins, 2)
        axis = int(_host(a).reshape(-1)[0]) if a is not None else -2
    else:
        axis = attrs.get("axis", 1)
    axis = _axis(axis, x.ndim)
    ln = _opt(ins, 1)
    n = x.shape[axis]
    if ln is not None and ln.numel():
        n = int(_host(ln).reshape(-1)[0])
    if x.shape[-1] == 1:
        re, im = x[..., 0], ts.zeros_like(x[..., 0])
    else:
        re, im = x[..., 0], x[..., 1]
    d = x.shape[axis]
    if n < d:
        re, im = ts.narrow(re, axis, 0, n), ts.narrow(im, axis, 0, n)
    elif n > d:
        padw = [0, 0] * (re.ndim - 1 - axis) + [0, n - d]
        re, im = F.pad(re, padw), F.pad(im, padw)
    k = np.arange(n)
    sign = 1 if inverse else -1
    ang = sign * 2 * np.pi * np.outer(k, k) / n
    dt = _np_dtype(x)
    cr, ci = to_tensor(np.cos(ang).astype(dt)), to_tensor(np.sin(ang).astype(dt))
    re_t, im_t = ts.movedim(re, axis, -1), ts.movedim(im, axis, -1)
    out_re = ts.matmul(re_t, cr) - ts.matmul(im_t, ci)
    out_im = ts.matmul(re_t, ci) + ts.matmul(im_t, cr)
    if inverse:
        out_re, out_im = out_re / n, out_im / n
    if onesided:
        m = n // 2 + 1
        out_re, out_im = out_re[..., :m], out_im[..., :m]
    out = ts.stack([ts.movedim(out_re, -1, axis), ts.movedim(out_im, -1, axis)], -1)
    return out


@op("MaxUnpool")
def _maxunpool(ins, attrs, ctx):
    x, idx = ins[0], ins[1]
    kernel = attrs["kernel_shape"]
    nd = len(kernel)
    strides = attrs.get("strides", [1] * nd)
    pads = attrs.get("pads", [0] * (2 * nd))
    if _opt(ins, 2) is not None:
        out_shape = _ints(ins[2])
    else:
        sp = [(x.shape[2 + i] - 1) * strides[i] - pads[i] - pads[i + nd] + kernel[i] for i in range(nd)]
        out_shape = list(x.shape[:2]) + sp
    total = int(np.prod(out_shape))
    out = ts.zeros(total, dtype=x.dtype).scatter(0, idx.reshape(-1).to(ts.int64), x.reshape(-1))
    return out.reshape(*out_shape)


@op("Swish")
def _swish(ins, attrs, ctx):
    x = ins[0]
    return x * ts.sigmoid(x * attrs.get("alpha", 1.0))


@op("RotaryEmbedding")
def _rotary(ins, attrs, ctx):
    x, cos, sin = ins[0], ins[1], ins[2]
    pos = _opt(ins, 3)
    interleaved = attrs.get("interleaved", 0)
    nh = attrs.get("num_heads", 0)
    rot = attrs.get("rotary_embedding_dim", 0)
    orig = list(x.shape)
    three = x.ndim == 3
    if three:
        b, s, hid = x.shape
        x = x.reshape(b, s, nh, hid // nh).permute(0, 2, 1, 3)
    else:
        x = x.permute(0, 2, 1, 3) if False else x
    # x: (B, H, S, D)
    if pos is not None:
        cos = ts.index_select(cos, 0, pos.reshape(-1).to(ts.int64)).reshape(*pos.shape, -1)
        sin = ts.index_select(sin, 0, pos.reshape(-1).to(ts.int64)).reshape(*pos.shape, -1)
    d = x.shape[-1]
    rot = rot or d
    xr, xp = x[..., :rot], x[..., rot:]
    cos = cos[..., : rot // 2].unsqueeze(1)
    sin = sin[..., : rot // 2].unsqueeze(1)
    if interleaved:
        x1, x2 = xr[..., 0::2], xr[..., 1::2]
    else:
        x1, x2 = xr[..., : rot // 2], xr[..., rot // 2 :]
    r1 = x1 * cos - x2 * sin
    r2 = x1 * sin + x2 * cos
    if interleaved:
        out = ts.stack([r1, r2], -1).reshape(*r1.shape[:-1], rot)
    else:
        out = ts.cat([r1, r2], -1)
    out = ts.cat([out, xp], -1)
    if three:
        out = out.permute(0, 2, 1, 3).reshape(*orig)
    return out


@op("Binarizer")
def _binarizer(ins, attrs, ctx):
    x = ins[0]
    return (x > attrs.get("threshold", 0.0)).to(x.dtype)


_ = _is_float


def _sat(y, dt):
    lo, hi = {ts.uint8: (0, 255), ts.int8: (-128, 127)}.get(dt, (None, None))
    return (ts.clamp(y, lo, hi) if lo is not None else y).to(dt)


@op("QLinearMatMul")
def _qlinear_matmul(ins, attrs, ctx):
    a, a_s, a_z, b, b_s, b_z, y_s, y_z = ins
    am = a.to(ts.float64) - a_z.to(ts.float64)
    bm = b.to(ts.float64) - (b_z.to(ts.float64) if b_z.ndim == 0 or b_z.numel() == 1 else b_z.to(ts.float64))
    c = ts.matmul(am, bm)
    d = c * (a_s.to(ts.float64) * b_s.to(ts.float64) / y_s.to(ts.float64))
    return _sat(ts.round(d) + y_z.to(ts.float64), y_z.dtype)


def _int_conv(x, w, attrs, ctx):
    from ._import_ops import _CONV, _spatial_pads, _torch_pad

    nd = w.ndim - 2
    kernel = attrs.get("kernel_shape", list(w.shape[2:]))
    strides = attrs.get("strides", [1] * nd)
    dil = attrs.get("dilations", [1] * nd)
    pads = _spatial_pads(x, attrs, kernel, strides, dil)
    x = F.pad(x, _torch_pad(pads)) if any(pads) else x
    return _CONV[nd](x, w, None, strides, 0, dil, attrs.get("group", 1))


@op("ConvInteger")
def _conv_integer(ins, attrs, ctx):
    x, w = ins[0].to(ts.float64), ins[1].to(ts.float64)
    xz, wz = _opt(ins, 2), _opt(ins, 3)
    if xz is not None:
        x = x - xz.to(ts.float64)
    if wz is not None:
        wz = wz.to(ts.float64)
        x_w = wz.reshape(-1, *([1] * (w.ndim - 1))) if wz.ndim == 1 and wz.numel() > 1 else wz
        w = w - x_w
    return ts.round(_int_conv(x, w, attrs, ctx)).to(ts.int32)


@op("QLinearConv")
def _qlinear_conv(ins, attrs, ctx):
    x, xs, xz, w, ws, wz, ys, yz = ins[:8]
    b = _opt(ins, 8)
    xf = x.to(ts.float64) - xz.to(ts.float64)
    wz = wz.to(ts.float64)
    wf = w.to(ts.float64) - (wz.reshape(-1, *([1] * (w.ndim - 1))) if wz.ndim == 1 and wz.numel() > 1 else wz)
    acc = _int_conv(xf, wf, attrs, ctx)
    if b is not None:
        acc = acc + b.to(ts.float64).reshape(1, -1, *([1] * (w.ndim - 2)))
    wsf = ws.to(ts.float64)
    wsf = wsf.reshape(1, -1, *([1] * (w.ndim - 2))) if wsf.ndim == 1 and wsf.numel() > 1 else wsf
    y = acc * (xs.to(ts.float64) * wsf / ys.to(ts.float64))
    return _sat(ts.round(y) + yz.to(ts.float64), yz.dtype)


@op("TensorScatter")
def _tensor_scatter(ins, attrs, ctx):
    past, upd = ins[0], ins[1]
    wi = _opt(ins, 2)
    r = past.ndim
    axis = attrs.get("axis", -2) % r
    circular = attrs.get("mode", "linear") == "circular"
    starts = _ints(wi) if wi is not None else [0] * past.shape[0]
    n_max, n = past.shape[axis], upd.shape[axis]
    # index along axis for every update position (depends on the batch index only)
    pos = np.array([[s + i for i in range(n)] for s in starts], np.int64)
    if circular:
        pos = pos % n_max
    shape = [1] * r
    shape[0], shape[axis] = past.shape[0], n
    idx = ts.broadcast_to(to_tensor(pos.reshape(shape)), list(upd.shape))
    return ts.scatter(past, axis, idx, upd)
