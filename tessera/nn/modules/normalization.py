"""Normalization layers: ``BatchNorm1d/2d/3d``, ``InstanceNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``,
``RMSNorm``, with PyTorch's parameter and buffer names, defaults and state-dict layout."""

from __future__ import annotations

import numbers

from ...core import creation
from ...core import dtypes as _dt
from ...core.dispatch import apply
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ...ops import nn_ops as _nn
from .. import functional as F
from .. import init
from ..functional.normalization import _batch_norm
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "GroupNorm",
    "RMSNorm",
    "SyncBatchNorm",
    "LocalResponseNorm",
    "CrossMapLRN2d",
]


def _positive_int(layer: str, name: str, v) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")
    return int(v)


def _add_affine(module: Module, shape, affine: bool, bias: bool, dtype) -> None:
    """Register the learnable per-feature ``weight``/``bias`` (or None placeholders, as PyTorch does)."""
    if affine:
        module.weight = Parameter(creation.empty(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(creation.empty(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    """PyTorch's default affine initialisation: weight ones, bias zeros."""
    if module.weight is not None:
        init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """Shared state of batch and instance norm: affine ``weight``/``bias`` (C,) and the running statistics
    buffers ``running_mean``, ``running_var`` and ``num_batches_tracked`` (int64)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive_int(name, "num_features", num_features)
        if momentum is not None and not isinstance(momentum, numbers.Real):
            raise TypeError(f"{name}: momentum must be a float or None, got {type(momentum).__name__}")
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        n = self.num_features
        _add_affine(self, n, affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(n, dtype=dtype))
            self.register_buffer("running_var", creation.ones(n, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=_dt.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Zero ``running_mean`` and ``num_batches_tracked``, fill ``running_var`` with ones."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def _check_channels(self, input: Tensor) -> None:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input, got {type(input).__name__}")
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: expected input with {self.num_features} channels (dimension 1), "
                f"got shape {tuple(input.shape)}"
            )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    def forward(self, input: Tensor) -> Tensor:
        self._check_channels(input)
        if self.training and input.numel() // self.num_features <= 1:
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 value per channel when training, got input of "
                f"shape {tuple(input.shape)}"
            )
        factor = self.momentum
        count = None
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average: the update op reads 1 / num_batches_tracked
                count = self.num_batches_tracked
        elif factor is None:
            factor = 0.0
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return _batch_norm(
            input,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            self.weight,
            self.bias,
            bn_training,
            factor,
            self.eps,
            count,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of a (N, C) or (N, C, L) input over the batch (and length) dimensions.

    In training mode the batch statistics normalize the input and update ``running_mean``/``running_var``
    (``momentum=None``: a cumulative average over ``num_batches_tracked`` batches); in eval mode the running
    statistics are used.

    Example:
        >>> bn = ts.nn.BatchNorm1d(16)
        >>> bn(ts.randn(8, 16)).shape
        tessera.Size([8, 16])
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(
                f"BatchNorm1d: expected 2D or 3D input (got {input.ndim}D input of shape {tuple(input.shape)})"
            )


class BatchNorm2d(_BatchNorm):
    """Batch normalization of a (N, C, H, W) input over the batch and spatial dimensions.

    Example:
        >>> bn = ts.nn.BatchNorm2d(3)
        >>> bn(ts.randn(4, 3, 8, 8)).shape
        tessera.Size([4, 3, 8, 8])
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(
                f"BatchNorm2d: expected 4D input (got {input.ndim}D input of shape {tuple(input.shape)})"
            )


class BatchNorm3d(_BatchNorm):
    """Batch normalization of a (N, C, D, H, W) input."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 5:
            raise ValueError(
                f"BatchNorm3d: expected 5D input (got {input.ndim}D input of shape {tuple(input.shape)})"
            )


class _InstanceNorm(_NormBase):
    _spatial = 1

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input: Tensor) -> None:
        k = self._spatial
        if input.ndim not in (k + 1, k + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {k + 1}D or {k + 2}D input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input, got {type(input).__name__}")
        self._check_input_dim(input)
        unbatched = input.ndim == self._spatial + 1
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"{type(self).__name__}: expected input with {self.num_features} channels, got shape "
                    f"{tuple(input.shape)}"
                )
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            self.momentum if self.momentum is not None else 0.1,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of a (N, C, L) or (C, L) input (no affine parameters by default).

    Example:
        >>> ts.nn.InstanceNorm1d(4)(ts.randn(2, 4, 10)).shape
        tessera.Size([2, 4, 10])
    """

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of a (N, C, H, W) or (C, H, W) input."""

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of a (N, C, D, H, W) or (C, D, H, W) input."""

    _spatial = 3


def _as_shape(layer: str, normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(int(s) for s in normalized_shape)
    except TypeError:
        raise TypeError(
            f"{layer}: normalized_shape must be an int or a sequence of ints, got {normalized_shape!r}"
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{layer}: normalized_shape must be non-negative, got {shape}")
    return shape


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dimensions, with an elementwise affine
    ``weight`` (ones) and ``bias`` (zeros) of that shape.

    Example:
        >>> ln = ts.nn.LayerNorm(64)
        >>> ln(ts.randn(2, 10, 64)).shape
        tessera.Size([2, 10, 64])
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.normalized_shape = _as_shape("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _add_affine(self, self.normalized_shape, elementwise_affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if not isinstance(input, Tensor) or tuple(input.shape[input.ndim - k :]) != self.normalized_shape:
            got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(
                f"LayerNorm: expected input with shape [*, {', '.join(map(str, self.normalized_shape))}], "
                f"got {got}"
            )
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalization: the C channels of an (N, C, *) input split into ``num_groups`` groups, each
    normalized per sample, then a per-channel affine ``weight``/``bias``.

    Example:
        >>> gn = ts.nn.GroupNorm(2, 6)
        >>> gn(ts.randn(4, 6, 5, 5)).shape
        tessera.Size([4, 6, 5, 5])
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        num_groups = _positive_int("GroupNorm", "num_groups", num_groups)
        num_channels = _positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _add_affine(self, num_channels, affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim < 2 or input.shape[1] != self.num_channels:
            got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"GroupNorm: expected input with {self.num_channels} channels, got shape {got}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape`` dimensions,
    ``x / sqrt(mean(x**2) + eps) * weight`` (``eps=None``: the dtype's machine epsilon).

    Example:
        >>> ts.nn.RMSNorm(8)(ts.randn(3, 8)).shape
        tessera.Size([3, 8])
    """

    def __init__(
        self,
        normalized_shape,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.normalized_shape = _as_shape("RMSNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.empty(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if not isinstance(input, Tensor) or tuple(input.shape[input.ndim - k :]) != self.normalized_shape:
            got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(
                f"RMSNorm: expected input with shape [*, {', '.join(map(str, self.normalized_shape))}], "
                f"got {got}"
            )
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose statistics would be synchronised over a process group. Tessera runs one
    process, so it normalizes an (N, C, *) input exactly as ``BatchNorm1d/2d/3d`` does; ``process_group``
    is kept for the API.

    Example:
        >>> net = ts.nn.SyncBatchNorm.convert_sync_batchnorm(ts.nn.Sequential(ts.nn.BatchNorm2d(3)))
        >>> type(net[0]).__name__, net[0](ts.randn(2, 3, 4, 4)).shape
        ('SyncBatchNorm', tessera.Size([2, 3, 4, 4]))
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input)")

    def _check_channels(self, input: Tensor) -> None:
        super()._check_channels(input)
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every ``BatchNorm*d`` in ``module`` (or ``module`` itself) by a ``SyncBatchNorm`` sharing
        its parameters and running statistics.

        Example:
            >>> bn = ts.nn.SyncBatchNorm.convert_sync_batchnorm(ts.nn.BatchNorm1d(4))
            >>> type(bn).__name__
            'SyncBatchNorm'
        """
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
                bias=module.bias is not None,
            )
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in list(module.named_children()):
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class LocalResponseNorm(Module):
    """Local response normalization across channels (``F.local_response_norm``).

    Example:
        >>> ts.nn.LocalResponseNorm(2)(ts.randn(4, 5, 6, 6)).shape
        tessera.Size([4, 5, 6, 6])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(LocalResponseNorm):
    """PyTorch's legacy cross-map LRN of a 4-D input, with its window and its gradient formula.

    Example:
        >>> ts.nn.CrossMapLRN2d(3)(ts.randn(2, 4, 5, 5)).shape
        tessera.Size([2, 4, 5, 5])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__(size, alpha, beta, k)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim != 4:
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {got} instead.")
        attrs = {
            "size": int(self.size),
            "alpha": float(self.alpha),
            "beta": float(self.beta),
            "k": float(self.k),
        }
        return apply(_nn.CROSS_MAP_LRN2D, (input,), attrs)
