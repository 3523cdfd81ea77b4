"""The fused update ops of Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, Adafactor, SparseAdam and Muon.

As in ``_ops``: one registry op per optimizer, ``mutates`` naming the parameter and the state it writes,
every hyperparameter a schedule may change read from a 0-d tensor input, static choices as attributes.
Each NumPy forward follows the operations of PyTorch's single-tensor (CPU) update in the same order, so
that float64 trajectories agree to rounding and float32 ones to a few ulps.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError
from ._ops import _effective_grad, _lerp_, _param_meta, _scratch

__all__ = [
    "ADADELTA_STEP",
    "ADAMAX_STEP",
    "NADAM_STEP",
    "RADAM_STEP",
    "ASGD_STEP",
    "RPROP_STEP",
    "ADAFACTOR_STEP",
    "SPARSE_ADAM_STEP",
    "MUON_STEP",
]


def _addcmul_(acc, a, b, value: float, tmp) -> None:
    """``acc.addcmul_(a, b, value=value)`` as PyTorch's CPU kernel computes it: ``acc + value * a * b``."""
    np.multiply(a, value, out=tmp)
    np.multiply(tmp, b, out=tmp)
    np.add(acc, tmp, out=acc)


def _addcdiv_(acc, a, b, value: float, tmp) -> None:
    """``acc.addcdiv_(a, b, value=value)`` as PyTorch's CPU kernel computes it: ``acc + value * a / b``."""
    np.multiply(a, value, out=tmp)
    np.divide(tmp, b, out=tmp)
    np.add(acc, tmp, out=acc)


def _decay(d, g, wd: float, decoupled: bool, lr: float, maximize: bool, out):
    """The weight decay of NAdam/RAdam: ``p *= 1 - lr * wd`` (decoupled) or ``g + wd * p``."""
    if wd != 0 and decoupled:
        np.multiply(d, 1 - lr * wd, out=d)
        wd = 0.0
    return _effective_grad(g, d, wd, maximize, out)


# -- Adadelta ----------------------------------------------------------------------------------------------
def _adadelta_step(d, g, square_avg, acc_delta, step, lr, rho, eps, weight_decay, *, maximize):
    step += 1
    lr, rho, eps, wd = float(lr), float(rho), float(eps), float(weight_decay)
    tmp = _scratch(d, 3)
    g = _effective_grad(g, d, wd, maximize, tmp[0])
    std, delta = tmp[1], tmp[2]
    np.multiply(square_avg, rho, out=square_avg)
    _addcmul_(square_avg, g, g, 1 - rho, std)
    np.add(square_avg, eps, out=std)
    np.sqrt(std, out=std)
    np.add(acc_delta, eps, out=delta)
    np.sqrt(delta, out=delta)
    np.divide(delta, std, out=delta)
    np.multiply(delta, g, out=delta)
    np.multiply(acc_delta, rho, out=acc_delta)
    _addcmul_(acc_delta, delta, delta, 1 - rho, std)
    np.multiply(delta, -lr, out=delta)
    np.add(d, delta, out=d)


ADADELTA_STEP = OpDef("adadelta_step", _adadelta_step, mutates=(0, 2, 3, 4), shape_rule=_param_meta)


# -- Adamax ------------------------------------------------------------------------------------------------
def _adamax_step(d, g, exp_avg, exp_inf, step, lr, beta1, beta2, eps, weight_decay, *, maximize):
    step += 1
    t = float(step)
    lr, beta1, beta2, eps, wd = float(lr), float(beta1), float(beta2), float(eps), float(weight_decay)
    tmp = _scratch(d, 2)
    g = _effective_grad(g, d, wd, maximize, tmp[0])
    _lerp_(exp_avg, g, 1 - beta1, tmp[1])
    np.multiply(exp_inf, beta2, out=exp_inf)
    np.abs(g, out=tmp[1])
    np.add(tmp[1], eps, out=tmp[1])
    np.maximum(exp_inf, tmp[1], out=exp_inf)
    clr = lr / (1 - beta1**t)
    _addcdiv_(d, exp_avg, exp_inf, -clr, tmp[1])


