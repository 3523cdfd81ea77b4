"""``ts.onnx``: ONNX export and import (the exporter is built by a later issue).

Example:
    >>> ts.onnx.is_in_onnx_export()
    False
"""

from __future__ import annotations

__all__ = ["is_in_onnx_export", "export"]


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is being traced right now: always False (no exporter yet)."""
    return False


def export(model, args=(), f=None, **kwargs):
    """Export ``model`` to ONNX: not implemented yet in Tessera."""
    raise NotImplementedError("ts.onnx.export: ONNX export is not implemented yet in Tessera")
