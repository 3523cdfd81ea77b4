"""Functional normalization: ``batch_norm``, ``instance_norm``, ``layer_norm``, ``group_norm``, ``rms_norm``.

Batch, instance, layer and group norm are one op each (``batch_norm``, ``instance_norm``, ``layer_norm``,
``group_norm`` of ``tessera.ops.nn_ops``: statistics computed once in NumPy, analytic backward). Running
statistics change through the state-update op ``running_stat_update`` on the buffers.
"""

from __future__ import annotations

import numbers

import numpy as np

from ... import ops
from ...core import creation
from ...core import dtypes as _dt
from ...core.dispatch import apply
from ...core.tensor import Tensor
from ...ops import nn_ops as _nn
from ...ops._util import check_tensor

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "local_response_norm"]


def _check_input(opname: str, input) -> None:
    check_tensor(opname, "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{opname}: expected a floating point input, got {input.dtype.name}")


def _check_vec(opname: str, name: str, t, size: int) -> None:
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{opname}: argument '{name}' must be a Tensor or None, not {type(t).__name__}")
    if tuple(t.shape) != (size,):
        raise RuntimeError(
            f"{opname}: {name} should have shape ({size},) to match the {size} channels of the input, "
            f"got {tuple(t.shape)}"
        )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over all dimensions but the channel dimension 1 of an (N, C, *) input.

    In training (or without running statistics) the batch statistics normalize the input, and the running
    statistics, when given, are updated in place: ``running = (1 - momentum) * running + momentum * stat``
    with the unbiased batch variance for ``running_var``. Otherwise the running statistics are used.

    Example:
        >>> x = ts.randn(8, 3, 4, 4)
        >>> rm, rv = ts.zeros(3), ts.ones(3)
        >>> F.batch_norm(x, rm, rv, training=True).shape
        tessera.Size([8, 3, 4, 4])
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, count=None):
    """``batch_norm``; ``count`` (the ``num_batches_tracked`` tensor) with ``momentum=None`` makes the
    running statistics a cumulative average, its factor ``1 / count`` read inside the update op."""
    _check_input("batch_norm", input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *), got shape {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_vec("batch_norm", name, t, c)
    eps = float(eps)
    if training or running_mean is None or running_var is None:
        m = input.numel() // c if c else 0
        if training and m <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(input.shape)}"
            )
        # the running buffers are not inputs here: they change below, after the op has saved its inputs
        y = apply(_nn.BATCH_NORM, (input, None, None, weight, bias), {"training": True, "eps": eps})
        if training and (running_mean is not None or running_var is not None):
            dims = (0,) + tuple(range(2, input.ndim))
            _nn.update_running_stats(running_mean, running_var, input, dims, eps, momentum, count=count)
        return y
    # evaluation: an affine map with the running statistics
    return apply(
        _nn.BATCH_NORM, (input, running_mean, running_var, weight, bias), {"training": False, "eps": eps}
    )


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample over its spatial dimensions; (N, C, *) input.

    Example:
        >>> F.instance_norm(ts.randn(2, 3, 5)).shape
        tessera.Size([2, 3, 5])
    """
    _check_input("instance_norm", input)
    if input.ndim < 3:
        raise ValueError(
            f"instance_norm: expected an input of shape (N, C, *) with spatial dimensions, got shape "
            f"{tuple(input.shape)}"
        )
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_vec("instance_norm", name, t, c)
    ndim = input.ndim
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(
                "instance_norm: expected running_mean and running_var when use_input_stats=False"
            )
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    dims = tuple(range(2, ndim))
    m = _nn._count(input.shape, dims)
    if m <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input of shape "
            f"{tuple(input.shape)}"
        )
    eps = float(eps)
    y = apply(_nn.INSTANCE_NORM, (input, weight, bias), {"eps": eps})
    _nn.update_running_stats(running_mean, running_var, input, dims, eps, momentum)
    return y


def _normalized_shape(opname: str, input: Tensor, normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k :]) != shape:
        raise RuntimeError(
            f"{opname}: given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of shape {tuple(input.shape)}"
        )
    return shape


def _check_param(opname: str, name: str, t, shape: tuple) -> None:
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{opname}: argument '{name}' must be a Tensor or None, not {type(t).__name__}")
    if tuple(t.shape) != shape:
        raise RuntimeError(
            f"{opname}: expected {name} of shape {shape} (normalized_shape), got {tuple(t.shape)}"
        )


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions, then scale by ``weight`` and shift by
    ``bias`` (both of shape ``normalized_shape``).

    Example:
        >>> F.layer_norm(ts.randn(4, 10), (10,)).shape
        tessera.Size([4, 10])
    """
    _check_input("layer_norm", input)
    shape = _normalized_shape("layer_norm", input, normalized_shape)
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    return apply(_nn.LAYER_NORM, (input, weight, bias), {"normalized_shape": shape, "eps": float(eps)})


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the C channels of an (N, C, *) input into ``num_groups`` groups and normalize each group of
    each sample; ``weight``/``bias`` of shape (C,) scale and shift per channel.

    Example:
        >>> F.group_norm(ts.randn(2, 6, 5), 3).shape
        tessera.Size([2, 6, 5])
    """
    _check_input("group_norm", input)
    if input.ndim < 2:
        raise RuntimeError(
            f"group_norm: expected an input of shape (N, C, *), got shape {tuple(input.shape)}"
        )
    c = input.shape[1]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"group_norm: expected the number of channels in input to be divisible by num_groups, but got "
            f"input of shape {tuple(input.shape)} and num_groups={num_groups}"
        )
    _check_vec("group_norm", "weight", weight, c)
    _check_vec("group_norm", "bias", bias, c)
    return apply(_nn.GROUP_NORM, (input, weight, bias), {"num_groups": int(num_groups), "eps": float(eps)})


def rms_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """``input / sqrt(mean(input**2) + eps) * weight`` over the trailing ``normalized_shape`` dimensions
    (``eps`` defaults to the machine epsilon of the input's dtype, as in PyTorch).

    Example:
        >>> F.rms_norm(ts.randn(4, 10), (10,)).shape
        tessera.Size([4, 10])
    """
    _check_input("rms_norm", input)
    shape = _normalized_shape("rms_norm", input, normalized_shape)
    _check_param("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = _dt.finfo(input.dtype).eps
    dims = tuple(range(-len(shape), 0))
    y = input * ops.rsqrt(ops.mean(input * input, dims, keepdim=True) + eps)
    return y if weight is None else y * weight


def _lrn_window(c: int, size: int) -> np.ndarray:
    """(C, C) 0/1 matrix: row ``c`` selects channels ``c - size // 2 ... c + (size - 1) // 2``."""
    d = np.arange(c)
    off = d[None, :] - d[:, None]
    return ((off >= -(size // 2)) & (off <= (size - 1) // 2)).astype(np.float64)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Local response normalization across the channels (dim 1) of an (N, C, *) input:
    ``x / (k + alpha / size * sum_window x**2) ** beta`` over ``size`` neighbouring channels (zero-padded).

    Example:
        >>> F.local_response_norm(ts.ones(1, 3, 2), size=2, alpha=1.0, beta=1.0)
        tensor([[[0.6667, 0.6667],
                 [0.5000, 0.5000],
                 [0.5000, 0.5000]]])
    """
    _check_input("local_response_norm", input)
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: Expected 3D or higher dimensionality input (got {input.ndim} dimensions)"
        )
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    n, c = input.shape[0], input.shape[1]
    window = creation.tensor(_lrn_window(c, int(size)).astype(input.dtype.np))
    sq = (input * input).reshape(n, c, -1)
    div = ops.matmul(window, sq).reshape(tuple(input.shape)) * (alpha / size) + k
    return input / div**beta


# -- torch-level forms (not in ``__all__``): what ``ts.<name>`` should export ------------------------------------
def _torch_batch_norm(
    input, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float,
    cudnn_enabled: bool = True,
) -> Tensor:  # fmt: skip
    """``torch.batch_norm`` (weight and bias come first; ``cudnn_enabled`` is ignored)."""
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _torch_instance_norm(
    input, weight, bias, running_mean, running_var, use_input_stats: bool, momentum: float, eps: float,
    cudnn_enabled: bool = True,
) -> Tensor:  # fmt: skip
    """``torch.instance_norm``."""
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def _torch_layer_norm(
    input, normalized_shape, weight=None, bias=None, eps: float = 1e-5, cudnn_enable: bool = True
) -> Tensor:
    """``torch.layer_norm``."""
    return layer_norm(input, normalized_shape, weight, bias, eps)


def _torch_group_norm(
    input, num_groups: int, weight=None, bias=None, eps: float = 1e-5, cudnn_enabled: bool = True
) -> Tensor:
    """``torch.group_norm``."""
    return group_norm(input, num_groups, weight, bias, eps)
