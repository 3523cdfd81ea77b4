"""``ts.special``: PyTorch's special functions (``erf``, ``gammaln``, ``digamma``, ``xlogy``, ``ndtri``...).

The ops live in ``tessera.ops.elementwise`` (one registry entry each; the gamma-family, Bessel and normal
distribution functions are computed in float64 there and rounded once); this module holds the public
``torch.special`` names, many of them aliases of ``ts.<name>``.

Example:
    >>> ts.special.gammaln(ts.tensor([3.0]))  # log(2!)
    tensor([0.6931])
"""

from __future__ import annotations

import math

from .core.tensor import Tensor, check_tensor
from .ops import elementwise as _ew
from .ops import reduction as _red
from .ops._util import apply

__all__ = [
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "expit",
    "logit",
    "gammaln",
    "digamma",
    "psi",
    "polygamma",
    "multigammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "xlogy",
    "xlog1py",
    "zeta",
    "entr",
    "sinc",
    "round",
    "log1p",
    "expm1",
    "exp2",
    "logsumexp",
    "softmax",
    "log_softmax",
    "ndtr",
    "ndtri",
    "log_ndtr",
    "gammainc",
    "gammaincc",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "spherical_bessel_j0",
]

_SQRT1_2 = math.sqrt(0.5)


def _unary(name: str, op):
    def fn(input: Tensor) -> Tensor:
        check_tensor(name, "input", input)
        return apply(op, (input,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = _ew._SPECIAL[op.name][1].__doc__
    return fn


def _alias(name: str, fn):
    def wrapped(input: Tensor, *args, **kwargs) -> Tensor:
        check_tensor(name, "input", input)
        return fn(input, *args, **kwargs)

    wrapped.__name__ = wrapped.__qualname__ = name
    wrapped.__doc__ = f"``torch.special.{name}``: {fn.__doc__}"
    return wrapped


erfcx = _unary("erfcx", _ew.SPECIAL_ERFCX)
i0e = _unary("i0e", _ew.SPECIAL_I0E)
i1 = _unary("i1", _ew.SPECIAL_I1)
i1e = _unary("i1e", _ew.SPECIAL_I1E)
ndtri = _unary("ndtri", _ew.SPECIAL_NDTRI)
log_ndtr = _unary("log_ndtr", _ew.SPECIAL_LOG_NDTR)
entr = _unary("entr", _ew.SPECIAL_ENTR)

erf = _alias("erf", _ew.erf)
erfc = _alias("erfc", _ew.erfc)
erfinv = _alias("erfinv", _ew.erfinv)
expit = _alias("expit", _ew.sigmoid)
gammaln = _alias("gammaln", _ew.lgamma)
digamma = _alias("digamma", _ew.digamma)
psi = _alias("psi", _ew.digamma)
i0 = _alias("i0", _ew.i0)
sinc = _alias("sinc", _ew.sinc)
log1p = _alias("log1p", _ew.log1p)
expm1 = _alias("expm1", _ew.expm1)
exp2 = _alias("exp2", _ew.exp2)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``, ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given.

    Example:
        >>> ts.special.logit(ts.tensor([0.5]))
        tensor([0.])
    """
    check_tensor("logit", "input", input)
    return _ew.logit(input, eps)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round to the nearest integer (halves to even) or to ``decimals`` places."""
    check_tensor("round", "input", input)
    return _ew.round(input, decimals=decimals)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function.

    Example:
        >>> ts.special.polygamma(1, ts.tensor([1.0]))
        tensor([1.6449])
    """
    return _ew.polygamma(n, input)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p`` (``ts.mvlgamma``)."""
    check_tensor("multigammaln", "input", input)
    return _ew.mvlgamma(input, p)


def _check_pair(name, input, other):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        check_tensor(name, "input", input)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (either may be a number).

    Example:
        >>> ts.special.xlogy(ts.tensor([0.0, 2.0]), ts.tensor([0.0, 1.0]))
        tensor([0., 0.])
    """
    _check_pair("xlogy", input, other)
    return apply(_ew.XLOGY, (input, other))


def xlog1py(input, other) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (either may be a number).

    Example:
        >>> ts.special.xlog1py(ts.tensor([0.0, 2.0]), ts.tensor([-1.0, 0.0]))
        tensor([0., 0.])
    """
    _check_pair("xlog1py", input, other)
    return apply(_ew.SPECIAL_XLOG1PY, (input, other))


def zeta(input, other) -> Tensor:
    """The Hurwitz zeta function ``sum_k (k + other) ** -input`` (differentiable in ``other``).

    Example:
        >>> ts.special.zeta(ts.tensor([2.0]), 1.0)  # pi ** 2 / 6
        tensor([1.6449])
    """
    _check_pair("zeta", input, other)
    return apply(_ew.SPECIAL_ZETA, (input, other))


def ndtr(input: Tensor) -> Tensor:
    """The standard normal cumulative distribution function ``(1 + erf(x / sqrt(2))) / 2``, computed as
    PyTorch does (so it rounds to 0 below about -8.3 in float64; ``exp(log_ndtr(x))`` keeps the tail).

    Example:
        >>> ts.special.ndtr(ts.tensor([0.0]))
        tensor([0.5000])
    """
    check_tensor("ndtr", "input", input)
    return (_ew.erf(input * _SQRT1_2) + 1) * 0.5


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))``, computed stably."""
    check_tensor("logsumexp", "input", input)
    return _red.logsumexp(input, dim, keepdim)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (``dtype`` casts the input first)."""
    check_tensor("softmax", "input", input)
    return _red.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``log(softmax(input, dim))``, computed stably (``dtype`` casts the input first)."""
    check_tensor("log_softmax", "input", input)
    return _red.log_softmax(input, dim, dtype)


def gammainc(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function ``P(a, x)`` (``a = input``; differentiable in x).

    Example:
        >>> ts.special.gammainc(ts.tensor([1.0]), ts.tensor([0.0]))
        tensor([0.])
    """
    check_tensor("gammainc", "input", input)
    return apply(_ew.IGAMMA, (input, other))


def gammaincc(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    check_tensor("gammaincc", "input", input)
    return apply(_ew.IGAMMAC, (input, other))


modified_bessel_i0 = _alias("modified_bessel_i0", _ew.i0)
modified_bessel_i1 = _unary("modified_bessel_i1", _ew.SPECIAL_I1)


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """The spherical Bessel function of the first kind of order 0, ``sin(x) / x`` (1 at 0).

    Example:
        >>> ts.special.spherical_bessel_j0(ts.tensor([0.0]))
        tensor([1.])
    """
    check_tensor("spherical_bessel_j0", "input", input)
    r = _ew.sinc(input * (1 / math.pi))
    return _ew.where(_ew.isinf(input), 0.0, r)  # 0 at +-inf (sinc gives NaN there)
