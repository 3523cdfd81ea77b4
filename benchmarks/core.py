"""Core benchmarks (issue: per-op overhead, elementwise chains, MLP forward + backward)."""

from __future__ import annotations

import numpy as np

from .harness import Case

MLP_SIZES = (784, 512, 512, 10)
BATCH = 128


def _overhead_case(shape, requires_grad):
    def make_ts():
        import tessera as ts

        a = ts.ones(*shape, requires_grad=requires_grad)
        b = ts.ones(*shape, requires_grad=requires_grad)
        return lambda: a + b

    def make_torch():
        import torch

        a = torch.ones(*shape, requires_grad=requires_grad)
        b = torch.ones(*shape, requires_grad=requires_grad)
        return lambda: a + b

    rg = "requires_grad" if requires_grad else "no grad"
    return Case(f"overhead: a + b {shape} {rg}", {"tessera": make_ts, "torch": make_torch}, target=3.0)


def _chain(x):
    y = x * 1.5
    y = y + 0.5
    y = y.exp()
    y = y - 1.0
    y = y * y
    y = y / 3.0
    y = y.tanh()
    y = y + x
    y = y.sigmoid()
    return y * 2.0


def _chain_case(requires_grad):
    def make_ts():
        import tessera as ts

        x = ts.rand(32, 32, requires_grad=requires_grad)
        return lambda: _chain(x)

    def make_torch():
        import torch

        x = torch.rand(32, 32, requires_grad=requires_grad)
        return lambda: _chain(x)

    rg = "requires_grad" if requires_grad else "no grad"
    return Case(
        f"chain of 10 elementwise ops (32, 32) {rg}", {"tessera": make_ts, "torch": make_torch}, target=3.0
    )


def _mlp_weights(seed=0):
    rng = np.random.default_rng(seed)
    ws = []
    for fan_in, fan_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        ws.append(
            (
                rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                rng.uniform(-bound, bound, (fan_out,)).astype(np.float32),
            )
        )
    x = rng.standard_normal((BATCH, MLP_SIZES[0])).astype(np.float32)
    y = rng.integers(0, MLP_SIZES[-1], BATCH)
    return ws, x, y


def _mlp_case():
    ws, x_np, y_np = _mlp_weights()

    def maker(lib_name):
        def make():
            import importlib

            lib = importlib.import_module(lib_name)
            params = [(lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)) for w, b in ws]
            x, y = lib.tensor(x_np), lib.tensor(y_np)

            def step():
                h = x
                for i, (w, b) in enumerate(params):
                    h = h @ w.T + b
                    if i < len(params) - 1:
                        h = h.relu()
                loss = -h.log_softmax(dim=1)[lib.arange(BATCH), y].mean()
                for w, b in params:
                    w.grad = b.grad = None
                loss.backward()

            return step

        return make

    return Case(
        "MLP 784-512-512-10 fwd+bwd, batch 128", {fw: maker(fw) for fw in ("tessera", "torch")}, target=1.5
    )


def cases() -> list[Case]:
    return [
        _overhead_case((1,), False),
        _overhead_case((1,), True),
        _overhead_case((32, 32), False),
        _overhead_case((32, 32), True),
        _chain_case(False),
        _chain_case(True),
        _mlp_case(),
    ]
