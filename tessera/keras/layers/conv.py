"""Convolution layers: ``Conv1D/2D/3D``, ``Conv1D/2D/3DTranspose``, ``SeparableConv1D/2D`` and
``DepthwiseConv1D/2D`` (pooling lives in ``pooling.py``).

Inputs are channels-last by default, as in Keras (``data_format='channels_first'`` is available). Kernels
are stored in Keras layout (``Conv``: ``(*kernel_size, in_channels // groups, filters)``; ``ConvTranspose``:
``(*kernel_size, filters, in_channels)``; depthwise: ``(*kernel_size, in_channels, depth_multiplier)``;
pointwise: ``(1, ..., in_channels * depth_multiplier, filters)``), so ``get_weights`` and ``set_weights``
use Keras's arrays unchanged, and are viewed in PyTorch's layout for the ``F.conv*`` ops.
``padding='same'`` follows Keras (and TensorFlow): the output length is ``ceil(length / stride)`` and an odd
total padding puts the extra element after. Transposed convolutions crop the full transposed output to the
window Keras computes (``(i - 1) * s + max(k, s)`` for 'valid', ``i * s`` for 'same', or
``(i - 1) * s + k % 2 + output_padding`` / ``(i - 1) * s + k + output_padding`` when ``output_padding``
is given).
"""

from __future__ import annotations

import numbers

from ... import ops
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer
from .core import _data_format, _ser_init

__all__ = [
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "SeparableConv1D",
    "SeparableConv2D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Convolution3D",
    "Convolution1DTranspose",
    "Convolution2DTranspose",
    "Convolution3DTranspose",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _tuple(layer: str, name: str, v, rank: int, allow_zero: bool = False) -> tuple:
    low = 0 if allow_zero else 1
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (int(v),) * rank
    try:
        v = tuple(v)
    except TypeError:
        v = (v,)
    if len(v) != rank or any(
        isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < low for x in v
    ):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: {name} must be a {kind} int or a tuple of {rank} {kind} ints, got {v!r}")
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


def _spatial_shape(input_shape, data_format: str, rank: int, size_fn, channels=None) -> tuple:
    """``input_shape`` with each known spatial size ``n`` (dimension ``i``) replaced by ``size_fn(n, i)`` and,
    unless None, the channel dimension by ``channels``: Keras's ``compute_output_shape`` without building."""
    shape = list(input_shape)
    if len(shape) != rank + 2:
        raise ValueError(f"expected an input shape of rank {rank + 2}, got {tuple(input_shape)}")
    first = 1 if data_format == "channels_last" else 2
    for i in range(rank):
        n = shape[first + i]
        shape[first + i] = None if n is None else size_fn(n, i)
    if channels is not None:
        shape[-1 if data_format == "channels_last" else 1] = channels
    return tuple(shape)


def _window_out(n: int, k: int, s: int, d: int, padding: str) -> int:
    if padding == "valid":
        return (n - (k - 1) * d - 1) // s + 1
    return -(-n // s)  # 'same' and 'causal'


def _positive(layer: str, name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")
    return int(v)


def _constraint(layer: str, name: str, v):
    try:
        return _constraints.get(v)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{layer}: invalid {name} {v!r}: {e}") from None


class _BaseConv(Layer):
    """What every convolution shares: the spatial arguments, the activation and the bias."""

    rank = 2
    paddings = ("valid", "same")

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        bias_initializer="zeros",
        bias_regularizer=None,
        activity_regularizer=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls, r = type(self).__name__, self.rank
        self.kernel_size = _tuple(cls, "kernel_size", kernel_size, r)
        self.strides = _tuple(cls, "strides", strides, r)
        self.dilation_rate = _tuple(cls, "dilation_rate", dilation_rate, r)
        self.padding = _padding(cls, padding, self.paddings)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{cls}: strides > 1 are not supported with dilation_rate > 1, got strides={self.strides} "
                f"and dilation_rate={self.dilation_rate}"
            )
        self.data_format = _data_format(cls, data_format)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.bias_constraint = _constraint(cls, "bias_constraint", bias_constraint)
        self.input_spec = InputSpec(ndim=r + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _in_channels(self, input_shape) -> int:
        ch = input_shape[self._channel_axis]
        if ch is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the channel dimension of the inputs must be defined, "
                f"got input shape {tuple(input_shape)}"
            )
        return int(ch)

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self.add_weight(
                "bias",
                (size,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _lock_channels(self, ch: int) -> None:
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: ch})

    def _to_cf(self, x: Tensor) -> Tensor:
        if not x.dtype.is_floating_point:
            raise TypeError(
                f"{type(self).__name__} '{self.name}': inputs must be floating point (the kernel is "
                f"{self.dtype}), got {x.dtype} inputs of shape {tuple(x.shape)}"
            )
        return ops.movedim(x, -1, 1) if self.data_format == "channels_last" else x

    def _from_cf(self, y: Tensor) -> Tensor:
        return ops.movedim(y, 1, -1) if self.data_format == "channels_last" else y

    def _check_spatial(self, x: Tensor) -> None:
        """A 'valid' window larger than the (padded) input is an error naming the layer, as in Keras."""
        if self.padding != "valid":
            return
        for n, k, d in zip(x.shape[2:], self.kernel_size, self.dilation_rate):
            if n < (k - 1) * d + 1:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': the input's spatial dimensions "
                    f"{tuple(x.shape[2:])} are smaller than the (dilated) kernel {self.kernel_size} "
                    f"(dilation_rate={self.dilation_rate}) with padding='valid'"
                )

    def _conv(self, x: Tensor, w: Tensor, bias, groups: int) -> Tensor:
        """``F.conv{rank}d`` of channels-first ``x`` with Keras's 'valid'/'same'/'causal' padding."""
        self._check_spatial(x)
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
        return _CONV[self.rank](x, w, bias, self.strides, padding, self.dilation_rate, groups)

    def _torch_kernel(self, kernel: Tensor) -> Tensor:
        """Keras (*k, a, b) -> PyTorch (b, a, *k): a view."""
        r = self.rank
        return kernel.permute((r + 1, r) + tuple(range(r)))

    def _out_channels(self, input_shape):
        return self.filters

    def compute_output_shape(self, input_shape) -> tuple:
        def size(n, i):
            return _window_out(n, self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding)

        shape = tuple(input_shape)
        return _spatial_shape(shape, self.data_format, self.rank, size, self._out_channels(shape))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": _ser_init(self.bias_initializer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
        }


