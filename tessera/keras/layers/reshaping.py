"""Reshaping layers: ``UpSampling1D/2D/3D``, ``Cropping1D/2D/3D``, ``ZeroPadding1D/2D/3D`` and
``RepeatVector`` (``Flatten``, ``Reshape`` and ``Permute`` live in ``core.py``).

Inputs are channels-last by default; the 2-D/3-D layers (and ``ZeroPadding1D``) take
``data_format='channels_first'``, as in Keras. ``UpSampling`` repeats rows (``interpolation='nearest'``) or
resizes with half-pixel centres (``'bilinear'``, ``'bicubic'``, as Keras's ``ops.image.resize``).
"""

from __future__ import annotations

import numbers

from ... import ops
from ...core.tensor import Tensor
from ...nn import functional as F
from .base import InputSpec, Layer
from .conv import _torch_pad, _tuple
from .core import _data_format

__all__ = [
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "RepeatVector",
]


def _pairs(layer: str, name: str, value, rank: int) -> tuple:
    """Keras's ``cropping``/``padding`` forms: an int, ``rank`` ints (symmetric per dimension) or ``rank``
    (before, after) pairs (for rank 1: one pair) -> ``rank`` (before, after) pairs."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{layer}: {name} cannot be negative, got {name}={value!r}")
        return ((int(value),) * 2,) * rank
    if rank == 1:
        return (_tuple(layer, name, value, 2, allow_zero=True),)
    if not isinstance(value, (tuple, list)) or len(value) != rank:
        raise ValueError(
            f"{layer}: {name} must be an int, a tuple of {rank} ints or a tuple of {rank} (before, after) "
            f"pairs, got {name}={value!r}"
        )
    return tuple(_tuple(layer, f"entry {i} of {name}", v, 2, allow_zero=True) for i, v in enumerate(value))


class _Spatial(Layer):
    """A layer acting on the ``rank`` spatial dimensions of (batch, *spatial, channels) inputs."""

    rank = 2
    has_data_format = True

    def _init_format(self, data_format) -> None:
        self.data_format = _data_format(type(self).__name__, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self) -> tuple:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def get_config(self) -> dict:
        config = super().get_config()
        if self.has_data_format:
            config["data_format"] = self.data_format
        return config


class _Cropping(_Spatial):
    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        cropping = _pairs(type(self).__name__, "cropping", cropping, self.rank)
        super().__init__(**kwargs)
        self.cropping = cropping
        self._init_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._axes(), self.cropping):
            n = inputs.shape[axis]
            if before + after >= n:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': cropping {self.cropping} must be smaller than the "
                    f"corresponding spatial dimensions of the input, got input shape {tuple(inputs.shape)}"
                )
            index[axis] = slice(before, n - after)
        return inputs[tuple(index)]

    def get_config(self) -> dict:
        c = [list(p) for p in self.cropping]
        return {**super().get_config(), "cropping": c[0] if self.rank == 1 else c}


class Cropping1D(_Cropping):
    """Crops ``cropping = (start, end)`` steps of (batch, steps, features) inputs (an int crops both ends).

    Example:
        >>> ts.keras.layers.Cropping1D((1, 2))(ts.zeros(2, 10, 3)).shape
        tessera.Size([2, 7, 3])
    """

    rank, has_data_format = 1, False

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)


class Cropping2D(_Cropping):
    """Crops rows and columns: ``cropping`` is an int, ``(sym_h, sym_w)`` or ``((top, bottom), (left, right))``.

    Example:
        >>> ts.keras.layers.Cropping2D(((1, 0), (2, 2)))(ts.zeros(2, 8, 8, 3)).shape
        tessera.Size([2, 7, 4, 3])
    """

    rank = 2


class Cropping3D(_Cropping):
    """Crops the three spatial dimensions of (batch, d1, d2, d3, channels) inputs (default 1 at each end).

    Example:
        >>> ts.keras.layers.Cropping3D()(ts.zeros(2, 5, 6, 7, 3)).shape
        tessera.Size([2, 3, 4, 5, 3])
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class _ZeroPadding(_Spatial):
    def __init__(self, padding=1, data_format=None, **kwargs):
        padding = _pairs(type(self).__name__, "padding", padding, self.rank)
        super().__init__(**kwargs)
        self.padding = padding
        self._init_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        pairs = list(self.padding) + ([(0, 0)] if self.data_format == "channels_last" else [])
        return ops.pad(inputs, _torch_pad(pairs))

    def get_config(self) -> dict:
        p = [list(q) for q in self.padding]
        return {**super().get_config(), "padding": p[0] if self.rank == 1 else p}


