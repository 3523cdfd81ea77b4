"""Round trip: a Tessera model exported with ``ts.onnx.export`` and imported back with ``ts.onnx.load`` gives
the same outputs (at the traced and at another batch size), and the imported copy trains."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tessera as ts

pytest.importorskip("onnx")


def _models():
    nn = ts.nn
    yield "mlp", nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 3)), (6,)
    yield "cnn", nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 2)
    ), (1, 8, 8)  # fmt: skip
    yield "lstm", _LastStep(), (5, 3)


class _LastStep(ts.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = ts.nn.LSTM(3, 8, batch_first=True)
        self.head = ts.nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


@pytest.mark.parametrize("name, model, feat", list(_models()), ids=lambda v: v if isinstance(v, str) else "")
def test_export_then_import_gives_the_same_outputs(name, model, feat):
    ts.manual_seed(0)
    model.eval()
    x = ts.randn(2, *feat)
    buf = io.BytesIO()
    ts.onnx.export(model, (x,), buf, input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    imported = ts.onnx.load(buf.getvalue())
    for batch in (2, 5):
        xb = ts.randn(batch, *feat)
        with ts.no_grad():
            want = model(xb).numpy()
            got = imported(xb)
        got = got[0] if isinstance(got, (list, tuple)) else got
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_the_imported_copy_trains():
    ts.manual_seed(0)
    model = ts.nn.Sequential(ts.nn.Linear(4, 8), ts.nn.Tanh(), ts.nn.Linear(8, 1))
    buf = io.BytesIO()
    ts.onnx.export(model, (ts.randn(2, 4),), buf, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    imported = ts.onnx.load(buf.getvalue())
    opt = ts.optim.SGD(imported.parameters(), lr=0.1)
    x = ts.randn(32, 4)
    y = x.sum(dim=1, keepdim=True)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        out = imported(x)
        out = out[0] if isinstance(out, (list, tuple)) else out
        loss = ((out - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
