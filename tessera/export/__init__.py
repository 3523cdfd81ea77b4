"""``ts.export``: standalone inference programs (the SavedModel / ``torch.export`` analog).

This package owns capturing a model or function as an ``ExportedProgram`` (eval mode, no autograd: the
compiler's tracer records the registry ops, with symbolic dimensions where ``dynamic_shapes`` asks for
them), the one-file format ``model.tessera`` (safetensors for the weights, the graphs and signatures as JSON
in its metadata), and loading and running such a file without the model's Python source: loading never
executes code from the file and never unpickles; a program runs compiled (generated C kernels) when a C
compiler is present, NumPy otherwise.

Example:
    >>> import tessera as ts
    >>> model = ts.nn.Sequential(ts.nn.Linear(4, 3), ts.nn.ReLU())
    >>> prog = ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}})
    >>> prog.save("model.tessera")  # doctest: +SKIP
    >>> prog2 = ts.export.load("model.tessera")  # doctest: +SKIP
    >>> tuple(prog(ts.randn(7, 4)).shape)
    (7, 3)
"""

from __future__ import annotations

from .program import FORMAT_VERSION, OPSET_VERSION, ExportedProgram, ExportError, Signature, export, load

__all__ = ["export", "load", "ExportedProgram", "Signature", "ExportError", "FORMAT_VERSION", "OPSET_VERSION"]
