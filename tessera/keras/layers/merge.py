"""Merge layers: ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum`` and
``Dot``, each called on a list of tensors, and their functional forms ``concatenate``, ``add``,
``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``, ``dot``.

As in Keras, elementwise merges broadcast size-1 dimensions and give lower-rank inputs new axes after the
batch axis; their output mask is the OR of the inputs' masks (None unless every input has one).
"""

from __future__ import annotations

import math
import numbers
from functools import reduce

from ... import ops
from ...core.dtypes import bool as _bool
from ...core.tensor import Tensor
from ...nn import functional as F
from .base import Layer

__all__ = [
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Dot",
    "concatenate",
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "dot",
]


class _Merge(Layer):
    min_inputs = 1
    max_inputs = None

    def _check_inputs(self, shapes) -> None:
        cls = type(self).__name__
        if not isinstance(shapes, list) or any(not isinstance(s, tuple) for s in shapes):
            raise ValueError(
                f"{cls} '{self.name}': expected to be called on a list of tensors, got {shapes!r}"
            )
        if len(shapes) < self.min_inputs or (self.max_inputs and len(shapes) > self.max_inputs):
            if self.max_inputs == self.min_inputs:
                want = f"exactly {self.max_inputs}"
            else:
                want = f"at least {self.min_inputs}"
            raise ValueError(f"{cls} '{self.name}': expected {want} inputs, got {len(shapes)}")
        batches = {s[0] for s in shapes if s and s[0] is not None}
        if len(batches) > 1:
            raise ValueError(
                f"{cls} '{self.name}': cannot merge tensors with different batch sizes, got {shapes}"
            )
        self._check_shapes(shapes)

    @staticmethod
    def _expanded(shapes) -> list:
        """Shapes after Keras's new axes (at position 1) for inputs of lower rank."""
        n = max(len(s) for s in shapes)
        return [s[:1] + (1,) * (n - len(s)) + s[1:] for s in shapes]

    def _check_shapes(self, shapes) -> None:
        ex = self._expanded(shapes)
        for d in range(1, len(ex[0])):
            sizes = {s[d] for s in ex if s[d] is not None and s[d] != 1}
            if len(sizes) > 1:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': inputs have incompatible shapes {shapes} (dimensions "
                    "other than the batch one must match or be 1)"
                )

    def build(self, input_shape) -> None:
        self._check_inputs(input_shape)

    def call(self, inputs) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(t, Tensor) for t in inputs):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected a list of tensors, got {type(inputs).__name__}"
            )
        self._check_inputs([tuple(t.shape) for t in inputs])
        return self._merge(self._broadcast_ranks(list(inputs)))

    def _broadcast_ranks(self, inputs: list) -> list:
        n = max(t.ndim for t in inputs)
        out = []
        for t in inputs:
            for _ in range(n - t.ndim):
                t = ops.unsqueeze(t, 1)
            out.append(t)
        return out

    def compute_mask(self, inputs, previous_mask):
        if not isinstance(previous_mask, (list, tuple)) or any(m is None for m in previous_mask):
            return None
        return reduce(ops.logical_or, previous_mask)


