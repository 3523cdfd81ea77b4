"""Keras activation functions by name (``ts.keras.activations``): ``get('relu')`` returns a function of a
Tensor. Every function is a Tessera op or a composite of ops, so gradients flow.

Example:
    >>> from tessera.keras import activations
    >>> activations.get("relu")(ts.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

from .. import ops
from ..core.tensor import Tensor
from ..nn import functional as F

__all__ = [
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "swish",
    "silu",
    "mish",
    "exponential",
    "get",
    "serialize",
    "deserialize",
]


def linear(x: Tensor) -> Tensor:
    return x


def relu(
    x: Tensor, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Tensor:
    """Keras's ``relu``: ``x`` above ``threshold``, ``negative_slope * (x - threshold)`` below, capped at
    ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    if negative_slope == 0.0 and threshold == 0.0:
        return ops.clamp(x, 0.0, max_value)
    out = ops.where(x >= threshold, x, (x - threshold) * negative_slope)
    return out if max_value is None else ops.clamp(out, None, max_value)


def relu6(x: Tensor) -> Tensor:
    return F.relu6(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    return F.leaky_relu(x, negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return F.elu(x, alpha)


def selu(x: Tensor) -> Tensor:
    return F.selu(x)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    return F.gelu(x, approximate="tanh" if approximate else "none")


def sigmoid(x: Tensor) -> Tensor:
    return ops.sigmoid(x)


def hard_sigmoid(x: Tensor) -> Tensor:
    return F.hardsigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return ops.tanh(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.softmax(x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.log_softmax(x, axis)


def softplus(x: Tensor) -> Tensor:
    return F.softplus(x)


def softsign(x: Tensor) -> Tensor:
    return F.softsign(x)


def silu(x: Tensor) -> Tensor:
    return F.silu(x)


swish = silu


def mish(x: Tensor) -> Tensor:
    return F.mish(x)


def exponential(x: Tensor) -> Tensor:
    return ops.exp(x)


_BY_NAME = {name: globals()[name] for name in __all__ if name not in ("get", "serialize", "deserialize")}


def serialize(activation) -> str | None:
    """The Keras name of a built-in activation (None for none); custom functions give their ``__name__``."""
    if activation is None:
        return None
    if isinstance(activation, str):
        return activation
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    name = getattr(activation, "__name__", None)
    if name is None:
        raise TypeError(f"activations.serialize: cannot serialize {activation!r}")
    return name


def deserialize(name, custom_objects=None):
    return get(name, custom_objects)


def get(identifier, custom_objects=None):
    """An activation function from a Keras name, a callable (returned unchanged) or None (``linear``)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = (custom_objects or {}).get(identifier) or _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ValueError(
                f"activations.get: unknown activation {identifier!r}; expected one of {sorted(_BY_NAME)}"
            )
        return fn
    if isinstance(identifier, dict):
        return get(identifier.get("config", identifier.get("class_name")), custom_objects)
    if callable(identifier):
        return identifier
    raise TypeError(f"activations.get: could not interpret activation identifier {identifier!r}")
