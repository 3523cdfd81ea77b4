"""Pooling and resampling layers: ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d/3d``,
``AdaptiveMaxPool1d/2d/3d``, ``LPPool1d/2d/3d``, ``MaxUnpool1d/2d/3d``, ``FractionalMaxPool2d/3d``,
``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``, ``PixelShuffle``, ``PixelUnshuffle`` and
``ChannelShuffle``."""

from __future__ import annotations

from ...core.tensor import Tensor
from .. import functional as F
from ..module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "ChannelShuffle",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "PixelShuffle",
    "PixelUnshuffle",
]


def _single(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def _check(layer, input, nd):
    if not isinstance(input, Tensor):
        raise TypeError(f"{type(layer).__name__}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{type(layer).__name__}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
            f"{tuple(input.shape)}"
        )


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        _check(self, input, self._nd)
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[self._nd]
        return fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling (``stride`` defaults to ``kernel_size``).

    Example:
        >>> ts.nn.MaxPool2d(2)(ts.randn(64, 32, 28, 28)).shape
        tessera.Size([64, 32, 14, 14])
    """

    _nd = 2


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) inputs (``stride`` defaults to ``kernel_size``).

    Example:
        >>> ts.nn.MaxPool3d(2)(ts.randn(1, 2, 4, 6, 6)).shape
        tessera.Size([1, 2, 2, 3, 3])
    """

    _nd = 3


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) or (C, L) inputs.

    Example:
        >>> ts.nn.MaxPool1d(2)(ts.randn(2, 3, 8)).shape
        tessera.Size([2, 3, 4])
    """

    _nd = 1


class AvgPool2d(Module):
    """2-D average pooling.

    Example:
        >>> ts.nn.AvgPool2d(2)(ts.randn(1, 3, 8, 8)).shape
        tessera.Size([1, 3, 4, 4])
    """

    _nd = 2

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        _check(self, input, self._nd)
        return (F.avg_pool2d if self._nd == 2 else F.avg_pool3d)(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) inputs.

    Example:
        >>> ts.nn.AvgPool3d(2)(ts.randn(1, 3, 4, 4, 4)).shape
        tessera.Size([1, 3, 2, 2, 2])
    """

    _nd = 3