class ZeroPadding1D(_ZeroPadding):
    """Pads ``padding = (start, end)`` zero steps (an int pads both ends) along the steps axis.

    Example:
        >>> ts.keras.layers.ZeroPadding1D(2)(ts.ones(2, 5, 3)).shape
        tessera.Size([2, 9, 3])
    """

    rank = 1


class ZeroPadding2D(_ZeroPadding):
    """Pads zero rows/columns: ``padding`` is an int, ``(sym_h, sym_w)`` or ``((top, bottom), (left, right))``.

    Example:
        >>> ts.keras.layers.ZeroPadding2D(((1, 0), (2, 1)))(ts.ones(2, 4, 4, 3)).shape
        tessera.Size([2, 5, 7, 3])
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pads zeros around the three spatial dimensions of (batch, d1, d2, d3, channels) inputs.

    Example:
        >>> ts.keras.layers.ZeroPadding3D()(ts.ones(1, 2, 3, 4, 2)).shape
        tessera.Size([1, 4, 5, 6, 2])
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _UpSampling(_Spatial):
    interpolations = ("nearest",)

    def __init__(self, size=2, data_format=None, interpolation: str = "nearest", **kwargs):
        cls = type(self).__name__
        size = _tuple(cls, "size", size, self.rank)
        interp = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if interp not in self.interpolations:
            raise ValueError(
                f"{cls}: interpolation must be one of {self.interpolations}, got {interpolation!r}"
            )
        super().__init__(**kwargs)
        self.size = size
        self.interpolation = interp
        self._init_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        if self.interpolation == "nearest":
            for axis, s in zip(self._axes(), self.size):
                if s > 1:
                    inputs = inputs.repeat_interleave(s, dim=axis)
            return inputs
        x = ops.movedim(inputs, -1, 1) if self.data_format == "channels_last" else inputs
        out = tuple(n * s for n, s in zip(x.shape[2:], self.size))
        y = F.interpolate(x, size=out, mode=self.interpolation, align_corners=False)
        return ops.movedim(y, 1, -1) if self.data_format == "channels_last" else y

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size)}


class UpSampling1D(_UpSampling):
    """Repeats each step ``size`` times: (batch, steps, features) -> (batch, steps * size, features).

    Example:
        >>> ts.keras.layers.UpSampling1D(3)(ts.ones(2, 4, 5)).shape
        tessera.Size([2, 12, 5])
    """

    rank, has_data_format = 1, False

    def __init__(self, size: int = 2, **kwargs):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"UpSampling1D: size must be an int, got {size!r} of type {type(size).__name__}")
        super().__init__(size, None, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size[0]}


class UpSampling2D(_UpSampling):
    """Upsamples rows and columns by ``size``; ``interpolation`` is 'nearest' (repeat), 'bilinear' or
    'bicubic' (half-pixel centres, as Keras's ``ops.image.resize``).

    Example:
        >>> ts.keras.layers.UpSampling2D((2, 3), interpolation="bilinear")(ts.ones(1, 4, 4, 3)).shape
        tessera.Size([1, 8, 12, 3])
    """

    rank = 2
    interpolations = ("nearest", "bilinear", "bicubic")

    def __init__(self, size=(2, 2), data_format=None, interpolation: str = "nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeats each of the three spatial dimensions ``size`` times.

    Example:
        >>> ts.keras.layers.UpSampling3D()(ts.ones(1, 2, 3, 4, 2)).shape
        tessera.Size([1, 4, 6, 8, 2])
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, "nearest", **kwargs)


class RepeatVector(Layer):
    """Repeats a (batch, features) input ``n`` times: -> (batch, n, features).

    Example:
        >>> ts.keras.layers.RepeatVector(3)(ts.ones(2, 5)).shape
        tessera.Size([2, 3, 5])
    """

    def __init__(self, n: int, **kwargs):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"RepeatVector: n must be an int, got {n!r} of type {type(n).__name__}")
        if n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive int, got n={n}")
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Tensor) -> Tensor:
        return inputs.unsqueeze(1).repeat_interleave(self.n, dim=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}
