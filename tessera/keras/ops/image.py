"""``keras.ops.image``: image operations (resizing, affine/perspective/elastic warps, colour conversions,
patches, cropping/padding, blurs, Sobel edges, SSIM), with Keras 3's names, arguments and defaults.

Images are ``(batch, height, width, channels)`` (or one image without the batch axis); ``data_format``
defaults to ``keras.config.image_data_format()``. Everything is built on Tessera's ops, so the float paths
are differentiable; integer images are computed in float32 and rounded back to their dtype, as in Keras.

Example:
    >>> from tessera.keras import ops
    >>> ops.image.resize(ops.ones((2, 8, 8, 3)), (4, 4)).shape
    tessera.Size([2, 4, 4, 3])
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

import numpy as np

import tessera as ts

from ... import nn as _tnn
from ...core import dtypes as _dt
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ..layers.base import symbolic_op
from . import nn as _knn
from ._convert import standardize_dtype, to_tensor

F = _tnn.functional

TensorLike = Any

__all__ = [
    "affine_transform",
    "crop_images",
    "elastic_transform",
    "extract_patches",
    "extract_patches_3d",
    "gaussian_blur",
    "hsv_to_rgb",
    "map_coordinates",
    "pad_images",
    "perspective_transform",
    "resize",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "scale_and_translate",
    "sobel_edges",
    "ssim",
]

_RESIZE_MODES = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")
_ORDERS = {"nearest": 0, "bilinear": 1}  # map_coordinates' spline order per interpolation name
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


# -- helpers -------------------------------------------------------------------------------------------------
def _tensor(fn: str, x, arg: str = "images") -> Tensor:
    try:
        return to_tensor(x)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"keras.ops.image.{fn}: argument `{arg}` must be a tensor or array-like, got {type(x).__name__} ({e})"
        ) from None


def _images(fn: str, x, arg: str = "images", ranks=(3, 4)) -> Tensor:
    t = _tensor(fn, x, arg)
    if t.ndim not in ranks:
        what = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"keras.ops.image.{fn}: `{arg}` must have rank {what} (one image or a batch), got shape "
            f"{tuple(t.shape)}"
        )
    if t.dtype.is_complex:
        raise TypeError(f"keras.ops.image.{fn}: `{arg}` must be real, got dtype {t.dtype.name}")
    return t


def _data_format(fn: str, data_format) -> str:
    return _knn._data_format(f"image.{fn}", data_format)


def _choice(fn: str, arg: str, v, allowed) -> str:
    if v not in allowed:
        raise ValueError(f"keras.ops.image.{fn}: `{arg}` must be one of {tuple(allowed)}, got {v!r}")
    return v


def _batched_last(t: Tensor, df: str) -> tuple[Tensor, bool]:
    """``t`` as a channels-last batch, and whether a batch axis was added."""
    single = t.ndim == 3
    if single:
        t = t.unsqueeze(0)
    if df == "channels_first":
        t = ts.movedim(t, 1, -1)
    return t, single


def _restore_last(t: Tensor, df: str, single: bool) -> Tensor:
    if df == "channels_first":
        t = ts.movedim(t, -1, 1)
    return t.squeeze(0) if single else t


def _batched_first(t: Tensor, df: str) -> tuple[Tensor, bool]:
    single = t.ndim == 3
    if single:
        t = t.unsqueeze(0)
    if df == "channels_last":
        t = ts.movedim(t, -1, 1)
    return t, single


def _restore_first(t: Tensor, df: str, single: bool) -> Tensor:
    if df == "channels_last":
        t = ts.movedim(t, 1, -1)
    return t.squeeze(0) if single else t


def _to_float(t: Tensor) -> Tensor:
    return t if t.dtype in (_dt.float32, _dt.float64) else t.to(_dt.float32)


def _back(result: Tensor, dtype) -> Tensor:
    """``result`` in the input's dtype: integer images are rounded (and saturated) first."""
    if result.dtype is dtype:
        return result
    if not dtype.is_floating_point and dtype is not _dt.bool:
        info = np.iinfo(dtype.np)
        result = ts.clamp(ts.round(result), float(info.min), float(info.max))
    return result.to(dtype)


