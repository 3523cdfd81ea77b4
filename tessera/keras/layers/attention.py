"""``Attention`` (Luong dot/concat), ``AdditiveAttention`` (Bahdanau) and ``MultiHeadAttention``.

``MultiHeadAttention`` has Keras's weights: ``query_kernel`` (query_dim, heads, key_dim), ``query_bias``
(heads, key_dim), the same for ``key_*`` and ``value_*`` (value_dim), and ``output_kernel`` (heads,
value_dim, output_dim) with ``output_bias``. The attention itself runs on
``F.scaled_dot_product_attention``."""

from __future__ import annotations

import math
import numbers

from ... import ops
from ...core import creation
from ...core import dtypes as _dt
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import Layer, _shape_of
from .core import _no_constraint, _ser_init

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention"]


class Attention(Layer):
    """Dot-product (Luong) attention over ``[query, value]`` or ``[query, value, key]`` lists of
    (batch, T, dim) tensors: ``softmax(query @ key^T) @ value``.

    ``use_scale`` learns a scalar ``scale`` multiplying the scores; ``score_mode='concat'`` scores with
    ``concat_score_weight * sum(tanh(scale * (q + k)))`` instead. ``call(inputs, mask=None, training=None,
    return_attention_scores=False, use_causal_mask=False)``: ``mask`` is ``[query_mask, value_mask]``
    ((batch, Tq) and (batch, Tv) bools); masked values get no weight and masked query steps output zeros.

    Example:
        >>> q, v = ts.randn(2, 3, 4), ts.randn(2, 5, 4)
        >>> out, scores = ts.keras.layers.Attention()([q, v], return_attention_scores=True)
        >>> out.shape, scores.shape
        (tessera.Size([2, 3, 4]), tessera.Size([2, 3, 5]))
    """

    def __init__(
        self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                "Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                f"Received: score_mode={score_mode}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{type(self).__name__}: dropout must be a number in [0, 1], got {dropout!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed
        self.supports_masking = True

    def _validate_inputs(self, inputs, mask=None) -> None:
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{name} layer must be called on a list of inputs, namely [query, value] or "
                f"[query, value, key]. Received: inputs={_shape_of(inputs)}."
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} layer accepts inputs list of length 2 or 3, namely [query, value] or "
                f"[query, value, key]. Received length: {len(inputs)}."
            )
        if mask is not None:
            if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"{name} layer mask must be a list of length 2 or 3, namely [query_mask, value_mask]. "
                    f"Received: mask={mask!r}."
                )

    def _build_shapes(self, args, kwargs):
        inputs = args[0] if args else kwargs.get("inputs")
        self._validate_inputs(inputs)
        return [_shape_of(t) for t in inputs]

    def build(self, input_shape) -> None:
        self._validate_inputs(input_shape)
        q, v = input_shape[0], input_shape[1]
        k = input_shape[2] if len(input_shape) > 2 else v
        if q[-1] is not None and k[-1] is not None and q[-1] != k[-1]:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': query and key must have the same last dimension, got "
                f"shapes {q} and {k}"
            )
        if self.use_scale:
            self.add_weight("scale", (), initializer="ones")
        if self.score_mode == "concat":
            self.add_weight("concat_score_weight", (), initializer="ones")

    def _calculate_scores(self, query: Tensor, key: Tensor) -> Tensor:
        if self.score_mode == "dot":
            scores = ops.matmul(query, key.transpose(-2, -1))
            return scores * self.scale if self.use_scale else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.use_scale:
            summed = summed * self.scale
        return ops.sum(ops.tanh(summed), -1) * self.concat_score_weight

    def call(
        self, inputs, mask=None, training=None, return_attention_scores: bool = False, use_causal_mask=False
    ):
        self._validate_inputs(inputs, mask)
        training = self.training if training is None else bool(training)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        if k.shape[-2] != v.shape[-2]:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': key and value must have the same number of steps, got "
                f"shapes {tuple(k.shape)} and {tuple(v.shape)}"
            )
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._calculate_scores(q, k)
        scores_mask = None
        if v_mask is not None:
            scores_mask = _as_bool(v_mask).unsqueeze(-2)
        if use_causal_mask:
            tq, tv = scores.shape[-2], scores.shape[-1]
            causal = creation.ones(tq, tv, dtype=scores.dtype).tril().bool().unsqueeze(0)
            scores_mask = causal if scores_mask is None else ops.logical_and(scores_mask, causal)
        if scores_mask is not None:
            big = 65504.0 if scores.dtype == _dt.float16 else 1.0e9
            scores = ops.where(scores_mask, scores, scores - big)
        weights = ops.softmax(scores, -1)
        if training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout, True)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            out = ops.where(_as_bool(q_mask).unsqueeze(-1), out, ops.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or not isinstance(previous_mask, (list, tuple)) or previous_mask[0] is None:
            return None
        return _as_bool(previous_mask[0])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores ``sum(scale * tanh(q + k))`` over the features, with a learned
    per-feature ``scale`` (shape (dim,), glorot-uniform) when ``use_scale`` (default True). Inputs, masks
    and outputs as in ``Attention``.

    Example:
        >>> q, v = ts.randn(2, 3, 4), ts.randn(2, 5, 4)
        >>> ts.keras.layers.AdditiveAttention()([q, v]).shape
        tessera.Size([2, 3, 4])
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape) -> None:
        self._validate_inputs(input_shape)
        dim = input_shape[0][-1]
        if self.use_scale:
            if dim is None:
                raise ValueError(
                    f"AdditiveAttention '{self.name}': the last dimension of the query must be defined, got "
                    f"{input_shape[0]}"
                )
            self.add_weight("scale", (dim,), initializer="glorot_uniform")

    def _calculate_scores(self, query: Tensor, key: Tensor) -> Tensor:
        t = ops.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return ops.sum(t * self.scale if self.use_scale else t, -1)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["score_mode"]
        return config


