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
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import Layer, _shape_of
from .core import _get_constraint, _ser_init

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention"]


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

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return (*tuple(input_shape[0])[:-1], input_shape[1][-1])

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


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _attention_equations(rank: int, attn_axes: tuple) -> tuple:
    """Einsum equations for projected (batch, <other dims>, <attention dims>, heads, channels) tensors of
    ``rank``: scores (key, query -> batch dims, heads, query attention dims, key attention dims) and the
    combination (scores, value -> query layout), as Keras builds them."""
    target = _LETTERS[:rank]
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _LETTERS[offset]
            offset += 1
    product = "".join(
        [target[i] for i in batch_dims] + [target[i] for i in attn_axes] + [source[i] for i in attn_axes]
    )
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _einsum_init(init, input_axes, output_axes):
    """The kernel initializer Keras's EinsumDense sublayers use: variance scaling with fans computed over
    the kernel's input and output axes (not the conv-style receptive field)."""
    if isinstance(init, _initializers.VarianceScaling) and (
        init.input_axes is None or init.output_axes is None
    ):
        return type(init).from_config(
            {**init.get_config(), "input_axes": input_axes, "output_axes": output_axes}
        )
    return init


def _combined_mask(query, value, query_mask, value_mask, key_mask, attention_mask, causal, sliding_window):
    """Keras's attention mask: the (batch, T, S) ``attention_mask`` AND the query mask (B, T, 1), the
    value/key masks (B, 1, S), the causal mask and the sliding-window band (1, T, S); None if none is set."""
    auto = None
    if query_mask is not None:
        auto = _as_bool(query_mask).unsqueeze(-1)
    for m in (value_mask, key_mask):
        if m is not None:
            m = _as_bool(m).unsqueeze(-2)
            auto = m if auto is None else ops.logical_and(auto, m)
    T, S = query.shape[1], value.shape[1]
    rows = creation.arange(T).reshape(1, T, 1)
    cols = creation.arange(S).reshape(1, 1, S)
    if causal:
        m = rows >= cols
        auto = m if auto is None else ops.logical_and(auto, m)
    if sliding_window is not None:
        m = ops.abs(rows - cols) < sliding_window
        auto = m if auto is None else ops.logical_and(auto, m)
    if attention_mask is not None:
        attention_mask = _as_bool(attention_mask)
    if auto is not None:
        attention_mask = auto if attention_mask is None else ops.logical_and(attention_mask, auto)
    return attention_mask


def _masked_softmax(layer, scores: Tensor, mask, n_attn_axes: int, fused: bool) -> Tensor:
    """Softmax over the last ``n_attn_axes`` axes of the scores with masked entries excluded, as Keras: the
    mask gains axes before the query attention axes; masked rows are zero except on Keras's fused path."""
    if mask is not None:
        for _ in range(scores.ndim - mask.ndim):
            mask = mask.unsqueeze(-n_attn_axes * 2 - 1)
        try:
            mask = mask.expand(tuple(scores.shape)) if tuple(mask.shape) != tuple(scores.shape) else mask
        except (ValueError, RuntimeError):
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': the attention mask of shape {tuple(mask.shape)} does not "
                f"broadcast to the attention scores' shape {tuple(scores.shape)}"
            ) from None
        big = -3e4 if scores.dtype == _dt.float16 else -1e9
        scores = ops.where(mask, scores, creation.full_like(scores, big))
    axes = tuple(range(scores.ndim - n_attn_axes, scores.ndim))
    if len(axes) == 1:
        weights = ops.softmax(scores, axes[0])
    else:
        weights = ops.exp(scores - ops.logsumexp(scores, axes, keepdim=True))
    # Keras zeroes the weights of entirely masked rows on its explicit path; its fused path (no dropout,
    # no scores returned, rank-3 inputs) leaves them uniform, and so do we, to give the same outputs
    if mask is not None and not fused:
        weights = ops.where(mask, weights, ops.zeros_like(weights))
    return weights


