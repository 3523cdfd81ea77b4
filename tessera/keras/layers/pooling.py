"""Pooling layers: ``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D``, ``GlobalMaxPooling1D/2D/3D``,
``GlobalAveragePooling1D/2D/3D`` and ``AdaptiveMaxPooling1D/2D/3D``, ``AdaptiveAveragePooling1D/2D/3D``.

Inputs are channels-last by default (``data_format='channels_first'`` is available). ``padding='same'``
follows Keras: the output length is ``ceil(length / stride)``, the extra padding of an odd total goes after,
max pooling ignores the padding; average pooling averages the elements inside the input when the padding is
symmetric and, as Keras's torch backend does, pads with the border values when it is not (an odd total).
Adaptive pooling splits each spatial dimension into ``output_size`` bins
``[floor(i * n / out), ceil((i + 1) * n / out))``, as Keras's torch backend (``adaptive_avg_pool``) does.
"""

from __future__ import annotations

import numbers

from ... import ops
from ...core.tensor import Tensor
from ...nn import functional as F
from .base import InputSpec, Layer
from .conv import _padding, _same_pads, _spatial_shape, _torch_pad, _tuple, _window_out
from .core import _data_format

__all__ = [
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "MaxPool3D",
    "AvgPool3D",
    "GlobalAvgPool3D",
    "GlobalMaxPool3D",
]

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADAPTIVE = {
    ("avg", 1): F.adaptive_avg_pool1d,
    ("avg", 2): F.adaptive_avg_pool2d,
    ("avg", 3): F.adaptive_avg_pool3d,
    ("max", 1): F.adaptive_max_pool1d,
    ("max", 2): F.adaptive_max_pool2d,
    ("max", 3): F.adaptive_max_pool3d,
}


def _spatial(layer: Layer, shape) -> tuple:
    return tuple(shape[1:-1]) if layer.data_format == "channels_last" else tuple(shape[2:])