ADAMAX_STEP = OpDef("adamax_step", _adamax_step, mutates=(0, 2, 3, 4), shape_rule=_param_meta)


# -- NAdam -------------------------------------------------------------------------------------------------
def _nadam_step(
    d, g, exp_avg, exp_avg_sq, mu_product, step, lr, beta1, beta2, eps, weight_decay, momentum_decay, *,
    maximize, decoupled,
):  # fmt: skip
    step += 1
    t = float(step)
    lr, beta1, beta2, eps = float(lr), float(beta1), float(beta2), float(eps)
    wd, md = float(weight_decay), float(momentum_decay)
    tmp = _scratch(d, 3)
    bias_correction2 = 1 - beta2**t
    g = _decay(d, g, wd, decoupled, lr, maximize, tmp[0])
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * md)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * md)))
    np.multiply(mu_product, mu, out=mu_product)  # in the state's own precision, as PyTorch's 0-d tensor
    s, denom = tmp[1], tmp[2]
    _lerp_(exp_avg, g, 1 - beta1, s)
    np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
    _addcmul_(exp_avg_sq, g, g, 1 - beta2, s)
    np.divide(exp_avg_sq, bias_correction2, out=denom)
    np.sqrt(denom, out=denom)
    np.add(denom, eps, out=denom)
    mp = float(mu_product)
    mu_product_next = mp * mu_next
    _addcdiv_(d, g, denom, -lr * (1.0 - mu) / (1.0 - mp), s)
    _addcdiv_(d, exp_avg, denom, (-lr * mu_next) / (1.0 - mu_product_next), s)


NADAM_STEP = OpDef("nadam_step", _nadam_step, mutates=(0, 2, 3, 4, 5), shape_rule=_param_meta)


# -- RAdam -------------------------------------------------------------------------------------------------
def _radam_step(d, g, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, *, maximize, decoupled):
    step += 1
    t = float(step)
    lr, beta1, beta2, eps, wd = float(lr), float(beta1), float(beta2), float(eps), float(weight_decay)
    tmp = _scratch(d, 3)
    g = _decay(d, g, wd, decoupled, lr, maximize, tmp[0])
    s, upd = tmp[1], tmp[2]
    _lerp_(exp_avg, g, 1 - beta1, s)
    np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
    _addcmul_(exp_avg_sq, g, g, 1 - beta2, s)
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    np.divide(exp_avg, bias_correction1, out=upd)  # the bias-corrected first moment
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
    np.multiply(upd, lr, out=upd)
    if rho_t > 5.0:
        np.sqrt(exp_avg_sq, out=s)
        np.add(s, eps, out=s)
        np.divide(bias_correction2**0.5, s, out=s)  # the adaptive learning rate
        np.multiply(upd, s, out=upd)
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        np.multiply(upd, rect, out=upd)
    np.subtract(d, upd, out=d)


RADAM_STEP = OpDef("radam_step", _radam_step, mutates=(0, 2, 3, 4), shape_rule=_param_meta)


# -- ASGD --------------------------------------------------------------------------------------------------
def _asgd_step(d, g, ax, eta, mu, step, lr, lambd, alpha, t0, weight_decay, *, maximize):
    step += 1
    lr, lambd, alpha, t0, wd = float(lr), float(lambd), float(alpha), float(t0), float(weight_decay)
    tmp = _scratch(d, 2)
    g = _effective_grad(g, d, wd, maximize, tmp[0])
    eta_value = float(eta)
    np.multiply(d, 1 - lambd * eta_value, out=d)  # decay term
    np.multiply(g, -eta_value, out=tmp[1])
    np.add(d, tmp[1], out=d)
    mu_value = float(mu)
    if mu_value != 1:
        np.subtract(d, ax, out=tmp[1])
        np.multiply(tmp[1], mu_value, out=tmp[1])
        np.add(ax, tmp[1], out=ax)
    else:
        np.copyto(ax, d)
    t = float(step)
    eta[...] = lr / ((1 + lambd * lr * t) ** alpha)
    mu[...] = 1 / max(1, t - t0)


