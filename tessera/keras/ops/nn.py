"""``keras.ops.nn``: neural-network operations (activations, convolutions, pooling, normalization, losses,
attention, CTC), with Keras 3's names, arguments and defaults.

Every function is built on Tessera's ops, so autograd sees it; on a ``KerasTensor`` it records an ``OpLayer``.
Layouts follow Keras: ``data_format='channels_last'`` by default (``keras.config.image_data_format()``),
convolution kernels ``(*spatial, in_channels, out_channels)``, attention inputs ``(batch, seq, heads, dim)``.

Example:
    >>> from tessera.keras import ops
    >>> ops.relu(ops.convert_to_tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

import tessera as ts

from ... import nn as _tnn
from ...core import dtypes as _dt
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from .. import config
from ..layers.base import symbolic_op
from ._convert import standardize_dtype, to_tensor

F = _tnn.functional

TensorLike = Any  # a Tensor, NumPy array, Python scalar or nested list

_UNARY = [  # name, implementation, whether integer inputs keep their dtype (as in Keras), example input
    ("relu", F.relu, True),
    ("relu6", lambda x: ts.clamp(x, 0, 6), True),
    ("sigmoid", ts.sigmoid, False),
    ("sparse_sigmoid", lambda x: ts.where(x <= -1, 0.0, ts.where(x >= 1, 1.0, 0.5 * (x + 1))), False),
    ("softplus", F.softplus, False),
    ("softsign", F.softsign, False),
    ("silu", F.silu, False),
    ("swish", F.silu, False),
    ("log_sigmoid", F.logsigmoid, False),
    ("hard_sigmoid", F.hardsigmoid, False),
    ("hard_silu", F.hardswish, False),
    ("hard_swish", F.hardswish, False),
    ("selu", F.selu, False),
    ("tanh_shrink", F.tanhshrink, False),
    ("hard_tanh", lambda x: ts.clamp(x, -1, 1), True),
    ("sparse_plus", lambda x: ts.where(x <= -1, 0.0, ts.where(x < 1, 0.25 * (x + 1) ** 2, x)), False),
]

__all__ = sorted(
    [n for n, _, _ in _UNARY]
    + [
        "adaptive_average_pool",
        "adaptive_max_pool",
        "average_pool",
        "batch_normalization",
        "binary_crossentropy",
        "categorical_crossentropy",
        "celu",
        "conv",
        "conv_transpose",
        "ctc_decode",
        "ctc_loss",
        "depth_to_space",
        "depthwise_conv",
        "dot_product_attention",
        "elu",
        "fold",
        "gelu",
        "glu",
        "hard_shrink",
        "layer_normalization",
        "leaky_relu",
        "log_softmax",
        "max_pool",
        "moments",
        "multi_hot",
        "normalize",
        "one_hot",
        "polar",
        "psnr",
        "rms_normalization",
        "separable_conv",
        "soft_shrink",
        "softmax",
        "space_to_depth",
        "sparse_categorical_crossentropy",
        "sparsemax",
        "squareplus",
        "threshold",
        "unfold",
    ]
)


# -- helpers -------------------------------------------------------------------------------------------------
def _tensor(fn: str, x, arg: str = "x", dtype=None) -> Tensor:
    try:
        return to_tensor(x, dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"keras.ops.{fn}: argument `{arg}` must be a tensor or array-like, got {type(x).__name__} ({e})"
        ) from None


def _floating(fn: str, x, arg: str = "x") -> Tensor:
    """``x`` as a floating tensor: integer and bool inputs become ``floatx()``, as Keras's float ops give."""
    t = _tensor(fn, x, arg)
    if t.dtype.is_complex:
        raise TypeError(f"keras.ops.{fn}: argument `{arg}` must be real, got dtype {t.dtype.name}")
    return t if t.dtype.is_floating_point else t.to(standardize_dtype(None))


def _compute_dtype(*dts) -> _dt.dtype:
    """Precision to compute in for ``dts``: at least float32, wider floats kept."""
    out = _dt.float32
    for d in dts:
        if d.is_floating_point and d.itemsize > out.itemsize:
            out = d
    return out


def _result_dtype(*dts) -> _dt.dtype:
    """Keras's ``result_type`` for float results: the promoted dtype (ints give floatx), with 64-bit floats
    narrowed to float32 as Keras does (it follows JAX's default 32-bit mode)."""
    out = dts[0]
    for d in dts[1:]:
        out = ts.promote_types(out, d)
    if not out.is_floating_point:
        return standardize_dtype(None)
    return _dt.float32 if out is _dt.float64 else out


def _axis(fn: str, axis, ndim: int, arg: str = "axis") -> int:
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"keras.ops.{fn}: `{arg}` must be an int, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ValueError(f"keras.ops.{fn}: `{arg}`={axis} is out of range for a tensor of rank {ndim}")
    return int(axis) % max(ndim, 1)


def _axes(fn: str, axes, ndim: int, arg: str = "axis") -> tuple[int, ...]:
    if isinstance(axes, (list, tuple)):
        out = tuple(_axis(fn, a, ndim, arg) for a in axes)
        if len(set(out)) != len(out):
            raise ValueError(f"keras.ops.{fn}: `{arg}` has repeated axes: {axes!r}")
        return tuple(sorted(out))
    return (_axis(fn, axes, ndim, arg),)


def _data_format(fn: str, data_format) -> str:
    df = config.image_data_format() if data_format is None else str(data_format).lower()
    if df not in ("channels_last", "channels_first"):
        raise ValueError(
            f"keras.ops.{fn}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
        )
    return df


def _ntuple(fn: str, arg: str, v, n: int, minimum: int = 1) -> tuple[int, ...]:
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (int(v),) * n
    try:
        v = tuple(v)
    except TypeError:
        v = (v,)
    if len(v) != n or any(
        not isinstance(a, numbers.Integral) or isinstance(a, bool) or a < minimum for a in v
    ):
        raise ValueError(
            f"keras.ops.{fn}: `{arg}` must be an int >= {minimum} or a tuple of {n} such ints, got {v!r}"
        )
    return tuple(int(a) for a in v)


def _padding(fn: str, padding) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"keras.ops.{fn}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def _spatial_input(fn: str, inputs, arg: str = "inputs") -> Tensor:
    x = _tensor(fn, inputs, arg)
    if x.ndim not in (3, 4, 5):
        raise ValueError(
            f"keras.ops.{fn}: `{arg}` must have rank 3, 4 or 5 (batch, spatial..., channels), "
            f"got shape {tuple(x.shape)}"
        )
    return x


def _to_first(x: Tensor, df: str) -> Tensor:
    return ts.movedim(x, -1, 1) if df == "channels_last" else x


def _from_first(x: Tensor, df: str) -> Tensor:
    return ts.movedim(x, 1, -1) if df == "channels_last" else x


def _same_pads(sizes, kernel, strides, dilation) -> list[tuple[int, int]]:
    """(before, after) per spatial dimension for 'same' padding: output ``ceil(n / stride)``, the odd
    element of the total padding after."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _pad_arg(pads) -> tuple[int, ...]:
    out: tuple[int, ...] = ()
    for b, a in reversed(pads):
        out += (b, a)
    return out


_BY_RANK = {
    "conv": {1: F.conv1d, 2: F.conv2d, 3: F.conv3d},
    "conv_transpose": {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d},
    "max": {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d},
    "avg": {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d},
    "adaptive_max": {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d},
    "adaptive_avg": {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d},
}


# -- activations ---------------------------------------------------------------------------------------------
def _make_unary(name: str, impl, keeps_int: bool):
    def fn(x: TensorLike) -> Tensor:
        t = _tensor(name, x)
        if t.dtype.is_complex:
            raise TypeError(f"keras.ops.{name}: argument `x` must be real, got dtype {t.dtype.name}")
        if keeps_int and not t.dtype.is_floating_point:
            return impl(t).to(t.dtype)
        return impl(t if t.dtype.is_floating_point else t.to(standardize_dtype(None)))

    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = (
        f"Keras's ``{name}`` activation, element-wise"
        + (" (integer inputs keep their dtype)." if keeps_int else " (integer inputs give floatx).")
        + f"\n\n    Example:\n        >>> ops.{name}(ops.convert_to_tensor([-1.0, 0.0, 2.0])).shape\n"
        "        tessera.Size([3])\n    "
    )
    return symbolic_op(fn)


for _name, _impl, _keeps in _UNARY:
    globals()[_name] = _make_unary(_name, _impl, _keeps)
del _name, _impl, _keeps


@symbolic_op
def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Example:
        >>> ops.elu(ops.convert_to_tensor([-1.0, 1.0])).shape
        tessera.Size([2])
    """
    return F.elu(_floating("elu", x), alpha=float(alpha))


