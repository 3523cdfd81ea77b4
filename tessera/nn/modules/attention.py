"""``MultiheadAttention`` with PyTorch's parameters (``in_proj_weight``/``in_proj_bias`` or separate
``q/k/v_proj_weight``, ``out_proj``, ``bias_k``/``bias_v``), defaults and mask semantics."""

from __future__ import annotations

import numbers

from ...core import creation
from ...core.tensor import Tensor
from .. import init
from ..functional.attention import _mha
from ..module import Module
from ..parameter import Parameter
from .linear import Linear

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` (PyTorch uses this subclass for ``MultiheadAttention.out_proj``)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size ``embed_dim // num_heads``, as
    ``torch.nn.MultiheadAttention``.

    Inputs are (L, N, E) (``batch_first``: (N, L, E); unbatched: (L, E)). ``key_padding_mask`` (N, S) and
    ``attn_mask`` ((L, S) or (N * num_heads, L, S)) are bool (True = not attended) or float (added to the
    scores). ``forward`` returns ``(output, weights)``: weights averaged over heads (N, L, S), per head
    (N, num_heads, L, S) with ``average_attn_weights=False``, or None with ``need_weights=False``.

    Example:
        >>> mha = ts.nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = ts.randn(2, 10, 16)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        (tessera.Size([2, 10, 16]), tessera.Size([2, 10, 10]))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ):
        for arg, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
                raise ValueError(
                    f"MultiheadAttention: embed_dim and num_heads must be positive ints, got {arg}={v!r}"
                )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim={embed_dim} "
                f"and num_heads={num_heads}"
            )
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout!r}")
        super().__init__()
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = embed_dim // num_heads
        E = self.embed_dim
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(creation.empty(E, E, dtype=dtype))
            self.k_proj_weight = Parameter(creation.empty(E, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(creation.empty(E, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(creation.empty(3 * E, E, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * E, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(creation.empty(1, 1, E, dtype=dtype))
            self.bias_v = Parameter(creation.empty(1, 1, E, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        for arg, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"MultiheadAttention: argument '{arg}' must be a Tensor, not {type(t).__name__}"
                )
        if query.ndim not in (2, 3):
            raise RuntimeError(
                "MultiheadAttention: expected query to be 2-D (unbatched) or 3-D (batched), got shape "
                f"{tuple(query.shape)}"
            )
        E = self.embed_dim
        for arg, t, width in (("query", query, E), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != width:
                raise RuntimeError(
                    f"MultiheadAttention: expected {arg} with last dimension {width}, got shape "
                    f"{tuple(t.shape)}"
                )
            if t.dtype is not self.out_proj.weight.dtype:
                raise RuntimeError(
                    f"MultiheadAttention: expected {arg} with dtype {self.out_proj.weight.dtype.name} (the "
                    f"parameters' dtype), got {t.dtype.name}"
                )
        separate = not self._qkv_same_embed_dim
        return _mha(
            query,
            key,
            value,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
            batch_first=self.batch_first,
            embed_dim_to_check=E,
            name="MultiheadAttention",
        )
