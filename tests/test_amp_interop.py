"""Mixed precision (ts.autocast, ts.amp.GradScaler) and interchange (DLPack, asarray, frombuffer), checked
against PyTorch."""

import array
import warnings

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera.utils import dlpack

F = ts.nn.functional


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _ops_seen(fn):
    """[(op name, input dtypes)] of the ops ``fn`` runs."""
    seen = []

    def log(call):
        seen.append((call.op.name, tuple(_name(a.dtype) for a in call.args if isinstance(a, ts.Tensor))))
        return call.proceed()

    with ts.core.intercept(log, tracing=False):
        fn()
    return seen


# -- autocast: which ops cast, to what ------------------------------------------------------------------
rng = np.random.default_rng(0)
X = rng.standard_normal((4, 8)).astype(np.float32)
W = rng.standard_normal((8, 8)).astype(np.float32)
IMG = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
KER = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
TGT = np.array([0, 3, 1, 7])
P = rng.uniform(0.1, 0.9, (4, 8)).astype(np.float32)

# name -> fn(module, x, consts); x is float32 or bfloat16
CASES = {
    "matmul": lambda m, x, c: x @ c["w"],
    "mm": lambda m, x, c: m.mm(x, c["w"]),
    "bmm": lambda m, x, c: m.bmm(x[None], c["w"][None]),
    "einsum": lambda m, x, c: m.einsum("ij,jk->ik", x, c["w"]),
    "linear_nobias": lambda m, x, c: m.nn.functional.linear(x, c["w"]),
    "conv2d": lambda m, x, c: m.nn.functional.conv2d(c["img"].to(x.dtype), c["ker"]),
    "sdpa": lambda m, x, c: m.nn.functional.scaled_dot_product_attention(x[None], x[None], x[None]),
    "cross_entropy": lambda m, x, c: m.nn.functional.cross_entropy(x, c["tgt"]),
    "nll_loss": lambda m, x, c: m.nn.functional.nll_loss(x, c["tgt"]),
    "binary_cross_entropy": lambda m, x, c: m.nn.functional.binary_cross_entropy(
        m.sigmoid(x), c["p"].to(x.dtype)
    ),
    "prod": lambda m, x, c: m.prod(x),
    "cat": lambda m, x, c: m.cat([x, c["w"][:1]]),
    "stack": lambda m, x, c: m.stack([x, c["w"][:4]]),
    "softmax": lambda m, x, c: m.softmax(x, -1),
    "relu": lambda m, x, c: m.relu(x),
    "sum": lambda m, x, c: x.sum(),
    "layer_norm": lambda m, x, c: m.nn.functional.layer_norm(x, (8,)),
    "add": lambda m, x, c: x + c["w"][:4],
}
# The forwards of these ops return float32 for bfloat16 inputs (ml_dtypes' np.matmul does), and conv2d's
# front end refuses a bfloat16 input with a float32 weight before autocast casts them: autocast hands the
# ops bfloat16 inputs (test_lower_precision_ops_receive_bfloat16), but the outputs' dtype differs.


def _consts(m):
    mk = ts.tensor if m is ts else torch.tensor
    return {"w": mk(W), "img": mk(IMG), "ker": mk(KER), "tgt": mk(TGT), "p": mk(P)}


def _run(m, name, x_dtype):
    c = _consts(m)
    x = (ts.tensor(X) if m is ts else torch.tensor(X)).to(getattr(m, x_dtype))
    with m.autocast("cpu", dtype=m.bfloat16):
        return CASES[name](m, x, c)