@symbolic_op
def celu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """Continuously differentiable ELU: ``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``.

    Example:
        >>> ops.celu(ops.convert_to_tensor([-1.0, 1.0]), alpha=2.0).shape
        tessera.Size([2])
    """
    if alpha == 0:
        raise ValueError("keras.ops.celu: alpha must not be 0")
    return F.celu(_floating("celu", x), alpha=float(alpha))


@symbolic_op
def gelu(x: TensorLike, approximate: bool = True) -> Tensor:
    """Gaussian error linear unit; ``approximate=True`` (Keras's default) uses the tanh approximation.

    Example:
        >>> ops.gelu(ops.convert_to_tensor([1.0]), approximate=False).shape
        tessera.Size([1])
    """
    return F.gelu(_floating("gelu", x), approximate="tanh" if approximate else "none")


@symbolic_op
def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Tensor:
    """Leaky ReLU: ``x`` if ``x >= 0`` else ``negative_slope * x`` (Keras's default slope is 0.2).

    Example:
        >>> ops.leaky_relu(ops.convert_to_tensor([-1.0, 1.0])).shape
        tessera.Size([2])
    """
    return F.leaky_relu(_floating("leaky_relu", x), negative_slope=float(negative_slope))


@symbolic_op
def soft_shrink(x: TensorLike, threshold: float = 0.5) -> Tensor:
    """Soft shrinkage: ``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0.

    Example:
        >>> ops.soft_shrink(ops.convert_to_tensor([-1.0, 0.2, 1.0])).shape
        tessera.Size([3])
    """
    if threshold < 0:
        raise ValueError(f"keras.ops.soft_shrink: threshold must be >= 0, got {threshold}")
    return F.softshrink(_floating("soft_shrink", x), float(threshold))


@symbolic_op
def hard_shrink(x: TensorLike, threshold: float = 0.5) -> Tensor:
    """Hard shrinkage: ``x`` where ``|x| > threshold``, else 0.

    Example:
        >>> ops.hard_shrink(ops.convert_to_tensor([-1.0, 0.2, 1.0])).shape
        tessera.Size([3])
    """
    return F.hardshrink(_floating("hard_shrink", x), float(threshold))


@symbolic_op
def squareplus(x: TensorLike, b: float = 4) -> Tensor:
    """SquarePlus: ``(x + sqrt(x**2 + b)) / 2``.

    Example:
        >>> ops.squareplus(ops.convert_to_tensor([0.0])).shape
        tessera.Size([1])
    """
    t = _floating("squareplus", x)
    if isinstance(b, numbers.Real) and b < 0:
        raise ValueError(f"keras.ops.squareplus: b must be >= 0, got {b}")
    return (t + ts.sqrt(t * t + b)) / 2


