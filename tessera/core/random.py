"""Random number generation as ops with an explicit key: ``ts.Generator`` and the global default generator.

A generator's whole state is one small int64 tensor (64-bit words), ``[key0, key1, counter]``. Every draw is an op that
takes that tensor as an input (``random``, ``bernoulli``...) followed by ``rng_advance``, an in-place op that
bumps the counter: the numbers are a pure function of (key, counter), as with JAX's and tinygrad's
counter-based generators, so a recorded graph replayed with another state draws other numbers, and an
interceptor sees every state change. The bits come from NumPy's PCG64, started at a state hashed from
(key, counter) (SplitMix64), which keeps draws at NumPy's own speed.
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from . import dtypes as _dt
from .dispatch import OpDef, OpError, TensorMeta, apply
from .grad_mode import no_grad
from .tensor import _OPS, Tensor

__all__ = [
    "Generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "default_generator",
    "get_rng_state",
    "set_rng_state",
]

_M64 = (1 << 64) - 1
_LOCAL = threading.local()


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def numpy_generator(state: np.ndarray) -> np.random.Generator:
    """The NumPy generator whose stream is the one for ``state`` = ``[key0, key1, counter]`` (int64 words)."""
    k0, k1, counter = (int(v) & _M64 for v in state)
    hi = _splitmix(k0 ^ _splitmix(counter))
    lo = _splitmix(k1 ^ _splitmix(counter ^ 0xD1B54A32D192ED03))
    inc = ((_splitmix(k0 ^ 0x632BE59BD9B4E019) << 64) | _splitmix(k1)) | 1
    bg = getattr(_LOCAL, "bit_generator", None)
    if bg is None:
        bg = _LOCAL.bit_generator = np.random.PCG64(0)
        _LOCAL.generator = np.random.Generator(bg)
    bg.state = {
        "bit_generator": "PCG64",
        "state": {"state": (hi << 64) | lo, "inc": inc & ((1 << 128) - 1)},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return _LOCAL.generator


def _float_np(dtype):
    return np.float64 if dtype is _dt.float64 else np.float32


def _random_forward(state, *, dist, shape, dtype, low=0, high=1):
    g = numpy_generator(state)
    if dist == "uniform":
        return g.random(shape, dtype=_float_np(dtype)).astype(dtype.np, copy=False)
    if dist == "normal":
        return g.standard_normal(shape, dtype=_float_np(dtype)).astype(dtype.np, copy=False)
    if dist == "integers":
        return g.integers(low, high, shape).astype(dtype.np, copy=False)
    if dist == "permutation":
        return g.permutation(shape[0]).astype(dtype.np, copy=False)
    raise OpError(f"random: unknown distribution {dist!r}")


RANDOM = OpDef("random", _random_forward, differentiable=False)


@RANDOM.defshape
def _random_shape(state, *, dist, shape, dtype, low=0, high=1):
    return TensorMeta(shape, dtype)


def _bernoulli_forward(state, probs, *, shape, p, dtype):
    u = numpy_generator(state).random(shape, dtype=np.float32 if probs is None else np.float64)
    return (u < (p if probs is None else probs)).astype(dtype.np, copy=False)


BERNOULLI = OpDef("bernoulli", _bernoulli_forward, differentiable=False)

# The draw of ``_bernoulli_forward`` with a scalar ``p`` in C: the same PCG64 stream NumPy's generator
# produces from ``numpy_generator``'s state (128-bit LCG, XSL-RR output, each 64-bit output serving two
# float32 uniforms, low half first), compared with ``p`` rounded to float32 as NumPy does.
_C_SPLITMIX = """static inline uint64_t tessera_splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
"""


@BERNOULLI.deflowering("c_kernel")
def _bernoulli_c(c, state, probs, *, shape, p, dtype):
    if probs is not None or state.dtype is not _dt.int64:
        return None
    mix = c.helper("tessera_splitmix", _C_SPLITMIX)
    t = c.t
    uniform = "((float)((uint32_t)({}) >> 8) * (1.0f / 16777216.0f))"
    return (int(np.prod(shape, dtype=np.int64)),), [
        "const uint64_t k0 = (uint64_t)in0[0], k1 = (uint64_t)in0[1], ctr = (uint64_t)in0[2];",
        f"__uint128_t st = ((__uint128_t){mix}(k0 ^ {mix}(ctr)) << 64)"
        f" | {mix}(k1 ^ {mix}(ctr ^ 0xD1B54A32D192ED03ULL));",
        f"const __uint128_t inc = (((__uint128_t){mix}(k0 ^ 0x632BE59BD9B4E019ULL) << 64) | {mix}(k1)) | 1;",
        "const __uint128_t mult = ((__uint128_t)0x2360ED051FC65DA4ULL << 64) | 0x4385DF649FCCF645ULL;",
        f"const float keep = {float(np.float32(p))!r}f;",
        "for (int64_t i = 0; i < n0; i += 2) {",
        "  st = st * mult + inc;",
        "  const uint64_t x = (uint64_t)(st >> 64) ^ (uint64_t)st;",
        "  const unsigned rot = (unsigned)(st >> 122);",
        "  const uint64_t r = (x >> rot) | (x << ((64 - rot) & 63));",
        f"  out0[i] = ({t})({uniform.format('r')} < keep);",
        f"  if (i + 1 < n0) out0[i + 1] = ({t})({uniform.format('r >> 32')} < keep);",
        "}",
    ]


@BERNOULLI.defshape
def _bernoulli_shape(state, probs, *, shape, p, dtype):
    return TensorMeta(shape, dtype)


def _multinomial_forward(state, probs, *, num_samples, replacement):
    rows = np.asarray(probs, dtype=np.float64).reshape(-1, probs.shape[-1])
    g = numpy_generator(state)
    out = np.stack([g.choice(r.size, num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    return out.reshape(probs.shape[:-1] + (num_samples,)).astype(np.int64)


MULTINOMIAL = OpDef("multinomial", _multinomial_forward, differentiable=False)


@MULTINOMIAL.defshape
def _multinomial_shape(state, probs, *, num_samples, replacement):
    return TensorMeta(tuple(probs.shape[:-1]) + (num_samples,), _dt.int64)


def _fill_forward(state, *, dist, shape, dtype, a=0.0, b=1.0):
    """A draw of ``dist`` with parameters ``a``, ``b`` (what the in-place fills ``uniform_``, ``normal_``...
    write): computed in float64 (float32 for float32 and the half types), rounded to ``dtype``."""
    g = numpy_generator(state)
    fd = _float_np(dtype)
    if dist == "uniform":
        r = g.random(shape, dtype=fd) * fd(b - a) + fd(a)
    elif dist == "normal":
        r = g.standard_normal(shape, dtype=fd) * fd(b) + fd(a)
    elif dist == "log_normal":
        r = np.exp(g.standard_normal(shape, dtype=np.float64) * b + a)
    elif dist == "exponential":
        r = g.standard_exponential(shape, dtype=fd) / fd(a)
    elif dist == "cauchy":
        r = g.standard_cauchy(shape) * b + a
    elif dist == "geometric":
        r = g.geometric(a, shape)
    elif dist == "integers":  # [a, b] (both included)
        r = g.integers(a, b, shape, dtype=np.int64, endpoint=True)
    else:
        raise OpError(f"random_fill: unknown distribution {dist!r}")
    return np.asarray(r).astype(dtype.np, copy=False)


RANDOM_FILL = OpDef("random_fill", _fill_forward, differentiable=False)
RANDOM_FILL.defshape(lambda state, *, dist, shape, dtype, a=0.0, b=1.0: TensorMeta(shape, dtype))


def _poisson_forward(state, rates):
    with np.errstate(invalid="ignore"):
        return numpy_generator(state).poisson(np.asarray(rates, np.float64)).astype(rates.dtype)


POISSON = OpDef("poisson", _poisson_forward, differentiable=False)
POISSON.defshape(lambda state, rates: TensorMeta(rates.shape, rates.dtype))


def _binomial_forward(state, count, prob):
    n = np.asarray(count, np.float64)
    p = np.clip(np.asarray(prob, np.float64), 0.0, 1.0)
    n, p = np.broadcast_arrays(n, p)
    return numpy_generator(state).binomial(n.astype(np.int64), p).astype(count.dtype)


BINOMIAL = OpDef("binomial", _binomial_forward, differentiable=False)


@BINOMIAL.defshape
def _binomial_shape(state, count, prob):
    try:
        shape = np.broadcast_shapes(tuple(count.shape), tuple(prob.shape))
    except ValueError:
        raise OpError(
            f"binomial: the shapes of count {list(count.shape)} and prob {list(prob.shape)} are not broadcastable"
        ) from None
    return TensorMeta(shape, count.dtype)


def _advance_forward(state):
    state[2] += 1


RNG_ADVANCE = OpDef("rng_advance", _advance_forward, mutates=(0,))
RNG_ADVANCE.defshape(lambda state: TensorMeta(state.shape, state.dtype))


def draw(generator, op: OpDef, args: tuple = (), attrs: dict | None = None) -> Tensor:
    """Run the random op ``op`` on ``generator``'s state (the default generator when None), then advance
    the state: ``draw(g, RANDOM, (), {"dist": "uniform", ...})``."""
    state = _generator(generator)._state
    with no_grad():
        out = apply(op, (state,) + tuple(args), attrs or {})
        apply(RNG_ADVANCE, (state,))
    return out


def draw_into(generator, op: OpDef, out: Tensor, args: tuple = (), attrs: dict | None = None) -> Tensor:
    """Run the random op ``op`` on ``generator``'s state with its result written into ``out`` (an in-place
    fill such as ``uniform_``), then advance the state; returns ``out``."""
    state = _generator(generator)._state
    with no_grad():
        apply(op, (state,) + tuple(args), attrs or {}, out=out)
        apply(RNG_ADVANCE, (state,))
    return out


def _seed_state(seed: int) -> np.ndarray:
    key = np.random.SeedSequence(seed).generate_state(2, np.uint64).view(np.int64)
    return np.array([key[0], key[1], 0], dtype=np.int64)


class Generator:
    """A seedable source of random numbers, accepted by ``rand``, ``randn``, ``randint``, data loaders...

    Its state is one int64 tensor ``[key0, key1, counter]`` that random ops read and ``rng_advance``
    updates in place.

    Example:
        >>> g = ts.Generator().manual_seed(3)
        >>> a = ts.rand(2, generator=g)
    """

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self._state = Tensor._wrap(_seed_state(self._seed))
        self.device = device

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to the state given by ``seed``; returns ``self``."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        self._seed = int(seed) % (2**64)
        self._set(_seed_state(self._seed))
        return self

    def _set(self, values: np.ndarray) -> None:
        if _OPS.copy is None:  # at import, before tessera.ops has registered ``copy``
            self._state._data[...] = values
            return
        with no_grad():
            apply(_OPS.copy, (self._state, Tensor._wrap(values)), out=self._state)

    def seed(self) -> int:
        """Re-seed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's state as a uint8 tensor (restorable with ``set_state``)."""
        return Tensor._wrap(np.array(self._state._data).view(np.uint8).copy())

    def set_state(self, state) -> Generator:
        """Restore a state from ``get_state``."""
        arr = np.asarray(state._data if isinstance(state, Tensor) else state)
        if arr.dtype != np.uint8 or arr.size != 24:
            raise RuntimeError(
                f"set_state: expected a uint8 tensor of 24 bytes from get_state(), got {arr.dtype} of {arr.size}"
            )
        self._set(np.ascontiguousarray(arr).reshape(-1).view(np.int64).copy())
        return self

    @property
    def _rng(self) -> np.random.Generator:
        """A host-side NumPy generator for this draw (samplers, shuffling); advances the state."""
        with no_grad():
            g = np.random.Generator(np.random.PCG64(numpy_generator(self._state._data).integers(0, 2**63)))
            apply(RNG_ADVANCE, (self._state,))
        return g


def _generator(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a ts.Generator, got {type(generator).__name__}")
    return generator


default_generator = Generator().manual_seed(67280421310721)


def manual_seed(seed: int) -> Generator:
    """Seed the global generator: ``ts.manual_seed(0)`` makes ``ts.randn`` & co. reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None) -> np.random.Generator:
    """A host-side NumPy generator drawn from ``generator`` (the global one when None), for code outside
    the graph (initialisers of Keras layers, samplers); each call advances the generator."""
    return _generator(generator)._rng
