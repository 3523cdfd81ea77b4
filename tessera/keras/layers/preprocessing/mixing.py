"""Batch-mixing and region augmentations: ``MixUp``, ``CutMix``, ``RandomErasing``, ``RandomShear`` and
``Pipeline`` (a chain of preprocessing layers). ``MixUp``/``CutMix`` take ``{"images": ..., "labels": ...}``
dicts and mix the labels with the same weights as the images."""

from __future__ import annotations

import numbers

import numpy as np

from .... import ops
from ....core import creation
from ....core.tensor import Tensor
from ..base import Layer, _call_accepts
from ._common import to_host
from .image import _AffineLayer, _factor_pair, _ImageLayer, _to_nhwc

__all__ = [
    "MixUp",
    "CutMix",
    "RandomErasing",
    "RandomShear",
    "Pipeline",
    "RandomPerspective",
    "MaxNumBoundingBoxes",
    "RandAugment",
    "AugMix",
    "RandomElasticTransform",
]


def _unit_factor(layer: str, name: str, factor, symmetric: bool = False) -> tuple:
    """Keras's per-argument factor rule on [0, 1]: ``f`` means ``(0, f)`` (``(-f, f)`` when ``symmetric``)."""
    msg = f"{layer}: the `{name}` argument should be a number (or a list of two numbers) in [0, 1]. "
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or any(not isinstance(f, numbers.Real) or not 0 <= f <= 1 for f in factor):
            raise ValueError(msg + f"Received: {name}={factor}")
        return tuple(sorted(float(f) for f in factor))
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool) and 0 <= factor <= 1:
        return (-float(factor), float(factor)) if symmetric else (0.0, float(factor))
    raise ValueError(msg + f"Received: {name}={factor}")


class _MixLayer(_ImageLayer):
    """Layers that mix images of a batch: dict inputs carry ``labels`` mixed alongside."""

    _random = True

    def call(self, inputs, training=None):
        labels = None
        if isinstance(inputs, dict):
            unknown = set(inputs) - {"images", "labels"}
            if "images" not in inputs or unknown:
                raise ValueError(
                    f"{type(self).__name__}: dict inputs must have an 'images' key (and optionally 'labels'); "
                    f"got keys {sorted(inputs)} (bounding boxes and segmentation masks are not supported)"
                )
            images, labels = inputs["images"], inputs.get("labels")
        else:
            images = inputs
        x = self._float_images(images)
        if self._is_training(training) and x.ndim == 4:
            nhwc, restore = _to_nhwc(x, self.data_format)
            mixed, weights, perm = self._mix(nhwc)
            x = restore(mixed)
            if labels is not None:
                y = labels if isinstance(labels, Tensor) else creation.as_tensor(np.asarray(labels))
                y = y.to(x.dtype) if not y.dtype.is_floating_point else y
                w = creation.as_tensor(weights.reshape(-1, *([1] * (y.ndim - 1)))).to(y.dtype)
                labels = w * y + (1.0 - w) * y[creation.as_tensor(perm)]
        if isinstance(inputs, dict):
            out = {"images": x}
            if "labels" in inputs:
                out["labels"] = labels
            return out
        return x


