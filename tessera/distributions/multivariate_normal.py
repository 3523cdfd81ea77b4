"""``MultivariateNormal``: a Gaussian over vectors, parametrised by a covariance, a precision or a lower
Cholesky factor of the covariance (``scale_tril``); all computation goes through that factor."""

from __future__ import annotations

import math

import tessera as ts

from . import constraints
from .distribution import Distribution

__all__ = ["MultivariateNormal"]


def _broadcast_shape(*shapes):
    return tuple(ts.broadcast_shapes(*shapes))


def batch_mahalanobis(L, x):
    """``x^T (L L^T)^{-1} x`` over the batch, by one triangular solve."""
    shape = _broadcast_shape(L.shape[:-2], x.shape[:-1])
    n = x.shape[-1]
    L = L.expand(shape + (n, n))
    x = x.expand(shape + (n,))
    z = ts.linalg.solve_triangular(L, x.unsqueeze(-1), upper=False).squeeze(-1)
    return z.pow(2).sum(-1)


def _precision_to_scale_tril(P):
    # the Cholesky factor of P's inverse without forming it: flip, factor, flip back, invert the triangle
    flipped = ts.linalg.cholesky(P.flip((-2, -1))).flip((-2, -1))
    L_inv = flipped.mT
    eye = ts.eye(P.shape[-1], dtype=P.dtype).expand(L_inv.shape)
    return ts.linalg.solve_triangular(L_inv, eye, upper=False)


class MultivariateNormal(Distribution):
    """A multivariate normal distribution with mean vector ``loc``.

    Example:
        >>> d = MultivariateNormal(ts.zeros(2), covariance_matrix=ts.eye(2))
        >>> d.log_prob(ts.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc,
        covariance_matrix=None,
        precision_matrix=None,
        scale_tril=None,
        validate_args: bool | None = None,
    ):
        if not isinstance(loc, ts.Tensor) or loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified."
            )
        (matrix,) = given
        if matrix.ndim < 2:
            name = ("covariance_matrix" if covariance_matrix is not None else
                    "precision_matrix" if precision_matrix is not None else "scale_tril")  # fmt: skip
            raise ValueError(
                f"{name} matrix must be at least two-dimensional, with optional leading batch dimensions"
            )
        if matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(
                f"MultivariateNormal: the matrix must be square with the size of loc's last dimension, got loc "
                f"{tuple(loc.shape)} and matrix {tuple(matrix.shape)}"
            )
        batch_shape = _broadcast_shape(matrix.shape[:-2], loc.shape[:-1])
        n = loc.shape[-1]
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(batch_shape + (n, n))
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(batch_shape + (n, n))
        else:
            self.precision_matrix = precision_matrix.expand(batch_shape + (n, n))
        self.loc = loc.expand(batch_shape + (n,))
        super().__init__(batch_shape, (n,), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = ts.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def __getattr__(self, name):
        if (
            name in ("scale_tril", "covariance_matrix", "precision_matrix")
            and "_unbroadcasted_scale_tril" in self.__dict__
        ):
            L = self._unbroadcasted_scale_tril
            shape = tuple(self._batch_shape) + tuple(self._event_shape) * 2
            if name == "scale_tril":
                value = L.expand(shape)
            elif name == "covariance_matrix":
                value = (L @ L.mT).expand(shape)
            else:
                value = ts.cholesky_inverse(L).expand(shape)
            setattr(self, name, value)
            return value
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        shape = tuple(self._batch_shape) + tuple(self._event_shape)
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = ts.randn(shape, dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return H.expand(tuple(self._batch_shape)) if len(self._batch_shape) else H
