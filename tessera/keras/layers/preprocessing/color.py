"""Color image layers: ``AutoContrast``, ``Equalization``, ``Solarization``, ``RandomGrayscale``,
``RandomInvert``, ``RandomPosterization``, ``RandomColorDegeneration``, ``RandomSaturation``, ``RandomHue``,
``RandomSharpness``, ``RandomColorJitter`` and ``RandomGaussianBlur`` (Keras 3 semantics; pixel math in
Tessera ops, random parameters drawn on the host from the layer's seeded generator)."""

from __future__ import annotations

import numbers

import numpy as np

from .... import ops
from ....core import creation
from ....core import dtypes as _dt
from ....core.tensor import Tensor
from ....nn import functional as F
from ._common import check_int
from .image import RandomBrightness, RandomContrast, _factor_pair, _ImageLayer

__all__ = [
    "AutoContrast",
    "Equalization",
    "Solarization",
    "RandomGrayscale",
    "RandomInvert",
    "RandomPosterization",
    "RandomColorDegeneration",
    "RandomSaturation",
    "RandomHue",
    "RandomSharpness",
    "RandomColorJitter",
    "RandomGaussianBlur",
    "ContrastLimitedAdaptiveHistogramEqualization",
]

_EPSILON = 1e-7


def _sorted_range(layer: str, value_range) -> tuple:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(
            f"{layer}: the `value_range` argument should be a list of two numbers. Received: value_range={value_range}"
        )
    lo, hi = sorted(float(v) for v in value_range)
    return lo, hi


def _rescale(x: Tensor, src, dst) -> Tensor:
    """Keras's ``_transform_value_range``."""
    if tuple(src) == tuple(dst):
        return x
    return (x - src[0]) / (src[1] - src[0]) * (dst[1] - dst[0]) + dst[0]


def _const(v, like: Tensor) -> Tensor:
    return creation.as_tensor(np.asarray(v, dtype=np.dtype(like.dtype.np)))


def rgb_to_grayscale(x: Tensor) -> Tensor:
    """NHWC RGB -> NHWC one-channel luma (ITU-R 601 weights, as Keras)."""
    r, g, b = x[..., 0:1], x[..., 1:2], x[..., 2:3]
    return r * 0.2989 + g * 0.587 + b * 0.114


def rgb_to_hsv(x: Tensor) -> Tensor:
    """NHWC RGB in [0, 1] -> HSV (Keras's/TF's formulas)."""
    eps = _dt.finfo(x.dtype).eps  # (bfloat16 too)
    zero = _const(0.0, x)
    one = _const(1.0, x)
    x = ops.where(x.abs() < eps, zero, x)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    value = ops.maximum(ops.maximum(r, g), b)
    minimum = ops.minimum(ops.minimum(r, g), b)
    rng = value - minimum
    safe_value = ops.where(value > 0, value, one)
    safe_range = ops.where(rng > 0, rng, one)
    sat = ops.where(value > 0, rng / safe_value, zero)
    norm = 1.0 / (safe_range * 6.0)
    hue = ops.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = ops.where(value == r, norm * (g - b), hue)
    hue = ops.where(rng > 0, hue, zero) + (hue < 0.0).to(hue.dtype)
    return ops.stack([hue, sat, value], dim=-1)


def hsv_to_rgb(x: Tensor) -> Tensor:
    """NHWC HSV -> RGB (Keras's/TF's formulas)."""
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    dh = ops.remainder(h, 1.0) * 6.0
    dr = ((dh - 3.0).abs() - 1.0).clamp(0.0, 1.0)
    dg = (2.0 - (dh - 2.0).abs()).clamp(0.0, 1.0)
    db = (2.0 - (dh - 4.0).abs()).clamp(0.0, 1.0)
    one_minus_s = 1.0 - s
    return ops.stack(
        [v * (one_minus_s + s * dr), v * (one_minus_s + s * dg), v * (one_minus_s + s * db)], dim=-1
    )


def _batch_param(values: np.ndarray, like: Tensor, extra_dims: int = 3) -> Tensor:
    b = values.shape[0]
    return _const(values.reshape((b,) + (1,) * extra_dims), like)


