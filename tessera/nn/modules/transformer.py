"""``Transformer``, its encoder and decoder stacks and layers, with PyTorch's submodule names, so
state_dicts move between the two frameworks unchanged."""

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

__all__ = [
    "Transformer",
    "TransformerEncoder",
    "TransformerDecoder",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
]


def _get_activation_fn(activation: str, layer: str = "TransformerEncoderLayer") -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"{layer}: activation should be relu/gelu, not {activation}")


def _check_activation(activation, layer: str):
    if isinstance(activation, str):
        return _get_activation_fn(activation, layer)
    if not callable(activation):
        raise TypeError(f"{layer}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


def _check_input(layer: str, what: str, x, d_model: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected {what} to be a Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise RuntimeError(
            f"{layer}: expected {what} of shape (L, N, {d_model}), (N, L, {d_model}) with batch_first, or "
            f"(L, {d_model}) unbatched; got {tuple(x.shape)}"
        )


def _get_seq_len(x: Tensor, batch_first: bool) -> int:
    return x.shape[1 if batch_first and x.ndim == 3 else 0]


def _init_layer(
    layer: Module,
    name: str,
    n_blocks: int,
    d_model,
    nhead,
    dim_feedforward,
    dropout,
    activation,
    eps,
    batch_first,
    norm_first,
    bias,
    dtype,
):
    """The submodules of an encoder (``n_blocks=2``: self-attention, feed-forward) or decoder (3: plus
    cross-attention) layer, registered in PyTorch's order; returns the checked activation."""
    if not isinstance(dim_feedforward, numbers.Integral) or dim_feedforward <= 0:
        raise ValueError(f"{name}: dim_feedforward must be a positive int, got {dim_feedforward!r}")
    activation = _check_activation(activation, name)
    for attn in ("self_attn", "multihead_attn")[: n_blocks - 1]:
        mha = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        setattr(layer, attn, mha)
    layer.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
    layer.dropout = Dropout(dropout)
    layer.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
    layer.norm_first = bool(norm_first)
    for i in range(1, n_blocks + 1):
        setattr(layer, f"norm{i}", LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype))
    for i in range(1, n_blocks + 1):
        setattr(layer, f"dropout{i}", Dropout(dropout))
    return activation


def _init_stack(stack: Module, name: str, what: str, layer, num_layers, norm) -> None:
    """``layers`` (``num_layers`` deep copies of ``layer``) and ``norm`` of an encoder or decoder stack."""
    if not isinstance(layer, Module):
        raise TypeError(f"{name}: {what} must be a Module, got {type(layer).__name__}")
    if not isinstance(num_layers, numbers.Integral) or isinstance(num_layers, bool) or num_layers < 0:
        raise ValueError(f"{name}: num_layers must be a non-negative int, got {num_layers!r}")
    stack.layers = ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
    stack.num_layers = int(num_layers)
    stack.norm = norm


def _stack_seq_len(stack: Module, x: Tensor) -> int | None:
    batch_first = bool(stack.layers) and getattr(
        getattr(stack.layers[0], "self_attn", None), "batch_first", False
    )
    return _get_seq_len(x, batch_first) if x.ndim else None


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
        activation = _init_layer(
            self,
            "TransformerEncoderLayer",
            2,
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            dtype,
        )
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
        _init_stack(self, "TransformerEncoder", "encoder_layer", encoder_layer, num_layers, norm)
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
        is_causal = _detect_is_causal_mask(mask, is_causal, _stack_seq_len(self, src))
        output = src
        for mod in self.layers:
            output = mod(
                output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention over the encoder's output (``memory``) and a feed-forward
    network, each wrapped in a residual connection with layer normalisation (after the residual by default,
    before the sublayer with ``norm_first``).

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``: ``tgt`` is (T, N, d_model)
    and ``memory`` (S, N, d_model) ((N, T, d_model) / (N, S, d_model) with ``batch_first``; unbatched
    without N); masks as for ``MultiheadAttention``.

    Example:
        >>> layer = ts.nn.TransformerDecoderLayer(d_model=32, nhead=4, dim_feedforward=64, batch_first=True)
        >>> layer(ts.randn(2, 5, 32), ts.randn(2, 7, 32)).shape
        tessera.Size([2, 5, 32])
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
        self.activation = _init_layer(
            self,
            "TransformerDecoderLayer",
            3,
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            dtype,
        )

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        d_model = self.self_attn.embed_dim
        _check_input("TransformerDecoderLayer", "tgt", tgt, d_model)
        _check_input("TransformerDecoderLayer", "memory", memory, d_model)
        if tgt.ndim != memory.ndim:
            raise RuntimeError(
                f"TransformerDecoderLayer: tgt and memory must both be batched or both unbatched; got shapes "
                f"{tuple(tgt.shape)} and {tuple(memory.shape)}"
            )
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer`` (submodules ``layers.0``, ``layers.1``...),
    followed by the optional ``norm``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``; ``tgt_is_causal=None``
    detects a causal ``tgt_mask``.

    Example:
        >>> layer = ts.nn.TransformerDecoderLayer(d_model=32, nhead=4, dim_feedforward=64)
        >>> decoder = ts.nn.TransformerDecoder(layer, num_layers=2)
        >>> decoder(ts.randn(5, 3, 32), ts.randn(7, 3, 32)).shape
        tessera.Size([5, 3, 32])
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        _init_stack(self, "TransformerDecoder", "decoder_layer", decoder_layer, num_layers, norm)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        if not isinstance(tgt, Tensor):
            raise TypeError(f"TransformerDecoder: expected tgt to be a Tensor, got {type(tgt).__name__}")
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _stack_seq_len(self, tgt))
        output = tgt
        for mod in self.layers:
            output = mod(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need": ``encoder`` (a ``TransformerEncoder``
    with a final ``LayerNorm``) and ``decoder`` (a ``TransformerDecoder`` likewise), or the
    ``custom_encoder`` / ``custom_decoder`` given. Matrices are initialised with ``xavier_uniform_``.

    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
    memory_is_causal=False)`` returns the decoder's output, shaped like ``tgt``.

    Example:
        >>> model = ts.nn.Transformer(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
        ...                           dim_feedforward=64)
        >>> tgt_mask = ts.nn.Transformer.generate_square_subsequent_mask(5)
        >>> model(ts.randn(7, 3, 32), ts.randn(5, 3, 32), tgt_mask=tgt_mask).shape
        tessera.Size([5, 3, 32])
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(
                d_model,
                nhead,
                dim_feedforward,
                dropout,
                activation,
                layer_norm_eps,
                batch_first,
                norm_first,
                bias,
                dtype=dtype,
            )
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(
                d_model,
                nhead,
                dim_feedforward,
                dropout,
                activation,
                layer_norm_eps,
                batch_first,
                norm_first,
                bias,
                dtype=dtype,
            )
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        for what, x in (("src", src), ("tgt", tgt)):
            if not isinstance(x, Tensor):
                raise TypeError(f"Transformer: expected {what} to be a Tensor, got {type(x).__name__}")
        is_batched = src.ndim == 3
        if is_batched and src.shape[0 if self.batch_first else 1] != tgt.shape[0 if self.batch_first else 1]:
            raise RuntimeError(
                f"Transformer: the batch number of src and tgt must be equal; got src {tuple(src.shape)} and "
                f"tgt {tuple(tgt.shape)} (batch_first={self.batch_first})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                f"Transformer: the feature number of src and tgt must be equal to d_model={self.d_model}; got "
                f"src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """A (sz, sz) causal mask: ``-inf`` above the diagonal, 0 elsewhere.

        Example:
            >>> ts.nn.Transformer.generate_square_subsequent_mask(3)
            tensor([[0., -inf, -inf],
                    [0., 0., -inf],
                    [0., 0., 0.]])
        """
        if not isinstance(sz, numbers.Integral) or isinstance(sz, bool) or sz < 0:
            raise ValueError(f"generate_square_subsequent_mask: sz must be a non-negative int, got {sz!r}")
        return _generate_square_subsequent_mask(int(sz), dtype=dtype)

    def _reset_parameters(self) -> None:
        from ..init import xavier_uniform_

        for p in self.parameters():
            if p.ndim > 1:
                xavier_uniform_(p)
