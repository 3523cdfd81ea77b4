"""ONNX op handlers for ``ts.onnx.load``: ``op_type -> handler(inputs, attrs, ctx) -> outputs``.

Every handler computes with Tessera's public ops (so imported graphs stay differentiable and compilable).
Host reads (``_ints``) are only used for static attributes given as inputs (shapes, axes, pads, ...).
"""

from __future__ import annotations

import math

import numpy as np

import tessera as ts
import tessera.nn.functional as F

from .importer import host_constant, host_value, to_tensor

HANDLERS: dict = {}

_ONNX_DTYPES = {
    1: ts.float32, 2: ts.uint8, 3: ts.int8, 5: ts.int16, 6: ts.int32, 7: ts.int64, 9: ts.bool,
    10: ts.float16, 11: ts.float64, 16: ts.bfloat16, 4: ts.int64, 12: ts.int64, 13: ts.int64,
}  # fmt: skip


def op(*names):
    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
        return fn

    return deco


def _host(t) -> np.ndarray:
    if isinstance(t, ts.Tensor):
        v = host_value(t)
        return np.asarray(t.detach().numpy()) if v is None else v
    return np.asarray(t)


def _ints(t) -> list[int]:
    return [int(v) for v in _host(t).reshape(-1)]


def _opt(ins, i):
    return ins[i] if len(ins) > i and ins[i] is not None else None


def _axis(a, rank):
    return a + rank if a < 0 else a


def _is_float(t):
    return t.dtype in (ts.float32, ts.float64, ts.float16, ts.bfloat16)


def _scalar_like(value, t):
    return ts.tensor(np.asarray(value, dtype=t.numpy().dtype if False else _np_dtype(t)))


def _np_dtype(t):
    return {
        ts.float32: np.float32, ts.float64: np.float64, ts.float16: np.float16, ts.int64: np.int64,
        ts.int32: np.int32, ts.int16: np.int16, ts.int8: np.int8, ts.uint8: np.uint8, ts.bool: np.bool_,
    }.get(t.dtype, np.float32)  # fmt: skip


# ----------------------------------------------------------------------------------------------- elementwise
def _unary(name, fn):
    HANDLERS[name] = lambda ins, attrs, ctx: fn(ins[0])


for _n, _f in {
    "Abs": ts.abs, "Neg": ts.neg, "Exp": ts.exp, "Log": ts.log, "Sqrt": ts.sqrt, "Reciprocal": ts.reciprocal,
    "Floor": ts.floor, "Ceil": ts.ceil, "Sin": ts.sin, "Cos": ts.cos, "Tan": ts.tan, "Asin": ts.asin,
    "Acos": ts.acos, "Atan": ts.atan, "Sinh": ts.sinh, "Cosh": ts.cosh, "Asinh": ts.asinh, "Acosh": ts.acosh,
    "Atanh": ts.atanh, "Tanh": ts.tanh, "Sigmoid": ts.sigmoid, "Relu": ts.relu, "Erf": ts.erf,
    "Not": ts.logical_not, "Sign": ts.sign, "Softsign": F.softsign, "IsNaN": ts.isnan,
    "BitwiseNot": ts.bitwise_not, "Identity": lambda x: x, "Round": ts.round, "Mish": F.mish,
}.items():  # fmt: skip
    _unary(_n, _f)


def _binary(name, fn):
    HANDLERS[name] = lambda ins, attrs, ctx: fn(ins[0], ins[1])


for _n, _f in {
    "Add": ts.add, "Sub": ts.sub, "Mul": ts.mul, "Equal": ts.eq, "Less": ts.lt, "Greater": ts.gt,
    "LessOrEqual": ts.le, "GreaterOrEqual": ts.ge, "And": ts.logical_and, "Or": ts.logical_or,
    "Xor": ts.logical_xor, "BitwiseAnd": ts.bitwise_and, "BitwiseOr": ts.bitwise_or,
    "BitwiseXor": ts.bitwise_xor,
}.items():  # fmt: skip
    _binary(_n, _f)


@op("Div")
def _div(ins, attrs, ctx):
    a, b = ins
    if _is_float(a):
        return a / b
    return ts.div(a, b, rounding_mode="trunc")


@op("Pow")
def _pow(ins, attrs, ctx):
    a, b = ins
    out = ts.pow(a, b)
    return out if out.dtype == a.dtype else out.to(a.dtype)


@op("Mod")
def _mod(ins, attrs, ctx):
    a, b = ins
    return ts.fmod(a, b) if attrs.get("fmod", 0) else ts.remainder(a, b)


@op("BitShift")
def _bitshift(ins, attrs, ctx):
    a, b = ins
    if attrs["direction"] == "LEFT":
        return ts.bitwise_left_shift(a, b)
    return ts.bitwise_right_shift(a, b)


def _variadic(fn):
    def h(ins, attrs, ctx):
        out = ins[0]
        for t in ins[1:]:
            out = fn(out, t)
        return out

    return h


HANDLERS["Sum"] = _variadic(ts.add)
HANDLERS["Max"] = _variadic(ts.maximum)
HANDLERS["Min"] = _variadic(ts.minimum)


@op("Mean")
def _mean(ins, attrs, ctx):
    return _variadic(ts.add)(ins, attrs, ctx) / len(ins)


@op("IsInf")
def _isinf(ins, attrs, ctx):
    x = ins[0]
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    if pos and neg:
        return ts.isinf(x)
    if pos:
        return ts.isposinf(x)
    if neg:
        return ts.isneginf(x)
    return ts.zeros_like(x, dtype=ts.bool)


@op("Where")
def _where(ins, attrs, ctx):
    return ts.where(ins[0], ins[1], ins[2])


@op("Clip")
def _clip(ins, attrs, ctx):
    x = ins[0]
    if ctx.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
        return ts.clamp(x, lo, hi)
    lo, hi = _opt(ins, 1), _opt(ins, 2)
    if lo is not None:
        x = ts.maximum(x, lo)
    if hi is not None:
        x = ts.minimum(x, hi)
    return x


# ------------------------------------------------------------------------------------------------ activations
@op("LeakyRelu")
def _leaky(ins, attrs, ctx):
    return F.leaky_relu(ins[0], attrs.get("alpha", 0.01))


@op("Elu")
def _elu(ins, attrs, ctx):
    return F.elu(ins[0], attrs.get("alpha", 1.0))


@op("Celu")
def _celu(ins, attrs, ctx):
    return F.celu(ins[0], attrs.get("alpha", 1.0))


@op("Selu")
def _selu(ins, attrs, ctx):
    x = ins[0]
    a, g = attrs.get("alpha", 1.67326319217681884765625), attrs.get("gamma", 1.05070102214813232421875)
    return g * ts.where(x > 0, x, a * (ts.exp(x) - 1))


@op("ThresholdedRelu")
def _trelu(ins, attrs, ctx):
    x = ins[0]
    return ts.where(x > attrs.get("alpha", 1.0), x, ts.zeros_like(x))


@op("HardSigmoid")
def _hsig(ins, attrs, ctx):
    return ts.clamp(ins[0] * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5), 0.0, 1.0)


@op("HardSwish")
def _hswish(ins, attrs, ctx):
    x = ins[0]
    return x * ts.clamp(x / 6.0 + 0.5, 0.0, 1.0)


@op("Softplus")
def _softplus(ins, attrs, ctx):
    return F.softplus(ins[0])


@op("PRelu")
def _prelu(ins, attrs, ctx):
    x, s = ins
    return ts.where(x < 0, x * s, x)


@op("Gelu")
def _gelu(ins, attrs, ctx):
    return F.gelu(ins[0], approximate=attrs.get("approximate", "none"))


@op("Shrink")
def _shrink(ins, attrs, ctx):
    x = ins[0]
    lam, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    zero = ts.zeros_like(x)
    return ts.where(x < -lam, x + bias, ts.where(x > lam, x - bias, zero)).to(x.dtype)


def _softmax_like(fn, legacy_fn):
    def h(ins, attrs, ctx):
        x = ins[0]
        if ctx.opset < 13:
            axis = _axis(attrs.get("axis", 1), x.ndim)
            shape = list(x.shape)
            flat = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
            return legacy_fn(flat, 1).reshape(shape)
        return fn(x, attrs.get("axis", -1))

    return h


HANDLERS["Softmax"] = _softmax_like(lambda x, a: ts.softmax(x, a), lambda x, a: ts.softmax(x, a))
HANDLERS["LogSoftmax"] = _softmax_like(lambda x, a: ts.log_softmax(x, a), lambda x, a: ts.log_softmax(x, a))


@op("Hardmax")
def _hardmax(ins, attrs, ctx):
    x = ins[0]
    if ctx.opset < 13:
        axis = _axis(attrs.get("axis", 1), x.ndim)
        shape = list(x.shape)
        flat = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
        return F.one_hot(ts.argmax(flat, 1), flat.shape[1]).to(x.dtype).reshape(shape)
    axis = _axis(attrs.get("axis", -1), x.ndim)
    oh = F.one_hot(ts.argmax(x, axis), x.shape[axis]).to(x.dtype)
    return ts.movedim(oh, -1, axis)


# ----------------------------------------------------------------------------------------------- linear algebra
@op("MatMul")
def _matmul(ins, attrs, ctx):
    return ts.matmul(ins[0], ins[1])


@op("Gemm")
def _gemm(ins, attrs, ctx):
    a, b = ins[0], ins[1]
    c = _opt(ins, 2)
    if attrs.get("transA", 0):
        a = a.transpose(0, 1)
    if attrs.get("transB", 0):
        b = b.transpose(0, 1)
    y = ts.matmul(a, b)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return y


@op("Einsum")
def _einsum(ins, attrs, ctx):
    return ts.einsum(attrs["equation"].replace(" ", ""), *ins)


@op("Det")
def _det(ins, attrs, ctx):
    return ts.det(ins[0])


# ---------------------------------------------------------------------------------------------------- shapes
@op("Shape")
def _shape(ins, attrs, ctx):
    shape = list(ins[0].shape)
    r = len(shape)
    start = attrs.get("start", 0)
    end = attrs.get("end", r)
    start = max(0, min(r, start + r if start < 0 else start))
    end = max(0, min(r, end + r if end < 0 else end))
    return host_constant(np.array(shape[start:end], dtype=np.int64))


@op("Size")
def _size(ins, attrs, ctx):
    return host_constant(np.array(int(np.prod(ins[0].shape, dtype=np.int64)), dtype=np.int64))


@op("Reshape")
def _reshape(ins, attrs, ctx):
    x = ins[0]
    shape = attrs["shape"] if ctx.opset < 5 else _ints(ins[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(*shape) if shape else x.reshape(())


@op("Flatten")
def _flatten(ins, attrs, ctx):
    x = ins[0]
    axis = _axis(attrs.get("axis", 1), x.ndim)
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(lead, int(np.prod(x.shape[axis:], dtype=np.int64)))


@op("Transpose")
def _transpose(ins, attrs, ctx):
    x = ins[0]
    perm = attrs.get("perm", list(range(x.ndim))[::-1])
    return x.permute(*perm) if perm else x


def _axes_arg(ins, attrs, ctx, since):
    if ctx.opset >= since:
        a = _opt(ins, 1)
        return None if a is None else _ints(a)
    return attrs.get("axes")


@op("Squeeze")
def _squeeze(ins, attrs, ctx):
    x = ins[0]
    axes = _axes_arg(ins, attrs, ctx, 13)
    if axes is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    axes = sorted(_axis(a, x.ndim) for a in axes)
    shape = [s for i, s in enumerate(x.shape) if i not in axes]
    return x.reshape(*shape) if shape else x.reshape(())


@op("Unsqueeze")
def _unsqueeze(ins, attrs, ctx):
    x = ins[0]
    axes = _axes_arg(ins, attrs, ctx, 13)
    r = x.ndim + len(axes)
    axes = sorted(_axis(a, r) for a in axes)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return x.reshape(*shape)


@op("Concat")
def _concat(ins, attrs, ctx):
    ts_ = [t for t in ins if t is not None]
    axis = attrs["axis"]
    nonempty = [t for t in ts_ if t.numel() > 0] or ts_[:1]
    return ts.cat(nonempty, _axis(axis, ts_[0].ndim))


@op("Split")
def _split(ins, attrs, ctx):
    x = ins[0]
    axis = _axis(attrs.get("axis", 0), x.ndim)
    n = len(ctx.node.output)
    if ctx.opset >= 13:
        split = _opt(ins, 1)
        split = None if split is None else _ints(split)
    else:
        split = attrs.get("split")
    if split is None:
        dim = x.shape[axis]
        num = attrs.get("num_outputs", n)
        chunk = -(-dim // num)
        split = [chunk] * (dim // chunk) + ([dim % chunk] if dim % chunk else [])
        if len(split) < num:
            split += [0] * (num - len(split))
    return list(ts.split(x, split, axis))


@op("Slice")
def _slice(ins, attrs, ctx):
    x = ins[0]
    if ctx.opset < 10:
        starts, ends = attrs["starts"], attrs["ends"]
        axes = attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = _ints(ins[3]) if _opt(ins, 3) is not None else list(range(len(starts)))
        steps = _ints(ins[4]) if _opt(ins, 4) is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    flips = []
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, x.ndim)
        d = x.shape[a]
        if st > 0:
            s = max(0, min(d, s + d if s < 0 else s))
            e = max(0, min(d, e + d if e < 0 else e))
            index[a] = slice(s, max(s, e), st)
        else:
            s = max(-1, min(d - 1, s + d if s < 0 else s))
            e = max(-1, min(d - 1, e + d if e < 0 else e))
            # reversed range s, s+st, ... > e  -> flip then slice forward
            if s <= e:
                index[a] = slice(0, 0)
            else:
                fs, fe = d - 1 - s, d - 1 - e
                index[a] = slice(fs, fe, -st)
                flips.append(a)
    if flips:
        x = ts.flip(x, flips)
    return x[tuple(index)]


def _norm_indices(idx, dim):
    return ts.where(idx < 0, idx + dim, idx)


@op("Gather")
def _gather(ins, attrs, ctx):
    x, idx = ins
    axis = _axis(attrs.get("axis", 0), x.ndim)
    idx = _norm_indices(idx.to(ts.int64), x.shape[axis])
    flat = ts.index_select(x, axis, idx.reshape(-1))
    shape = list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1 :])
    return flat.reshape(*shape) if shape else flat.reshape(())


@op("GatherElements")
def _gather_el(ins, attrs, ctx):
    x, idx = ins
    axis = _axis(attrs.get("axis", 0), x.ndim)
    return ts.gather(x, axis, _norm_indices(idx.to(ts.int64), x.shape[axis]))


@op("GatherND")
def _gather_nd(ins, attrs, ctx):
    x, idx = ins
    b = attrs.get("batch_dims", 0)
    idx = idx.to(ts.int64)
    k = idx.shape[-1]
    bshape = list(x.shape[:b])
    nb = int(np.prod(bshape, dtype=np.int64))
    xf = x.reshape(nb, *x.shape[b:])
    idf = idx.reshape(nb, -1, k)
    inner = x.shape[b : b + k]
    lin = ts.zeros(idf.shape[:2], dtype=ts.int64)
    for j in range(k):
        lin = lin * inner[j] + _norm_indices(idf[:, :, j], inner[j])
    rest = list(x.shape[b + k :])
    xflat = xf.reshape(nb, int(np.prod(inner, dtype=np.int64)), *rest)
    bi = ts.arange(nb).reshape(nb, 1).expand(nb, lin.shape[1])
    out = xflat[bi, lin]
    return out.reshape(*bshape, *idx.shape[b:-1], *rest)


@op("ScatterElements", "Scatter")
def _scatter_el(ins, attrs, ctx):
    x, idx, upd = ins
    axis = _axis(attrs.get("axis", 0), x.ndim)
    idx = _norm_indices(idx.to(ts.int64), x.shape[axis])
    red = attrs.get("reduction", "none")
    if red == "none":
        return ts.scatter(x, axis, idx, upd)
    m = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[red]
    return ts.scatter_reduce(x, axis, idx, upd, m)


@op("ScatterND")
def _scatter_nd(ins, attrs, ctx):
    x, idx, upd = ins
    idx = idx.to(ts.int64)
    k = idx.shape[-1]
    inner = x.shape[:k]
    lin = ts.zeros(idx.shape[:-1], dtype=ts.int64)
    for j in range(k):
        lin = lin * inner[j] + _norm_indices(idx[..., j], inner[j])
    rest = list(x.shape[k:])
    n = int(np.prod(inner, dtype=np.int64))
    xf = x.reshape(n, *rest)
    lin = lin.reshape(-1)
    uf = upd.reshape(lin.shape[0], *rest)
    red = attrs.get("reduction", "none")
    idx_full = lin.reshape(-1, *([1] * len(rest))).expand(lin.shape[0], *rest)
    if red == "none":
        out = ts.scatter(xf, 0, idx_full, uf)
    else:
        m = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[red]
        out = ts.scatter_reduce(xf, 0, idx_full, uf, m)
    return out.reshape(*x.shape)


@op("Expand")
def _expand(ins, attrs, ctx):
    x = ins[0]
    shape = _ints(ins[1])
    target = list(np.broadcast_shapes(tuple(x.shape), tuple(shape)))
    return ts.broadcast_to(x, target)


@op("Tile")
def _tile(ins, attrs, ctx):
    return ts.tile(ins[0], _ints(ins[1]))


@op("Pad")
def _pad(ins, attrs, ctx):
    x = ins[0]
    r = x.ndim
    if ctx.opset < 11:
        pads = attrs.get("pads", attrs.get("paddings"))
        value = attrs.get("value", 0.0)
        axes = list(range(r))
    else:
        pads = _ints(ins[1])
        v = _opt(ins, 2)
        value = _host(v).reshape(-1)[0].item() if v is not None and v.numel() else 0
        axes = _ints(ins[3]) if _opt(ins, 3) is not None else list(range(r))
    axes = [_axis(a, r) for a in axes]
    n = len(axes)
    begin, end = dict(zip(axes, pads[:n])), dict(zip(axes, pads[n:]))
    mode = attrs.get("mode", "constant")
    # crop negative pads first
    index = [slice(None)] * r
    for a in axes:
        d = x.shape[a]
        index[a] = slice(max(0, -begin[a]), d - max(0, -end[a]))
    x = x[tuple(index)]
    tpad = []
    for a in reversed(range(r)):
        tpad += [max(0, begin.get(a, 0)), max(0, end.get(a, 0))]
    if not any(tpad):
        return x
    if mode == "constant":
        return F.pad(x, tpad, "constant", value)
    if mode == "edge":
        mode = "replicate"
    if mode == "wrap":
        mode = "circular"
    # torch-style modes pad only trailing dims; move padded dims last
    padded = [a for a in range(r) if begin.get(a, 0) > 0 or end.get(a, 0) > 0]
    return _pad_dims(x, begin, end, padded, mode)


def _pad_dims(x, begin, end, padded, mode):
    for a in padded:
        b, e = max(0, begin.get(a, 0)), max(0, end.get(a, 0))
        xt = ts.movedim(x, a, -1)
        shp = list(xt.shape)
        flat = xt.reshape(1, -1, shp[-1])
        if mode == "circular" and (b > shp[-1] or e > shp[-1]):
            reps = []
            for i in range(-b, shp[-1] + e):
                reps.append(i % shp[-1])
            flat = ts.index_select(flat, 2, ts.tensor(reps, dtype=ts.int64))
        else:
            flat = F.pad(flat, [b, e], mode)
        x = ts.movedim(flat.reshape(*shp[:-1], -1), -1, a)
    return x


@op("Constant")
def _constant(ins, attrs, ctx):
    for k in ("value", "sparse_value"):
        if k in attrs:
            return host_constant(attrs[k])
    if "value_float" in attrs:
        return host_constant(np.array(attrs["value_float"], np.float32))
    if "value_floats" in attrs:
        return host_constant(np.array(attrs["value_floats"], np.float32))
    if "value_int" in attrs:
        return host_constant(np.array(attrs["value_int"], np.int64))
    if "value_ints" in attrs:
        return host_constant(np.array(attrs["value_ints"], np.int64))
    raise ctx.error(f"unsupported attributes {sorted(attrs)}")


@op("ConstantOfShape")
def _const_of_shape(ins, attrs, ctx):
    shape = _ints(ins[0])
    v = attrs.get("value")
    v = np.zeros(1, np.float32) if v is None else v
    return to_tensor(np.full(shape, v.reshape(-1)[0], dtype=v.dtype))


@op("Range")
def _range(ins, attrs, ctx):
    s, lim, d = (_host(t).item() for t in ins)
    n = max(int(math.ceil((lim - s) / d)), 0)
    return to_tensor((s + np.arange(n) * d).astype(_host(ins[0]).dtype))


@op("EyeLike")
def _eyelike(ins, attrs, ctx):
    x = ins[0]
    dt = _ONNX_DTYPES.get(attrs.get("dtype"), x.dtype)
    n, m = x.shape
    k = attrs.get("k", 0)
    return to_tensor(np.eye(n, m, k)).to(dt)


@op("Cast")
def _cast(ins, attrs, ctx):
    to = attrs["to"]
    if to not in _ONNX_DTYPES:
        raise ctx.error(f"unsupported target type {to}")
    x = ins[0]
    if to == 1 and x.dtype in (ts.float16, ts.bfloat16):
        return x.to(ts.float32)
    return x.to(_ONNX_DTYPES[to])


@op("CastLike")
def _castlike(ins, attrs, ctx):
    return ins[0].to(ins[1].dtype)


@op("Dropout")
def _dropout(ins, attrs, ctx):
    x = ins[0]
    if len(ctx.node.output) > 1:
        return [x, ts.ones_like(x, dtype=ts.bool)]
    return x


@op("NonZero")
def _nonzero(ins, attrs, ctx):
    return ts.nonzero(ins[0]).transpose(0, 1)


@op("OneHot")
def _onehot(ins, attrs, ctx):
    idx, depth, values = ins
    d = int(_host(depth).reshape(-1)[0])
    axis = attrs.get("axis", -1)
    i = idx.to(ts.int64)
    i = ts.where(i < 0, i + d, i)
    r = i.ndim + 1
    axis = _axis(axis, r)
    classes = ts.arange(d).reshape(*([1] * i.ndim), d)
    hit = i.unsqueeze(-1) == classes
    off, on = values[0], values[1]
    out = ts.where(hit, on, off)
    return ts.movedim(out, -1, axis)


@op("Trilu")
def _trilu(ins, attrs, ctx):
    x = ins[0]
    k = int(_host(ins[1]).item()) if _opt(ins, 1) is not None else 0
    return ts.triu(x, k) if attrs.get("upper", 1) else ts.tril(x, k)


@op("DepthToSpace")
def _d2s(ins, attrs, ctx):
    x = ins[0]
    b = attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // (b * b), h * b, w * b)


@op("SpaceToDepth")
def _s2d(ins, attrs, ctx):
    x = ins[0]
    b = attrs["blocksize"]
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


@op("ReverseSequence")
def _revseq(ins, attrs, ctx):
    x, lens = ins
    ba, ta = attrs.get("batch_axis", 1), attrs.get("time_axis", 0)
    lens = _ints(lens)
    T = x.shape[ta]
    idx = np.zeros((x.shape[ba], T), np.int64)
    for bi, ln in enumerate(lens):
        idx[bi] = list(range(ln - 1, -1, -1)) + list(range(ln, T))
    shape = [1] * x.ndim
    shape[ba], shape[ta] = x.shape[ba], T
    arr = idx if ba < ta else idx.T
    full = ts.broadcast_to(to_tensor(arr.reshape(shape)), list(x.shape))
    return ts.gather(x, ta, full)


# ------------------------------------------------------------------------------------------------ reductions
def _reduce(fn, since=18):
    def h(ins, attrs, ctx):
        x = ins[0]
        keep = bool(attrs.get("keepdims", 1))
        if ctx.opset >= since:
            a = _opt(ins, 1)
            axes = _ints(a) if a is not None else []
        else:
            axes = attrs.get("axes", [])
        if not axes:
            if attrs.get("noop_with_empty_axes", 0) and ctx.opset >= since:
                return fn(x, None, keep, identity=True)
            axes = list(range(x.ndim))
        axes = sorted({_axis(a, x.ndim) for a in axes})
        return fn(x, axes, keep)

    return h


def _red(fn, post=None):
    def f(x, axes, keep, identity=False):
        if identity:
            return post(x) if post else x
        if x.ndim == 0:
            out = fn(x.reshape(1), [0], False)
            return post(out) if post else out
        out = fn(x, axes, keep)
        return post(out) if post else out

    return f


def _amax(x, axes, keep):
    if x.numel() == 0:
        shape = [1 if i in axes else s for i, s in enumerate(x.shape)]
        if not keep:
            shape = [s for i, s in enumerate(x.shape) if i not in axes]
        lo = -np.inf if _is_float(x) else np.iinfo(_np_dtype(x)).min
        return to_tensor(np.full(shape, lo, _np_dtype(x)))
    return ts.amax(x, axes, keep)


def _amin(x, axes, keep):
    if x.numel() == 0:
        shape = [1 if i in axes else s for i, s in enumerate(x.shape)]
        if not keep:
            shape = [s for i, s in enumerate(x.shape) if i not in axes]
        hi = np.inf if _is_float(x) else np.iinfo(_np_dtype(x)).max
        return to_tensor(np.full(shape, hi, _np_dtype(x)))
    return ts.amin(x, axes, keep)


def _prod(x, axes, keep):
    for a in sorted(axes, reverse=True):
        x = ts.prod(x, a, keepdim=keep)
    return x


def _lse(x, axes, keep):
    return ts.logsumexp(x, axes, keep)


HANDLERS["ReduceSum"] = _reduce(_red(lambda x, a, k: ts.sum(x, a, keepdim=k)), since=13)
HANDLERS["ReduceMean"] = _reduce(_red(lambda x, a, k: ts.mean(x, a, keepdim=k)))
HANDLERS["ReduceMax"] = _reduce(_red(_amax))
HANDLERS["ReduceMin"] = _reduce(_red(_amin))
HANDLERS["ReduceProd"] = _reduce(_red(_prod))
HANDLERS["ReduceSumSquare"] = _reduce(
    lambda x, a, k, identity=False: x * x if identity else ts.sum(x * x, a, keepdim=k)
)
HANDLERS["ReduceL1"] = _reduce(
    lambda x, a, k, identity=False: ts.abs(x) if identity else ts.sum(ts.abs(x), a, keepdim=k)
)
HANDLERS["ReduceL2"] = _reduce(
    lambda x, a, k, identity=False: ts.abs(x) if identity else ts.sqrt(ts.sum(x * x, a, keepdim=k))
)
HANDLERS["ReduceLogSum"] = _reduce(
    lambda x, a, k, identity=False: ts.log(x) if identity else ts.log(ts.sum(x, a, keepdim=k))
)
HANDLERS["ReduceLogSumExp"] = _reduce(lambda x, a, k, identity=False: x if identity else _lse_safe(x, a, k))


def _lse_safe(x, a, k):
    if not _is_float(x):
        return ts.log(ts.sum(ts.exp(x.to(ts.float64)), a, keepdim=k)).to(x.dtype)
    return ts.logsumexp(x, a, keepdim=k)


def _arg(fn):
    def h(ins, attrs, ctx):
        x = ins[0]
        axis = _axis(attrs.get("axis", 0), x.ndim)
        keep = bool(attrs.get("keepdims", 1))
        if attrs.get("select_last_index", 0):
            flipped = ts.flip(x, [axis])
            i = fn(flipped, axis, keepdim=keep)
            return (x.shape[axis] - 1) - i
        return fn(x, axis, keepdim=keep)

    return h


HANDLERS["ArgMax"] = _arg(ts.argmax)
HANDLERS["ArgMin"] = _arg(ts.argmin)


@op("CumSum")
def _cumsum(ins, attrs, ctx):
    x = ins[0]
    axis = _axis(int(_host(ins[1]).reshape(-1)[0]), x.ndim)
    if attrs.get("reverse", 0):
        x = ts.flip(x, [axis])
    y = ts.cumsum(x, axis)
    if attrs.get("exclusive", 0):
        y = y - x
    if attrs.get("reverse", 0):
        y = ts.flip(y, [axis])
    return y.to(ins[0].dtype)


@op("TopK")
def _topk(ins, attrs, ctx):
    x = ins[0]
    k = attrs["k"] if ctx.opset < 10 else int(_host(ins[1]).reshape(-1)[0])
    axis = _axis(attrs.get("axis", -1), x.ndim)
    largest = bool(attrs.get("largest", 1))
    # stable: ties broken by the lower index (ONNX); argsort on (value, index)
    xs = x if largest else -x
    order = ts.argsort(-xs, dim=axis, stable=True) if True else None
    idx = ts.narrow(order, axis, 0, k)
    return [ts.gather(x, axis, idx), idx]


# ------------------------------------------------------------------------------------------------- conv/pool
def _spatial_pads(x, attrs, kernel, strides, dilations, ceil=False):
    nd = len(kernel)
    pads = list(attrs.get("pads", [0] * (2 * nd)))
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * nd)
        for i in range(nd):
            d = x.shape[2 + i]
            out = -(-d // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - d)
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + nd] = lo, total - lo
    elif auto == "VALID":
        pads = [0] * (2 * nd)
    return pads


