"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (PyTorch semantics).

Without dropout both run the fused op ``scaled_dot_product_attention`` (``tessera.ops.nn_ops``; masks are
its tensor inputs). With dropout on the weights, or when the weights are returned, they are composites of
registered ops (batched ``matmul`` over all heads at once, the fused ``softmax``, ``masked_fill``). Masks are
tensors throughout and nothing branches on their values.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ... import ops
from ...core import creation
from ...core import dtypes as _dt
from ...core.dispatch import apply
from ...core.tensor import Tensor
from ...ops import nn_ops as _nn
from ...ops._util import check_tensor
from .dropout import dropout as _dropout
from .linear import linear as _linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NEG_INF = float("-inf")


def _causal_hidden(L: int, S: int) -> Tensor:
    """(L, S) bool tensor, True above the diagonal: the positions a causal (top-left aligned) mask hides
    (a constant built from the sizes)."""
    return ops.triu(creation.ones((L, S), dtype=_dt.bool), 1)


_check_tensor = check_tensor


def _float_mask(opname: str, argname: str, mask: Tensor, dtype) -> Tensor:
    """A float additive mask in ``dtype`` (masks of another float dtype are cast)."""
    if not mask.dtype.is_floating_point:
        raise TypeError(
            f"{opname}: only bool and floating types of {argname} are supported, got {mask.dtype.name}"
        )
    return mask if mask.dtype is dtype else mask.to(dtype)


def _attend(q, k, v, hidden, bias, dropout_p: float, safe: bool, need_weights: bool):
    """softmax(q @ k^T + bias, masked where ``hidden``) @ v, with ``q`` already scaled: the composite path
    (dropout on the weights, or the weights returned).

    ``hidden``: a bool Tensor (True = hidden) broadcastable to the scores, or None. ``bias``: a float Tensor
    added to the scores, or None. ``safe``: rows hidden entirely give zeros (PyTorch's
    ``scaled_dot_product_attention``) rather than NaN (its ``MultiheadAttention`` with weights).
    """
    attn = _nn.attention_probs(ops.matmul(q, k.mT), hidden, bias, safe)
    if dropout_p > 0.0:
        attn = _dropout(attn, dropout_p, True)
    out = ops.matmul(attn, v)
    return out, (attn if need_weights else None)