# -- colour --------------------------------------------------------------------------------------------------
@symbolic_op
def rgb_to_grayscale(images: TensorLike, data_format: str | None = None) -> Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` of RGB images, keeping a size-1 channel axis (1-channel images
    pass through).

    Example:
        >>> ops.image.rgb_to_grayscale(ops.ones((2, 4, 4, 3))).shape
        tessera.Size([2, 4, 4, 1])
    """
    fn = "rgb_to_grayscale"
    t = _images(fn, images)
    df = _data_format(fn, data_format)
    axis = -1 if df == "channels_last" else -3
    if t.shape[axis] not in (1, 3):
        raise ValueError(
            f"keras.ops.image.{fn}: images must have 3 (RGB) or 1 channels, got shape {tuple(t.shape)}"
        )
    if t.shape[axis] == 1:
        return t.clone()
    r, g, b = ts.unbind(t, dim=axis)
    gray = 0.2989 * r + 0.587 * g + 0.114 * b
    return gray.to(t.dtype).unsqueeze(axis)


def _float_images(fn: str, images) -> Tensor:
    t = _images(fn, images)
    if not t.dtype.is_floating_point:
        raise ValueError(f"keras.ops.image.{fn}: images must have a float dtype, got {t.dtype.name}")
    return t


def _channels3(fn: str, t: Tensor, df: str) -> tuple[int, tuple[Tensor, Tensor, Tensor]]:
    axis = t.ndim - 1 if df == "channels_last" else t.ndim - 3
    if t.shape[axis] != 3:
        raise ValueError(f"keras.ops.image.{fn}: images must have 3 channels, got shape {tuple(t.shape)}")
    return axis, ts.unbind(t, dim=axis)


@symbolic_op
def rgb_to_hsv(images: TensorLike, data_format: str | None = None) -> Tensor:
    """RGB (in ``[0, 1]``) to HSV, each channel in ``[0, 1]``; float images only.

    Example:
        >>> ops.image.rgb_to_hsv(ops.ones((4, 4, 3))).shape
        tessera.Size([4, 4, 3])
    """
    fn = "rgb_to_hsv"
    t = _float_images(fn, images)
    df = _data_format(fn, data_format)
    eps = float(ts.finfo(t.dtype).eps)
    t = ts.where(t.abs() < eps, 0.0, t).to(t.dtype)
    axis, (r, g, b) = _channels3(fn, t, df)
    value = ts.maximum(ts.maximum(r, g), b)
    rng = value - ts.minimum(ts.minimum(r, g), b)
    safe_value = ts.where(value > 0, value, 1.0)
    safe_range = ts.where(rng > 0, rng, 1.0)
    saturation = ts.where(value > 0, rng / safe_value, 0.0)
    norm = 1.0 / (6.0 * safe_range)
    hue = ts.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = ts.where(value == r, norm * (g - b), hue)
    hue = ts.where(rng > 0, hue, 0.0) + (hue < 0.0).to(t.dtype)
    return ts.stack([hue, saturation, value], dim=axis).to(t.dtype)


@symbolic_op
def hsv_to_rgb(images: TensorLike, data_format: str | None = None) -> Tensor:
    """HSV (each channel in ``[0, 1]``) to RGB; float images only.

    Example:
        >>> ops.image.hsv_to_rgb(ops.ones((4, 4, 3))).shape
        tessera.Size([4, 4, 3])
    """
    fn = "hsv_to_rgb"
    t = _float_images(fn, images)
    df = _data_format(fn, data_format)
    axis, (h, s, v) = _channels3(fn, t, df)
    dh = ts.remainder(h, 1.0) * 6.0
    dr = ts.clamp((dh - 3.0).abs() - 1.0, 0.0, 1.0)
    dg = ts.clamp(2.0 - (dh - 2.0).abs(), 0.0, 1.0)
    db = ts.clamp(2.0 - (dh - 4.0).abs(), 0.0, 1.0)
    one_minus_s = 1.0 - s
    planes = [v * (one_minus_s + s * d) for d in (dr, dg, db)]
    return ts.stack(planes, dim=axis).to(t.dtype)


# -- resampling weights --------------------------------------------------------------------------------------
def _triangle(x):
    return ts.clamp(1 - x.abs(), min=0.0)


def _keys_cubic(x, a=-0.5):
    x = x.abs()
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((x - 5) * x + 8) * x * a - 4 * a
    return ts.where(x < 1, near, ts.where(x < 2, far, 0.0))


def _lanczos(radius: float):
    def kernel(x):
        x = x.abs()
        y = radius * ts.sin(math.pi * x) * ts.sin(math.pi * x / radius)
        out = ts.where(x > 1e-3, y / ts.where(x != 0, math.pi**2 * x * x, 1.0), 1.0)
        return ts.where(x > radius, 0.0, out)

    return kernel


_KERNELS = {"linear": _triangle, "cubic": _keys_cubic, "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}
_METHODS = {
    "linear": "linear",
    "bilinear": "linear",
    "trilinear": "linear",
    "cubic": "cubic",
    "bicubic": "cubic",
    "tricubic": "cubic",
    "lanczos3": "lanczos3",
    "lanczos5": "lanczos5",
}


def _st_weights(n_in: int, n_out: int, scale, translation, kernel, antialias: bool, dtype) -> Tensor:
    """(n_in, n_out) resampling matrix of ``scale_and_translate`` (the JAX definition): output pixel centre
    ``(o + 0.5 - translation) / scale - 0.5`` sampled with ``kernel``, widened by ``1/scale`` when
    antialiasing a downscale, normalized, and zero outside the input."""
    inv = 1.0 / scale
    kscale = ts.maximum(inv, ts.tensor(1.0, dtype=dtype)) if antialias else 1.0
    sample = (ts.arange(n_out, dtype=dtype) + 0.5) * inv - translation * inv - 0.5
    x = (sample.unsqueeze(0) - ts.arange(n_in, dtype=dtype).unsqueeze(1)).abs() / kscale
    w = kernel(x)
    total = w.sum(dim=0, keepdim=True)
    w = ts.where(
        total.abs() > 1000.0 * float(np.finfo(np.float32).eps), w / ts.where(total != 0, total, 1.0), 0.0
    )
    inside = (sample >= -0.5) & (sample <= n_in - 0.5)
    return ts.where(inside.unsqueeze(0), w, 0.0).to(dtype)


def _apply_weights(x: Tensor, weights: dict[int, Tensor]) -> Tensor:
    """Resample ``x`` along each axis ``d`` with the (n_in, n_out) matrix ``weights[d]``."""
    for d, w in weights.items():
        x = ts.movedim(ts.tensordot(x, w.to(x.dtype), dims=([d], [0])), -1, d)
    return x


def _aa_weights(n_in: int, n_out: int, interp: str, dtype) -> Tensor:
    """(n_in, n_out) antialiased bilinear/bicubic weights as PyTorch's ``interpolate(antialias=True)``: the
    filter's support is stretched by the downscale factor and each row of taps is normalized."""
    scale = n_in / n_out
    size = 2 if interp == "bilinear" else 4
    support = size * 0.5 * scale if scale >= 1.0 else size * 0.5
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    w = np.zeros((n_in, n_out))
    for o in range(n_out):
        center = scale * (o + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        taps = (np.arange(lo, hi) - center + 0.5) * invscale
        a = np.abs(taps)
        if interp == "bilinear":
            vals = np.maximum(0.0, 1.0 - a)
        else:  # Keys cubic with a = -0.5, as PyTorch's antialiased bicubic
            vals = np.where(
                a < 1, (1.5 * a - 2.5) * a * a + 1, np.where(a < 2, ((-0.5 * a + 2.5) * a - 4) * a + 2, 0)
            )
        total = vals.sum()
        w[lo:hi, o] = vals / total if total != 0 else 0.0
    return ts.tensor(w).to(dtype)


def _area_weights(n_in: int, n_out: int, dtype) -> Tensor:
    """(n_in, n_out) area-averaging weights (TensorFlow's ``area`` resize): each output pixel averages the
    input span ``[o * s, (o + 1) * s)``, ``s = n_in / n_out``, weighting pixels by their overlap."""
    s = n_in / n_out
    lo = np.arange(n_out) * s
    i = np.arange(n_in)[:, None]
    overlap = np.clip(np.minimum(lo + s, i + 1) - np.maximum(lo, i), 0.0, None)
    return ts.tensor(overlap / s).to(dtype)


# -- resize --------------------------------------------------------------------------------------------------
@symbolic_op
def resize(
    images: TensorLike,
    size: tuple[int, int],
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Resize images to ``size = (height, width)``.

    ``interpolation``: ``'bilinear'``, ``'nearest'``, ``'bicubic'`` (half-pixel centres, as Keras's torch
    backend; ``antialias`` widens the bilinear/bicubic filter when downscaling), ``'lanczos3'``/``'lanczos5'``
    (``scale_and_translate``) or ``'area'``. ``crop_to_aspect_ratio`` first crops the largest centred window
    with the target's aspect ratio; ``pad_to_aspect_ratio`` pads the short side with ``fill_value``.

    Example:
        >>> ops.image.resize(ops.ones((1, 6, 9, 3)), (4, 4), crop_to_aspect_ratio=True).shape
        tessera.Size([1, 4, 4, 3])
    """
    fn = "resize"
    _choice(fn, "interpolation", interpolation, _RESIZE_MODES)
    _choice(fn, "fill_mode", fill_mode, ("constant",))
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            f"keras.ops.image.{fn}: only one of pad_to_aspect_ratio and crop_to_aspect_ratio can be True"
        )
    try:
        size = tuple(int(s) for s in size)
    except TypeError:
        size = ()
    if len(size) != 2 or min(size) < 1:
        raise ValueError(
            f"keras.ops.image.{fn}: `size` must be (height, width) of positive ints, got {size!r}"
        )
    t = _images(fn, images)
    df = _data_format(fn, data_format)
    x, single = _batched_first(t, df)
    x = _to_float(x)
    th, tw = size
    h, w = x.shape[2], x.shape[3]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = x[:, :, top : top + ch, left : left + cw]
    elif pad_to_aspect_ratio:
        ph, pw = max(h, int(float(w * th) / tw)), max(w, int(float(h * tw) / th))
        top, left = int(float(ph - h) / 2), int(float(pw - w) / 2)
        if top or left:
            x = F.pad(x, (left, left, top, top), value=float(fill_value))
    h, w = x.shape[2], x.shape[3]
    if interpolation in ("lanczos3", "lanczos5"):
        weights = {
            d: _st_weights(
                n, m, ts.tensor(m / n, dtype=x.dtype), 0.0, _KERNELS[interpolation], antialias, x.dtype
            )
            for d, n, m in ((2, h, th), (3, w, tw))
        }
        y = _apply_weights(x, weights)
    elif interpolation == "area":
        y = _apply_weights(x, {2: _area_weights(h, th, x.dtype), 3: _area_weights(w, tw, x.dtype)})
    elif antialias and interpolation in ("bilinear", "bicubic"):
        y = _apply_weights(
            x, {2: _aa_weights(h, th, interpolation, x.dtype), 3: _aa_weights(w, tw, interpolation, x.dtype)}
        )
    elif interpolation == "nearest":
        y = F.interpolate(x, size=size, mode="nearest-exact")
    else:
        y = F.interpolate(x, size=size, mode=interpolation, align_corners=False)
    if interpolation == "bicubic" and t.dtype is _dt.uint8:
        y = ts.clamp(y, 0.0, 255.0)
    return _restore_first(_back(y, t.dtype), df, single)


# -- crop / pad ----------------------------------------------------------------------------------------------
def _crop_pad_args(fn: str, kind: str, a, b, target, length: int, side: str) -> tuple[int, int]:
    """(before, after) amounts from two of (before, after, target size)."""
    names = (
        (f"top_{kind}", f"bottom_{kind}", "target_height")
        if side == "h"
        else (f"left_{kind}", f"right_{kind}", "target_width")
    )
    given = [a, b, target]
    if given.count(None) != 1:
        raise ValueError(
            f"keras.ops.image.{fn}: specify exactly two of {', '.join(names)}; got "
            + ", ".join(f"{n}={v}" for n, v in zip(names, given))
        )
    for n, v in zip(names, given):
        if v is not None and (not isinstance(v, numbers.Integral) or v < 0):
            raise ValueError(f"keras.ops.image.{fn}: {n} must be an int >= 0, got {n}={v!r}")
    sign = 1 if kind == "padding" else -1
    if a is None:
        a = sign * (target - length) - b
    if b is None:
        b = sign * (target - length) - a
    if a < 0 or b < 0:
        raise ValueError(
            f"keras.ops.image.{fn}: {names[2]}={target} is incompatible with the image size {length} and "
            f"{names[0] if a < 0 else names[1]}: it would be {min(a, b)}"
        )
    return int(a), int(b)


@symbolic_op
def pad_images(
    images: TensorLike,
    top_padding: int | None = None,
    left_padding: int | None = None,
    bottom_padding: int | None = None,
    right_padding: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    """Zero-pad images; give two of (top, bottom, target_height) and two of (left, right, target_width).

    Example:
        >>> ops.image.pad_images(ops.ones((4, 4, 3)), 1, 2, target_height=8, target_width=8).shape
        tessera.Size([8, 8, 3])
    """
    fn = "pad_images"
    t = _images(fn, images)
    df = _data_format(fn, data_format)
    hax = t.ndim - 3 if df == "channels_last" else t.ndim - 2
    top, bottom = _crop_pad_args(fn, "padding", top_padding, bottom_padding, target_height, t.shape[hax], "h")
    left, right = _crop_pad_args(
        fn, "padding", left_padding, right_padding, target_width, t.shape[hax + 1], "w"
    )
    pads = [(0, 0)] * t.ndim
    pads[hax], pads[hax + 1] = (top, bottom), (left, right)
    return F.pad(t, _knn._pad_arg(pads))


@symbolic_op
def crop_images(
    images: TensorLike,
    top_cropping: int | None = None,
    left_cropping: int | None = None,
    bottom_cropping: int | None = None,
    right_cropping: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    """Crop images; give two of (top, bottom, target_height) and two of (left, right, target_width).

    Example:
        >>> ops.image.crop_images(ops.ones((8, 8, 3)), 1, 2, target_height=4, target_width=5).shape
        tessera.Size([4, 5, 3])
    """
    fn = "crop_images"
    t = _images(fn, images)
    df = _data_format(fn, data_format)
    hax = t.ndim - 3 if df == "channels_last" else t.ndim - 2
    h, w = t.shape[hax], t.shape[hax + 1]
    top, bottom = _crop_pad_args(fn, "cropping", top_cropping, bottom_cropping, target_height, h, "h")
    left, right = _crop_pad_args(fn, "cropping", left_cropping, right_cropping, target_width, w, "w")
    if top + bottom > h or left + right > w:
        raise ValueError(
            f"keras.ops.image.{fn}: the cropping (top {top}, bottom {bottom}, left {left}, right {right}) exceeds "
            f"the image size ({h}, {w})"
        )
    index = [slice(None)] * t.ndim
    index[hax], index[hax + 1] = slice(top, h - bottom), slice(left, w - right)
    return t[tuple(index)]


# -- sampling ------------------------------------------------------------------------------------------------
def _mirror(i, n):
    s = n - 1
    if s == 0:
        return ts.zeros_like(i)
    return ((i + s) % (2 * s) - s).abs()


def _reflect(i, n):
    return ts.floor_divide(_mirror(2 * i + 1, 2 * n + 1) - 1, 2)


_INDEX_FIXERS = {
    "constant": lambda i, n: ts.clamp(i, 0, n - 1),
    "nearest": lambda i, n: ts.clamp(i, 0, n - 1),
    "wrap": lambda i, n: i % n,
    "mirror": _mirror,
    "reflect": _reflect,
}


def _taps(coord: Tensor, order: int) -> list[tuple[Tensor, Any]]:
    """(integer index, weight) pairs interpolating along one axis at ``coord``."""
    if order == 0:
        c = coord if not coord.dtype.is_floating_point else ts.round(coord)
        return [(c.to(ts.int64), None)]
    lower = ts.floor(coord)
    upper_w = coord - lower
    i = lower.to(ts.int64)
    return [(i, 1 - upper_w), (i + 1, upper_w)]


def _sample(table: Tensor, sizes, coords: list[Tensor], order: int, fill_mode: str, fill_value) -> Tensor:
    """Interpolate ``table`` (the input flattened over its first ``len(sizes)`` axes, trailing axes kept)
    at the fractional ``coords`` (one tensor per axis, all the same shape)."""
    fixer = _INDEX_FIXERS[fill_mode]
    axes = []
    for c, n in zip(coords, sizes):
        axes.append([(fixer(i, n), (i >= 0) & (i < n), w) for i, w in _taps(c, order)])
    strides = [int(np.prod(sizes[k + 1 :])) for k in range(len(sizes))]
    out_shape = tuple(coords[0].shape) + tuple(table.shape[1:])
    total = None
    for combo in itertools.product(*axes):
        flat = sum(idx * st for (idx, _, _), st in zip(combo, strides))
        val = ts.index_select(table, 0, flat.reshape(-1)).reshape(*out_shape)
        extra = (1,) * (table.ndim - 1)
        if fill_mode == "constant":
            valid = combo[0][1]
            for _, v, _ in combo[1:]:
                valid = valid & v
            val = ts.where(valid.reshape(*valid.shape, *extra), val, fill_value)
        weight = None
        for _, _, wt in combo:
            if wt is not None:
                weight = wt if weight is None else weight * wt
        if weight is not None:
            val = val * weight.reshape(*weight.shape, *extra).to(val.dtype)
        total = val if total is None else total + val
    return total


def _order(fn: str, interpolation: str) -> int:
    return _ORDERS[_choice(fn, "interpolation", interpolation, tuple(_ORDERS))]


@symbolic_op
def map_coordinates(
    inputs: TensorLike,
    coordinates: TensorLike,
    order: int,
    fill_mode: str = "constant",
    fill_value: float = 0,
) -> Tensor:
    """Sample ``inputs`` at fractional ``coordinates`` (leading axis: one coordinate array per input axis),
    with spline ``order`` 0 (nearest) or 1 (linear); points outside follow ``fill_mode`` ('constant' uses
    ``fill_value``, or 'nearest', 'wrap', 'mirror', 'reflect'), as ``scipy.ndimage.map_coordinates``.

    Example:
        >>> ops.image.map_coordinates(ops.ones((3, 3)), [[0.5, 1.0], [1.5, 2.0]], order=1).shape
        tessera.Size([2])
    """
    fn = "map_coordinates"
    x = _tensor(fn, inputs, "inputs")
    if isinstance(coordinates, (list, tuple)) and not all(isinstance(c, numbers.Number) for c in coordinates):
        coords = [_tensor(fn, c, "coordinates") for c in coordinates]
    else:
        ct = _tensor(fn, coordinates, "coordinates")
        coords = list(ts.unbind(ct, dim=0)) if ct.ndim else []
    if len(coords) != x.ndim:
        raise ValueError(
            f"keras.ops.image.{fn}: the first dimension of `coordinates` ({len(coords)}) must equal the rank of "
            f"`inputs` {tuple(x.shape)}"
        )
    if coords[0].ndim < 1:
        raise ValueError(
            f"keras.ops.image.{fn}: `coordinates` must have rank >= 2 (rank of inputs, points...), got "
            f"{(len(coords),) + tuple(coords[0].shape)}"
        )
    if len({tuple(c.shape) for c in coords}) != 1:
        raise ValueError(f"keras.ops.image.{fn}: every coordinate array must have the same shape")
    _choice(fn, "fill_mode", fill_mode, _FILL_MODES)
    if order not in (0, 1):
        raise NotImplementedError(f"keras.ops.image.{fn}: order must be 0 or 1, got order={order!r}")
    work = x if x.dtype.is_floating_point else x.to(_dt.float32)
    if any(c.dtype.is_floating_point and c.dtype.itemsize > work.dtype.itemsize for c in coords):
        work = work.to(_dt.float64)
    coords = [c.to(work.dtype) if c.dtype.is_floating_point else c for c in coords]
    out = _sample(work.reshape(-1), tuple(x.shape), coords, order, fill_mode, fill_value)
    return _back(out, x.dtype)


def _sample_images(x: Tensor, ys: Tensor, xs: Tensor, order: int, fill_mode: str, fill_value) -> Tensor:
    """Bilinear/nearest sampling of a channels-last batch ``x`` at per-image coordinates ``(B, H', W')``."""
    b, h, w, c = x.shape
    bidx = ts.arange(b).reshape(b, *([1] * (ys.ndim - 1))).expand(*ys.shape)
    table = x.reshape(b * h * w, c)
    fixer = _INDEX_FIXERS[fill_mode]
    total = None
    for (iy, wy), (ix, wx) in itertools.product(_taps(ys, order), _taps(xs, order)):
        flat = bidx * (h * w) + fixer(iy, h) * w + fixer(ix, w)
        val = ts.index_select(table, 0, flat.reshape(-1)).reshape(*ys.shape, c)
        if fill_mode == "constant":
            valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            val = ts.where(valid.unsqueeze(-1), val, fill_value)
        if wy is not None:
            val = val * (wy * wx).unsqueeze(-1)
        total = val if total is None else total + val
    return total


@symbolic_op
def affine_transform(
    images: TensorLike,
    transform: TensorLike,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0,
    data_format: str | None = None,
) -> Tensor:
    """Warp images by projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (one, or one per image):
    output pixel ``(x, y)`` samples the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``,
    ``k = c0 x + c1 y + 1``; outside points follow ``fill_mode``.

    Example:
        >>> shift = ops.convert_to_tensor([1.0, 0, -2, 0, 1, 0, 0, 0])
        >>> ops.image.affine_transform(ops.ones((1, 5, 5, 3)), shift).shape
        tessera.Size([1, 5, 5, 3])
    """
    fn = "affine_transform"
    order = _order(fn, interpolation)
    _choice(fn, "fill_mode", fill_mode, _FILL_MODES)
    t = _images(fn, images)
    tr = _tensor(fn, transform, "transform")
    if tr.ndim not in (1, 2) or tr.shape[-1] != 8:
        raise ValueError(
            f"keras.ops.image.{fn}: `transform` must have shape (8,) or (batch, 8), got {tuple(tr.shape)}"
        )
    df = _data_format(fn, data_format)
    x, single = _batched_last(t, df)
    b, h, w, _ = x.shape
    if tr.ndim == 2 and tr.shape[0] not in (1, b):
        raise ValueError(
            f"keras.ops.image.{fn}: {tr.shape[0]} transforms for a batch of {b} images (images shape "
            f"{tuple(t.shape)})"
        )
    work = _to_float(x)
    tr = tr.reshape(-1, 8).to(work.dtype)
    gy, gx = ts.meshgrid(ts.arange(h, dtype=work.dtype), ts.arange(w, dtype=work.dtype), indexing="ij")
    gx, gy = gx.unsqueeze(0), gy.unsqueeze(0)

    def coef(i):
        return tr[:, i].reshape(-1, 1, 1)

    k = coef(6) * gx + coef(7) * gy + 1.0
    xs = (coef(0) * gx + coef(1) * gy + coef(2)) / k
    ys = (coef(3) * gx + coef(4) * gy + coef(5)) / k
    if xs.shape[0] != b:
        xs, ys = xs.expand(b, h, w), ys.expand(b, h, w)
    out = _sample_images(work, ys, xs, order, fill_mode, fill_value)
    return _restore_last(_back(out, t.dtype), df, single)


def _homography(start: Tensor, end: Tensor) -> Tensor:
    """(B, 8) projective coefficients mapping each ``end`` quad corner onto its ``start`` corner."""
    sx, sy = start[:, :, 0], start[:, :, 1]
    ex, ey = end[:, :, 0], end[:, :, 1]
    zero, one = ts.zeros_like(ex), ts.ones_like(ex)
    rows = []
    for i in range(4):
        rows.append(ts.stack([ex[:, i], ey[:, i], one[:, i], zero[:, i], zero[:, i], zero[:, i],
                              -sx[:, i] * ex[:, i], -sx[:, i] * ey[:, i]], dim=-1))  # fmt: skip
        rows.append(ts.stack([zero[:, i], zero[:, i], zero[:, i], ex[:, i], ey[:, i], one[:, i],
                              -sy[:, i] * ex[:, i], -sy[:, i] * ey[:, i]], dim=-1))  # fmt: skip
    a = ts.stack(rows, dim=1)
    target = ts.stack([v[:, i] for i in range(4) for v in (sx, sy)], dim=-1).unsqueeze(-1)
    return ts.linalg.solve(a, target).reshape(-1, 8)


@symbolic_op
def perspective_transform(
    images: TensorLike,
    start_points: TensorLike,
    end_points: TensorLike,
    interpolation: str = "bilinear",
    fill_value: float = 0,
    data_format: str | None = None,
) -> Tensor:
    """Warp images so the quadrilateral ``start_points`` (4 (x, y) corners, or a batch ``(N, 4, 2)``) lands on
    ``end_points``; outside pixels get ``fill_value``.

    Example:
        >>> pts = ops.convert_to_tensor([[0.0, 0], [7, 0], [0, 7], [7, 7]])
        >>> ops.image.perspective_transform(ops.ones((8, 8, 3)), pts, pts).shape
        tessera.Size([8, 8, 3])
    """
    fn = "perspective_transform"
    order = _order(fn, interpolation)
    t = _images(fn, images)
    df = _data_format(fn, data_format)
    x, single = _batched_last(t, df)
    work = _to_float(x)
    pts = []
    for arg, p in (("start_points", start_points), ("end_points", end_points)):
        pt = _tensor(fn, p, arg)
        if pt.ndim not in (2, 3) or tuple(pt.shape[-2:]) != (4, 2):
            raise ValueError(
                f"keras.ops.image.{fn}: `{arg}` must have shape (4, 2) or (N, 4, 2), got {tuple(pt.shape)}"
            )
        pts.append(pt)
    if tuple(pts[0].shape) != tuple(pts[1].shape):
        raise ValueError(
            f"keras.ops.image.{fn}: start_points and end_points must have the same shape, got "
            f"{tuple(pts[0].shape)} and {tuple(pts[1].shape)}"
        )
    b, h, w, _ = x.shape
    start, end = (p.reshape(-1, 4, 2).to(work.dtype) for p in pts)
    if start.shape[0] not in (1, b):
        raise ValueError(f"keras.ops.image.{fn}: {start.shape[0]} point sets for a batch of {b} images")
    cdt = _dt.float64 if work.dtype is _dt.float64 else _dt.float32
    coef = _homography(start.to(cdt), end.to(cdt)).to(work.dtype)
    gy, gx = ts.meshgrid(ts.arange(h, dtype=work.dtype), ts.arange(w, dtype=work.dtype), indexing="ij")
    gx, gy = gx.unsqueeze(0), gy.unsqueeze(0)

    def a(i):
        return coef[:, i].reshape(-1, 1, 1)

    denom = a(6) * gx + a(7) * gy + 1.0
    xs = (a(0) * gx + a(1) * gy + a(2)) / denom
    ys = (a(3) * gx + a(4) * gy + a(5)) / denom
    if xs.shape[0] != b:
        xs, ys = xs.expand(b, h, w), ys.expand(b, h, w)
    out = _sample_images(work, ys, xs, order, "constant", fill_value)
    return _restore_last(_back(out, t.dtype), df, single)


# -- filters -------------------------------------------------------------------------------------------------
def _gaussian_1d(size: int, sigma, dtype) -> Tensor:
    x = ts.arange(size, dtype=dtype) - (size - 1) / 2
    k = ts.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _depthwise_same(x: Tensor, kernel2d: Tensor) -> Tensor:
    """Channels-first depthwise 'same' convolution of ``x`` with one 2-D kernel for every channel."""
    c = x.shape[1]
    kh, kw = kernel2d.shape
    pads = _knn._same_pads(tuple(x.shape[2:]), (kh, kw), (1, 1), (1, 1))
    x = F.pad(x, _knn._pad_arg(pads))
    return F.conv2d(x, kernel2d.reshape(1, 1, kh, kw).expand(c, 1, kh, kw), groups=c)


@symbolic_op
def gaussian_blur(
    images: TensorLike,
    kernel_size: tuple[int, int] = (3, 3),
    sigma: tuple[float, float] = (1.0, 1.0),
    data_format: str | None = None,
) -> Tensor:
    """Gaussian blur ('same' zero padding): ``kernel_size`` and ``sigma`` are ``(x, y)`` pairs, i.e. the first
    entry runs along the width, as in Keras.

    Example:
        >>> ops.image.gaussian_blur(ops.ones((1, 8, 8, 3)), (5, 5), (1.5, 1.5)).shape
        tessera.Size([1, 8, 8, 3])
    """
    fn = "gaussian_blur"
    t = _images(fn, images)
    ks = _knn._ntuple(f"image.{fn}", "kernel_size", kernel_size, 2)
    try:
        sg = tuple(float(s) for s in (sigma if isinstance(sigma, (list, tuple)) else (sigma, sigma)))
    except (TypeError, ValueError):
        sg = ()
    if len(sg) != 2 or min(sg) <= 0:
        raise ValueError(f"keras.ops.image.{fn}: `sigma` must be two positive numbers, got {sigma!r}")
    df = _data_format(fn, data_format)
    x, single = _batched_first(t, df)
    work = _to_float(x)
    kernel = ts.outer(_gaussian_1d(ks[1], sg[1], work.dtype), _gaussian_1d(ks[0], sg[0], work.dtype))
    return _restore_first(_back(_depthwise_same(work, kernel), t.dtype), df, single)


@symbolic_op
def sobel_edges(images: TensorLike, data_format: str | None = None) -> Tensor:
    """Sobel gradients of a batch of images (zero padding): shape ``images.shape + (2,)`` holding
    ``[d/dy, d/dx]`` per channel.

    Example:
        >>> ops.image.sobel_edges(ops.ones((2, 8, 8, 3))).shape
        tessera.Size([2, 8, 8, 3, 2])
    """
    fn = "sobel_edges"
    t = _images(fn, images, ranks=(4,))
    df = _data_format(fn, data_format)
    x = _to_float(ts.movedim(t, -1, 1) if df == "channels_last" else t)
    sx = ts.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype)
    edges = ts.stack([_depthwise_same(x, sx.t()), _depthwise_same(x, sx)], dim=-1)
    if df == "channels_last":
        edges = edges.permute(0, 2, 3, 1, 4)
    if not t.dtype.is_floating_point:  # integer images keep integer arithmetic (unsigned ones wrap around)
        return ts.round(edges).to(ts.int64).to(t.dtype)
    return edges.to(t.dtype)


@symbolic_op
def ssim(
    image1: TensorLike,
    image2: TensorLike,
    max_val: float = 1.0,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_format: str | None = None,
) -> Tensor:
    """Structural similarity of two images (or batches), with a ``filter_size`` Gaussian window (valid
    positions only), averaged over positions and channels: one value per image.

    Example:
        >>> float(ops.image.ssim(ops.ones((1, 16, 16, 3)), ops.ones((1, 16, 16, 3))))
        1.0
    """
    fn = "ssim"
    a, b = _images(fn, image1, "image1"), _images(fn, image2, "image2")
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"keras.ops.image.{fn}: image1 and image2 must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    df = _data_format(fn, data_format)
    x1, single = _batched_first(a, df)
    x2, _ = _batched_first(b, df)
    cdt = x1.dtype if x1.dtype.is_floating_point else standardize_dtype(None)
    x1, x2 = x1.to(cdt), x2.to(cdt)
    n, c, h, w = x1.shape
    if not isinstance(filter_size, numbers.Integral) or not 1 <= filter_size <= min(h, w):
        raise ValueError(
            f"keras.ops.image.{fn}: filter_size must be an int in [1, min(height, width) = {min(h, w)}], got "
            f"{filter_size!r}"
        )
    g = _gaussian_1d(int(filter_size), float(filter_sigma), cdt)
    kernel = ts.outer(g, g).reshape(1, 1, filter_size, filter_size)
    x1, x2 = x1.reshape(n * c, 1, h, w), x2.reshape(n * c, 1, h, w)

    def blur(v):
        return F.conv2d(v, kernel)

    mu1, mu2 = blur(x1), blur(x2)
    s11 = blur(x1 * x1) - mu1 * mu1
    s22 = blur(x2 * x2) - mu2 * mu2
    s12 = blur(x1 * x2) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    smap = ((2.0 * mu1 * mu2 + c1) * (2.0 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    out = smap.mean(dim=(1, 2, 3)).reshape(n, c).mean(dim=-1)
    out = out.squeeze(0) if single else out
    return out.to(a.dtype)


def _seed_generator(seed):
    """A Tessera RNG from Keras's ``seed`` (an int, None for a random one, or a ``SeedGenerator``)."""
    if seed is None:
        return None
    if hasattr(seed, "next"):
        with no_grad():
            seed = int(np.asarray(to_tensor(seed.next()).numpy()).reshape(-1)[0])
    if not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"keras.ops.image.elastic_transform: seed must be an int or a SeedGenerator, got {seed!r}"
        )
    return ts.Generator().manual_seed(int(seed))


@symbolic_op
def elastic_transform(
    images: TensorLike,
    alpha: float = 20.0,
    sigma: float = 5.0,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
    seed=None,
    data_format: str | None = None,
) -> Tensor:
    """Elastic distortion: a random displacement field (normal noise times ``sigma``, Gaussian-blurred with
    ``sigma``, scaled by ``alpha``) resamples each image; outside points follow ``fill_mode``.

    Example:
        >>> ops.image.elastic_transform(ops.ones((2, 16, 16, 3)), seed=1).shape
        tessera.Size([2, 16, 16, 3])
    """
    fn = "elastic_transform"
    order = _order(fn, interpolation)
    _choice(fn, "fill_mode", fill_mode, _FILL_MODES)
    t = _images(fn, images)
    if not isinstance(sigma, numbers.Real) or sigma <= 0:
        raise ValueError(f"keras.ops.image.{fn}: sigma must be a positive number, got {sigma!r}")
    df = _data_format(fn, data_format)
    x, single = _batched_last(t, df)
    work = _to_float(x)
    b, h, w, _ = x.shape
    gen = _seed_generator(seed)
    ksize = int(6 * sigma) | 1
    with no_grad():
        noise = ts.randn(2 * b, 1, h, w, generator=gen, dtype=work.dtype) * sigma
        g = _gaussian_1d(ksize, float(sigma), work.dtype)
        field = _depthwise_same(noise, ts.outer(g, g)).reshape(2, b, h, w)
    gy, gx = ts.meshgrid(ts.arange(h, dtype=work.dtype), ts.arange(w, dtype=work.dtype), indexing="ij")
    xs = gx.unsqueeze(0) + alpha * field[0]
    ys = gy.unsqueeze(0) + alpha * field[1]
    out = _sample_images(work, ys, xs, order, fill_mode, fill_value)
    return _restore_last(_back(out, t.dtype), df, single)


@symbolic_op
def scale_and_translate(
    images: TensorLike,
    output_shape: tuple[int, ...],
    scale: TensorLike,
    translation: TensorLike,
    spatial_dims: tuple[int, ...],
    method: str,
    antialias: bool = True,
) -> Tensor:
    """Resample ``images`` along ``spatial_dims`` to ``output_shape`` with per-axis ``scale`` and
    ``translation`` (output ``o`` samples input ``(o + 0.5 - translation) / scale - 0.5``) using ``method``
    ('linear'/'bilinear'/'trilinear', 'cubic'/'bicubic'/'tricubic', 'lanczos3', 'lanczos5'), as
    ``jax.image.scale_and_translate``.

    Example:
        >>> ops.image.scale_and_translate(ops.ones((4, 4)), (8, 8), [2.0, 2.0], [0.0, 0.0], (0, 1), "linear").shape
        tessera.Size([8, 8])
    """
    fn = "scale_and_translate"
    _choice(fn, "method", method, tuple(_METHODS))
    t = _tensor(fn, images)
    out_shape = tuple(int(s) for s in output_shape)
    if len(out_shape) != t.ndim:
        raise ValueError(
            f"keras.ops.image.{fn}: output_shape {out_shape} must have one size per axis of images "
            f"{tuple(t.shape)}"
        )
    dims = [int(d) % t.ndim for d in spatial_dims]
    sc, tr = _tensor(fn, scale, "scale"), _tensor(fn, translation, "translation")
    if sc.numel() != len(dims) or tr.numel() != len(dims):
        raise ValueError(
            f"keras.ops.image.{fn}: scale and translation need one value per spatial dim ({len(dims)}), got "
            f"shapes {tuple(sc.shape)} and {tuple(tr.shape)}"
        )
    for d in range(t.ndim):
        if d not in dims and out_shape[d] != t.shape[d]:
            raise ValueError(
                f"keras.ops.image.{fn}: axis {d} is not in spatial_dims, so output_shape[{d}] must be "
                f"{t.shape[d]}, got {out_shape[d]}"
            )
    if not dims:
        return t
    wdt = ts.promote_types(sc.dtype, tr.dtype)
    wdt = wdt if wdt.is_floating_point else standardize_dtype(None)
    sc, tr = sc.to(wdt).reshape(-1), tr.to(wdt).reshape(-1)
    work = t if t.dtype.is_floating_point else t.to(_dt.float32)
    kernel = _KERNELS[_METHODS[method]]
    weights = {
        d: _st_weights(t.shape[d], out_shape[d], sc[i], tr[i], kernel, bool(antialias), wdt)
        for i, d in enumerate(dims)
    }
    out = _apply_weights(work, weights)
    if not t.dtype.is_floating_point:
        with no_grad():
            lo, hi = float(t.min()), float(t.max())
        out = ts.clamp(ts.round(out), lo, hi).to(t.dtype)
    return out


# -- patches -------------------------------------------------------------------------------------------------
def _patches(fn: str, x, size, strides, dilation_rate, padding, data_format, rank: int) -> Tensor:
    t = _images(fn, x, "images" if rank == 2 else "volumes", ranks=(rank + 1, rank + 2))
    sz = _knn._ntuple(f"image.{fn}", "size", size, rank)
    st = sz if not strides else _knn._ntuple(f"image.{fn}", "strides", strides, rank)
    df = _data_format(fn, data_format)
    single = t.ndim == rank + 1
    v = t.unsqueeze(0) if single else t
    c = v.shape[-1] if df == "channels_last" else v.shape[1]
    out_dim = int(np.prod(sz)) * c
    kernel = ts.eye(out_dim, dtype=v.dtype).reshape(*sz, c, out_dim)
    name = f"image.{fn}"
    xv, k, r, s, d, p, df, out = _knn._conv_args(name, v, kernel, st, padding, df, dilation_rate)
    y = _knn._from_first(
        _knn._conv_first(name, _knn._to_first(xv, df), k, r, s, d, p, tuple(v.shape)), df
    ).to(out)
    return y.squeeze(0) if single else y


@symbolic_op
def extract_patches(
    images: TensorLike,
    size: int | tuple[int, ...],
    strides: int | tuple[int, int] | None = None,
    dilation_rate: int = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """Patches of ``size`` (2-D; a 3-tuple gives ``extract_patches_3d``) flattened into the channel axis:
    ``(batch, out_h, out_w, size_h * size_w * channels)``; ``strides`` default to ``size``.

    Example:
        >>> ops.image.extract_patches(ops.ones((1, 8, 8, 3)), 4).shape
        tessera.Size([1, 2, 2, 48])
    """
    if not isinstance(size, numbers.Integral) and len(size) == 3:
        return _patches("extract_patches", images, size, strides, dilation_rate, padding, data_format, 3)
    if not isinstance(size, numbers.Integral) and len(size) != 2:
        raise TypeError(f"keras.ops.image.extract_patches: `size` must be an int or a 2-tuple, got {size!r}")
    return _patches("extract_patches", images, size, strides, dilation_rate, padding, data_format, 2)


@symbolic_op
def extract_patches_3d(
    volumes: TensorLike,
    size: int | tuple[int, int, int],
    strides: int | tuple[int, int, int] | None = None,
    dilation_rate: int = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """3-D patches of ``size`` flattened into the channel axis: ``(batch, d', h', w', prod(size) * channels)``.

    Example:
        >>> ops.image.extract_patches_3d(ops.ones((1, 4, 4, 4, 2)), 2).shape
        tessera.Size([1, 2, 2, 2, 16])
    """
    if not isinstance(size, numbers.Integral) and len(size) != 3:
        raise TypeError(
            f"keras.ops.image.extract_patches_3d: `size` must be an int or a 3-tuple, got {size!r}"
        )
    return _patches("extract_patches_3d", volumes, size, strides, dilation_rate, padding, data_format, 3)
