"""``TransformerEncoderLayer`` and ``TransformerEncoder`` with PyTorch's submodule names, so state_dicts
move between the two frameworks unchanged."""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable

import numpy as np

from ... import ops
from ...core import creation
from ...core.dispatch import is_tracing
from ...core.tensor import Tensor
from .. import functional as F
from ..containers import ModuleList
from ..module import Module
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder"]


def _get_activation_fn(activation: str) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"TransformerEncoderLayer: activation should be relu/gelu, not {activation}")


def _generate_square_subsequent_mask(sz: int, dtype=None) -> Tensor:
    """(sz, sz) float mask with ``-inf`` above the diagonal and 0 elsewhere (a causal mask)."""
    return ops.triu(creation.full((sz, sz), float("-inf"), dtype=dtype), 1)


def _detect_is_causal_mask(
    mask: Tensor | None, is_causal: bool | None = None, size: int | None = None
) -> bool:
    """``is_causal`` when given; otherwise whether ``mask`` equals the causal mask of ``size`` (not checked
    while tracing: reading the mask's values would freeze them into the trace)."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        sz = size if size is not None else mask.shape[-2]
        if tuple(mask.shape) == (sz, sz) and not is_tracing():
            # a value check (eager only): a trace keeps the explicit mask, which gives the same result
            m = mask.numpy(force=True)
            hidden = np.triu(np.ones((sz, sz), dtype=bool), 1)
            if m.dtype == np.bool_:
                make_causal = bool(np.array_equal(m, hidden))
            else:
                make_causal = bool(np.all(np.isneginf(m) == hidden) and np.all(m[~hidden] == 0))
        else:
            make_causal = False
    return make_causal


class TransformerEncoderLayer(Module):
    """Self-attention followed by a feed-forward network, each wrapped in a residual connection with layer
    normalisation (after the residual by default, before the sublayer with ``norm_first``).

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: ``src`` is (S, N, d_model)
    ((N, S, d_model) with ``batch_first``, (S, d_model) unbatched); masks as for ``MultiheadAttention``.

    Example:
        >>> layer = ts.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
        >>> layer(ts.randn(2, 10, 64)).shape
        tessera.Size([2, 10, 64])
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(dim_feedforward, numbers.Integral) or dim_feedforward <= 0:
            raise ValueError(
                f"TransformerEncoderLayer: dim_feedforward must be a positive int, got {dim_feedforward!r}"
            )
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        elif not callable(activation):
            raise TypeError(
                f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, got "
                f"{activation!r}"
            )
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        if not isinstance(src, Tensor):
            raise TypeError(f"TransformerEncoderLayer: expected src to be a Tensor, got {type(src).__name__}")
        d_model = self.self_attn.embed_dim
        if src.ndim not in (2, 3) or src.shape[-1] != d_model:
            raise RuntimeError(
                f"TransformerEncoderLayer: expected src of shape (S, N, {d_model}), (N, S, {d_model}) with "
                f"batch_first, or (S, {d_model}) unbatched; got {tuple(src.shape)}"
            )
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer`` (submodules ``layers.0``, ``layers.1``...),
    followed by the optional ``norm``.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``; ``is_causal=None`` detects a
    causal ``mask``.

    Example:
        >>> layer = ts.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64)
        >>> encoder = ts.nn.TransformerEncoder(layer, num_layers=2)
        >>> encoder(ts.randn(10, 3, 32)).shape
        tessera.Size([10, 3, 32])
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(
                f"TransformerEncoder: encoder_layer must be a Module, got {type(encoder_layer).__name__}"
            )
        if not isinstance(num_layers, numbers.Integral) or isinstance(num_layers, bool) or num_layers < 0:
            raise ValueError(f"TransformerEncoder: num_layers must be a non-negative int, got {num_layers!r}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False  # no nested tensors: padding is handled by the masks
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        if not isinstance(src, Tensor):
            raise TypeError(f"TransformerEncoder: expected src to be a Tensor, got {type(src).__name__}")
        batch_first = bool(self.layers) and getattr(
            getattr(self.layers[0], "self_attn", None), "batch_first", False
        )
        seq_len = src.shape[1 if batch_first and src.ndim == 3 else 0] if src.ndim else None
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for mod in self.layers:
            output = mod(
                output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        if self.norm is not None:
            output = self.norm(output)
        return output