class _Pool(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls, r = type(self).__name__, self.rank
        self.pool_size = _tuple(cls, "pool_size", pool_size, r)
        self.strides = self.pool_size if strides is None else _tuple(cls, "strides", strides, r)
        self.padding = _padding(cls, padding)
        self.data_format = _data_format(cls, data_format)
        self.input_spec = InputSpec(ndim=r + 2)

    def call(self, inputs: Tensor) -> Tensor:
        r = self.rank
        x = ops.movedim(inputs, -1, 1) if self.data_format == "channels_last" else inputs
        k, s = self.pool_size, self.strides
        if self.padding == "valid" and any(n < p for n, p in zip(x.shape[2:], k)):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the input's spatial dimensions {tuple(x.shape[2:])} are "
                f"smaller than pool_size {k} with padding='valid' (input shape {tuple(inputs.shape)})"
            )
        pads = _same_pads(x.shape[2:], k, s, (1,) * r) if self.padding == "same" else [(0, 0)] * r
        padded = any(b or a for b, a in pads)
        if self.mode == "max":
            if padded:
                x = ops.pad(x, _torch_pad(pads), value=float("-inf"))
            y = _MAX_POOL[r](x, k, s)
        elif all(b == a for b, a in pads):
            # symmetric padding: the mean of each window's elements inside the input
            y = _AVG_POOL[r](x, k, s, tuple(b for b, _ in pads), count_include_pad=False)
        else:
            # Keras's torch backend pads asymmetric windows by replicating the border, then averages
            y = _AVG_POOL[r](F.pad(x, _torch_pad(pads), mode="replicate"), k, s)
        return ops.movedim(y, 1, -1) if self.data_format == "channels_last" else y

    def compute_output_shape(self, input_shape) -> tuple:
        def size(n, i):
            return _window_out(n, self.pool_size[i], self.strides[i], 1, self.padding)

        return _spatial_shape(tuple(input_shape), self.data_format, self.rank, size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling3D(_Pool):
    """3-D max pooling over (batch, depth, height, width, channels) (``pool_size`` default 2).

    Example:
        >>> ts.keras.layers.MaxPooling3D()(ts.randn(1, 4, 4, 4, 2)).shape
        tessera.Size([1, 2, 2, 2, 2])
    """

    rank, mode = 3, "max"


class AveragePooling3D(_Pool):
    """3-D average pooling; ``pool_size`` is required, as in Keras.

    Example:
        >>> ts.keras.layers.AveragePooling3D(2)(ts.ones(1, 4, 4, 4, 2)).shape
        tessera.Size([1, 2, 2, 2, 2])
    """

    rank, mode = 3, "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_Pool):
    """2-D max pooling (``pool_size`` 2, ``strides`` default ``pool_size``, ``padding`` 'valid' or 'same').

    Example:
        >>> ts.keras.layers.MaxPooling2D()(ts.randn(1, 28, 28, 3)).shape
        tessera.Size([1, 14, 14, 3])
    """

    rank, mode = 2, "max"


class AveragePooling2D(_Pool):
    """2-D average pooling; with ``padding='same'`` see the module notes on border windows.

    Example:
        >>> ts.keras.layers.AveragePooling2D(2)(ts.ones(1, 4, 4, 1)).shape
        tessera.Size([1, 2, 2, 1])
    """

    rank, mode = 2, "avg"


class MaxPooling1D(_Pool):
    """1-D max pooling over (batch, steps, channels).

    Example:
        >>> ts.keras.layers.MaxPooling1D(2)(ts.randn(2, 9, 3)).shape
        tessera.Size([2, 4, 3])
    """

    rank, mode = 1, "max"


class AveragePooling1D(_Pool):
    """1-D average pooling over (batch, steps, channels).

    Example:
        >>> ts.keras.layers.AveragePooling1D(2)(ts.randn(2, 9, 3)).shape
        tessera.Size([2, 4, 3])
    """

    rank, mode = 1, "avg"


class _GlobalPool(Layer):
    rank = 2
    mode = "avg"

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self, n: int) -> tuple:
        return tuple(range(1, n - 1)) if self.data_format == "channels_last" else tuple(range(2, n))

    def call(self, inputs: Tensor) -> Tensor:
        axes = self._axes(inputs.ndim)
        if self.mode == "avg":
            return inputs.mean(axes, keepdim=self.keepdims)
        return ops.amax(inputs, axes, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape) -> tuple:
        shape = _spatial_shape(tuple(input_shape), self.data_format, self.rank, lambda n, i: 1)
        if self.keepdims:
            return tuple(1 if a in self._axes(len(shape)) else d for a, d in enumerate(shape))
        return tuple(d for a, d in enumerate(shape) if a not in self._axes(len(shape)))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling3D(_GlobalPool):
    """Mean over the spatial dimensions: (N, D, H, W, C) -> (N, C) (``keepdims``: (N, 1, 1, 1, C)).

    Example:
        >>> ts.keras.layers.GlobalAveragePooling3D()(ts.ones(2, 3, 4, 5, 8)).shape
        tessera.Size([2, 8])
    """

    rank, mode = 3, "avg"


class GlobalMaxPooling3D(_GlobalPool):
    """Max over the spatial dimensions: (N, D, H, W, C) -> (N, C).

    Example:
        >>> ts.keras.layers.GlobalMaxPooling3D(keepdims=True)(ts.ones(2, 3, 4, 5, 8)).shape
        tessera.Size([2, 1, 1, 1, 8])
    """

    rank, mode = 3, "max"


class GlobalAveragePooling2D(_GlobalPool):
    """Mean over the spatial dimensions: (N, H, W, C) -> (N, C) (``keepdims``: (N, 1, 1, C)).

    Example:
        >>> ts.keras.layers.GlobalAveragePooling2D()(ts.ones(2, 5, 5, 8)).shape
        tessera.Size([2, 8])
    """

    rank, mode = 2, "avg"


