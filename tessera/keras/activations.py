"""Keras activation functions by name (``ts.keras.activations``): ``get('relu')`` returns a function of a
Tensor. Every function is a Tessera op or a composite of ops, so gradients flow.

Example:
    >>> from tessera.keras import activations
    >>> activations.get("relu")(ts.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

from .. import ops
from ..core import creation
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
    "celu",
    "glu",
    "hard_shrink",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "log_sigmoid",
    "soft_shrink",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "tanh_shrink",
    "threshold",
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
    x = _t(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(_t(x))
    if negative_slope == 0.0 and threshold == 0.0:
        return ops.clamp(_t(x), 0.0, max_value)
    out = ops.where(x >= threshold, x, (x - threshold) * negative_slope)
    return out if max_value is None else ops.clamp(out, None, max_value)


def relu6(x: Tensor) -> Tensor:
    return F.relu6(_t(x))


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    return F.leaky_relu(_t(x), negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return F.elu(_t(x), alpha)


def selu(x: Tensor) -> Tensor:
    return F.selu(_t(x))


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def sigmoid(x: Tensor) -> Tensor:
    return ops.sigmoid(_t(x))


def hard_sigmoid(x: Tensor) -> Tensor:
    return F.hardsigmoid(_t(x))


def tanh(x: Tensor) -> Tensor:
    return ops.tanh(_t(x))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.softmax(_t(x), axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.log_softmax(_t(x), axis)


def softplus(x: Tensor) -> Tensor:
    return F.softplus(_t(x))


def softsign(x: Tensor) -> Tensor:
    return F.softsign(_t(x))


def silu(x: Tensor) -> Tensor:
    return F.silu(_t(x))


swish = silu


def mish(x: Tensor) -> Tensor:
    return F.mish(_t(x))


def exponential(x: Tensor) -> Tensor:
    return ops.exp(_t(x))


def _t(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from .ops._convert import to_tensor

    return to_tensor(x)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Continuously differentiable ELU: ``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``.

    Example:
        >>> celu(ts.tensor([0.0, 1.0])).tolist()
        [0.0, 1.0]
    """
    x = _t(x)
    return ops.relu(x) + (ops.exp(ops.clamp(x, None, 0.0) / alpha) - 1.0) * alpha


def glu(x: Tensor, axis: int = -1) -> Tensor:
    """Gated linear unit: splits ``x`` in two halves ``a, b`` along ``axis`` and returns ``a * sigmoid(b)``.

    Example:
        >>> glu(ts.zeros(2, 4)).shape
        tessera.Size([2, 2])
    """
    x = _t(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of the input must have an even size, got shape {tuple(x.shape)}")
    a, b = ops.chunk(x, 2, axis)
    return a * ops.sigmoid(b)


def hard_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """``x`` where ``|x| > threshold``, else 0.

    Example:
        >>> hard_shrink(ts.tensor([-1.0, 0.2])).tolist()
        [-1.0, 0.0]
    """
    x = _t(x)
    return ops.where(ops.abs(x) > threshold, x, ops.zeros_like(x))


def hard_silu(x: Tensor) -> Tensor:
    """``x * relu6(x + 3) / 6`` (a.k.a. hard swish).

    Example:
        >>> hard_silu(ts.tensor([0.0, 3.0])).tolist()
        [0.0, 3.0]
    """
    x = _t(x)
    return x * F.relu6(x + 3.0) / 6.0


hard_swish = hard_silu


def hard_tanh(x: Tensor) -> Tensor:
    """``clip(x, -1, 1)``.

    Example:
        >>> hard_tanh(ts.tensor([-3.0, 0.5])).tolist()
        [-1.0, 0.5]
    """
    return ops.clamp(_t(x), -1.0, 1.0)


def log_sigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably.

    Example:
        >>> round(log_sigmoid(ts.tensor([0.0])).item(), 4)
        -0.6931
    """
    return -F.softplus(-_t(x))


def soft_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0.

    Example:
        >>> soft_shrink(ts.tensor([1.0, 0.2])).tolist()
        [0.5, 0.0]
    """
    x = _t(x)
    zero = ops.zeros_like(x)
    return ops.where(x > threshold, x - threshold, ops.where(x < -threshold, x + threshold, zero))


def sparse_plus(x: Tensor) -> Tensor:
    """0 for x <= -1, ``x`` for x >= 1, ``(x + 1)**2 / 4`` in between.

    Example:
        >>> sparse_plus(ts.tensor([-2.0, 0.0, 2.0])).tolist()
        [0.0, 0.25, 2.0]
    """
    x = _t(x)
    mid = (x + 1.0) * (x + 1.0) / 4.0
    return ops.where(x <= -1.0, ops.zeros_like(x), ops.where(x >= 1.0, x, mid))


def sparse_sigmoid(x: Tensor) -> Tensor:
    """0 for x <= -1, 1 for x >= 1, ``(x + 1) / 2`` in between.

    Example:
        >>> sparse_sigmoid(ts.tensor([-2.0, 0.0, 2.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    x = _t(x)
    return ops.clamp((x + 1.0) * 0.5, 0.0, 1.0)


def sparsemax(x: Tensor, axis: int = -1) -> Tensor:
    """Euclidean projection of ``x`` onto the probability simplex along ``axis`` (sparse softmax).

    Example:
        >>> sparsemax(ts.tensor([[1.0, 0.0]])).tolist()
        [[1.0, 0.0]]
    """
    x = _t(x)
    n = x.shape[axis]
    ranks = creation.arange(1, n + 1, dtype=x.dtype)
    shape = [1] * x.ndim
    shape[axis] = n
    ranks = ranks.reshape(shape)
    ordered = ops.sort(x, axis, descending=True)[0]
    cums = ops.cumsum(ordered, axis)
    support = (ordered - (cums - 1.0) / ranks) > 0
    k = ops.sum(support.to(x.dtype), axis, keepdim=True)
    tau = (ops.sum(ops.where(support, cums, ops.zeros_like(cums)), axis, keepdim=True) - 1.0) / k
    return ops.relu(x - tau)


def squareplus(x: Tensor, b: float = 4) -> Tensor:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU.

    Example:
        >>> squareplus(ts.tensor([0.0])).tolist()
        [1.0]
    """
    x = _t(x)
    return (x + ops.sqrt(x * x + float(b))) / 2.0


def tanh_shrink(x: Tensor) -> Tensor:
    """``x - tanh(x)``.

    Example:
        >>> tanh_shrink(ts.tensor([0.0])).tolist()
        [0.0]
    """
    x = _t(x)
    return x - ops.tanh(x)


def threshold(x: Tensor, threshold: float, default_value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``default_value``.

    Example:
        >>> threshold(ts.tensor([1.0, 3.0]), 2.0, 0.0).tolist()
        [0.0, 3.0]
    """
    x = _t(x)
    return ops.where(x > threshold, x, creation.full_like(x, default_value))


_BY_NAME = {name: globals()[name] for name in __all__ if name not in ("get", "serialize", "deserialize")}


def serialize(activation) -> str | None:
    """The Keras name of a built-in activation (None for none); custom functions give their ``__name__``."""
    if activation is None:
        return None
    if isinstance(activation, str):
        return activation
    own = getattr(activation, "__name__", None)
    if _BY_NAME.get(own) is activation:
        return own
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
