"""Functional dropout: ``dropout``, ``dropout1d``/``2d``/``3d`` (whole channels), ``alpha_dropout`` and
``feature_alpha_dropout``, with PyTorch's input ranks, warnings and ``inplace``.

Every mask is a Bernoulli draw by an op reading the generator's key (so a compiled function replays the
stream); ``inplace=True`` writes the result back with ``copy_`` (the version counter moves, autograd sees it).
"""

from __future__ import annotations

import warnings

from ...core.dispatch import apply
from ...core.dtypes import bool as _dt_bool
from ...core.random import BERNOULLI, draw
from ...core.tensor import Tensor
from ...ops.random import DROPOUT

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # SELU's -alpha * scale: the value a dropped unit takes before the affine map


def _check(name: str, input, p) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, dtype, generator=None) -> Tensor:
    """A Bernoulli(1 - p) keep-mask drawn by an op from the generator's key (a tensor, not a constant)."""
    return draw(generator, BERNOULLI, (None,), {"shape": tuple(shape), "p": 1.0 - float(p), "dtype": dtype})


def _result(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def _dropped(input: Tensor, mask_shape, p: float, inplace: bool, alpha: bool = False) -> Tensor:
    """``input`` with units dropped by a mask of ``mask_shape`` (broadcast over the rest)."""
    if p == 1.0:  # alpha dropout too: PyTorch's formula gives 0 * inf there; the limit is 0
        return _result(input, input * 0, inplace)
    if not alpha:
        out = apply(DROPOUT, (input, _keep_mask(mask_shape, p, _dt_bool)), {"p": float(p)})
    else:
        a = 1.0 / ((_ALPHA * _ALPHA * p + 1) * (1 - p)) ** 0.5
        keep = _keep_mask(mask_shape, p, input.dtype)
        out = input * (keep * a) + ((keep - 1) * (_ALPHA * a) + _ALPHA * a * p)
    return _result(input, out, inplace)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (identity when not training).

    Example:
        >>> F.dropout(ts.ones(2, 2), 0.5, training=False)
        tensor([[1., 1.],
                [1., 1.]])
    """
    _check("dropout", input, p)
    if not training or p == 0.0:
        return input
    return _dropped(input, input.shape, p, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance (dropped units take SELU's negative
    saturation, then an affine map restores mean 0 and variance 1)."""
    _check("alpha_dropout", input, p)
    if not training or p == 0.0:
        return input
    return _dropped(input, input.shape, p, inplace, alpha=True)


def _feature(
    name: str, input: Tensor, p: float, training: bool, inplace: bool, alpha: bool = False
) -> Tensor:
    """PyTorch's ``feature_dropout`` / ``feature_alpha_dropout``: whole (batch, channel) slices dropped."""
    _check(name, input, p)
    if input.ndim < 2:
        raise RuntimeError(
            f"{name}: feature dropout requires at least 2 dimensions in the input, got shape {tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    return _dropped(input, tuple(input.shape[:2]) + (1,) * (input.ndim - 2), p, inplace, alpha)


def _unbatched(name: str, input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Feature dropout of an input without its batch dimension: one draw per channel."""
    if not training or p == 0.0:
        _check(name, input, p)
        return input
    out = _feature(name, input.unsqueeze(0), p, training, False).squeeze(0)
    return _result(input, out, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, L) or unbatched (C, L) input.

    Example:
        >>> F.dropout1d(ts.ones(2, 3, 4), 0.5).shape
        tessera.Size([2, 3, 4])
    """
    _check("dropout1d", input, p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d exists "
            "to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs)."
        )
    if input.ndim == 2:
        return _unbatched("dropout1d", input, p, training, inplace)
    return _feature("dropout1d", input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, H, W) or unbatched (C, H, W) input. As PyTorch: a 3-D input is read as
    (N, C, L) with a warning; other ranks warn and drop each (n, c) slice.

    Example:
        >>> F.dropout2d(ts.ones(2, 3, 4, 4), 0.5).shape
        tessera.Size([2, 3, 4, 4])
    """
    _check("dropout2d", input, p)
    nd = input.ndim
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
            "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
            "will change in a future release to interpret the input as one without a batch dimension, i.e. "
            "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
            "dropout1d instead.",
            stacklevel=2,
        )
    return _feature("dropout2d", input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, D, H, W) or unbatched (C, D, H, W) input; other ranks warn (and a
    non-5-D input is read as unbatched, as PyTorch does).

    Example:
        >>> F.dropout3d(ts.ones(2, 3, 2, 2, 2), 0.5).shape
        tessera.Size([2, 3, 2, 2, 2])
    """
    _check("dropout3d", input, p)
    nd = input.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    if nd == 5:
        return _feature("dropout3d", input, p, training, inplace)
    return _unbatched("dropout3d", input, p, training, inplace)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels (one draw per (batch, channel) pair).

    Example:
        >>> F.feature_alpha_dropout(ts.ones(2, 3, 4), 0.2, training=False).shape
        tessera.Size([2, 3, 4])
    """
    return _feature("feature_alpha_dropout", input, p, training, inplace, alpha=True)


# -- torch-level forms (``ts.dropout(input, p, train)``, ``ts.dropout_``...; exported by ``toplevel``) ------------
def _feature_dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _feature("feature_dropout", input, p, training, inplace)


def _torch_form(fn, inplace: bool):
    def torch_form(input: Tensor, p: float, train: bool) -> Tensor:
        return fn(input, p, train, inplace)

    torch_form.__name__ = torch_form.__qualname__ = fn.__name__.lstrip("_") + ("_" if inplace else "")
    torch_form.__doc__ = f"``torch.{torch_form.__name__}(input, p, train)``."
    return torch_form


_TORCH_FORMS = {
    form.__name__: form
    for fn in (dropout, alpha_dropout, _feature_dropout, feature_alpha_dropout)
    for form in (_torch_form(fn, False), _torch_form(fn, True))
}
