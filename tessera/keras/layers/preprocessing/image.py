"""Image preprocessing layers: ``Rescaling``, ``Resizing``, ``CenterCrop`` and the augmentation layers
(``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``, ``RandomCrop``,
``RandomContrast``, ``RandomBrightness``, ...).

Images are ``(height, width, channels)`` or batches ``(batch, height, width, channels)`` (``data_format=
'channels_first'``: channels before height). The pixel arithmetic is Tessera ops, so every layer is
differentiable with respect to its images; random parameters (angles, flips, offsets) are drawn on the host
from a NumPy generator seeded by ``seed``. Random layers transform only in training (``training=True``,
or ``training=None`` with the layer in training mode, the default for direct calls, as in Keras) and are
the identity at inference.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .... import ops
from ....core import creation
from ....core import dtypes as _dt
from ....core.tensor import Tensor
from ....nn import functional as F
from ... import config as _config
from ..base import Layer
from ._common import check_choice, to_host

__all__ = [
    "Rescaling",
    "Resizing",
    "CenterCrop",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")  # the layers' modes (the sampler also has "mirror")
_RESIZE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _data_format(layer: str, data_format) -> str:
    if data_format is None:
        return _config.image_data_format()
    return check_choice(layer, "data_format", data_format, ("channels_last", "channels_first"))


def _image_tensor(layer: str, x, dtype=None) -> Tensor:
    t = x if isinstance(x, Tensor) else creation.as_tensor(np.asarray(to_host(x)))
    if t.ndim not in (3, 4):
        raise ValueError(
            f"{layer}: expected images of rank 3 (single image) or 4 (batch of images), got shape {tuple(t.shape)}"
        )
    if dtype is not None and t.dtype is not dtype:
        t = t.to(dtype)
    return t


def _to_nhwc(x: Tensor, data_format: str):
    """``x`` as a (batch, height, width, channels) tensor and the function that restores its layout."""
    single = x.ndim == 3
    if single:
        x = x.unsqueeze(0)
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)

    def restore(y: Tensor) -> Tensor:
        if data_format == "channels_first":
            y = y.permute(0, 3, 1, 2)
        return y[0] if single else y

    return x, restore


def _fix_index(index: np.ndarray, size: int, fill_mode: str) -> np.ndarray:
    """Keras's (and SciPy's) boundary rules for integer sample positions."""
    if fill_mode in ("constant", "nearest"):
        return np.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return np.mod(index, size)

    def mirror(i, n):
        s = n - 1
        return np.abs(np.mod(i + s, 2 * s) - s) if s > 0 else np.zeros_like(i)

    if fill_mode == "mirror":
        return mirror(index, size)
    return np.floor_divide(mirror(2 * index + 1, 2 * size + 1) - 1, 2)  # reflect


def affine_sample(
    images: Tensor,
    transforms: np.ndarray,
    interpolation: str,
    fill_mode: str,
    fill_value,
    projective: bool = False,
) -> Tensor:
    """Keras's ``ops.image.affine_transform`` on NHWC ``images``: output pixel (x, y) samples the input at
    ``(a0 x + a1 y + a2, b0 x + b1 y + b2)`` for each image's ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (divided
    by ``c0 x + c1 y + 1`` when ``projective``, as ``perspective_transform``). Sample positions and weights
    depend only on the transforms (host); the gather and blend are Tessera ops."""
    b, h, w, c = (int(s) for s in images.shape)
    t = np.asarray(transforms, dtype=np.float32).reshape(b, 8)
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    src_x = t[:, 0, None, None] * xs + t[:, 1, None, None] * ys + t[:, 2, None, None]
    src_y = t[:, 3, None, None] * xs + t[:, 4, None, None] * ys + t[:, 5, None, None]
    if projective:
        denom = t[:, 6, None, None] * xs + t[:, 7, None, None] * ys + np.float32(1.0)
        src_x, src_y = src_x / denom, src_y / denom
    return sample_at(images, src_x, src_y, interpolation, fill_mode, fill_value)


def sample_at(
    images: Tensor, src_x: np.ndarray, src_y: np.ndarray, interpolation: str, fill_mode: str, fill_value
):
    """Keras's ``map_coordinates`` for each NHWC image at the (batch, height, width) input positions
    ``(src_x, src_y)``: nearest or bilinear weights, ``fill_mode`` boundaries (``constant`` uses
    ``fill_value`` outside). The gather and blend are Tessera ops (differentiable in ``images``)."""
    b, h, w, c = (int(s) for s in images.shape)
    if interpolation == "nearest":
        nodes_y = [(np.round(src_y).astype(np.int64), np.ones_like(src_y))]
        nodes_x = [(np.round(src_x).astype(np.int64), np.ones_like(src_x))]
    else:
        fy, fx = np.floor(src_y), np.floor(src_x)
        nodes_y = [(fy.astype(np.int64), 1 - (src_y - fy)), (fy.astype(np.int64) + 1, src_y - fy)]
        nodes_x = [(fx.astype(np.int64), 1 - (src_x - fx)), (fx.astype(np.int64) + 1, src_x - fx)]
    flat = images.reshape(b * h * w, c)
    base = (np.arange(b, dtype=np.int64) * h * w)[:, None, None]
    out = None
    is_int = not images.dtype.is_floating_point
    work_dtype = _dt.float32 if is_int else images.dtype
    for iy, wy in nodes_y:
        for ix, wx in nodes_x:
            fixed = base + _fix_index(iy, h, fill_mode) * w + _fix_index(ix, w, fill_mode)
            gathered = flat[creation.as_tensor(fixed.reshape(-1))].reshape(b, h, w, c).to(work_dtype)
            if fill_mode == "constant":
                valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
                gathered = ops.where(
                    creation.as_tensor(valid[..., None]), gathered, creation.as_tensor(np.float32(fill_value))
                ).to(work_dtype)
            weight = creation.as_tensor((wy * wx).astype(np.float32)[..., None]).to(work_dtype)
            term = gathered * weight
            out = term if out is None else out + term
    if is_int:
        out = ops.round(out).to(images.dtype)
    return out


class _Seeded:
    """A host random generator for layer parameters: reproducible given ``seed``."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def uniform(self, low, high, size):
        return self.rng.uniform(low, high, size).astype(np.float32)


