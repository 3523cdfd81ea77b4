"""Regularization layers: noise and dropout variants (GaussianNoise, GaussianDropout, AlphaDropout,
SpatialDropout1D/2D/3D) and ActivityRegularization. The noise is drawn with ``keras.random`` (Tessera's random
ops): with a ``seed`` each layer owns a ``SeedGenerator`` (the sequence of draws repeats for the same seed), else
the default generator (``ts.manual_seed`` / ``keras.utils.set_random_seed``). At inference every one of them is
the identity."""

from __future__ import annotations

import math
import numbers

from ...core.tensor import Tensor
from .. import config as _config
from .. import random as _random
from .. import regularizers as _regularizers
from .base import InputSpec, Layer

__all__ = [
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "ActivityRegularization",
]


def _unit_interval(layer: str, name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:
        raise ValueError(
            f"{layer}: invalid value received for argument `{name}`. Expected a float value between 0 and 1. "
            f"Received: {name}={v!r}"
        )
    return float(v)


def _training(layer: Layer, training) -> bool:
    return layer.training if training is None else bool(training)


def seed_generator(seed):
    """A layer's ``SeedGenerator`` for ``seed`` (None: None, the default generator)."""
    return None if seed is None else _random.SeedGenerator(seed)


def dropout_with_noise_shape(inputs: Tensor, rate: float, noise_shape, seed=None) -> Tensor:
    """Keras's ``random.dropout``: keeps entries where ``uniform(noise_shape) >= rate`` (broadcast over the
    inputs) and scales them by ``1 / (1 - rate)``; ``None`` entries of ``noise_shape`` take the inputs'
    sizes."""
    shape = (
        tuple(inputs.shape)
        if noise_shape is None
        else tuple(d if n is None else int(n) for n, d in zip(noise_shape, inputs.shape))
    )
    keep = _random.uniform(shape, dtype=inputs.dtype, seed=seed) >= rate
    return inputs * keep.to(inputs.dtype) * (1.0 / (1.0 - rate))


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` in training (identity otherwise).

    Example:
        >>> ts.keras.layers.GaussianNoise(0.1)(ts.ones(2, 3), training=False).sum().item()
        6.0
    """

    def __init__(self, stddev: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _unit_interval("GaussianNoise", "stddev", stddev)
        self.seed, self.seed_generator = seed, seed_generator(seed)
        self.supports_masking = True

    def call(self, inputs: Tensor, training=None) -> Tensor:
        if _training(self, training) and self.stddev > 0:
            noise = _random.normal(tuple(inputs.shape), 0.0, self.stddev, inputs.dtype, self.seed_generator)
            return inputs + noise
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))``
    in training (identity otherwise).

    Example:
        >>> ts.keras.layers.GaussianDropout(0.3)(ts.ones(2, 3), training=False).sum().item()
        6.0
    """

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _unit_interval("GaussianDropout", "rate", rate)
        self.seed, self.seed_generator = seed, seed_generator(seed)
        self.supports_masking = True

    def call(self, inputs: Tensor, training=None) -> Tensor:
        if _training(self, training) and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            return inputs * _random.normal(
                tuple(inputs.shape), 1.0, stddev, inputs.dtype, self.seed_generator
            )
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Layer):
    """Dropout that keeps SELU's self-normalizing property: dropped entries are set to SELU's negative
    saturation value, then an affine map restores the inputs' mean and variance (training only).
    ``noise_shape`` (None entries: the inputs' sizes) shares the drop decisions along axes of size 1.

    Example:
        >>> ts.keras.layers.AlphaDropout(0.2)(ts.ones(2, 3), training=False).sum().item()
        6.0
    """

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _unit_interval("AlphaDropout", "rate", rate)
        self.noise_shape = None if noise_shape is None else list(noise_shape)
        self.seed, self.seed_generator = seed, seed_generator(seed)
        self.supports_masking = True

    def call(self, inputs: Tensor, training=None) -> Tensor:
        if not (_training(self, training) and self.rate > 0):
            return inputs
        shape = _noise_shape(self, inputs, self.noise_shape)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        kept = (_random.uniform(shape, dtype=inputs.dtype, seed=self.seed_generator) >= self.rate).to(
            inputs.dtype
        )
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * kept + (1.0 - kept) * alpha_p
        return x * a + b

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


def _noise_shape(layer: Layer, inputs: Tensor, noise_shape) -> tuple:
    if noise_shape is None:
        return tuple(inputs.shape)
    if len(noise_shape) != inputs.ndim:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': noise_shape {noise_shape} must have one entry per input "
            f"dimension, got inputs of shape {tuple(inputs.shape)}"
        )
    out = tuple(d if n is None else int(n) for n, d in zip(noise_shape, inputs.shape))
    if any(n not in (1, d) for n, d in zip(out, inputs.shape)):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': noise_shape {noise_shape} does not broadcast to inputs of "
            f"shape {tuple(inputs.shape)}"
        )
    return out


class _SpatialDropout(Layer):
    """Dropout of whole feature maps: one drop decision per (sample, channel), shared over the spatial axes."""

    _ndim = 3

    def __init__(self, rate: float, seed=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.rate = _unit_interval(type(self).__name__, "rate", rate)
        self.seed, self.seed_generator = seed, seed_generator(seed)
        self.supports_masking = True
        self.input_spec = InputSpec(ndim=self._ndim)

    def _channels_axis(self) -> int:
        return -1

    def call(self, inputs: Tensor, training=None) -> Tensor:
        if not (_training(self, training) and self.rate > 0):
            return inputs
        axis = self._channels_axis() % inputs.ndim
        shape = [1] * inputs.ndim
        shape[0], shape[axis] = inputs.shape[0], inputs.shape[axis]
        return dropout_with_noise_shape(inputs, self.rate, shape, self.seed_generator)

    def get_config(self) -> dict:
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self._dtype.name}


class SpatialDropout1D(_SpatialDropout):
    """Drops entire channels of (batch, steps, channels) inputs (training only), scaling the rest by
    ``1 / (1 - rate)``.

    Example:
        >>> ts.keras.layers.SpatialDropout1D(0.5)(ts.ones(2, 4, 3), training=True).shape
        tessera.Size([2, 4, 3])
    """


class _SpatialDropoutND(_SpatialDropout):
    def __init__(self, rate: float, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        if data_format is None:
            data_format = _config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__}: data_format must be 'channels_last' or 'channels_first', got "
                f"{data_format!r}"
            )
        self.data_format = data_format

    def _channels_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout2D(_SpatialDropoutND):
    """Drops entire 2-D feature maps of 4-D inputs (channels last by default, or ``data_format=
    'channels_first'``) in training, scaling the rest by ``1 / (1 - rate)``.

    Example:
        >>> ts.keras.layers.SpatialDropout2D(0.5)(ts.ones(2, 4, 4, 3), training=True).shape
        tessera.Size([2, 4, 4, 3])
    """

    _ndim = 4


class SpatialDropout3D(_SpatialDropoutND):
    """Drops entire 3-D feature maps of 5-D inputs (channels last by default) in training.

    Example:
        >>> ts.keras.layers.SpatialDropout3D(0.5)(ts.ones(2, 3, 3, 3, 2), training=True).shape
        tessera.Size([2, 3, 3, 3, 2])
    """

    _ndim = 5


class ActivityRegularization(Layer):
    """Identity that adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of its output to the layer's losses.

    Example:
        >>> layer = ts.keras.layers.ActivityRegularization(l2=0.1)
        >>> _ = layer(ts.ones(1, 4))
        >>> round(float(layer.losses[0]), 4)
        0.4
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=_regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs: Tensor) -> Tensor:
        return inputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