@symbolic_op
def threshold(x: TensorLike, threshold: float, default_value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``default_value`` (the dtype of ``x`` is kept).

    Example:
        >>> ops.threshold(ops.convert_to_tensor([0.0, 2.0]), 1.0, -1.0).shape
        tessera.Size([2])
    """
    t = _tensor("threshold", x)
    for arg, v in (("threshold", threshold), ("default_value", default_value)):
        if not isinstance(v, numbers.Real):
            raise TypeError(f"keras.ops.threshold: `{arg}` must be a number, got {v!r}")
    return ts.where(t > threshold, t, ts.full_like(t, default_value))


@symbolic_op
def glu(x: TensorLike, axis: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` with ``a, b`` the two halves of ``x`` along ``axis``.

    Example:
        >>> ops.glu(ops.ones((2, 4))).shape
        tessera.Size([2, 2])
    """
    t = _floating("glu", x)
    ax = _axis("glu", axis, t.ndim)
    if t.shape[ax] % 2:
        raise ValueError(
            f"keras.ops.glu: axis {axis} of x must have an even size, got shape {tuple(t.shape)}"
        )
    a, b = ts.chunk(t, 2, dim=ax)
    return a * ts.sigmoid(b)


def _over_axes(fn: str, x: Tensor, axis, op) -> Tensor:
    """``op(y, dim=-1)`` applied as if the axes in ``axis`` (None: all) were one flattened last axis."""
    if axis is None:
        return op(x.reshape(-1), -1).reshape(tuple(x.shape))
    if isinstance(axis, (tuple, list)):
        axes = _axes(fn, axis, x.ndim)
        keep = [a for a in range(x.ndim) if a not in axes]
        perm = keep + list(axes)
        xt = x.permute(*perm)
        y = op(xt.reshape(*[x.shape[a] for a in keep], -1), -1).reshape(tuple(xt.shape))
        return y.permute(*np.argsort(perm).tolist())
    return op(x, _axis(fn, axis, x.ndim))


@symbolic_op
def softmax(x: TensorLike, axis: int | tuple[int, ...] | None = -1) -> Tensor:
    """Softmax over ``axis`` (an int, a tuple of axes treated as one, or None for all).

    Example:
        >>> float(ops.softmax(ops.ones((3,))).sum())
        1.0
    """
    t = _floating("softmax", x)
    if isinstance(axis, numbers.Integral) and t.ndim and t.shape[_axis("softmax", axis, t.ndim)] == 1:
        warnings.warn(
            f"keras.ops.softmax: axis {axis} of a tensor of shape {tuple(t.shape)} has size 1, so the "
            "softmax is always 1 (did you mean sigmoid?)",
            stacklevel=2,
        )
    return _over_axes("softmax", t, axis, lambda y, d: F.softmax(y, dim=d))


@symbolic_op
def log_softmax(x: TensorLike, axis: int | tuple[int, ...] | None = -1) -> Tensor:
    """Log of the softmax over ``axis`` (an int, a tuple of axes treated as one, or None for all).

    Example:
        >>> ops.log_softmax(ops.ones((2, 3))).shape
        tessera.Size([2, 3])
    """
    return _over_axes("log_softmax", _floating("log_softmax", x), axis, lambda y, d: F.log_softmax(y, dim=d))


@symbolic_op
def sparsemax(x: TensorLike, axis: int = -1) -> Tensor:
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x`` onto the simplex along
    ``axis``; like softmax but with exact zeros.

    Example:
        >>> ops.sparsemax(ops.convert_to_tensor([1.0, 0.0, 3.0])).shape
        tessera.Size([3])
    """
    t = _floating("sparsemax", x)
    ax = _axis("sparsemax", axis, t.ndim)
    srt = ts.sort(t, dim=ax, descending=True)[0]
    csum = ts.cumsum(srt, dim=ax)
    shape = [1] * t.ndim
    shape[ax] = -1
    r = ts.arange(1, t.shape[ax] + 1, dtype=t.dtype).reshape(*shape)
    support = srt - (csum - 1) / r > 0
    k = support.to(t.dtype).sum(dim=ax, keepdim=True)
    tau = (ts.where(support, csum, 0.0).sum(dim=ax, keepdim=True) - 1) / k
    return ts.clamp(t - tau, min=0.0)


# -- pooling -------------------------------------------------------------------------------------------------
def _pool(fn: str, kind: str, inputs, pool_size, strides, padding, data_format) -> Tensor:
    x = _spatial_input(fn, inputs)
    r = x.ndim - 2
    k = _ntuple(fn, "pool_size", pool_size, r)
    s = k if strides is None else _ntuple(fn, "strides", strides, r)
    p = _padding(fn, padding)
    df = _data_format(fn, data_format)
    if kind == "avg" and not x.dtype.is_floating_point:
        x = x.to(standardize_dtype(None))
    xf = _to_first(x, df)
    sizes = tuple(xf.shape[2:])
    if p == "valid" and any(n < kk for n, kk in zip(sizes, k)):
        raise ValueError(
            f"keras.ops.{fn}: pool_size {k} is larger than the spatial shape {sizes} of inputs "
            f"{tuple(x.shape)} with padding='valid'"
        )
    pads = _same_pads(sizes, k, s, (1,) * r) if p == "same" else [(0, 0)] * r
    padded = any(b or a for b, a in pads)
    pool = _BY_RANK[kind][r]
    if kind == "max":
        if padded:
            fill = float("-inf") if xf.dtype.is_floating_point else int(np.iinfo(xf.dtype.np).min)
            xf = F.pad(xf, _pad_arg(pads), value=fill)
        y = pool(xf, k, s)
    elif padded and all(b == a for b, a in pads):
        # Even padding: border windows average the elements inside the input only.
        y = pool(F.pad(xf, _pad_arg(pads)), k, s)
        with no_grad():
            frac = pool(F.pad(ts.ones(1, 1, *sizes, dtype=xf.dtype), _pad_arg(pads)), k, s)
        y = y / frac
    elif padded:
        # Uneven padding repeats the edge values, as Keras's torch backend (and Keras's own reference) does.
        y = pool(F.pad(xf, _pad_arg(pads), mode="replicate"), k, s)
    else:
        y = pool(xf, k, s)
    return _from_first(y, df)


@symbolic_op
def max_pool(
    inputs: TensorLike,
    pool_size: int | tuple[int, ...],
    strides: int | tuple[int, ...] | None = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """Max pooling over the 1-3 spatial axes of ``inputs`` (``strides`` default to ``pool_size``).

    Example:
        >>> ops.max_pool(ops.ones((1, 4, 4, 3)), 2).shape
        tessera.Size([1, 2, 2, 3])
    """
    return _pool("max_pool", "max", inputs, pool_size, strides, padding, data_format)


@symbolic_op
def average_pool(
    inputs: TensorLike,
    pool_size: int | tuple[int, ...],
    strides: int | tuple[int, ...] | None = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """Average pooling over the 1-3 spatial axes. With ``padding='same'``, border windows average the
    elements inside the input when the padding is even on both sides; an odd total padding repeats the edge
    values into the extra element, as Keras's torch backend does.

    Example:
        >>> ops.average_pool(ops.ones((1, 5, 3)), 2, padding="same").shape
        tessera.Size([1, 3, 3])
    """
    return _pool("average_pool", "avg", inputs, pool_size, strides, padding, data_format)


def _adaptive(fn: str, kind: str, inputs, output_size, data_format) -> Tensor:
    x = _spatial_input(fn, inputs)
    r = x.ndim - 2
    out = _ntuple(fn, "output_size", output_size, r)
    df = _data_format(fn, data_format)
    if kind == "adaptive_avg" and not x.dtype.is_floating_point:
        x = x.to(standardize_dtype(None))
    y = _BY_RANK[kind][r](_to_first(x, df), out if r > 1 else out[0])
    if isinstance(y, tuple):
        y = y[0]
    return _from_first(y, df)


@symbolic_op
def adaptive_max_pool(
    inputs: TensorLike, output_size: int | tuple[int, ...], data_format: str | None = None
) -> Tensor:
    """Max pooling to a fixed spatial ``output_size`` (window ``[floor(i*n/o), ceil((i+1)*n/o))``).

    Example:
        >>> ops.adaptive_max_pool(ops.ones((1, 7, 9, 2)), (2, 3)).shape
        tessera.Size([1, 2, 3, 2])
    """
    return _adaptive("adaptive_max_pool", "adaptive_max", inputs, output_size, data_format)


@symbolic_op
def adaptive_average_pool(
    inputs: TensorLike, output_size: int | tuple[int, ...], data_format: str | None = None
) -> Tensor:
    """Average pooling to a fixed spatial ``output_size``.

    Example:
        >>> ops.adaptive_average_pool(ops.ones((1, 7, 2)), 3).shape
        tessera.Size([1, 3, 2])
    """
    return _adaptive("adaptive_average_pool", "adaptive_avg", inputs, output_size, data_format)


# -- convolutions --------------------------------------------------------------------------------------------
def _conv_args(fn: str, inputs, kernel, strides, padding, data_format, dilation_rate, karg="kernel"):
    x = _spatial_input(fn, inputs)
    w = _tensor(fn, kernel, karg)
    r = x.ndim - 2
    if w.ndim != r + 2:
        raise ValueError(
            f"keras.ops.{fn}: `{karg}` must have rank {r + 2} (spatial..., in, out) for inputs of rank "
            f"{x.ndim}, got kernel shape {tuple(w.shape)}"
        )
    s = _ntuple(fn, "strides", strides, r)
    d = _ntuple(fn, "dilation_rate", dilation_rate, r)
    p = _padding(fn, padding)
    df = _data_format(fn, data_format)
    dt = ts.promote_types(x.dtype, w.dtype)
    out = dt
    if not dt.is_floating_point:
        dt = _dt.float64  # exact for integer sums; the result goes back to the integer dtype
    return x.to(dt), w.to(dt), r, s, d, p, df, out


def _conv_first(fn: str, xf: Tensor, w: Tensor, r, s, d, p, shape_in) -> Tensor:
    """Convolution of channels-first ``xf`` with a Keras kernel ``w`` (spatial..., in/groups, out)."""
    c_in, k_in = xf.shape[1], w.shape[-2]
    if k_in == 0 or c_in % k_in:
        raise ValueError(
            f"keras.ops.{fn}: the input channels ({c_in}, inputs shape {shape_in}) must be a multiple of the "
            f"kernel's input channels ({k_in}, kernel shape {tuple(w.shape)})"
        )
    groups = c_in // k_in
    if w.shape[-1] % groups:
        raise ValueError(
            f"keras.ops.{fn}: the kernel's output channels ({w.shape[-1]}) must be a multiple of the "
            f"number of groups ({groups})"
        )
    wt = w.permute(r + 1, r, *range(r))
    ks = tuple(w.shape[:r])
    sizes = tuple(xf.shape[2:])
    if p == "same":
        pads = _same_pads(sizes, ks, s, d)
        if any(b or a for b, a in pads):
            xf = F.pad(xf, _pad_arg(pads))
    elif any(n < (kk - 1) * dd + 1 for n, kk, dd in zip(sizes, ks, d)):
        raise ValueError(
            f"keras.ops.{fn}: the dilated kernel {ks} (dilation_rate {d}) is larger than the spatial shape "
            f"{sizes} of inputs {shape_in} with padding='valid'"
        )
    return _BY_RANK["conv"][r](xf, wt, stride=s, dilation=d, groups=groups)


@symbolic_op
def conv(
    inputs: TensorLike,
    kernel: TensorLike,
    strides: int | tuple[int, ...] = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | tuple[int, ...] = 1,
) -> Tensor:
    """N-D convolution (N = 1, 2, 3) with a kernel of shape ``(*kernel_size, in_channels // groups,
    out_channels)``; grouped when ``in_channels`` is a multiple of the kernel's.

    Example:
        >>> ops.conv(ops.ones((1, 8, 8, 3)), ops.ones((3, 3, 3, 4)), padding="same").shape
        tessera.Size([1, 8, 8, 4])
    """
    x, w, r, s, d, p, df, out = _conv_args(
        "conv", inputs, kernel, strides, padding, data_format, dilation_rate
    )
    return _from_first(_conv_first("conv", _to_first(x, df), w, r, s, d, p, tuple(x.shape)), df).to(out)


def _check_in_channels(fn: str, x: Tensor, w: Tensor, df: str, karg: str) -> None:
    c = x.shape[-1] if df == "channels_last" else x.shape[1]
    if w.shape[-2] != c:
        raise ValueError(
            f"keras.ops.{fn}: the input channels ({c}, inputs shape {tuple(x.shape)}) must equal "
            f"`{karg}`.shape[-2] ({w.shape[-2]}, kernel shape {tuple(w.shape)})"
        )


@symbolic_op
def depthwise_conv(
    inputs: TensorLike,
    kernel: TensorLike,
    strides: int | tuple[int, ...] = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | tuple[int, ...] = 1,
) -> Tensor:
    """Depthwise convolution: each input channel convolved with its own ``depth_multiplier`` filters;
    kernel shape ``(*kernel_size, in_channels, depth_multiplier)``.

    Example:
        >>> ops.depthwise_conv(ops.ones((1, 8, 8, 3)), ops.ones((3, 3, 3, 2))).shape
        tessera.Size([1, 6, 6, 6])
    """
    fn = "depthwise_conv"
    x, w, r, s, d, p, df, out = _conv_args(fn, inputs, kernel, strides, padding, data_format, dilation_rate)
    _check_in_channels(fn, x, w, df, "kernel")
    w = w.reshape(*w.shape[:-2], 1, w.shape[-2] * w.shape[-1])
    return _from_first(_conv_first(fn, _to_first(x, df), w, r, s, d, p, tuple(x.shape)), df).to(out)


@symbolic_op
def separable_conv(
    inputs: TensorLike,
    depthwise_kernel: TensorLike,
    pointwise_kernel: TensorLike,
    strides: int | tuple[int, ...] = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | tuple[int, ...] = 1,
) -> Tensor:
    """Depthwise convolution followed by a pointwise (1x...x1) one; ``pointwise_kernel`` has shape
    ``(1, ..., 1, in_channels * depth_multiplier, out_channels)``.

    Example:
        >>> ops.separable_conv(ops.ones((1, 8, 8, 3)), ops.ones((3, 3, 3, 2)), ops.ones((1, 1, 6, 4))).shape
        tessera.Size([1, 6, 6, 4])
    """
    fn = "separable_conv"
    x, w, r, s, d, p, df, out = _conv_args(
        fn, inputs, depthwise_kernel, strides, padding, data_format, dilation_rate, "depthwise_kernel"
    )
    _check_in_channels(fn, x, w, df, "depthwise_kernel")
    pw0 = _tensor(fn, pointwise_kernel, "pointwise_kernel")
    out = ts.promote_types(out, pw0.dtype)
    pw = pw0.to(x.dtype)
    if pw.ndim != r + 2 or any(k != 1 for k in pw.shape[:r]) or pw.shape[-2] != w.shape[-2] * w.shape[-1]:
        raise ValueError(
            f"keras.ops.{fn}: `pointwise_kernel` must have shape {(1,) * r + (w.shape[-2] * w.shape[-1], 'out')}"
            f" for depthwise_kernel shape {tuple(w.shape)}, got {tuple(pw.shape)}"
        )
    w = w.reshape(*w.shape[:-2], 1, w.shape[-2] * w.shape[-1])
    y = _conv_first(fn, _to_first(x, df), w, r, s, d, p, tuple(x.shape))
    y = _conv_first(fn, y, pw.to(y.dtype), r, (1,) * r, (1,) * r, "valid", tuple(x.shape))
    return _from_first(y, df).to(out)


def _transpose_pads(k: int, s: int, d: int, padding: str, output_padding) -> tuple[int, int]:
    """(left, right) padding of the stride-dilated input before a full correlation with the flipped kernel:
    Keras's conv-transpose output (the TensorFlow/JAX rule for ``padding`` and ``output_padding``)."""
    ke = (k - 1) * d + 1
    if padding == "valid":
        op = max(ke, s) - ke if output_padding is None else output_padding
        return ke - 1, ke - 1 + op
    pad_len = s + ke - 2 if output_padding is None else ke + ke % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, ke - 1)
    return left, pad_len - left