class _ColorLayer(_ImageLayer):
    """Base of the color layers: RGB images, ``value_range`` and Keras's factor rule per layer."""

    _random = True
    _bounds = (-1.0, 1.0)

    def _float_images(self, inputs) -> Tensor:
        x = super()._float_images(inputs)
        return x if x.dtype is self._dtype else x.to(self._dtype)

    def _check_rgb(self, x: Tensor) -> None:
        if int(x.shape[-1]) != 3:
            raise ValueError(
                f"{type(self).__name__}: expected RGB images (3 channels), got images of shape {tuple(x.shape)}"
            )


class AutoContrast(_ColorLayer):
    """Stretches each image's channels to span ``value_range`` (min -> low, max -> high); constant channels
    are kept. Deterministic and applied at inference too, as in Keras.

    Example:
        >>> out = ts.keras.layers.AutoContrast(value_range=(0, 1))(np.array([[[[0.2], [0.6]]]], dtype="float32"))
        >>> out.reshape(-1).tolist()
        [0.0, 1.0]
    """

    _random = False

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = _sorted_range("AutoContrast", value_range)

    def _float_images(self, inputs):
        from .image import _image_tensor

        return _image_tensor("AutoContrast", inputs)

    def _transform(self, x: Tensor) -> Tensor:
        original = x
        work = x if x.dtype.is_floating_point else x.to(self._dtype)
        work = _rescale(work, self.value_range, (0.0, 255.0))
        low = work.amin(dim=(1, 2), keepdim=True)
        high = work.amax(dim=(1, 2), keepdim=True)
        scale = 255.0 / (high - low)
        out = (work * scale + (-low * scale)).clamp(0.0, 255.0)
        out = _rescale(out, (0.0, 255.0), self.value_range)
        # Keras computes in the layer dtype and returns that (uint8 images come back as float32)
        return ops.where(ops.isnan(out), original.to(out.dtype), out)

    def get_config(self) -> dict:
        cfg = super().get_config()
        return {**cfg, "value_range": list(self.value_range)}


