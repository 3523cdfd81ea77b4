"""Flatten parameters into one vector and back."""

from __future__ import annotations

from ... import ops
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """Concatenate all parameters, flattened, into one 1-D tensor (differentiable)."""
    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place, outside autograd)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(
            f"vector_to_parameters: expected a 1-D Tensor, got {getattr(vec, 'shape', type(vec))}"
        )
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise RuntimeError(
            f"vector_to_parameters: vector has {vec.numel()} elements but parameters need {total}"
        )
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p._data[...] = vec._data[start : start + n].reshape(p._data.shape)
            p._version_counter[0] += 1
            start += n