ASGD_STEP = OpDef("asgd_step", _asgd_step, mutates=(0, 2, 3, 4, 5), shape_rule=_param_meta)


# -- Rprop -------------------------------------------------------------------------------------------------
def _rprop_step(d, g, prev, step_size, step, etaminus, etaplus, step_size_min, step_size_max, *, maximize):
    step += 1
    etaminus, etaplus = float(etaminus), float(etaplus)
    tmp = _scratch(d, 2)
    sign, gc = tmp[0], tmp[1]
    if maximize:
        np.negative(g, out=gc)
    else:
        np.copyto(gc, g)
    np.multiply(gc, prev, out=sign)
    np.sign(sign, out=sign)
    sign[sign > 0] = etaplus
    sign[sign < 0] = etaminus
    sign[sign == 0] = 1
    np.multiply(step_size, sign, out=step_size)
    np.clip(step_size, float(step_size_min), float(step_size_max), out=step_size)
    gc[sign == np.asarray(etaminus, dtype=d.dtype)] = 0
    np.sign(gc, out=sign)
    np.multiply(sign, -1.0, out=sign)
    np.multiply(sign, step_size, out=sign)
    np.add(d, sign, out=d)
    np.copyto(prev, gc)


RPROP_STEP = OpDef("rprop_step", _rprop_step, mutates=(0, 2, 3, 4), shape_rule=_param_meta)


# -- Adafactor ---------------------------------------------------------------------------------------------
def _norm(a, axis=None):
    return np.sqrt(np.sum(np.multiply(a, a), axis=axis, keepdims=axis is not None))


def _adafactor_step(
    d, g, row_var, col_var, variance, step, lr, beta2_decay, eps1, eps2, clip, weight_decay, *,
    maximize, eps1_default,
):  # fmt: skip
    lr, beta2_decay, eps2, clip, wd = (
        float(lr),
        float(beta2_decay),
        float(eps2),
        float(clip),
        float(weight_decay),
    )
    eps1 = _dt.finfo(_dt.as_dtype(d.dtype)).eps if eps1_default else float(eps1)  # bfloat16 too
    if maximize:
        g = np.negative(g)
    step += 1
    t = float(step)
    one_minus_beta2_t = t**beta2_decay
    rho_t = min(lr, 1 / (t**0.5))
    alpha = max(eps2, float(_norm(d)) / (d.size**0.5)) * rho_t
    if wd != 0:
        np.multiply(d, 1 - lr * wd, out=d)
    tmp = _scratch(d, 1)
    if g.ndim > 1:
        row_mean = np.square(_norm(g, -1)) / g.shape[-1]
        _lerp_(row_var, row_mean.astype(d.dtype, copy=False), one_minus_beta2_t, np.empty_like(row_var))
        col_mean = np.square(_norm(g, -2)) / g.shape[-2]
        _lerp_(col_var, col_mean.astype(d.dtype, copy=False), one_minus_beta2_t, np.empty_like(col_var))
        var_estimate = np.matmul(row_var, col_var)
        floor = np.maximum(np.mean(row_var, axis=-2, keepdims=True), np.asarray(eps1, dtype=d.dtype))
        np.divide(var_estimate, floor, out=var_estimate)
    else:
        np.multiply(g, g, out=tmp[0])
        _lerp_(variance, tmp[0], one_minus_beta2_t, np.empty_like(variance))
        var_estimate = variance.copy()
    update = np.maximum(var_estimate, np.asarray(eps1 * eps1, dtype=d.dtype))
    np.sqrt(update, out=update)
    np.divide(np.asarray(1, dtype=d.dtype), update, out=update)
    np.multiply(update, g, out=update)
    denom = max(1.0, float(_norm(update)) / ((update.size**0.5) * clip))
    np.multiply(update, -alpha / denom, out=update)
    np.add(d, update, out=d)


def _adafactor_shape(d, *args, **attrs):
    return _param_meta(d)


ADAFACTOR_STEP = OpDef(
    "adafactor_step", _adafactor_step, mutates=(0, 2, 3, 4, 5), shape_rule=_adafactor_shape
)


