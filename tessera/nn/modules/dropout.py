"""Dropout modules: active in training mode, the identity in eval mode.

``Dropout2d``, ``Dropout3d`` and ``FeatureAlphaDropout`` run PyTorch's feature dropout (one draw per
(batch, channel) pair: a mask of shape (N, C, 1, ...)) through ``_feature_dropout`` below, with the input
ranks and warnings of ``torch.nn.functional.dropout2d`` / ``dropout3d`` / ``feature_alpha_dropout``.
"""

from __future__ import annotations

import warnings

from ...core.dispatch import apply
from ...core.dtypes import bool as _dt_bool
from ...core.tensor import Tensor
from ...ops.random import DROPOUT
from .. import functional as F
from ..functional.linear import _check_p, _keep_mask
from ..module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]

_ALPHA = 1.7580993408473766  # SELU's -alpha * scale: the value a dropped unit takes before the affine map


def _feature_dropout(name: str, input: Tensor, p: float, training: bool, alpha: bool = False) -> Tensor:
    """PyTorch's ``feature_dropout`` / ``feature_alpha_dropout``: whole (batch, channel) slices dropped."""
    _check_p(name, p)
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(
            f"{name}: feature dropout requires at least 2 dimensions in the input, got shape "
            f"{tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    if not alpha:
        if p == 1.0:
            return input * 0
        return apply(DROPOUT, (input, _keep_mask(mask_shape, p, _dt_bool)), {"p": float(p)})
    if p == 1.0:  # every unit dropped: PyTorch's formula gives 0 * inf there; the limit is alpha' = 0
        return input * 0
    a = 1.0 / ((_ALPHA * _ALPHA * p + 1) * (1 - p)) ** 0.5
    keep = _keep_mask(mask_shape, p, input.dtype)
    return input * (keep * a) + ((keep - 1) * (_ALPHA * a) + _ALPHA * a * p)


def _dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """``torch.nn.functional.dropout2d``: a 3-D input is read as (N, C, L) (with PyTorch's warning), other
    ranks than 3 and 4 warn and run feature dropout over their first two dims."""
    _check_p("dropout2d", p)
    nd = input.ndim
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=3,
        )
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
            "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
            "will change in a future release to interpret the input as one without a batch dimension, i.e. "
            "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
            "dropout1d instead.",
            stacklevel=3,
        )
    return _feature_dropout("dropout2d", input, p, training)


def _dropout3d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """``torch.nn.functional.dropout3d``: (N, C, D, H, W) or unbatched (C, D, H, W) channel dropout; other
    ranks warn (and a non-5-D input is read as unbatched, as PyTorch does)."""
    _check_p("dropout3d", p)
    nd = input.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=3,
        )
    if nd == 5:
        return _feature_dropout("dropout3d", input, p, training)
    return _feature_dropout("dropout3d", input.unsqueeze(0), p, training).squeeze(0)


def _feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False) -> Tensor:
    """``torch.nn.functional.feature_alpha_dropout``: alpha dropout of whole channels."""
    return _feature_dropout("feature_alpha_dropout", input, p, training, alpha=True)


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
        return self._fn(input, self.p, self.training)

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

    _fn = staticmethod(_dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs.

    Example:
        >>> ts.nn.Dropout3d(0.5)(ts.ones(2, 3, 2, 2, 2)).shape
        tessera.Size([2, 3, 2, 2, 2])
    """

    _fn = staticmethod(_dropout3d)


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

    _fn = staticmethod(_feature_alpha_dropout)
