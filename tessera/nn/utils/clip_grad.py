"""Gradient clipping, in place on ``.grad`` and outside autograd."""

from __future__ import annotations

import math

import numpy as np

from ...core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type`` norm of all ``tensors`` together, as if concatenated into one vector."""
    arrs = [t._data.astype(np.float64).ravel() for t in _params(tensors) if t is not None]
    if not arrs:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    flat = np.concatenate(arrs)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total = np.abs(flat).max() if flat.size else 0.0
    else:
        total = np.sum(np.abs(flat) ** norm_type) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return Tensor._wrap(np.asarray(total, dtype=np.float32))


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale all gradients together so their total norm is at most ``max_norm``; returns the norm before.

    Example:
        >>> loss.backward()
        >>> ts.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    params = [p for p in _params(parameters) if p.grad is not None]
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    coef = float(max_norm) / (float(total._data) + 1e-6)
    if coef < 1:
        for p in params:
            p.grad._data *= p.grad._data.dtype.type(coef)
            p.grad._version_counter[0] += 1
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    c = float(clip_value)
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -c, c, out=p.grad._data)
            p.grad._version_counter[0] += 1