class MixUp(_MixLayer):
    """In training, replaces each image by ``w x + (1 - w) x[perm]`` for a random permutation of the batch and
    ``w ~ Beta(alpha, alpha)`` per sample; labels in dict inputs are mixed alike.

    Example:
        >>> layer = ts.keras.layers.MixUp(alpha=0.2, seed=0)
        >>> out = layer({"images": np.random.rand(4, 8, 8, 3), "labels": np.eye(4)})
        >>> out["labels"].sum(-1).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, alpha: float = 0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"MixUp: `alpha` must be a positive number, got {alpha!r}")
        self.alpha = float(alpha)

    def _mix(self, x: Tensor):
        b = int(x.shape[0])
        perm = self._rng.rng.permutation(b)
        w = self._rng.rng.beta(self.alpha, self.alpha, b).astype(np.float32)
        wt = creation.as_tensor(w.reshape(-1, 1, 1, 1)).to(x.dtype)
        return wt * x + (1.0 - wt) * x[creation.as_tensor(perm)], w, perm

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(_MixLayer):
    """In training, pastes a random box of another (permuted) image of the batch into each image; the box
    covers a ``1 - w`` fraction, ``w ~ Beta(a, a)`` with ``a`` drawn from ``factor``; labels are mixed with
    the exact area weights.

    Example:
        >>> layer = ts.keras.layers.CutMix(seed=0)
        >>> layer(np.random.rand(4, 8, 8, 3).astype("float32")).shape
        tessera.Size([4, 8, 8, 3])
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("CutMix", "factor", factor, bounds=(0.0, 1.0))

    def _mix(self, x: Tensor):
        b, h, w = (int(s) for s in x.shape[:3])
        alpha = float(self._rng.uniform(self.factor[0], self.factor[1], ())) + 1e-6
        weight = self._rng.rng.beta(alpha, alpha, b).astype(np.float32)
        ratio = np.sqrt(1.0 - weight)

        def bounds(length):
            crop = (ratio * length).astype(np.float32)
            start = self._rng.uniform(0, 1, (b,)) * (length - crop)
            return start, start + crop

        x0, x1 = bounds(w)
        y0, y1 = bounds(h)
        gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
        box = (
            (gx >= x0[:, None, None])
            & (gx < x1[:, None, None])
            & (gy >= y0[:, None, None])
            & (gy < y1[:, None, None])
        )
        area_weight = (1.0 - (x1 - x0) * (y1 - y0) / (w * h)).astype(np.float32)
        perm = self._rng.rng.permutation(b)
        mixed = ops.where(creation.as_tensor(box[..., None]), x[creation.as_tensor(perm)], x)
        return mixed, area_weight, perm

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor)}


class RandomErasing(_ImageLayer):
    """In training, with a probability drawn from ``factor``, fills a random box covering a ``scale`` fraction
    per side squared of each image with ``fill_value`` (None: Gaussian noise times the range's high value),
    clipped to ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomErasing(fill_value=0.0, seed=0)
        >>> layer(np.ones((2, 8, 8, 3), dtype="float32")).shape
        tessera.Size([2, 8, 8, 3])
    """

    _random = True

    def __init__(
        self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None, data_format=None,
        **kwargs,
    ):  # fmt: skip
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomErasing", "factor", factor, bounds=(0.0, 1.0))
        self.scale = _factor_pair("RandomErasing", "scale", scale, bounds=(0.0, 1.0))
        if fill_value is not None:
            bad = isinstance(fill_value, (tuple, list)) and len(fill_value) != 3
            if bad or not isinstance(fill_value, (tuple, list, numbers.Real)):
                raise ValueError(
                    "RandomErasing: the `fill_value` argument should be a number (or a list of three numbers). "
                    f"Received: fill_value={fill_value}"
                )
        self.fill_value = list(fill_value) if isinstance(fill_value, tuple) else fill_value
        self.value_range = tuple(float(v) for v in value_range)

    def _transform(self, x: Tensor) -> Tensor:
        b, h, w, c = (int(s) for s in x.shape)
        side = np.sqrt(self._rng.uniform(self.scale[0], self.scale[1], (b, 2)))

        def bounds(length, ratio):
            crop = (ratio * length).astype(np.float32)
            start = self._rng.uniform(0, 1, (b,)) * (length - crop)
            return start, start + crop

        x0, x1 = bounds(w, side[:, 0])
        y0, y1 = bounds(h, side[:, 1])
        gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
        box = (
            (gx >= x0[:, None, None])
            & (gx < x1[:, None, None])
            & (gy >= y0[:, None, None])
            & (gy < y1[:, None, None])
        )
        probability = self._rng.uniform(self.factor[0], self.factor[1], (b,))
        apply = self._rng.uniform(0, 1, (b,)) < probability
        if self.fill_value is None:
            fill = self._rng.rng.standard_normal((b, h, w, c)).astype(np.float32) * self.value_range[1]
        else:
            fill = np.broadcast_to(np.asarray(self.fill_value, np.float32), (b, h, w, c))
        fill = np.clip(fill, *self.value_range)
        mask = box[..., None] & apply[:, None, None, None]
        return ops.where(creation.as_tensor(mask), creation.as_tensor(fill.copy()).to(x.dtype), x)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "scale": list(self.scale),
            "fill_value": self.fill_value,
            "value_range": list(self.value_range),
        }