class Concatenate(_Merge):
    """Concatenates a list of tensors along ``axis`` (default -1); other dimensions must match.

    Example:
        >>> ts.keras.layers.Concatenate()([ts.zeros(2, 3), ts.zeros(2, 5)]).shape
        tessera.Size([2, 8])
    """

    def __init__(self, axis: int = -1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Concatenate: axis must be an int, got {axis!r}")
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes) -> None:
        n = len(shapes[0])
        if any(len(s) != n for s in shapes) or not -n <= self.axis < n:
            raise ValueError(
                f"Concatenate '{self.name}': inputs must have the same rank with axis {self.axis} in range, got "
                f"shapes {shapes}"
            )
        ax = self.axis % n
        for d in range(n):
            if d == ax:
                continue
            sizes = {s[d] for s in shapes if s[d] is not None}
            if len(sizes) > 1:
                raise ValueError(
                    f"Concatenate '{self.name}': a Concatenate layer requires inputs with matching shapes except "
                    f"for the concatenation axis {self.axis}, got shapes {shapes}"
                )

    def _broadcast_ranks(self, inputs: list) -> list:
        return inputs

    def _merge(self, inputs):
        return ops.cat(inputs, self.axis)

    def compute_mask(self, inputs, previous_mask):
        if not isinstance(previous_mask, (list, tuple)) or all(m is None for m in previous_mask):
            return None
        masks = []
        for x, m in zip(inputs, previous_mask):
            if m is None:
                m = ops.ones_like(x, dtype=_bool)
            elif m.ndim < x.ndim:
                m = ops.logical_or(ops.unsqueeze(m, -1), ops.zeros_like(x, dtype=_bool))
            masks.append(m)
        return ops.any(ops.cat(masks, self.axis), -1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Add(_Merge):
    """Elementwise sum of a list of tensors.

    Example:
        >>> ts.keras.layers.Add()([ts.ones(2, 3), ts.ones(2, 3)]).sum().item()
        12.0
    """

    def _merge(self, inputs):
        return reduce(lambda a, b: a + b, inputs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    Example:
        >>> ts.keras.layers.Subtract()([ts.ones(2, 3), ts.ones(2, 3)]).sum().item()
        0.0
    """

    min_inputs = max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Elementwise product of a list of tensors.

    Example:
        >>> ts.keras.layers.Multiply()([ts.ones(2, 3) * 2, ts.ones(2, 3) * 3]).sum().item()
        36.0
    """

    def _merge(self, inputs):
        return reduce(lambda a, b: a * b, inputs)


class Average(_Merge):
    """Elementwise mean of a list of tensors.

    Example:
        >>> ts.keras.layers.Average()([ts.ones(2, 3), ts.zeros(2, 3)]).sum().item()
        3.0
    """

    def _merge(self, inputs):
        return reduce(lambda a, b: a + b, inputs) / len(inputs)


class Maximum(_Merge):
    """Elementwise maximum of a list of tensors.

    Example:
        >>> ts.keras.layers.Maximum()([ts.ones(2, 3), ts.zeros(2, 3)]).sum().item()
        6.0
    """

    def _merge(self, inputs):
        return reduce(ops.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of a list of tensors.

    Example:
        >>> ts.keras.layers.Minimum()([ts.ones(2, 3), ts.zeros(2, 3)]).sum().item()
        0.0
    """

    def _merge(self, inputs):
        return reduce(ops.minimum, inputs)


def _batch_dot(x: Tensor, y: Tensor, a0: int, a1: int) -> Tensor:
    """Keras's ``batch_dot`` over axes ``a0`` of x and ``a1`` of y (both non-batch): the output has x's other
    dimensions then y's (at least (batch, 1))."""
    xm = ops.movedim(x, a0, -1)
    ym = ops.movedim(y, a1, 1)
    b, k = x.shape[0], x.shape[a0]
    xr, yr = tuple(xm.shape[1:-1]), tuple(ym.shape[2:])
    out = ops.matmul(xm.reshape(b, math.prod(xr), k), ym.reshape(b, k, math.prod(yr)))
    out = out.reshape((b,) + xr + yr)
    return out.reshape(b, 1) if out.ndim == 1 else out


class Dot(_Merge):
    """Dot product of two tensors along ``axes`` (an int, or one axis per input; the batch axis 0 is not
    allowed), per sample; ``normalize=True`` L2-normalizes both along those axes first (cosine similarity).

    Example:
        >>> ts.keras.layers.Dot(axes=(1, 2))([ts.ones(1, 5, 2), ts.ones(1, 2, 5)]).shape
        tessera.Size([1, 2, 2])
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize: bool = False, **kwargs):
        if isinstance(axes, bool) or not isinstance(axes, (numbers.Integral, list, tuple)):
            raise TypeError(f"Dot: axes must be an int or a list of two ints, got axes={axes!r}")
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Dot: axes must contain two elements, got axes={axes!r}")
            if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
                raise ValueError(f"Dot: the elements of axes must be ints, got axes={axes!r}")
            axes = (int(axes[0]), int(axes[1]))
        else:
            axes = int(axes)
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolve(self, shapes) -> list:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        out = []
        for a, s in zip(pair, shapes):
            if not -len(s) <= a < len(s):
                raise ValueError(
                    f"Dot '{self.name}': axes {self.axes} out of range for input shapes {shapes}"
                )
            out.append(a % len(s))
        return out

    def _check_shapes(self, shapes) -> None:
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"Dot '{self.name}': inputs must have rank >= 2, got shapes {shapes}")
        a0, a1 = self._resolve(shapes)
        if 0 in (a0, a1):
            raise ValueError(
                f"Dot '{self.name}': cannot take the dot product over the batch axis 0 (axes={self.axes})"
            )
        d0, d1 = shapes[0][a0], shapes[1][a1]
        if d0 is not None and d1 is not None and d0 != d1:
            raise ValueError(
                f"Dot '{self.name}': incompatible input shapes: axis values {d0} (at axis {a0}) != {d1} (at axis "
                f"{a1}); full input shapes {shapes[0]}, {shapes[1]}"
            )

    def _broadcast_ranks(self, inputs: list) -> list:
        return inputs

    def _merge(self, inputs):
        x, y = inputs
        a0, a1 = self._resolve([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x = F.normalize(x, 2.0, a0, 1e-7)
            y = F.normalize(y, 2.0, a1, 1e-7)
        return _batch_dot(x, y, a0, a1)

    def compute_mask(self, inputs, previous_mask):
        return None

    def get_config(self) -> dict:
        axes = self.axes if isinstance(self.axes, int) else list(self.axes)
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


def _functional(cls: type):
    """The functional form ``name(inputs, **kwargs)`` of merge layer ``cls``, as Keras's ``keras.layers.add``."""

    def merge(inputs: list, **kwargs) -> Tensor:
        return cls(**kwargs)(inputs)

    name = cls.__name__.lower()
    merge.__name__ = merge.__qualname__ = name
    merge.__doc__ = (
        f"Functional interface to ``{cls.__name__}``: ``{name}(inputs, **kwargs)`` is "
        f"``{cls.__name__}(**kwargs)(inputs)``.\n\n    Example:\n"
        f"        >>> ts.keras.layers.{name}([ts.ones(2, 3), ts.ones(2, 3)]).shape\n"
        "        tessera.Size([2, 3])\n    "
    )
    return merge


add = _functional(Add)
subtract = _functional(Subtract)
multiply = _functional(Multiply)
average = _functional(Average)
maximum = _functional(Maximum)
minimum = _functional(Minimum)


def concatenate(inputs: list, axis: int = -1, **kwargs) -> Tensor:
    """Functional interface to ``Concatenate``: ``Concatenate(axis=axis, **kwargs)(inputs)``.

    Example:
        >>> ts.keras.layers.concatenate([ts.ones(2, 3), ts.ones(2, 1)]).shape
        tessera.Size([2, 4])
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list, axes=-1, **kwargs) -> Tensor:
    """Functional interface to ``Dot``: ``Dot(axes=axes, **kwargs)(inputs)`` (``normalize=`` may be given).

    Example:
        >>> ts.keras.layers.dot([ts.ones(2, 3), ts.ones(2, 3)], axes=1).shape
        tessera.Size([2, 1])
    """
    return Dot(axes=axes, **kwargs)(inputs)
