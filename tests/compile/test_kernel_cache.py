"""The kernel disk cache: a second process finds the kernel compiled by the first; two processes compiling
the same kernel at once both load a whole library; the C backend agrees with the NumPy fallback."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tessera as ts
from tessera.compile import codegen_c

pytestmark = pytest.mark.skipif(codegen_c.compiler() is None, reason="no C compiler")

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import tessera as ts
    from tessera.compile import logs
    import tessera.nn.functional as F
    logs.set_logs("kernels")
    f = ts.compile(lambda x: F.gelu(x * 1.5 + 0.1) * ts.sigmoid(x))
    x = ts.ones(256, 256)
    t = time.perf_counter()
    y = f(x)
    entry = next(iter(f._entries.values()))
    print(json.dumps({"value": float(y[0, 0]), "backend": entry.stats["backend"],
                      "kernels": len(entry.stats["kernels"]), "s": time.perf_counter() - t}))
    """
)


def _run(cache, n=1):
    env = dict(os.environ, TESSERA_CACHE_DIR=str(cache))
    procs = [
        subprocess.Popen([sys.executable, "-c", _SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for _ in range(n)
    ]  # fmt: skip
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append((json.loads(out.strip().splitlines()[-1]), err))
    return results


def test_second_process_hits_the_disk_cache(tmp_path):
    ((first, err1),) = _run(tmp_path)
    assert first["backend"] == "c" and first["kernels"] == 1
    assert "compiling" in err1 and "cache hit" not in err1
    libs = sorted(p for p in os.listdir(tmp_path) if p.endswith(".so"))  # the kernel and the compiler probe
    ((second, err2),) = _run(tmp_path)
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".so")) == libs
    assert "cache hit" in err2 and "compiling" not in err2
    assert second["value"] == first["value"]
    expected = float(ts.nn.functional.gelu(ts.tensor(1.6)) * ts.sigmoid(ts.tensor(1.0)))
    assert abs(first["value"] - expected) < 1e-6


def test_two_processes_compiling_the_same_kernel_at_once(tmp_path):
    results = _run(tmp_path, n=2)
    assert {r["value"] for r, _ in results} == {results[0][0]["value"]}
    names = os.listdir(tmp_path)
    assert [n for n in names if n.endswith(".so")] and not [
        n for n in names if n.endswith(".c")
    ]  # no temp left


@pytest.mark.parametrize("dtype", [ts.float32, ts.float64])
def test_c_backend_equals_the_numpy_fallback(dtype):
    def f(x, y):
        a = ts.nn.functional.gelu(x * 1.5 + 0.1) * ts.sigmoid(y)
        b = ts.where(x > y, ts.tanh(a), ts.exp(-a.abs())) + ts.maximum(x, y).relu()
        return (a - b) / (1 + ts.sqrt(x * x + 1))

    x, y = ts.randn(300, 40, dtype=dtype), ts.randn(40, dtype=dtype)
    fc, fn = ts.compile(f, backend="c"), ts.compile(f, backend="numpy")
    for _ in range(3):
        rc, rn = fc(x, y), fn(x, y)
    assert next(iter(fc._entries.values())).stats["kernels"], "the chain should have been fused"
    assert not next(iter(fn._entries.values())).stats["kernels"]
    tol = 1e-6 if dtype is ts.float32 else 1e-12
    np.testing.assert_allclose(rc.numpy(), rn.numpy(), rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(rn.numpy(), f(x, y).numpy(), rtol=0, atol=0)


def test_nan_and_signed_zero_follow_eager():
    x = ts.tensor([float("nan"), -0.0, 0.0, -1.0, 2.0, float("inf"), float("-inf")] * 1000)
    fc = ts.compile(lambda t: (ts.maximum(t, t * 0.5), ts.relu(t) * 1.0, t.neg() * 0.0))
    for _ in range(2):
        got = fc(x)
    want = (ts.maximum(x, x * 0.5), ts.relu(x) * 1.0, x.neg() * 0.0)
    for g, w in zip(got, want):
        g, w = g.numpy(), w.numpy()
        np.testing.assert_array_equal(g, w)  # NaN where eager has NaN
        real = ~np.isnan(w)  # (the sign of a NaN is unspecified)
        np.testing.assert_array_equal(np.signbit(g[real]), np.signbit(w[real]))


@pytest.mark.parametrize(
    "options",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01},
        {"weight_decay": 0.1, "maximize": True},
        {},
    ],
)
def test_sgd_update_kernel_is_bit_identical_to_eager(options):
    ts.manual_seed(0)
    model = ts.nn.Sequential(ts.nn.Linear(20, 30), ts.nn.ReLU(), ts.nn.Linear(30, 5))  # exact elementwise ops
    x = ts.randn(16, 20)
    params = []
    for compiled in (False, True):
        m = copy.deepcopy(model)
        opt = ts.optim.SGD(m.parameters(), lr=0.1, **options)

        def step(m=m, opt=opt):  # defaults are reachable state too
            opt.zero_grad()
            m(x).square().mean().backward()
            opt.step()

        f = ts.compile(step, backend="c") if compiled else step
        for _ in range(4):
            f()
        if compiled:
            kernels = [k["ops"] for e in f._entries.values() for k in e.stats["kernels"]]
            assert ["sgd_step"] in kernels
        params.append([p.detach().numpy().copy() for p in m.parameters()])
    for a, b in zip(*params):
        np.testing.assert_array_equal(a, b)
