"""Ops built on random draws: ``dropout`` (the keep-mask is a tensor input, drawn by ``core.random``'s
``bernoulli`` op from the generator's key) and the ``embedding`` lookup with its in-place renormalisation.

The mask being an input is what lets a recorded graph draw a new mask on every replay.
"""

from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, apply
from ._util import meta_if_broadcasts

__all__: list[str] = []


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
