"""Resampling: ``interpolate`` (nearest, nearest-exact, linear, bilinear, trilinear, area), the ``upsample``
aliases, ``pixel_shuffle`` and ``pixel_unshuffle``.

Linear modes multiply each spatial axis by a small (out, in) interpolation matrix (one BLAS call per axis,
gradient = the transposed matrix); nearest modes select rows with ``index_select``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ... import ops
from ...core.tensor import Tensor
from ...ops._util import check_tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = [
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "pixel_shuffle",
    "pixel_unshuffle",
]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _scale(n_in, n_out, scale, align_corners):
    """PyTorch's ``area_pixel_compute_scale`` (float32 arithmetic like its CPU kernels)."""
    if align_corners:
        return np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.float32(0)
    if scale is not None and scale > 0:
        return np.float32(1.0 / scale)
    return np.float32(n_in) / np.float32(n_out)


def _nearest_index(n_in, n_out, scale, exact):
    s = _scale(n_in, n_out, scale, False)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s) if exact else np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    s = _scale(n_in, n_out, scale, align_corners)
    dst = np.arange(n_out, dtype=np.float32)
    if align_corners:
        src = dst * s
    else:
        src = np.maximum((dst + np.float32(0.5)) * s - np.float32(0.5), np.float32(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam1 = (src - i0).astype(np.float64)
    m = np.zeros((n_out, n_in), np.float64)
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1.0 - lam1)  # tiny (n_out,) index arrays: not a hot path
    np.add.at(m, (rows, i1), lam1)
    return Tensor._wrap(m.astype(dtype))


def _along(x, axis, fn):
    """Apply ``fn`` to ``x`` with spatial ``axis`` moved last (no move for the last axis)."""
    nd = x.ndim
    if axis == nd - 1:
        return fn(x)
    return fn(x.movedim(axis, -1)).movedim(-1, axis)


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize a (N, C, *spatial) input to ``size`` or by ``scale_factor`` (PyTorch's index and weight rules).

    Example:
        >>> F.interpolate(ts.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        tessera.Size([1, 3, 8, 8])
    """
    check_tensor("interpolate", "input", input)
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}; expected one of {_MODES}")
    if mode == "bicubic":
        raise NotImplementedError("interpolate: mode 'bicubic' is not implemented in Tessera")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented in Tessera")
    nsp = input.ndim - 2
    if nsp < 1 or nsp > 3:
        raise ValueError(
            f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got shape {tuple(input.shape)}"
        )
    if mode in _LINEAR_DIMS and _LINEAR_DIMS[mode] != nsp:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} expects a {_LINEAR_DIMS[mode] + 2}-D input, got shape "
            f"{tuple(input.shape)}"
        )
    if align_corners is not None and mode not in _LINEAR_DIMS:
        raise ValueError(
            f"interpolate: align_corners option can only be set with the interpolating modes: linear | "
            f"bilinear | bicubic | trilinear, got mode {mode!r}"
        )
    align_corners = bool(align_corners)
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be defined")
    scales = [None] * nsp
    if size is not None:
        sizes = (size,) * nsp if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != nsp:
            raise ValueError(
                f"interpolate: input of shape {tuple(input.shape)} has {nsp} spatial dimensions but size has "
                f"{len(sizes)} entries ({size!r})"
            )
        sizes = tuple(int(s) for s in sizes)
    else:
        sf = (scale_factor,) * nsp if isinstance(scale_factor, numbers.Real) else tuple(scale_factor)
        if len(sf) != nsp:
            raise ValueError(
                f"interpolate: input of shape {tuple(input.shape)} has {nsp} spatial dimensions but "
                f"scale_factor has {len(sf)} entries ({scale_factor!r})"
            )
        sizes = tuple(int(math.floor(float(n) * float(f))) for n, f in zip(spatial, sf))
        if not recompute_scale_factor:
            scales = [float(f) for f in sf]
    if any(s <= 0 for s in sizes):
        raise ValueError(
            f"interpolate: output size must be positive, got {sizes} for input of shape {tuple(input.shape)}"
        )
    if mode == "area":
        if nsp == 1:
            return adaptive_avg_pool1d(input, sizes[0])
        if nsp == 2:
            return adaptive_avg_pool2d(input, sizes)
        raise NotImplementedError("interpolate: mode 'area' supports 3-D and 4-D inputs")
    out = input
    npdt = input.dtype.np
    if npdt.kind != "f" and mode in _LINEAR_DIMS:
        raise RuntimeError(f"interpolate: mode {mode!r} needs a floating-point input, got {input.dtype}")
    for k in range(nsp):
        axis = 2 + k
        n_in, n_out = spatial[k], sizes[k]
        if n_in == n_out and scales[k] in (None, 1.0):
            continue
        if mode in ("nearest", "nearest-exact"):
            idx = Tensor._wrap(_nearest_index(n_in, n_out, scales[k], mode == "nearest-exact"))
            out = ops.index_select(out, axis, idx)
        else:
            m = _linear_matrix(n_in, n_out, scales[k], align_corners, npdt)
            if axis == out.ndim - 1:
                out = ops.matmul(out, m.mT)
            elif axis == out.ndim - 2:
                out = ops.matmul(m, out)
            else:
                out = _along(out, axis, lambda t, m=m: ops.matmul(t, m.mT))
    return out


def upsample(
    input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None
) -> Tensor:
    """Deprecated alias of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r).

    Example:
        >>> F.pixel_shuffle(ts.randn(1, 8, 3, 3), 2).shape
        tessera.Size([1, 2, 6, 6])
    """
    r = int(upscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-3] % (r * r):
        raise RuntimeError(
            f"pixel_shuffle: expected input with at least 3 dims and channels divisible by "
            f"upscale_factor^2 = {r * r}, got shape {tuple(input.shape)}"
        )
    *lead, c, h, w = input.shape
    oc = c // (r * r)
    nl = len(lead)
    x = input.reshape(*lead, oc, r, r, h, w)
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.reshape(*lead, oc, h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W).

    Example:
        >>> F.pixel_unshuffle(ts.randn(1, 2, 6, 6), 2).shape
        tessera.Size([1, 8, 3, 3])
    """
    r = int(downscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(
            f"pixel_unshuffle: expected input with at least 3 dims and spatial size divisible by "
            f"downscale_factor = {r}, got shape {tuple(input.shape)}"
        )
    *lead, c, h, w = input.shape
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
