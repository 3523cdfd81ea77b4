"""``keras.random``: random draws (``normal``, ``uniform``, ``randint``, ``truncated_normal``, ``dropout``,
``shuffle``, ``gamma``, ``beta``, ``binomial``, ``categorical``) and ``SeedGenerator``.

As in Keras, ``seed`` is an int (stateless: the same int gives the same draw every call), a
``SeedGenerator`` (its state advances by one per draw) or None (Tessera's default generator, which
``keras.utils.set_random_seed`` / ``ts.manual_seed`` seed). Every draw runs on a Tessera ``Generator``
through Tessera's random ops.

Example:
    >>> from tessera.keras import random
    >>> bool((random.normal((2,), seed=1) == random.normal((2,), seed=1)).all())
    True
"""

from __future__ import annotations

import numbers
import random as _pyrandom

import numpy as np

from .. import ops as _T
from ..core import creation
from ..core import dtypes as _dt
from ..core.random import Generator
from ..core.tensor import Tensor
from ..nn import functional as F
from . import config
from .ops._convert import standardize_dtype, to_tensor

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

_SEED_COUNT = [0]


class SeedGenerator:
    """A random-number seed whose state advances on every draw that uses it, so successive draws differ
    while the whole sequence repeats for the same initial ``seed`` (None: a random one from Python's
    ``random``, which ``keras.utils.set_random_seed`` seeds).

    Example:
        >>> gen = SeedGenerator(42)
        >>> a, b = normal((2,), seed=gen), normal((2,), seed=gen)
        >>> bool((a == b).all())
        False
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"keras.random.SeedGenerator: unrecognized keyword arguments: {kwargs}")
        if name is None:
            _SEED_COUNT[0] += 1
            name = "seed_generator" if _SEED_COUNT[0] == 1 else f"seed_generator_{_SEED_COUNT[0] - 1}"
        self.name = name
        self._initial_seed = seed
        if seed is None:
            seed = _pyrandom.randint(1, int(1e9))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"keras.random.SeedGenerator: argument `seed` must be an integer, got seed={seed!r}"
            )
        self.state = creation.tensor([int(seed), 0], dtype=_dt.int64)

    def next(self, ordered: bool = True) -> Tensor:
        """The current state ``[seed, counter]`` (a copy); the state then advances (``ordered``: the counter
        by one, else both parts through a scrambling step, as Keras does)."""
        current = self.state.clone()
        if ordered:
            self.state = self.state + creation.tensor([0, 1], dtype=_dt.int64)
        else:
            self.state = (self.state + 1) * 5387 % 933199
        return current

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name} seed={self._initial_seed}>"


def _generator(fn: str, seed) -> Generator | None:
    """The Tessera generator a draw uses: a fresh one seeded from ``seed`` (None: the default generator)."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        first, second = (int(v) for v in seed.next().tolist())  # host values that pick the stream
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        first, second = int(seed), 0
    else:
        where = fn if "." in fn else f"keras.random.{fn}"
        raise ValueError(
            f"{where}: argument `seed` must be an integer or a SeedGenerator, got seed={seed!r} "
            f"(of type {type(seed).__name__})"
        )
    g = Generator()
    g.manual_seed(((first & 0xFFFFFFFF) << 32) | (second & 0xFFFFFFFF))
    return g


def generator_from_seed(seed, caller: str = "keras.random") -> Generator | None:
    """The Tessera ``Generator`` a Keras ``seed`` (int, ``SeedGenerator`` or None) selects, for other modules
    that draw with Keras seeds (a ``SeedGenerator`` advances; None means Tessera's default generator).

    Example:
        >>> g1, g2 = generator_from_seed(3), generator_from_seed(3)
        >>> bool((ts.randn(2, generator=g1) == ts.randn(2, generator=g2)).all())
        True
    """
    return _generator(caller, seed)


def _shape(fn: str, shape) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, Tensor):
        shape = tuple(shape.tolist())
    if not isinstance(shape, (tuple, list)) or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 for d in shape
    ):
        raise ValueError(
            f"keras.random.{fn}: `shape` must be a tuple of non-negative ints, got shape={shape!r}"
        )
    return tuple(int(d) for d in shape)


def _float_dtype(fn: str, dtype):
    dt = standardize_dtype(dtype if dtype is not None else config.floatx())
    if not dt.is_floating_point:
        raise ValueError(f"keras.random.{fn}: requires a floating point `dtype`, got dtype={dtype!r}")
    return dt


