"""Autograd through a compiled region, structure guards, explain() and TESSERA_LOGS."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tessera as ts


def _net():
    ts.manual_seed(0)
    return ts.nn.Sequential(ts.nn.Linear(8, 16), ts.nn.GELU(), ts.nn.LayerNorm(16), ts.nn.Linear(16, 3))


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_module_compile_in_an_eager_training_loop(backend):
    eager = _net()
    compiled = copy.deepcopy(eager)
    compiled.compile(backend=backend)
    x, y = ts.randn(64, 8), ts.randint(0, 3, (64,))
    opts = [ts.optim.Adam(m.parameters(), lr=0.01) for m in (eager, compiled)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no eager fallback
        for _ in range(5):
            losses = []
            for m, o in zip((eager, compiled), opts):
                o.zero_grad()
                loss = ts.nn.functional.cross_entropy(m(x), y)
                loss.backward()
                o.step()
                losses.append(float(loss))
            assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for p, q in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)
    entries = compiled._compiled_call._entries.values()
    assert entries and all(not e.eager and e.backward is not None for e in entries)


def test_gradient_with_respect_to_the_input_and_a_second_backward():
    m = _net()
    f = ts.compile(m)
    x = ts.randn(4, 8, requires_grad=True)
    for call in range(3):
        x.grad = None
        out = f(x)
        # the first call traces; the second traces again: the parameters now hold a .grad
        assert call < 2 or out.grad_fn.name() == "CompiledFunctionBackward"
        (out * out).sum().backward(retain_graph=True)
    got = x.grad.numpy().copy()
    x.grad = None
    (m(x) * m(x)).sum().backward()
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-5, atol=1e-6)
    out = f(x)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()
    out = f(x)
    with pytest.raises(RuntimeError, match="double backward"):
        ts.autograd.grad(out.sum(), x, create_graph=True)


def test_two_differentiable_outputs_fall_back_with_a_warning():
    w = ts.randn(3, requires_grad=True)
    f = ts.compile(lambda x: (x * w, x + w))
    with pytest.warns(UserWarning, match="more than one output requires grad"):
        a, b = f(ts.randn(3))
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), (a.detach() / w.detach()).numpy() + 1, rtol=1e-5)


def test_rebinding_a_submodule_or_optimizer_state_retraces():
    m = _net()

    @ts.compile
    def f(x):
        with ts.no_grad():
            return m(x)

    x = ts.randn(5, 8)
    f(x), f(x)
    m[3] = ts.nn.Linear(16, 3)
    with ts.no_grad():
        want = m(x)
    np.testing.assert_array_equal(f(x).numpy(), want.numpy())
    assert "structure" in f.recompiles[-1]

    opt = ts.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

    def step():
        opt.zero_grad()
        m(x).square().mean().backward()
        opt.step()

    ref = copy.deepcopy((m, opt))
    cstep = ts.compile(step)
    for _ in range(3):
        cstep()
    saved = copy.deepcopy(opt.state_dict())
    params = [p.detach().clone() for p in m.parameters()]
    cstep()
    opt.load_state_dict(saved)  # new state tensors: the replay must not keep writing the old ones
    with ts.no_grad():
        for p, q in zip(m.parameters(), params):
            p.copy_(q)
    cstep()
    after = [p.detach().clone() for p in m.parameters()]
    m2, opt2 = ref
    for _ in range(3):
        opt2.zero_grad()
        m2(x).square().mean().backward()
        opt2.step()
    opt2.zero_grad()
    m2(x).square().mean().backward()
    opt2.step()
    for p, q in zip(after, m2.parameters()):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_explain_reports_graph_breaks_guards_and_fusion():
    def f(x):
        y = ts.sigmoid(x * 1.5 + 0.1) * x
        return y.sum()

    out = ts.compiler.explain(f, ts.randn(64, 64))
    assert out.graph_count == 1 and out.graph_break_count == 0
    assert out.ops_before == {"add": 1, "mul": 2, "sigmoid": 1, "sum": 1}
    assert any(k["ops"] == ["mul", "add", "sigmoid", "mul"] for k in out.kernels) or out.backend == "numpy"
    assert "tensor argument 0: shape (64, 64) float32" in str(out)
    line = f.__code__.co_firstlineno + 1
    assert f"test_compile_autograd.py:{line}" in out.graphs[0]

    def g(x):
        if x.sum() > 0:
            return x + 1
        return x - 1

    out = ts.compiler.explain(g, ts.ones(3))
    assert out.graph_break_count == 1
    loc, reason = out.graph_breaks[0]
    assert loc.endswith(f"test_compile_autograd.py:{g.__code__.co_firstlineno + 1}") and "bool" in reason


def test_tessera_logs_prints_graph_fusion_and_recompiles():
    code = (
        "import tessera as ts\n"
        "f = ts.compile(lambda x: ts.relu(x * 2.0 + 1.0))\n"
        "f(ts.ones(64, 64)); f(ts.ones(64, 64)); f(ts.ones(32, 64))\n"
    )
    env = dict(os.environ, TESSERA_LOGS="graph,fusion,recompiles")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "[tessera:graph]" in r.stderr and "= mul(%0, 2.0)" in r.stderr
    assert (
        "[tessera:recompiles] recompiling <lambda>: tensor argument 0: (64, 64) float32 -> (32, 64)"
        in r.stderr
    )
    if ts.compile.__module__ and "c" == ts.compiler.backend.backend_name():
        assert "[tessera:fusion]" in r.stderr and "mul -> add -> relu" in r.stderr