@needs_torch
@pytest.mark.parametrize("x_dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_autocast_output_dtypes_and_values_match_torch(name, x_dtype):
    try:
        ref = _run(torch, name, x_dtype)
    except RuntimeError:
        pytest.skip("PyTorch itself refuses this mix (linear without bias, bfloat16 input, float32 weight)")
    got = _run(ts, name, x_dtype)
    assert _name(got.dtype) == _name(ref.dtype)
    tol = 2e-2 if "bfloat16" in (_name(got.dtype), _name(ref.dtype), x_dtype) else 1e-5
    np.testing.assert_allclose(
        got.detach().float().numpy(), ref.detach().float().numpy(), rtol=tol, atol=tol * 4
    )


@pytest.mark.parametrize("name", ["matmul", "einsum", "linear_nobias", "conv2d", "sdpa"])
def test_lower_precision_ops_receive_bfloat16(name):
    op = {"linear_nobias": "matmul", "sdpa": "scaled_dot_product_attention", "conv2d": "convolution"}.get(
        name, name
    )
    c = _consts(ts)
    x = ts.tensor(X)
    with ts.autocast("cpu"):
        seen = _ops_seen(lambda: CASES[name](ts, x, c))
    inputs = [dts for n, dts in seen if n == op]
    assert inputs and all(d == "bfloat16" for d in inputs[0])


def test_float64_and_integer_tensors_are_not_cast():
    x = ts.tensor(X, dtype=ts.float64)
    with ts.autocast("cpu"):
        assert (x @ x.t()).dtype is ts.float64
        seen = _ops_seen(lambda: ts.nn.functional.cross_entropy(ts.tensor(X).bfloat16(), ts.tensor(TGT)))
    ce = [d for n, d in seen if n == "cross_entropy"]
    assert ce == [("float32", "int64")]


@needs_torch
def test_small_model_under_autocast_matches_torch():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(8, 16, bias=False), torch.nn.ReLU(), torch.nn.Linear(16, 8, bias=False)
    )
    m = ts.nn.Sequential(ts.nn.Linear(8, 16, bias=False), ts.nn.ReLU(), ts.nn.Linear(16, 8, bias=False))
    for p, q in zip(m.parameters(), tm.parameters()):
        with ts.no_grad():
            p.copy_(ts.tensor(q.detach().numpy()))
    x = rng.standard_normal((6, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 5])
    with ts.autocast(device_type="cpu", dtype=ts.bfloat16):
        out = m(ts.tensor(x))
        loss = F.cross_entropy(out, ts.tensor(y))
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        tout = tm(torch.tensor(x))
        tloss = torch.nn.functional.cross_entropy(tout, torch.tensor(y))
    assert loss.dtype is ts.float32 and tloss.dtype == torch.float32
    np.testing.assert_allclose(
        out.float().detach().numpy(), tout.float().detach().numpy(), rtol=2e-2, atol=2e-2
    )
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-2)
    loss.backward()
    tloss.backward()
    for p, q in zip(m.parameters(), tm.parameters()):
        assert p.grad is not None and p.grad.dtype is ts.float32 and p.dtype is ts.float32
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=3e-2, atol=3e-2)


def test_autocast_state_nesting_and_decorator():
    assert not ts.is_autocast_enabled("cpu")
    assert ts.get_autocast_dtype("cpu") is ts.bfloat16
    with ts.autocast("cpu", dtype=ts.float16):
        assert ts.is_autocast_enabled("cpu") and ts.get_autocast_dtype("cpu") is ts.float16
        assert ts.is_autocast_cpu_enabled() and ts.get_autocast_cpu_dtype() is ts.float16
        with ts.autocast("cpu", enabled=False):
            assert not ts.is_autocast_enabled("cpu")
            assert (ts.ones(2, 2) @ ts.ones(2, 2)).dtype is ts.float32
        assert ts.is_autocast_enabled("cpu")
        seen = _ops_seen(lambda: ts.ones(2, 2) @ ts.ones(2, 2))
        assert ("matmul", ("float16", "float16")) in seen
    assert not ts.is_autocast_enabled("cpu") and ts.get_autocast_dtype("cpu") is ts.bfloat16

    @ts.autocast("cpu")
    def f(a):
        return ts.is_autocast_enabled("cpu"), _ops_seen(lambda: a @ a)

    on, seen = f(ts.ones(2, 2))
    assert on and ("matmul", ("bfloat16", "bfloat16")) in seen
    assert not ts.is_autocast_enabled("cpu")
    assert ts.amp.autocast is ts.autocast


def test_autocast_caches_parameter_casts_within_a_region():
    w = ts.nn.Parameter(ts.ones(3, 3))
    x = ts.ones(2, 3)
    with ts.autocast("cpu"):
        seen = _ops_seen(lambda: (x @ w, x @ w))
    assert [n for n, _ in seen].count("cast") == 3  # w once, x twice (not a leaf needing grad)
    with ts.autocast("cpu", cache_enabled=False):
        seen = _ops_seen(lambda: (x @ w, x @ w))
    assert [n for n, _ in seen].count("cast") == 4
    with ts.autocast("cpu"):
        seen1 = _ops_seen(lambda: x @ w)
        with ts.no_grad():
            w.add_(1)  # a new version: cast again
        seen2 = _ops_seen(lambda: x @ w)
    assert [n for n, _ in seen1].count("cast") == [n for n, _ in seen2].count("cast") == 2