class RandomShear(_AffineLayer):
    """In training, shears each image along x and y by random amounts from ``x_factor``/``y_factor`` (numbers
    ``f`` in [0, 1] mean ``[-f, f]``), with a random common sign.

    Example:
        >>> layer = ts.keras.layers.RandomShear(x_factor=0.3, seed=0)
        >>> layer(np.ones((1, 8, 8, 3), dtype="float32")).shape
        tessera.Size([1, 8, 8, 3])
    """

    def __init__(
        self,
        x_factor=0.0,
        y_factor=0.0,
        interpolation: str = "bilinear",
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.x_factor = _unit_factor("RandomShear", "x_factor", x_factor, symmetric=True)
        self.y_factor = _unit_factor("RandomShear", "y_factor", y_factor, symmetric=True)
        # the config keeps the arguments: the (-f, f) ranges would not pass the [0, 1] check again
        self._factor_args = (
            list(x_factor) if isinstance(x_factor, (list, tuple)) else x_factor,
            list(y_factor) if isinstance(y_factor, (list, tuple)) else y_factor,
        )
        self._set_fill(fill_mode, interpolation, fill_value)

    def _transforms(self, b, h, w):
        invert = np.where(self._rng.uniform(0, 1, (b,)) > 0.5, -1.0, 1.0)
        sy = self._rng.uniform(self.y_factor[0], self.y_factor[1], (b,)) * invert
        sx = self._rng.uniform(self.x_factor[0], self.x_factor[1], (b,)) * invert
        ones, zeros = np.ones(b), np.zeros(b)
        return np.stack([ones, sx, zeros, sy, ones, zeros, zeros, zeros], axis=1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "x_factor": self._factor_args[0],
            "y_factor": self._factor_args[1],
            **self._fill_config(),
        }


class Pipeline(Layer):
    """Applies ``layers`` in sequence (passing ``training`` to those that take it), like a lightweight
    ``Sequential`` for preprocessing.

    Example:
        >>> pipe = ts.keras.layers.Pipeline([ts.keras.layers.Rescaling(0.5), ts.keras.layers.Rescaling(4.0)])
        >>> pipe(np.ones((1, 2), dtype="float32")).tolist()
        [[2.0, 2.0]]
    """

    _autocast = False

    def __init__(self, layers, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(la, Layer) for la in layers):
            raise TypeError(f"Pipeline: `layers` must be a list of Keras layers, got {layers!r}")
        self._pipeline_layers = list(layers)
        self.built = True

    @property
    def layers(self) -> list:
        return list(self._pipeline_layers)

    def _convert(self, x, dtype):
        return x

    def call(self, inputs, training=None):
        for layer in self._pipeline_layers:
            kwargs = (
                {"training": training} if training is not None and _call_accepts(layer, "training") else {}
            )
            inputs = layer(inputs, **kwargs)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict:
        from .. import serialize

        return {"layers": [serialize(la) for la in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        from .. import deserialize

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "Pipeline: config must contain a `layers` key mapping to a list of serialized layers. "
                f"Received config with layers={layers}."
            )
        return cls([deserialize(la) for la in layers], name=config.get("name"))


def homography(start_points: np.ndarray, end_points: np.ndarray) -> np.ndarray:
    """The (batch, 8) projective transforms mapping each output corner (``end_points``) to its input corner
    (``start_points``), both (batch, 4, 2) as (x, y): Keras's ``compute_homography_matrix``."""
    start = np.asarray(start_points, np.float64)
    end = np.asarray(end_points, np.float64)
    out = np.empty((start.shape[0], 8))
    for i in range(start.shape[0]):
        rows, rhs = [], []
        for (sx, sy), (ex, ey) in zip(start[i], end[i]):
            rows.append([ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey])
            rows.append([0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey])
            rhs.extend([sx, sy])
        out[i] = np.linalg.solve(np.array(rows), np.array(rhs))
    return out.astype(np.float32)


class RandomPerspective(_ImageLayer):
    """In training, with a probability drawn from ``factor``, warps each image by moving its four corners by
    up to ``scale / 2`` of their coordinates (a projective transform; uncovered pixels get ``fill_value``).

    Example:
        >>> layer = ts.keras.layers.RandomPerspective(scale=0.5, seed=0)
        >>> layer(np.ones((1, 8, 8, 3), dtype="float32")).shape
        tessera.Size([1, 8, 8, 3])
    """

    _random = True

    def __init__(
        self,
        factor=1.0,
        scale=1.0,
        interpolation="bilinear",
        fill_value=0.0,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomPerspective", "factor", factor, bounds=(0.0, 1.0))
        if not isinstance(scale, numbers.Real) or not 0.0 <= scale <= 1.0:
            raise ValueError(
                "RandomPerspective: the `scale` argument should be a number in the range [0, 1]. "
                f"Received: scale={scale}"
            )
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                "RandomPerspective: invalid interpolation; expected one of ('nearest', 'bilinear'). "
                f"Received: interpolation={interpolation}"
            )
        self.scale, self.interpolation, self.fill_value = float(scale), interpolation, fill_value

    def _transform(self, x: Tensor) -> Tensor:
        from .image import affine_sample

        b, h, w = (int(s) for s in x.shape[:3])
        probability = self._rng.uniform(self.factor[0], self.factor[1], (b,))
        apply = self._rng.uniform(0, 1, (b,)) < probability
        factor = self._rng.uniform(-0.5 * self.scale, 0.5 * self.scale, (b, 4, 2))
        start = np.repeat(
            np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]], np.float32), b, 0
        )
        end = start + start * factor
        warped = affine_sample(
            x, homography(start, end), self.interpolation, "constant", self.fill_value, True
        )
        return ops.where(creation.as_tensor(apply.reshape(-1, 1, 1, 1)), warped, x)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class MaxNumBoundingBoxes(Layer):
    """Pads (with ``fill_value``) or truncates the ``bounding_boxes`` of ``{"images", "bounding_boxes":
    {"boxes", "labels"}}`` inputs to ``max_number`` boxes per image, so that batches have a fixed shape;
    images pass through. ``boxes`` are ``(batch, n, 4)``, ``labels`` ``(batch, n)`` (arrays, tensors or lists
    of per-image arrays of different lengths).

    Example:
        >>> layer = ts.keras.layers.MaxNumBoundingBoxes(max_number=3, bounding_box_format="xyxy")
        >>> out = layer({"images": np.zeros((1, 4, 4, 3)),
        ...              "bounding_boxes": {"boxes": np.ones((1, 1, 4)), "labels": np.ones((1, 1))}})
        >>> out["bounding_boxes"]["labels"].tolist()
        [[1.0, -1.0, -1.0]]
    """

    _autocast = False

    def __init__(self, max_number: int, fill_value: int = -1, bounding_box_format=None, **kwargs):
        kwargs.pop("data_format", None)
        super().__init__(**kwargs)
        self.max_number = check_int_positive("MaxNumBoundingBoxes", "max_number", max_number)
        self.fill_value = int(fill_value)
        self.bounding_box_format = bounding_box_format
        self.built = True

    def _convert(self, x, dtype):
        return x

    def _fit(self, values, trailing: tuple) -> Tensor:
        if isinstance(values, (list, tuple)) and values and not np.isscalar(values[0]):
            rows = [np.asarray(to_host(v), dtype=np.float32).reshape((-1,) + trailing) for v in values]
            longest = max(len(r) for r in rows)
            dense = np.full((len(rows), longest) + trailing, self.fill_value, np.float32)
            for i, r in enumerate(rows):
                dense[i, : len(r)] = r
            values = dense
        t = values if isinstance(values, Tensor) else creation.as_tensor(np.asarray(to_host(values)))
        if t.ndim != 2 + len(trailing):
            raise ValueError(
                f"MaxNumBoundingBoxes: expected batched boxes of shape (batch, n{', 4' if trailing else ''}), "
                f"got shape {tuple(t.shape)}"
            )
        t = t[:, : self.max_number]
        pad = self.max_number - int(t.shape[1])
        if pad > 0:
            filler = creation.full((int(t.shape[0]), pad) + trailing, self.fill_value, dtype=t.dtype)
            t = ops.cat([t, filler], dim=1)
        return t

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            return inputs
        out = dict(inputs)
        if "bounding_boxes" in inputs:
            if not self.bounding_box_format:
                raise ValueError(
                    "MaxNumBoundingBoxes: you passed an input with a 'bounding_boxes' key, but you didn't specify "
                    "a bounding box format. Pass a `bounding_box_format` argument, e.g. `bounding_box_format='xyxy'`."
                )
            boxes = inputs["bounding_boxes"]
            extra = set(boxes) - {"boxes", "labels"}
            if extra:
                raise KeyError(
                    f"MaxNumBoundingBoxes: there are unsupported keys in `bounding_boxes`: {sorted(extra)}. "
                    "Only `boxes` and `labels` are supported."
                )
            out["bounding_boxes"] = {
                "boxes": self._fit(boxes["boxes"], (4,)),
                "labels": self._fit(boxes["labels"], ()),
            }
        return out

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_number": self.max_number,
            "fill_value": self.fill_value,
            "bounding_box_format": self.bounding_box_format,
        }


