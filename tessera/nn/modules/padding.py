"""Padding layers: constant, zero, reflection, replication and circular, in 1-D, 2-D and 3-D (each one
``F.pad`` call with PyTorch's argument handling and reprs)."""

from __future__ import annotations

import numbers

from ... import ops
from ...core.tensor import Tensor
from ..module import Module

__all__ = [
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
]


def _padding(name: str, padding, nd: int) -> tuple:
    """An int pads every side (``2 * nd`` entries); a sequence is taken as given ((left, right, top, ...)),
    as PyTorch does."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * (2 * nd)
    try:
        out = tuple(padding)
    except TypeError:
        raise TypeError(
            f"{name}: padding must be an int or a tuple of {2 * nd} ints, got {padding!r}"
        ) from None
    if not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in out):
        raise TypeError(f"{name}: padding must be an int or a tuple of {2 * nd} ints, got {padding!r}")
    return tuple(int(p) for p in out)


class _PadNd(Module):
    _nd = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self._nd)

    def _check(self, input: Tensor) -> None:
        name, nd = type(self).__name__, self._nd
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if self._mode == "circular" and input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected {nd + 1}D or {nd + 2}D input (got {input.ndim}D input)")
        k = len(self.padding) // 2  # reflect / replicate: the padding's length decides, as in F.pad
        if self._mode in ("reflect", "replicate") and input.ndim not in (k + 1, k + 2):
            raise NotImplementedError(
                f"{name}: padding size {len(self.padding)} is not supported for {input.ndim}D input tensor "
                f"(a padding of size {2 * k} needs a {k + 1}D or {k + 2}D input)"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check(input)
        return ops.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        self._check(input)
        return ops.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` is an int or (left, right).

    Example:
        >>> ts.nn.ConstantPad1d(1, 3.5)(ts.zeros(1, 2)).tolist()
        [[3.5, 0.0, 0.0, 3.5]]
    """

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: ``padding`` is an int or (left, right, top, bottom).

    Example:
        >>> ts.nn.ConstantPad2d((1, 0, 0, 2), 1.0)(ts.zeros(1, 2, 2)).shape
        tessera.Size([1, 4, 3])
    """

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``: an int or (left, right, top, bottom, front, back).

    Example:
        >>> ts.nn.ConstantPad3d(1, 0.5)(ts.zeros(1, 2, 2, 2)).shape
        tessera.Size([1, 4, 4, 4])
    """

    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Zero-pad the last dim.

    Example:
        >>> ts.nn.ZeroPad1d((1, 2))(ts.ones(1, 2)).tolist()
        [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """

    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """Zero-pad the last two dims.

    Example:
        >>> ts.nn.ZeroPad2d(1)(ts.ones(1, 2, 2)).shape
        tessera.Size([1, 4, 4])
    """

    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Zero-pad the last three dims.

    Example:
        >>> ts.nn.ZeroPad3d(1)(ts.ones(1, 2, 2, 2)).shape
        tessera.Size([1, 4, 4, 4])
    """

    _nd = 3


class ReflectionPad1d(_PadNd):
    """Reflect the last dim at its borders ((C, W) or (N, C, W) inputs; pads smaller than the size).

    Example:
        >>> ts.nn.ReflectionPad1d(2)(ts.arange(4.0).reshape(1, 1, 4)).flatten().tolist()
        [2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """

    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Reflect the last two dims at their borders.

    Example:
        >>> ts.nn.ReflectionPad2d(1)(ts.randn(1, 1, 3, 3)).shape
        tessera.Size([1, 1, 5, 5])
    """

    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Reflect the last three dims at their borders.

    Example:
        >>> ts.nn.ReflectionPad3d(1)(ts.randn(1, 1, 3, 3, 3)).shape
        tessera.Size([1, 1, 5, 5, 5])
    """

    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of the last dim.

    Example:
        >>> ts.nn.ReplicationPad1d((1, 2))(ts.arange(3.0).reshape(1, 3)).flatten().tolist()
        [0.0, 0.0, 1.0, 2.0, 2.0, 2.0]
    """

    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeat the edge values of the last two dims.

    Example:
        >>> ts.nn.ReplicationPad2d(1)(ts.randn(1, 1, 3, 3)).shape
        tessera.Size([1, 1, 5, 5])
    """

    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeat the edge values of the last three dims.

    Example:
        >>> ts.nn.ReplicationPad3d(1)(ts.randn(1, 1, 3, 3, 3)).shape
        tessera.Size([1, 1, 5, 5, 5])
    """

    _nd, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Wrap the last dim around (periodic padding).

    Example:
        >>> ts.nn.CircularPad1d(1)(ts.arange(3.0).reshape(1, 3)).flatten().tolist()
        [2.0, 0.0, 1.0, 2.0, 0.0]
    """

    _nd, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Wrap the last two dims around.

    Example:
        >>> ts.nn.CircularPad2d(1)(ts.randn(1, 1, 3, 3)).shape
        tessera.Size([1, 1, 5, 5])
    """

    _nd, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Wrap the last three dims around.

    Example:
        >>> ts.nn.CircularPad3d(1)(ts.randn(1, 1, 3, 3, 3)).shape
        tessera.Size([1, 1, 5, 5, 5])
    """

    _nd, _mode = 3, "circular"
