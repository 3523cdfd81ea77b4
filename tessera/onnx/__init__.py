"""``ts.onnx``: ONNX export (``export``, with PyTorch's argument names), import (``load``: an ONNX graph as
a Tessera module that runs with registry ops, eagerly, compiled and differentiably) and the export-time
query.

Each op's ONNX lowering is registered beside the op with ``OpDef.defonnx``; ``export`` traces the model
with the compiler's tracer and lowers the captured graph. ``load`` maps each ONNX node to Tessera ops
(``importer``); neither imports the ``onnx`` package until it is called.

Example:
    >>> ts.onnx.is_in_onnx_export()
    False
"""

from __future__ import annotations

from .export import MIN_OPSET, UnsupportedOp, default_opset, export, is_in_onnx_export
from .importer import OnnxModule, load

__all__ = ["export", "load", "OnnxModule", "is_in_onnx_export", "default_opset", "UnsupportedOp", "MIN_OPSET"]