def _torch_pad(pads):
    nd = len(pads) // 2
    tp = []
    for i in reversed(range(nd)):
        tp += [pads[i], pads[i + nd]]
    return tp


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@op("Conv")
def _conv(ins, attrs, ctx):
    x, w = ins[0], ins[1]
    b = _opt(ins, 2)
    nd = w.ndim - 2
    kernel = attrs.get("kernel_shape", list(w.shape[2:]))
    strides = attrs.get("strides", [1] * nd)
    dil = attrs.get("dilations", [1] * nd)
    pads = _spatial_pads(x, attrs, kernel, strides, dil)
    sym = pads[:nd] == pads[nd:]
    if not sym:
        x = F.pad(x, _torch_pad(pads))
    return _CONV[nd](x, w, b, strides, pads[:nd] if sym else 0, dil, attrs.get("group", 1))


@op("ConvTranspose")
def _convt(ins, attrs, ctx):
    x, w = ins[0], ins[1]
    b = _opt(ins, 2)
    nd = w.ndim - 2
    g = attrs.get("group", 1)
    kernel = attrs.get("kernel_shape", list(w.shape[2:]))
    strides = attrs.get("strides", [1] * nd)
    dil = attrs.get("dilations", [1] * nd)
    outpad = list(attrs.get("output_padding", [0] * nd))
    pads = list(attrs.get("pads", [0] * (2 * nd)))
    auto = attrs.get("auto_pad", "NOTSET")
    in_sp = list(x.shape[2:])
    if "output_shape" in attrs or auto in ("SAME_UPPER", "SAME_LOWER"):
        if "output_shape" in attrs:
            out_sp = list(attrs["output_shape"])[-nd:]
        else:
            out_sp = [in_sp[i] * strides[i] for i in range(nd)]
        for i in range(nd):
            total = strides[i] * (in_sp[i] - 1) + outpad[i] + ((kernel[i] - 1) * dil[i] + 1) - out_sp[i]
            if total < 0:
                outpad[i] -= total
                total = 0
            if auto == "SAME_UPPER" or (auto != "SAME_LOWER" and "output_shape" in attrs):
                pads[i], pads[i + nd] = total // 2, total - total // 2
            else:
                pads[i], pads[i + nd] = total - total // 2, total // 2
    elif auto == "VALID":
        pads = [0] * (2 * nd)
    # full transposed conv (no padding), then crop begin/end pads and append output padding
    y = _CONVT[nd](x, w, b, strides, 0, 0, g, dil)
    index = [slice(None), slice(None)]
    for i in range(nd):
        full = y.shape[2 + i]
        index.append(slice(pads[i], full - pads[i + nd]))
    y = y[tuple(index)]
    extra = [v for i in range(nd) for v in ()]
    if any(outpad):
        tp = []
        for i in reversed(range(nd)):
            tp += [0, outpad[i]]
        zero_pad = F.pad(y, tp)
        if b is not None:
            bias = b.reshape(1, -1, *([1] * nd))
            mask = F.pad(ts.zeros_like(y), tp, "constant", 1.0)
            zero_pad = zero_pad + mask * bias
        y = zero_pad
    del extra
    return y


