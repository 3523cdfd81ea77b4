"""ts.compile over whole training steps (5 steps of MLP, CNN and Transformer with SGD-momentum, Adam and
AdamW against an identical eager copy), re-tracing guards, the recompile limit, graph breaks, the IR's text
and JSON forms, and random ops under a seed."""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest

import tessera as ts
from tessera.compile import api
from tessera.compile.ir import Graph, IRError

nn = ts.nn


def _mlp():
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 4)
    )


def _transformer():
    return nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True, dropout=0.0)


_MODELS = {
    "mlp": (_mlp, (8, 12), "classify"),
    "cnn": (_cnn, (6, 1, 8, 8), "classify"),
    "transformer": (_transformer, (3, 5, 16), "regress"),
}
_OPTS = {
    "sgd_momentum": lambda p: ts.optim.SGD(p, lr=0.05, momentum=0.9),
    "adam": lambda p: ts.optim.Adam(p, lr=0.01),
    "adamw": lambda p: ts.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


def _step_fn(model, opt, x, y, kind, sched=None, set_to_none=True):
    def step():
        opt.zero_grad(set_to_none=set_to_none)
        out = model(x)
        loss = nn.functional.cross_entropy(out, y) if kind == "classify" else ((out - y) ** 2).mean()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    return step


def _flat_state(opt):
    sd = opt.state_dict()
    out = []
    for k in sorted(sd["state"]):
        for name in sorted(sd["state"][k]):
            v = sd["state"][k][name]
            out.append(v.numpy() if isinstance(v, ts.Tensor) else np.asarray(v))
    return out


@pytest.mark.parametrize("model_name", sorted(_MODELS))
@pytest.mark.parametrize("opt_name", sorted(_OPTS))
@pytest.mark.parametrize("variant", ["plain", "scheduler", "zero_grad_in_place"])
def test_training_steps_match_eager(model_name, opt_name, variant):
    build, shape, kind = _MODELS[model_name]
    ts.manual_seed(0)
    x = ts.randn(*shape)
    y = ts.randint(0, 4, (shape[0],)) if kind == "classify" else ts.randn(*shape)
    runs = []
    for compiled in (False, True):
        ts.manual_seed(1)
        model = build()
        opt = _OPTS[opt_name](model.parameters())
        sched = ts.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if variant == "scheduler" else None
        step = _step_fn(model, opt, x, y, kind, sched, set_to_none=variant != "zero_grad_in_place")
        fn = ts.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no eager fallback, no graph break
            losses = [float(fn()) for _ in range(5)]
        runs.append((losses, model, opt))
        if compiled:
            assert all(not e.eager for e in fn._entries.values())
            assert len(fn._entries) <= 3  # first step, then the steady state
    (l0, m0, o0), (l1, m1, o1) = runs
    np.testing.assert_allclose(l1, l0, rtol=1e-5, atol=1e-6)
    for p, q in zip(m0.parameters(), m1.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-5)
    for a, b in zip(_flat_state(o0), _flat_state(o1)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    assert o0.param_groups[0]["lr"] == o1.param_groups[0]["lr"]


def test_retracing_on_shape_dtype_requires_grad_mode_and_grad_mode():
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    f = ts.compile(lambda x: m(x).detach())
    checks = []

    def call(x):
        ts.manual_seed(3)
        got = f(x)
        ts.manual_seed(3)
        want = m(x).detach()
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
        checks.append(len(f.recompiles))

    x = ts.randn(3, 4)
    call(x), call(x)
    call(ts.randn(5, 4))
    call(ts.randn(5, 4, dtype=ts.float64).float())  # same signature again
    m.double()
    call(ts.randn(5, 4, dtype=ts.float64))
    m.float()
    call(ts.randn(5, 4, requires_grad=True))
    m.eval()
    call(ts.randn(5, 4, requires_grad=True))
    with ts.no_grad():
        call(ts.randn(5, 4, requires_grad=True))
    assert checks == [0, 0, 1, 1, 2, 3, 4, 5]
    reasons = " | ".join(f.recompiles)
    assert "tensor argument 0: (3, 4) float32 -> (5, 4) float32" in reasons
    assert "module training mode changed" in reasons and "grad mode changed" in reasons


def test_recompile_limit_warns_with_the_failed_guard(monkeypatch):
    monkeypatch.setattr(api, "cache_size_limit", 3)
    f = ts.compile(lambda x: x * 2 + 1, dynamic=False)
    for n in range(1, 4):
        f(ts.ones(n))
    with pytest.warns(
        UserWarning, match=r"recompile limit \(3\).*tensor argument 0: \(3,\) float32 -> \(4,\)"
    ):
        out = f(ts.ones(4))
    np.testing.assert_array_equal(out.numpy(), np.full(4, 3.0, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once
        np.testing.assert_array_equal(f(ts.ones(5)).numpy(), np.full(5, 3.0, np.float32))


def _branchy(x):
    y = x * 2
    if y.sum() > 0:  # the graph break
        return y + 1
    return y - 1


_BREAK_LINE = _branchy.__code__.co_firstlineno + 2


def test_graph_break_splits_the_function_and_warns_with_the_line():
    f = ts.compile(_branchy)
    with pytest.warns(
        UserWarning,
        match=rf"test_compile_steps.py:{_BREAK_LINE}: Python control flow.*the part before it runs compiled",
    ):
        a = f(ts.ones(3))
    b = f(-ts.ones(3))  # the branch after the break follows the value
    c = f(ts.full((3,), 2.0))
    np.testing.assert_array_equal(a.numpy(), [3, 3, 3])
    np.testing.assert_array_equal(b.numpy(), [-3, -3, -3])
    np.testing.assert_array_equal(c.numpy(), [5, 5, 5])
    assert not f.recompiles and len(f.graphs) == 1  # the prefix y = x * 2; y.sum() > 0, compiled
    assert {"mul", "sum", "gt"} <= set(f.graphs[0].op_counts())
    assert ts.compiler.explain(_branchy, ts.ones(3)).graph_breaks[0][0].endswith(f":{_BREAK_LINE}")


@pytest.mark.parametrize("where", ["between forward and backward", "after the step"])
def test_a_training_step_that_reads_its_loss_equals_eager(where):
    ts.manual_seed(0)
    m0 = _mlp()
    m1 = copy.deepcopy(m0)
    o0, o1 = ts.optim.Adam(m0.parameters(), lr=0.01), ts.optim.Adam(m1.parameters(), lr=0.01)
    logged = []

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        if where.startswith("between"):
            logged.append(loss.item())
        loss.backward()
        opt.step()
        if where.startswith("after"):
            logged.append(loss.item())
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = ts.compile(lambda x, y: step(m1, o1, x, y))
        for _ in range(5):
            x, y = ts.randn(8, 12), ts.randint(0, 4, (8,))
            want = float(step(m0, o0, x, y))
            assert float(f(x, y)) == want and logged[-1] == logged[-2] == want
            for p, q in zip(m0.parameters(), m1.parameters()):
                np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-6, atol=1e-7)
                np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert all(e.split is not None for e in f._entries.values())


def test_a_split_forward_keeps_what_backward_needs_and_no_more():
    m = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))

    def forward(x):
        y = m(x)
        print_me = y.sum().item()  # the break: everything before it is the compiled prefix
        del print_me
        return y

    def chain(x):
        z = ts.sigmoid(ts.exp(x * 1.5 + 0.1) - 1.0) * x
        z[0, 0].item()
        return z

    f, g = ts.compile(forward), ts.compile(chain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            x = ts.randn(5, 6)
            m.zero_grad()
            (forward(x) ** 2).mean().backward()
            want = [p.grad.numpy().copy() for p in m.parameters()]
            m.zero_grad()
            (f(x) ** 2).mean().backward()
            for w, p in zip(want, m.parameters()):
                np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(g(x).numpy(), chain(x).numpy(), rtol=1e-6)
    (entry,) = g._entries.values()
    assert entry.n_user_out == 1  # only z leaves the fused loop


_CALLS = [0]


def _takes_another_path(x):
    _CALLS[0] += 1
    y = x * 2 if _CALLS[0] < 3 else x + 2  # Python state the guards cannot see
    return y * y.sum().item()


def test_a_split_call_that_takes_another_path_before_the_break_raises():
    f = ts.compile(_takes_another_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f(ts.ones(2)), f(ts.ones(2))
        with pytest.raises(RuntimeError, match=r"issued add where the trace had mul"):
            f(ts.ones(2))


def test_fullgraph_raises_with_the_line():
    f = ts.compile(_branchy, fullgraph=True)
    with pytest.raises(ts.compiler.GraphBreak, match=rf"test_compile_steps.py:{_BREAK_LINE}: graph break"):
        f(ts.ones(3))

    def reads_item(x):
        return x * x.sum().item()

    with pytest.raises(ts.compiler.GraphBreak, match=r"Tensor.item\(\)"):
        ts.compile(reads_item, fullgraph=True)(ts.ones(2))


def test_ir_text_is_stable_and_json_round_trips():
    def f(x, w):
        return ts.nn.functional.gelu(x @ w + 1.0).sum(dim=1)

    x, w = ts.randn(4, 3), ts.randn(3, 5)
    texts = []
    for _ in range(2):
        cf = ts.compile(f)
        cf(x, w)
        texts.append(cf.graphs[0].text().replace(str(id(cf)), ""))
    assert texts[0] == texts[1]
    g = cf.graphs[0]
    data = json.loads(g.dumps())
    assert Graph.from_json(data).text() == g.text()
    assert Graph.loads(g.dumps()).to_json() == g.to_json()
    bad_op = json.loads(g.dumps())
    bad_op["nodes"][0]["op"] = "no_such_op"
    with pytest.raises(IRError, match="no_such_op"):
        Graph.from_json(bad_op)
    dangling = json.loads(g.dumps())
    dangling["nodes"][0]["inputs"][0] = {"v": 999}
    with pytest.raises(IRError, match="%999 is not defined"):
        Graph.from_json(dangling)
    newer = json.loads(g.dumps())
    newer["format"] = 99
    with pytest.raises(IRError, match="upgrade Tessera"):
        Graph.from_json(newer)
    with pytest.raises(IRError, match="malformed"):
        Graph.loads("{not json")
    # attribute names become keyword names in the generated plan: a crafted name must not reach it
    node = next(i for i, n in enumerate(data["nodes"]) if n["attrs"])
    injected = json.loads(g.dumps())
    injected["nodes"][node]["attrs"]["x=0,**{'y':__import__('os').getcwd()},z"] = {"i": 1}
    with pytest.raises(IRError, match="malformed attribute names"):
        Graph.from_json(injected)
    bad_loc = json.loads(g.dumps())
    bad_loc["nodes"][0]["loc"] = "f.py:1\nimport os"
    with pytest.raises(IRError, match="malformed source location"):
        Graph.from_json(bad_loc)


def test_dropout_same_seed_same_numbers_and_keep_rate():
    f = ts.compile(lambda x: nn.functional.dropout(x, 0.3, training=True))
    x = ts.ones(100_000)
    for _ in range(3):
        ts.manual_seed(7)
        a = f(x)
        ts.manual_seed(7)
        b = nn.functional.dropout(x, 0.3, training=True)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = f(x)  # no reseed: the generator advanced, a new mask
    assert not np.array_equal(c.numpy(), a.numpy())
    keep = float((c.numpy() != 0).mean())
    assert abs(keep - 0.7) < 0.01
    np.testing.assert_allclose(c.numpy()[c.numpy() != 0], 1 / 0.7, rtol=1e-6)


def test_numpy_backend_matches_c_backend_on_a_training_step():
    results = []
    for backend in ("numpy", "c"):
        ts.manual_seed(0)
        model = _mlp()
        opt = ts.optim.Adam(model.parameters(), lr=0.01)
        x, y = ts.randn(8, 12), ts.randint(0, 4, (8,))
        f = ts.compile(_step_fn(model, opt, x, y, "classify"), backend=backend)
        results.append(
            ([float(f()) for _ in range(4)], [p.detach().numpy().copy() for p in model.parameters()])
        )
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_sample_through_linear_layers_runs_as_row_dot_kernels_equal_to_eager(dtype):
    ts.manual_seed(0)
    model = ts.nn.Sequential(ts.nn.Linear(300, 130), ts.nn.ReLU(), ts.nn.Linear(130, 130), ts.nn.Tanh())
    model = model.to(getattr(ts, dtype))
    model.eval()
    x = ts.randn(1, 300, dtype=getattr(ts, dtype))

    def infer(x):
        with ts.no_grad():
            h = model[1](model[0](x))  # the first layer's product is also returned: written out
            return h, model[3](model[2](h))

    outs = {}
    for backend in ("numpy", "c"):
        f = ts.compile(infer, backend=backend)
        f(x)
        outs[backend] = [t.numpy() for t in f(x)]
        if backend == "c":
            report = str(ts.compiler.explain(infer, x))
            assert (
                report.count("transpose -> matmul -> add -> relu")
                + report.count("transpose -> matmul -> add -> tanh")
                == 2
            ), report
    want = [t.numpy() for t in infer(x)]
    for got in outs.values():
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_kernels_equal_eager_to_the_bit_with_ties_nans_and_signed_zeros(dtype):
    xn = np.random.default_rng(0).standard_normal((4, 8, 28, 28)).astype(dtype)
    xn[0, 0, 0, 0] = np.nan
    xn[0, 0, 2, 2:4], xn[0, 0, 3, 2:4] = (-0.0, 0.0), (-0.0, 0.0)
    xn[1, 1, 4:6, 4:6] = 5.0  # a four-way tie: the first position takes the gradient
    results = []
    for compiled in (False, True):
        holder = ts.nn.Module()
        holder.w = ts.nn.Parameter(ts.tensor(xn))

        def f(holder=holder):
            y = ts.nn.functional.max_pool2d(holder.w, 2)
            (y * y).sum().backward()
            return y.detach()

        g = ts.compile(f) if compiled else f
        for _ in range(3):
            holder.w.grad = None
            y = g()
        results.append((y.numpy().copy(), holder.w.grad.numpy().copy()))
        if compiled:
            kernels = [line for line in str(ts.compiler.explain(f)).splitlines() if "fused kernel" in line]
            assert any(line.endswith(": max_pool") for line in kernels), kernels
            assert any(line.endswith(": max_pool_backward") for line in kernels), kernels
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize(
    "opt_name, kwargs",
    [
        ("Adam", {}),
        ("Adam", {"weight_decay": 0.1, "amsgrad": True}),
        ("Adam", {"maximize": True, "weight_decay": 0.01, "betas": (0.3, 0.99)}),
        ("AdamW", {"weight_decay": 0.05}),
        ("AdamW", {"amsgrad": True, "maximize": True}),
    ],
)
def test_adam_updates_run_as_c_loops_equal_to_eager_to_the_bit(opt_name, kwargs):
    results = []
    for compiled in (False, True):
        ts.manual_seed(0)
        model = ts.nn.Linear(96, 64)
        opt = getattr(ts.optim, opt_name)(model.parameters(), lr=0.01, **kwargs)
        x = ts.randn(16, 96)

        def step(model=model, opt=opt, x=x):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()

        f = ts.compile(step) if compiled else step
        for _ in range(4):
            f()
        state = [
            t.numpy().copy() for st in opt.state.values() for t in st.values() if isinstance(t, ts.Tensor)
        ]
        results.append([p.detach().numpy().copy() for p in model.parameters()] + state)
        if compiled:  # (explain runs one more step)
            kernels = [line for line in str(ts.compiler.explain(step)).splitlines() if "fused kernel" in line]
            assert any(line.endswith(": adam_step") for line in kernels), kernels
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_hand_written_step_on_bare_leaf_tensors_compiles_and_equals_eager():
    results = []
    for compiled in (False, True):
        ts.manual_seed(0)
        w, b = ts.randn(10, 1, requires_grad=True), ts.zeros(1, requires_grad=True)
        x, y = ts.randn(32, 10), ts.randn(32, 1)

        def step(w=w, b=b, x=x, y=y):
            loss = ((x @ w + b - y) ** 2).mean()
            loss.backward()
            with ts.no_grad():
                w.sub_(0.1 * w.grad)
                b.sub_(0.1 * b.grad)
                w.grad.zero_()
                b.grad.zero_()
            return loss

        f = ts.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no eager fallback
            losses = [float(f()) for _ in range(6)]
        if compiled:
            assert f._entries and not any(e.eager for e in f._entries.values())
        results.append((losses, w.detach().numpy().copy(), b.detach().numpy().copy(), w.grad.numpy().copy()))
    assert results[0][0] == results[1][0]
    for a, c in zip(results[0][1:], results[1][1:]):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("p", [0.1, 1 / 3, 0.9])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_masks_drawn_in_c_are_numpys_stream_to_the_bit(p, dtype):
    x = ts.randn(301, 257, dtype=getattr(ts, dtype))  # an odd count: the last draw uses half an output

    def f(x):
        return ts.nn.functional.dropout(x, p, training=True)

    ts.manual_seed(5)
    want = [f(x).numpy().copy() for _ in range(3)]
    cf = ts.compile(f)
    ts.manual_seed(5)
    got = [cf(x).numpy().copy() for _ in range(3)]
    kernels = [line for line in str(ts.compiler.explain(f, x)).splitlines() if "fused kernel" in line]
    assert any(line.endswith(": bernoulli") for line in kernels), kernels
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def test_kernels_with_the_same_code_compile_once_and_the_split_library_equals_eager(monkeypatch):
    from tessera.compile import codegen_c

    built = []
    real = codegen_c.build
    monkeypatch.setattr(
        codegen_c, "build", lambda src, syms, **kw: built.append(src) or real(src, syms, **kw)
    )
    results = []
    for compiled in (False, True):
        ts.manual_seed(0)
        model = nn.Sequential(nn.Linear(80, 80), nn.ReLU(), nn.Linear(80, 80), nn.ReLU(), nn.Linear(80, 80))
        opt = ts.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = ts.randn(64, 80), ts.randn(64, 80)
        step = _step_fn(model, opt, x, y, "regress")
        f = ts.compile(step) if compiled else step
        for _ in range(3):
            f()
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    source = "\n".join(built)
    # three 80x80 weights share one update kernel, the two relus (and their gradients) one kernel each
    assert source.count("void tessera_u") < 6, source
    # three distinct kernels and a copy of one: two libraries, each kernel in one of them, the copy in none
    from tessera.compile import fusion

    built.clear()
    specs = [{"name": f"tessera_t{k}", "source": f"void tessera_t{k}(int64_t* p) {{ p[0] = {c}; }}\n"}
             for k, c in enumerate((1, 2, 3, 1))]  # fmt: skip
    fns = fusion._build(specs)
    assert len(built) == 2 and all(("tessera_t3" in src) is False for src in built), built
    assert sum(("void tessera_t0(" in src) + ("void tessera_t1(" in src) + ("void tessera_t2(" in src)
               for src in built) == 3  # fmt: skip
    import ctypes

    for k, want in enumerate((1, 2, 3, 1)):
        out = (ctypes.c_int64 * 1)()
        fns[f"tessera_t{k}"](out)
        assert out[0] == want
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


_REBOUND = ts.ones(3)


def test_rebinding_a_global_or_closure_tensor_retraces_instead_of_replaying_the_old_one():
    global _REBOUND
    scale = ts.full((3,), 2.0)

    def f(x):
        return x * _REBOUND + scale

    cf = ts.compile(f)
    x = ts.arange(3.0)
    for rebound in (ts.ones(3), ts.full((3,), 5.0), ts.full((3,), -1.0)):
        _REBOUND = rebound
        for _ in range(2):
            np.testing.assert_array_equal(cf(x).numpy(), f(x).numpy())
    assert any("'_REBOUND' was rebound" in r for r in cf.recompiles), cf.recompiles
    report = str(ts.compiler.explain(f, x))
    assert "'_REBOUND'" in report and "'scale'" in report, report

    def g(x):
        return x * scale

    cg = ts.compile(g)
    np.testing.assert_array_equal(cg(x).numpy(), (x * 2).numpy())
    scale = ts.full((3,), 7.0)  # the closure cell now holds another tensor
    np.testing.assert_array_equal(cg(x).numpy(), (x * 7).numpy())


def test_compile_validates_its_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        ts.compile(lambda x: x, mode="fastest")
    with pytest.raises(ValueError, match="backend must be one of"):
        ts.compile(lambda x: x, backend="tpu")
    with pytest.raises(TypeError, match="expected a function or a Module"):
        ts.compile(3)
    with pytest.raises(TypeError, match="dynamic must be None, True or False"):
        ts.compile(lambda x: x, dynamic="batch")
    m = copy.deepcopy(_mlp())
    assert ts.compile(m, disable=True) is m


def test_named_tuple_outputs_keep_their_type():
    """``sort``/``max``/``topk`` results and a layer's named-tuple output come back as the same named tuple."""

    @ts.compile
    def f(x):
        return ts.sort(x, descending=True), x.max(0)

    x = ts.randn(5, 3)
    for _ in range(2):  # trace, then replay
        (s, m) = f(x)
        want_s, want_m = ts.sort(x, descending=True), x.max(0)
        assert type(s) is type(want_s) and type(m) is type(want_m)
        assert np.array_equal(s.values.numpy(), want_s.values.numpy())
        assert np.array_equal(m.indices.numpy(), want_m.indices.numpy())
