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
    "IdentityInitializer",
    "OrthogonalInitializer",
    "STFT",
    "STFTInitializer",
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "stft",
    "truncated_normal",
    "variance_scaling",
    "zeros",
    "get",
    "serialize",
    "deserialize",
]


def _np_dtype(dtype):
    return np.dtype("float32") if dtype is None else _dt.as_dtype(dtype).np


def _fans(shape, input_axes=None, output_axes=None) -> tuple:
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
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

    def clone(self) -> Initializer:
        """A new initializer with the same configuration."""
        return self.__class__.from_config(self.get_config())

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
    """Every value ``value`` (a number, or an array broadcast to the shape).

    Example:
        >>> Constant(2.0)((2,)).tolist()
        [2.0, 2.0]
    """

    def __init__(self, value=0.0):
        if isinstance(value, (list, tuple, np.ndarray)):
            value = np.asarray(value)
        elif isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"Constant: value must be a number or an array, got {value!r}")
        self.value = value

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = tuple(shape)
        try:
            out = np.broadcast_to(np.asarray(self.value, dtype=_np_dtype(dtype)), shape)
        except ValueError:
            raise ValueError(
                f"Constant: value of shape {np.shape(self.value)} cannot be broadcast to shape {shape}"
            ) from None
        return np.array(out, copy=True)

    def get_config(self) -> dict:
        v = self.value
        return {"value": v.tolist() if isinstance(v, np.ndarray) else v}


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
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
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
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]

    def __call__(self, shape, dtype=None) -> np.ndarray:
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
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
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

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


def _window(name: str, n: int, periodic: bool) -> np.ndarray:
    """SciPy's ``get_window(name, n, fftbins=periodic)`` for the common windows (NumPy only)."""
    m = n + 1 if periodic else n
    table = {
        "hann": np.hanning,
        "hanning": np.hanning,
        "hamming": np.hamming,
        "blackman": np.blackman,
        "bartlett": np.bartlett,
        "boxcar": np.ones,
        "ones": np.ones,
        "rectangular": np.ones,
    }
    if name not in table:
        raise ValueError(f"STFT: window must be an array or one of {sorted(table)}, got {name!r}")
    w = table[name](m)
    return w[:-1] if periodic else w


class STFT(Initializer):
    """Kernel of an STFT as a convolution: shape ``(frame_length, 1, fft_length // 2 + 1)`` filled with the
    real (``side='real'``, cosines) or imaginary (``'imag'``, sines) DFT basis times ``window``, divided by
    the window's L2 norm (``scaling='density'``) or sum (``'spectrum'``).

    Example:
        >>> STFT()((8, 1, 5)).shape
        (8, 1, 5)
    """

    def __init__(self, side: str = "real", window="hann", scaling="density", periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            _window(window, 1, bool(periodic))
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                f"Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received scaling={scaling}"
            )
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, bool(periodic)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(f"STFT: expected a shape (frame_length, channels, fft_bins), got {shape}")
        frame_length, _, fft_length = shape
        np_dtype = _np_dtype(dtype)
        freq = (np.arange(fft_length, dtype=np_dtype) / ((fft_length - 1) * 2)).reshape(1, 1, fft_length)
        time = np.arange(frame_length, dtype=np_dtype).reshape(frame_length, 1, 1)
        args = -2 * time * freq * np.arccos(np_dtype.type(-1))
        kernel = np.cos(args) if self.side == "real" else np.sin(args)
        if self.window is not None:
            win = self.window
            if isinstance(win, str):
                win = _window(win, frame_length, self.periodic)
            win = np.asarray(win, dtype=np_dtype)
            if win.ndim != 1 or win.shape[-1] != frame_length:
                raise ValueError(
                    f"The shape of `window` must be equal to [frame_length]. Received: window shape={win.shape}"
                )
            win = win.reshape(frame_length, 1, 1)
            scaling = 1.0
            if self.scaling == "density":
                scaling = np.sqrt(np.sum(win * win))
            elif self.scaling == "spectrum":
                scaling = np.sum(np.abs(win))
            kernel = kernel * win / scaling
        return np.broadcast_to(kernel, shape).astype(np_dtype)

    def get_config(self) -> dict:
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic, "scaling": self.scaling}


# Keras's aliases: the snake_case names are the classes themselves
IdentityInitializer, OrthogonalInitializer, STFTInitializer, stft = Identity, Orthogonal, STFT, STFT
constant, ones, zeros, identity, orthogonal = Constant, Ones, Zeros, Identity, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_normal, glorot_uniform = VarianceScaling, GlorotNormal, GlorotUniform
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform

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
        STFT,
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
    "stft": STFT,
    "IdentityInitializer": Identity,
    "OrthogonalInitializer": Orthogonal,
    "STFTInitializer": STFT,
}


def serialize(initializer) -> dict | str:
    """``{"class_name": ..., "config": ...}`` for an initializer object (strings pass through)."""
    if isinstance(initializer, str) or initializer is None:
        return initializer
    if not isinstance(initializer, Initializer):
        raise TypeError(f"initializers.serialize: cannot serialize {initializer!r} (not an Initializer)")
    cls = type(initializer)
    builtin = _CLASSES.get(cls.__name__) is cls
    return {
        "module": "keras.initializers" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": initializer.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize(config, custom_objects=None) -> Initializer:
    return get(config, custom_objects)


def get(identifier, custom_objects=None):
    """An initializer from a Keras name (``'glorot_uniform'``), a serialized dict, an ``Initializer`` or a
    callable ``fn(shape, dtype)``; None gives None."""
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    custom = custom_objects or {}
    if isinstance(identifier, str):
        cls = (
            custom.get(identifier)
            or _CLASSES.get(identifier)
            or _ALIASES.get(identifier)
            or _ALIASES.get(identifier.lower())
        )
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = custom.get(name) or _CLASSES.get(name) or _ALIASES.get(name) or _ALIASES.get(str(name).lower())
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer class {name!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"initializers.get: could not interpret initializer identifier {identifier!r}")