def _as_bool(mask) -> Tensor:
    mask = mask if isinstance(mask, Tensor) else creation.as_tensor(mask)
    return mask.bool()


class MultiHeadAttention(Layer):
    """Multi-head attention as in Keras: ``call(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)`` on (batch, seq, features)
    inputs; ``key`` defaults to ``value``. ``attention_mask`` is a bool (batch, T, S) mask (True = attend).
    The output has ``output_shape`` features (default: the query's), and with ``return_attention_scores`` the
    call also returns the (batch, heads, T, S) attention weights.

    Example:
        >>> mha = ts.keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)
        >>> x = ts.randn(4, 10, 16)
        >>> out, scores = mha(x, x, return_attention_scores=True)
        >>> out.shape, scores.shape
        (tessera.Size([4, 10, 16]), tessera.Size([4, 2, 10, 10]))
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape=None,
        attention_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _no_constraint(
            "MultiHeadAttention", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint
        )
        for name, v in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim or key_dim)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"MultiHeadAttention: {name} must be a positive int, got {v!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout!r}")
        if attention_axes is not None and tuple(
            attention_axes if not isinstance(attention_axes, int) else (attention_axes,)
        ) not in ((1,), (-2,)):
            raise NotImplementedError(
                "MultiHeadAttention: only attention over the sequence axis 1 is supported"
            )
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise NotImplementedError("MultiHeadAttention: output_shape must be an int or a 1-tuple")
            output_shape = output_shape[0]
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        self.output_shape_ = None if output_shape is None else int(output_shape)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)

    def _build_shapes(self, args, kwargs):
        q = args[0] if args else kwargs.get("query")
        v = args[1] if len(args) > 1 else kwargs.get("value")
        k = args[2] if len(args) > 2 else kwargs.get("key")
        return [_shape_of(q), _shape_of(v), _shape_of(k if k is not None else v)]

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if value_shape is None and isinstance(query_shape, list):
            query_shape, value_shape, key_shape = (list(query_shape) + [None, None])[:3]
        if value_shape is None:
            value_shape = query_shape
        if key_shape is None:
            key_shape = value_shape
        for what, s in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if s is None or len(s) != 3 or s[-1] is None:
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': expected a (batch, seq, features) {what} with known "
                    f"features, got shape {s}"
                )
        H, K, V = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_ or query_shape[-1]
        kw = {"initializer": self.kernel_initializer, "regularizer": self.kernel_regularizer}
        bw = {"initializer": self.bias_initializer, "regularizer": self.bias_regularizer}
        for name, dim, size in (
            ("query", query_shape[-1], K),
            ("key", key_shape[-1], K),
            ("value", value_shape[-1], V),
        ):
            self.add_weight(f"{name}_kernel", (dim, H, size), **kw)
            if self.use_bias:
                self.add_weight(f"{name}_bias", (H, size), **bw)
        self.add_weight("output_kernel", (H, V, out), **kw)
        if self.use_bias:
            self.add_weight("output_bias", (out,), **bw)
        self.__dict__["_dims"] = (query_shape[-1], key_shape[-1], value_shape[-1])
        self.built = True

    def _project(self, x: Tensor, name: str) -> Tensor:
        """(B, T, E) -> (B, H, T, D) through ``{name}_kernel`` (E, H, D)."""
        w = getattr(self, f"{name}_kernel")
        e, h, d = w.shape
        if x.ndim != 3 or x.shape[-1] != e:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': expected {name} of shape (batch, seq, {e}), got "
                f"{tuple(x.shape)}"
            )
        y = ops.matmul(x, w.reshape(e, h * d))
        if self.use_bias:
            y = y + getattr(self, f"{name}_bias").reshape(h * d)
        return y.reshape(x.shape[0], x.shape[1], h, d).permute(0, 2, 1, 3)

    def call(
        self,
        query: Tensor,
        value: Tensor,
        key: Tensor | None = None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores: bool = False,
        training=None,
        use_causal_mask: bool = False,
    ):
        if query_mask is not None or value_mask is not None or key_mask is not None:
            raise NotImplementedError(
                f"MultiHeadAttention '{self.name}': query/value/key masks are not supported; use attention_mask"
            )
        training = self.training if training is None else bool(training)
        if key is None:
            key = value
        q, k, v = self._project(query, "query"), self._project(key, "key"), self._project(value, "value")
        B, T, S = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[1] != value.shape[1]:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': key and value must have the same sequence length, got "
                f"{tuple(key.shape)} and {tuple(value.shape)}"
            )
        mask = None
        if attention_mask is not None:
            mask = (
                attention_mask if isinstance(attention_mask, Tensor) else creation.as_tensor(attention_mask)
            )
            if mask.ndim == 2:
                mask = mask.unsqueeze(0)
            if mask.ndim != 3 or tuple(mask.shape[1:]) != (T, S):
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': attention_mask must have shape (batch, {T}, {S}), got "
                    f"{tuple(mask.shape)}"
                )
            mask = mask.bool().unsqueeze(1)  # broadcast over heads
        if use_causal_mask:
            causal = creation.ones(T, S, dtype=query.dtype).tril().bool()
            mask = causal if mask is None else ops.logical_and(mask, causal)
        p = self.dropout if training else 0.0
        scale = 1.0 / math.sqrt(self.key_dim)
        if return_attention_scores:
            scores = ops.matmul(q * scale, k.mT)
            if mask is not None:
                scores = ops.masked_fill(scores, ops.logical_not(mask), -1e9)
            weights = ops.softmax(scores, -1)
            attn = F.dropout(weights, p, True) if p > 0 else weights
            ctx = ops.matmul(attn, v)
        else:
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=scale)
        H, V = self.num_heads, self.value_dim
        ctx = ctx.permute(0, 2, 1, 3).reshape(B, T, H * V)
        out = ops.matmul(ctx, self.output_kernel.reshape(H * V, self.output_kernel.shape[-1]))
        if self.use_bias:
            out = out + self.output_bias
        return (out, weights) if return_attention_scores else out

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self.output_shape_,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
        }