class _Conv(_BaseConv):
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
        cls = type(self).__name__
        self_filters = _positive(cls, "filters", filters)
        if (
            isinstance(groups, bool)
            or not isinstance(groups, numbers.Integral)
            or groups < 1
            or self_filters % groups
        ):
            raise ValueError(
                f"{cls}: groups must be a positive int dividing filters ({self_filters}), got {groups!r}"
            )
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        self.filters = self_filters
        self.groups = int(groups)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.kernel_constraint = _constraint(cls, "kernel_constraint", kernel_constraint)

    def build(self, input_shape) -> None:
        ch = self._in_channels(input_shape)
        if ch % self.groups:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the number of input channels ({ch}) must be divisible "
                f"by groups ({self.groups})"
            )
        self.add_weight(
            "kernel",
            self.kernel_size + (ch // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._add_bias(self.filters)
        self._lock_channels(ch)

    def convolution_op(self, inputs: Tensor, kernel: Tensor) -> Tensor:
        """The convolution of ``inputs`` (in ``data_format``) with a Keras-layout ``kernel``, without bias or
        activation; subclasses override it to transform the kernel (e.g. weight standardization), as in Keras.

        Example:
            >>> conv = ts.keras.layers.Conv2D(4, 3)
            >>> conv(ts.randn(1, 5, 5, 2)).shape
            tessera.Size([1, 3, 3, 4])
            >>> conv.convolution_op(ts.randn(1, 5, 5, 2), conv.kernel * 2).shape
            tessera.Size([1, 3, 3, 4])
        """
        x = self._to_cf(inputs)
        groups = max(x.shape[1] // kernel.shape[-2], 1)
        return self._from_cf(self._conv(x, self._torch_kernel(kernel), None, groups))

    def call(self, inputs: Tensor) -> Tensor:
        bias = self.bias if self.use_bias else None
        if type(self).convolution_op is _Conv.convolution_op:
            # the bias goes into the convolution op itself unless a subclass changed convolution_op
            x = self._to_cf(inputs)
            return self.activation(
                self._from_cf(self._conv(x, self._torch_kernel(self.kernel), bias, self.groups))
            )
        y = self.convolution_op(inputs, self.kernel)
        if bias is not None:
            shape = (1,) * (self.rank + 1) + (self.filters,)
            y = y + bias.reshape(
                shape if self.data_format == "channels_last" else (1, self.filters) + (1,) * self.rank
            )
        return self.activation(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
        }


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels) inputs (``channels_first``: C second).

    Example:
        >>> ts.keras.layers.Conv3D(4, 3, padding="same")(ts.randn(2, 5, 6, 7, 3)).shape
        tessera.Size([2, 5, 6, 7, 4])
    """

    rank = 3


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
    paddings = ("valid", "same", "causal")


def _transpose_crops(k: int, s: int, d: int, padding: str, output_padding) -> tuple:
    """(left, right) crops of the full transposed-convolution output (``(i - 1) * s + k_eff``) giving Keras's
    output window; a negative crop is zero padding."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(k_eff, s) - k_eff if output_padding is None else output_padding
        left, right = k_eff - 1, k_eff - 1 + op
    else:
        total = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, k_eff - 1)
        right = total - left
    return k_eff - 1 - left, k_eff - 1 - right


def _transpose_out(n: int, k: int, s: int, d: int, padding: str, output_padding) -> int:
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(k_eff, s) - k_eff if output_padding is None else output_padding
        return (n - 1) * s + k_eff + op
    return n * s if output_padding is None else (n - 1) * s + k_eff % 2 + output_padding


class _ConvTranspose(_BaseConv):
    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
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
        cls = type(self).__name__
        n_filters = _positive(cls, "filters", filters)
        out_pad = (
            None if output_padding is None else _tuple(cls, "output_padding", output_padding, self.rank, True)
        )
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        if out_pad is not None and any(op >= st for op, st in zip(out_pad, self.strides)):
            raise ValueError(
                f"{cls}: output_padding must be strictly less than strides in every dimension, got "
                f"output_padding={out_pad} and strides={self.strides}"
            )
        self.filters = n_filters
        self.output_padding = out_pad
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.kernel_constraint = _constraint(cls, "kernel_constraint", kernel_constraint)

    def build(self, input_shape) -> None:
        ch = self._in_channels(input_shape)
        self.add_weight(
            "kernel",
            self.kernel_size + (self.filters, ch),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._add_bias(self.filters)
        self._lock_channels(ch)

    def call(self, inputs: Tensor) -> Tensor:
        r = self.rank
        x = self._to_cf(inputs)
        # Keras (*k, out, in) -> PyTorch's transposed layout (in, out, *k)
        w = self.kernel.permute((r + 1, r) + tuple(range(r)))
        y = _CONV_T[r](x, w, None, self.strides, 0, 0, 1, self.dilation_rate)
        ops_pad = self.output_padding or (None,) * r
        crops = [
            _transpose_crops(k, s, d, self.padding, op)
            for k, s, d, op in zip(self.kernel_size, self.strides, self.dilation_rate, ops_pad)
        ]
        index = [slice(None), slice(None)]
        for (left, right), n in zip(crops, y.shape[2:]):
            index.append(slice(max(left, 0), n - max(right, 0)))
        y = y[tuple(index)]
        if any(left < 0 or right < 0 for left, right in crops):
            y = ops.pad(y, _torch_pad([(max(-left, 0), max(-right, 0)) for left, right in crops]))
        if self.use_bias:
            y = y + self.bias.reshape((1, self.filters) + (1,) * r)
        return self.activation(self._from_cf(y))

    def compute_output_shape(self, input_shape) -> tuple:
        ops_pad = self.output_padding or (None,) * self.rank
        k, st, d = self.kernel_size, self.strides, self.dilation_rate

        def size(n, i):
            return _transpose_out(n, k[i], st[i], d[i], self.padding, ops_pad[i])

        return _spatial_shape(tuple(input_shape), self.data_format, self.rank, size, self.filters)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
        }


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution (kernel ``(k, filters, in_channels)``), e.g. to upsample sequences.

    Example:
        >>> ts.keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same")(ts.randn(2, 5, 3)).shape
        tessera.Size([2, 10, 4])
    """

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (kernel ``(kh, kw, filters, in_channels)``).

    Example:
        >>> ts.keras.layers.Conv2DTranspose(8, 3, strides=2)(ts.randn(2, 5, 5, 3)).shape
        tessera.Size([2, 11, 11, 8])
    """

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution (kernel ``(kd, kh, kw, filters, in_channels)``); note Keras's argument
    order puts ``data_format`` before ``output_padding`` here.

    Example:
        >>> ts.keras.layers.Conv3DTranspose(2, 2, strides=2)(ts.randn(1, 3, 3, 3, 4)).shape
        tessera.Size([1, 6, 6, 6, 2])
    """

    rank = 3

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1, 1),
        padding="valid",
        data_format=None,
        output_padding=None,
        dilation_rate=(1, 1, 1),
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            **kwargs,
        )


class _DepthwiseMixin:
    """Shared by depthwise and separable convolutions: the (*k, in, depth_multiplier) depthwise kernel."""

    def _depthwise(self, x: Tensor, bias) -> Tensor:
        r, ch = self.rank, x.shape[1]
        # (*k, in, m) -> (*k, 1, in * m) -> (in * m, 1, *k): output channel c * m + j, as in Keras
        w = self.depthwise_weight.reshape(self.kernel_size + (1, ch * self.depth_multiplier))
        return self._conv(x, w.permute((r + 1, r) + tuple(range(r))), bias, ch)


class _DepthwiseConv(_DepthwiseMixin, _BaseConv):
    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier: int = 1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        cls = type(self).__name__
        multiplier = _positive(cls, "depth_multiplier", depth_multiplier)
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        self.depth_multiplier = multiplier
        self.depthwise_initializer = _initializers.get(depthwise_initializer)
        self.depthwise_regularizer = _regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = _constraint(cls, "depthwise_constraint", depthwise_constraint)

    @property
    def depthwise_weight(self) -> Tensor:
        return self.kernel

    def _out_channels(self, input_shape):
        ch = input_shape[self._channel_axis]
        return None if ch is None else ch * self.depth_multiplier

    def build(self, input_shape) -> None:
        ch = self._in_channels(input_shape)
        self.add_weight(
            "kernel",
            self.kernel_size + (ch, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self._add_bias(ch * self.depth_multiplier)
        self._lock_channels(ch)

    def call(self, inputs: Tensor) -> Tensor:
        y = self._depthwise(self._to_cf(inputs), self.bias if self.use_bias else None)
        return self.activation(self._from_cf(y))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": _ser_init(self.depthwise_initializer),
            "depthwise_regularizer": _regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": _constraints.serialize(self.depthwise_constraint),
        }


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: each input channel is convolved with its own ``depth_multiplier`` filters
    (kernel ``(k, in_channels, depth_multiplier)``; output channels ``in_channels * depth_multiplier``).

    Example:
        >>> ts.keras.layers.DepthwiseConv1D(3, depth_multiplier=2)(ts.randn(2, 8, 4)).shape
        tessera.Size([2, 6, 8])
    """

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution (kernel ``(kh, kw, in_channels, depth_multiplier)``).

    Example:
        >>> ts.keras.layers.DepthwiseConv2D(3, padding="same")(ts.randn(2, 8, 8, 4)).shape
        tessera.Size([2, 8, 8, 4])
    """

    rank = 2


class _SeparableConv(_DepthwiseMixin, _BaseConv):
    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier: int = 1,
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        cls = type(self).__name__
        n_filters = _positive(cls, "filters", filters)
        multiplier = _positive(cls, "depth_multiplier", depth_multiplier)
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        self.filters = n_filters
        self.depth_multiplier = multiplier
        self.depthwise_initializer = _initializers.get(depthwise_initializer)
        self.pointwise_initializer = _initializers.get(pointwise_initializer)
        self.depthwise_regularizer = _regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = _regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = _constraint(cls, "depthwise_constraint", depthwise_constraint)
        self.pointwise_constraint = _constraint(cls, "pointwise_constraint", pointwise_constraint)

    @property
    def depthwise_weight(self) -> Tensor:
        return self.depthwise_kernel

    def build(self, input_shape) -> None:
        ch = self._in_channels(input_shape)
        self.add_weight(
            "depthwise_kernel",
            self.kernel_size + (ch, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.add_weight(
            "pointwise_kernel",
            (1,) * self.rank + (ch * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )
        self._add_bias(self.filters)
        self._lock_channels(ch)

    def call(self, inputs: Tensor) -> Tensor:
        y = self._depthwise(self._to_cf(inputs), None)
        pw = self._torch_kernel(self.pointwise_kernel)
        y = _CONV[self.rank](y, pw, self.bias if self.use_bias else None)
        return self.activation(self._from_cf(y))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": _ser_init(self.depthwise_initializer),
            "pointwise_initializer": _ser_init(self.pointwise_initializer),
            "depthwise_regularizer": _regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": _regularizers.serialize(self.pointwise_regularizer),
            "depthwise_constraint": _constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": _constraints.serialize(self.pointwise_constraint),
        }


class SeparableConv1D(_SeparableConv):
    """Depthwise 1-D convolution followed by a pointwise (size-1) convolution to ``filters`` channels.

    Example:
        >>> ts.keras.layers.SeparableConv1D(6, 3, depth_multiplier=2)(ts.randn(2, 8, 4)).shape
        tessera.Size([2, 6, 6])
    """

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise 2-D convolution followed by a pointwise (1x1) convolution to ``filters`` channels.

    Example:
        >>> ts.keras.layers.SeparableConv2D(6, 3, padding="same")(ts.randn(2, 8, 8, 4)).shape
        tessera.Size([2, 8, 8, 6])
    """

    rank = 2


# Keras's aliases
Convolution3D = Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