def check_int_positive(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive int, got {value!r}")
    return int(value)


def _augmentations(names, factor, value_range, interpolation, rng) -> list:
    """The named augmentation layers RandAugment/AugMix choose from, sharing the generator ``rng``."""
    from .color import (
        AutoContrast,
        Equalization,
        RandomColorDegeneration,
        RandomPosterization,
        RandomSharpness,
        Solarization,
    )
    from .image import RandomBrightness, RandomContrast, RandomRotation, RandomTranslation

    f, vr = factor, value_range
    makers = {
        "random_shear": lambda: RandomShear(x_factor=f, y_factor=f, interpolation=interpolation),
        "random_translation": lambda: RandomTranslation(f, f, interpolation=interpolation),
        "random_rotation": lambda: RandomRotation(f, interpolation=interpolation),
        "random_brightness": lambda: RandomBrightness(f, value_range=vr),
        "random_color_degeneration": lambda: RandomColorDegeneration(f, value_range=vr),
        "random_contrast": lambda: RandomContrast(f, value_range=vr),
        "random_sharpness": lambda: RandomSharpness(f, value_range=vr),
        "random_posterization": lambda: RandomPosterization(max(1, int(8 * f[1])), value_range=vr),
        "solarization": lambda: Solarization(addition_factor=f, threshold_factor=f, value_range=vr),
        "auto_contrast": lambda: AutoContrast(value_range=vr),
        "equalization": lambda: Equalization(value_range=vr),
    }
    parts = [makers[n]() for n in names]
    for part in parts:
        part.__dict__["_rng"] = rng  # one seeded stream for the whole augmentation
    return parts


_RAND_AUGMENT_OPS = (
    "random_shear", "random_translation", "random_rotation", "random_brightness", "random_color_degeneration",
    "random_contrast", "random_sharpness", "random_posterization", "solarization", "auto_contrast", "equalization",
)  # fmt: skip
_AUG_MIX_OPS = (
    "random_shear", "random_translation", "random_rotation", "random_posterization", "solarization",
    "auto_contrast", "equalization",
)  # fmt: skip
_AUG_MIX_EXTRA_OPS = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")


class RandAugment(_ImageLayer):
    """In training, applies ``num_ops`` augmentations, each picked at random (for the whole batch) among
    shear, translation, rotation, brightness, color degeneration, contrast, sharpness, posterization,
    solarization, auto-contrast and equalization, all with magnitudes from ``factor`` (a number ``f`` means
    ``(0, f)``).

    Example:
        >>> layer = ts.keras.layers.RandAugment(value_range=(0, 1), num_ops=2, seed=0)
        >>> layer(np.random.rand(2, 8, 8, 3).astype("float32")).shape
        tessera.Size([2, 8, 8, 3])
    """

    _random = True

    def __init__(
        self, value_range=(0, 255), num_ops: int = 2, factor=0.5, interpolation="bilinear", seed=None,
        data_format=None, **kwargs,
    ):  # fmt: skip
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = tuple(float(v) for v in value_range)
        self.num_ops = check_int_positive("RandAugment", "num_ops", num_ops)
        self.factor = _factor_pair("RandAugment", "factor", factor, bounds=(0.0, 1.0))
        self.interpolation = interpolation
        parts = _augmentations(_RAND_AUGMENT_OPS, self.factor, self.value_range, interpolation, self._rng)
        self.__dict__["_parts"] = parts

    def _transform(self, x: Tensor) -> Tensor:
        for idx in self._rng.rng.integers(0, len(self._parts), self.num_ops):
            x = self._parts[int(idx)]._transform(x)
        return x

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "num_ops": self.num_ops,
            "factor": list(self.factor),
            "interpolation": self.interpolation,
        }