# -- SparseAdam --------------------------------------------------------------------------------------------
def _sparse_adam_step(d, indices, values, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, *, maximize):
    """The masked Adam update of a coalesced COO gradient (``indices``: sparse_dim x nnz, ``values``: nnz x
    dense dims): the moments and the parameter change only where the gradient has an entry."""
    if values.shape[0] == 0:
        return
    t = float(step)  # the step count, already advanced (a Python int in PyTorch's state)
    lr, beta1, beta2, eps = float(lr), float(beta1), float(beta2), float(eps)
    if maximize:
        values = np.negative(values)
    where = tuple(indices)
    old_exp_avg = exp_avg[where]
    exp_avg_update = (values - old_exp_avg) * (1 - beta1)
    exp_avg[where] += exp_avg_update
    old_exp_avg_sq = exp_avg_sq[where]
    exp_avg_sq_update = (values**2 - old_exp_avg_sq) * (1 - beta2)
    exp_avg_sq[where] += exp_avg_sq_update
    numer = exp_avg_update + old_exp_avg
    denom = np.sqrt(exp_avg_sq_update + old_exp_avg_sq) + eps
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = lr * math.sqrt(bias_correction2) / bias_correction1
    d[where] += -step_size * (numer / denom)


def _sparse_adam_shape(d, indices, values, *args, **attrs):
    ishape, vshape, pshape = tuple(indices.shape), tuple(values.shape), tuple(d.shape)
    ok = (
        len(ishape) == 2
        and indices.dtype in (_dt.int64, _dt.int32)
        and 1 <= ishape[0] <= len(pshape)
        and vshape == (ishape[1],) + pshape[ishape[0] :]
    )
    if not ok:
        raise OpError(
            f"SparseAdam (sparse_adam_step): COO indices {ishape} ({indices.dtype}) and values {vshape} "
            f"do not describe a gradient of a parameter of shape {pshape}"
        )
    return _param_meta(d)


SPARSE_ADAM_STEP = OpDef(
    "sparse_adam_step", _sparse_adam_step, mutates=(0, 3, 4), shape_rule=_sparse_adam_shape
)


# -- Muon --------------------------------------------------------------------------------------------------
def _bf16(a):
    return a.astype(_dt.bfloat16.np)


def _zeropower_via_newtonschulz(grad, coefficients, ns_steps: int, eps: float):
    """PyTorch's quintic Newton-Schulz orthogonalisation in bfloat16: each matrix product accumulates in
    float32 and is rounded to bfloat16, as PyTorch's CPU bfloat16 kernels do."""
    a, b, c = coefficients
    x = _bf16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:
        x = x.T
    f32 = np.float32
    norm = _bf16(np.sqrt(np.sum(np.square(x.astype(f32)))))
    x = _bf16(x.astype(f32) / max(norm.astype(f32), _bf16(np.asarray(eps)).astype(f32)))
    for _ in range(ns_steps):
        xf = x.astype(f32)
        gram = _bf16(xf @ xf.T).astype(f32)
        gram_update = _bf16(b * gram + c * (gram @ gram)).astype(f32)
        x = _bf16(a * xf + gram_update @ xf)
    return x.T if tall else x


def _muon_step(
    d, g, buf, lr, weight_decay, momentum, *, nesterov, coefficients, ns_steps, eps, adjust_lr_fn
):  # fmt: skip
    lr, wd, momentum = float(lr), float(weight_decay), float(momentum)
    tmp = _scratch(d, 1)
    _lerp_(buf, g, 1 - momentum, tmp[0])
    if nesterov:
        update = np.array(g, copy=True)
        _lerp_(update, buf, momentum, tmp[0])
    else:
        update = buf
    update = _zeropower_via_newtonschulz(update, coefficients, ns_steps, eps)
    rows, cols = d.shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    np.multiply(d, 1 - lr * wd, out=d)
    np.multiply(update.astype(d.dtype), -(lr * ratio), out=tmp[0])
    np.add(d, tmp[0], out=d)


MUON_STEP = OpDef("muon_step", _muon_step, mutates=(0, 2), shape_rule=_param_meta)
