"""Ops built on random draws: ``dropout`` (the keep-mask is a tensor input, drawn by ``core.random``'s
``bernoulli`` op from the generator's key), the ``embedding`` lookup with its in-place renormalisation, and
the in-place random fills of ``Tensor`` (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``...) with
``ts.poisson`` and ``ts.binomial``.

The mask being an input is what lets a recorded graph draw a new mask on every replay. Every fill is one
``apply`` of a random op with ``out=`` the tensor, followed by the generator's ``rng_advance``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core import creation as _creation
from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, apply, is_tracing
from ..core.grad_mode import STATE as _GRAD
from ..core.random import BERNOULLI, BINOMIAL, POISSON, RANDOM_FILL, draw, draw_into
from ..core.tensor import Tensor, check_tensor
from ._util import meta_if_broadcasts

__all__ = ["poisson", "binomial"]


def _dropout_forward(x, mask, *, p):
    return np.multiply(x, mask, dtype=x.dtype) * x.dtype.type(1.0 / (1.0 - p))


DROPOUT = OpDef("dropout", _dropout_forward)


@DROPOUT.defshape
def _dropout_shape(x, mask, *, p):
    return meta_if_broadcasts("dropout", mask, x, "the mask")


@DROPOUT.defgrad
def _dropout_grad(ctx, g):
    x, mask = ctx.saved
    return apply(DROPOUT, (g, mask), ctx.attrs), None


@DROPOUT.deflowering("c")
def _dropout_c(c, x, mask, p):
    if not c.is_float:
        return None
    # the forward's order: the masked product, then the scale rounded to the input's type
    return f"((({x}) * ({mask})) * {c.lit(c.dtype.np.type(1.0 / (1.0 - p)))})"


@DROPOUT.defdecompose
def _dropout_reference(x, mask, *, p):
    return x * mask.to(x.dtype) * (1.0 / (1.0 - p))


def _embedding_forward(weight, indices, *, padding_idx):
    return np.take(weight, indices, axis=0)


EMBEDDING = OpDef("embedding", _embedding_forward)


@EMBEDDING.defshape
def _embedding_shape(weight, indices, *, padding_idx):
    if weight.ndim != 2:
        raise OpError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}"
        )
    if indices.dtype not in (_dt.int64, _dt.int32):
        raise OpError(f"embedding: expected int64 or int32 indices, got {indices.dtype}")
    return TensorMeta(tuple(indices.shape) + (weight.shape[1],), weight.dtype)


def _embedding_backward_forward(g, indices, *, num_weights, padding_idx):
    dim = g.shape[-1]
    out = np.zeros((num_weights, dim), dtype=g.dtype)
    np.add.at(out, indices.reshape(-1), g.reshape(-1, dim))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


EMBEDDING_BACKWARD = OpDef("embedding_backward", _embedding_backward_forward)


@EMBEDDING_BACKWARD.defshape
def _embedding_backward_shape(g, indices, *, num_weights, padding_idx):
    return TensorMeta((num_weights, g.shape[-1]), g.dtype)


@EMBEDDING.defgrad
def _embedding_grad(ctx, g):
    weight_shape = ctx.input_shape(0)
    _, indices = ctx.saved
    attrs = {"num_weights": weight_shape[0], "padding_idx": ctx.attrs["padding_idx"]}
    return apply(EMBEDDING_BACKWARD, (g, indices), attrs), None


@EMBEDDING_BACKWARD.defgrad
def _embedding_backward_grad(ctx, gg):
    _, indices = ctx.saved
    out = apply(EMBEDDING, (gg, indices), {"padding_idx": None})
    pad = ctx.attrs["padding_idx"]
    if pad is not None:
        out = out * (indices != pad).unsqueeze(-1).to(out.dtype)
    return out, None


@EMBEDDING.defdecompose
def _embedding_reference(weight, indices, *, padding_idx):
    rows = weight.index_select(0, indices.reshape(-1)).reshape(tuple(indices.shape) + (weight.shape[1],))
    if padding_idx is None:
        return rows
    keep = (indices != padding_idx).unsqueeze(-1).to(weight.dtype)
    return rows * keep + (rows * (1 - keep)).detach()


def _renorm_forward(weight, indices, *, max_norm, norm_type):
    rows = np.unique(indices)
    norms = np.linalg.norm(weight[rows].astype(np.float64), ord=norm_type, axis=1)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight[rows] *= scale[:, None].astype(weight.dtype)


# Embedding(max_norm=...) rescales the rows it looks up, in place: a state change on the weight.
EMBEDDING_RENORM = OpDef("embedding_renorm", _renorm_forward, mutates=(0,))
EMBEDDING_RENORM.defshape(lambda weight, indices, **attrs: TensorMeta(weight.shape, weight.dtype))


# -- in-place random fills and the sampling functions -------------------------------------------------------
def _writable(name: str, t) -> None:
    check_tensor(name, "self", t)
    if t._requires_grad and _GRAD.enabled:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place operation."
        )


def _floating(name: str, t, what: str | None = None) -> None:
    if not t.dtype.is_floating_point:
        if what is None:
            raise TypeError(f"{name}: \"{name}\" not implemented for '{t.dtype.name}'")
        raise RuntimeError(
            f"{name}: {what} distribution is a continuous probability distribution. dtype must be a floating "
            f"point but you specified {t.dtype.name}"
        )


def _number(name: str, arg: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name}: {arg} must be a number, got {type(v).__name__}")
    return float(v)


def _fill(self: Tensor, generator, dist: str, a, b) -> Tensor:
    attrs = {"dist": dist, "shape": tuple(self.shape), "dtype": self.dtype, "a": a, "b": b}
    return draw_into(generator, RANDOM_FILL, self, (), attrs)


def _from_to(name, args, kwargs, defaults):
    """``(from, to)`` of ``uniform_(from, to)`` & co.: positional, or the keywords ``from``/``to``."""
    extra = set(kwargs) - {"from", "to"}
    if extra:
        raise TypeError(f"{name}: unexpected keyword argument {sorted(extra)[0]!r}")
    if len(args) > 2:
        raise TypeError(f"{name}: takes at most 2 positional arguments but {len(args)} were given")
    vals = list(args) + [None] * (2 - len(args))
    for i, k in enumerate(("from", "to")):
        if k in kwargs:
            if args[i : i + 1]:
                raise TypeError(f"{name}: got multiple values for argument {k!r}")
            vals[i] = kwargs[k]
    return [defaults[i] if v is None else v for i, v in enumerate(vals)]


def uniform_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """Fill with numbers drawn uniformly from ``[from, to)`` (default ``[0, 1)``); returns ``self``.

    Example:
        >>> ts.empty(3).uniform_(-1, 1, generator=ts.Generator().manual_seed(0)).abs().max() < 1
        tensor(True)
    """
    _writable("uniform_", self)
    lo, hi = (
        _number("uniform_", k, v) for k, v in zip(("from", "to"), _from_to("uniform_", args, kwargs, (0, 1)))
    )
    if lo > hi:
        raise RuntimeError(
            f"uniform_: uniform_ expects to return a [from, to) range, but found from={lo:g} > to={hi:g}"
        )
    if not self.dtype.is_floating_point:
        raise TypeError(f"uniform_: \"check_uniform_bounds\" not implemented for '{self.dtype.name}'")
    return _fill(self, generator, "uniform", lo, hi)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with normal random numbers of mean ``mean`` and standard deviation ``std``; returns ``self``.

    Example:
        >>> ts.empty(2, 2).normal_(0.0, 0.02).shape
        tessera.Size([2, 2])
    """
    _writable("normal_", self)
    mean, std = _number("normal_", "mean", mean), _number("normal_", "std", std)
    if std < 0:
        raise RuntimeError(f"normal_: normal expects std >= 0.0, but found std {std:g}")
    _floating("normal_", self)
    return _fill(self, generator, "normal", mean, std)


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with ``exp(N(mean, std))`` draws (the log is normal); returns ``self``."""
    _writable("log_normal_", self)
    mean, std = _number("log_normal_", "mean", mean), _number("log_normal_", "std", std)
    if std <= 0:
        raise RuntimeError(f"log_normal_: log_normal_ expects std > 0.0, but found std={std:g}")
    _floating("log_normal_", self)
    return _fill(self, generator, "log_normal", mean, std)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with exponential draws of rate ``lambd`` (density ``lambd * exp(-lambd x)``); returns ``self``."""
    _writable("exponential_", self)
    lambd = _number("exponential_", "lambd", lambd)
    if not lambd > 0:
        raise RuntimeError(f"exponential_: exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    _floating("exponential_", self, "Exponential")
    return _fill(self, generator, "exponential", lambd, 0.0)


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy draws ``median + sigma * tan(pi (U - 1/2))``; returns ``self``."""
    _writable("cauchy_", self)
    median, sigma = _number("cauchy_", "median", median), _number("cauchy_", "sigma", sigma)
    if not sigma > 0:
        raise RuntimeError(f"cauchy_: cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    _floating("cauchy_", self, "Cauchy")
    return _fill(self, generator, "cauchy", median, sigma)


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with geometric draws: the number of Bernoulli(``p``) trials up to the first success (>= 1)."""
    _writable("geometric_", self)
    p = _number("geometric_", "p", p)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_: geometric_ expects p to be in (0, 1), but got p={p:g}")
    if self.dtype is _dt.bool:
        raise TypeError("geometric_: \"geometric_cpu\" not implemented for 'bool'")
    return _fill(self, generator, "geometric", p, 0.0)


_MANTISSA_BITS = {_dt.float16: 11, _dt.bfloat16: 8, _dt.float32: 24, _dt.float64: 53}


def _dtype_bounds(dtype):
    if dtype is _dt.bool:
        return 0, 1
    if dtype.is_floating_point:
        m = 1 << _MANTISSA_BITS[dtype]
        return -m, m
    info = np.iinfo(dtype.np)
    return int(info.min), int(info.max)


def random_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """Fill with integers drawn uniformly: ``random_(to)`` from ``[0, to)``, ``random_(from, to)`` from
    ``[from, to)``, ``random_()`` from ``[0, 2 ** mantissa]`` (floats) or ``[0, max]`` (integers).

    Example:
        >>> t = ts.empty(4, dtype=ts.int64).random_(3, 7)
        >>> bool(((t >= 3) & (t < 7)).all())
        True
    """
    _writable("random_", self)
    lo_min, hi_max = _dtype_bounds(self.dtype)
    if len(args) == 1 and not kwargs:
        lo, hi = 0, args[0]
    else:
        lo, hi = _from_to("random_", args, kwargs, (0, None))
    for k, v in (("from", lo), ("to", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
            raise TypeError(f"random_: {k} must be an int, got {type(v).__name__}")
    lo = int(lo)
    if hi is None:
        hi_incl = hi_max
    else:
        if lo >= hi:
            raise RuntimeError(
                f"random_: random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}"
            )
        hi_incl = int(hi) - 1
    if not self.dtype.is_floating_point:
        if lo < lo_min:
            raise RuntimeError(f"random_: from is out of bounds for {self.dtype.name}")
        if hi_incl > hi_max:
            raise RuntimeError(f"random_: to - 1 is out of bounds for {self.dtype.name}")
    return _fill(self, generator, "integers", lo, hi_incl)


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 draws, 1 with probability ``p`` (a number, or a tensor broadcastable to ``self``)."""
    _writable("bernoulli_", self)
    attrs = {"shape": tuple(self.shape), "p": None, "dtype": self.dtype}
    if isinstance(p, Tensor):
        meta_if_broadcasts("bernoulli_", p, self, "p")
        if not is_tracing() and bool(((p < 0) | (p > 1)).any()):
            raise RuntimeError("bernoulli_: expected all probabilities p to be in [0, 1]")
        return draw_into(generator, BERNOULLI, self, (p,), attrs)
    p = _number("bernoulli_", "p", p)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_: bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    attrs["p"] = p
    return draw_into(generator, BERNOULLI, self, (None,), attrs)


def _bernoulli_method(self: Tensor, p=None, *, generator=None) -> Tensor:
    return _creation.bernoulli(self, p, generator=generator)


def _multinomial_method(self: Tensor, num_samples: int, replacement: bool = False, *, generator=None):
    return _creation.multinomial(self, num_samples, replacement, generator=generator)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with the rates in ``input`` (floating point, non-negative), in ``input``'s dtype.

    Example:
        >>> ts.poisson(ts.zeros(3))
        tensor([0., 0., 0.])
    """
    check_tensor("poisson", "input", input)
    if not input.dtype.is_floating_point:
        raise TypeError(f"poisson: \"poisson_cpu\" not implemented for '{input.dtype.name}'")
    if not is_tracing() and bool((input < 0).any()):
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    return draw(generator, POISSON, (input,))


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial draws: successes in ``count`` trials of probability ``prob`` (floating tensors, broadcast).

    Example:
        >>> ts.binomial(ts.tensor([10.0]), ts.tensor([1.0]))
        tensor([10.])
    """
    check_tensor("binomial", "count", count)
    check_tensor("binomial", "prob", prob)
    for name, t in (("count", count), ("prob", prob)):
        if not t.dtype.is_floating_point:
            raise ValueError(
                f"binomial: binomial only supports floating-point dtypes for {name}, got: {t.dtype.name}"
            )
    if not is_tracing() and bool((count < 0).any()):
        raise RuntimeError("binomial: count must be non-negative")
    return draw(generator, BINOMIAL, (count, prob))


for _name, _fn in {
    "uniform_": uniform_,
    "normal_": normal_,
    "log_normal_": log_normal_,
    "exponential_": exponential_,
    "cauchy_": cauchy_,
    "geometric_": geometric_,
    "random_": random_,
    "bernoulli_": bernoulli_,
    "bernoulli": _bernoulli_method,
    "multinomial": _multinomial_method,
}.items():
    setattr(Tensor, _name, _fn)


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
@EMBEDDING.defonnx
def _embedding_onnx(g, weight, indices, *, padding_idx):
    return g.op("Gather", weight, g.cast(indices, _dt.int64), axis=0)