def _number(fn: str, arg: str, v):
    if isinstance(v, Tensor):
        return v
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.ndarray, list, tuple)):
        raise TypeError(f"keras.random.{fn}: `{arg}` must be a number or a tensor, got {arg}={v!r}")
    return v


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of a normal distribution with ``mean`` and ``stddev`` (``dtype`` default ``floatx()``).

    Example:
        >>> tuple(normal((2, 3), seed=0).shape)
        (2, 3)
    """
    shape, dt = _shape("normal", shape), _float_dtype("normal", dtype)
    mean, stddev = _number("normal", "mean", mean), _number("normal", "stddev", stddev)
    z = creation.randn(shape, generator=_generator("normal", seed), dtype=dt)
    return (z * stddev + mean).to(dt)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of the uniform distribution on ``[minval, maxval)``.

    Example:
        >>> bool((uniform((100,), 2.0, 3.0, seed=0) >= 2.0).all())
        True
    """
    shape, dt = _shape("uniform", shape), _float_dtype("uniform", dtype)
    minval, maxval = _number("uniform", "minval", minval), _number("uniform", "maxval", maxval)
    u = creation.rand(shape, generator=_generator("uniform", seed), dtype=dt)
    return ((maxval - minval) * u + minval).to(dt)


def randint(shape, minval, maxval, dtype="int32", seed=None) -> Tensor:
    """Integers drawn uniformly from ``[minval, maxval)``.

    Example:
        >>> bool(((randint((50,), 0, 3, seed=0) >= 0) & (randint((50,), 0, 3, seed=0) < 3)).all())
        True
    """
    shape = _shape("randint", shape)
    dt = standardize_dtype(dtype)
    if dt.is_floating_point or dt.is_complex or dt is _dt.bool:
        raise ValueError(f"keras.random.randint: requires an integer `dtype`, got dtype={dtype!r}")
    for arg, v in (("minval", minval), ("maxval", maxval)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"keras.random.randint: `{arg}` must be an int, got {arg}={v!r}")
    if maxval <= minval:
        raise ValueError(f"keras.random.randint: needs minval < maxval, got minval={minval}, maxval={maxval}")
    return creation.randint(int(minval), int(maxval), shape, generator=_generator("randint", seed), dtype=dt)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Normal samples kept within two standard deviations of the mean (values outside are redrawn).

    Example:
        >>> bool((truncated_normal((1000,), seed=0).abs() < 2.0).all())
        True
    """
    shape, dt = _shape("truncated_normal", shape), _float_dtype("truncated_normal", dtype)
    mean = _number("truncated_normal", "mean", mean)
    stddev = _number("truncated_normal", "stddev", stddev)
    g = _generator("truncated_normal", seed)
    z = creation.randn(shape, generator=g, dtype=dt)
    bad = z.abs() >= 2.0
    while bool(bad.any()):  # ~4.6% redrawn per round
        z = _T.where(bad, creation.randn(shape, generator=g, dtype=dt), z)
        bad = z.abs() >= 2.0
    return (z * stddev + mean).to(dt)


def dropout(inputs, rate: float, noise_shape=None, seed=None) -> Tensor:
    """``inputs`` with entries zeroed with probability ``rate`` and the rest scaled by ``1 / (1 - rate)``;
    ``noise_shape`` (None entries: the input's size) shares one mask along broadcast dimensions.

    Example:
        >>> set(dropout(ts.ones(100), 0.5, seed=0).tolist()) <= {0.0, 2.0}
        True
    """
    x = to_tensor(inputs)
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"keras.random.dropout: `rate` must be a float in [0, 1], got rate={rate!r}")
    if rate == 1.0:
        return creation.zeros_like(x)
    if rate == 0.0:
        return x
    if noise_shape is None:
        shape = tuple(x.shape)
    else:
        if len(noise_shape) != x.ndim:
            raise ValueError(
                f"keras.random.dropout: `noise_shape` {tuple(noise_shape)} must have one entry per dimension of "
                f"the input of shape {tuple(x.shape)}"
            )
        shape = tuple(int(x.shape[i]) if d is None else int(d) for i, d in enumerate(noise_shape))
        try:
            np.broadcast_shapes(shape, tuple(x.shape))
        except ValueError:
            raise ValueError(
                f"keras.random.dropout: `noise_shape` {shape} does not broadcast to the input shape "
                f"{tuple(x.shape)}"
            ) from None
    keep = 1.0 - float(rate)
    probs = creation.full(shape, keep, dtype=_dt.float32)
    mask = creation.bernoulli(probs, generator=_generator("dropout", seed)).to(_dt.bool)
    return _T.where(mask, x / keep, creation.zeros_like(x))


def shuffle(x, axis: int = 0, seed=None) -> Tensor:
    """``x`` with its slices along ``axis`` in a random order (one permutation for the whole axis).

    Example:
        >>> sorted(shuffle(ts.arange(5), seed=0).tolist())
        [0, 1, 2, 3, 4]
    """
    x = to_tensor(x)
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"keras.random.shuffle: axis {axis} is out of range for shape {tuple(x.shape)}")
    perm = creation.randperm(int(x.shape[axis]), generator=_generator("shuffle", seed))
    return x.index_select(axis, perm)


def _gamma_draw(alpha: Tensor, g) -> Tensor:
    """Gamma(alpha, 1) samples (Marsaglia-Tsang rejection; alpha < 1 through ``Gamma(alpha + 1) * U^(1/alpha)``),
    computed in float64."""
    shape = tuple(alpha.shape)
    small = alpha < 1.0
    a = _T.where(small, alpha + 1.0, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / _T.sqrt(9.0 * d)
    out = creation.zeros(shape, dtype=_dt.float64)
    todo = creation.ones(shape, dtype=_dt.bool)
    while bool(todo.any()):
        z = creation.randn(shape, generator=g, dtype=_dt.float64)
        u = creation.rand(shape, generator=g, dtype=_dt.float64)
        v = (1.0 + c * z) ** 3
        ok = (v > 0) & (_T.log(u) < 0.5 * z * z + d - d * v + d * _T.log(_T.clamp(v, min=1e-300)))
        take = todo & ok
        out = _T.where(take, d * v, out)
        todo = todo & ~ok
    boost = creation.rand(shape, generator=g, dtype=_dt.float64) ** (1.0 / alpha)
    return _T.where(small, out * boost, out)


def _param(fn: str, arg: str, v, shape) -> Tensor:
    t = to_tensor(_number(fn, arg, v)).to(_dt.float64)
    try:
        return t.expand(shape) if tuple(t.shape) != shape else t
    except Exception:  # noqa: BLE001
        raise ValueError(
            f"keras.random.{fn}: `{arg}` of shape {tuple(t.shape)} does not broadcast to shape {shape}"
        ) from None


def _positive(fn: str, arg: str, t: Tensor) -> None:
    if bool((t <= 0).any()):
        raise ValueError(f"keras.random.{fn}: `{arg}` must be positive, got values {t.tolist()!r}")


def gamma(shape, alpha, dtype=None, seed=None) -> Tensor:
    """Samples of the Gamma distribution with concentration ``alpha`` (scale 1).

    Example:
        >>> bool((gamma((10,), 2.0, seed=0) > 0).all())
        True
    """
    shape, dt = _shape("gamma", shape), _float_dtype("gamma", dtype)
    a = _param("gamma", "alpha", alpha, shape)
    _positive("gamma", "alpha", a)
    return _gamma_draw(a, _generator("gamma", seed)).to(dt)


def beta(shape, alpha, beta, dtype=None, seed=None) -> Tensor:
    """Samples of the Beta distribution with concentrations ``alpha`` and ``beta``.

    Example:
        >>> s = beta((10,), 2.0, 3.0, seed=0)
        >>> bool(((s > 0) & (s < 1)).all())
        True
    """
    shape, dt = _shape("beta", shape), _float_dtype("beta", dtype)
    a, b = _param("beta", "alpha", alpha, shape), _param("beta", "beta", beta, shape)
    _positive("beta", "alpha", a)
    _positive("beta", "beta", b)
    g = _generator("beta", seed)
    x, y = _gamma_draw(a, g), _gamma_draw(b, g)
    return (x / (x + y)).to(dt)


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> Tensor:
    """Samples of the Binomial distribution: successes in ``counts`` trials of probability ``probabilities``.

    Example:
        >>> bool((binomial((10,), 5, 0.5, seed=0) <= 5).all())
        True
    """
    shape = _shape("binomial", shape)
    dt = standardize_dtype(dtype if dtype is not None else config.floatx())
    n, p = (
        _param("binomial", "counts", counts, shape),
        _param("binomial", "probabilities", probabilities, shape),
    )
    if bool((n < 0).any()) or bool(((p < 0) | (p > 1)).any()):
        raise ValueError("keras.random.binomial: needs counts >= 0 and probabilities in [0, 1]")
    return _T.binomial(n.contiguous(), p.contiguous(), generator=_generator("binomial", seed)).to(dt)


def categorical(logits, num_samples: int, dtype="int32", seed=None) -> Tensor:
    """Class indices ``(batch, num_samples)`` drawn from the softmax of ``logits`` ``(batch, classes)``.

    Example:
        >>> categorical(ts.tensor([[0.0, 100.0]]), 3, seed=0).tolist()
        [[1, 1, 1]]
    """
    logits = to_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(
            "keras.random.categorical: `logits` should be a 2-D tensor with shape [batch_size, num_classes], "
            f"got shape {tuple(logits.shape)}"
        )
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
        raise ValueError(
            f"keras.random.categorical: `num_samples` must be a non-negative int, got {num_samples!r}"
        )
    dt = standardize_dtype(dtype)
    probs = F.softmax(logits.to(_dt.float64) if not logits.dtype.is_floating_point else logits, dim=-1)
    idx = creation.multinomial(
        probs, int(num_samples), replacement=True, generator=_generator("categorical", seed)
    )
    return idx.to(dt)
