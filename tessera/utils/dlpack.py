"""``ts.utils.dlpack``: DLPack interchange, as ``torch.utils.dlpack`` (zero-copy with NumPy, PyTorch and
any library speaking the protocol).

Example:
    >>> from tessera.utils import dlpack
    >>> t = ts.arange(3.0)
    >>> u = dlpack.from_dlpack(dlpack.to_dlpack(t))
    >>> u.data_ptr() == t.data_ptr()
    True
"""

from __future__ import annotations

from ..core.compat import from_dlpack
from ..core.tensor import Tensor, check_tensor

__all__ = ["to_dlpack", "from_dlpack"]


def to_dlpack(tensor: Tensor):
    """A DLPack capsule (``"dltensor"``) sharing ``tensor``'s memory; consume it once with
    ``from_dlpack`` (Tessera's or another library's)."""
    check_tensor("to_dlpack", "tensor", tensor)
    return tensor.__dlpack__()
