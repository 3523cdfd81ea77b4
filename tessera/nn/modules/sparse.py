"""``Embedding``: a lookup table of ``num_embeddings`` vectors of size ``embedding_dim``; ``EmbeddingBag``:
sums, means or maxima of bags of its rows."""

from __future__ import annotations

import numbers

from ...core import creation
from ...core.dispatch import is_tracing
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


class Embedding(Module):
    """Lookup table: ``Embedding(n, d)(indices)`` returns the rows of ``weight`` (n, d) at ``indices``.

    ``weight`` is initialised from N(0, 1); the row ``padding_idx`` (if given) is zeroed and receives no
    gradient; ``max_norm`` renormalises looked-up rows in place to at most that ``norm_type``-norm.
    ``sparse=True`` is accepted but gradients are dense.

    Example:
        >>> emb = ts.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(ts.tensor([[0, 2], [4, 9]])).shape
        tessera.Size([2, 2, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Embedding: {name} must be a non-negative int, got {v!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not isinstance(padding_idx, numbers.Integral) or not (
                -num_embeddings <= padding_idx < num_embeddings
            ):
                raise ValueError(
                    f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}"
                )
            if padding_idx < 0:
                padding_idx = num_embeddings + padding_idx
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype), not _freeze)
            self.reset_parameters()
        else:
            if not isinstance(_weight, Tensor) or tuple(_weight.shape) != (num_embeddings, embedding_dim):
                got = tuple(_weight.shape) if isinstance(_weight, Tensor) else type(_weight).__name__
                raise ValueError(
                    f"Embedding: shape of weight does not match num_embeddings and embedding_dim: expected "
                    f"{(num_embeddings, embedding_dim)}, got {got}"
                )
            self.weight = Parameter(_weight.detach(), not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.dtype.name not in ("int64", "int32"):
            got = input.dtype.name if isinstance(input, Tensor) else type(input).__name__
            raise TypeError(f"Embedding: expected an int64 or int32 tensor of indices, got {got}")
        if not is_tracing() and input.numel():  # value checks would specialise a trace
            lo, hi = int(input.min().item()), int(input.max().item())
            if lo < 0 or hi >= self.num_embeddings:
                bad = hi if hi >= self.num_embeddings else lo
                raise IndexError(
                    f"Embedding: index {bad} is out of range for num_embeddings={self.num_embeddings}"
                )
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An ``Embedding`` whose weight is ``embeddings`` (2-D); ``freeze`` stops it from training.

        Example:
            >>> emb = ts.nn.Embedding.from_pretrained(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> emb(ts.tensor([1]))
            tensor([[3., 4.]])
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            got = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings).__name__
            raise ValueError(
                f"Embedding.from_pretrained: embeddings parameter is expected to be 2-D, got {got}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )


class EmbeddingBag(Module):
    """Sums, means (the default) or maxima of bags of embedding rows (``F.embedding_bag``), with the
    weight (``num_embeddings``, ``embedding_dim``) initialised from N(0, 1) and the ``padding_idx`` row
    zeroed.

    Example:
        >>> bag = ts.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(ts.tensor([1, 2, 4, 5, 4, 3, 2, 9]), ts.tensor([0, 4])).shape
        tessera.Size([2, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise ValueError(f"EmbeddingBag: {name} must be a non-negative int, got {v!r}")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got {mode!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        if padding_idx is not None:
            if (
                not isinstance(padding_idx, numbers.Integral)
                or not -num_embeddings <= padding_idx < num_embeddings
            ):
                raise AssertionError("padding_idx must be within num_embeddings")
            padding_idx = padding_idx + num_embeddings if padding_idx < 0 else padding_idx
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype))
            self.reset_parameters()
        else:
            if not isinstance(_weight, Tensor) or tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight.detach())
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(
        self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        s += f", mode='{self.mode}'"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An ``EmbeddingBag`` whose weight is the 2-D ``embeddings``; ``freeze`` stops it from training.

        Example:
            >>> bag = ts.nn.EmbeddingBag.from_pretrained(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> bag(ts.tensor([[0, 1]]))
            tensor([[2., 3.]])
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(
            rows,
            cols,
            _weight=embeddings,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad_(not freeze)
        return bag
