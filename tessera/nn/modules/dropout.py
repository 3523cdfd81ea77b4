"""Dropout modules: active in training mode, the identity in eval mode; each is its functional form in
``ts.nn.functional.dropout`` (feature dropout: one draw per (batch, channel) pair).
"""

from __future__ import annotations

from ...core.tensor import Tensor
from .. import functional as F
from ..module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    _fn = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}"
            )
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return self._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p`` during training, scaling the rest by ``1/(1-p)``.

    Example:
        >>> ts.nn.Dropout(0.5).eval()(ts.ones(2, 3)).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs.

    Example:
        >>> ts.nn.Dropout1d(0.5)(ts.ones(2, 3, 4)).shape
        tessera.Size([2, 3, 4])
    """

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs. As PyTorch: a 3-D input is read as (N, C, L) with a
    warning; other ranks (e.g. a 2-D (N, C) input) warn and drop each (n, c) entry.

    Example:
        >>> ts.nn.Dropout2d(0.5)(ts.ones(2, 3, 4, 4)).shape
        tessera.Size([2, 3, 4, 4])
    """

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs.

    Example:
        >>> ts.nn.Dropout3d(0.5)(ts.ones(2, 3, 2, 2, 2)).shape
        tessera.Size([2, 3, 2, 2, 2])
    """

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout keeping SELU's self-normalising mean and variance.

    Example:
        >>> ts.nn.AlphaDropout(0.2)(ts.ones(2, 3)).shape
        tessera.Size([2, 3])
    """

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (one draw per (batch, channel) pair).

    Example:
        >>> ts.nn.FeatureAlphaDropout(0.2)(ts.ones(2, 3, 4)).shape
        tessera.Size([2, 3, 4])
    """

    _fn = staticmethod(F.feature_alpha_dropout)