class _ImageLayer(Layer):
    """Base of the image layers: layout handling, ``training`` resolution and seeding."""

    _autocast = False
    _random = False

    def __init__(self, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"{type(self).__name__}: `seed` must be an int or None, got {seed!r}")
        self.seed = seed
        self.__dict__["_rng"] = _Seeded(seed)
        self.built = True

    def _convert(self, x, dtype):
        return x

    def _is_training(self, training) -> bool:
        return self.training if training is None else bool(training)

    def _spatial(self, x: Tensor) -> tuple[int, int]:
        shape = tuple(x.shape)
        if self.data_format == "channels_last":
            return shape[-3], shape[-2]
        return shape[-2], shape[-1]

    def _float_images(self, inputs) -> Tensor:
        x = _image_tensor(type(self).__name__, inputs)
        if not x.dtype.is_floating_point:
            x = x.to(self._dtype)
        return x

    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            if "images" not in inputs or set(inputs) - {"images", "labels"}:
                raise ValueError(
                    f"{type(self).__name__}: dict inputs must have an 'images' key (and optionally 'labels'); "
                    f"got keys {sorted(inputs)} (bounding boxes and segmentation masks are not supported)"
                )
            return {**inputs, "images": self.call(inputs["images"], training=training)}
        x = self._float_images(inputs)
        if self._random and not self._is_training(training):
            return x
        nhwc, restore = _to_nhwc(x, self.data_format)
        return restore(self._transform(nhwc))

    def _transform(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        cfg = {**super().get_config(), "data_format": self.data_format}
        if self._random:
            cfg["seed"] = self.seed
        return cfg


def _factor_pair(layer: str, name: str, factor, bounds=(-1.0, 1.0)) -> tuple:
    """Keras's ``factor`` rule: a number ``f`` means ``(max(-f, low), f)`` for ``bounds=(low, high)``, a pair
    ``(a, b)`` is sorted; values outside ``bounds`` raise."""
    msg = (
        f"{layer}: the `{name}` argument should be a number (or a list of two numbers) in the range "
        f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, numbers.Real) for f in factor):
            raise ValueError(msg)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(msg)
        f = abs(float(factor))
        lower, upper = max(-f, bounds[0]), f
    else:
        raise ValueError(msg)
    return lower, upper


