"""Functional convolutions: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``, ``unfold``
and ``fold`` (PyTorch signatures and semantics). The front ends validate and resolve their arguments
('same' padding, unbatched inputs); every convolution is then one ``convolution`` op (``tessera.ops.conv``)."""

from __future__ import annotations

import numbers

from ...core.dispatch import apply, autocast_inputs
from ...core.tensor import Tensor
from ...ops._util import check_tensor
from ...ops.conv import COL2IM, CONVOLUTION, IM2COL, conv_output_size, conv_transpose_output_size

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "unfold",
    "fold",
]


def _tuple(opname: str, argname: str, value, n: int, minimum: int = 0) -> tuple:
    """``value`` (int or length-``n`` sequence of ints) as an n-tuple, validated against ``minimum``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        out = (int(value),) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            raise TypeError(
                f"{opname}: {argname} must be an int or a tuple of {n} ints, got {value!r}"
            ) from None
        if len(out) == 1:
            out = out * n
        if len(out) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in out):
            raise TypeError(f"{opname}: {argname} must be an int or a tuple of {n} ints, got {value!r}")
        out = tuple(int(v) for v in out)
    if any(v < minimum for v in out):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{opname}: {argname} must be {what}, got {value!r}")
    return out


_check_tensor = check_tensor


def _check_dtypes(opname, input, weight, bias):
    if weight.dtype != input.dtype or (bias is not None and bias.dtype != input.dtype):
        got = f"input {input.dtype}, weight {weight.dtype}" + (
            f", bias {bias.dtype}" if bias is not None else ""
        )
        raise RuntimeError(f"{opname}: expected input, weight and bias to have the same dtype, got {got}")
    if input.dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        raise RuntimeError(f"{opname}: expected a floating-point input, got {input.dtype}")


def _conv_padding(opname, padding, kernel, stride, dilation):
    """(low, high) pairs, one per spatial axis, for an int/tuple/'same'/'valid' padding argument."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * len(kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{opname}: padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(
            f"{opname}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
        )
    return tuple((p, p) for p in _tuple(opname, "padding", padding, len(kernel)))


def _check_conv_args(opname, input, weight, bias, groups, nd, weight_layout):
    """Validation shared by the convolution front ends (types, ranks, groups)."""
    _check_tensor(opname, "input", input)
    _check_tensor(opname, "weight", weight)
    if bias is not None:
        _check_tensor(opname, "bias", bias)
    if weight.ndim != nd + 2:
        raise RuntimeError(
            f"{opname}: expected {nd + 2}-D weight {weight_layout}, got shape {tuple(weight.shape)}"
        )
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{opname}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
            f"{tuple(input.shape)}"
        )
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{opname}: groups must be a positive integer, got {groups!r}")


