"""``keras.constraints``: weight constraints, projections applied to a weight after each optimizer update.

A layer given ``kernel_constraint=...`` attaches the constraint to the weight as ``weight.constraint``; the
Keras optimizers replace the weight by ``constraint(weight)`` after every step. Every constraint is computed
with Tessera ops.

Example:
    >>> from tessera.keras import constraints
    >>> constraints.NonNeg()(ts.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

import inspect
import numbers

from .. import ops
from ..core import creation
from ..core.tensor import Tensor
from . import config as _config

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "unit_norm",
    "get",
    "serialize",
    "deserialize",
]


def _as_tensor(w) -> Tensor:
    return w if isinstance(w, Tensor) else creation.as_tensor(w)


def _axis(cls: str, axis):
    if isinstance(axis, bool) or not (
        isinstance(axis, numbers.Integral)
        or (
            isinstance(axis, (list, tuple))
            and axis
            and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis)
        )
    ):
        raise ValueError(f"{cls}: axis must be an int or a non-empty list of ints, got {axis!r}")
    return int(axis) if isinstance(axis, numbers.Integral) else [int(a) for a in axis]


def _number(cls: str, name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{cls}: {name} must be a number, got {v!r}")
    return v


def _norms(w: Tensor, axis) -> Tensor:
    dims = axis if isinstance(axis, int) else tuple(axis)
    return ops.sqrt(ops.sum(w * w, dims, keepdim=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight (the base returns it unchanged).

    Example:
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return ts.clamp(w, -1.0, 1.0)
        >>> Clip()(ts.tensor([3.0])).tolist()
        [1.0]
    """

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescales the weights along ``axis`` (default 0: each unit's incoming weights of a Dense kernel) so their
    L2 norm is at most ``max_value`` (default 2).

    Example:
        >>> [round(v, 4) for v in MaxNorm(1.0)(ts.tensor([[3.0], [4.0]])).flatten().tolist()]
        [0.6, 0.8]
    """

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value = _number("MaxNorm", "max_value", max_value)
        self.axis = _axis("MaxNorm", axis)

    def __call__(self, w):
        w = _as_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clamp(norms, 0.0, float(self.max_value))
        return w * (desired / (norms + _config.epsilon()))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clips the weights at 0 from below.

    Example:
        >>> NonNeg()(ts.tensor([-0.5, 0.5])).tolist()
        [0.0, 0.5]
    """

    def __call__(self, w):
        w = _as_tensor(w)
        return ops.clamp(w, 0.0, None) if w.dtype.is_floating_point else ops.clamp(w, 0, None)


class UnitNorm(Constraint):
    """Divides the weights by their L2 norm along ``axis`` (default 0).

    Example:
        >>> [round(v, 4) for v in UnitNorm()(ts.tensor([[3.0], [4.0]])).flatten().tolist()]
        [0.6, 0.8]
    """

    def __init__(self, axis=0):
        self.axis = _axis("UnitNorm", axis)

    def __call__(self, w):
        w = _as_tensor(w)
        return w / (_norms(w, self.axis) + _config.epsilon())

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Rescales the weights along ``axis`` towards an L2 norm in ``[min_value, max_value]``: the new norm is
    ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm`` (``rate=1`` enforces it strictly).

    Example:
        >>> [round(v, 4) for v in MinMaxNorm(1.0, 2.0)(ts.tensor([[0.3], [0.4]])).flatten().tolist()]
        [0.6, 0.8]
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value = _number("MinMaxNorm", "min_value", min_value)
        self.max_value = _number("MinMaxNorm", "max_value", max_value)
        self.rate = _number("MinMaxNorm", "rate", rate)
        if min_value > max_value:
            raise ValueError(
                f"MinMaxNorm: min_value must be <= max_value, got min_value={min_value!r}, "
                f"max_value={max_value!r}"
            )
        self.axis = _axis("MinMaxNorm", axis)

    def __call__(self, w):
        w = _as_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clamp(norms, float(self.min_value), float(self.max_value)) * float(
            self.rate
        ) + norms * (1.0 - float(self.rate))
        return w * (desired / (norms + _config.epsilon()))

    def get_config(self) -> dict:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


# Keras's snake_case aliases are the classes themselves
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_CLASSES = {c.__name__: c for c in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_CLASSES.update(
    constraint=Constraint, max_norm=MaxNorm, min_max_norm=MinMaxNorm, non_neg=NonNeg, unit_norm=UnitNorm
)


def serialize(constraint) -> dict | None:
    """``{"module": ..., "class_name": ..., "config": ..., "registered_name": ...}`` as Keras 3 writes it.

    Example:
        >>> serialize(MaxNorm(3))["class_name"]
        'MaxNorm'
    """
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        name = getattr(constraint, "__name__", None)
        if not callable(constraint) or name is None:
            raise TypeError(f"constraints.serialize: expected a Constraint or a function, got {constraint!r}")
        # a plain function is saved by name, as Keras does (restored through custom_objects)
        return {
            "module": constraint.__module__,
            "class_name": "function",
            "config": name,
            "registered_name": name,
        }
    cls = type(constraint)
    builtin = _CLASSES.get(cls.__name__) is cls
    return {
        "module": "keras.constraints" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": constraint.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize(config, custom_objects: dict | None = None) -> Constraint:
    """A constraint from ``serialize``'s dict (or a class name); ``custom_objects`` maps user classes.

    Example:
        >>> deserialize({"class_name": "UnitNorm", "config": {"axis": 1}}).axis
        1
    """
    custom = custom_objects or {}
    if isinstance(config, str):
        cls = custom.get(config) or _CLASSES.get(config)
        if cls is None:
            raise ValueError(f"constraints.deserialize: unknown constraint {config!r}")
        return cls()
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"constraints.deserialize: expected a dict with 'class_name', got {config!r}")
    name = config["class_name"]
    if name == "function":
        fn = custom.get(config.get("config")) or custom.get(config.get("registered_name"))
        if fn is None:
            raise ValueError(
                f"constraints.deserialize: unknown function {config.get('config')!r}; pass it in custom_objects"
            )
        return fn
    cls = custom.get(name) or custom.get(config.get("registered_name")) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(
            f"constraints.deserialize: unknown constraint class {name!r}; pass it in custom_objects"
        )
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A constraint from None, a name (``'non_neg'``, ``'MaxNorm'``), a serialized dict, a class or a
    callable (returned unchanged).

    Example:
        >>> type(get("max_norm")).__name__
        'MaxNorm'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _CLASSES.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
    return obj
