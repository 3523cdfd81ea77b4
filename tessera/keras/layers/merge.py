"""Merge layers: ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``.
Each is called on a list of tensors."""

from __future__ import annotations

from functools import reduce

from ... import ops
from ...core.tensor import Tensor
from .base import Layer

__all__ = ["Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


class _Merge(Layer):
    min_inputs = 2
    max_inputs = None

    def _check_inputs(self, shapes) -> None:
        cls = type(self).__name__
        if not isinstance(shapes, list) or any(not isinstance(s, tuple) for s in shapes):
            raise ValueError(
                f"{cls} '{self.name}': expected to be called on a list of tensors, got {shapes!r}"
            )
        if len(shapes) < self.min_inputs or (self.max_inputs and len(shapes) > self.max_inputs):
            want = (
                f"exactly {self.max_inputs}"
                if self.max_inputs == self.min_inputs
                else f"at least {self.min_inputs}"
            )
            raise ValueError(f"{cls} '{self.name}': expected {want} inputs, got {len(shapes)}")
        self._check_shapes(shapes)

    def _check_shapes(self, shapes) -> None:
        ref = shapes[0]
        for s in shapes[1:]:
            if len(s) != len(ref) or any(
                a is not None and b is not None and a != b and 1 not in (a, b) for a, b in zip(s, ref)
            ):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': inputs must have the same shape (except the batch "
                    f"dimension), got shapes {shapes}"
                )

    def build(self, input_shape) -> None:
        self._check_inputs(input_shape)

    def call(self, inputs) -> Tensor:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected a list of tensors, got {type(inputs).__name__}"
            )
        self._check_inputs([tuple(t.shape) for t in inputs])
        return self._merge(list(inputs))


class Concatenate(_Merge):
    """Concatenates a list of tensors along ``axis`` (default -1); other dimensions must match.

    Example:
        >>> ts.keras.layers.Concatenate()([ts.zeros(2, 3), ts.zeros(2, 5)]).shape
        tessera.Size([2, 8])
    """

    def __init__(self, axis: int = -1, **kwargs):
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

    def _merge(self, inputs):
        return ops.cat(inputs, self.axis)

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
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Elementwise product of a list of tensors."""

    def _merge(self, inputs):
        return reduce(lambda a, b: a * b, inputs)


class Average(_Merge):
    """Elementwise mean of a list of tensors."""

    def _merge(self, inputs):
        return reduce(lambda a, b: a + b, inputs) / len(inputs)


class Maximum(_Merge):
    """Elementwise maximum of a list of tensors."""

    def _merge(self, inputs):
        return reduce(ops.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of a list of tensors."""

    def _merge(self, inputs):
        return reduce(ops.minimum, inputs)
