"""Resampling: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area), the
``upsample`` aliases, ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``, ``grid_sample`` and
``affine_grid``.

Linear modes multiply each spatial axis by a small (out, in) interpolation matrix (one BLAS call per axis,
gradient = the transposed matrix); nearest modes select rows with ``index_select``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ... import ops
from ...core.dtypes import int64 as _INT64
from ...core.tensor import Tensor
from ...ops._util import check_tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = [
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
    "native_channel_shuffle",
    "grid_sample",
    "affine_grid",
]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _scale(n_in, n_out, scale, align_corners, ft=np.float32):
    """PyTorch's ``area_pixel_compute_scale`` in its CPU kernels' arithmetic ``ft`` (float32, or float64
    for float64 inputs of the interpolating modes)."""
    if align_corners:
        return ft((n_in - 1) / (n_out - 1)) if n_out > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _opmath(dtype):
    return np.float64 if dtype == np.float64 else np.float32


def _nearest_index(n_in, n_out, scale, exact):
    s = _scale(n_in, n_out, scale, False)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s) if exact else np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    ft = _opmath(dtype)
    s = _scale(n_in, n_out, scale, align_corners, ft)
    dst = np.arange(n_out, dtype=ft)
    if align_corners:
        src = dst * s
    else:
        src = np.maximum((dst + ft(0.5)) * s - ft(0.5), ft(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam1 = (src - i0).astype(np.float64)
    m = np.zeros((n_out, n_in), np.float64)
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1.0 - lam1)  # tiny (n_out,) index arrays: not a hot path
    np.add.at(m, (rows, i1), lam1)
    return Tensor._wrap(m.astype(dtype))


def _cubic_matrix(n_in, n_out, scale, align_corners, dtype):
    """PyTorch's ``upsample_bicubic2d`` along one axis: four cubic-convolution taps (A = -0.75) at
    ``floor(src) - 1 .. floor(src) + 2``, clamped to the input (the source index is not clamped at 0)."""
    ft = _opmath(dtype)
    s = _scale(n_in, n_out, scale, align_corners, ft)
    dst = np.arange(n_out, dtype=ft)
    src = dst * s if align_corners else (dst + ft(0.5)) * s - ft(0.5)
    i0 = np.floor(src).astype(np.int64)
    t = (src - i0).astype(np.float64)
    m = np.zeros((n_out, n_in), np.float64)
    rows = np.arange(n_out)
    for k, w in enumerate(_cubic_weights(t)):
        np.add.at(m, (rows, np.clip(i0 - 1 + k, 0, n_in - 1)), w)
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
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented in Tessera")
    nsp = input.ndim - 2
    if nsp < 1 or nsp > 3:
        raise NotImplementedError(
            f"interpolate: only 3D, 4D and 5D input tensors are supported (got {input.ndim}D, shape "
            f"{tuple(input.shape)})"
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
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
            raise TypeError(
                f"interpolate: expected size to be an int or a tuple of {nsp} ints, but got size with types "
                f"{[type(s) for s in sizes]}"
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
    if any(n == 0 for n in spatial) or any(m <= 0 for m in sizes):
        names = ("D", "H", "W")[3 - nsp :]
        shown_in = ", ".join(f"{a}: {n}" for a, n in zip(names, spatial))
        shown_out = ", ".join(f"{a}: {n}" for a, n in zip(names, sizes))
        raise RuntimeError(
            f"interpolate: input and output sizes should be greater than 0, but got input ({shown_in}) "
            f"output ({shown_out})"
        )
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nsp - 1](input, sizes)
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
            build = _cubic_matrix if mode == "bicubic" else _linear_matrix
            m = build(n_in, n_out, scales[k], align_corners, npdt)
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


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Shuffle the channels of a (N, C, *) input: viewed as (N, groups, C / groups, *), transposed to
    (N, C / groups, groups, *) and flattened back.

    Example:
        >>> F.channel_shuffle(ts.arange(4.0).reshape(1, 4, 1), 2).flatten().tolist()
        [0.0, 2.0, 1.0, 3.0]
    """
    check_tensor("channel_shuffle", "input", input)
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"channel_shuffle: argument 'groups' must be int, not {type(groups).__name__}")
    if input.ndim <= 2:
        raise RuntimeError(
            f"channel_shuffle: expects input with > 2 dims, but got input with sizes {list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"channel_shuffle: number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(
            f"channel_shuffle: number of channels must be divisible by groups. Got {c} channels and {groups} "
            "groups."
        )
    rest = tuple(input.shape[2:])
    x = input.reshape((n, groups, c // groups) + rest).transpose(1, 2)
    return x.reshape((n, c) + rest)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle`` (PyTorch's native-kernel name; the same result).

    Example:
        >>> F.native_channel_shuffle(ts.arange(4.0).reshape(1, 4, 1), 2).flatten().tolist()
        [0.0, 2.0, 1.0, 3.0]
    """
    return channel_shuffle(input, groups)


# -- grid_sample / affine_grid ------------------------------------------------------------------------------
_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please "
    "specify align_corners=True if the old behavior is desired. See the documentation of grid_sample for "
    "details."
)


def _unnormalize(coord, size, align_corners):
    """[-1, 1] grid coordinates -> pixel coordinates (PyTorch's ``grid_sampler_unnormalize``)."""
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    """PyTorch's ``reflect_coordinates``: ``coord`` reflected into [twice_low / 2, twice_high / 2]."""
    if twice_low == twice_high:
        return coord * 0
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (coord - lo).abs()
    extra = ops.fmod(c, span)
    flips = (c / span).floor()
    even = ops.remainder(flips, 2) == 0
    return ops.where(even, extra + lo, span - extra + lo)


def _source_index(coord, size, padding_mode, align_corners):
    """PyTorch's ``compute_coordinates``: border clips, reflection reflects then clips."""
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return coord.clamp(0, size - 1)
    return coord


def _gather_points(flat, idx, valid, spatial):
    """Values of ``flat`` (N, C, prod(spatial)) at the integer points ``idx`` (per axis, (N, *out)); zero
    where ``valid`` is False."""
    n, c = flat.shape[:2]
    out_shape = tuple(idx[0].shape[1:])
    lin = None
    for ax, i in enumerate(idx):
        place = int(np.prod(spatial[ax + 1 :], dtype=np.int64))
        i = i.clamp(0, spatial[ax] - 1)
        lin = i * place if lin is None else lin + i * place
    lin = lin.reshape(n, 1, -1).expand(n, c, lin[0].numel())
    vals = flat.gather(2, lin).reshape((n, c) + out_shape)
    if valid is None:
        return vals
    return vals * valid.unsqueeze(1).to(vals.dtype)


def _in_bounds(idx, spatial):
    ok = None
    for i, size in zip(idx, spatial):
        v = (i >= 0) & (i < size)
        ok = v if ok is None else ok & v
    return ok


def _cubic_weights(t, a=-0.75):
    """The four cubic-convolution weights (PyTorch's ``get_cubic_upsample_coefficients``, A = -0.75)."""

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` (N, C, H, W) or (N, C, D, H, W) at the normalised ``grid`` locations (N, Ho, Wo, 2)
    or (N, Do, Ho, Wo, 3), last axis (x, y[, z]) in [-1, 1]. ``mode``: 'bilinear', 'nearest' or 'bicubic'
    (4-D only); ``padding_mode``: 'zeros', 'border' or 'reflection'. Differentiable w.r.t. input and grid.

    Example:
        >>> grid = F.affine_grid(ts.eye(2, 3).unsqueeze(0), (1, 1, 4, 4), align_corners=False)
        >>> F.grid_sample(ts.randn(1, 1, 4, 4), grid, align_corners=False).shape
        tessera.Size([1, 1, 4, 4])
    """
    check_tensor("grid_sample", "input", input)
    check_tensor("grid_sample", "grid", grid)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            f"grid_sample: expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"grid_sample: expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
            f"'{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(
            f"grid_sample: expected 4D or 5D input and grid with same number of dimensions, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    nd = input.ndim - 2
    if grid.shape[-1] != nd:
        raise RuntimeError(
            f"grid_sample: expected grid to have size {nd} in last dimension, but got grid with sizes "
            f"{list(grid.shape)}"
        )
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            f"grid_sample: expected grid and input to have same batch size, but got input with sizes "
            f"{list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if input.dtype != grid.dtype:
        raise RuntimeError(
            f"grid_sample: expected input and grid to have the same dtype, but input has {input.dtype} and "
            f"grid has {grid.dtype}"
        )
    if input.dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        raise RuntimeError(f"grid_sample: expected a floating-point input, got {input.dtype}")
    if any(s == 0 for s in input.shape[2:]):
        raise RuntimeError(
            f"grid_sample: expected input to have non-empty spatial dimensions, but input has sizes "
            f"{list(input.shape)}"
        )
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sample: bicubic interpolation only supports 4D input")
    n, c = input.shape[:2]
    spatial = tuple(input.shape[2:])  # (H, W) or (D, H, W)
    flat = input.reshape(n, c, -1)
    # grid's last axis is (x, y[, z]): x indexes the last spatial axis
    coords = [_unnormalize(grid[..., nd - 1 - ax], spatial[ax], align_corners) for ax in range(nd)]
    i64 = _INT64
    if mode == "bicubic":
        floors = [cd.floor() for cd in coords]
        ts_ = [cd - f for cd, f in zip(coords, floors)]
        wy, wx = _cubic_weights(ts_[0]), _cubic_weights(ts_[1])
        base = [f.to(i64) for f in floors]
        out = None
        for i in range(4):
            row = None
            for j in range(4):
                pts = [base[0] + (i - 1), base[1] + (j - 1)]
                if padding_mode != "zeros":  # PyTorch's get_value_bounded: the integer point moved in
                    pts = [
                        _source_index(p.to(input.dtype), size, padding_mode, align_corners).to(i64)
                        for p, size in zip(pts, spatial)
                    ]
                v = _gather_points(flat, pts, _in_bounds(pts, spatial), spatial)
                term = v * wx[j].unsqueeze(1)
                row = term if row is None else row + term
            term = row * wy[i].unsqueeze(1)
            out = term if out is None else out + term
        return out
    coords = [_source_index(cd, size, padding_mode, align_corners) for cd, size in zip(coords, spatial)]
    if mode == "nearest":
        pts = [cd.round().to(i64) for cd in coords]
        out = _gather_points(flat, pts, _in_bounds(pts, spatial), spatial)
        # PyTorch's grid gradient is zero here (not absent): connect the grid with a zero-slope term
        return out + (grid * 0).sum(-1).unsqueeze(1)
    floors = [cd.floor() for cd in coords]
    lo = [f.to(i64) for f in floors]
    frac = [cd - f for cd, f in zip(coords, floors)]
    out = None
    for corner in np.ndindex(*(2,) * nd):
        pts = [b + k for b, k in zip(lo, corner)]
        w = None
        for k, fr in zip(corner, frac):
            wk = fr if k else 1 - fr
            w = wk if w is None else w * wk
        term = _gather_points(flat, pts, _in_bounds(pts, spatial), spatial) * w.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _base_coords(steps, align_corners, dtype):
    """PyTorch's ``linspace_from_neg_one``: ``steps`` points over [-1, 1] (pixel centres unless
    ``align_corners``); a single step is 0."""
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype)
    v = np.linspace(-1, 1, steps, dtype=np.float64)
    if not align_corners:
        v = v * (steps - 1) / steps
    return v.astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps ``theta`` (N, 2, 3) or (N, 3, 4) for an output of ``size``
    (N, C, H, W) or (N, C, D, H, W): (N, H, W, 2) or (N, D, H, W, 3), for ``grid_sample``.

    Example:
        >>> F.affine_grid(ts.eye(2, 3).unsqueeze(0), (1, 3, 4, 5), align_corners=False).shape
        tessera.Size([1, 4, 5, 2])
    """
    check_tensor("affine_grid", "theta", theta)
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"affine_grid: expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(
                f"affine_grid: expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                f"{tuple(theta.shape)}."
            )
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(
                f"affine_grid: expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                f"{tuple(theta.shape)}."
            )
    else:
        raise NotImplementedError(
            f"affine_grid: only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. "
            f"Got size {size}."
        )
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
            "of affine_grid for details.",
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"affine_grid: expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise ValueError(
            f"affine_grid: expected theta's batch size ({theta.shape[0]}) to match size[0] ({size[0]})"
        )
    nd = len(spatial)
    npdt = theta.dtype.np
    # base grid (*spatial, nd + 1): (x, y[, z], 1) with x along the last spatial axis
    axes = [_base_coords(s, align_corners, npdt) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([mesh[nd - 1 - k] for k in range(nd)] + [np.ones(spatial, npdt)], -1)
    base = Tensor._wrap(np.ascontiguousarray(base.reshape(1, -1, nd + 1)))
    grid = ops.matmul(base, theta.mT)  # (N, prod(spatial), nd)
    return grid.reshape((size[0],) + spatial + (nd,))