class AvgPool1d(Module):
    """1-D average pooling.

    Example:
        >>> ts.nn.AvgPool1d(2)(ts.randn(2, 3, 8)).shape
        tessera.Size([2, 3, 4])
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True
    ):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if (stride is not None) else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        _check(self, input, 1)
        return F.avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveNd(Module):
    _nd = 2
    _fn = None  # the functional (a staticmethod), set by each public class

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveAvgPoolNd(_AdaptiveNd):
    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input: Tensor) -> Tensor:
        _check(self, input, self._nd)
        return self._fn(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptiveNd):
    def forward(self, input: Tensor):
        _check(self, input, self._nd)
        return self._fn(input, self.output_size, self.return_indices)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size (``None`` entries keep the input size).

    Example:
        >>> ts.nn.AdaptiveAvgPool2d((1, 1))(ts.randn(2, 8, 7, 7)).shape
        tessera.Size([2, 8, 1, 1])
    """

    _nd, _fn = 2, staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, L) inputs to a fixed length.

    Example:
        >>> ts.nn.AdaptiveAvgPool1d(4)(ts.randn(2, 3, 10)).shape
        tessera.Size([2, 3, 4])
    """

    _nd, _fn = 1, staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) inputs to a fixed output size.

    Example:
        >>> ts.nn.AdaptiveAvgPool3d((1, 2, 2))(ts.randn(2, 3, 5, 6, 7)).shape
        tessera.Size([2, 3, 1, 2, 2])
    """

    _nd, _fn = 3, staticmethod(F.adaptive_avg_pool3d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size.

    Example:
        >>> ts.nn.AdaptiveMaxPool2d(3)(ts.randn(1, 2, 7, 7)).shape
        tessera.Size([1, 2, 3, 3])
    """

    _nd, _fn = 2, staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) inputs to a fixed length.

    Example:
        >>> ts.nn.AdaptiveMaxPool1d(4)(ts.randn(1, 2, 9)).shape
        tessera.Size([1, 2, 4])
    """

    _nd, _fn = 1, staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) inputs to a fixed output size.

    Example:
        >>> ts.nn.AdaptiveMaxPool3d(2)(ts.randn(1, 2, 5, 5, 5)).shape
        tessera.Size([1, 2, 2, 2, 2])
    """

    _nd, _fn = 3, staticmethod(F.adaptive_max_pool3d)


class LPPool2d(Module):
    """Power-average pooling over 2-D windows."""

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = (
            norm_type,
            kernel_size,
            stride,
            ceil_mode,
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(LPPool2d):
    """Power-average pooling over 1-D windows."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool3d(LPPool2d):
    """Power-average pooling over 3-D windows.

    Example:
        >>> ts.nn.LPPool3d(2, 2)(ts.rand(1, 2, 4, 4, 4)).shape
        tessera.Size([1, 2, 2, 2, 2])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool3d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


def _ntuple(v, n):
    if isinstance(v, (tuple, list)):
        return tuple(v) if len(v) != 1 else tuple(v) * n
    return (v,) * n


class _MaxUnpoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        nd = self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride if stride is not None else kernel_size, nd)
        self.padding = _ntuple(padding, nd)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        fn = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[self._nd]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool1d``: ``forward(input, indices, output_size=None)``.

    Example:
        >>> out, idx = ts.nn.MaxPool1d(2, return_indices=True)(ts.randn(1, 2, 8))
        >>> ts.nn.MaxUnpool1d(2)(out, idx).shape
        tessera.Size([1, 2, 8])
    """

    _nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool2d``: ``forward(input, indices, output_size=None)``.

    Example:
        >>> out, idx = ts.nn.MaxPool2d(2, return_indices=True)(ts.randn(1, 2, 4, 4))
        >>> ts.nn.MaxUnpool2d(2)(out, idx).shape
        tessera.Size([1, 2, 4, 4])
    """

    _nd = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool3d``: ``forward(input, indices, output_size=None)``.

    Example:
        >>> out, idx = ts.nn.MaxPool3d(2, return_indices=True)(ts.randn(1, 2, 4, 4, 4))
        >>> ts.nn.MaxUnpool3d(2)(out, idx).shape
        tessera.Size([1, 2, 4, 4, 4])
    """

    _nd = 3


class _FractionalMaxPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size,
        output_size=None,
        output_ratio=None,
        return_indices: bool = False,
        _random_samples=None,
    ):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, nd) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, nd) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        fn = F.fractional_max_pool2d if self._nd == 2 else F.fractional_max_pool3d
        return fn(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-D fractional max pooling (windows at pseudo-random steps; samples drawn from Tessera's generator).

    Example:
        >>> ts.nn.FractionalMaxPool2d(3, output_ratio=0.5)(ts.randn(1, 2, 10, 10)).shape
        tessera.Size([1, 2, 5, 5])
    """

    _nd = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-D fractional max pooling.

    Example:
        >>> ts.nn.FractionalMaxPool3d(2, output_size=3)(ts.randn(1, 2, 6, 6, 6)).shape
        tessera.Size([1, 2, 3, 3, 3])
    """

    _nd = 3


class Upsample(Module):
    """Resize with ``F.interpolate`` (modes 'nearest', 'nearest-exact', 'linear', 'bilinear', 'trilinear').

    Example:
        >>> ts.nn.Upsample(scale_factor=2, mode="nearest")(ts.randn(1, 3, 4, 4)).shape
        tessera.Size([1, 3, 8, 8])
    """

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode: str = "nearest",
        align_corners=None,
        recompute_scale_factor=None,
    ):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        info = (
            f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        )
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for 4-D inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` for 4-D inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Shuffle the channels of a (N, C, *) input in ``groups`` groups: (N, g, C/g, *) -> (N, C/g, g, *).

    Example:
        >>> ts.nn.ChannelShuffle(2)(ts.arange(4.0).reshape(1, 4, 1, 1)).flatten().tolist()
        [0.0, 2.0, 1.0, 3.0]
    """

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
