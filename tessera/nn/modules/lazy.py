"""Lazy modules, whose parameter shapes are inferred from the first input, and ``UninitializedParameter``.

As in PyTorch, a lazy module starts with ``UninitializedParameter`` / ``UninitializedBuffer`` placeholders;
its first forward call runs ``initialize_parameters(input)`` (a forward pre-hook), which materializes them
with the input's feature/channel count and runs ``reset_parameters``; the module then becomes its regular
class (``cls_to_become``: ``LazyLinear`` -> ``Linear``...). Loading a state_dict into a lazy module takes the
checkpoint's shapes.
"""

from __future__ import annotations

from ...core import dtypes as _dt
from ...core.creation import tensor as _tensor
from ...core.tensor import Tensor
from ..module import Module
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)

__all__ = [
    "LazyModuleMixin",
    "UninitializedParameter",
    "UninitializedBuffer",
    "LazyLinear",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]


def _infer_parameters(module: Module, args: tuple) -> None:
    """The forward pre-hook of a lazy module: materialize, then become ``cls_to_become``."""
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    module._finish_lazy_init()


class LazyModuleMixin:
    """Mixin for modules whose parameters are shaped by the first input: subclasses implement
    ``initialize_parameters(input)`` and set ``cls_to_become``.

    Example:
        >>> fc = ts.nn.LazyLinear(4)
        >>> fc.has_uninitialized_params()
        True
        >>> _ = fc(ts.randn(2, 3))
        >>> type(fc).__name__, fc.in_features
        ('Linear', 3)
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still an uninitialized placeholder."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def _sync_sizes(self) -> None:
        """Set the size attributes (``in_features``...) from materialized parameters, for modules whose
        state came from a checkpoint rather than from an input."""

    def _finish_lazy_init(self) -> None:
        self._sync_sizes()
        handle = self.__dict__.pop("_initialize_hook", None)
        if handle is not None:
            self._forward_pre_hooks.pop(handle.id, None)
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. Run a dummy forward "
            "pass to correctly initialize the modules"
        )


def _input(module, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{type(module).__name__}: expected a Tensor input, got {type(input).__name__}")
    return input


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is inferred from the first input's last dimension.

    Example:
        >>> fc = ts.nn.LazyLinear(10)
        >>> fc(ts.randn(4, 7)).shape
        tessera.Size([4, 10])
        >>> fc
        Linear(in_features=7, out_features=10, bias=True)
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False, dtype=dtype)
        if not isinstance(out_features, int) or isinstance(out_features, bool) or out_features < 0:
            raise ValueError(f"LazyLinear: out_features must be a non-negative int, got {out_features!r}")
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def _sync_sizes(self) -> None:
        if self.in_features == 0 and not self.has_uninitialized_params():
            self.in_features = self.weight.shape[1]

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            input = _input(self, input)
            if input.ndim == 0:
                raise RuntimeError(
                    "LazyLinear: expected an input with at least 1 dimension, got a 0-d tensor"
                )
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class _LazyConvXdMixin(LazyModuleMixin):
    _nd: int

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _sync_sizes(self) -> None:
        if self.in_channels == 0 and not self.has_uninitialized_params():
            w = self.weight.shape
            self.in_channels = w[0] if self.transposed else w[1] * self.groups

    def _get_in_channels(self, input: Tensor) -> int:
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(
                f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {type(self).__name__}, but "
                f"got input of size: {tuple(input.shape)}"
            )
        return input.shape[1] if input.ndim == nd + 2 else input.shape[0]

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(_input(self, input))
            if self.in_channels % self.groups != 0:
                raise ValueError(
                    f"{type(self).__name__}: in_channels ({self.in_channels}) must be divisible by groups "
                    f"({self.groups})"
                )
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


def _lazy_conv_init(self, name, out_channels, groups, bias, dtype):
    if not isinstance(out_channels, int) or isinstance(out_channels, bool) or out_channels < 0:
        raise ValueError(f"{name}: out_channels must be a non-negative int, got {out_channels!r}")
    if out_channels % groups:
        raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
    self.weight = UninitializedParameter(dtype=dtype)
    self.out_channels = out_channels
    if bias:
        self.bias = UninitializedParameter(dtype=dtype)


class _LazyConv(_LazyConvXdMixin):
    def __init__(
        self,
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
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, dtype=dtype
        )
        _lazy_conv_init(self, type(self).__name__, out_channels, groups, bias, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    def __init__(
        self,
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
    ) -> None:
        super().__init__(
            0,
            0,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            False,
            dilation,
            padding_mode,
            dtype=dtype,
        )
        _lazy_conv_init(self, type(self).__name__, out_channels, groups, bias, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> ts.nn.LazyConv1d(8, 3)(ts.randn(2, 4, 10)).shape
        tessera.Size([2, 8, 8])
    """

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> ts.nn.LazyConv2d(8, 3, padding=1)(ts.randn(2, 3, 5, 5)).shape
        tessera.Size([2, 8, 5, 5])
    """

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A ``Conv3d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> ts.nn.LazyConv3d(4, 3)(ts.randn(1, 2, 5, 5, 5)).shape
        tessera.Size([1, 4, 3, 3, 3])
    """

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A ``ConvTranspose1d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> ts.nn.LazyConvTranspose1d(8, 3)(ts.randn(2, 4, 10)).shape
        tessera.Size([2, 8, 12])
    """

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> ts.nn.LazyConvTranspose2d(8, 3)(ts.randn(2, 4, 5, 5)).shape
        tessera.Size([2, 8, 7, 7])
    """

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A ``ConvTranspose3d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> ts.nn.LazyConvTranspose3d(2, 3)(ts.randn(1, 4, 3, 3, 3)).shape
        tessera.Size([1, 2, 5, 5, 5])
    """

    cls_to_become = ConvTranspose3d


class _LazyNormBase(LazyModuleMixin):
    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        # Built with one feature and no state (the norm layers need a positive count); the placeholders
        # below replace it, and num_features is 0 until the first input, as in PyTorch.
        super().__init__(1, eps, momentum, False, False, dtype=dtype)
        self.num_features = 0
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = UninitializedParameter(dtype=dtype)
            self.bias = UninitializedParameter(dtype=dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)
            self.num_batches_tracked = _tensor(0, dtype=_dt.int64)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _sync_sizes(self) -> None:
        if self.num_features == 0 and not self.has_uninitialized_params():
            for t in (self.weight, self.running_mean):
                if t is not None:
                    self.num_features = t.shape[0]
                    break

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            input = _input(self, input)
            if input.ndim < 2:
                raise ValueError(
                    f"{type(self).__name__}: expected an input with a channel dimension (dimension 1), got "
                    f"shape {tuple(input.shape)}"
                )
            self.num_features = input.shape[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


def _norm_doc(base: str, shape: str, out: str) -> str:
    return f"""A ``{base}`` whose ``num_features`` is inferred from the first input's dimension 1.

    Example:
        >>> ts.nn.Lazy{base}()(ts.randn{shape}).shape
        tessera.Size({out})
    """


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    __doc__ = _norm_doc("BatchNorm1d", "(4, 3)", "[4, 3]")
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    __doc__ = _norm_doc("BatchNorm2d", "(4, 3, 5, 5)", "[4, 3, 5, 5]")
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    __doc__ = _norm_doc("BatchNorm3d", "(2, 3, 4, 4, 4)", "[2, 3, 4, 4, 4]")
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    __doc__ = _norm_doc("InstanceNorm1d", "(2, 3, 6)", "[2, 3, 6]")
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    __doc__ = _norm_doc("InstanceNorm2d", "(2, 3, 5, 5)", "[2, 3, 5, 5]")
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    __doc__ = _norm_doc("InstanceNorm3d", "(2, 3, 4, 4, 4)", "[2, 3, 4, 4, 4]")
    cls_to_become = InstanceNorm3d