@symbolic_op
def conv_transpose(
    inputs: TensorLike,
    kernel: TensorLike,
    strides: int | tuple[int, ...] = 1,
    padding: str = "valid",
    output_padding: int | tuple[int, ...] | None = None,
    data_format: str | None = None,
    dilation_rate: int | tuple[int, ...] = 1,
) -> Tensor:
    """Transposed N-D convolution (the gradient of ``conv``); kernel shape ``(*kernel_size, out_channels,
    in_channels)``. With ``padding='same'`` and no ``output_padding`` the output is ``input * strides``.

    Example:
        >>> ops.conv_transpose(ops.ones((1, 4, 4, 3)), ops.ones((3, 3, 5, 3)), 2, padding="same").shape
        tessera.Size([1, 8, 8, 5])
    """
    fn = "conv_transpose"
    x = _spatial_input(fn, inputs)
    w = _tensor(fn, kernel, "kernel")
    r = x.ndim - 2
    if w.ndim != r + 2:
        raise ValueError(
            f"keras.ops.{fn}: `kernel` must have rank {r + 2} (spatial..., out, in), got shape {tuple(w.shape)}"
        )
    s = _ntuple(fn, "strides", strides, r)
    d = _ntuple(fn, "dilation_rate", dilation_rate, r)
    p = _padding(fn, padding)
    df = _data_format(fn, data_format)
    ops_ = None if output_padding is None else _ntuple(fn, "output_padding", output_padding, r, minimum=0)
    c = x.shape[-1] if df == "channels_last" else x.shape[1]
    if w.shape[-1] != c:
        raise ValueError(
            f"keras.ops.{fn}: the input channels ({c}, inputs shape {tuple(x.shape)}) must equal "
            f"kernel.shape[-1] ({w.shape[-1]}, kernel shape {tuple(w.shape)})"
        )
    out_dt = ts.promote_types(x.dtype, w.dtype)
    dt = out_dt if out_dt.is_floating_point else _dt.float64
    xf = _to_first(x.to(dt), df)
    wt = w.to(dt).permute(r + 1, r, *range(r))  # (in, out, spatial...)
    y = _BY_RANK["conv_transpose"][r](xf, wt, stride=s, dilation=d)
    # The full output corresponds to (ke - 1, ke - 1) padding; crop (or zero-extend) to Keras's padding.
    index = [slice(None), slice(None)]
    extend = []
    for i in range(r):
        ke = (w.shape[i] - 1) * d[i] + 1
        left, right = _transpose_pads(w.shape[i], s[i], d[i], p, None if ops_ is None else ops_[i])
        cl, cr = ke - 1 - left, ke - 1 - right
        n = y.shape[2 + i]
        index.append(slice(max(cl, 0), n - max(cr, 0)))
        extend.append((max(-cl, 0), max(-cr, 0)))
    y = y[tuple(index)]
    if any(a or b for a, b in extend):
        y = F.pad(y, _pad_arg(extend))
    return _from_first(y, df).to(out_dt)


# -- one-hot, losses -----------------------------------------------------------------------------------------
def _int_tensor(fn: str, x, arg: str) -> Tensor:
    t = _tensor(fn, x, arg)
    if t.dtype.is_complex:
        raise TypeError(f"keras.ops.{fn}: `{arg}` must hold integers, got dtype {t.dtype.name}")
    return t.to(ts.int64)


@symbolic_op
def one_hot(x: TensorLike, num_classes: int, axis: int = -1, dtype=None, sparse: bool = False) -> Tensor:
    """One-hot encoding of the integer tensor ``x`` along a new ``axis`` (negative indices give all zeros).

    Example:
        >>> ops.one_hot(ops.convert_to_tensor([0, 2]), 3).shape
        tessera.Size([2, 3])
    """
    fn = "one_hot"
    if sparse:
        raise ValueError(f"keras.ops.{fn}: sparse=True is not supported (Tessera has no sparse tensors)")
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"keras.ops.{fn}: num_classes must be a positive int, got {num_classes!r}")
    t = _int_tensor(fn, x, "x")
    ax = _axis(fn, axis, t.ndim + 1)
    dt = standardize_dtype(dtype)
    with no_grad():
        out = F.one_hot(ts.clamp(t, min=0), int(num_classes))
        out = ts.where((t >= 0).unsqueeze(-1), out, 0).to(dt)
    return ts.movedim(out, -1, ax) if ax != t.ndim else out