def _value_range(layer: str, value_range) -> tuple:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(
            f"{layer}: `value_range` must be a tuple or list of two numbers, got {value_range!r}"
        )
    lo, hi = float(value_range[0]), float(value_range[1])
    if lo > hi:
        raise ValueError(f"{layer}: `value_range` must be (low, high) with low <= high, got {value_range!r}")
    return lo, hi


# -- deterministic layers ------------------------------------------------------------------------------------
class Rescaling(Layer):
    """``inputs * scale + offset`` (``scale``/``offset`` numbers or per-channel lists), cast to the layer dtype.

    Example:
        >>> ts.keras.layers.Rescaling(1.0 / 255)(np.array([[0, 255]], dtype="uint8")).tolist()
        [[0.0, 1.0]]
    """

    _autocast = False

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        for name, v in (("scale", scale), ("offset", offset)):
            arr = np.asarray(to_host(v))
            if arr.dtype.kind not in "iuf":
                raise TypeError(f"Rescaling: `{name}` must be a number or a list of numbers, got {v!r}")
        self.supports_masking = True
        self.built = True

    def _convert(self, x, dtype):
        return x

    def call(self, inputs):
        x = inputs if isinstance(inputs, Tensor) else creation.as_tensor(np.asarray(to_host(inputs)))
        x = x.to(self._dtype) if x.dtype is not self._dtype else x
        npd = np.dtype(self._dtype.np)
        scale = np.asarray(to_host(self.scale), dtype=npd)
        offset = np.asarray(to_host(self.offset), dtype=npd)
        if _config.image_data_format() == "channels_first" and x.ndim > 1:
            scale = scale.reshape(scale.shape + (1,) * (x.ndim - 2)) if scale.ndim else scale
            offset = offset.reshape(offset.shape + (1,) * (x.ndim - 2)) if offset.ndim else offset
        return x * creation.as_tensor(scale) + creation.as_tensor(offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        def ser(v):
            return np.asarray(to_host(v)).tolist() if not isinstance(v, numbers.Number) else v

        return {**super().get_config(), "scale": ser(self.scale), "offset": ser(self.offset)}


def resize_images(
    layer: str,
    x: Tensor,
    size,
    interpolation="bilinear",
    antialias=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    fill_value=0.0,
) -> Tensor:
    """Keras's ``ops.image.resize`` (torch backend semantics) on NHWC ``x``."""
    th, tw = size
    y = x.permute(0, 3, 1, 2)
    if not y.dtype.is_floating_point:
        y = y.to(_dt.float32)
    h, w = int(y.shape[2]), int(y.shape[3])
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        hs, ws = int(float(h - ch) / 2), int(float(w - cw) / 2)
        y = y[:, :, hs : hs + ch, ws : ws + cw]
    elif pad_to_aspect_ratio:
        ph = max(h, int(float(w * th) / tw))
        pw = max(w, int(float(h * tw) / th))
        hs, ws = int(float(ph - h) / 2), int(float(pw - w) / 2)
        if hs > 0:
            y = F.pad(y, (0, 0, hs, hs), value=float(fill_value))
        if ws > 0:
            y = F.pad(y, (ws, ws, 0, 0), value=float(fill_value))
    if antialias and interpolation in ("bilinear", "bicubic"):
        rows = creation.as_tensor(_aa_weights(int(y.shape[2]), th, interpolation)).to(y.dtype)
        cols = creation.as_tensor(_aa_weights(int(y.shape[3]), tw, interpolation)).to(y.dtype)
        out = ops.matmul(ops.matmul(rows, y), cols.transpose(0, 1))
    else:
        align = False if interpolation in ("bilinear", "bicubic") else None
        out = F.interpolate(y, size=(th, tw), mode=_RESIZE_MODES[interpolation], align_corners=align)
    out = out.permute(0, 2, 3, 1)
    if not x.dtype.is_floating_point:
        if interpolation == "bicubic" and x.dtype is _dt.uint8:
            out = out.clamp(0, 255)
        out = out.to(x.dtype)
    return out


def _aa_weights(n_in: int, n_out: int, interpolation: str) -> np.ndarray:
    """The (n_out, n_in) resampling matrix of PyTorch's (and PIL's) antialiased resize: the triangle or cubic
    (a = -0.5) filter widened by the downscale factor, normalized over the pixels it covers."""
    scale = n_in / n_out
    support = 1.0 if interpolation == "bilinear" else 2.0
    ss = max(scale, 1.0)

    def kernel(t):
        t = np.abs(t)
        if interpolation == "bilinear":
            return np.maximum(0.0, 1.0 - t)
        a = -0.5
        return np.where(
            t < 1, ((a + 2) * t - (a + 3)) * t * t + 1, np.where(t < 2, (((t - 5) * t + 8) * t - 4) * a, 0.0)
        )

    out = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support * ss + 0.5), 0)
        hi = min(int(center + support * ss + 0.5), n_in)
        w = kernel((np.arange(lo, hi) - center + 0.5) / ss)
        total = w.sum()
        out[i, lo:hi] = w / total if total != 0 else w
    return out.astype(np.float32)


