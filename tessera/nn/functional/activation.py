"""Functional activations beyond the elementwise ops: softmax family, elu, glu, shrinkage, ``prelu``,
``rrelu``, ``gumbel_softmax`` and the in-place forms (``relu_``, ``elu_``...).

Everything here composes registry ops. An in-place form writes its result into ``input`` through the
op's in-place path (``relu_``, ``elu_``, ``leaky_relu_``, ``hardtanh_``) or through ``copy_`` (the
composites), so the write bumps the version counter and autograd rebinds ``input``'s history.
"""

from __future__ import annotations

import numbers
import warnings

from ... import ops
from ...core import creation
from ...core.grad_mode import is_grad_enabled
from ...core.tensor import Tensor
from ...ops._util import check_tensor

__all__ = [
    "softmax",
    "log_softmax",
    "softmin",
    "elu",
    "logsigmoid",
    "tanhshrink",
    "softsign",
    "mish",
    "hardsigmoid",
    "hardswish",
    "glu",
    "selu",
    "celu",
    "normalize",
    "threshold",
    "threshold_",
    "relu_",
    "elu_",
    "celu_",
    "selu_",
    "leaky_relu_",
    "hardtanh_",
    "hardshrink",
    "softshrink",
    "prelu",
    "rrelu",
    "rrelu_",
    "gumbel_softmax",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _float_input(opname: str, input) -> Tensor:
    check_tensor(opname, "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{opname}: \"{opname}\" not implemented for '{input.dtype.name}'")
    return input


def _into(input: Tensor, fn, *args) -> Tensor:
    """Write ``fn(input, *args)`` into ``input`` with ``copy_`` (one registry write: the version bumps and
    autograd rebinds ``input``'s history). When autograd records, ``fn`` reads a clone, so the gradient
    rules it recorded keep the old values."""
    src = ops.clone(input) if input.requires_grad and is_grad_enabled() else input
    return input.copy_(fn(src, *args))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Softmax along ``dim``: ``F.softmax(logits, dim=-1)``."""
    return ops.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Log-softmax along ``dim``, computed stably."""
    return ops.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return ops.softmax(-input, dim, dtype=dtype)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return ops.elu(input, alpha, inplace=inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    Example:
        >>> F.selu(ts.tensor([1.0]))
        tensor([1.0507])
    """
    if inplace:
        return _into(input, selu)
    return ops.elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Example:
        >>> F.celu(ts.tensor([-1.0, 2.0]), alpha=2.0)
        tensor([-0.7869,  2.0000])
    """
    _float_input("celu", input)
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    if inplace:
        return _into(input, celu, alpha)
    return ops.clamp_min(input, 0) + ops.clamp_max(alpha * ops.expm1(input / alpha), 0)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``: ``F.relu_(x)`` returns ``x``, now ``max(x, 0)``."""
    return ops.relu_(input)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return ops.elu(input, alpha, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return selu(input, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return ops.leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return ops.hardtanh(input, min_val, max_val, inplace=True)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``input`` where ``input > threshold``, else ``value`` (gradient zero there).

    Example:
        >>> F.threshold(ts.tensor([-1.0, 0.5, 2.0]), 0.5, -9.0)
        tensor([-9., -9.,  2.])
    """
    check_tensor("threshold", "input", input)
    for name, v in (("threshold", threshold), ("value", value)):
        if not isinstance(v, numbers.Number) or isinstance(v, bool):
            raise TypeError(f"threshold(): argument '{name}' must be Number, not {type(v).__name__}")
    if inplace:
        return _into(input, _threshold, threshold, value)
    return ops.where(input > threshold, input, creation.full_like(input, value))


_threshold = threshold


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return _threshold(input, threshold, value, inplace=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0.

    Example:
        >>> F.hardshrink(ts.tensor([-1.0, 0.2, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """
    _float_input("hardshrink", input)
    return ops.where(ops.abs(input) > lambd, input, ops.zeros_like(input))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    Example:
        >>> F.softshrink(ts.tensor([-1.0, 0.2, 0.7]))
        tensor([-0.5000,  0.0000,  0.2000])
    """
    _float_input("softshrink", input)
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}.")
    return ops.where(ops.abs(input) > lambd, input - ops.sign(input) * lambd, ops.zeros_like(input))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``; ``weight`` has one element or one per channel (dim 1).

    Example:
        >>> F.prelu(ts.tensor([[-1.0, 2.0]]), ts.tensor([0.25]))
        tensor([[-0.2500,  2.0000]])
    """
    _float_input("prelu", input)
    check_tensor("prelu", "weight", weight)
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise RuntimeError(
            f"prelu: Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} "
            f"and channel size = {channels}."
        )
    w = weight.reshape((n,) + (1,) * (input.ndim - 2)) if input.ndim >= 2 and n > 1 else weight.reshape(())
    return ops.where(input > 0, input, w * input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive element is scaled by a slope drawn from
    U(lower, upper) (from the default generator); otherwise the slope is ``(lower + upper) / 2``.

    Example:
        >>> F.rrelu(ts.tensor([-1.0, 2.0]), 0.1, 0.3)
        tensor([-0.2000,  2.0000])
    """
    _float_input("rrelu", input)
    if lower > upper:
        raise RuntimeError(
            f"rrelu: Lower bound should be less than or equal to the upper bound, got lower={lower} and "
            f"upper={upper}"
        )
    if inplace:
        return _into(input, rrelu, lower, upper, training)
    if not training:
        return ops.leaky_relu(input, (lower + upper) / 2)
    u = creation.rand(*input.shape, dtype=input.dtype)
    return input * ops.where(input <= 0, u * (upper - lower) + lower, ops.ones_like(input))


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place ``rrelu``."""
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau, dim)`` with Gumbel
    noise ``g`` drawn from the default generator. ``hard=True`` returns the one-hot of the sample's
    argmax, with the soft sample's gradient (straight-through).

    Example:
        >>> y = F.gumbel_softmax(ts.zeros(2, 5), tau=0.5, hard=True)
        >>> y.sum(-1)
        tensor([1., 1.])
    """
    _float_input("gumbel_softmax", logits)
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    u = creation.rand(*logits.shape, dtype=logits.dtype)
    # -log(Exponential(1)) with the exponential as -log(1 - u); its tiny floor keeps the noise finite
    e = ops.clamp_min(-ops.log1p(-u), 1e-30)
    y_soft = ops.softmax((logits - ops.log(e)) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = ops.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))`` computed stably as ``-softplus(-x)``."""
    return -ops.softplus(-input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - ops.tanh(input)


def softsign(input: Tensor) -> Tensor:
    return input / (ops.abs(input) + 1)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    if inplace:
        return _into(input, mish)
    return input * ops.tanh(ops.softplus(input))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    if inplace:
        return _into(input, hardsigmoid)
    return ops.clamp(input / 6 + 0.5, 0, 1)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    if inplace:
        return _into(input, hardswish)
    return input * hardsigmoid(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in two halves ``a, b`` along ``dim`` and return ``a * sigmoid(b)``."""
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {n}")
    a, b = ops.chunk(input, 2, dim)
    return a * ops.sigmoid(b)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(norm(input, p, dim), eps)``."""
    return input / ops.clamp_min(ops.norm(input, p, dim, keepdim=True), eps)