@symbolic_op
def multi_hot(
    inputs: TensorLike,
    num_classes: int | None = None,
    axis: int = -1,
    dtype=None,
    sparse: bool = False,
    **kwargs,
) -> Tensor:
    """Multi-hot encoding: the one-hot vectors of each sample's integer ids, combined by max (``num_tokens``
    is accepted as the old name of ``num_classes``).

    Example:
        >>> ops.multi_hot(ops.convert_to_tensor([[0, 2], [1, 1]]), 4).shape
        tessera.Size([2, 4])
    """
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"keras.ops.multi_hot: unexpected arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("keras.ops.multi_hot: argument `num_classes` must be specified")
    t = _tensor("multi_hot", inputs, "inputs")
    return one_hot(t, num_classes, axis=axis, dtype=dtype, sparse=sparse).amax(dim=1 if t.ndim > 1 else 0)


def _same_shape(fn: str, target: Tensor, output: Tensor) -> None:
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(
            f"keras.ops.{fn}: `target` and `output` must have the same shape, got target.shape="
            f"{tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


@symbolic_op
def binary_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False) -> Tensor:
    """Element-wise binary cross-entropy between ``target`` and ``output`` (probabilities, clipped to
    ``[eps, 1 - eps]``, or logits with ``from_logits=True``).

    Example:
        >>> ops.binary_crossentropy(ops.convert_to_tensor([1.0]), ops.convert_to_tensor([0.9])).shape
        tessera.Size([1])
    """
    fn = "binary_crossentropy"
    o = _floating(fn, output, "output")
    t = _floating(fn, target, "target").to(o.dtype)
    _same_shape(fn, t, o)
    if from_logits:
        return F.binary_cross_entropy_with_logits(o, t, reduction="none")
    eps = config.epsilon()
    o = ts.clamp(o, eps, 1.0 - eps)
    return -(t * ts.log(o) + (1 - t) * ts.log(1 - o))


@symbolic_op
def categorical_crossentropy(
    target: TensorLike, output: TensorLike, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Cross-entropy between one-hot (or soft) ``target`` and ``output`` along ``axis``; probabilities are
    renormalized and clipped, logits go through ``log_softmax``.

    Example:
        >>> ops.categorical_crossentropy(ops.convert_to_tensor([[0.0, 1.0]]), ops.convert_to_tensor([[0.3, 0.7]])).shape
        tessera.Size([1])
    """
    fn = "categorical_crossentropy"
    o = _floating(fn, output, "output")
    t = _floating(fn, target, "target").to(o.dtype)
    _same_shape(fn, t, o)
    if o.ndim < 1:
        raise ValueError(f"keras.ops.{fn}: `target` and `output` must be at least rank 1, got shape ()")
    ax = _axis(fn, axis, o.ndim)
    if from_logits:
        log_prob = F.log_softmax(o, dim=ax)
    else:
        eps = config.epsilon()
        log_prob = ts.log(ts.clamp(o / o.sum(dim=ax, keepdim=True), eps, 1.0 - eps))
    return -(t * log_prob).sum(dim=ax)


@symbolic_op
def sparse_categorical_crossentropy(
    target: TensorLike, output: TensorLike, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Cross-entropy between integer class ids ``target`` and ``output`` (probabilities or logits along
    ``axis``); ``target`` may keep a size-1 class axis.

    Example:
        >>> ops.sparse_categorical_crossentropy(ops.convert_to_tensor([1]), ops.convert_to_tensor([[0.3, 0.7]])).shape
        tessera.Size([1])
    """
    fn = "sparse_categorical_crossentropy"
    o = _floating(fn, output, "output")
    t = _int_tensor(fn, target, "target")
    if o.ndim < 1:
        raise ValueError(f"keras.ops.{fn}: `output` must be at least rank 1, got shape ()")
    ax = _axis(fn, axis, o.ndim)
    if t.ndim == o.ndim and t.shape[ax] == 1:
        t = t.squeeze(ax)
    expected = tuple(o.shape[:ax]) + tuple(o.shape[ax + 1 :])
    if tuple(t.shape) != expected:
        raise ValueError(
            f"keras.ops.{fn}: `target` must have the shape of `output` without its class axis, got "
            f"target.shape={tuple(t.shape)}, output.shape={tuple(o.shape)}"
        )
    if from_logits:
        log_prob = F.log_softmax(o, dim=ax)
    else:
        eps = config.epsilon()
        log_prob = ts.log(ts.clamp(o / o.sum(dim=ax, keepdim=True), eps, 1.0 - eps))
    n = o.shape[ax]
    with no_grad():
        bad = ((t < 0) | (t >= n)).any()
    if bool(bad):
        raise ValueError(f"keras.ops.{fn}: `target` ids must lie in [0, {n}) (the size of the class axis)")
    return -ts.take_along_dim(log_prob, t.unsqueeze(ax), dim=ax).squeeze(ax)


# -- normalization -------------------------------------------------------------------------------------------
@symbolic_op
def moments(
    x: TensorLike, axes: int | list[int] | tuple[int, ...], keepdims: bool = False, synchronized: bool = False
) -> tuple[Tensor, Tensor]:
    """Mean and (biased) variance of ``x`` over ``axes``.

    Example:
        >>> [m.shape for m in ops.moments(ops.ones((2, 3)), axes=[0])]
        [tessera.Size([3]), tessera.Size([3])]
    """
    fn = "moments"
    if synchronized:
        raise NotImplementedError(f"keras.ops.{fn}: synchronized=True needs a distribution strategy")
    t = _floating(fn, x)
    ax = _axes(fn, axes, t.ndim, "axes")
    work = t.to(ts.float32) if t.dtype is _dt.float16 else t  # float16's range is too small for statistics
    mean = work.mean(dim=ax, keepdim=True)
    var = ((work - mean) ** 2).mean(dim=ax, keepdim=True)
    if not keepdims:
        mean, var = mean.squeeze(ax), var.squeeze(ax)
    if work is not t:
        big = float(np.finfo(np.float16).max)
        mean, var = ts.clamp(mean, -big, big).to(t.dtype), ts.clamp(var, -big, big).to(t.dtype)
    return mean, var


@symbolic_op
def batch_normalization(
    x: TensorLike,
    mean: TensorLike,
    variance: TensorLike,
    axis: int,
    offset: TensorLike | None = None,
    scale: TensorLike | None = None,
    epsilon: float = 1e-3,
) -> Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the vectors along ``axis``.

    Example:
        >>> ops.batch_normalization(ops.ones((2, 3)), ops.zeros((3,)), ops.ones((3,)), axis=-1).shape
        tessera.Size([2, 3])
    """
    fn = "batch_normalization"
    t = _floating(fn, x)
    ax = _axis(fn, axis, t.ndim)
    shape = [1] * t.ndim
    shape[ax] = t.shape[ax]
    vecs = {}
    for arg, v in (("mean", mean), ("variance", variance), ("offset", offset), ("scale", scale)):
        if v is None:
            continue
        vt = _floating(fn, v, arg).to(t.dtype)
        if tuple(vt.shape) != (t.shape[ax],):
            raise ValueError(
                f"keras.ops.{fn}: `{arg}` must be a vector of length x.shape[axis] = {t.shape[ax]}, got shape "
                f"{tuple(vt.shape)}"
            )
        vecs[arg] = vt.reshape(*shape)
    inv = ts.rsqrt(vecs["variance"] + epsilon)
    if "scale" in vecs:
        inv = inv * vecs["scale"]
    y = (t - vecs["mean"]) * inv
    return y + vecs["offset"] if "offset" in vecs else y


@symbolic_op
def layer_normalization(
    x: TensorLike,
    gamma: TensorLike | None = None,
    beta: TensorLike | None = None,
    axis: int | list[int] = -1,
    epsilon: float | None = None,
    **kwargs,
) -> Tensor:
    """Layer normalization over ``axis``: ``(x - mean) / sqrt(var + epsilon) * gamma + beta`` (computed in at
    least float32; ``epsilon`` defaults to ``keras.config.epsilon()``).

    Example:
        >>> ops.layer_normalization(ops.arange(5, dtype="float32")).shape
        tessera.Size([5])
    """
    fn = "layer_normalization"
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"keras.ops.{fn}: unexpected arguments {sorted(kwargs)}")
    if rms_scaling:
        warnings.warn(
            f"keras.ops.{fn}: rms_scaling=True is deprecated (it scales by the variance, not the root mean "
            "square); use keras.ops.rms_normalization",
            stacklevel=2,
        )
    t0 = _tensor(fn, x)
    eps = config.epsilon() if epsilon is None else float(epsilon)
    t = t0.to(_compute_dtype(t0.dtype))
    ax = _axes(fn, axis, t.ndim)
    bshape = [1] * t.ndim
    for a in ax:
        bshape[a] = t.shape[a]

    def vec(arg, v):
        if v is None:
            return None
        vt = _floating(fn, v, arg).to(t.dtype)
        if vt.numel() != int(np.prod([t.shape[a] for a in ax])):
            raise ValueError(
                f"keras.ops.{fn}: `{arg}` must have {[t.shape[a] for a in ax]} elements (x.shape at axis "
                f"{axis}), got shape {tuple(vt.shape)}"
            )
        return vt.reshape(*bshape)

    g, b = vec("gamma", gamma), vec("beta", beta)
    if rms_scaling:
        y = t * ts.rsqrt(t.var(dim=ax, keepdim=True, unbiased=False) + eps)
        y = y if g is None else y * g
    else:
        mean = t.mean(dim=ax, keepdim=True)
        var = ((t - mean) ** 2).mean(dim=ax, keepdim=True)
        y = (t - mean) * ts.rsqrt(var + eps)
        y = y if g is None else y * g
        y = y if b is None else y + b
    return y.to(t0.dtype)


@symbolic_op
def rms_normalization(
    x: TensorLike, scale: TensorLike | None = None, axis: int | list[int] = -1, epsilon: float | None = None
) -> Tensor:
    """RMS normalization: ``x * rsqrt(mean(x**2, axis) + epsilon) * scale`` (computed in at least float32).

    Example:
        >>> ops.rms_normalization(ops.ones((2, 4))).shape
        tessera.Size([2, 4])
    """
    fn = "rms_normalization"
    t0 = _tensor(fn, x)
    eps = config.epsilon() if epsilon is None else float(epsilon)
    t = t0.to(_compute_dtype(t0.dtype))
    if t.ndim == 0:
        t = t.reshape(1)
    ax = _axes(fn, axis, t.ndim)
    y = t * ts.rsqrt((t * t).mean(dim=ax, keepdim=True) + eps)
    if scale is not None:
        st = _floating(fn, scale, "scale").to(t.dtype)
        try:
            y = y * st
        except Exception:  # noqa: BLE001
            raise ValueError(
                f"keras.ops.{fn}: `scale` of shape {tuple(st.shape)} does not broadcast against x of shape "
                f"{tuple(t.shape)}"
            ) from None
    return y.to(t0.dtype)


@symbolic_op
def normalize(x: TensorLike, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``, default
    ``keras.config.epsilon()``).

    Example:
        >>> ops.normalize(ops.convert_to_tensor([[3.0, 4.0]])).shape
        tessera.Size([1, 2])
    """
    fn = "normalize"
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"keras.ops.{fn}: `order` must be an int >= 1, got order={order!r}")
    t = _floating(fn, x)
    if t.ndim == 0:
        t = t.reshape(1)
    eps = config.epsilon() if epsilon is None else float(epsilon)
    ax = _axes(fn, axis, t.ndim)
    if order == 2:
        inv = ts.rsqrt((t * t).sum(dim=ax, keepdim=True))
        cap = min(1.0 / eps, float(ts.finfo(t.dtype).max))  # 1/eps overflows float16
        return t * ts.clamp(inv, max=cap)
    norm = (t.abs() ** order).sum(dim=ax, keepdim=True) ** (1.0 / order)
    return t / ts.maximum(norm, ts.tensor(eps, dtype=t.dtype))