class Resizing(_ImageLayer):
    """Resizes images to ``(height, width)`` with ``interpolation`` ``'bilinear'``, ``'nearest'`` or
    ``'bicubic'`` (half-pixel centers), optionally cropping (``crop_to_aspect_ratio``) or padding with
    ``fill_value`` (``pad_to_aspect_ratio``) to the target aspect ratio first.

    Example:
        >>> ts.keras.layers.Resizing(2, 3)(np.ones((1, 4, 6, 3), dtype="float32")).shape
        tessera.Size([1, 2, 3, 3])
    """

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        for name, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"Resizing: `{name}` must be a positive int, got {v!r}")
        self.height, self.width = int(height), int(width)
        self.interpolation = check_choice("Resizing", "interpolation", interpolation, tuple(_RESIZE_MODES))
        if fill_mode != "constant":
            raise ValueError(
                f"Resizing: only fill_mode='constant' is supported. Received: fill_mode={fill_mode}"
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                "Resizing: only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`."
            )
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = (
            bool(crop_to_aspect_ratio),
            bool(pad_to_aspect_ratio),
        )
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, bool(antialias)

    def _float_images(self, inputs) -> Tensor:
        return _image_tensor("Resizing", inputs)

    def _transform(self, x: Tensor) -> Tensor:
        out = resize_images(
            "Resizing",
            x,
            (self.height, self.width),
            self.interpolation,
            self.antialias,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
            self.fill_value,
        )
        return out.to(self._dtype) if out.dtype is not self._dtype else out

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        hi = -3 if self.data_format == "channels_last" else -2
        shape[hi], shape[hi + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }


def _smart_resize(x: Tensor, size) -> Tensor:
    """Keras's ``smart_resize``: center-crop to the target aspect ratio, then bilinear resize."""
    h, w = int(x.shape[1]), int(x.shape[2])
    th, tw = size
    ch = min(h, int(float(w * th) / tw))
    cw = min(w, int(float(h * tw) / th))
    ch, cw = max(ch, 1), max(cw, 1)
    hs, ws = (h - ch) // 2, (w - cw) // 2
    x = x[:, hs : hs + ch, ws : ws + cw, :]
    return resize_images("CenterCrop", x, size, "bilinear")