class GlobalMaxPooling2D(_GlobalPool):
    """Max over the spatial dimensions: (N, H, W, C) -> (N, C).

    Example:
        >>> ts.keras.layers.GlobalMaxPooling2D()(ts.ones(2, 5, 5, 8)).shape
        tessera.Size([2, 8])
    """

    rank, mode = 2, "max"


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over the steps: (N, L, C) -> (N, C); with a mask (e.g. from ``Embedding(mask_zero=True)``) only the
    unmasked steps are averaged, as in Keras.

    Example:
        >>> ts.keras.layers.GlobalAveragePooling1D()(ts.ones(2, 5, 3)).shape
        tessera.Size([2, 3])
    """

    rank, mode = 1, "avg"

    def call(self, inputs: Tensor, mask=None) -> Tensor:
        if mask is None:
            return super().call(inputs)
        steps = 1 if self.data_format == "channels_last" else 2
        if tuple(mask.shape) != (inputs.shape[0], inputs.shape[steps]):
            raise ValueError(
                f"GlobalAveragePooling1D '{self.name}': mask of shape {tuple(mask.shape)} does not match inputs "
                f"of shape {tuple(inputs.shape)} (expected (batch, steps))"
            )
        m = ops.unsqueeze(mask, 2 if self.data_format == "channels_last" else 1).to(inputs.dtype)
        total = (inputs * m).sum(steps, keepdim=self.keepdims)
        return total / m.sum(steps, keepdim=self.keepdims)

    def compute_mask(self, inputs, previous_mask):
        return None


class GlobalMaxPooling1D(_GlobalPool):
    """Max over the steps: (N, L, C) -> (N, C).

    Example:
        >>> ts.keras.layers.GlobalMaxPooling1D()(ts.ones(2, 5, 3)).shape
        tessera.Size([2, 3])
    """

    rank, mode = 1, "max"


class _AdaptivePool(Layer):
    rank = 2
    mode = "avg"

    def __init__(self, output_size, data_format=None, **kwargs):
        cls, r = type(self).__name__, self.rank
        if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
            output_size = (int(output_size),) * r
        elif not isinstance(output_size, (tuple, list)) or len(output_size) != r:
            raise TypeError(
                f"{cls}: output_size must be an int or a tuple of {r} ints, got {output_size!r} of type "
                f"{type(output_size).__name__}"
            )
        size = _tuple(cls, "output_size", output_size, r)
        super().__init__(**kwargs)
        self.output_size = size
        self.data_format = _data_format(cls, data_format)
        self.input_spec = InputSpec(ndim=r + 2)

    def call(self, inputs: Tensor) -> Tensor:
        x = ops.movedim(inputs, -1, 1) if self.data_format == "channels_last" else inputs
        y = _ADAPTIVE[self.mode, self.rank](x, self.output_size)
        return ops.movedim(y, 1, -1) if self.data_format == "channels_last" else y

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "output_size": list(self.output_size),
            "data_format": self.data_format,
        }


def _adaptive_doc(mode: str, rank: int) -> str:
    what = "Average" if mode == "avg" else "Max"
    shape = ", ".join(("4", "6", "8")[:rank])
    out = ", ".join(("2", "3", "4")[:rank])
    size = "(" + out + ",)" if rank == 1 else "(" + out + ")"
    return (
        f"Adaptive {what.lower()} pooling to a fixed spatial ``output_size`` (an int or a tuple of {rank}),"
        f" whatever the input size.\n\n    Example:\n        >>> layer = ts.keras.layers.Adaptive{what}Pooling"
        f"{rank}D({size})\n        >>> layer(ts.randn(2, {shape}, 3)).shape\n"
        f"        tessera.Size([2, {out}, 3])\n    "
    )


def _adaptive(mode: str, rank: int) -> type:
    what = "Average" if mode == "avg" else "Max"
    name = f"Adaptive{what}Pooling{rank}D"
    attrs = {"rank": rank, "mode": mode, "__doc__": _adaptive_doc(mode, rank), "__module__": __name__}
    return type(name, (_AdaptivePool,), {**attrs, "__qualname__": name})


AdaptiveAveragePooling1D = _adaptive("avg", 1)
AdaptiveAveragePooling2D = _adaptive("avg", 2)
AdaptiveAveragePooling3D = _adaptive("avg", 3)
AdaptiveMaxPooling1D = _adaptive("max", 1)
AdaptiveMaxPooling2D = _adaptive("max", 2)
AdaptiveMaxPooling3D = _adaptive("max", 3)

# Keras's aliases
MaxPool3D, AvgPool3D = MaxPooling3D, AveragePooling3D
GlobalAvgPool3D, GlobalMaxPool3D = GlobalAveragePooling3D, GlobalMaxPooling3D
