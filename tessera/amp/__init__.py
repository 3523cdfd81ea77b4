"""``ts.amp``: automatic mixed precision (``autocast``, ``GradScaler``), as ``torch.amp``.

Under ``ts.autocast("cpu")`` matmuls and convolutions run in bfloat16 while losses stay in float32,
following PyTorch's CPU cast lists (``tessera.core.dispatch.AUTOCAST_POLICY``); the casts are ops, so
gradients reach the float32 parameters. ``GradScaler`` scales a loss so that low-precision gradients do
not underflow, unscales them before the optimizer step and skips steps whose gradients overflowed.

Example:
    >>> logits = ts.randn(3, 5).bfloat16()
    >>> with ts.autocast("cpu"):
    ...     loss = ts.nn.functional.cross_entropy(logits, ts.tensor([0, 1, 2]))   # a float32 op
    >>> loss.dtype
    tessera.float32
"""

from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler, OptState

__all__ = ["autocast", "GradScaler", "OptState", "custom_fwd", "custom_bwd", "is_autocast_available"]