def test_autocast_argument_errors():
    with pytest.warns(
        UserWarning, match="CPU Autocast only supports dtype of tessera.bfloat16, tessera.float16"
    ):
        ac = ts.autocast("cpu", dtype=ts.float64)
    with ac:
        assert not ts.is_autocast_enabled("cpu")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with ts.autocast("cuda"):
            assert not ts.is_autocast_enabled("cuda")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        ts.autocast("tpu")
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        ts.autocast(0)


def test_custom_fwd_casts_inputs():
    @ts.amp.custom_fwd(device_type="cpu", cast_inputs=ts.float32)
    def fwd(a):
        return a.dtype, ts.is_autocast_enabled("cpu")

    with ts.autocast("cpu"):
        assert fwd(ts.ones(2).bfloat16()) == (ts.float32, False)
    assert fwd(ts.ones(2).bfloat16()) == (ts.bfloat16, False)


# -- GradScaler -----------------------------------------------------------------------------------------
def _pair(seed=0):
    torch.manual_seed(seed)
    tm = torch.nn.Linear(3, 2)
    m = ts.nn.Linear(3, 2)
    with ts.no_grad():
        m.weight.copy_(ts.tensor(tm.weight.detach().numpy()))
        m.bias.copy_(ts.tensor(tm.bias.detach().numpy()))
    return m, tm