class AugMix(_ImageLayer):
    """In training, AugMix: ``num_chains`` chains of up to ``chain_depth`` random augmentations (each step
    may be skipped), mixed with Dirichlet(``alpha``) weights, then blended with the original image by a
    Beta(``alpha``, ``alpha``) weight and clipped to ``value_range``. ``all_ops=False`` leaves out the color
    operations (brightness, color degeneration, contrast, sharpness).

    Example:
        >>> layer = ts.keras.layers.AugMix(value_range=(0, 1), seed=0)
        >>> layer(np.random.rand(2, 8, 8, 3).astype("float32")).shape
        tessera.Size([2, 8, 8, 3])
    """

    _random = True

    def __init__(
        self, value_range=(0, 255), num_chains: int = 3, chain_depth: int = 3, factor=0.3, alpha: float = 1.0,
        all_ops: bool = True, interpolation="bilinear", seed=None, data_format=None, **kwargs,
    ):  # fmt: skip
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = tuple(float(v) for v in value_range)
        self.num_chains = check_int_positive("AugMix", "num_chains", num_chains)
        self.chain_depth = check_int_positive("AugMix", "chain_depth", chain_depth)
        self.factor = _factor_pair("AugMix", "factor", factor, bounds=(0.0, 1.0))
        if not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"AugMix: `alpha` must be a positive number, got {alpha!r}")
        self.alpha, self.all_ops, self.interpolation = float(alpha), bool(all_ops), interpolation
        names = _AUG_MIX_OPS + (_AUG_MIX_EXTRA_OPS if self.all_ops else ())
        self.__dict__["_parts"] = _augmentations(
            names, self.factor, self.value_range, interpolation, self._rng
        )

    def _transform(self, x: Tensor) -> Tensor:
        rng = self._rng.rng
        weights = rng.gamma(self.alpha, size=self.num_chains)
        weights = (weights / weights.sum()).astype(np.float32)
        blend = np.float32(rng.beta(self.alpha, self.alpha))
        mixed = None
        for i in range(self.num_chains):
            chain = x
            for _ in range(self.chain_depth):
                choice = int(rng.integers(0, len(self._parts) + 1))
                if choice < len(self._parts):  # the extra choice skips the step, as Keras's None
                    chain = self._parts[choice]._transform(chain)
            term = chain * float(weights[i])
            mixed = term if mixed is None else mixed + term
        return (x * float(blend) + mixed * float(1 - blend)).clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "num_chains": self.num_chains,
            "chain_depth": self.chain_depth,
            "factor": list(self.factor),
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            "interpolation": self.interpolation,
        }