class Equalization(_ColorLayer):
    """In training, histogram-equalizes each channel (over the whole batch, as Keras) with ``bins`` levels
    within ``value_range``; the identity at inference. The lookup tables come from host histograms (their
    gradient is zero almost everywhere); the lookups are Tessera ops.

    Example:
        >>> x = np.array([[[[0.0], [0.0], [128.0], [255.0]]]], dtype="float32")
        >>> ts.keras.layers.Equalization()(x).reshape(-1).tolist()
        [0.0, 0.0, 128.0, 255.0]
    """

    def __init__(self, value_range=(0, 255), bins: int = 256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = _sorted_range("Equalization", value_range)
        self.bins = check_int("Equalization", "bins", bins, minimum=1)

    def _transform(self, x: Tensor) -> Tensor:
        work = _rescale(x, self.value_range, (0.0, 255.0))
        channels = []
        for ch in range(int(work.shape[-1])):
            channel = work[..., ch]
            host = np.asarray(channel.detach().numpy(), dtype=np.float32)
            idx = np.clip((host * (self.bins - 1) / 255.0).astype(np.int32), 0, self.bins - 1)
            hist = np.bincount(idx.reshape(-1), minlength=self.bins)
            if np.count_nonzero(hist) <= 1:
                channels.append(channel)
                continue
            cdf = np.cumsum(hist)
            cdf_min = cdf[np.nonzero(cdf)[0][0]]
            denom = cdf[-1] - cdf_min or 1
            lut = np.clip(np.round((cdf - cdf_min) * 255 / denom), 0, 255).astype(np.float32)
            lookup = np.clip(host / 255.0 * (self.bins - 1), 0, self.bins - 1).astype(np.int32)
            table = creation.as_tensor(lut).to(work.dtype)
            channels.append(
                table[creation.as_tensor(lookup.reshape(-1).astype(np.int64))].reshape(*channel.shape)
            )
        return _rescale(ops.stack(channels, dim=-1), (0.0, 255.0), self.value_range)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.pop("seed", None)  # deterministic: Keras's Equalization takes no seed
        return {**cfg, "value_range": list(self.value_range), "bins": self.bins}


class Solarization(_ColorLayer):
    """In training, adds a random ``addition`` (from ``addition_factor``, in units of 255) to each image,
    clips, and inverts the pixels above a random ``threshold`` (from ``threshold_factor``).

    Example:
        >>> layer = ts.keras.layers.Solarization(threshold_factor=(0.5, 0.5), seed=0)
        >>> layer(np.array([[[[10.0], [200.0]]]], dtype="float32")).reshape(-1).tolist()
        [10.0, 55.0]
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._solar_factor(addition_factor, "addition_factor")
        self.threshold_factor = self._solar_factor(threshold_factor, "threshold_factor")
        self.value_range = _sorted_range("Solarization", value_range)

    @staticmethod
    def _solar_factor(factor, name):
        msg = f"Solarization: the `{name}` argument should be a number (or a list of two numbers) in [0, 1]. "
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or any(not 0 <= f <= 1 for f in factor):
                raise ValueError(msg + f"Received: {name}={factor}")
            return tuple(sorted(float(f) for f in factor))
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            if not 0 <= factor <= 1:
                raise ValueError(msg + f"Received: {name}={factor}")
            return (0.0, float(factor))
        raise ValueError(msg + f"Received: {name}={factor}")

    def _float_images(self, inputs):
        from .image import _image_tensor

        return _image_tensor("Solarization", inputs)

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        # Keras draws from [low, high * 255] (its lower bound is not scaled)
        additions = self._rng.uniform(self.addition_factor[0], self.addition_factor[1] * 255, (b,))
        thresholds = self._rng.uniform(self.threshold_factor[0], self.threshold_factor[1] * 255, (b,))
        work = x if x.dtype.is_floating_point else x.to(self._dtype)
        work = _rescale(work, self.value_range, (0.0, 255.0))
        res = (work + _batch_param(additions, work)).clamp(0.0, 255.0)
        res = ops.where(res < _batch_param(thresholds, work), res, 255.0 - res)
        return _rescale(res, (0.0, 255.0), self.value_range)

    def get_config(self) -> dict:
        cfg = super().get_config()
        return {
            **cfg,
            "addition_factor": list(self.addition_factor),
            "threshold_factor": list(self.threshold_factor),
            "value_range": list(self.value_range),
        }


class RandomGrayscale(_ColorLayer):
    """In training, turns each image to grayscale (kept as 3 channels) with probability ``factor``.

    Example:
        >>> layer = ts.keras.layers.RandomGrayscale(factor=1.0, seed=0)
        >>> layer(np.array([[[[255.0, 0.0, 0.0]]]], dtype="float32")).reshape(-1).tolist()[0]
        76.2195...
    """

    def __init__(self, factor: float = 0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not isinstance(factor, numbers.Real) or factor < 0 or factor > 1:
            raise ValueError(
                f"RandomGrayscale: `factor` should be between 0 and 1. Received: factor={factor}"
            )
        self.factor = float(factor)

    def _transform(self, x: Tensor) -> Tensor:
        self._check_rgb(x)
        apply = self._rng.uniform(0, 1, (int(x.shape[0]),)) < self.factor
        mask = creation.as_tensor(apply.reshape(-1, 1, 1, 1))
        return ops.where(mask, rgb_to_grayscale(x).expand(*x.shape), x)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomInvert(_ColorLayer):
    """In training, replaces each image by ``high - x`` (``value_range``) with a probability drawn from
    ``factor`` (default 1.0: always).

    Example:
        >>> layer = ts.keras.layers.RandomInvert(factor=1.0, value_range=(0, 1), seed=0)
        >>> layer(np.array([[[[0.25]]]], dtype="float32")).reshape(-1).tolist()
        [0.75]
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomInvert", "factor", factor, bounds=(0.0, 1.0))
        self.value_range = _sorted_range("RandomInvert", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        probability = self._rng.uniform(self.factor[0], self.factor[1], (b,))
        apply = self._rng.uniform(0, 1, (b,)) < probability
        return ops.where(creation.as_tensor(apply.reshape(-1, 1, 1, 1)), self.value_range[1] - x, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomPosterization(_ColorLayer):
    """In training, keeps only a random number of bits (from ``factor``, in [1, 8]) of each 8-bit pixel.

    Example:
        >>> layer = ts.keras.layers.RandomPosterization(factor=(1, 1), seed=0)
        >>> layer(np.array([[[[200.0], [100.0]]]], dtype="float32")).reshape(-1).tolist()
        [128.0, 0.0]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomPosterization", "factor", factor, bounds=(1.0, 8.0))
        self.value_range = _sorted_range("RandomPosterization", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        lo, hi = int(self.factor[0]), int(self.factor[1])
        bits = self._rng.rng.integers(lo, hi, (b,)) if lo != hi else np.full(b, lo)
        shift = (8 - bits).astype(np.int64)
        pixels = _rescale(x, self.value_range, (0.0, 255.0)).to(_dt.uint8).to(_dt.int64)
        step = creation.as_tensor((2**shift).reshape(-1, 1, 1, 1))
        # (p >> s) << s as integer ops: floor division then multiplication by 2**s
        poster = ops.floor_divide(pixels, step) * step
        return _rescale(poster.to(self._dtype), (0.0, 255.0), self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomColorDegeneration(_ColorLayer):
    """In training, blends each image toward its grayscale version by a random factor (``factor``), clipped
    to ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomColorDegeneration(0.5, seed=0)
        >>> layer(np.ones((1, 2, 2, 3), dtype="float32"), training=False).shape
        tessera.Size([1, 2, 2, 3])
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomColorDegeneration", "factor", factor)
        self.value_range = _sorted_range("RandomColorDegeneration", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        self._check_rgb(x)
        f = _batch_param(self._rng.uniform(self.factor[0], self.factor[1], (int(x.shape[0]),)), x)
        out = x + f * (rgb_to_grayscale(x) - x)
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomSaturation(_ColorLayer):
    """In training, scales each image's HSV saturation by ``f / (1 - f)`` for a random ``f`` from ``factor``
    (0.5 keeps it, 0 gives grayscale, 1 full saturation), on images in [0, 1].

    Example:
        >>> layer = ts.keras.layers.RandomSaturation((0.5, 0.5), seed=0)
        >>> x = np.array([[[[0.2, 0.4, 0.6]]]], dtype="float32")
        >>> np.allclose(layer(x).numpy(), x, atol=1e-5)
        True
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomSaturation", "factor", factor)
        self.value_range = _sorted_range("RandomSaturation", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        self._check_rgb(x)
        f = self._rng.uniform(self.factor[0], self.factor[1], (int(x.shape[0]),))
        f = f / (1 - f + _EPSILON)
        hsv = rgb_to_hsv(x)
        s = (hsv[..., 1] * _batch_param(f, x, 2)).clamp(self.value_range[0], self.value_range[1])
        return hsv_to_rgb(ops.stack([hsv[..., 0], s, hsv[..., 2]], dim=-1))

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomHue(_ColorLayer):
    """In training, rotates each image's hue by ``± u / 2`` of a turn, ``u`` drawn from ``factor`` (in [0, 1])
    and the sign at random.

    Example:
        >>> layer = ts.keras.layers.RandomHue(0.5, value_range=(0, 1), seed=0)
        >>> layer(np.full((1, 2, 2, 3), 0.5, dtype="float32")).shape
        tessera.Size([1, 2, 2, 3])
    """

    _bounds = (0.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomHue", "factor", factor, bounds=(0.0, 1.0))
        self.value_range = _sorted_range("RandomHue", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        self._check_rgb(x)
        b = int(x.shape[0])
        sign = np.where(self._rng.uniform(0, 1, (b,)) > 0.5, -1.0, 1.0)
        delta = sign * self._rng.uniform(self.factor[0], self.factor[1], (b,)) * 0.5
        hsv = rgb_to_hsv(_rescale(x, self.value_range, (0.0, 1.0)))
        h = hsv[..., 0] + _batch_param(delta, x, 2)
        h = ops.where(h > 1.0, h - 1.0, h)
        h = ops.where(h < 0.0, h + 1.0, h)
        rgb = hsv_to_rgb(ops.stack([h, hsv[..., 1], hsv[..., 2]], dim=-1)).clamp(0.0, 1.0)
        return _rescale(rgb, (0.0, 1.0), self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomSharpness(_ColorLayer):
    """In training, blends each image with its 3x3-smoothed version: sharpness ``2 u`` for ``u`` from
    ``factor`` (1 keeps the image, 0 smooths, 2 sharpens), clipped to ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomSharpness((0.5, 0.5), seed=0)
        >>> x = np.random.rand(1, 4, 4, 3).astype("float32")
        >>> np.allclose(layer(x).numpy(), x, atol=1e-6)
        True
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomSharpness", "factor", factor, bounds=(0.0, 1.0))
        self.value_range = _sorted_range("RandomSharpness", value_range)

    def _transform(self, x: Tensor) -> Tensor:
        b, c = int(x.shape[0]), int(x.shape[-1])
        sharp = _batch_param(self._rng.uniform(self.factor[0], self.factor[1], (b,)) * 2, x)
        a, m = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.tile(np.array([[a, a, a], [a, m, a], [a, a, a]], np.float32)[None, None], (c, 1, 1, 1))
        nchw = x.permute(0, 3, 1, 2)
        smooth = F.conv2d(nchw, _const(kernel, x), padding=1, groups=c).permute(0, 2, 3, 1)
        out = x + (1.0 - sharp) * (smooth - x)
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomColorJitter(_ColorLayer):
    """In training, applies random brightness, contrast, saturation and hue changes in that order (each
    only when its factor is given), as the corresponding layers.

    Example:
        >>> layer = ts.keras.layers.RandomColorJitter(value_range=(0, 1), brightness_factor=0.2, seed=0)
        >>> layer(np.full((1, 2, 2, 3), 0.5, dtype="float32")).shape
        tessera.Size([1, 2, 2, 3])
    """

    def __init__(
        self,
        value_range=(0, 255),
        brightness_factor=None,
        contrast_factor=None,
        saturation_factor=None,
        hue_factor=None,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = _sorted_range("RandomColorJitter", value_range)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        parts = []
        for factor, cls in (
            (brightness_factor, RandomBrightness),
            (contrast_factor, RandomContrast),
            (saturation_factor, RandomSaturation),
            (hue_factor, RandomHue),
        ):
            if factor is not None:
                part = cls(factor, value_range=self.value_range, seed=seed)
                part.__dict__["_rng"] = self._rng  # one generator for the whole jitter
                parts.append(part)
        self.__dict__["_parts"] = parts

    def _transform(self, x: Tensor) -> Tensor:
        for part in self._parts:
            x = part._transform(x)
        return x

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "brightness_factor": self.brightness_factor,
            "contrast_factor": self.contrast_factor,
            "saturation_factor": self.saturation_factor,
            "hue_factor": self.hue_factor,
        }


class RandomGaussianBlur(_ColorLayer):
    """In training, blurs each image with a probability drawn from ``factor`` using an odd ``kernel_size``
    Gaussian whose (x, y) standard deviations are drawn from ``sigma`` (a number ``s`` means ``(0, s)``, in
    [0, 1]) once per batch, with zero padding as Keras; clipped to ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomGaussianBlur(factor=1.0, kernel_size=3, sigma=1.0, seed=0)
        >>> layer(np.ones((1, 5, 5, 3), dtype="float32")).shape
        tessera.Size([1, 5, 5, 3])
    """

    def __init__(
        self,
        factor=1.0,
        kernel_size=3,
        sigma=1.0,
        value_range=(0, 255),
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomGaussianBlur", "factor", factor, bounds=(0.0, 1.0))
        msg = f"RandomGaussianBlur: kernel_size must be an odd number. Received: kernel_size={kernel_size}"
        if isinstance(kernel_size, (tuple, list)):
            if len(kernel_size) != 2 or any(int(k) % 2 == 0 for k in kernel_size):
                raise ValueError(msg)
            self.kernel_size = (int(kernel_size[0]), int(kernel_size[1]))
        elif isinstance(kernel_size, numbers.Integral) and not isinstance(kernel_size, bool):
            if kernel_size % 2 == 0 or kernel_size < 1:
                raise ValueError(msg)
            self.kernel_size = (int(kernel_size), int(kernel_size))
        else:
            raise ValueError(msg)
        self.sigma = _factor_pair("RandomGaussianBlur", "sigma", sigma, bounds=(0.0, 1.0))
        self.value_range = _sorted_range("RandomGaussianBlur", value_range)

    def blur(self, x: Tensor, sigma) -> Tensor:
        """Blur NHWC ``x`` with the (sigma_x, sigma_y) Gaussian (Keras's ``ops.image.gaussian_blur``)."""
        c = int(x.shape[-1])
        k0, k1 = self.kernel_size

        def kernel1d(size, s):
            t = np.arange(size, dtype=np.float32) - (size - 1) / 2
            k = np.exp(-0.5 * (t / np.float32(s)) ** 2)
            return k / k.sum()

        kernel = np.outer(kernel1d(k1, sigma[1]), kernel1d(k0, sigma[0])).reshape(1, 1, k0, k1)
        weight = _const(np.broadcast_to(kernel, (c, 1, k0, k1)).copy(), x)
        out = F.conv2d(x.permute(0, 3, 1, 2), weight, padding=k0 // 2, groups=c)
        return out.permute(0, 2, 3, 1)

    def _transform(self, x: Tensor) -> Tensor:
        b = int(x.shape[0])
        prob = self._rng.uniform(self.factor[0], self.factor[1], (b,))
        apply = self._rng.uniform(0, 1, (b,)) < prob
        sigma = self._rng.uniform(self.sigma[0], self.sigma[1], (2,)) + np.float32(1e-6)
        blurred = self.blur(x, sigma).clamp(self.value_range[0], self.value_range[1])
        return ops.where(creation.as_tensor(apply.reshape(-1, 1, 1, 1)), blurred, x)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "kernel_size": list(self.kernel_size),
            "sigma": list(self.sigma),
            "value_range": list(self.value_range),
        }


class ContrastLimitedAdaptiveHistogramEqualization(_ColorLayer):
    """CLAHE: histogram equalization per tile of a ``tile_grid_size`` grid, histograms clipped at
    ``clip_limit`` times the mean bin count (the excess spread evenly), tile mappings blended bilinearly.
    Deterministic and applied at inference too, as in Keras. Tile tables come from host histograms (zero
    gradient almost everywhere); the lookups and blending are Tessera ops.

    Example:
        >>> layer = ts.keras.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
        >>> layer(np.random.rand(1, 8, 8, 3).astype("float32") * 255).shape
        tessera.Size([1, 8, 8, 3])
    """

    _random = False

    def __init__(
        self, value_range=(0, 255), clip_limit: float = 4.0, tile_grid_size=(8, 8), data_format=None, **kwargs
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = _sorted_range("ContrastLimitedAdaptiveHistogramEqualization", value_range)
        if not isinstance(clip_limit, numbers.Real):
            raise TypeError(
                f"ContrastLimitedAdaptiveHistogramEqualization: `clip_limit` must be a number, got {clip_limit!r}"
            )
        if (
            not isinstance(tile_grid_size, (tuple, list))
            or len(tile_grid_size) != 2
            or any(
                isinstance(g, bool) or not isinstance(g, numbers.Integral) or g < 1 for g in tile_grid_size
            )
        ):
            raise ValueError(
                "ContrastLimitedAdaptiveHistogramEqualization: `tile_grid_size` must be two positive ints, "
                f"got {tile_grid_size!r}"
            )
        self.clip_limit, self.tile_grid_size = (
            float(clip_limit),
            (int(tile_grid_size[0]), int(tile_grid_size[1])),
        )

    def _float_images(self, inputs):
        from .image import _image_tensor

        x = _image_tensor("ContrastLimitedAdaptiveHistogramEqualization", inputs)
        return x if x.dtype.is_floating_point else x.to(_dt.float32)

    def _transform(self, x: Tensor) -> Tensor:
        work = _rescale(x.to(_dt.float32), self.value_range, (0.0, 255.0))
        b, h, w, c = (int(s) for s in work.shape)
        gh, gw = self.tile_grid_size
        th, tw = (h + gh - 1) // gh, (w + gw - 1) // gw
        ph, pw = th * gh - h, tw * gw - w
        host = np.asarray(work.detach().numpy(), dtype=np.float32)
        # Keras asks for "symmetric" padding, which its torch backend (our reference) performs as "replicate"
        padded = np.pad(host, [(0, 0), (0, ph), (0, pw), (0, 0)], mode="edge") if ph or pw else host
        tiles = (
            padded.reshape(b, gh, th, gw, tw, c).transpose(0, 1, 3, 5, 2, 4).reshape(b, gh, gw, c, th * tw)
        )
        levels = np.clip(tiles.astype(np.int32), 0, 255)
        hists = np.zeros((b, gh, gw, c, 256), np.float32)
        for v in range(256):  # counts per level (one pass per level keeps memory small)
            hists[..., v] = (levels == v).sum(-1)
        if self.clip_limit > 0:
            # Keras's histograms are int64 (one_hot of ints), so the limit is truncated to an integer
            limit = np.float32(int(self.clip_limit * (th * tw) / 256.0))
            clipped = np.clip(hists, 0, limit)
            hists = clipped + (hists - clipped).sum(-1, keepdims=True) / 256.0
        cdf = np.cumsum(hists, axis=-1)
        cdf_min = cdf.min(axis=-1, keepdims=True)
        denom = np.float32(th * tw) - cdf_min
        denom = np.where(denom == 0, np.float32(1.0), denom)
        table = np.clip((cdf - cdf_min) * 255.0 / denom, 0, 255).astype(np.float32)
        table = np.concatenate([table[:, :1], table, table[:, -1:]], axis=1)
        table = np.concatenate([table[:, :, :1], table, table[:, :, -1:]], axis=2)  # (b, gh+2, gw+2, c, 256)
        yg = (np.arange(th * gh, dtype=np.float32) - th / 2.0) / th + 1.0
        xg = (np.arange(tw * gw, dtype=np.float32) - tw / 2.0) / tw + 1.0
        y0, x0 = np.floor(yg), np.floor(xg)
        wy, wx = yg - y0, xg - x0
        y0i, y1i = np.clip(y0, 0, gh + 1).astype(np.int64), np.clip(y0 + 1, 0, gh + 1).astype(np.int64)
        x0i, x1i = np.clip(x0, 0, gw + 1).astype(np.int64), np.clip(x0 + 1, 0, gw + 1).astype(np.int64)
        stride_x = 256 * c
        stride_y = stride_x * (gw + 2)
        stride_b = stride_y * (gh + 2)
        pixels = np.clip(padded, 0, 255).astype(np.int64)
        base = np.arange(b)[:, None, None, None] * stride_b + np.arange(c)[None, None, None, :] * 256 + pixels
        flat = creation.as_tensor(table.reshape(-1))

        def take(yi, xi):
            idx = base + yi[None, :, None, None] * stride_y + xi[None, None, :, None] * stride_x
            return flat[creation.as_tensor(idx.reshape(-1))].reshape(*idx.shape)

        wx_t = creation.as_tensor(wx[None, None, :, None])
        wy_t = creation.as_tensor(wy[None, :, None, None])
        top = take(y0i, x0i) * (1.0 - wx_t) + take(y0i, x1i) * wx_t
        bottom = take(y1i, x0i) * (1.0 - wx_t) + take(y1i, x1i) * wx_t
        result = (top * (1.0 - wy_t) + bottom * wy_t)[:, :h, :w, :]
        out = _rescale(result, (0.0, 255.0), self.value_range)
        return out if x.dtype is _dt.float32 else out.to(x.dtype)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "clip_limit": self.clip_limit,
            "tile_grid_size": list(self.tile_grid_size),
        }
