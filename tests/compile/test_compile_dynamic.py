"""Symbolic sizes: after two traces that differ only in argument sizes, one graph serves every later size
(forward functions, whole training steps, compiled modules under autograd), equal to eager at each size;
what stays specialized (sizes 0 and 1, ``dynamic=False``, sizes Python derives in ways two points cannot
pin down) and how it is reported."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tessera as ts
from tessera.compile import api, codegen_c, logs
from tessera.compile.backend import backend_name
from tessera.compile.dynamic import NoUnify, Sym, symbols_of

nn = ts.nn


def _mlp():
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 4)
    )


def _transformer():
    return nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True, dropout=0.0)


# model, the input shape for a batch of n (and a sequence of length t), the loss
_MODELS = {
    "mlp": (_mlp, lambda n, t: (n, 12), "classify"),
    "cnn": (_cnn, lambda n, t: (n, 1, 8, 8), "classify"),
    "transformer": (_transformer, lambda n, t: (n, t, 16), "regress"),
}
_OPTS = {
    "sgd_momentum": lambda p: ts.optim.SGD(p, lr=0.05, momentum=0.9),
    "adam": lambda p: ts.optim.Adam(p, lr=0.01),
    "adamw": lambda p: ts.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}
_SIZES = [(3, 4), (5, 6), (8, 3), (17, 5), (3, 4), (2, 7)]


def _step(model, opt, kind):
    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = nn.functional.cross_entropy(out, y) if kind == "classify" else ((out - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    return step


def _traces(cf) -> int:
    """How many calls traced: the first, and one per recompile."""
    return 1 + len(cf.recompiles)


def _data(shape, kind):
    x = ts.randn(*shape)
    y = ts.randint(0, 4, (shape[0],)) if kind == "classify" else ts.randn(*shape)
    return x, y


@pytest.mark.parametrize("backend", ["auto", "numpy"])
@pytest.mark.parametrize("dynamic", [None, True])
def test_one_graph_serves_every_batch_size(dynamic, backend):
    ts.manual_seed(0)
    m = _mlp().eval()
    f = ts.compile(m, dynamic=dynamic, backend=backend)
    for n in (3, 5, 8, 17, 3, 64):
        x = ts.randn(n, 12)
        np.testing.assert_allclose(f(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert _traces(f) == 2, f.recompiles
    assert len(f.graphs) == 1
    text = f.graphs[0].text()
    assert "f32[s0,12] = arg" in text and "f32[s0,4] = add" in text


@pytest.mark.parametrize("opt_name", list(_OPTS))
@pytest.mark.parametrize("model_name", list(_MODELS))
def test_training_steps_over_varying_sizes_equal_eager(model_name, opt_name):
    make, shape_of, kind = _MODELS[model_name]
    ts.manual_seed(0)
    m0 = make()
    m1 = copy.deepcopy(m0)
    o0, o1 = _OPTS[opt_name](m0.parameters()), _OPTS[opt_name](m1.parameters())
    eager, f = _step(m0, o0, kind), ts.compile(_step(m1, o1, kind))
    for n, t in _SIZES:
        x, y = _data(shape_of(n, t), kind)
        np.testing.assert_allclose(float(f(x, y)), float(eager(x, y)), rtol=1e-6, atol=1e-6)
        for p, q in zip(m0.parameters(), m1.parameters()):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-6, atol=1e-6)
    # the first step (no .grad yet) is a version of its own; then two sizes make the symbolic one
    assert _traces(f) == 3, f.recompiles
    assert len(f.graphs) == 2
    assert "s0" in f.graphs[-1].text()
    if model_name == "transformer":  # batch and sequence length both symbolic, with products in reshapes
        assert "s1" in f.graphs[-1].text() and "s0*s1" in f.graphs[-1].text()


@pytest.mark.skipif(backend_name() != "c", reason="needs a C compiler")
def test_a_new_size_reuses_the_kernels():
    ts.manual_seed(0)
    m0 = _mlp()
    m1 = copy.deepcopy(m0)
    o0, o1 = _OPTS["adam"](m0.parameters()), _OPTS["adam"](m1.parameters())
    eager, f = _step(m0, o0, "classify"), ts.compile(_step(m1, o1, "classify"))
    for n in (3, 3, 5, 8, 31):
        if n == 31:
            libraries = dict(codegen_c._LOADED)
        x, y = _data((n, 12), "classify")
        np.testing.assert_allclose(float(f(x, y)), float(eager(x, y)), rtol=1e-6, atol=1e-6)
    assert codegen_c._LOADED == libraries  # sizes are kernel parameters: no new source to compile


def test_view_by_size_mean_and_dropout_keep_eager_numbers():
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.3))

    def g(x):
        return cnn(x).view(x.size(0), -1).mean(1) * x.shape[0]

    f = ts.compile(g)
    for n in (2, 3, 7, 12):
        x = ts.randn(n, 1, 8, 8)
        ts.manual_seed(5)
        got = f(x).detach().numpy()
        ts.manual_seed(5)
        np.testing.assert_allclose(got, g(x).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert _traces(f) == 2 and len(f.graphs) == 1


def test_module_compile_with_autograd_over_sizes():
    ts.manual_seed(0)
    m0 = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    m1 = copy.deepcopy(m0)
    m1.compile()
    for n in (3, 5, 9, 4):
        x = ts.randn(n, 6)
        for m in (m0, m1):
            m.zero_grad()
            (m(x) ** 2).mean().backward()
        for p, q in zip(m0.parameters(), m1.parameters()):
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6, atol=1e-7)
    cf = m1._compiled_call
    assert _traces(cf) == 2 and len(cf.graphs) == 1


def test_dynamic_false_traces_every_size():
    f = ts.compile(lambda x: (x * 2).relu(), dynamic=False)
    for n in (3, 5, 8):
        np.testing.assert_array_equal(f(ts.ones(n, 2)).numpy(), np.full((n, 2), 2.0, np.float32))
    assert _traces(f) == 3 and len(f.graphs) == 3


def test_sizes_one_and_zero_stay_specialized():
    f = ts.compile(lambda x: x.sum(0) + 1)
    for n in (1, 3, 5, 1, 0, 8):
        x = ts.randn(n, 4)
        np.testing.assert_allclose(f(x).numpy(), (x.sum(0) + 1).numpy(), rtol=1e-6)
    # 1 and 0 are versions of their own; 3 and 5 made the symbolic one, which served 8
    assert _traces(f) == 4 and len(f.graphs) == 3


def test_arguments_whose_sizes_must_agree_raise_like_eager():
    f = ts.compile(lambda x, y: x + y)
    for n in (3, 5, 7):
        f(ts.ones(n, 2), ts.ones(n, 2))
    assert _traces(f) == 2
    with pytest.raises(ValueError, match=r"add: the shapes \[7, 2\] and \[6, 2\] are not broadcastable"):
        f(ts.ones(7, 2), ts.ones(6, 2))


def test_an_offset_fit_is_confirmed_by_a_third_trace():
    def g(x):
        return ts.cat([x, ts.ones(1, x.shape[1])]).cumsum(0)[x.shape[0] - 1 :]

    f = ts.compile(g)
    for n in (3, 5, 8, 17, 4):
        x = ts.randn(n, 6)
        np.testing.assert_allclose(f(x).numpy(), g(x).numpy(), rtol=1e-6)
    assert _traces(f) == 3 and len(f.graphs) == 1
    assert "confirm the symbolic graph" in f.recompiles[-1]
    assert "('slice', s0-1, None, None)" in f.graphs[0].text()


def test_sizes_python_derives_otherwise_stay_specialized(capsys):
    def g(x):
        return x[1:-1, : x.shape[1] // 2].sum(1)

    f = ts.compile(g)
    logs.set_logs("recompiles")
    try:
        for shape in ((4, 6), (6, 8), (9, 12), (5, 10), (7, 20)):
            x = ts.randn(*shape)
            np.testing.assert_allclose(f(x).numpy(), g(x).numpy(), rtol=1e-6)
    finally:
        logs.set_logs("")
    assert _traces(f) == 5 and len(f.graphs) == 5
    assert "sizes stay specialized" in capsys.readouterr().err


def test_unification_is_logged(capsys):
    f = ts.compile(lambda x, y: x @ y)
    logs.set_logs("guards")
    try:
        f(ts.ones(3, 4), ts.ones(4, 5))
        f(ts.ones(6, 4), ts.ones(4, 7))
    finally:
        logs.set_logs("")
    err = capsys.readouterr().err
    assert "one graph for all sizes >= 2 of s0 = argument 0 dim 0, s1 = argument 1 dim 1" in err


def test_specializations_are_bounded(monkeypatch):
    monkeypatch.setattr(api, "_MAX_SIZES", 2)
    f = ts.compile(lambda x: x * 3)
    for n in (2, 3, 4, 5, 6, 2):
        np.testing.assert_array_equal(f(ts.ones(n)).numpy(), np.full(n, 3.0, np.float32))
    assert len(f._dynamic[0].versions) == 2
    assert _traces(f) == 2


def test_symbols_and_expressions():
    pairs, places = symbols_of([(3, 4), (3,)], [(5, 4), (5,)])
    assert pairs == [(3, 5)] and places == [[(0, 0), (1, 0)]]
    with pytest.raises(NoUnify, match="sizes 0 and 1 stay specialized"):
        symbols_of([(1, 4)], [(3, 4)])
    with pytest.raises(NoUnify, match="changed rank"):
        symbols_of([(3, 4)], [(3, 4, 1)])
    assert repr(Sym(4, (0,))) == "4*s0" and repr(Sym(1, (0, 1))) == "s0*s1"
    assert repr(Sym(1, (0,), -1)) == "s0-1" and repr(Sym(1.0, (0,), recip=True)) == "1.0/s0"
    assert Sym(4, (0, 1)).eval({0: 3, 1: 5}) == 60 and Sym(1, (0,), recip=True).eval({0: 4}) == 0.25