def _blur_field(field: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-padded 'same' Gaussian blur of (batch, h, w) displacement fields (kernel ``int(6 sigma) | 1``)."""
    k = int(6 * sigma) | 1
    t = np.arange(k, dtype=np.float64) - (k - 1) / 2
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    pad = k // 2

    def conv(a, axis):
        padded = np.pad(a, [(0, 0)] + [(pad, pad) if ax == axis else (0, 0) for ax in (1, 2)])
        n = a.shape[axis]
        return sum(g[j] * np.take(padded, np.arange(j, j + n), axis=axis) for j in range(k))

    return conv(conv(field, 1), 2).astype(np.float32)


class RandomElasticTransform(_ImageLayer):
    """In training, with a probability drawn from ``factor``, displaces pixels by a smooth random field:
    Gaussian noise blurred with ``sigma = 0.05 s min(h, w)`` and scaled by ``alpha = 0.1 s max(h, w)``, ``s``
    drawn from ``scale``; sampled with ``interpolation``/``fill_mode`` and clipped to ``value_range``.

    Example:
        >>> layer = ts.keras.layers.RandomElasticTransform(seed=0)
        >>> layer(np.random.rand(1, 16, 16, 3).astype("float32") * 255).shape
        tessera.Size([1, 16, 16, 3])
    """

    _random = True

    def __init__(
        self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
        value_range=(0, 255), seed=None, data_format=None, **kwargs,
    ):  # fmt: skip
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = _factor_pair("RandomElasticTransform", "factor", factor, bounds=(0.0, 1.0))
        self.scale = _factor_pair("RandomElasticTransform", "scale", scale, bounds=(0.0, 1.0))
        from .image import _FILL_MODES

        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"RandomElasticTransform: invalid interpolation {interpolation!r}; expected 'nearest' or 'bilinear'"
            )
        if fill_mode not in _FILL_MODES:
            raise ValueError(
                f"RandomElasticTransform: invalid fill_mode {fill_mode!r}; expected one of {_FILL_MODES}"
            )
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = tuple(float(v) for v in value_range)

    def _transform(self, x: Tensor) -> Tensor:
        from .image import sample_at

        if self.scale[1] == 0 or self.factor[1] == 0:
            return x
        b, h, w = (int(s) for s in x.shape[:3])
        probability = self._rng.uniform(self.factor[0], self.factor[1], (b,))
        apply = self._rng.uniform(0, 1, (b,)) < probability
        s = float(self._rng.uniform(self.scale[0], self.scale[1], ()))
        alpha, sigma = max(h, w) * 0.1 * s, max(min(h, w) * 0.05 * s, 1e-3)
        dx = _blur_field(self._rng.rng.standard_normal((b, h, w)) * sigma, sigma)
        dy = _blur_field(self._rng.rng.standard_normal((b, h, w)) * sigma, sigma)
        ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
        warped = sample_at(
            x, xs + alpha * dx, ys + alpha * dy, self.interpolation, self.fill_mode, self.fill_value
        )
        out = ops.where(creation.as_tensor(apply.reshape(-1, 1, 1, 1)), warped, x)
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "scale": list(self.scale),
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "value_range": list(self.value_range),
        }
