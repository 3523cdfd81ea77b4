"""``ts.onnx``: ONNX export (``export``, with PyTorch's argument names) and the export-time query.

Each op's ONNX lowering is registered beside the op with ``OpDef.defonnx``; ``export`` traces the model
with the compiler's tracer and lowers the captured graph. The importer is ``tessera.onnx.importer.load``
(not re-exported here yet).

Example:
    >>> ts.onnx.is_in_onnx_export()
    False
"""

from __future__ import annotations

from .export import MIN_OPSET, UnsupportedOp, default_opset, export, is_in_onnx_export

__all__ = ["export", "is_in_onnx_export", "default_opset", "UnsupportedOp", "MIN_OPSET"]
