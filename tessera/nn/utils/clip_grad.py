"""Gradient clipping, in place on ``.grad`` and outside autograd."""

from __future__ import annotations

import math

from ... import ops as ts_ops
from ...core.creation import zeros
from ...core.dispatch import is_tracing
from ...core.dtypes import float32, float64
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type`` norm of all ``tensors`` together, as if concatenated into one vector (float32).

    Computed with ops in float64, so a traced training step records it.

    Example:
        >>> ts.nn.utils.get_total_norm([ts.ones(3), ts.ones(1)])
        tensor(2.)
    """
    grads = [t for t in _params(tensors) if t is not None]
    norm_type = float(norm_type)
    if not grads:
        return zeros((), dtype=float32)
    if math.isinf(norm_type):
        parts = [g.double().abs().amax() if g.numel() else zeros((), dtype=float64) for g in grads]
        total = ts_ops.stack(parts).amax()
    else:
        parts = [g.double().abs().pow(norm_type).sum() for g in grads]
        total = ts_ops.stack(parts).sum().pow(1.0 / norm_type)
    if error_if_nonfinite and not is_tracing() and not bool(total.isfinite()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return total.float()


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale all gradients together so their total norm is at most ``max_norm``; returns the norm before.

    The scale ``min(1, max_norm / (norm + 1e-6))`` is a tensor, so no Python branch depends on the norm.

    Example:
        >>> loss.backward()
        >>> ts.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    params = [p for p in _params(parameters) if p.grad is not None]
    with no_grad():
        total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
        coef = (float(max_norm) / (total.double() + 1e-6)).clamp(max=1.0)
        for p in params:
            p.grad.mul_(coef.to(p.grad.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place.

    Example:
        >>> ts.nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    c = float(clip_value)
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(-c, c)
