"""Convolution and pooling layers: ``Conv1D``, ``Conv2D``, ``MaxPooling1D/2D``, ``AveragePooling1D/2D``,
``GlobalAveragePooling1D/2D`` and ``GlobalMaxPooling1D/2D``.

Inputs are channels-last by default, as in Keras (``data_format='channels_first'`` is available). Kernels
are stored in Keras layout ``(*kernel_size, in_channels // groups, filters)`` (so ``get_weights`` and
``set_weights`` use Keras's arrays unchanged) and are viewed in PyTorch's layout for ``F.conv1d/conv2d``.
``padding='same'`` follows Keras (and TensorFlow): the output length is ``ceil(length / stride)`` and an odd
total padding puts the extra element after; average pooling over ``'same'`` padding averages the valid
elements only.
"""

from __future__ import annotations

import numbers

from ... import ops
from ...core import creation
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import activations as _activations
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer
from .core import _data_format, _no_constraint, _ser_init

__all__ = [
    "Conv1D",
    "Conv2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
]


def _tuple(layer: str, name: str, v, rank: int) -> tuple:
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (int(v),) * rank
    v = tuple(v)
    if len(v) != rank or any(not isinstance(x, numbers.Integral) or x < 1 for x in v):
        raise ValueError(
            f"{layer}: {name} must be a positive int or a tuple of {rank} positive ints, got {v!r}"
        )
    return tuple(int(x) for x in v)


def _padding(layer: str, padding: str, allowed=("valid", "same")) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {padding!r}")
    return p


def _same_pads(sizes, kernel, strides, dilation) -> list:
    """(before, after) per spatial dimension for Keras's 'same' padding."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _torch_pad(pads) -> tuple:
    """F.pad's (last-dim-first) tuple from per-dimension (before, after) pairs."""
    out = ()
    for b, a in reversed(pads):
        out += (b, a)
    return out


