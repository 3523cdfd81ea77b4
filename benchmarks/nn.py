"""Training-step benchmarks (issue: MLP with SGD, CNN with Adam, Transformer encoder layer with AdamW).

Each model is built by the same code for both frameworks (``lib`` is ``tessera`` or ``torch``), so the
two sides do exactly the same work.
"""

from __future__ import annotations

import numpy as np

from .harness import Case


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def _encoder(lib):
    return lib.nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024, batch_first=True)


def _classification_step(lib, model, optimizer, x, y):
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def _regression_step(lib, model, optimizer, x, target):
    def step():
        optimizer.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()

    return step


def _case(name, build, make_opt, x_shape, kind, n_classes=10, target=1.5):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(x_shape).astype(np.float32)
    if kind == "classify":
        y_np = rng.integers(0, n_classes, x_shape[0])
    else:
        y_np = rng.standard_normal(x_shape).astype(np.float32)

    def maker(lib_name):
        def make():
            import importlib

            lib = importlib.import_module(lib_name)
            lib.manual_seed(0)
            model = build(lib)
            model.train()
            opt = make_opt(lib, model)
            x, y = lib.tensor(x_np), lib.tensor(y_np)
            step_fn = _classification_step if kind == "classify" else _regression_step
            return step_fn(lib, model, opt, x, y)

        return make

    return Case(name, {"tessera": maker("tessera"), "torch": maker("torch")}, target=target)


def cases() -> list[Case]:
    return [
        _case("train step: MLP 784-512-512-10 b128, SGD momentum", _mlp,
              lambda lib, m: lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9), (128, 784), "classify"),
        _case("train step: CNN 2 conv + 2 fc b64 1x28x28, Adam", _cnn,
              lambda lib, m: lib.optim.Adam(m.parameters(), lr=1e-3), (64, 1, 28, 28), "classify"),
        _case("train step: Transformer encoder layer d256 b16 s128, AdamW", _encoder,
              lambda lib, m: lib.optim.AdamW(m.parameters(), lr=1e-4), (16, 128, 256), "regress"),
    ]  # fmt: skip
