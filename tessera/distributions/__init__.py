"""``ts.distributions``: probability distributions with ``sample``/``rsample``, ``log_prob``, ``entropy`` and
``kl_divergence``, as in ``torch.distributions``.

Everything is written in Tessera ops, so ``log_prob``, ``entropy`` and reparameterised samples
(``rsample``) are differentiable with respect to the parameters, and draws go through Tessera's generator
(``ts.manual_seed`` makes them repeatable).

Example:
    >>> import tessera as ts
    >>> from tessera.distributions import Normal, kl_divergence
    >>> loc = ts.zeros(3, requires_grad=True)
    >>> d = Normal(loc, ts.ones(3))
    >>> x = d.rsample((5,))            # shape (5, 3), differentiable in loc
    >>> d.log_prob(x).sum().backward()
    >>> kl_divergence(d, Normal(ts.ones(3), ts.ones(3))).shape
    tessera.Size([3])
"""

from . import constraints
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .distribution import Distribution
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Exponential",
    "Laplace",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
