"""Inference benchmarks for deployment (issue 11): the MLP and CNN of ``benchmarks.nn`` at batch 1 and 64,
timed in one run as Tessera eager, the Tessera exported program (``ts.export``, loaded from its file),
onnxruntime on Tessera's ONNX file (``ts.onnx.export``) and PyTorch eager. Columns whose package or
exporter is missing print ``-``. ``python -m benchmarks export`` runs them."""

from __future__ import annotations

import importlib.util
import os
import tempfile

import numpy as np

from .harness import fmt, measure
from .nn import _cnn, _mlp

COLUMNS = ("tessera", "tessera.export", "onnxruntime", "torch")


def _models():
    return [("MLP 784-512-512-10", _mlp, (784,)), ("CNN 2 conv + 2 fc 1x28x28", _cnn, (1, 28, 28))]


def _makers(build, x_np, tmp):
    import tessera as ts

    ts.manual_seed(0)
    model = build(ts).eval()
    x = ts.tensor(x_np)

    def eager():
        with ts.no_grad():
            return lambda: model(x)

    def exported():
        path = os.path.join(tmp, "model.tessera")
        example = ts.tensor(np.concatenate([x_np, x_np]))  # a dynamic batch is traced at size >= 2
        ts.export.export(model, (example,), dynamic_shapes={"input": {0: "batch"}}).save(path)
        prog = ts.export.load(path)
        return lambda: prog(x)

    def onnxruntime():
        if importlib.util.find_spec("onnxruntime") is None or not hasattr(ts.onnx, "export"):
            return None
        import onnxruntime as ort

        path = os.path.join(tmp, "model.onnx")
        ts.onnx.export(model, (x,), path, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return lambda: session.run(None, {"x": x_np})

    def torch_eager():
        if importlib.util.find_spec("torch") is None:
            return None
        import torch

        torch.manual_seed(0)
        tm = build(torch).eval()
        tx = torch.tensor(x_np)

        def run():
            with torch.no_grad():
                return tm(tx)

        return run

    return {"tessera": eager, "tessera.export": exported, "onnxruntime": onnxruntime, "torch": torch_eager}


def run(min_time: float = 0.3) -> list[dict]:
    """Time every case and column; print one table with each column's ratio to Tessera eager."""
    header = (
        f"{'inference case':34s}" + "".join(f" {c:>14s}" for c in COLUMNS) + "   (ratio to tessera eager)"
    )
    print(header)
    print("-" * len(header))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build, feat in _models():
            for batch in (1, 64):
                x_np = np.random.default_rng(0).standard_normal((batch, *feat)).astype(np.float32)
                times = {}
                for col, make in _makers(build, x_np, tmp).items():
                    try:
                        fn = make()
                    except Exception as e:  # noqa: BLE001 - a failing column is shown, the others still run
                        print(f"  ({col}: {type(e).__name__}: {e})")
                        fn = None
                    times[col] = measure(fn, min_time=min_time) if fn is not None else None
                base = times["tessera"]
                line = f"{name + f' b{batch}':34s}" + "".join(f" {fmt(times[c]):>14s}" for c in COLUMNS)
                ratios = {c: (times[c] / base if times[c] and base else None) for c in COLUMNS}
                line += "   " + "  ".join(f"{c}={r:.2f}x" for c, r in ratios.items() if r and c != "tessera")
                print(line, flush=True)
                rows.append({"case": f"{name} b{batch}", "times": times, "ratios": ratios})
    return rows


if __name__ == "__main__":
    run()