@symbolic_op
def psnr(x1: TensorLike, x2: TensorLike, max_val: float) -> Tensor:
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mean((x1 - x2)**2))`` (a scalar).

    Example:
        >>> ops.psnr(ops.ones((2, 2)), ops.zeros((2, 2)) + 0.5, 1.0).shape
        tessera.Size([])
    """
    fn = "psnr"
    a, b = _floating(fn, x1, "x1"), _floating(fn, x2, "x2")
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"keras.ops.{fn}: x1 and x2 must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    mv = _tensor(fn, max_val, "max_val").to(a.dtype)
    mse = ((a - b.to(a.dtype)) ** 2).mean()
    return 20 * ts.log10(mv) - 10 * ts.log10(mse)


@symbolic_op
def polar(abs_: TensorLike, angle: TensorLike) -> Tensor:
    """The complex tensor ``abs_ * (cos(angle) + i sin(angle))``.

    Example:
        >>> ops.polar(ops.ones((2,)), ops.zeros((2,))).dtype
        tessera.complex64
    """
    r, a = _floating("polar", abs_, "abs_"), _floating("polar", angle, "angle")
    dt = _compute_dtype(r.dtype, a.dtype)  # half-precision complex does not exist here: complex64 at least
    r, a = r.to(dt), a.to(dt)
    return ts.complex(r * ts.cos(a), r * ts.sin(a))


# -- attention -----------------------------------------------------------------------------------------------
def _large_negative(dtype) -> float:
    return -0.7 * (65500.0 if dtype is _dt.float16 else 3.38953e38)


@symbolic_op
def dot_product_attention(
    query: TensorLike,
    key: TensorLike,
    value: TensorLike,
    bias: TensorLike | None = None,
    mask: TensorLike | None = None,
    scale: float | None = None,
    is_causal: bool = False,
    flash_attention: bool | None = None,
    attn_logits_soft_cap: float | None = None,
) -> Tensor:
    """Scaled dot-product attention on ``(batch, seq, heads, head_dim)`` tensors: ``softmax(q k^T * scale +
    bias) v``; ``mask`` (bool, True = attend) and ``bias`` broadcast to ``(batch, heads, q_len, kv_len)``;
    fewer key/value heads than query heads are shared (grouped-query attention).

    Example:
        >>> q = ops.ones((2, 5, 4, 8))
        >>> ops.dot_product_attention(q, q, q, is_causal=True).shape
        tessera.Size([2, 5, 4, 8])
    """
    fn = "dot_product_attention"
    q, k, v = (_tensor(fn, a, n) for a, n in ((query, "query"), (key, "key"), (value, "value")))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(
            f"keras.ops.{fn}: query, key and value must be 4-D (batch, seq, heads, head_dim), got query.shape="
            f"{tuple(q.shape)}, key.shape={tuple(k.shape)}, value.shape={tuple(v.shape)}"
        )
    if bias is not None and mask is not None:
        raise ValueError(f"keras.ops.{fn}: only one of `bias` and `mask` can be given, got both")
    if flash_attention:
        raise ValueError(f"keras.ops.{fn}: flash_attention=True is not available (no flash-attention kernel)")
    if k.shape[1] != v.shape[1] or k.shape[2] != v.shape[2] or q.shape[3] != k.shape[3]:
        raise ValueError(
            f"keras.ops.{fn}: key and value must share (seq, heads) and query and key head_dim, got query.shape="
            f"{tuple(q.shape)}, key.shape={tuple(k.shape)}, value.shape={tuple(v.shape)}"
        )
    nq, nk = q.shape[2], k.shape[2]
    if nq % nk:
        raise ValueError(f"keras.ops.{fn}: query heads ({nq}) must be a multiple of key/value heads ({nk})")
    dt = _result_dtype(q.dtype, k.dtype, v.dtype)
    q, k, v = (a.to(dt).transpose(1, 2) for a in (q, k, v))  # (B, N, T, H)
    if nk != nq and nk > 1:
        k, v = k.repeat_interleave(nq // nk, dim=1), v.repeat_interleave(nq // nk, dim=1)
    sc = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = ts.matmul(q, k.transpose(-1, -2)) * sc
    if attn_logits_soft_cap is not None:
        logits = ts.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    t_len, s_len = q.shape[2], k.shape[2]
    keep = None
    if mask is not None:
        keep = _tensor(fn, mask, "mask").to(ts.bool)
    if is_causal:
        causal = ts.tril(ts.ones(t_len, s_len, dtype=ts.bool))
        keep = causal if keep is None else keep & causal
    try:
        if bias is not None:
            logits = logits + _tensor(fn, bias, "bias").to(dt)
        if keep is not None:
            logits = ts.where(keep, logits, _large_negative(dt))
    except Exception:  # noqa: BLE001
        raise ValueError(
            f"keras.ops.{fn}: mask/bias must broadcast to (batch, heads, q_len, kv_len) = {tuple(logits.shape)}"
        ) from None
    out = ts.matmul(F.softmax(logits, dim=-1), v)
    return out.transpose(1, 2)


# -- patches and blocks --------------------------------------------------------------------------------------
def _pair(fn: str, arg: str, v, minimum: int) -> tuple[int, int]:
    return _ntuple(fn, arg, v, 2, minimum)


@symbolic_op
def unfold(
    x: TensorLike,
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> Tensor:
    """Sliding local blocks of a channels-first image batch ``(N, C, H, W)``, as ``(N, C * kH * kW, L)``.

    Example:
        >>> ops.unfold(ops.ones((1, 2, 4, 4)), 2).shape
        tessera.Size([1, 8, 9])
    """
    fn = "unfold"
    t = _tensor(fn, x)
    if t.ndim != 4:
        raise ValueError(f"keras.ops.{fn}: x must be 4-D (N, C, H, W), got shape {tuple(t.shape)}")
    k, d = _pair(fn, "kernel_size", kernel_size, 1), _pair(fn, "dilation", dilation, 1)
    p, s = _pair(fn, "padding", padding, 0), _pair(fn, "stride", stride, 1)
    for i in range(2):
        if t.shape[2 + i] + 2 * p[i] < d[i] * (k[i] - 1) + 1:
            raise ValueError(
                f"keras.ops.{fn}: the dilated kernel {k} is larger than the padded input {tuple(t.shape[2:])}"
            )
    return F.unfold(t, k, dilation=d, padding=p, stride=s)


@symbolic_op
def fold(
    x: TensorLike,
    output_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> Tensor:
    """The inverse of ``unfold``: sums blocks ``(N, C * kH * kW, L)`` into an image ``(N, C, oH, oW)``.

    Example:
        >>> ops.fold(ops.ones((1, 8, 9)), (4, 4), 2).shape
        tessera.Size([1, 2, 4, 4])
    """
    fn = "fold"
    t = _tensor(fn, x)
    if t.ndim != 3:
        raise ValueError(f"keras.ops.{fn}: x must be 3-D (N, C * kH * kW, L), got shape {tuple(t.shape)}")
    o = _pair(fn, "output_size", output_size, 1)
    k, d = _pair(fn, "kernel_size", kernel_size, 1), _pair(fn, "dilation", dilation, 1)
    p, s = _pair(fn, "padding", padding, 0), _pair(fn, "stride", stride, 1)
    if t.shape[1] % (k[0] * k[1]):
        raise ValueError(
            f"keras.ops.{fn}: x.shape[1] ({t.shape[1]}) must be divisible by the kernel size product "
            f"({k[0] * k[1]})"
        )
    blocks = [(o[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if blocks[0] * blocks[1] != t.shape[2]:
        raise ValueError(
            f"keras.ops.{fn}: x.shape[2] ({t.shape[2]}) must equal the number of blocks {blocks[0]}x{blocks[1]} "
            f"of output_size {o}"
        )
    return F.fold(t, o, k, dilation=d, padding=p, stride=s)


def _block_args(fn: str, x, block_size, data_format) -> tuple[Tensor, int, str]:
    t = _tensor(fn, x)
    if t.ndim != 4:
        raise ValueError(f"keras.ops.{fn}: x must be 4-D, got shape {tuple(t.shape)}")
    if not isinstance(block_size, numbers.Integral) or block_size < 1:
        raise ValueError(f"keras.ops.{fn}: block_size must be a positive int, got {block_size!r}")
    return t, int(block_size), _data_format(fn, data_format)


@symbolic_op
def depth_to_space(x: TensorLike, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move channel blocks into space: ``(N, H, W, C)`` -> ``(N, H*b, W*b, C/b**2)`` (TensorFlow's order for
    channels_last; channels_first splits channels as ``(C/b**2, b, b)`` like ``pixel_shuffle``).

    Example:
        >>> ops.depth_to_space(ops.ones((1, 2, 2, 8)), 2).shape
        tessera.Size([1, 4, 4, 2])
    """
    fn = "depth_to_space"
    t, b, df = _block_args(fn, x, block_size, data_format)
    if df == "channels_last":
        n, h, w, c = t.shape
    else:
        n, c, h, w = t.shape
    if c % (b * b):
        raise ValueError(f"keras.ops.{fn}: the channels ({c}) must be divisible by block_size**2 ({b * b})")
    nc = c // (b * b)
    if df == "channels_last":
        return t.reshape(n, h, w, b, b, nc).permute(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, nc)
    # channels_first uses the (channel, row, column) depth order of pixel_shuffle, as Keras does
    return t.reshape(n, nc, b, b, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, nc, h * b, w * b)