def _conv_nd(opname, input, weight, bias, stride, padding, dilation, groups, nd):
    """Shared front end of conv1d/conv2d: validation, unbatched inputs, then the ``convolution`` op."""
    _check_conv_args(opname, input, weight, bias, groups, nd, "(out_channels, in_channels/groups, *kernel)")
    out_ch, in_per_group = weight.shape[0], weight.shape[1]
    unbatched = input.ndim == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    c = input.shape[1]
    if c != in_per_group * groups:
        raise RuntimeError(
            f"{opname}: given groups={groups}, weight of size {tuple(weight.shape)} expects input with "
            f"{in_per_group * groups} channels, got input of shape {tuple(input.shape)}"
        )
    if out_ch % groups:
        raise RuntimeError(f"{opname}: out_channels ({out_ch}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise RuntimeError(f"{opname}: expected bias of shape ({out_ch},), got {tuple(bias.shape)}")
    input, weight, bias = autocast_inputs("lower", input, weight, bias)  # one cast for the whole layer
    _check_dtypes(opname, input, weight, bias)
    stride = _tuple(opname, "stride", stride, nd, 1)
    dilation = _tuple(opname, "dilation", dilation, nd, 1)
    kernel = tuple(weight.shape[2:])
    if nd == 1:  # validated as the 2-d convolution it used to run as (same messages)
        pads = _conv_padding(
            opname,
            padding if isinstance(padding, str) else (0, _one(padding)),
            (1,) + kernel,
            (1,) + stride,
            (1,) + dilation,
        )[1:]
    else:
        pads = _conv_padding(opname, padding, kernel, stride, dilation)
    conv_output_size(opname, tuple(input.shape[2:]), kernel, stride, pads, dilation)
    attrs = {
        "stride": stride,
        "padding": pads,
        "dilation": dilation,
        "groups": int(groups),
        "transposed": False,
        "output_padding": (0,) * nd,
    }
    out = apply(CONVOLUTION, (input, weight, bias), attrs)
    return out.squeeze(0) if unbatched else out


def _one(v):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise TypeError(f"conv1d: padding must be an int or a tuple of 1 int, got {v!r}")
        return v[0]
    return v


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of a (N, C, H, W) or (C, H, W) input with a
    (out_channels, C/groups, kH, kW) weight. ``padding`` is an int, a pair, ``'valid'`` or ``'same'``.

    Example:
        >>> F.conv2d(ts.randn(8, 3, 28, 28), ts.randn(16, 3, 3, 3), padding=1).shape
        tessera.Size([8, 16, 28, 28])
    """
    return _conv_nd("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution of a (N, C, D, H, W) or (C, D, H, W) input with a (out_channels, C/groups, kD, kH, kW)
    weight. ``padding`` is an int, a triple, ``'valid'`` or ``'same'``.

    Example:
        >>> F.conv3d(ts.randn(2, 3, 6, 6, 6), ts.randn(4, 3, 3, 3, 3), padding="same").shape
        tessera.Size([2, 4, 6, 6, 6])
    """
    return _conv_nd("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of a (N, C, L) or (C, L) input with a (out_channels, C/groups, k) weight.

    Example:
        >>> F.conv1d(ts.randn(4, 2, 10), ts.randn(5, 2, 3)).shape
        tessera.Size([4, 5, 8])
    """
    return _conv_nd("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _conv_transpose_nd(opname, input, weight, bias, stride, padding, output_padding, groups, dilation, nd):
    _check_conv_args(opname, input, weight, bias, groups, nd, "(in_channels, out_channels/groups, *kernel)")
    if isinstance(padding, str):
        raise ValueError(f"{opname}: padding must be an int or a tuple of ints, got {padding!r}")
    unbatched = input.ndim == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    cin = weight.shape[0]
    if input.shape[1] != cin:
        raise RuntimeError(
            f"{opname}: weight of size {tuple(weight.shape)} expects input with {cin} channels, got input of "
            f"shape {tuple(input.shape)}"
        )
    if cin % groups:
        raise RuntimeError(f"{opname}: in_channels ({cin}) must be divisible by groups ({groups})")
    out_ch = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise RuntimeError(f"{opname}: expected bias of shape ({out_ch},), got {tuple(bias.shape)}")
    input, weight, bias = autocast_inputs("lower", input, weight, bias)  # one cast for the whole layer
    _check_dtypes(opname, input, weight, bias)
    stride = _tuple(opname, "stride", stride, nd, 1)
    dilation = _tuple(opname, "dilation", dilation, nd, 1)
    padding = _tuple(opname, "padding", padding, nd)
    output_padding = _tuple(opname, "output_padding", output_padding, nd)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= max(s, d):
            raise ValueError(
                f"{opname}: output padding must be smaller than either stride or dilation, got "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
    kernel = tuple(weight.shape[2:])
    pads = tuple((p, p) for p in padding)
    conv_transpose_output_size(opname, tuple(input.shape), kernel, stride, pads, dilation, output_padding)
    attrs = {
        "stride": stride,
        "padding": pads,
        "dilation": dilation,
        "groups": int(groups),
        "transposed": True,
        "output_padding": output_padding,
    }
    out = apply(CONVOLUTION, (input, weight, bias), attrs)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 2-D convolution (the gradient of ``conv2d`` w.r.t. its input) with a
    (in_channels, out_channels/groups, kH, kW) weight.

    Example:
        >>> F.conv_transpose2d(ts.randn(2, 4, 5, 5), ts.randn(4, 3, 3, 3), stride=2).shape
        tessera.Size([2, 3, 11, 11])
    """
    return _conv_transpose_nd(
        "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups, dilation, 2
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 3-D convolution (the gradient of ``conv3d`` w.r.t. its input) with a
    (in_channels, out_channels/groups, kD, kH, kW) weight.

    Example:
        >>> F.conv_transpose3d(ts.randn(1, 4, 3, 3, 3), ts.randn(4, 2, 3, 3, 3), stride=2).shape
        tessera.Size([1, 2, 7, 7, 7])
    """
    return _conv_transpose_nd(
        "conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups, dilation, 3
    )


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 1-D convolution with a (in_channels, out_channels/groups, k) weight.

    Example:
        >>> F.conv_transpose1d(ts.randn(2, 4, 5), ts.randn(4, 3, 3)).shape
        tessera.Size([2, 3, 7])
    """
    return _conv_transpose_nd(
        "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups, dilation, 1
    )


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks: (N, C, H, W) -> (N, C * kH * kW, L), as ``torch.nn.functional.unfold``.

    Example:
        >>> F.unfold(ts.randn(1, 2, 4, 4), 2).shape
        tessera.Size([1, 8, 9])
    """
    _check_tensor("unfold", "input", input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected 3-D or 4-D input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    kernel = _tuple("unfold", "kernel_size", kernel_size, 2, 1)
    dilation = _tuple("unfold", "dilation", dilation, 2, 1)
    stride = _tuple("unfold", "stride", stride, 2, 1)
    ph, pw = _tuple("unfold", "padding", padding, 2)
    pads = (ph, ph, pw, pw)
    n, c, h, w = x.shape
    ho, wo = conv_output_size("unfold", (h, w), kernel, stride, ((ph, ph), (pw, pw)), dilation)
    attrs = {
        "kernel": kernel,
        "stride": stride,
        "padding": pads,
        "dilation": dilation,
        "groups": 1,
        "out_hw": (ho, wo),
    }
    cols = apply(IM2COL, (x,), attrs)  # (1, C*kh*kw, N*L)
    out = cols.reshape(c * kernel[0] * kernel[1], n, ho * wo).permute(1, 0, 2).contiguous()
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks (N, C * kH * kW, L) into (N, C, H, W), summing overlaps (inverse of
    ``unfold`` up to overlap counts).

    Example:
        >>> F.fold(ts.ones(1, 8, 9), (4, 4), 2).shape
        tessera.Size([1, 2, 4, 4])
    """
    _check_tensor("fold", "input", input)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected 2-D or 3-D input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    out_hw = _tuple("fold", "output_size", output_size, 2, 1)
    kernel = _tuple("fold", "kernel_size", kernel_size, 2, 1)
    dilation = _tuple("fold", "dilation", dilation, 2, 1)
    stride = _tuple("fold", "stride", stride, 2, 1)
    ph, pw = _tuple("fold", "padding", padding, 2)
    pads = (ph, ph, pw, pw)
    n, ck, length = x.shape
    kk = kernel[0] * kernel[1]
    if ck % kk:
        raise RuntimeError(
            f"fold: expected size of input's dimension 1 to be divisible by the product of kernel_size "
            f"({kk}), got input of shape {tuple(x.shape)}"
        )
    ho, wo = conv_output_size("fold", out_hw, kernel, stride, ((ph, ph), (pw, pw)), dilation)
    if ho * wo != length:
        raise RuntimeError(
            f"fold: expected input's dimension 2 to match the calculated number of sliding blocks "
            f"{ho} * {wo} = {ho * wo}, got input of shape {tuple(x.shape)}"
        )
    c = ck // kk
    cols = x.permute(1, 0, 2).reshape(1, ck, n * length)
    attrs = {
        "kernel": kernel,
        "stride": stride,
        "padding": pads,
        "dilation": dilation,
        "groups": 1,
        "out_hw": (ho, wo),
        "input_shape": (n, c) + out_hw,
    }
    out = apply(COL2IM, (cols,), attrs)
    return out.squeeze(0) if unbatched else out
