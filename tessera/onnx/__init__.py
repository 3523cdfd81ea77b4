"""``ts.onnx``: ONNX export and import. Only the query below exists so far (programs that ``import torch.onnx``
import); ``export`` comes with the exporter.

Example:
    >>> ts.onnx.is_in_onnx_export()
    False
"""

from __future__ import annotations

__all__ = ["is_in_onnx_export"]


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is being traced right now: always False (no exporter yet)."""
    return False