@symbolic_op
def space_to_depth(x: TensorLike, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move spatial blocks into channels: ``(N, H, W, C)`` -> ``(N, H/b, W/b, C*b**2)``; the inverse of
    ``depth_to_space`` (channels_first as ``pixel_unshuffle``).

    Example:
        >>> ops.space_to_depth(ops.ones((1, 4, 4, 2)), 2).shape
        tessera.Size([1, 2, 2, 8])
    """
    fn = "space_to_depth"
    t, b, df = _block_args(fn, x, block_size, data_format)
    if df == "channels_last":
        n, h, w, c = t.shape
    else:
        n, c, h, w = t.shape
    if h % b or w % b:
        raise ValueError(f"keras.ops.{fn}: the spatial size ({h}, {w}) must be divisible by block_size ({b})")
    if df == "channels_last":
        return (
            t.reshape(n, h // b, b, w // b, b, c)
            .permute(0, 1, 3, 2, 4, 5)
            .reshape(n, h // b, w // b, c * b * b)
        )
    return (
        t.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 3, 5, 2, 4).reshape(n, c * b * b, h // b, w // b)
    )


# -- CTC -----------------------------------------------------------------------------------------------------
@symbolic_op
def ctc_loss(
    target: TensorLike,
    output: TensorLike,
    target_length: TensorLike,
    output_length: TensorLike,
    mask_index: int = 0,
) -> Tensor:
    """Per-sample CTC loss of logits ``output`` ``(batch, max_time, classes)`` against padded label
    sequences ``target`` ``(batch, max_label_length)``; ``mask_index`` is the blank class.

    Example:
        >>> ops.ctc_loss(ops.convert_to_tensor([[1, 2]]), ops.zeros((1, 5, 4)), ops.convert_to_tensor([2]),
        ...              ops.convert_to_tensor([5])).shape
        tessera.Size([1])
    """
    fn = "ctc_loss"
    o = _floating(fn, output, "output")
    o = o.to(_result_dtype(o.dtype, _dt.float32))
    t = _int_tensor(fn, target, "target")
    tl, ol = _int_tensor(fn, target_length, "target_length"), _int_tensor(fn, output_length, "output_length")
    if o.ndim != 3 or t.ndim != 2:
        raise ValueError(
            f"keras.ops.{fn}: output must be (batch, time, classes) and target (batch, label_length), got "
            f"output.shape={tuple(o.shape)}, target.shape={tuple(t.shape)}"
        )
    b = o.shape[0]
    for arg, a in (("target", t), ("target_length", tl), ("output_length", ol)):
        if a.ndim < 1 or a.shape[0] != b:
            raise ValueError(
                f"keras.ops.{fn}: `{arg}` must have the batch size {b} of output as its first dimension, got "
                f"shape {tuple(a.shape)}"
            )
    if not 0 <= mask_index < o.shape[2]:
        raise ValueError(f"keras.ops.{fn}: mask_index={mask_index} is not a class of output ({o.shape[2]})")
    log_probs = F.log_softmax(o.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, t, ol, tl, blank=int(mask_index), reduction="none")


def _ctc_greedy(x: Tensor, lengths: Tensor, merge_repeated: bool, mask_index) -> tuple[Tensor, Tensor]:
    b, t, c = x.shape
    mask_index = c - 1 if mask_index is None else mask_index
    with no_grad():
        idx = x.argmax(dim=-1).to(ts.int32)
        scores = x.amax(dim=-1)
        beyond = ts.arange(t).unsqueeze(0) >= lengths.unsqueeze(1)
        idx = ts.where(beyond, mask_index, idx).to(ts.int32)
        scores = ts.where(beyond, 0.0, scores)
        if merge_repeated and t > 1:
            rep = ts.cat([ts.zeros(b, 1, dtype=ts.bool), idx[:, 1:] == idx[:, :-1]], dim=1)
            idx = ts.where(rep, mask_index, idx).to(ts.int32)
        invalid = idx == mask_index
        idx = ts.where(invalid, -1, idx).to(ts.int32)
        order = ts.where(invalid, t, ts.arange(t).unsqueeze(0).expand(b, t))
        order = ts.argsort(order, dim=-1, stable=True)
        idx = ts.take_along_dim(idx, order, dim=-1)
    return idx.unsqueeze(0), -scores.sum(dim=1, keepdim=True)


def _unique_rows(paths: np.ndarray, size: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``paths`` (sorted, as ``jnp.unique``), padded with ``pad`` rows to ``size``, and
    the index of each input row among them."""
    uniq, inverse = np.unique(paths, axis=0, return_inverse=True)
    if uniq.shape[0] < size:
        uniq = np.concatenate([uniq, np.full((size - uniq.shape[0], paths.shape[1]), pad, paths.dtype)])
    return uniq, inverse.reshape(-1)


def _merge_scores(inverse: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """Log-sum-exp of ``scores`` per bucket ``inverse`` (n buckets; empty ones get -inf)."""
    top = scores.max()
    if not np.isfinite(top):
        top = 0.0
    acc = np.zeros(n, scores.dtype)
    np.add.at(acc, inverse, np.exp(scores - top))
    with np.errstate(divide="ignore"):
        return np.log(acc) + top


def _ctc_beam(x: np.ndarray, lengths: np.ndarray, beam_width: int, top_paths: int, mask_index):
    """Beam search over log-softmax scores, following Keras's (JAX) algorithm: beams extended by every
    class, merged by label path (emit and blank tracks kept apart), the best ``beam_width`` kept."""
    b, t, c = x.shape
    x = x - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) - x.max(-1, keepdims=True)
    mask_index = c - 1 if mask_index is None else mask_index
    # Classes are flipped so that ties fall out of an ascending stable sort the way Keras's do.
    x = x[:, :, ::-1]
    mask_index = c - mask_index - 1
    pad = -1
    n_init = min(c, beam_width)
    all_paths, all_scores = [], []
    for bi in range(b):
        xb = x[bi]
        paths = np.full((2 * beam_width, t), pad, np.int32)
        best = np.argsort(xb[0], kind="stable")[-n_init:]
        paths[:n_init, 0] = np.where(best == mask_index, pad, best)
        scores = np.full(2 * beam_width, -np.inf, xb.dtype)
        scores[:n_init] = xb[0, best]
        masked = paths[:, 0] == pad
        for step in range(1, int(lengths[bi])):
            paths = np.repeat(paths, c, axis=0)
            scores = np.repeat(scores, c)
            prev_masked = np.repeat(masked, c)
            tail_at = (paths == pad).argmax(axis=1)
            rows = np.arange(paths.shape[0])
            tails = np.where(tail_at == 0, pad, paths[rows, tail_at - 1])
            classes = np.arange(c, dtype=np.int32)
            classes[mask_index] = pad
            classes = np.tile(classes, paths.shape[0] // c)
            masked = classes == pad
            classes = np.where(~prev_masked & (tails == classes), pad, classes)
            paths[rows, tail_at] = classes
            scores = scores + np.tile(xb[step], paths.shape[0] // c)
            uniq, inv = _unique_rows(paths, 2 * c * beam_width, pad)
            emit = _merge_scores(inv, np.where(masked, -np.inf, scores), uniq.shape[0])
            blank = _merge_scores(inv, np.where(masked, scores, -np.inf), uniq.shape[0])
            total = np.logaddexp(emit, blank)
            top = np.argsort(total, kind="stable")[-beam_width:]
            paths = np.concatenate([uniq[top], uniq[top]])
            scores = np.concatenate([emit[top], blank[top]])
            masked = np.concatenate([np.zeros(beam_width, bool), np.ones(beam_width, bool)])
        uniq, inv = _unique_rows(paths, 2 * c * beam_width, pad)
        merged = _merge_scores(inv, scores, uniq.shape[0])
        top = np.argsort(merged, kind="stable")[-top_paths:][::-1]
        all_paths.append(uniq[top])
        all_scores.append(merged[top])
    paths = np.stack(all_paths)
    paths = np.where(paths == pad, pad, c - paths - 1).astype(np.int32)
    return paths.transpose(1, 0, 2), np.stack(all_scores)


@symbolic_op
def ctc_decode(
    inputs: TensorLike,
    sequence_lengths: TensorLike,
    strategy: str = "greedy",
    beam_width: int = 100,
    top_paths: int = 1,
    merge_repeated: bool = True,
    mask_index: int | None = 0,
) -> tuple[Tensor, Tensor]:
    """Decode CTC outputs ``(batch, max_time, classes)``: ``strategy='greedy'`` (best class per step, repeats
    merged, blanks dropped) or ``'beam_search'``. Returns ``(paths, scores)``: paths ``(top_paths, batch,
    max_time)`` int32 padded with -1, and the negative summed max logits (greedy) or log-probabilities.

    Example:
        >>> paths, scores = ops.ctc_decode(ops.ones((2, 5, 4)), ops.convert_to_tensor([5, 3]))
        >>> tuple(paths.shape), tuple(scores.shape)
        ((1, 2, 5), (2, 1))
    """
    fn = "ctc_decode"
    x = _floating(fn, inputs, "inputs")
    x = x.to(_result_dtype(x.dtype, _dt.float32))
    if x.ndim != 3:
        raise ValueError(
            f"keras.ops.{fn}: inputs must be (batch, max_time, classes), got shape {tuple(x.shape)}"
        )
    lengths = _int_tensor(fn, sequence_lengths, "sequence_lengths")
    if tuple(lengths.shape) != (x.shape[0],):
        raise ValueError(
            f"keras.ops.{fn}: sequence_lengths must have shape ({x.shape[0]},), got {tuple(lengths.shape)}"
        )
    if mask_index is not None and not -x.shape[2] <= mask_index < x.shape[2]:
        raise ValueError(f"keras.ops.{fn}: mask_index={mask_index} is not a class of inputs ({x.shape[2]})")
    if mask_index is not None:
        mask_index = int(mask_index) % x.shape[2]
    if strategy == "greedy":
        return _ctc_greedy(x, lengths, merge_repeated, mask_index)
    if strategy == "beam_search":
        for arg, v in (("beam_width", beam_width), ("top_paths", top_paths)):
            if not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"keras.ops.{fn}: {arg} must be a positive int, got {v!r}")
        if top_paths > beam_width:
            raise ValueError(f"keras.ops.{fn}: top_paths ({top_paths}) must be <= beam_width ({beam_width})")
        # Decoding is a discrete search (no gradient): it runs on host values.
        paths, scores = _ctc_beam(
            x.detach().numpy(), lengths.detach().numpy(), int(beam_width), int(top_paths), mask_index
        )
        return ts.tensor(paths), ts.tensor(scores.astype(x.dtype.np))
    raise ValueError(f"keras.ops.{fn}: strategy must be 'greedy' or 'beam_search', got {strategy!r}")
