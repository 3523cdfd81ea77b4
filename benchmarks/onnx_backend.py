"""``python -m benchmarks.onnx_backend [pattern ...]``: ONNX's backend node tests with Tessera and onnxruntime.

Runs onnx's own ``BackendTest`` node cases (built in memory from the installed onnx package; the model
tests, which download, are left out) once with a Tessera backend (``ts.onnx`` import) and once with
onnxruntime, and prints passes / total for both.
"""

from __future__ import annotations

import argparse
import re
import sys
import unittest
import warnings

import numpy as np


def tessera_backend(compiled: bool = False):
    """The ``onnx.backend.base.Backend`` for Tessera: ``prepare`` imports the model with ``ts.onnx.load``.

    Example:
        >>> rep = tessera_backend().prepare(model)  # doctest: +SKIP
        >>> outputs = rep.run([x])  # doctest: +SKIP
    """
    from onnx.backend.base import Backend, BackendRep

    import tessera as ts
    from tessera.onnx.importer import load, to_tensor

    class TesseraRep(BackendRep):
        def __init__(self, module):
            self.module = module
            self.fn = ts.compile(module) if compiled else module

        def run(self, inputs, **kwargs):
            if isinstance(inputs, dict):
                args = [inputs[n] for n in self.module.input_names]
            elif isinstance(inputs, np.ndarray):
                args = [inputs]
            else:
                args = list(inputs)
            args = [to_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
            with ts.no_grad():
                out = self.fn(*args)
                if compiled:  # the first call traces; the second replays the compiled graph
                    out = self.fn(*args)
            outs = out if isinstance(out, tuple) else (out,)
            return tuple(_to_numpy(o, t) for o, t in zip(outs, self.module.output_types()))

    class TesseraBackend(Backend):
        @classmethod
        def prepare(cls, model, device="CPU", **kwargs):
            return TesseraRep(load(model))

        @classmethod
        def supports_device(cls, device):
            return device == "CPU"

    return TesseraBackend


def _to_numpy(value, np_type):
    """A graph output as NumPy, in the graph's declared element type (Tessera has no uint16/32/64)."""
    if isinstance(value, list):
        return [_to_numpy(v, np_type) for v in value]
    arr = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    if np_type is not None and arr.dtype != np_type:
        arr = arr.astype(np_type)
    return arr


def ort_backend():
    """onnxruntime's backend (``onnxruntime.backend``), the reference count."""
    from onnxruntime.backend.backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend


def node_cases(backend, patterns=None) -> list:
    """The node test methods of onnx's BackendTest for ``backend`` (optionally filtered by regex)."""
    import onnx.backend.test

    bt = onnx.backend.test.BackendTest(backend, __name__)
    cls = bt.test_cases["OnnxBackendNodeModelTest"]
    names = sorted(n for n in dir(cls) if n.startswith("test_") and n.endswith("_cpu"))
    if patterns:
        regexes = [re.compile(p) for p in patterns]
        names = [n for n in names if any(r.search(n) for r in regexes)]
    return [cls(n) for n in names]


def run_cases(backend, patterns=None) -> tuple[list[str], list[str]]:
    """Run the node cases; returns (passed names, failed names). Skipped cases count as failed."""
    passed, failed = [], []
    for case in node_cases(backend, patterns):
        result = unittest.TestResult()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                case.run(result)
        name = case._testMethodName
        if result.wasSuccessful() and not result.skipped:
            passed.append(name)
        else:
            failed.append(name)
    return passed, failed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.onnx_backend", description=__doc__)
    parser.add_argument("patterns", nargs="*", help="only cases matching one of these regexes")
    parser.add_argument("--no-ort", action="store_true", help="skip the onnxruntime reference run")
    parser.add_argument("--failures", action="store_true", help="list the Tessera failures")
    parser.add_argument("--compile", action="store_true", help="run the imported modules under ts.compile")
    args = parser.parse_args(argv)
    import onnx

    ok, bad = run_cases(tessera_backend(args.compile), args.patterns)
    total = len(ok) + len(bad)
    how = " (ts.compile)" if args.compile else ""
    print(f"onnx {onnx.__version__}: Tessera{how} passes {len(ok)} / {total} node cases")
    if not args.no_ort:
        import onnxruntime

        ook, obad = run_cases(ort_backend(), args.patterns)
        print(f"onnxruntime {onnxruntime.__version__} passes {len(ook)} / {len(ook) + len(obad)}")
        if ook:
            print(f"Tessera / onnxruntime: {len(ok) / len(ook):.1%}")
        both = sorted(set(ook) - set(ok))
        if args.failures:
            print("failing in Tessera, passing in onnxruntime:", *both, sep="\n  ")
    elif args.failures:
        print("failing:", *bad, sep="\n  ")


if __name__ == "__main__":
    main(sys.argv[1:])
