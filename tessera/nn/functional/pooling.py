"""Functional pooling: max/avg pooling (1-D, 2-D) and adaptive average/max pooling (PyTorch semantics)."""

from __future__ import annotations

import numbers

import numpy as np

from ... import ops
from ...core import creation
from ...core.dispatch import apply
from ...core.tensor import Tensor
from ...ops._util import check_tensor
from ...ops.conv import AVG_POOL, MAX_POOL, MAX_POOL_INDICES, pool_output_size
from .conv import _tuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "lp_pool1d",
    "lp_pool2d",
]


def _prepare(opname, input, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate a pooling call; returns the batched input, whether it was unbatched, and the op's attrs."""
    check_tensor(opname, "input", input)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{opname}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
            f"{tuple(input.shape)}"
        )
    kernel = _tuple(opname, "kernel_size", kernel_size, nd, 1)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else stride
    stride = _tuple(opname, "stride", stride, nd, 1)
    padding = _tuple(opname, "padding", padding, nd)
    dilation = _tuple(opname, "dilation", dilation, nd, 1)
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    pool_output_size(opname, tuple(x.shape), kernel, stride, padding, dilation, bool(ceil_mode))
    attrs = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": bool(ceil_mode)}
    return x, unbatched, attrs, dilation


def _max_pool(opname, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched, attrs, dilation = _prepare(
        opname, input, nd, kernel_size, stride, padding, dilation, ceil_mode
    )
    if x.dtype.name in ("bool",) or x.dtype.name.startswith("complex"):
        raise RuntimeError(f"{opname}: not implemented for {x.dtype}")
    attrs["dilation"] = dilation
    out = apply(MAX_POOL, (x,), attrs)
    res = out.squeeze(0) if unbatched else out
    if not return_indices:
        return res
    idx = apply(MAX_POOL_INDICES, (x, out), attrs)
    return res, (idx.squeeze(0) if unbatched else idx)


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling over a (N, C, H, W) or (C, H, W) input; ``stride`` defaults to ``kernel_size``.
    The gradient goes to the first maximum of each window; ``return_indices`` also returns the flat
    ``h * W + w`` positions of the maxima.

    Example:
        >>> F.max_pool2d(ts.randn(1, 3, 8, 8), 2).shape
        tessera.Size([1, 3, 4, 4])
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-D max pooling over a (N, C, L) or (C, L) input.

    Example:
        >>> F.max_pool1d(ts.randn(2, 3, 8), 2).shape
        tessera.Size([2, 3, 4])
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    opname, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    if divisor_override is not None and (
        not isinstance(divisor_override, numbers.Integral) or divisor_override == 0
    ):
        raise ValueError(f"{opname}: divisor must be a non-zero integer, got {divisor_override!r}")
    x, unbatched, attrs, _ = _prepare(opname, input, nd, kernel_size, stride, padding, 1, ceil_mode)
    if x.dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        raise RuntimeError(f"{opname}: expected a floating-point input, got {x.dtype}")
    attrs["count_include_pad"] = bool(count_include_pad)
    attrs["divisor_override"] = None if divisor_override is None else int(divisor_override)
    out = apply(AVG_POOL, (x,), attrs)
    return out.squeeze(0) if unbatched else out


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling; ``count_include_pad`` counts zero padding in the divisor, ``divisor_override``
    replaces the divisor.

    Example:
        >>> F.avg_pool2d(ts.ones(1, 1, 4, 4), 2).tolist()
        [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling over a (N, C, L) or (C, L) input.

    Example:
        >>> F.avg_pool1d(ts.ones(1, 1, 4), 2).tolist()
        [[[1.0, 1.0]]]
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x^p)^(1/p)`` over windows (PyTorch's definition)."""
    kernel = _tuple("lp_pool2d", "kernel_size", kernel_size, 2, 1)
    out = avg_pool2d(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kernel[0] * kernel[1]).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling."""
    (k,) = _tuple("lp_pool1d", "kernel_size", kernel_size, 1, 1)
    out = avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(k).pow(1.0 / norm_type)


# -- adaptive pooling --------------------------------------------------------------------------------------
def _adaptive_sizes(opname, input, nd, output_size):
    check_tensor(opname, "input", input)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{opname}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
            f"{tuple(input.shape)}"
        )
    spatial = tuple(input.shape[-nd:])
    if isinstance(output_size, numbers.Integral):
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) == 1 and nd > 1:
        output_size = output_size * nd
    if len(output_size) != nd:
        raise ValueError(f"{opname}: output_size must have {nd} elements, got {output_size!r}")
    out = tuple(s if o is None else int(o) for o, s in zip(output_size, spatial))
    if any(o < 0 for o in out):
        raise ValueError(f"{opname}: output_size must be non-negative, got {output_size!r}")
    if any(s == 0 for s in spatial):
        raise RuntimeError(
            f"{opname}: expected input with non-zero spatial size, got shape {tuple(input.shape)}"
        )
    return out


def _bounds(n_in, n_out):
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)  # floor(i*in/out), ceil((i+1)*in/out)


def _avg_matrix(n_in, n_out, dtype):
    start, end = _bounds(n_in, n_out)
    j = np.arange(n_in)
    m = ((j >= start[:, None]) & (j < end[:, None])) / (end - start)[:, None]
    return Tensor._wrap(m.astype(dtype))


def _adaptive_avg(x, out_hw):
    """(N, C, H, W) -> (N, C, Ho, Wo): an avg_pool when the windows are uniform, else two matmuls with
    averaging matrices (every window's mean is exact; the gradient is the transposed matrices)."""
    h, w = x.shape[2:]
    ho, wo = out_hw
    if (ho, wo) == (1, 1):
        return x.mean((2, 3), keepdim=True)
    if h % ho == 0 and w % wo == 0:
        k = (h // ho, w // wo)
        attrs = {
            "kernel": k,
            "stride": k,
            "padding": (0, 0),
            "ceil_mode": False,
            "count_include_pad": True,
            "divisor_override": None,
        }
        return apply(AVG_POOL, (x,), attrs)
    npdt = x.dtype.np
    out = x
    if ho != h:
        out = ops.matmul(_avg_matrix(h, ho, npdt), out)
    if wo != w:
        out = ops.matmul(out, _avg_matrix(w, wo, npdt).mT)
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (Ho, Wo) output (``None`` keeps that input size); window i spans
    ``[floor(i*H/Ho), ceil((i+1)*H/Ho))``.

    Example:
        >>> F.adaptive_avg_pool2d(ts.randn(2, 3, 7, 9), (2, 3)).shape
        tessera.Size([2, 3, 2, 3])
    """
    out_hw = _adaptive_sizes("adaptive_avg_pool2d", input, 2, output_size)
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    if 0 in out_hw:
        return creation.zeros(tuple(input.shape[:-2]) + out_hw, dtype=input.dtype)
    out = _adaptive_avg(x, out_hw)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of a (N, C, L) or (C, L) input to a fixed length.

    Example:
        >>> F.adaptive_avg_pool1d(ts.randn(2, 3, 10), 4).shape
        tessera.Size([2, 3, 4])
    """
    (lo,) = _adaptive_sizes("adaptive_avg_pool1d", input, 1, output_size)
    if lo == 0:
        return creation.zeros(tuple(input.shape[:-1]) + (0,), dtype=input.dtype)
    unbatched = input.ndim == 2
    x = (input.unsqueeze(0) if unbatched else input).unsqueeze(2)
    out = _adaptive_avg(x, (1, lo)).squeeze(2)
    return out.squeeze(0) if unbatched else out


def _adaptive_max(opname, input, nd, output_size, return_indices):
    out_sz = _adaptive_sizes(opname, input, nd, output_size)
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if nd == 1:
        x = x.unsqueeze(2)
        out_sz = (1,) + out_sz
    n, c, h, w = x.shape
    ho, wo = out_sz
    # Windows padded to the largest size by repeating their last index (repeats cannot change a max).
    hs, he = _bounds(h, ho)
    ws, we = _bounds(w, wo)
    kh, kw = int((he - hs).max()), int((we - ws).max())
    ih = np.minimum(hs[:, None] + np.arange(kh), he[:, None] - 1)  # (Ho, kh)
    iw = np.minimum(ws[:, None] + np.arange(kw), we[:, None] - 1)  # (Wo, kw)
    rows = ops.index_select(x, 2, Tensor._wrap(ih.reshape(-1)))
    win = ops.index_select(rows, 3, Tensor._wrap(iw.reshape(-1)))  # (N, C, Ho*kh, Wo*kw)
    win = win.reshape(n, c, ho, kh, wo, kw).permute(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, kh * kw)
    vals, local = ops.max(win, -1)
    res = vals.squeeze(2) if nd == 1 else vals
    res = res.squeeze(0) if unbatched else res
    if not return_indices:
        return res
    # Each window slot's flat ``h * W + w`` input position is static geometry: a constant table that the
    # argmax of each window selects from.
    table = (ih[:, None, :, None] * w + iw[None, :, None, :]).reshape(ho, wo, kh * kw)
    table = Tensor._wrap(np.ascontiguousarray(table, dtype=np.int64))
    # A one-hot select (compare + multiply + sum): branch-free, and no index check reads ``local``'s values.
    hot = local.unsqueeze(-1) == creation.arange(kh * kw)
    idx = (hot * table).sum(-1)
    if nd == 1:
        idx = idx.squeeze(2)
    return res, (idx.squeeze(0) if unbatched else idx)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed (Ho, Wo) output, with PyTorch's adaptive windows.

    Example:
        >>> F.adaptive_max_pool2d(ts.randn(1, 2, 7, 7), 3).shape
        tessera.Size([1, 2, 3, 3])
    """
    return _adaptive_max("adaptive_max_pool2d", input, 2, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of a (N, C, L) or (C, L) input to a fixed length.

    Example:
        >>> F.adaptive_max_pool1d(ts.randn(1, 2, 9), 4).shape
        tessera.Size([1, 2, 4])
    """
    return _adaptive_max("adaptive_max_pool1d", input, 1, output_size, return_indices)