@needs_torch
def test_grad_scaler_matches_torch_over_steps():
    m, tm = _pair()
    opt = ts.optim.SGD(m.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    kw = dict(init_scale=256.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    s, ts_ = ts.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    for step in range(7):
        bad = step in (2, 5)  # an overflowing batch: the step is skipped and the scale backs off
        xi = x * (np.inf if bad else 1.0)
        opt.zero_grad()
        topt.zero_grad()
        s.scale(m(ts.tensor(xi)).pow(2).mean()).backward()
        ts_.scale(tm(torch.tensor(xi)).pow(2).mean()).backward()
        if step == 3:  # unscale_ before step (as for clipping): gradients are the true ones
            s.unscale_(opt)
            ts_.unscale_(topt)
            np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
        s.step(opt)
        ts_.step(topt)
        s.update()
        ts_.update()
        assert s.get_scale() == ts_.get_scale(), step
        assert s._get_growth_tracker() == ts_._get_growth_tracker()
        np.testing.assert_allclose(
            m.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6
        )
        assert np.isfinite(m.weight.detach().numpy()).all()
    assert s.state_dict() == ts_.state_dict()


@needs_torch
def test_grad_scaler_state_dict_roundtrip_and_errors():
    s = ts.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    assert s.get_scale() == torch.amp.GradScaler("cpu", init_scale=8.0).get_scale() == 8.0
    t = ts.amp.GradScaler("cpu")
    t.load_state_dict(s.state_dict())
    assert t.state_dict() == s.state_dict() and t.get_scale() == 8.0 and t.get_growth_interval() == 3
    m, _ = _pair()
    opt = ts.optim.SGD(m.parameters(), lr=0.1)
    s.scale(m(ts.ones(1, 3)).sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this optimizer"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        s.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        s.step(opt, closure=lambda: None)
    s.update(new_scale=4.0)
    assert s.get_scale() == 4.0
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        t.load_state_dict({})
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        ts.amp.GradScaler("cpu").update()


def test_disabled_grad_scaler_passes_through():
    m, _ = _pair()
    opt = ts.optim.SGD(m.parameters(), lr=0.1)
    s = ts.amp.GradScaler("cpu", enabled=False)
    loss = m(ts.ones(1, 3)).sum()
    assert s.scale(loss) is loss and s.get_scale() == 1.0 and s.state_dict() == {}
    before = m.weight.detach().clone()
    loss.backward()
    s.step(opt)
    s.update()
    assert not ts.allclose(before, m.weight.detach())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.amp.GradScaler("cpu")  # no warning on the CPU
    with pytest.warns(UserWarning, match="CUDA is not available"):
        assert not ts.amp.GradScaler().is_enabled()  # device "cuda" by default, as in PyTorch


def test_grad_scaler_scales_nested_outputs():
    s = ts.amp.GradScaler("cpu", init_scale=4.0)
    a, (b, c) = s.scale([ts.ones(1), (ts.ones(2), ts.ones(()))])
    assert a.tolist() == [4.0] and b.tolist() == [4.0, 4.0] and c.item() == 4.0
    with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
        s.scale(3.0)


# -- DLPack ---------------------------------------------------------------------------------------------
def test_dlpack_zero_copy_with_numpy():
    a = np.zeros(3, np.float32)
    t = ts.from_dlpack(a)
    a[0] = 5
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1)
    assert a.tolist() == [6.0, 1.0, 1.0]
    b = np.from_dlpack(t)
    b[2] = 9
    assert t.tolist() == [6.0, 1.0, 9.0]
    assert t.__dlpack_device__() == (1, 0)
    v = ts.arange(12.0).reshape(3, 4)[:, 1::2]  # strided views keep their strides
    np.testing.assert_array_equal(np.from_dlpack(v), v.numpy())
    assert ts.from_dlpack(v).stride() == v.stride()


@needs_torch
def test_dlpack_zero_copy_with_torch():
    r = torch.zeros(4)
    t = ts.from_dlpack(r)
    r[1] = 7
    assert t.tolist() == [0.0, 7.0, 0.0, 0.0]
    back = torch.from_dlpack(t)
    back[2] = 3
    t.mul_(2)
    assert r.tolist() == [0.0, 14.0, 6.0, 0.0]
    assert ts.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(r)).data_ptr() == r.data_ptr()
    u = torch.utils.dlpack.from_dlpack(dlpack.to_dlpack(t))
    assert u.data_ptr() == t.data_ptr()
    for dt in ("int64", "int32", "uint8", "bool", "float64", "float16"):
        x = ts.ones(2, dtype=getattr(ts, dt))
        assert str(torch.from_dlpack(x).dtype) == f"torch.{dt}"
        assert ts.from_dlpack(torch.ones(2, dtype=getattr(torch, dt))).dtype is getattr(ts, dt)


def test_dlpack_errors():
    with pytest.raises(BufferError, match="Can't export tensors that require gradient, use tensor.detach"):
        ts.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(TypeError, match="expected an object with __dlpack__ or a DLPack capsule, got list"):
        ts.from_dlpack([1, 2])
    with pytest.raises(TypeError, match="to_dlpack: argument 'tensor' must be a Tensor"):
        dlpack.to_dlpack(np.ones(2))


# -- asarray / frombuffer -------------------------------------------------------------------------------
@needs_torch
def test_asarray_matches_torch():
    t = ts.ones(2)
    assert ts.asarray(t) is t
    assert ts.asarray(t, dtype=ts.float64).dtype is ts.float64
    with pytest.raises(ValueError, match="can't alias tensor with dtype 'Float' into dtype 'Double'"):
        ts.asarray(t, dtype=ts.float64, copy=False)
    a = np.ones(2, np.float32)
    shared = ts.asarray(a)
    a[0] = 5
    assert shared.tolist() == [5.0, 1.0]
    assert ts.asarray(a, copy=True).data_ptr() != a.ctypes.data
    for data in ([1, 2], [1.0, 2.0], 3.0, [True]):
        assert _name(ts.asarray(data).dtype) == _name(torch.asarray(data).dtype)
    buf = array.array("f", [1, 2])
    x = ts.asarray(buf)
    buf[0] = 8
    assert x.tolist() == [8.0, 2.0] and x.dtype is ts.float32
    assert ts.asarray([1.0], requires_grad=True).requires_grad


@needs_torch
def test_frombuffer_matches_torch():
    b = bytearray(8)
    t = ts.frombuffer(b, dtype=ts.float32)
    b[0:4] = np.float32(2.5).tobytes()
    assert t.tolist() == [2.5, 0.0]
    assert ts.frombuffer(bytearray(16), dtype=ts.int32, count=2, offset=4).shape == (2,)
    for kwargs in ({"buffer": bytearray(0)}, {"buffer": bytearray(7)}, {"buffer": bytearray(8), "count": 3}):
        with pytest.raises(ValueError) as got:
            ts.frombuffer(dtype=ts.float32, **kwargs)
        with pytest.raises(ValueError) as ref:
            torch.frombuffer(dtype=torch.float32, **kwargs)
        assert str(got.value).split("(")[0] == str(ref.value).split("(")[0]


def test_autocast_inside_a_compiled_function_matches_eager():
    w = ts.nn.Parameter(ts.tensor(W[:, :3]))

    def f(x):
        with ts.autocast("cpu"):
            return F.cross_entropy(x @ w, ts.tensor([0, 1, 2, 0]))

    g = ts.compile(f)
    x = ts.tensor(X)
    eager = f(x)
    eager.backward()
    ge = w.grad.clone()
    w.grad = None
    for _ in range(2):  # the trace, then the replay
        out = g(x)
        assert out.dtype is ts.float32 and out.item() == eager.item()
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), ge.numpy(), rtol=1e-6)
