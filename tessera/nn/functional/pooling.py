"""Functional pooling (PyTorch semantics): max/avg/LP pooling and adaptive average/max pooling in 1-D, 2-D
and 3-D, the ``*_with_indices`` forms, max unpooling and fractional max pooling."""

from __future__ import annotations

import numbers

import numpy as np

from ... import ops
from ...core import creation
from ...core.dispatch import apply, is_tracing
from ...core.dtypes import int64 as _INT64
from ...core.tensor import Tensor
from ...ops._util import check_tensor
from ...ops.conv import AVG_POOL, MAX_POOL, MAX_POOL_INDICES, pool_output_size
from .conv import _tuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
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


def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-D max pooling over a (N, C, D, H, W) or (C, D, H, W) input; indices are flat ``d * H * W + h * W + w``
    positions.

    Example:
        >>> F.max_pool3d(ts.randn(1, 2, 4, 4, 4), 2).shape
        tessera.Size([1, 2, 2, 2, 2])
    """
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` returning ``(output, indices)`` whatever ``return_indices`` says.

    Example:
        >>> F.max_pool1d_with_indices(ts.randn(1, 2, 8), 2)[1].shape
        tessera.Size([1, 2, 4])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` returning ``(output, indices)`` whatever ``return_indices`` says.

    Example:
        >>> F.max_pool2d_with_indices(ts.randn(1, 2, 4, 4), 2)[1].shape
        tessera.Size([1, 2, 2, 2])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool3d`` returning ``(output, indices)`` whatever ``return_indices`` says.

    Example:
        >>> F.max_pool3d_with_indices(ts.randn(1, 2, 4, 4, 4), 2)[1].shape
        tessera.Size([1, 2, 2, 2, 2])
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


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


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling over a (N, C, D, H, W) or (C, D, H, W) input.

    Example:
        >>> F.avg_pool3d(ts.ones(1, 1, 4, 4, 4), 2).shape
        tessera.Size([1, 1, 2, 2, 2])
    """
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


_MAX_POOL = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}
_AVG_POOL = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}


