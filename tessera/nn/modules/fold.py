"""``Fold`` and ``Unfold``: sliding local blocks to columns and back (``F.fold`` / ``F.unfold``)."""

from __future__ import annotations

from ...core.tensor import Tensor
from .. import functional as F
from ..module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Combine sliding local blocks (N, C * prod(kernel_size), L) into (N, C, *output_size), summing
    overlapping values.

    Example:
        >>> ts.nn.Fold(output_size=(4, 4), kernel_size=2)(ts.ones(1, 8, 9)).shape
        tessera.Size([1, 2, 4, 4])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Unfold(Module):
    """Extract sliding local blocks: (N, C, H, W) -> (N, C * prod(kernel_size), L).

    Example:
        >>> ts.nn.Unfold(kernel_size=2)(ts.randn(1, 2, 4, 4)).shape
        tessera.Size([1, 8, 9])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )
