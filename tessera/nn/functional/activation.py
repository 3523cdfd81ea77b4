"""Functional activations beyond the elementwise ops: softmax family, elu, glu..."""

from __future__ import annotations

from ... import ops
from ...core.tensor import Tensor

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
]


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
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return ops.elu(input, alpha) * scale


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return ops.clamp_min(input, 0) + ops.clamp_max(alpha * ops.expm1(input / alpha), 0)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))`` computed stably as ``-softplus(-x)``."""
    return -ops.softplus(-input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - ops.tanh(input)


def softsign(input: Tensor) -> Tensor:
    return input / (ops.abs(input) + 1)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return input * ops.tanh(ops.softplus(input))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return ops.clamp(input / 6 + 0.5, 0, 1)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
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
