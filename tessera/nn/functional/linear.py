"""Functional linear layers: ``linear``, ``bilinear``, ``dropout`` family and ``embedding``."""

from __future__ import annotations

from ... import ops
from ...core.dispatch import apply, is_tracing
from ...core.dtypes import bool as _dt_bool
from ...core.grad_mode import no_grad
from ...core.random import BERNOULLI, draw
from ...core.tensor import Tensor
from ...ops.random import DROPOUT, EMBEDDING, EMBEDDING_RENORM

__all__ = ["linear", "bilinear", "dropout", "dropout1d", "dropout2d", "alpha_dropout", "embedding"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    Example:
        >>> F.linear(ts.ones(2, 3), ts.ones(4, 3)).shape
        tessera.Size([2, 4])
    """
    if input.shape[-1:] != weight.shape[-1:] if input.ndim else True:
        raise RuntimeError(
            f"linear: input shape {tuple(input.shape)} and weight shape {tuple(weight.shape)} are incompatible "
            f"(in_features {weight.shape[-1] if weight.ndim else '?'} != {input.shape[-1] if input.ndim else '?'})"
        )
    out = ops.matmul(input, weight.mT)
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` with ``weight`` of shape (out, in1, in2)."""
    out = ops.einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


def _check_p(name, p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, dtype, generator=None) -> Tensor:
    """A Bernoulli(1 - p) keep-mask drawn by an op from the generator's key (a tensor, not a constant)."""
    return draw(generator, BERNOULLI, (None,), {"shape": tuple(shape), "p": 1.0 - float(p), "dtype": dtype})


def _masked(input, mask_shape, p, generator=None):
    if p == 1.0:
        return input * 0
    mask = _keep_mask(mask_shape, p, _dt_bool)
    return apply(DROPOUT, (input, mask), {"p": float(p)})


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (identity when not training)."""
    _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    return _masked(input, input.shape, p)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, L) or (C, L) input."""
    _check_p("dropout1d", p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: expected 2D or 3D input, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    return _masked(input, tuple(input.shape[:-1]) + (1,), p)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, H, W) or (C, H, W) input."""
    _check_p("dropout2d", p)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: expected 3D or 4D input, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    return _masked(input, tuple(input.shape[:-2]) + (1, 1), p)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance."""
    _check_p("alpha_dropout", p)
    if not training or p == 0.0:
        return input
    alpha_p = -1.7580993408473766
    a = ((1 - p) * (1 + p * alpha_p**2)) ** -0.5
    b = -a * alpha_p * p
    keep_t = _keep_mask(input.shape, p, input.dtype)
    return (input * keep_t + alpha_p * (1 - keep_t)) * a + b


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` selected by the integer tensor ``input``; ``padding_idx`` rows get no gradient."""
    if not isinstance(input, Tensor) or input.dtype.name not in ("int64", "int32"):
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"embedding: expected input to be an int64 or int32 tensor of indices, got {got}")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}"
        )
    n = weight.shape[0]
    if not is_tracing() and input.numel():
        idx = input._data
        if idx.min() < 0 or idx.max() >= n:
            raise IndexError(
                f"embedding: index out of range in self (indices must be in [0, {n}), got "
                f"{idx.min() if idx.min() < 0 else idx.max()})"
            )
    if max_norm is not None:
        with no_grad():
            apply(
                EMBEDDING_RENORM,
                (weight, input),
                {"max_norm": float(max_norm), "norm_type": float(norm_type)},
            )
    pad = None if padding_idx is None else (padding_idx + n if padding_idx < 0 else padding_idx)
    return apply(EMBEDDING, (weight, input), {"padding_idx": pad})
