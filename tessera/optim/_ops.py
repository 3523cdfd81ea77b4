"""The optimizers' fused update ops: one registry op per optimizer, updating parameter and state in place.

Each op ``mutates`` the parameter and its state buffers (so an interceptor sees the whole update, and
versions are bumped), and reads every hyperparameter that a schedule may change (``lr``, betas, the step
count...) from 0-d tensor inputs, so a captured step reads them instead of baking them in. Static choices
(``amsgrad``, ``nesterov``, ``maximize``...) are attributes. The NumPy forwards are the update rules PyTorch
uses, written with ``out=`` into reused work arrays.
"""

from __future__ import annotations

import threading

import numpy as np

from ..core.dispatch import OpDef, TensorMeta

__all__ = ["SGD_STEP", "ADAM_STEP", "RMSPROP_STEP", "ADAGRAD_STEP"]

_LOCAL = threading.local()


def _scratch(like: np.ndarray, n: int) -> list:
    """``n`` work arrays shaped like ``like``, reused across steps (per thread, per shape and dtype)."""
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    key = (like.shape, like.dtype.str)
    w = cache.get(key)
    if w is None or len(w) < n:
        if len(cache) > 256:
            cache.clear()
        w = cache[key] = [np.empty_like(like, order="C") for _ in range(n)]
    return w


def _effective_grad(g, d, weight_decay: float, maximize: bool, out):
    """``(-g if maximize else g) + weight_decay * d`` as PyTorch computes it, written into ``out`` when a
    new array is needed; returns ``g`` itself when there is nothing to do."""
    if weight_decay != 0:
        np.multiply(d, weight_decay, out=out)
        if maximize:
            np.subtract(out, g, out=out)
        else:
            np.add(g, out, out=out)
        return out
    if maximize:
        np.negative(g, out=out)
        return out
    return g


def _lerp_(a, b, weight: float, tmp) -> None:
    """``a.lerp_(b, weight)`` with PyTorch's formula (exact at both ends)."""
    np.subtract(b, a, out=tmp)
    if weight < 0.5:
        np.multiply(tmp, weight, out=tmp)
        np.add(a, tmp, out=a)
    else:
        np.multiply(tmp, 1.0 - weight, out=tmp)
        np.subtract(b, tmp, out=a)


def _param_meta(param, *args, **attrs):
    return TensorMeta(param.shape, param.dtype)


def _sgd_step(d, g, buf, lr, momentum, dampening, weight_decay, *, nesterov, maximize, first):
    lr, momentum, dampening, wd = float(lr), float(momentum), float(dampening), float(weight_decay)
    tmp = _scratch(d, 2)
    g = _effective_grad(g, d, wd, maximize, tmp[0])
    if buf is not None:
        if first:
            np.copyto(buf, g)
        else:
            np.multiply(buf, momentum, out=buf)
            if dampening == 0:
                np.add(buf, g, out=buf)
            else:
                np.multiply(g, 1 - dampening, out=tmp[1])
                np.add(buf, tmp[1], out=buf)
        if nesterov:
            np.multiply(buf, momentum, out=tmp[1])
            np.add(g, tmp[1], out=tmp[1])
            g = tmp[1]
        else:
            g = buf
    np.multiply(g, -lr, out=tmp[1])
    np.add(d, tmp[1], out=d)


SGD_STEP = OpDef("sgd_step", _sgd_step, mutates=(0, 2), shape_rule=_param_meta)


@SGD_STEP.deflowering("c_update")
def _sgd_step_c(c, d, g, buf, lr, momentum, dampening, weight_decay, *, nesterov, maximize, first):
    """``_sgd_step`` as one loop: the same operations in the same order and precision (hyperparameters are
    rounded to the parameter's type as NumPy rounds Python floats)."""
    if not c.is_float:
        return None
    t = c.t
    prologue = [
        f"const double lr_ = {lr}, mom_ = {momentum}, damp_ = {dampening}, wd_ = {weight_decay};",
        f"const {t} nlr = ({t})(-lr_), mom = ({t})mom_, wd = ({t})wd_, keep = ({t})(1.0 - damp_);",
        "const int has_wd = wd_ != 0, plain = damp_ == 0;",
    ]
    decayed = f"(wd * {d}) - {g}" if maximize else f"{g} + (wd * {d})"
    eff = f"(has_wd ? ({decayed}) : {'-' + g if maximize else g})"
    body = [f"{t} ge = {eff};"]
    if buf is not None:
        if first:
            body.append(f"{t} b = ge;")
        else:
            body.append(f"{t} b = {buf} * mom;")
            body.append("b = plain ? b + ge : b + ge * keep;")
        body.append(f"{buf} = b;")
        body.append(f"{t} step = {'ge + b * mom' if nesterov else 'b'};")
    else:
        body.append(f"{t} step = ge;")
    body.append(f"{d} = {d} + step * nlr;")
    return prologue, body