class MultiHeadAttention(Layer):
    """Multi-head attention as in Keras: ``call(query, value, key=None, query_mask=None, value_mask=None,
    key_mask=None, attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)`` on (batch, <dims>, features) inputs; ``key`` defaults to ``value``.

    Attention runs over ``attention_axes`` (default: every axis but the batch and feature ones).
    ``attention_mask`` is a bool (batch, T, S) mask (True = attend); the Keras masks of ``value``/``key``
    and of ``query`` (also given as ``value_mask``/``key_mask``), ``use_causal_mask`` and
    ``sliding_window`` are combined with it. The output has ``output_shape`` trailing dims (default: the
    query's features) and carries the query's mask; with ``return_attention_scores`` the call also returns
    the (batch, heads, T, S) attention weights. ``use_gate`` multiplies the attention output by a sigmoid
    gate projected from the query. Weights: ``query_kernel`` (query_dim, heads, key_dim), ``query_bias``
    (heads, key_dim), the same for ``key_*``, (``gate_*``,) ``value_*`` (value_dim), and ``output_kernel``
    (heads, value_dim, *output_shape) with ``output_bias``, in Keras's order.

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
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate: bool = False,
        seed=None,
        **kwargs,
    ):
        for name, v in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(
                    f"MultiHeadAttention: received an invalid value for argument `{name}`, expected a positive "
                    f"integer. Received: {name}={v!r}"
                )
        if value_dim is not None and (
            isinstance(value_dim, bool) or not isinstance(value_dim, numbers.Integral) or value_dim <= 0
        ):
            raise ValueError(
                "MultiHeadAttention: received an invalid value for argument `value_dim`, expected a positive "
                f"integer or `None`. Received: value_dim={value_dim!r}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"MultiHeadAttention: dropout must be a number in [0, 1], got {dropout!r}")
        if sliding_window is not None and (
            isinstance(sliding_window, bool)
            or not isinstance(sliding_window, numbers.Integral)
            or sliding_window <= 0
        ):
            raise ValueError(
                f"MultiHeadAttention: sliding_window must be a positive int or None, got {sliding_window!r}"
            )
        if isinstance(attention_axes, numbers.Integral):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)) or not all(
                isinstance(a, numbers.Integral) for a in attention_axes
            ):
                raise ValueError(
                    f"MultiHeadAttention: `attention_axes` must be an int, list, or tuple. Received: "
                    f"attention_axes={attention_axes!r}"
                )
            attention_axes = tuple(int(a) for a in attention_axes)
        if output_shape:
            if isinstance(output_shape, numbers.Integral):
                output_shape = (int(output_shape),)
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except TypeError:
                raise ValueError(
                    f"MultiHeadAttention: invalid `output_shape`: {output_shape!r}; it should be an int, a "
                    "tuple or a list"
                ) from None
        else:
            output_shape = None
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), bool(use_gate)
        self.output_shape_ = output_shape
        self.attention_axes = attention_axes
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.flash_attention, self.seed = flash_attention, seed
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _get_constraint("MultiHeadAttention", "kernel_constraint", kernel_constraint)
        self.bias_constraint = _get_constraint("MultiHeadAttention", "bias_constraint", bias_constraint)

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
        query_shape, value_shape, key_shape = tuple(query_shape), tuple(value_shape), tuple(key_shape)
        for what, shp in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shp) < 3 or shp[-1] is None:
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': expected a (batch, <dims>, features) {what} with known "
                    f"features, got shape {shp}"
                )
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': all dimensions of `value` and `key`, except the last one, "
                f"must be equal. Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        rank = len(query_shape) + 1  # of the projected (..., heads, channels) tensors
        axes = tuple(range(1, rank - 2)) if self.attention_axes is None else self.attention_axes
        axes = tuple(a if a >= 0 else (rank - 1) + a for a in axes)
        if any(not 1 <= a < rank - 2 for a in axes):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': attention_axes {self.attention_axes} are out of range for "
                f"a query of shape {query_shape} (valid: 1..{rank - 3})"
            )
        H, K, V = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_ or (query_shape[-1],)
        kw = {
            "initializer": self.kernel_initializer,
            "regularizer": self.kernel_regularizer,
            "constraint": self.kernel_constraint,
        }
        bw = {
            "initializer": self.bias_initializer,
            "regularizer": self.bias_regularizer,
            "constraint": self.bias_constraint,
        }
        projections = [("query", query_shape[-1], K), ("key", key_shape[-1], K)]
        if self.use_gate:
            projections.append(("gate", query_shape[-1], V))
        projections.append(("value", value_shape[-1], V))
        for name, dim, size in projections:
            init = _einsum_init(self.kernel_initializer, [0], [1, 2])
            self.add_weight(f"{name}_kernel", (dim, H, size), **{**kw, "initializer": init})
            if self.use_bias:
                self.add_weight(f"{name}_bias", (H, size), **bw)
        init = _einsum_init(self.kernel_initializer, [0, 1], list(range(2, 2 + len(out))))
        self.add_weight("output_kernel", (H, V) + tuple(out), **{**kw, "initializer": init})
        if self.use_bias:
            self.add_weight("output_bias", tuple(out), **bw)
        dot, combine, scores_rank = _attention_equations(rank, axes)
        d = self.__dict__
        d["_attn_axes"], d["_dot_equation"], d["_combine_equation"] = axes, dot, combine
        d["_norm_axes"] = tuple(range(scores_rank - len(axes), scores_rank))
        d["_ranks"] = (len(query_shape), len(value_shape), len(key_shape))
        self.attention_axes = axes
        self.built = True

    def _project(self, x: Tensor, name: str) -> Tensor:
        """(B, ..., E) -> (B, ..., H, D) through ``{name}_kernel`` (E, H, D)."""
        w = getattr(self, f"{name}_kernel")
        if x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': expected the last dimension of "
                f"{name if name != 'gate' else 'query'} to be {w.shape[0]}, got shape {tuple(x.shape)}"
            )
        y = ops.einsum("...e,ehd->...hd", x, w)
        if self.use_bias:
            y = y + getattr(self, f"{name}_bias")
        return y

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
        if self.flash_attention and return_attention_scores:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': returning attention scores is not supported when flash "
                "attention is enabled. Please disable flash attention to access attention scores."
            )
        training = self.training if training is None else bool(training)
        if key is None:
            key = value
        for what, x, r in zip(("query", "value", "key"), (query, value, key), self._ranks):
            if x.ndim != r:
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': expected a rank-{r} {what} (as when built), got shape "
                    f"{tuple(x.shape)}"
                )
        if tuple(key.shape[:-1]) != tuple(value.shape[:-1]):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': key and value must agree on every dimension but the last, "
                f"got {tuple(key.shape)} and {tuple(value.shape)}"
            )
        # as in Keras, the query's own mask (not the query_mask argument) masks the query steps
        query_mask = getattr(query, "_keras_mask", None)
        mask = _combined_mask(
            query,
            value,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            self.sliding_window,
        )
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = ops.einsum(self._dot_equation, k, q)
        fused = self.dropout == 0 and not return_attention_scores and query.ndim == 3
        weights = _masked_softmax(self, scores, mask, len(self._attn_axes), fused)
        attn = F.dropout(weights, self.dropout, True) if training and self.dropout > 0 else weights
        ctx = ops.einsum(self._combine_equation, attn, v)
        if self.use_gate:
            ctx = ctx * ops.sigmoid(self._project(query, "gate"))
        n_out = self.output_kernel.ndim - 2
        letters = _LETTERS[:n_out]
        out = ops.einsum(f"...hv,hv{letters}->...{letters}", ctx, self.output_kernel)
        if self.use_bias:
            out = out + self.output_bias
        return (out, weights) if return_attention_scores else out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': all dimensions of `value` and `key`, except the last one, "
                f"must be equal. Received: value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}"
            )
        if self.output_shape_:
            return tuple(query_shape[:-1]) + tuple(self.output_shape_)
        return tuple(query_shape)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self.output_shape_,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }


class GroupQueryAttention(Layer):
    """Grouped-query attention (GQA), as Keras's ``GroupQueryAttention``: ``num_query_heads`` query heads
    share ``num_key_value_heads`` key/value heads (each repeated ``num_query_heads // num_key_value_heads``
    times), all of size ``head_dim``, on (batch, seq, features) inputs; the output has the query's
    features. ``call`` takes the same arguments and masks as ``MultiHeadAttention``. Weights: ``query_kernel``
    (features, query_heads, head_dim), ``key_kernel``/``value_kernel`` (features, kv_heads, head_dim), their
    biases, (``gate_*`` with ``use_gate``,) and ``output_kernel`` (query_heads, head_dim, features).

    Example:
        >>> gqa = ts.keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> x = ts.randn(2, 5, 8)
        >>> gqa(x, x).shape
        tessera.Size([2, 5, 8])
    """

    def __init__(
        self,
        head_dim: int,
        num_query_heads: int,
        num_key_value_heads: int,
        dropout: float = 0.0,
        use_bias: bool = True,
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate: bool = False,
        seed=None,
        **kwargs,
    ):
        for name, v in (
            ("head_dim", head_dim),
            ("num_query_heads", num_query_heads),
            ("num_key_value_heads", num_key_value_heads),
        ):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"GroupQueryAttention: {name} must be a positive int, got {v!r}")
        if num_query_heads % num_key_value_heads:
            raise ValueError(
                "GroupQueryAttention: `num_query_heads` must be divisible by `num_key_value_heads`, got "
                f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"GroupQueryAttention: dropout must be a number in [0, 1], got {dropout!r}")
        if sliding_window is not None and (
            isinstance(sliding_window, bool)
            or not isinstance(sliding_window, numbers.Integral)
            or sliding_window <= 0
        ):
            raise ValueError(
                "GroupQueryAttention: `sliding_window` must be `None` or a positive integer. Received: "
                f"sliding_window={sliding_window!r}"
            )
        if flash_attention and dropout > 0:
            raise ValueError(
                "GroupQueryAttention: dropout is not supported when flash attention is enabled. Please set "
                "dropout to 0.0 to use flash attention."
            )
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.head_dim, self.num_query_heads = int(head_dim), int(num_query_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), bool(use_gate)
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.flash_attention, self.seed = flash_attention, seed
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _get_constraint(
            "GroupQueryAttention", "kernel_constraint", kernel_constraint
        )
        self.bias_constraint = _get_constraint("GroupQueryAttention", "bias_constraint", bias_constraint)

    _build_shapes = MultiHeadAttention._build_shapes

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if value_shape is None and isinstance(query_shape, list):
            query_shape, value_shape, key_shape = (list(query_shape) + [None, None])[:3]
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for what, shp in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shp) != 3 or shp[-1] is None:
                raise ValueError(
                    f"GroupQueryAttention '{self.name}': expected a (batch, seq, features) {what} with known "
                    f"features, got shape {tuple(shp)}"
                )
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                f"GroupQueryAttention '{self.name}': all dimensions of `value` and `key`, except the last one, "
                f"must be equal. Received: value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}"
            )
        hq, hkv, d, m = self.num_query_heads, self.num_key_value_heads, self.head_dim, query_shape[-1]
        kw = {
            "initializer": self.kernel_initializer,
            "regularizer": self.kernel_regularizer,
            "constraint": self.kernel_constraint,
        }
        bw = {
            "initializer": self.bias_initializer,
            "regularizer": self.bias_regularizer,
            "constraint": self.bias_constraint,
        }
        projections = [("query", m, hq), ("key", key_shape[-1], hkv)]
        if self.use_gate:
            projections.append(("gate", m, hq))
        projections.append(("value", value_shape[-1], hkv))
        for name, dim, heads in projections:
            init = _einsum_init(self.kernel_initializer, [0], [1, 2])
            self.add_weight(f"{name}_kernel", (dim, heads, d), **{**kw, "initializer": init})
            if self.use_bias:
                self.add_weight(f"{name}_bias", (heads, d), **bw)
        init = _einsum_init(self.kernel_initializer, [0, 1], [2])
        self.add_weight("output_kernel", (hq, d, m), **{**kw, "initializer": init})
        if self.use_bias:
            self.add_weight("output_bias", (m,), **bw)
        self.built = True

    def _project(self, x: Tensor, name: str) -> Tensor:
        w = getattr(self, f"{name}_kernel")
        if x.ndim != 3 or x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': expected a (batch, seq, {w.shape[0]}) "
                f"{'query' if name == 'gate' else name}, got shape {tuple(x.shape)}"
            )
        y = ops.einsum("bsm,mhd->bshd", x, w)
        return y + getattr(self, f"{name}_bias") if self.use_bias else y

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
        if self.flash_attention and return_attention_scores:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': returning attention scores is not supported when flash "
                "attention is enabled. Please disable flash attention to access attention scores."
            )
        training = self.training if training is None else bool(training)
        if key is None:
            key = value
        if tuple(key.shape[:-1]) != tuple(value.shape[:-1]):
            raise ValueError(
                f"GroupQueryAttention '{self.name}': key and value must agree on every dimension but the last, "
                f"got {tuple(key.shape)} and {tuple(value.shape)}"
            )
        mask = _combined_mask(
            query,
            value,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            self.sliding_window,
        )
        gate = ops.sigmoid(self._project(query, "gate")) if self.use_gate else None
        q = self._project(query, "query") * (1.0 / math.sqrt(self.head_dim))
        k = ops.repeat_interleave(self._project(key, "key"), self.num_repeats, dim=2)
        v = ops.repeat_interleave(self._project(value, "value"), self.num_repeats, dim=2)
        scores = ops.einsum("bquh,bkuh->buqk", q, k)
        fused = self.dropout == 0 and not return_attention_scores
        weights = _masked_softmax(self, scores, mask, 1, fused)
        attn = F.dropout(weights, self.dropout, True) if training and self.dropout > 0 else weights
        ctx = ops.einsum("buqk,bkuh->bquh", attn, v)
        if gate is not None:
            ctx = ctx * gate
        out = ops.einsum("bquh,uhm->bqm", ctx, self.output_kernel)
        if self.use_bias:
            out = out + self.output_bias
        return (out, weights) if return_attention_scores else out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': the last dimension of `query_shape` and `value_shape` must "
                f"be equal, but are {query_shape[-1]}, {value_shape[-1]}. Received: query_shape="
                f"{tuple(query_shape)}, value_shape={tuple(value_shape)}"
            )
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                f"GroupQueryAttention '{self.name}': all dimensions of `value` and `key`, except the last one, "
                f"must be equal. Received: value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}"
            )
        return tuple(query_shape)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
