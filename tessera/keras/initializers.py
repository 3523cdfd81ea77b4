"""Keras weight initializers (``ts.keras.initializers``): ``'glorot_uniform'``, ``'he_normal'``, ``'zeros'``...

An initializer is called as ``init(shape, dtype)`` and returns a NumPy array drawn from Tessera's global
generator (``ts.manual_seed`` makes it reproducible). Fans follow Keras: for a kernel of shape
``(*receptive_field, fan_in_channels, fan_out_channels)``, ``fan_in = prod(receptive) * shape[-2]`` and
``fan_out = prod(receptive) * shape[-1]``.

Example:
    >>> from tessera.keras import initializers
    >>> initializers.get("he_normal")((784, 10)).shape
    (784, 10)
"""

from __future__ import annotations

import math

import numpy as np

from ..core import dtypes as _dt
from ..core.random import rng

__all__ = [
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "Identity",
    "get",
    "serialize",
    "deserialize",
]


def _np_dtype(dtype):
    return np.dtype("float32") if dtype is None else _dt.as_dtype(dtype).np


def _fans(shape) -> tuple:
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def _truncated(gen, shape, mean, stddev):
    """Normal(mean, stddev) truncated at two standard deviations (redrawing the rejected values)."""
    out = gen.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev + mean


class Initializer:
    """Base class: ``__call__(shape, dtype=None) -> np.ndarray`` and ``get_config()``."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.zeros(tuple(shape), _np_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.ones(tuple(shape), _np_dtype(dtype))


class Constant(Initializer):
    """Every value ``value``."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return np.full(tuple(shape), self.value, _np_dtype(dtype))

    def get_config(self) -> dict:
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal(mean, stddev); Keras's default stddev is 0.05."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def _gen(self):
        return rng(None) if self.seed is None else np.random.default_rng(self.seed)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return self._gen().normal(self.mean, self.stddev, tuple(shape)).astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(RandomNormal):
    """Uniform(minval, maxval); Keras's default range is [-0.05, 0.05]."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return self._gen().uniform(self.minval, self.maxval, tuple(shape)).astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal(mean, stddev) with values beyond two standard deviations redrawn."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        return _truncated(self._gen(), tuple(shape), self.mean, self.stddev).astype(_np_dtype(dtype))


class VarianceScaling(RandomNormal):
    """Samples with variance ``scale / n`` where ``n`` is fan_in, fan_out or their mean (``mode``), from a
    truncated normal, an untruncated normal or a uniform distribution (``distribution``)."""

    def __init__(
        self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed=None
    ):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                f"VarianceScaling: invalid mode {mode!r}, expected 'fan_in', 'fan_out' or 'fan_avg'"
            )
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: invalid distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def __call__(self, shape, dtype=None) -> np.ndarray:
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        gen, shape = self._gen(), tuple(shape)
        if self.distribution == "truncated_normal":
            # 0.879... is the standard deviation of a unit normal truncated at two standard deviations
            out = _truncated(gen, shape, 0.0, math.sqrt(scale) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            out = gen.normal(0.0, math.sqrt(scale), shape)
        else:
            limit = math.sqrt(3.0 * scale)
            out = gen.uniform(-limit, limit, shape)
        return out.astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _preset(
    "GlorotUniform", 1.0, "fan_avg", "uniform", "Uniform(-l, l), l = sqrt(6 / (fan_in + fan_out))."
)
GlorotNormal = _preset(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Truncated normal, var 2/(fan_in+fan_out)."
)
HeNormal = _preset(
    "HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal with variance 2 / fan_in."
)
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "Uniform(-l, l), l = sqrt(6 / fan_in).")
LecunNormal = _preset(
    "LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal with variance 1 / fan_in."
)
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "Uniform(-l, l), l = sqrt(3 / fan_in).")


class Orthogonal(RandomNormal):
    """A (semi-)orthogonal matrix times ``gain``; leading dimensions are flattened into rows."""

    def __init__(self, gain: float = 1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least 2 dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._gen().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: expected a 2-D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(_np_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain}


_CLASSES = {
    c.__name__: c
    for c in (
        Zeros,
        Ones,
        Constant,
        RandomNormal,
        RandomUniform,
        TruncatedNormal,
        VarianceScaling,
        GlorotUniform,
        GlorotNormal,
        HeNormal,
        HeUniform,
        LecunNormal,
        LecunUniform,
        Orthogonal,
        Identity,
    )
}
_ALIASES = {
    "zeros": Zeros,
    "zero": Zeros,
    "ones": Ones,
    "one": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "normal": RandomNormal,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "xavier_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "xavier_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
    "identity": Identity,
}


def serialize(initializer) -> dict | str:
    """``{"class_name": ..., "config": ...}`` for an initializer object (strings pass through)."""
    if isinstance(initializer, str) or initializer is None:
        return initializer
    if not isinstance(initializer, Initializer):
        raise TypeError(f"initializers.serialize: cannot serialize {initializer!r} (not an Initializer)")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config, custom_objects=None) -> Initializer:
    return get(config, custom_objects)


def get(identifier, custom_objects=None):
    """An initializer from a Keras name (``'glorot_uniform'``), a serialized dict, an ``Initializer`` or a
    callable ``fn(shape, dtype)``; None gives None."""
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    custom = custom_objects or {}
    if isinstance(identifier, str):
        cls = custom.get(identifier) or _ALIASES.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = custom.get(name) or _CLASSES.get(name) or _ALIASES.get(str(name).lower())
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer class {name!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"initializers.get: could not interpret initializer identifier {identifier!r}")