def _adam_step(d, g, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay, *, amsgrad, maximize, decoupled):
    step += 1
    t = float(step)
    lr, beta1, beta2, eps, wd = float(lr), float(beta1), float(beta2), float(eps), float(weight_decay)
    tmp = _scratch(d, 2)
    s = tmp[1]
    if wd != 0 and decoupled:
        np.multiply(d, 1 - lr * wd, out=d)
    g = _effective_grad(g, d, 0 if decoupled else wd, maximize, tmp[0])
    _lerp_(m, g, 1 - beta1, s)
    np.multiply(v, beta2, out=v)
    np.multiply(g, g, out=s)
    np.multiply(s, 1 - beta2, out=s)
    np.add(v, s, out=v)
    step_size = lr / (1 - beta1**t)
    bias_correction2_sqrt = (1 - beta2**t) ** 0.5
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        v = vmax
    np.sqrt(v, out=s)
    np.divide(s, bias_correction2_sqrt, out=s)
    np.add(s, eps, out=s)
    # p.addcdiv_(m, denom, value=-step_size): p + (-step_size * m) / denom
    np.divide(m, s, out=s)
    np.multiply(s, -step_size, out=s)
    np.add(d, s, out=d)


ADAM_STEP = OpDef("adam_step", _adam_step, mutates=(0, 2, 3, 4, 5), shape_rule=_param_meta)


@ADAM_STEP.deflowering("c_update")
def _adam_step_c(
    c, d, g, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay, *, amsgrad, maximize, decoupled
):
    """``_adam_step`` as one loop, operation for operation: the scalars are computed in double as Python
    computes them (``pow`` for ``**``) and rounded to the parameter's type where NumPy rounds them."""
    if not c.is_float:
        return None
    t = c.t
    prologue = [
        f"{step} = {step} + 1;",
        f"const double t_ = (double){step}, lr_ = {lr}, b1_ = {beta1}, b2_ = {beta2}, wd_ = {weight_decay};",
        "const double w1_ = 1.0 - b1_;",
        "const int has_wd = wd_ != 0, lerp_lo = w1_ < 0.5;",
        f"const {t} decay = ({t})(1.0 - lr_ * wd_), wd = ({t})wd_, lw = ({t})(lerp_lo ? w1_ : 1.0 - w1_);",
        f"const {t} b2 = ({t})b2_, ob2 = ({t})(1.0 - b2_), eps = ({t}){eps};",
        f"const {t} bc2 = ({t})pow(1.0 - pow(b2_, t_), 0.5), nss = ({t})(-(lr_ / (1.0 - pow(b1_, t_))));",
    ]
    neg = f"(-{g})" if maximize else g
    body = [f"{t} dd = {d};"]
    if decoupled:
        body += ["if (has_wd) dd = dd * decay;", f"{t} ge = {neg};"]
    else:
        decayed = f"(dd * wd) - {g}" if maximize else f"{g} + (dd * wd)"
        body.append(f"{t} ge = has_wd ? ({decayed}) : {neg};")
    body += [
        f"{t} mm = {m}, tmp = ge - mm;",
        "mm = lerp_lo ? mm + tmp * lw : ge - tmp * lw;",
        f"{m} = mm;",
        f"{t} vv = {v} * b2, s = ge * ge;",
        "s = s * ob2;",
        "vv = vv + s;",
        f"{v} = vv;",
    ]
    if amsgrad:
        body += [f"{t} vm = ({vmax} != {vmax} || {vmax} > vv) ? {vmax} : vv;", f"{vmax} = vm;", "vv = vm;"]
    body += [f"s = {c.fn('sqrt')}(vv);", "s = s / bc2;", "s = s + eps;", "s = mm / s;", "s = s * nss;"]
    body.append(f"{d} = dd + s;")
    return prologue, body


def _rmsprop_step(d, g, v, buf, ga, step, lr, alpha, eps, weight_decay, momentum, *, centered, maximize):
    step += 1
    lr, alpha, eps, wd, momentum = float(lr), float(alpha), float(eps), float(weight_decay), float(momentum)
    tmp = _scratch(d, 3)
    g = _effective_grad(g, d, wd, maximize, tmp[0])
    s, avg = tmp[1], tmp[2]
    np.multiply(v, alpha, out=v)
    np.multiply(g, g, out=s)
    np.multiply(s, 1 - alpha, out=s)
    np.add(v, s, out=v)
    if centered:
        _lerp_(ga, g, 1 - alpha, s)
        np.multiply(ga, ga, out=s)
        np.subtract(v, s, out=avg)
        np.sqrt(avg, out=avg)
    else:
        np.sqrt(v, out=avg)
    np.add(avg, eps, out=avg)
    np.divide(g, avg, out=s)
    if buf is not None:
        np.multiply(buf, momentum, out=buf)
        np.add(buf, s, out=buf)
        np.multiply(buf, -lr, out=s)
    else:
        np.multiply(s, -lr, out=s)
    np.add(d, s, out=d)


RMSPROP_STEP = OpDef("rmsprop_step", _rmsprop_step, mutates=(0, 2, 3, 4, 5), shape_rule=_param_meta)


def _adagrad_step(d, g, acc, step, lr, lr_decay, eps, weight_decay, *, maximize):
    step += 1
    lr, lr_decay, eps, wd = float(lr), float(lr_decay), float(eps), float(weight_decay)
    tmp = _scratch(d, 2)
    g = _effective_grad(g, d, wd, maximize, tmp[0])
    s = tmp[1]
    clr = lr / (1 + (float(step) - 1) * lr_decay)
    np.multiply(g, g, out=s)
    np.add(acc, s, out=acc)
    np.sqrt(acc, out=s)
    np.add(s, eps, out=s)
    np.divide(g, s, out=s)
    np.multiply(s, -clr, out=s)
    np.add(d, s, out=d)


ADAGRAD_STEP = OpDef("adagrad_step", _adagrad_step, mutates=(0, 2, 3), shape_rule=_param_meta)