def _lp_pool(opname, nd, input, norm_type, kernel_size, stride, ceil_mode):
    """PyTorch's ``lp_poolNd``: ``(sum x^p)^(1/p)`` from an average pooling of ``x^p``; +-inf norms are
    max poolings of ``|x|``."""
    check_tensor(opname, "input", input)
    kernel = _tuple(opname, "kernel_size", kernel_size, nd, 1)
    if isinstance(norm_type, numbers.Real) and abs(float(norm_type)) == float("inf"):
        sign = 1 if norm_type > 0 else -1
        return sign * _MAX_POOL[nd](sign * input.abs(), kernel, stride, 0, 1, ceil_mode)
    out = _AVG_POOL[nd](input.pow(norm_type), kernel, stride, 0, ceil_mode)
    size = 1
    for k in kernel:
        size *= k
    return (out.sign() * out.abs().relu()).mul(size).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling ``(sum x^p)^(1/p)`` over windows.

    Example:
        >>> F.lp_pool1d(ts.ones(1, 1, 4), 2, 2).shape
        tessera.Size([1, 1, 2])
    """
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """2-D power-average pooling ``(sum x^p)^(1/p)`` over windows (PyTorch's definition).

    Example:
        >>> F.lp_pool2d(ts.ones(1, 1, 4, 4), 2, 2).shape
        tessera.Size([1, 1, 2, 2])
    """
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """3-D power-average pooling ``(sum x^p)^(1/p)`` over windows.

    Example:
        >>> F.lp_pool3d(ts.ones(1, 1, 4, 4, 4), 2, 2).shape
        tessera.Size([1, 1, 2, 2, 2])
    """
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


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


def _adaptive_avg(x, out_sz):
    """(N, C, *S) -> (N, C, *out_sz): an avg_pool when the windows are uniform, else one matmul per axis with
    an averaging matrix (every window's mean is exact; the gradient is the transposed matrices)."""
    spatial = tuple(x.shape[2:])
    nd = len(spatial)
    if all(o == 1 for o in out_sz):
        return x.mean(tuple(range(2, nd + 2)), keepdim=True)
    if all(n % o == 0 for n, o in zip(spatial, out_sz)) and nd > 1:
        k = tuple(n // o for n, o in zip(spatial, out_sz))
        attrs = {
            "kernel": k,
            "stride": k,
            "padding": (0,) * nd,
            "ceil_mode": False,
            "count_include_pad": True,
            "divisor_override": None,
        }
        return apply(AVG_POOL, (x,), attrs)
    npdt = x.dtype.np
    out = x
    for ax, (n, o) in enumerate(zip(spatial, out_sz)):
        if n == o:
            continue
        m = _avg_matrix(n, o, npdt)
        axis = 2 + ax
        if axis == out.ndim - 1:
            out = ops.matmul(out, m.mT)
        elif axis == out.ndim - 2:
            out = ops.matmul(m, out)
        else:
            out = ops.matmul(out.movedim(axis, -1), m.mT).movedim(-1, axis)
    return out


def _adaptive_avg_pool(opname, nd, input, output_size):
    out_sz = _adaptive_sizes(opname, input, nd, output_size)
    if 0 in out_sz:
        return creation.zeros(tuple(input.shape[:-nd]) + out_sz, dtype=input.dtype)
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    out = _adaptive_avg(x, out_sz)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (Ho, Wo) output (``None`` keeps that input size); window i spans
    ``[floor(i*H/Ho), ceil((i+1)*H/Ho))``.

    Example:
        >>> F.adaptive_avg_pool2d(ts.randn(2, 3, 7, 9), (2, 3)).shape
        tessera.Size([2, 3, 2, 3])
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling of a (N, C, D, H, W) or (C, D, H, W) input to a fixed (Do, Ho, Wo) output (``None``
    keeps that input size).

    Example:
        >>> F.adaptive_avg_pool3d(ts.randn(2, 3, 5, 7, 9), (2, 3, 4)).shape
        tessera.Size([2, 3, 2, 3, 4])
    """
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


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
    n, c = x.shape[:2]
    spatial = tuple(x.shape[2:])
    # Windows padded to the largest size along each axis by repeating their last index (repeats cannot
    # change a max): one index_select per axis gives (N, C, o1*k1, o2*k2, ...).
    win, tables, ks = x, [], []
    for ax, (n_in, n_out) in enumerate(zip(spatial, out_sz)):
        start, end = _bounds(n_in, n_out)
        k = int((end - start).max())
        ii = np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)  # (o, k)
        win = ops.index_select(win, 2 + ax, Tensor._wrap(ii.reshape(-1)))
        tables.append(ii)
        ks.append(k)
    inter = tuple(v for o, k in zip(out_sz, ks) for v in (o, k))
    perm = (0, 1) + tuple(2 + 2 * a for a in range(nd)) + tuple(3 + 2 * a for a in range(nd))
    kk = int(np.prod(ks))
    win = win.reshape((n, c) + inter).permute(*perm).reshape((n, c) + out_sz + (kk,))
    vals, local = ops.max(win, -1)
    res = vals.squeeze(0) if unbatched else vals
    if not return_indices:
        return res
    # Each window slot's flat (row-major) input position is static geometry: a constant table that the
    # argmax of each window selects from.
    table = np.zeros(out_sz + tuple(ks), np.int64)
    for ax, ii in enumerate(tables):
        place = int(np.prod(spatial[ax + 1 :], dtype=np.int64))
        shape = [1] * (2 * nd)
        shape[ax], shape[nd + ax] = ii.shape
        table = table + ii.reshape(shape) * place
    table = Tensor._wrap(np.ascontiguousarray(table.reshape(out_sz + (kk,))))
    # A one-hot select (compare + multiply + sum): branch-free, and no index check reads ``local``'s values.
    hot = local.unsqueeze(-1) == creation.arange(kk)
    idx = (hot * table).sum(-1)
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


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of a (N, C, D, H, W) or (C, D, H, W) input to a fixed (Do, Ho, Wo) output.

    Example:
        >>> F.adaptive_max_pool3d(ts.randn(1, 2, 5, 7, 7), 3).shape
        tessera.Size([1, 2, 3, 3, 3])
    """
    return _adaptive_max("adaptive_max_pool3d", input, 3, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool1d`` returning ``(output, indices)``.

    Example:
        >>> F.adaptive_max_pool1d_with_indices(ts.randn(1, 2, 9), 4)[1].shape
        tessera.Size([1, 2, 4])
    """
    return _adaptive_max("adaptive_max_pool1d", input, 1, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d`` returning ``(output, indices)``.

    Example:
        >>> F.adaptive_max_pool2d_with_indices(ts.randn(1, 2, 7, 7), 3)[1].shape
        tessera.Size([1, 2, 3, 3])
    """
    return _adaptive_max("adaptive_max_pool2d", input, 2, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool3d`` returning ``(output, indices)``.

    Example:
        >>> F.adaptive_max_pool3d_with_indices(ts.randn(1, 2, 5, 7, 7), 3)[1].shape
        tessera.Size([1, 2, 3, 3, 3])
    """
    return _adaptive_max("adaptive_max_pool3d", input, 3, output_size, True)


# -- max unpooling ---------------------------------------------------------------------------------------
def _unpool_output_size(opname, spatial, kernel, stride, padding, output_size) -> tuple:
    """PyTorch's ``_unpool_output_size``: the default size, or ``output_size`` within one stride of it."""
    nd = len(kernel)
    default = tuple((n - 1) * s + k - 2 * p for n, k, s, p in zip(spatial, kernel, stride, padding))
    if output_size is None:
        out = default
    else:
        out = tuple(int(v) for v in output_size)
        if len(out) == nd + 2:
            out = out[2:]
        if len(out) != nd:
            raise ValueError(
                f"{opname}: output_size should be a sequence containing {nd} or {nd + 2} elements, but it has "
                f"a length of '{len(out)}'"
            )
        for d in range(nd):
            lo, hi = default[d] - stride[d], default[d] + stride[d]
            if not lo < out[d] < hi:
                raise ValueError(
                    f'{opname}: invalid output_size "{tuple(output_size)}" (dim {d} must be between {lo} and {hi})'
                )
    for d, v in enumerate(out):
        if v < 0:
            raise ValueError(
                f"{opname}: output_size must contain non-negative spatial dimensions, but got "
                f"output_size[{d}]={v}"
            )
    return out


def _max_unpool(opname, nd, input, indices, kernel_size, stride, padding, output_size):
    check_tensor(opname, "input", input)
    check_tensor(opname, "indices", indices)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{opname}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got a tensor with "
            f"{input.ndim} dimensions"
        )
    if indices.dtype.name != "int64":
        raise RuntimeError(f"{opname}: elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            f"{opname}: expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    kernel = _tuple(opname, "kernel_size", kernel_size, nd, 1)
    stride = kernel if stride is None else _tuple(opname, "stride", stride, nd, 1)
    padding = _tuple(opname, "padding", padding, nd)
    out_sz = _unpool_output_size(opname, tuple(input.shape[-nd:]), kernel, stride, padding, output_size)
    size = int(np.prod(out_sz, dtype=np.int64))
    if not is_tracing() and indices.numel():
        bad = (indices < 0) | (indices >= size)
        if bool(bad.any()):
            worst = int(indices.masked_select(bad)[0].item())
            raise RuntimeError(
                f"{opname}: found an invalid max index: {worst} (output volumes are of size "
                f"{'x'.join(map(str, out_sz))})"
            )
    lead = tuple(input.shape[:-nd])
    flat = creation.zeros(lead + (size,), dtype=input.dtype)
    out = flat.scatter(-1, indices.flatten(-nd), input.flatten(-nd))
    return out.reshape(lead + out_sz)


def max_unpool1d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of ``max_pool1d``: each value goes to its index, every other position is zero.

    Example:
        >>> out, idx = F.max_pool1d(ts.randn(1, 2, 8), 2, return_indices=True)
        >>> F.max_unpool1d(out, idx, 2).shape
        tessera.Size([1, 2, 8])
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of ``max_pool2d`` (indices are flat ``h * W + w`` positions of the output plane).

    Example:
        >>> out, idx = F.max_pool2d(ts.randn(1, 2, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(out, idx, 2).shape
        tessera.Size([1, 2, 4, 4])
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of ``max_pool3d``.

    Example:
        >>> out, idx = F.max_pool3d(ts.randn(1, 2, 4, 4, 4), 2, return_indices=True)
        >>> F.max_unpool3d(out, idx, 2).shape
        tessera.Size([1, 2, 4, 4, 4])
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# -- fractional max pooling ---------------------------------------------------------------------------------
def _fractional_max_pool(opname, nd, input, kernel_size, output_size, output_ratio, _random_samples):
    """Graham's fractional max pooling with PyTorch's interval rule: per (batch, channel) plane and axis,
    window i starts at ``int((i + u) * a) - int(u * a)`` with ``a = (in - k) / (out - 1)`` (the last one at
    ``in - k``), ``u`` the plane's sample in [0, 1) (drawn from the generator unless ``_random_samples``
    gives them; axis order as PyTorch's: (W, H) in 2-d, (T, H, W) in 3-d)."""
    check_tensor(opname, "input", input)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{opname}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
            f"{tuple(input.shape)}"
        )
    if input.dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        raise RuntimeError(f"{opname}: expected a floating-point input, got {input.dtype}")
    kernel = _tuple(opname, "kernel_size", kernel_size, nd, 1)
    spatial = tuple(input.shape[-nd:])
    if output_size is None and output_ratio is None:
        raise ValueError(f"{opname} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = (output_ratio,) * nd if isinstance(output_ratio, numbers.Real) else tuple(output_ratio)
        if len(ratio) == 1:
            ratio = ratio * nd
        if len(ratio) != nd:
            raise ValueError(
                f"{opname}: output_ratio must be a number or a tuple of {nd}, got {output_ratio!r}"
            )
        out_sz = tuple(int(n * r) for n, r in zip(spatial, ratio))
    else:
        out_sz = _tuple(opname, "output_size", output_size, nd)
    names = ("height", "width") if nd == 2 else ("time", "height", "width")
    for n, k, o, name in zip(spatial, kernel, out_sz, names):
        if o + k - 1 > n:
            raise RuntimeError(f"{opname}: pool {name} {k} too large relative to input {name} {n}")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    n, c = x.shape[:2]
    if _random_samples is None:
        samples = creation.rand(n, c, nd, dtype=x.dtype)
    else:
        check_tensor(opname, "_random_samples", _random_samples)
        samples = _random_samples
        if samples.ndim != 3 or samples.shape[0] != n or samples.shape[1] != c or samples.shape[2] != nd:
            raise RuntimeError(
                f"{opname}: expected _random_samples of shape ({n}, {c}, {nd}), got {tuple(samples.shape)}"
            )
        samples = samples.to(x.dtype)
    order = (1, 0) if nd == 2 else (0, 1, 2)  # the sample each spatial axis uses
    win, starts = x, []
    for ax in range(nd):
        n_in, k, o = spatial[ax], kernel[ax], out_sz[ax]
        u = samples[:, :, order[ax]].unsqueeze(-1)  # (N, C, 1)
        if o > 1:
            alpha = float(np.asarray(n_in - k, x.dtype.np) / np.asarray(o - 1, x.dtype.np))
            i = creation.arange(o, dtype=x.dtype)
            seq = ((i + u) * alpha).to(_INT64) - (u * alpha).to(_INT64)
            last = creation.full((n, c, 1), n_in - k, dtype=seq.dtype)
            start = ops.cat([seq[..., :-1], last], -1)
        else:
            start = creation.full((n, c, o), n_in - k, dtype=_INT64)
        starts.append(start)
        # (N, C, o * k) positions along this axis, spread over the other (current) axes for a gather
        pos = (start.unsqueeze(-1) + creation.arange(k)).reshape(n, c, o * k)
        shape = [n, c] + [1] * nd
        shape[2 + ax] = o * k
        pos = pos.reshape(shape).expand(*[n, c] + [win.shape[2 + a] if a != ax else o * k for a in range(nd)])
        win = win.gather(2 + ax, pos)
    inter = tuple(v for o, k in zip(out_sz, kernel) for v in (o, k))
    perm = (0, 1) + tuple(2 + 2 * a for a in range(nd)) + tuple(3 + 2 * a for a in range(nd))
    kk = int(np.prod(kernel))
    win = win.reshape((n, c) + inter).permute(*perm).reshape((n, c) + out_sz + (kk,))
    vals, local = ops.max(win, -1)
    # flat input index of each window's maximum: its start plus its offset inside the window, per axis
    idx = None
    rem = local
    for ax in reversed(range(nd)):
        off = rem % kernel[ax]
        rem = rem // kernel[ax]
        shape = [n, c] + [1] * nd
        shape[2 + ax] = out_sz[ax]
        pos = starts[ax].reshape(shape) + off
        place = int(np.prod(spatial[ax + 1 :], dtype=np.int64))
        idx = pos * place if idx is None else idx + pos * place
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return vals, idx


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``fractional_max_pool2d`` returning ``(output, indices)``.

    Example:
        >>> F.fractional_max_pool2d_with_indices(ts.randn(1, 2, 9, 9), 2, output_size=4)[1].shape
        tessera.Size([1, 2, 4, 4])
    """
    return _fractional_max_pool(
        "fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, _random_samples
    )


def fractional_max_pool2d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
):
    """2-D fractional max pooling (Graham): ``kernel_size`` windows at pseudo-random steps reaching
    ``output_size`` (or ``output_ratio`` times the input size).

    Example:
        >>> F.fractional_max_pool2d(ts.randn(1, 2, 9, 9), 2, output_ratio=0.5).shape
        tessera.Size([1, 2, 4, 4])
    """
    out, idx = _fractional_max_pool(
        "fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, _random_samples
    )
    return (out, idx) if return_indices else out


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``fractional_max_pool3d`` returning ``(output, indices)``.

    Example:
        >>> F.fractional_max_pool3d_with_indices(ts.randn(1, 2, 6, 6, 6), 2, output_size=3)[1].shape
        tessera.Size([1, 2, 3, 3, 3])
    """
    return _fractional_max_pool(
        "fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, _random_samples
    )


def fractional_max_pool3d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
):
    """3-D fractional max pooling over a (N, C, T, H, W) or (C, T, H, W) input.

    Example:
        >>> F.fractional_max_pool3d(ts.randn(1, 2, 6, 6, 6), 2, output_size=3).shape
        tessera.Size([1, 2, 3, 3, 3])
    """
    out, idx = _fractional_max_pool(
        "fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, _random_samples
    )
    return (out, idx) if return_indices else out