class CenterCrop(_ImageLayer):
    """Crops the central ``(height, width)`` region of images; smaller images are first cropped to the
    target aspect ratio and resized (Keras's ``smart_resize``).

    Example:
        >>> ts.keras.layers.CenterCrop(2, 2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height: int, width: int, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        for name, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"CenterCrop: `{name}` must be a positive int, got {v!r}")
        self.height, self.width = int(height), int(width)

    def _transform(self, x: Tensor) -> Tensor:
        h, w = int(x.shape[1]), int(x.shape[2])
        dh, dw = h - self.height, w - self.width
        if dh >= 0 and dw >= 0:
            return x[:, dh // 2 : dh // 2 + self.height, dw // 2 : dw // 2 + self.width, :]
        return _smart_resize(x, (self.height, self.width))

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


# -- random geometric layers ---------------------------------------------------------------------------------
class RandomCrop(_ImageLayer):
    """In training, crops a random ``(height, width)`` window (images not larger than the target are
    center-cropped to its aspect ratio and resized); the identity at inference, as in Keras.

    Example:
        >>> layer = ts.keras.layers.RandomCrop(2, 2, seed=0)
        >>> layer(np.ones((1, 5, 5, 3), dtype="float32"), training=True).shape
        tessera.Size([1, 2, 2, 3])
    """

    _random = True

    def __init__(self, height: int, width: int, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, name=name, **kwargs)
        for arg, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"RandomCrop: `{arg}` must be a positive int, got {v!r}")
        self.height, self.width = int(height), int(width)

    def _transform(self, x: Tensor) -> Tensor:
        h, w = int(x.shape[1]), int(x.shape[2])
        if h > self.height and w > self.width:
            hs = int(self._rng.uniform(0, h - self.height + 1, ()))
            ws = int(self._rng.uniform(0, w - self.width + 1, ()))
        else:
            ch = max(min(h, int(float(w * self.height) / self.width)), 1)
            cw = max(min(w, int(float(h * self.width) / self.height)), 1)
            hs, ws = int(float(h - ch) / 2), int(float(w - cw) / 2)
        out = x[:, hs : hs + self.height, ws : ws + self.width, :]
        if tuple(out.shape[1:3]) != (self.height, self.width):
            out = resize_images("RandomCrop", out, (self.height, self.width)).to(x.dtype)
        return out

    def compute_output_shape(self, input_shape):
        return Resizing.compute_output_shape(self, input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomFlip(_ImageLayer):
    """In training, flips each image left-right and/or up-down with probability 1/2 (``mode``
    ``'horizontal'``, ``'vertical'`` or ``'horizontal_and_vertical'``).

    Example:
        >>> layer = ts.keras.layers.RandomFlip("horizontal", seed=1)
        >>> layer(np.ones((2, 4, 4, 3), dtype="float32"), training=False).shape
        tessera.Size([2, 4, 4, 3])
    """

    _random = True

    def __init__(self, mode: str = "horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.mode = check_choice(
            "RandomFlip", "mode", mode, ("horizontal", "vertical", "horizontal_and_vertical")
        )

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        for axis, on in ((2, "horizontal"), (1, "vertical")):
            if on in self.mode:
                flip = self._rng.uniform(0, 1, (b,)) > 0.5
                mask = creation.as_tensor(flip.reshape(b, 1, 1, 1))
                x = ops.where(mask, x.flip(axis), x)
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(_ImageLayer):
    """Random affine augmentations sampled with ``interpolation`` and ``fill_mode``/``fill_value``."""

    _random = True

    def _set_fill(self, fill_mode, interpolation, fill_value) -> None:
        cls = type(self).__name__
        self.fill_mode = check_choice(cls, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = check_choice(cls, "interpolation", interpolation, ("nearest", "bilinear"))
        if not isinstance(fill_value, numbers.Real):
            raise TypeError(f"{cls}: `fill_value` must be a number, got {fill_value!r}")
        self.fill_value = fill_value

    def _transforms(self, b: int, h: int, w: int) -> np.ndarray:
        raise NotImplementedError

    def _transform(self, x: Tensor) -> Tensor:
        b, h, w = (int(s) for s in x.shape[:3])
        return affine_sample(
            x, self._transforms(b, h, w), self.interpolation, self.fill_mode, self.fill_value
        )

    def _fill_config(self) -> dict:
        return {
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomRotation(_AffineLayer):
    """In training, rotates each image by a random angle of ``factor * 360`` degrees (a number ``f`` means
    ``[-f, f]``) about its center; counter-clockwise for positive angles.

    Example:
        >>> layer = ts.keras.layers.RandomRotation(0.1, seed=0)
        >>> layer(np.ones((2, 8, 8, 1), dtype="float32")).shape
        tessera.Size([2, 8, 8, 1])
    """

    def __init__(
        self,
        factor,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed=None,
        fill_value: float = 0.0,
        data_format=None,
        **kwargs,
    ):
        kwargs.pop("value_range", None)
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomRotation", "factor", factor, bounds=(-1.0, 1.0))
        self._set_fill(fill_mode, interpolation, fill_value)

    def _transforms(self, b, h, w):
        angles = self._rng.uniform(self.factor[0], self.factor[1], (b,)).astype(np.float64) * 2 * math.pi
        cos, sin = np.cos(angles), np.sin(angles)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        # output (x, y) samples the input at R(-angle) about the center (y points down: CCW on screen)
        a0, a1 = cos, -sin
        b0, b1 = sin, cos
        a2 = cx - a0 * cx - a1 * cy
        b2 = cy - b0 * cx - b1 * cy
        zeros = np.zeros(b)
        return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), **self._fill_config()}


class RandomZoom(_AffineLayer):
    """In training, zooms each image by ``1 + u`` per axis, ``u`` drawn from ``height_factor`` (and
    ``width_factor``; None keeps the aspect ratio): negative factors zoom in, positive ones zoom out.

    Example:
        >>> layer = ts.keras.layers.RandomZoom(0.2, seed=0)
        >>> layer(np.ones((1, 8, 8, 3), dtype="float32")).shape
        tessera.Size([1, 8, 8, 3])
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed=None,
        fill_value: float = 0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.height_factor = _factor_pair(
            "RandomZoom", "height_factor", height_factor, bounds=(-1.0, math.inf)
        )
        self.width_factor = (
            None
            if width_factor is None
            else _factor_pair("RandomZoom", "width_factor", width_factor, bounds=(-1.0, math.inf))
        )
        self._set_fill(fill_mode, interpolation, fill_value)

    def _transforms(self, b, h, w):
        zy = 1.0 + self._rng.uniform(self.height_factor[0], self.height_factor[1], (b,))
        zx = zy if self.width_factor is None else 1.0 + self._rng.uniform(*self.width_factor, (b,))
        zeros = np.zeros(b, np.float32)
        x_off = (w - 1.0) / 2.0 * (1.0 - zx)
        y_off = (h - 1.0) / 2.0 * (1.0 - zy)
        return np.stack([zx, zeros, x_off, zeros, zy, y_off, zeros, zeros], axis=1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height_factor": list(self.height_factor),
            "width_factor": None if self.width_factor is None else list(self.width_factor),
            **self._fill_config(),
        }


