"""Keras weight regularizers (``ts.keras.regularizers``): ``L1``, ``L2``, ``L1L2`` and the strings ``'l1'``,
``'l2'``, ``'l1_l2'``. A regularizer maps a weight tensor to a differentiable scalar penalty that the layer
reports in ``layer.losses``.

Example:
    >>> from tessera.keras import regularizers
    >>> float(regularizers.L2(0.1)(ts.ones(2, 2)))
    0.4000000059604645
"""

from __future__ import annotations

from ..core import creation
from ..core.tensor import Tensor

__all__ = [
    "Regularizer",
    "L1",
    "L2",
    "L1L2",
    "OrthogonalRegularizer",
    "l1",
    "l2",
    "l1_l2",
    "orthogonal_regularizer",
    "get",
    "serialize",
    "deserialize",
]


def _coef(cls, name, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ValueError(f"{cls}: {name} must be a non-negative number, got {v!r}")
    return float(v)


class Regularizer:
    """Base class: ``__call__(weight) -> scalar Tensor`` and ``get_config()``."""

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = _coef("L1L2", "l1", l1), _coef("L1L2", "l2", l2)

    def __call__(self, x: Tensor) -> Tensor:
        out = None
        if self.l1:
            out = x.abs().sum() * self.l1
        if self.l2:
            sq = (x * x).sum() * self.l2
            out = sq if out is None else out + sq
        return out if out is not None else x.sum() * 0.0

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)`` (Keras's default factor 0.01)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x ** 2)`` (Keras's default factor 0.01)."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns (``"columns"``) of a 2-D weight towards orthonormality:
    ``factor * 0.5 * mean |cos(angle)|`` over the pairs of distinct rows/columns (Keras's formula).

    Example:
        >>> float(OrthogonalRegularizer(factor=1.0)(ts.eye(3)))
        0.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _coef("OrthogonalRegularizer", "factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError(f'OrthogonalRegularizer: mode must be "rows" or "columns", got {mode!r}')
        self.mode = mode

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer: inputs must have rank 2 (rows x columns), got shape {tuple(x.shape)}"
            )
        axis = 1 if self.mode == "rows" else 0
        unit = x * x.square().sum(axis, keepdim=True).clamp(min=1e-12).rsqrt()
        product = unit @ unit.transpose(0, 1) if self.mode == "rows" else unit.transpose(0, 1) @ unit
        size = product.shape[0]
        off_diagonal = product * (1.0 - creation.eye(size, dtype=x.dtype))
        pairs = size * (size - 1.0) / 2.0
        return off_diagonal.abs().sum() * (self.factor * 0.5 / pairs)

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


orthogonal_regularizer = OrthogonalRegularizer


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """``L1L2`` with Keras's defaults for the function form (0.01 each)."""
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2

_CLASSES = {"L1L2": L1L2, "L1": L1, "L2": L2, "OrthogonalRegularizer": OrthogonalRegularizer}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": l1_l2, "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer) -> dict | None:
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"regularizers.serialize: cannot serialize {regularizer!r} (not a Regularizer)")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config, custom_objects=None) -> Regularizer:
    return get(config, custom_objects)


def get(identifier, custom_objects=None):
    """A regularizer from ``'l1'``/``'l2'``/``'l1_l2'``, a serialized dict, a ``Regularizer`` or a callable
    ``fn(weight) -> scalar``; None gives None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    custom = custom_objects or {}
    if isinstance(identifier, str):
        fn = custom.get(identifier) or _NAMES.get(identifier.lower()) or _CLASSES.get(identifier)
        if fn is None:
            raise ValueError(f"regularizers.get: unknown regularizer {identifier!r}")
        return fn()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = custom.get(name) or _CLASSES.get(name)
        if cls is None:
            raise ValueError(f"regularizers.get: unknown regularizer class {name!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"regularizers.get: could not interpret regularizer identifier {identifier!r}")