class _Conv(Layer):
    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups: int = 1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls, r = type(self).__name__, self.rank
        _no_constraint(cls, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters <= 0:
            raise ValueError(f"{cls}: filters must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _tuple(cls, "kernel_size", kernel_size, r)
        self.strides = _tuple(cls, "strides", strides, r)
        self.dilation_rate = _tuple(cls, "dilation_rate", dilation_rate, r)
        self.padding = _padding(cls, padding, ("valid", "same", "causal") if r == 1 else ("valid", "same"))
        if (
            self.padding == "same"
            and any(s > 1 for s in self.strides)
            and any(d > 1 for d in self.dilation_rate)
        ):
            raise ValueError(f"{cls}: strides > 1 are not compatible with dilation_rate > 1")
        self.data_format = _data_format(cls, data_format)
        if not isinstance(groups, numbers.Integral) or groups < 1 or self.filters % groups:
            raise ValueError(
                f"{cls}: groups must be a positive int dividing filters ({self.filters}), got {groups!r}"
            )
        self.groups = int(groups)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(ndim=r + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        ch = input_shape[self._channel_axis]
        if ch is None:
            raise ValueError(
                f"{cls} '{self.name}': the channel dimension of the inputs must be defined, got {input_shape}"
            )
        if ch % self.groups:
            raise ValueError(
                f"{cls} '{self.name}': the number of input channels ({ch}) must be divisible by groups ({self.groups})"
            )
        self.add_weight(
            "kernel",
            self.kernel_size + (ch // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.add_weight(
                "bias", (self.filters,), initializer=self.bias_initializer, regularizer=self.bias_regularizer
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: ch})

    def call(self, inputs: Tensor) -> Tensor:
        r = self.rank
        x = ops.movedim(inputs, -1, 1) if self.data_format == "channels_last" else inputs
        if self.padding == "valid":
            padding = 0
        else:
            if self.padding == "causal":
                pads = [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
            else:
                pads = _same_pads(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)
            if all(b == a for b, a in pads):
                padding = tuple(b for b, _ in pads)
            else:
                x = ops.pad(x, _torch_pad(pads))
                padding = 0
        # Keras (*k, in, out) -> PyTorch (out, in, *k): a view
        w = self.kernel.permute((r + 1, r) + tuple(range(r)))
        conv = F.conv2d if r == 2 else F.conv1d
        y = conv(
            x, w, self.bias if self.use_bias else None, self.strides, padding, self.dilation_rate, self.groups
        )
        if self.data_format == "channels_last":
            y = ops.movedim(y, 1, -1)
        return self.activation(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
        }


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels) inputs (``channels_first``: (batch, C, H, W)).

    Example:
        >>> conv = ts.keras.layers.Conv2D(16, 3, padding="same", activation="relu")
        >>> conv(ts.randn(8, 28, 28, 1)).shape
        tessera.Size([8, 28, 28, 16])
        >>> conv.kernel.shape                      # Keras layout (kh, kw, in, out)
        tessera.Size([3, 3, 1, 16])
    """

    rank = 2


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels) inputs; ``padding`` may also be ``'causal'``.

    Example:
        >>> ts.keras.layers.Conv1D(8, 3)(ts.randn(2, 10, 4)).shape
        tessera.Size([2, 8, 8])
    """

    rank = 1


class _Pool(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
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
        pads = _same_pads(x.shape[2:], k, s, (1,) * r) if self.padding == "same" else [(0, 0)] * r
        padded = any(b or a for b, a in pads)
        if self.mode == "max":
            if padded:
                x = ops.pad(x, _torch_pad(pads), value=float("-inf"))
            y = (F.max_pool2d if r == 2 else F.max_pool1d)(x, k, s)
        else:
            pool = F.avg_pool2d if r == 2 else F.avg_pool1d
            if padded:
                x = ops.pad(x, _torch_pad(pads))
                y = pool(x, k, s)
                with no_grad():  # the fraction of each window that lies inside the input (a constant)
                    ones = creation.ones(
                        *((1, 1) + tuple(inputs.shape[a] for a in self._spatial_axes(inputs))), dtype=x.dtype
                    )
                    frac = pool(ops.pad(ones, _torch_pad(pads)), k, s)
                y = y / frac
            else:
                y = pool(x, k, s)
        return ops.movedim(y, 1, -1) if self.data_format == "channels_last" else y

    def _spatial_axes(self, inputs):
        n = inputs.ndim
        return range(1, n - 1) if self.data_format == "channels_last" else range(2, n)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling2D(_Pool):
    """2-D max pooling (``pool_size`` 2, ``strides`` default ``pool_size``, ``padding`` 'valid' or 'same').

    Example:
        >>> ts.keras.layers.MaxPooling2D()(ts.randn(1, 28, 28, 3)).shape
        tessera.Size([1, 14, 14, 3])
    """

    rank, mode = 2, "max"


class AveragePooling2D(_Pool):
    """2-D average pooling; with ``padding='same'`` border windows average their valid elements only.

    Example:
        >>> ts.keras.layers.AveragePooling2D(2)(ts.ones(1, 4, 4, 1)).shape
        tessera.Size([1, 2, 2, 1])
    """

    rank, mode = 2, "avg"


class MaxPooling1D(_Pool):
    """1-D max pooling over (batch, steps, channels)."""

    rank, mode = 1, "max"


class AveragePooling1D(_Pool):
    """1-D average pooling over (batch, steps, channels)."""

    rank, mode = 1, "avg"


class _GlobalPool(Layer):
    rank = 2
    mode = "avg"

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: Tensor) -> Tensor:
        n = inputs.ndim
        axes = tuple(range(1, n - 1)) if self.data_format == "channels_last" else tuple(range(2, n))
        if self.mode == "avg":
            return inputs.mean(axes, keepdim=self.keepdims)
        return ops.amax(inputs, axes, keepdim=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool):
    """Mean over the spatial dimensions: (N, H, W, C) -> (N, C) (``keepdims``: (N, 1, 1, C)).

    Example:
        >>> ts.keras.layers.GlobalAveragePooling2D()(ts.ones(2, 5, 5, 8)).shape
        tessera.Size([2, 8])
    """

    rank, mode = 2, "avg"


class GlobalMaxPooling2D(_GlobalPool):
    """Max over the spatial dimensions: (N, H, W, C) -> (N, C)."""

    rank, mode = 2, "max"


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over the steps: (N, L, C) -> (N, C)."""

    rank, mode = 1, "avg"


class GlobalMaxPooling1D(_GlobalPool):
    """Max over the steps: (N, L, C) -> (N, C)."""

    rank, mode = 1, "max"
