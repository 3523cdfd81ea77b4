"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d``, ``ConvTranspose1d``, ``ConvTranspose2d``,
``ConvTranspose3d`` (PyTorch parameter names, layouts, defaults and initialisation)."""

from __future__ import annotations

import math
import numbers

from ... import ops
from ...core import creation
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(name, argname, v, n):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v),) * n
    try:
        t = tuple(int(x) for x in v)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: {argname} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(t) == 1:
        t = t * n
    if len(t) != n:
        raise ValueError(f"{name}: {argname} must be an int or a tuple of {n} ints, got {v!r}")
    return t


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        output_padding,
        groups,
        bias,
        padding_mode,
        dtype,
    ):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        for argname, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if (
                not isinstance(v, numbers.Integral)
                or isinstance(v, bool)
                or v < (1 if argname == "groups" else 0)
            ):
                raise ValueError(
                    f"{name}: {argname} must be a {'positive' if argname == 'groups' else 'non-negative'}"
                    f" integer, got {v!r}"
                )
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        kernel_size = _ntuple(name, "kernel_size", kernel_size, nd)
        stride = _ntuple(name, "stride", stride, nd)
        dilation = _ntuple(name, "dilation", dilation, nd)
        if min(kernel_size) < 1 or min(stride) < 1 or min(dilation) < 1:
            raise ValueError(
                f"{name}: kernel_size, stride and dilation must be positive, got kernel_size={kernel_size}, "
                f"stride={stride}, dilation={dilation}"
            )
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(name, "padding", padding, nd)
            if min(padding) < 0:
                raise ValueError(f"{name}: padding must be non-negative, got {padding}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, but got padding_mode={padding_mode!r}"
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.transposed = self._transposed
        self.output_padding = _ntuple(name, "output_padding", output_padding, nd)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        # F.pad order: last dim first, (left, right) pairs.
        if isinstance(padding, str):
            pads = []
            for d, k in zip(dilation, kernel_size):
                total = d * (k - 1) if padding == "same" else 0
                pads.append((total // 2, total - total // 2))
            self._reversed_padding_repeated_twice = tuple(p for pair in reversed(pads) for p in pair)
        else:
            self._reversed_padding_repeated_twice = tuple(p for p in reversed(padding) for _ in range(2))
        if self.transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(creation.empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform weight (a=sqrt(5)) and uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias, as PyTorch."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input: Tensor) -> None:
        name, nd = type(self).__name__, self._nd
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(
                f"{name}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
                f"{tuple(input.shape)}"
            )
        c = input.shape[-nd - 1]
        if c != self.in_channels:
            raise RuntimeError(
                f"{name}: expected input with {self.in_channels} channels, got shape {tuple(input.shape)}"
            )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.kernel_size) and self.padding != "valid":
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            0,
            groups,
            bias,
            padding_mode,
            dtype,
        )

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        fn = _CONV[self._nd]
        if self.padding_mode != "zeros":
            x = ops.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) inputs; ``weight`` is
    (out_channels, in_channels/groups, kH, kW). ``padding``: int, pair, ``'same'`` or ``'valid'``;
    ``padding_mode``: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example:
        >>> conv = ts.nn.Conv2d(1, 32, 3, padding=1)
        >>> conv(ts.randn(64, 1, 28, 28)).shape
        tessera.Size([64, 32, 28, 28])
    """

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W) or (C_in, D, H, W) inputs; ``weight`` is
    (out_channels, in_channels/groups, kD, kH, kW). ``padding``: int, triple, ``'same'`` or ``'valid'``;
    ``padding_mode``: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example:
        >>> ts.nn.Conv3d(2, 4, 3, padding=1)(ts.randn(1, 2, 5, 6, 7)).shape
        tessera.Size([1, 4, 5, 6, 7])
    """

    _nd = 3


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L) inputs; ``weight`` is (out_channels,
    in_channels/groups, k).

    Example:
        >>> ts.nn.Conv1d(4, 8, 3, padding="same")(ts.randn(2, 4, 10)).shape
        tessera.Size([2, 8, 10])
    """

    _nd = 1


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only 'zeros' padding mode is supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            output_padding,
            groups,
            bias,
            padding_mode,
            dtype,
        )

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        name, nd = type(self).__name__, self._nd
        output_size = tuple(int(s) for s in output_size)
        if len(output_size) == nd + 2 or (len(output_size) == nd + 1 and input.ndim == nd + 1):
            output_size = output_size[-nd:]
        if len(output_size) != nd:
            raise ValueError(f"{name}: output_size must have {nd} or {nd + 2} elements, got {output_size}")
        res = []
        for i in range(nd):
            size_in = input.shape[-nd + i]
            min_size = (
                (size_in - 1) * self.stride[i]
                - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            max_size = min_size + self.stride[i] - 1
            if not min_size <= output_size[i] <= max_size:
                raise ValueError(
                    f"{name}: requested an output size of {output_size}, but valid sizes range from "
                    f"{min_size} to {max_size} (for an input of shape {tuple(input.shape)})"
                )
            res.append(output_size[i] - min_size)
        return tuple(res)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        self._check_input(input)
        fn = _CONV_TRANSPOSE[self._nd]
        output_padding = self._output_padding(input, output_size)
        return fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution; ``weight`` is (in_channels, out_channels/groups, kH, kW).
    ``forward(input, output_size=None)`` picks ``output_padding`` to reach ``output_size``.

    Example:
        >>> up = ts.nn.ConvTranspose2d(16, 8, 2, stride=2)
        >>> up(ts.randn(1, 16, 7, 7)).shape
        tessera.Size([1, 8, 14, 14])
    """

    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution; ``weight`` is (in_channels, out_channels/groups, kD, kH, kW).

    Example:
        >>> ts.nn.ConvTranspose3d(4, 2, 2, stride=2)(ts.randn(1, 4, 3, 3, 3)).shape
        tessera.Size([1, 2, 6, 6, 6])
    """

    _nd = 3


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution; ``weight`` is (in_channels, out_channels/groups, k).

    Example:
        >>> ts.nn.ConvTranspose1d(4, 2, 3, stride=2)(ts.randn(1, 4, 5)).shape
        tessera.Size([1, 2, 11])
    """

    _nd = 1