def _pool_common(x, attrs):
    kernel = list(attrs["kernel_shape"])
    nd = len(kernel)
    strides = list(attrs.get("strides", [1] * nd))
    dil = list(attrs.get("dilations", [1] * nd))
    pads = _spatial_pads(x, attrs, kernel, strides, dil)
    ceil = bool(attrs.get("ceil_mode", 0))
    return kernel, strides, dil, pads, ceil, nd


def _ceil_extra(x, kernel, strides, dil, pads, ceil, nd):
    """Extra end padding so that floor-mode pooling equals ONNX ceil mode."""
    extra = [0] * nd
    if not ceil:
        return extra
    for i in range(nd):
        d = x.shape[2 + i] + pads[i] + pads[i + nd]
        eff = (kernel[i] - 1) * dil[i] + 1
        out = -(-(d - eff) // strides[i]) + 1
        if (out - 1) * strides[i] >= x.shape[2 + i] + pads[i]:
            out -= 1
        need = (out - 1) * strides[i] + eff - d
        extra[i] = max(0, need)
    return extra


@op("MaxPool")
def _maxpool(ins, attrs, ctx):
    x = ins[0]
    kernel, strides, dil, pads, ceil, nd = _pool_common(x, attrs)
    extra = _ceil_extra(x, kernel, strides, dil, pads, ceil, nd)
    full = pads[:nd] + [pads[nd + i] + extra[i] for i in range(nd)]
    lo = -np.inf if _is_float(x) else np.iinfo(_np_dtype(x)).min
    xf = x if _is_float(x) else x.to(ts.float64)
    xp = F.pad(xf, _torch_pad(full), "constant", float(lo)) if any(full) else xf
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        y, idx = fn(xp, kernel, strides, 0, dil, False, True)
        # indices into padded input -> into original (row-major over N, C, spatial)
        sp_p = list(xp.shape[2:])
        coords = []
        rem = idx
        for i in reversed(range(nd)):
            coords.insert(0, rem % sp_p[i] - pads[i])
            rem = ts.div(rem, sp_p[i], rounding_mode="floor")
        sp = list(x.shape[2:])
        storage = attrs.get("storage_order", 0)
        lin = ts.zeros_like(idx)
        if storage == 0:
            for i in range(nd):
                lin = lin * sp[i] + coords[i]
        else:
            for i in reversed(range(nd)):
                lin = lin * sp[i] + coords[i]
        n, c = x.shape[0], x.shape[1]
        base = (ts.arange(n * c).reshape(n, c, *([1] * nd))) * int(np.prod(sp))
        return [y.to(x.dtype), lin + base]
    y = fn(xp, kernel, strides, 0, dil, False)
    return y.to(x.dtype)


@op("AveragePool")
def _avgpool(ins, attrs, ctx):
    x = ins[0]
    kernel, strides, dil, pads, ceil, nd = _pool_common(x, attrs)
    extra = _ceil_extra(x, kernel, strides, dil, pads, ceil, nd)
    include = bool(attrs.get("count_include_pad", 0))
    full = pads[:nd] + [pads[nd + i] + extra[i] for i in range(nd)]
    xp = F.pad(x, _torch_pad(full)) if any(full) else x
    ones = ts.ones(1, 1, *x.shape[2:], dtype=x.dtype)
    if include:
        ones = F.pad(ones, _torch_pad(pads), "constant", 1.0)
        ones = F.pad(ones, _torch_pad([0] * nd + extra)) if any(extra) else ones
    else:
        ones = F.pad(ones, _torch_pad(full)) if any(full) else ones
    s = _window_sum(xp, kernel, strides, dil, nd)
    cnt = _window_sum(ones, kernel, strides, dil, nd)
    return s / cnt


def _window_sum(x, kernel, strides, dil, nd):
    c = x.shape[1]
    w = ts.ones(c, 1, *kernel, dtype=x.dtype)
    return _CONV[nd](x, w, None, strides, 0, dil, c)


@op("LpPool")
def _lppool(ins, attrs, ctx):
    x = ins[0]
    kernel, strides, dil, pads, ceil, nd = _pool_common(x, attrs)
    p = attrs.get("p", 2)
    extra = _ceil_extra(x, kernel, strides, dil, pads, ceil, nd)
    full = pads[:nd] + [pads[nd + i] + extra[i] for i in range(nd)]
    xp = F.pad(x, _torch_pad(full)) if any(full) else x
    s = _window_sum(ts.abs(xp) ** p, kernel, strides, dil, nd)
    return s ** (1.0 / p)


@op("GlobalAveragePool")
def _gap(ins, attrs, ctx):
    x = ins[0]
    return ts.mean(x, list(range(2, x.ndim)), keepdim=True)


@op("GlobalMaxPool")
def _gmp(ins, attrs, ctx):
    x = ins[0]
    return ts.amax(x, list(range(2, x.ndim)), keepdim=True)


@op("GlobalLpPool")
def _glp(ins, attrs, ctx):
    x = ins[0]
    p = attrs.get("p", 2)
    return ts.sum(ts.abs(x) ** p, list(range(2, x.ndim)), keepdim=True) ** (1.0 / p)


# ---------------------------------------------------------------------------------------------- normalization
@op("BatchNormalization")
def _bn(ins, attrs, ctx):
    x, scale, bias, mean, var = ins[:5]
    eps = attrs.get("epsilon", 1e-5)
    shape = [1, -1] + [1] * (x.ndim - 2)
    training = attrs.get("training_mode", 0) and len(ctx.node.output) > 1
    if training:
        axes = [0] + list(range(2, x.ndim))
        bm = ts.mean(x, axes)
        bv = ts.mean((x - bm.reshape(*shape)) ** 2, axes)
        mom = attrs.get("momentum", 0.9)
        y = (x - bm.reshape(*shape)) / ts.sqrt(bv.reshape(*shape) + eps) * scale.reshape(
            *shape
        ) + bias.reshape(*shape)
        return [y, mean * mom + bm * (1 - mom), var * mom + bv * (1 - mom)]
    y = (x - mean.reshape(*shape)) / ts.sqrt(var.reshape(*shape) + eps)
    return y * scale.reshape(*shape) + bias.reshape(*shape)


@op("InstanceNormalization")
def _in(ins, attrs, ctx):
    x, scale, bias = ins
    eps = attrs.get("epsilon", 1e-5)
    axes = list(range(2, x.ndim))
    m = ts.mean(x, axes, keepdim=True)
    v = ts.mean((x - m) ** 2, axes, keepdim=True)
    shape = [1, -1] + [1] * (x.ndim - 2)
    return (x - m) / ts.sqrt(v + eps) * scale.reshape(*shape) + bias.reshape(*shape)


@op("LayerNormalization")
def _ln(ins, attrs, ctx):
    x, scale = ins[0], ins[1]
    b = _opt(ins, 2)
    axis = _axis(attrs.get("axis", -1), x.ndim)
    eps = attrs.get("epsilon", 1e-5)
    axes = list(range(axis, x.ndim))
    m = ts.mean(x, axes, keepdim=True)
    d = x - m
    v = ts.mean(d * d, axes, keepdim=True)
    inv = ts.rsqrt(v + eps)
    y = d * inv * scale
    if b is not None:
        y = y + b
    outs = [y]
    if len(ctx.node.output) > 1:
        outs += [m, inv]
    return outs


@op("GroupNormalization")
def _gn(ins, attrs, ctx):
    x, scale, bias = ins
    g = attrs["num_groups"]
    eps = attrs.get("epsilon", 1e-5)
    n, c = x.shape[0], x.shape[1]
    xg = x.reshape(n, g, -1)
    m = ts.mean(xg, [2], keepdim=True)
    v = ts.mean((xg - m) ** 2, [2], keepdim=True)
    y = ((xg - m) / ts.sqrt(v + eps)).reshape(*x.shape)
    shape = [1, -1] + [1] * (x.ndim - 2)
    if scale.shape[0] != c:
        scale = scale.repeat_interleave(c // g)
        bias = bias.repeat_interleave(c // g)
    return y * scale.reshape(*shape) + bias.reshape(*shape)


@op("LpNormalization")
def _lpn(ins, attrs, ctx):
    x = ins[0]
    axis = attrs.get("axis", -1)
    p = attrs.get("p", 2)
    if p == 1:
        n = ts.sum(ts.abs(x), axis, keepdim=True)
    else:
        n = ts.sqrt(ts.sum(x * x, axis, keepdim=True))
    return x / ts.where(n == 0, ts.ones_like(n), n)


@op("MeanVarianceNormalization")
def _mvn(ins, attrs, ctx):
    x = ins[0]
    axes = attrs.get("axes", [0, 2, 3])
    m = ts.mean(x, axes, keepdim=True)
    v = ts.mean((x - m) ** 2, axes, keepdim=True)
    return (x - m) / (ts.sqrt(v) + 1e-9)


@op("LRN")
def _lrn(ins, attrs, ctx):
    x = ins[0]
    size = attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    sq = x * x
    c = x.shape[1]
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    flat = sq.reshape(x.shape[0], 1, c, -1)
    padded = F.pad(flat, [0, 0, lo, hi])
    w = ts.ones(1, 1, size, 1, dtype=x.dtype)
    s = F.conv2d(padded, w).reshape(*x.shape)
    return x / (bias + alpha / size * s) ** beta


# ---------------------------------------------------------------------------------------------------- misc
@op("Upsample", "Resize")
def _resize(ins, attrs, ctx):
    x = ins[0]
    if ctx.node.op_type == "Upsample":
        scales = attrs.get("scales") if ctx.opset < 9 else _host(ins[1]).tolist()
        sizes = None
        roi = None
    else:
        if ctx.opset < 11:
            scales, sizes, roi = _host(ins[1]).tolist(), None, None
        else:
            roi = _opt(ins, 1)
            sc = _opt(ins, 2)
            sz = _opt(ins, 3)
            scales = _host(sc).tolist() if sc is not None and sc.numel() else None
            sizes = _ints(sz) if sz is not None and sz.numel() else None
    return _resize_impl(x, scales, sizes, attrs, ctx, roi)


def _resize_impl(x, scales, sizes, attrs, ctx, roi):
    r = x.ndim
    axes = attrs.get("axes")
    if axes is not None:
        axes = [_axis(a, r) for a in axes]
        if scales is not None:
            full = [1.0] * r
            for a, s in zip(axes, scales):
                full[a] = s
            scales = full
        if sizes is not None:
            full = list(x.shape)
            for a, s in zip(axes, sizes):
                full[a] = s
            sizes = full
    if sizes is not None:
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        in_sh = list(x.shape)
        check = axes if axes is not None else list(range(r))
        if policy != "stretch":
            ratios = [sizes[a] / in_sh[a] for a in check]
            s = min(ratios) if policy == "not_larger" else max(ratios)
            scales = [1.0] * r
            sizes = list(in_sh)
            for a in check:
                scales[a] = s
                sizes[a] = int(round(s * in_sh[a]))
        else:
            scales = [sizes[i] / in_sh[i] for i in range(r)]
    else:
        sizes = [int(math.floor(x.shape[i] * scales[i])) for i in range(r)]
    mode = attrs.get("mode", "nearest")
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel" if ctx.opset >= 11 else "asymmetric")
    if ctx.node.op_type == "Upsample" or ctx.opset < 11:
        ctm = "asymmetric"
        if mode in ("linear", "bilinear"):
            mode = "linear"
    nearest_mode = attrs.get("nearest_mode", "round_prefer_floor")
    if ctx.node.op_type == "Upsample" or ctx.opset < 11:
        nearest_mode = "floor"
    cubic_a = attrs.get("cubic_coeff_a", -0.75)
    exclude = attrs.get("exclude_outside", 0)
    extrap = attrs.get("extrapolation_value", 0.0)
    antialias = attrs.get("antialias", 0)
    roi_v = _host(roi).tolist() if roi is not None and roi.numel() else None
    if roi_v is not None and axes is not None:
        full = [0.0] * r + [1.0] * r
        for i, a in enumerate(axes):
            full[a], full[a + r] = roi_v[i], roi_v[i + len(axes)]
        roi_v = full
    y = x
    for d in range(r):
        if sizes[d] == x.shape[d] and scales[d] == 1.0 and ctm != "tf_crop_and_resize":
            continue
        y = _resize_axis(
            y, d, sizes[d], scales[d], mode, ctm, nearest_mode, cubic_a, exclude, extrap, roi_v, antialias
        )
    return y


def _src_coords(out_n, in_n, scale, ctm, roi, d, r):
    o = np.arange(out_n, dtype=np.float64)
    if ctm == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if ctm == "half_pixel_symmetric":
        adj = out_n / (scale * in_n)
        center = in_n / 2
        offset = center * (1 - adj)
        return offset + (o + 0.5) / scale - 0.5
    if ctm == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if out_n > 1 else np.full(out_n, -0.5)
    if ctm == "align_corners":
        out_w = scale * in_n  # the real-valued output width (onnx semantics)
        return o * (in_n - 1) / (out_w - 1) if out_w != 1 else np.zeros(out_n)
    if ctm == "asymmetric":
        return o / scale
    if ctm == "tf_half_pixel_for_nn":
        return (o + 0.5) / scale
    if ctm == "tf_crop_and_resize":
        s, e = roi[d], roi[d + r]
        if out_n > 1:
            return s * (in_n - 1) + o * (e - s) * (in_n - 1) / (out_n - 1)
        return np.full(out_n, 0.5 * (s + e) * (in_n - 1))
    raise ValueError(f"ts.onnx.load: Resize: unsupported coordinate_transformation_mode {ctm!r}")


def _antialias_weights(src, in_n, scale, mode, a, exclude):
    """Interpolation weights of an antialiased downsampling (the filter widened by 1 / scale)."""
    wmat = np.zeros((len(src), in_n))
    for o, x in enumerate(src):
        b = math.ceil(x) - 1
        ratio = x - b
        if mode == "linear":
            start = int(np.floor(-1 / scale) + 1)
            rel = np.arange(start, 2 - start)
            c = np.clip(1 - np.abs((rel - ratio) * scale), 0, 1)
        else:
            start = int(np.floor(-2 / scale) + 1)
            rel = np.arange(start, 2 - start)
            t = np.abs((rel - ratio) * scale)
            c = np.where(
                t <= 1,
                (a + 2) * t**3 - (a + 3) * t**2 + 1,
                np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0),
            )
        c = c / c.sum()
        idx = b + rel
        if exclude:
            c = np.where((idx < 0) | (idx >= in_n), 0.0, c)
            c = c / c.sum()
        np.add.at(wmat[o], np.clip(idx, 0, in_n - 1), c)
    return wmat


def _resize_axis(x, d, out_n, scale, mode, ctm, nearest_mode, cubic_a, exclude, extrap, roi, antialias=0):
    in_n = x.shape[d]
    r = x.ndim
    src = _src_coords(out_n, in_n, scale, ctm, roi, d, r)
    if mode == "nearest":
        if nearest_mode == "round_prefer_floor":
            idx = np.where(src - np.floor(src) == 0.5, np.floor(src), np.round(src))
        elif nearest_mode == "round_prefer_ceil":
            idx = np.where(src - np.floor(src) == 0.5, np.ceil(src), np.round(src))
        elif nearest_mode == "floor":
            idx = np.floor(src)
        else:
            idx = np.ceil(src)
        idx = np.clip(idx, 0, in_n - 1).astype(np.int64)
        wmat = np.zeros((out_n, in_n))
        wmat[np.arange(out_n), idx] = 1.0
    elif antialias and scale < 1 and mode in ("linear", "cubic"):
        wmat = _antialias_weights(src, in_n, scale, mode, cubic_a, exclude)
    elif mode == "linear":
        s = np.clip(src, 0, in_n - 1)
        lo = np.floor(s).astype(np.int64)
        hi = np.minimum(lo + 1, in_n - 1)
        f = s - lo
        wmat = np.zeros((out_n, in_n))
        np.add.at(wmat, (np.arange(out_n), lo), 1 - f)
        np.add.at(wmat, (np.arange(out_n), hi), f)
    else:  # cubic
        a = cubic_a
        wmat = np.zeros((out_n, in_n))
        for o in range(out_n):
            s = src[o]
            base = math.floor(s)
            t = s - base
            ws = []
            for k, dist in zip(range(-1, 3), [1 + t, t, 1 - t, 2 - t]):
                ad = abs(dist)
                if ad <= 1:
                    w = (a + 2) * ad**3 - (a + 3) * ad**2 + 1
                elif ad < 2:
                    w = a * ad**3 - 5 * a * ad**2 + 8 * a * ad - 4 * a
                else:
                    w = 0.0
                ws.append((base + k, w))
            if exclude:
                ws = [(i, w) for i, w in ws if 0 <= i < in_n]
                tot = sum(w for _, w in ws)
                ws = [(i, w / tot) for i, w in ws]
            for i, w in ws:
                wmat[o, min(max(i, 0), in_n - 1)] += w
    outside = None
    if ctm == "tf_crop_and_resize":
        outside = (src < 0) | (src > in_n - 1)
        wmat[outside] = 0.0
    xt = ts.movedim(x, d, -1)
    xf = xt if _is_float(xt) else xt.to(ts.float64)
    w = to_tensor(wmat.T.astype(_np_dtype(xf)))
    y = ts.matmul(xf, w)
    if outside is not None and outside.any():
        mask = to_tensor(outside)
        y = ts.where(mask, ts.full_like(y, extrap), y)
    if not _is_float(xt):
        y = ts.round(y).to(xt.dtype) if mode != "nearest" else y.to(xt.dtype)
    return ts.movedim(y, -1, d)


@op("If")
def _if(ins, attrs, ctx):
    cond = bool(_host(ins[0]).reshape(-1)[0])
    g = attrs["then_branch"] if cond else attrs["else_branch"]
    return ctx.run_subgraph(g, ctx.env, [])


@op("Loop")
def _loop(ins, attrs, ctx):
    body = attrs["body"]
    m = _opt(ins, 0)
    cond = _opt(ins, 1)
    trip = int(_host(m).reshape(-1)[0]) if m is not None else 2**62
    keep = bool(_host(cond).reshape(-1)[0]) if cond is not None else True
    carried = list(ins[2:])
    n_c = len(carried)
    scans: list = []
    i = 0
    while i < trip and keep:
        outs = ctx.run_subgraph(
            body, ctx.env, [to_tensor(np.array(i, np.int64)), to_tensor(np.array(keep)), *carried]
        )
        keep = bool(_host(outs[0]).reshape(-1)[0])
        carried = list(outs[1 : 1 + n_c])
        scans.append(outs[1 + n_c :])
        i += 1
    n_scan = len(body.output) - 1 - n_c
    stacked = []
    for j in range(n_scan):
        vals = [s[j] for s in scans]
        stacked.append(ts.stack(vals, 0) if vals else to_tensor(np.zeros((0,), np.float32)))
    return carried + stacked


@op("Scan")
def _scan(ins, attrs, ctx):
    body = attrs["body"]
    n_scan_in = attrs["num_scan_inputs"]
    if ctx.opset >= 9:
        n_state = len(ins) - n_scan_in
        return _scan_once(ins[:n_state], ins[n_state:], attrs, ctx, body)
    # opset 8: a leading batch axis on states and scan inputs (sequence_lens unsupported beyond full length)
    ins = ins[1:]
    n_state = len(ins) - n_scan_in
    per_batch = []
    for b in range(ins[0].shape[0]):
        per_batch.append(
            _scan_once([t[b] for t in ins[:n_state]], [t[b] for t in ins[n_state:]], attrs, ctx, body)
        )
    return [ts.stack([r[k] for r in per_batch], 0) for k in range(len(per_batch[0]))]


def _scan_once(state, xs, attrs, ctx, body):
    state = list(state)
    n_state, n_scan_in = len(state), len(xs)
    in_axes = attrs.get("scan_input_axes", [0] * n_scan_in)
    in_dirs = attrs.get("scan_input_directions", attrs.get("directions", [0] * n_scan_in))
    n_out = len(body.output) - n_state
    out_axes = attrs.get("scan_output_axes", [0] * n_out)
    out_dirs = attrs.get("scan_output_directions", [0] * n_out)
    T = xs[0].shape[_axis(in_axes[0], xs[0].ndim)]
    outs_t: list = [[] for _ in range(n_out)]
    for t in range(T):
        slices = []
        for x, a, dr in zip(xs, in_axes, in_dirs):
            a = _axis(a, x.ndim)
            slices.append(ts.select(x, a, T - 1 - t if dr else t))
        res = ctx.run_subgraph(body, ctx.env, [*state, *slices])
        state = list(res[:n_state])
        for j, v in enumerate(res[n_state:]):
            outs_t[j].append(v)
    scan_outs = []
    for j in range(n_out):
        vals = outs_t[j][::-1] if out_dirs[j] else outs_t[j]
        y = ts.stack(vals, 0)
        a = _axis(out_axes[j], y.ndim)
        scan_outs.append(ts.movedim(y, 0, a))
    return state + scan_outs


# ---------------------------------------------------------------------------------------------------- RNNs
_ACTS = {
    "Sigmoid": ts.sigmoid, "Tanh": ts.tanh, "Relu": ts.relu,
}  # fmt: skip


def _act(name, alpha=None, beta=None):
    if name in _ACTS:
        return _ACTS[name]
    if name == "Affine":
        return lambda x: x * alpha + beta
    if name == "LeakyRelu":
        return lambda x: F.leaky_relu(x, alpha)
    if name == "HardSigmoid":
        return lambda x: ts.clamp(x * alpha + beta, 0.0, 1.0)
    if name == "ScaledTanh":
        return lambda x: alpha * ts.tanh(beta * x)
    if name == "Elu":
        return lambda x: F.elu(x, alpha)
    if name == "Softsign":
        return F.softsign
    if name == "Softplus":
        return F.softplus
    raise ValueError(f"ts.onnx.load: RNN activation {name!r} is not supported")


def _rnn_common(ins, attrs, ctx, gates, default_acts):
    x, w, r = ins[0], ins[1], ins[2]
    b = _opt(ins, 3)
    seq_lens = _opt(ins, 4)
    h0 = _opt(ins, 5)
    layout = attrs.get("layout", 0)
    if layout:
        x = x.transpose(0, 1)
        if h0 is not None:
            h0 = h0.transpose(0, 1)
    direction = attrs.get("direction", "forward")
    ndir = 2 if direction == "bidirectional" else 1
    hidden = attrs.get("hidden_size", r.shape[-1])
    acts = attrs.get("activations", default_acts * ndir)
    alphas = list(attrs.get("activation_alpha", []))
    betas = list(attrs.get("activation_beta", []))
    per = len(default_acts)
    fns = []
    for i, a in enumerate(acts):
        al = alphas[i] if i < len(alphas) else {"LeakyRelu": 0.01, "HardSigmoid": 0.2}.get(a, 1.0)
        be = betas[i] if i < len(betas) else {"HardSigmoid": 0.5}.get(a, 0.0)
        fns.append(_act(a, al, be))
    T, B = x.shape[0], x.shape[1]
    if b is None:
        b = ts.zeros(ndir, 2 * gates * hidden, dtype=x.dtype)
    if h0 is None:
        h0 = ts.zeros(ndir, B, hidden, dtype=x.dtype)
    lens = _ints(seq_lens) if seq_lens is not None else None
    return x, w, r, b, h0, layout, direction, ndir, hidden, fns, per, T, B, lens


def _run_dirs(x, ndir, direction, T, B, lens, step, states0):
    ys, finals = [], []
    for d in range(ndir):
        rev = direction == "reverse" or d == 1
        state = [s[d] for s in states0]
        outs = [None] * T
        for t in range(T):
            tt = T - 1 - t if rev else t
            new = step(d, x[tt], state)
            if lens is not None:
                mask = to_tensor(np.array([tt < ln for ln in lens]).reshape(B, 1))
                new = [ts.where(mask, n, s) for n, s in zip(new, state)]
                outs[tt] = ts.where(mask, new[0], ts.zeros_like(new[0]))
            else:
                outs[tt] = new[0]
            state = new
        ys.append(ts.stack(outs, 0))
        finals.append(state)
    y = ts.stack(ys, 1)  # T, ndir, B, H
    return y, finals


def _rnn_outputs(y, finals, layout, n_states):
    outs = [y.permute(2, 0, 1, 3) if layout else y]
    for k in range(n_states):
        s = ts.stack([f[k] for f in finals], 0)
        outs.append(s.transpose(0, 1) if layout else s)
    return outs


@op("RNN")
def _rnn(ins, attrs, ctx):
    x, w, r, b, h0, layout, direction, ndir, H, fns, per, T, B, lens = _rnn_common(
        ins, attrs, ctx, 1, ["Tanh"]
    )
    clip = attrs.get("clip")

    def step(d, xt, state):
        (h,) = state
        z = ts.matmul(xt, w[d].transpose(0, 1)) + ts.matmul(h, r[d].transpose(0, 1)) + b[d, :H] + b[d, H:]
        if clip is not None:
            z = ts.clamp(z, -clip, clip)
        return [fns[d * per](z)]

    y, finals = _run_dirs(x, ndir, direction, T, B, lens, step, [h0])
    return _rnn_outputs(y, finals, layout, 1)


@op("GRU")
def _gru(ins, attrs, ctx):
    x, w, r, b, h0, layout, direction, ndir, H, fns, per, T, B, lens = _rnn_common(
        ins, attrs, ctx, 3, ["Sigmoid", "Tanh"]
    )
    lbr = attrs.get("linear_before_reset", 0)
    clip = attrs.get("clip")

    def cl(z):
        return ts.clamp(z, -clip, clip) if clip is not None else z

    def step(d, xt, state):
        (h,) = state
        f, g = fns[d * per], fns[d * per + 1]
        wz, wr, wh = w[d, :H], w[d, H : 2 * H], w[d, 2 * H :]
        rz, rr, rh = r[d, :H], r[d, H : 2 * H], r[d, 2 * H :]
        bw, br = b[d, : 3 * H], b[d, 3 * H :]
        z = f(cl(ts.matmul(xt, wz.T) + ts.matmul(h, rz.T) + bw[:H] + br[:H]))
        rg = f(cl(ts.matmul(xt, wr.T) + ts.matmul(h, rr.T) + bw[H : 2 * H] + br[H : 2 * H]))
        if lbr:
            hh = g(cl(ts.matmul(xt, wh.T) + rg * (ts.matmul(h, rh.T) + br[2 * H :]) + bw[2 * H :]))
        else:
            hh = g(cl(ts.matmul(xt, wh.T) + ts.matmul(rg * h, rh.T) + br[2 * H :] + bw[2 * H :]))
        return [(1 - z) * hh + z * h]

    y, finals = _run_dirs(x, ndir, direction, T, B, lens, step, [h0])
    return _rnn_outputs(y, finals, layout, 1)


@op("LSTM")
def _lstm(ins, attrs, ctx):
    x, w, r, b, h0, layout, direction, ndir, H, fns, per, T, B, lens = _rnn_common(
        ins, attrs, ctx, 4, ["Sigmoid", "Tanh", "Tanh"]
    )
    c0 = _opt(ins, 6)
    if c0 is None:
        c0 = ts.zeros(ndir, B, H, dtype=x.dtype)
    elif layout:
        c0 = c0.transpose(0, 1)
    pw = _opt(ins, 7)
    if pw is None:
        pw = ts.zeros(ndir, 3 * H, dtype=x.dtype)
    clip = attrs.get("clip")
    coupled = attrs.get("input_forget", 0)

    def cl(z):
        return ts.clamp(z, -clip, clip) if clip is not None else z

    def step(d, xt, state):
        h, c = state
        f, g, hf = fns[d * per], fns[d * per + 1], fns[d * per + 2]
        z = ts.matmul(xt, w[d].T) + ts.matmul(h, r[d].T) + b[d, : 4 * H] + b[d, 4 * H :]
        zi, zo, zf, zc = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        pi, po, pf = pw[d, :H], pw[d, H : 2 * H], pw[d, 2 * H :]
        i = f(cl(zi + pi * c))
        fg = 1 - i if coupled else f(cl(zf + pf * c))
        ct = g(cl(zc))
        c2 = fg * c + i * ct
        o = f(cl(zo + po * c2))
        return [o * hf(c2), c2]

    y, finals = _run_dirs(x, ndir, direction, T, B, lens, step, [h0, c0])
    return _rnn_outputs(y, finals, layout, 2)