def _fused(q, k, v, mask, is_causal: bool, scale: float) -> Tensor:
    """The ``scaled_dot_product_attention`` op (no dropout); ``mask``: bool (True = attend) or float."""
    return apply(_nn.SDPA, (q, k, v, mask), {"is_causal": bool(is_causal), "scale": float(scale)})


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two dimensions, as PyTorch's.

    ``query`` is (..., L, E), ``key`` (..., S, E), ``value`` (..., S, Ev); leading dimensions broadcast.
    ``attn_mask``: a bool mask (True = the position takes part in attention) or a float mask added to the
    scores, broadcastable to (..., L, S). ``is_causal`` hides the positions above the diagonal of an (L, S)
    matrix. ``scale`` defaults to ``1/sqrt(E)``. Dropout on the attention weights is applied whenever
    ``dropout_p > 0`` (pass 0 in evaluation). Rows with no visible position give zeros. ``enable_gqa``
    lets ``key``/``value`` have fewer heads (dim -3) than ``query``, each shared by a group of query heads.

    Example:
        >>> q = k = v = ts.randn(2, 4, 10, 16)    # (batch, heads, seq, head_dim)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        tessera.Size([2, 4, 10, 16])
    """
    name = "scaled_dot_product_attention"
    for arg, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(name, arg, t)
        if t.ndim < 2:
            raise RuntimeError(
                f"{name}: expected {arg} to have at least 2 dimensions, got shape {tuple(t.shape)}"
            )
    if not (query.dtype is key.dtype is value.dtype) or not query.dtype.is_floating_point:
        raise RuntimeError(
            f"{name}: expected query, key and value to have the same floating dtype, got query "
            f"{query.dtype.name}, "
            f"key {key.dtype.name}, value {value.dtype.name}"
        )
    qs, ks, vs = tuple(query.shape), tuple(key.shape), tuple(value.shape)
    if qs[-1] != ks[-1]:
        raise RuntimeError(
            f"{name}: query and key must have the same embedding size (last dimension), got query {qs} "
            f"and key {ks}"
        )
    if ks[-2] != vs[-2]:
        raise RuntimeError(
            f"{name}: key and value must have the same sequence length (dim -2), got key {ks} and value {vs}"
        )
    if not isinstance(dropout_p, numbers.Real) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1), got {dropout_p!r}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{name}: explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and len(qs) >= 3 and len(ks) >= 3 and qs[-3] != ks[-3]:
        hq, hk, hv = qs[-3], ks[-3], vs[-3] if len(vs) >= 3 else 0
        if hk != hv or hk == 0 or hq % hk:
            raise RuntimeError(
                f"{name}: with enable_gqa the number of query heads ({hq}) must be a multiple of the "
                f"number of "
                f"key/value heads (key {hk}, value {hv})"
            )
        key = ops.repeat_interleave(key, hq // hk, dim=-3)
        value = ops.repeat_interleave(value, hq // hk, dim=-3)
        ks, vs = tuple(key.shape), tuple(value.shape)
    try:
        batch = np.broadcast_shapes(qs[:-2], ks[:-2], vs[:-2])
    except ValueError:
        raise RuntimeError(
            f"{name}: batch dimensions of query {qs}, key {ks} and value {vs} are not broadcastable"
        ) from None
    L, S = qs[-2], ks[-2]
    if attn_mask is not None:
        _check_tensor(name, "attn_mask", attn_mask)
        try:
            np.broadcast_shapes(tuple(attn_mask.shape), batch + (L, S))
        except ValueError:
            raise RuntimeError(
                f"{name}: attn_mask of shape {tuple(attn_mask.shape)} is not broadcastable to the attention "
                f"scores of shape {batch + (L, S)}"
            ) from None
        if attn_mask.dtype is not _dt.bool:
            attn_mask = _float_mask(name, "attn_mask", attn_mask, query.dtype)
    if scale is None:
        scale = 1.0 / math.sqrt(qs[-1]) if qs[-1] else 1.0
    if not dropout_p:
        return _fused(query, key, value, attn_mask, is_causal, scale)
    hidden = bias = None
    if attn_mask is not None:
        if attn_mask.dtype is _dt.bool:
            hidden = ops.logical_not(attn_mask)
        else:
            bias = attn_mask
    elif is_causal:
        hidden = _causal_hidden(L, S)
    out, _ = _attend(query * scale, key, value, hidden, bias, float(dropout_p), True, False)
    return out


# -- multi-head attention --------------------------------------------------------------------------------
def _merge_masks(name, attn_mask, key_padding_mask, dtype, N, H, L, S, batched):
    """PyTorch's mask canonicalisation: bool masks (True = hidden) combine with ``|``; as soon as one mask is
    float, bool ones become ``-inf`` and the masks add. Returns (hidden bool Tensor | None, bias | None),
    each broadcastable to the (N, H, L, S) scores."""
    masks = []
    if attn_mask is not None:
        _check_tensor(name, "attn_mask", attn_mask)
        am_shape = tuple(attn_mask.shape)
        if attn_mask.ndim == 2:
            if am_shape != (L, S):
                raise RuntimeError(
                    f"{name}: the shape of the 2D attn_mask is {am_shape}, but should be {(L, S)}"
                )
        elif attn_mask.ndim == 3:
            expect = (N * H, L, S) if batched else (H, L, S)
            if am_shape != expect:
                raise RuntimeError(
                    f"{name}: the shape of the 3D attn_mask is {am_shape}, but should be {expect}"
                )
            attn_mask = attn_mask.reshape(N, H, L, S)
        else:
            raise RuntimeError(
                f"{name}: attn_mask's dimension {attn_mask.ndim} is not supported (expected 2 or 3)"
            )
        masks.append(("attn_mask", attn_mask))
    if key_padding_mask is not None:
        _check_tensor(name, "key_padding_mask", key_padding_mask)
        expect = (N, S) if batched else (S,)
        if tuple(key_padding_mask.shape) != expect:
            raise RuntimeError(
                f"{name}: expected key_padding_mask of shape {expect}, got {tuple(key_padding_mask.shape)}"
            )
        masks.append(("key_padding_mask", key_padding_mask.reshape(N, 1, 1, S)))
    if not masks:
        return None, None
    if all(m.dtype is _dt.bool for _, m in masks):
        hidden = masks[0][1]
        for _, m in masks[1:]:
            hidden = ops.logical_or(hidden, m)
        return hidden, None
    bias = None
    for argname, m in masks:
        if m.dtype is _dt.bool:
            m = ops.masked_fill(creation.zeros(tuple(m.shape), dtype=dtype), m, _NEG_INF)
        else:
            m = _float_mask(name, argname, m, dtype)
        bias = m if bias is None else bias + m
    return None, bias


def _mha(
    query,
    key,
    value,
    num_heads,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn,
    dropout_p,
    out_proj_weight,
    out_proj_bias,
    training=True,
    key_padding_mask=None,
    need_weights=True,
    attn_mask=None,
    use_separate_proj_weight=False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights=True,
    is_causal=False,
    batch_first=False,
    embed_dim_to_check=None,
    name="multi_head_attention_forward",
):
    """Multi-head attention on (L, N, E) inputs, or (N, L, E) with ``batch_first`` (no transposes)."""
    for arg, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(name, arg, t)
    batched = query.ndim == 3
    if query.ndim not in (2, 3):
        raise RuntimeError(
            f"{name}: expected query to be 2-D (unbatched) or 3-D (batched), got shape {tuple(query.shape)}"
        )
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(
            f"{name}: query, key and value must all be {'3' if batched else '2'}-D, got shapes "
            f"{tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}"
        )
    if not batched:  # one sequence: a batch of one (dim 1 seq-first, dim 0 batch-first)
        bdim = 0 if batch_first else 1
        self_attn, kv_same = query is key and key is value, key is value
        query = query.unsqueeze(bdim)
        key = query if self_attn else key.unsqueeze(bdim)
        value = key if kv_same else value.unsqueeze(bdim)
        if key_padding_mask is not None:
            _check_tensor(name, "key_padding_mask", key_padding_mask)
            if key_padding_mask.ndim != 1:
                raise RuntimeError(
                    f"{name}: expected key_padding_mask of shape (S,) for unbatched input, got "
                    f"{tuple(key_padding_mask.shape)}"
                )
            key_padding_mask = key_padding_mask.unsqueeze(0)
    bdim = 0 if batch_first else 1
    N, L, E = query.shape[bdim], query.shape[1 - bdim], query.shape[2]
    S = key.shape[1 - bdim]
    if key.shape[bdim] != N or value.shape[bdim] != N:
        raise RuntimeError(
            f"{name}: query, key and value must have the same batch size, got shapes "
            f"{tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}"
        )
    if embed_dim_to_check is not None and E != embed_dim_to_check:
        raise RuntimeError(f"{name}: was expecting embedding dimension of {embed_dim_to_check}, but got {E}")
    H = num_heads
    if E % H:
        raise RuntimeError(f"{name}: embed_dim {E} not divisible by num_heads {H}")
    D = E // H
    if tuple(key.shape[:2]) != tuple(value.shape[:2]):
        raise RuntimeError(
            f"{name}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)} in "
            "batch and sequence dimensions"
        )
    if not use_separate_proj_weight and (key.shape[-1] != E or value.shape[-1] != E):
        raise RuntimeError(
            f"{name}: expected key and value with last dimension {E} (embed_dim), got key {tuple(key.shape)} "
            f"and value {tuple(value.shape)}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            f"{name}: need attn_mask if specifying the is_causal hint (it marks attn_mask as causal)"
        )
    causal_only = is_causal and key_padding_mask is None and not need_weights
    if causal_only:
        attn_mask = None

    # -- input projections (one GEMM for self-attention) -------------------------------------------------
    seq_axis = 1 if batch_first else 0

    def heads(x, length):  # (L, N, E) / (N, L, E) -> (N, H, L, D), a view
        if batch_first:
            return x.reshape(N, length, H, D).permute(0, 2, 1, 3)
        return x.reshape(length, N, H, D).permute(1, 2, 0, 3)

    packed = (
        not use_separate_proj_weight
        and query is key
        and key is value
        and bias_k is None
        and static_k is None
        and static_v is None
    )
    if packed:
        qkv = _linear(query, in_proj_weight, in_proj_bias)
        if batch_first:
            qkv = qkv.reshape(N, L, 3, H, D).permute(2, 0, 3, 1, 4)
        else:
            qkv = qkv.reshape(L, N, 3, H, D).permute(2, 1, 3, 0, 4)
        q, k, v = ops.unbind(qkv, 0)
    else:
        if use_separate_proj_weight:
            for arg, w, width in (
                ("q_proj_weight", q_proj_weight, query.shape[-1]),
                ("k_proj_weight", k_proj_weight, key.shape[-1]),
                ("v_proj_weight", v_proj_weight, value.shape[-1]),
            ):
                if w is None:
                    raise RuntimeError(f"{name}: use_separate_proj_weight is True but {arg} is None")
                if tuple(w.shape) != (E, width):
                    raise RuntimeError(f"{name}: expected {arg} of shape {(E, width)}, got {tuple(w.shape)}")
            bq = bk = bv = None
            if in_proj_bias is not None:
                bq, bk, bv = in_proj_bias[:E], in_proj_bias[E : 2 * E], in_proj_bias[2 * E :]
            q = _linear(query, q_proj_weight, bq)
            k = _linear(key, k_proj_weight, bk) if static_k is None else None
            v = _linear(value, v_proj_weight, bv) if static_v is None else None
        else:
            w, b = in_proj_weight, in_proj_bias
            q = _linear(query, w[:E], None if b is None else b[:E])
            if key is value and static_k is None and static_v is None:
                k, v = ops.chunk(_linear(key, w[E:], None if b is None else b[E:]), 2, -1)
            else:
                k = (
                    _linear(key, w[E : 2 * E], None if b is None else b[E : 2 * E])
                    if static_k is None
                    else None
                )
                v = (
                    _linear(value, w[2 * E :], None if b is None else b[2 * E :])
                    if static_v is None
                    else None
                )
        if bias_k is not None and bias_v is not None:
            if static_k is not None or static_v is not None:
                raise RuntimeError(f"{name}: bias cannot be added to static key/value")
            shape = (N, 1, E) if batch_first else (1, N, E)
            k = ops.cat([k, bias_k.reshape(1, 1, E).expand(*shape)], seq_axis)
            v = ops.cat([v, bias_v.reshape(1, 1, E).expand(*shape)], seq_axis)
            S += 1
            if attn_mask is not None:
                attn_mask = ops.pad(attn_mask, (0, 1))
            if key_padding_mask is not None:
                key_padding_mask = ops.pad(key_padding_mask, (0, 1))
        elif bias_k is not None or bias_v is not None:
            raise RuntimeError(f"{name}: bias_k and bias_v must both be given or both be None")
        q = heads(q, L)
        if static_k is None:
            k = heads(k, S)
        else:
            if tuple(static_k.shape[:1]) != (N * H,) or static_k.ndim != 3 or static_k.shape[2] != D:
                raise RuntimeError(
                    f"{name}: expected static_k of shape ({N * H}, S, {D}), got {tuple(static_k.shape)}"
                )
            S = static_k.shape[1]
            k = static_k.reshape(N, H, S, D)
        if static_v is None:
            v = heads(v, S)
        else:
            if tuple(static_v.shape) != (N * H, S, D):
                raise RuntimeError(
                    f"{name}: expected static_v of shape {(N * H, S, D)}, got {tuple(static_v.shape)}"
                )
            v = static_v.reshape(N, H, S, D)
    if add_zero_attn:
        z = ops.zeros_like(k[:, :, :1])
        k = ops.cat([k, z], 2)
        v = ops.cat([v, z], 2)
        S += 1
        if attn_mask is not None:
            attn_mask = ops.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = ops.pad(key_padding_mask, (0, 1))

    # -- attention over all heads at once ----------------------------------------------------------------
    if not training:
        dropout_p = 0.0
    if causal_only:
        hidden, bias = None, None
    else:
        hidden, bias = _merge_masks(name, attn_mask, key_padding_mask, query.dtype, N, H, L, S, True)
    if not need_weights and not dropout_p:
        mask = bias if hidden is None else ops.logical_not(hidden)
        out, weights = _fused(q, k, v, mask, causal_only, 1.0 / math.sqrt(D)), None
    else:
        if causal_only:
            hidden = _causal_hidden(L, S)
        out, weights = _attend(
            q * (1.0 / math.sqrt(D)), k, v, hidden, bias, dropout_p, not need_weights, need_weights
        )
    if batch_first:
        out = out.permute(0, 2, 1, 3).reshape(N, L, E)
    else:
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)
    out = _linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(seq_axis ^ 1)
    if weights is not None:
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
    return out, weights


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first inputs, as ``torch.nn.functional.multi_head_attention_forward``.

    ``query`` is (L, N, E) (or (L, E) unbatched), ``key``/``value`` (S, N, kdim/vdim). Boolean masks mark
    hidden positions with True (``attn_mask`` (L, S) or (N * num_heads, L, S), ``key_padding_mask`` (N, S));
    float masks are added to the scores. Returns ``(output (L, N, E), weights)`` where ``weights`` is
    (N, L, S) averaged over heads, (N, num_heads, L, S), or None when ``need_weights`` is False.

    Example:
        >>> E, H = 8, 2
        >>> x = ts.randn(5, 3, E)
        >>> out, w = F.multi_head_attention_forward(
        ...     x, x, x, E, H, ts.randn(3 * E, E), ts.zeros(3 * E), None, None, False, 0.0,
        ...     ts.randn(E, E), ts.zeros(E))
        >>> out.shape, w.shape
        (tessera.Size([5, 3, 8]), tessera.Size([3, 5, 5]))
    """
    return _mha(
        query,
        key,
        value,
        num_heads,
        in_proj_weight,
        in_proj_bias,
        bias_k,
        bias_v,
        add_zero_attn,
        dropout_p,
        out_proj_weight,
        out_proj_bias,
        training,
        key_padding_mask,
        need_weights,
        attn_mask,
        use_separate_proj_weight,
        q_proj_weight,
        k_proj_weight,
        v_proj_weight,
        static_k,
        static_v,
        average_attn_weights,
        is_causal,
        batch_first=False,
        embed_dim_to_check=embed_dim_to_check,
    )