class RandomTranslation(_AffineLayer):
    """In training, shifts each image by a random fraction of its height (``height_factor``) and width
    (``width_factor``), filling the uncovered area per ``fill_mode``.

    Example:
        >>> layer = ts.keras.layers.RandomTranslation(0.2, 0.2, seed=0)
        >>> layer(np.ones((1, 8, 8, 3), dtype="float32")).shape
        tessera.Size([1, 8, 8, 3])
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed=None,
        fill_value: float = 0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.height_factor = _factor_pair("RandomTranslation", "height_factor", height_factor)
        self.width_factor = _factor_pair("RandomTranslation", "width_factor", width_factor)
        self._set_fill(fill_mode, interpolation, fill_value)

    def _transforms(self, b, h, w):
        dy = self._rng.uniform(*self.height_factor, (b,)) * h
        dx = self._rng.uniform(*self.width_factor, (b,)) * w
        ones, zeros = np.ones(b, np.float32), np.zeros(b, np.float32)
        return np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height_factor": list(self.height_factor),
            "width_factor": list(self.width_factor),
            **self._fill_config(),
        }


# -- random color layers -------------------------------------------------------------------------------------
class RandomContrast(_ImageLayer):
    """In training, scales each image's deviation from its per-channel mean by a random factor in
    ``[1 - lower, 1 + upper]`` (a number ``f`` means ``(lower, upper) = (0, f)``, as in Keras 3), clipped to
    ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomContrast(0.5, seed=0)
        >>> layer(np.full((1, 4, 4, 3), 7.0, dtype="float32")).tolist()[0][0][0]
        [7.0, 7.0, 7.0]
    """

    _random = True

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair("RandomContrast", "factor", factor, bounds=(0.0, 1.0))
        self.value_range = _value_range("RandomContrast", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        f = self._rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], (b,)).reshape(b, 1, 1, 1)
        mean = x.mean(dim=(1, 2), keepdim=True)
        out = (x - mean) * creation.as_tensor(f).to(x.dtype) + mean
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomBrightness(_ImageLayer):
    """In training, adds ``u * (high - low)`` of ``value_range`` to each image, ``u`` drawn from ``factor``
    (a number ``f`` means ``[-f, f]``), then clips to ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomBrightness(0.2, seed=0)
        >>> layer(np.full((1, 2, 2, 3), 100.0, dtype="float32"), training=False).tolist()[0][0][0]
        [100.0, 100.0, 100.0]
    """

    _random = True

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair("RandomBrightness", "factor", factor, bounds=(-1.0, 1.0))
        self.value_range = _value_range("RandomBrightness", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        lo, hi = self.value_range
        delta = self._rng.uniform(self.factor[0], self.factor[1], (b,)).reshape(b, 1, 1, 1) * (hi - lo)
        return (x + creation.as_tensor(delta.astype(np.float32)).to(x.dtype)).clamp(lo, hi)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
