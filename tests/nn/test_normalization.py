"""Normalization layers and their functional forms against PyTorch: forward, gradients w.r.t. inputs and
parameters, running statistics, state dicts, gradcheck/gradgradcheck and error messages."""

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
import tessera.nn.functional as F
from tessera.core.dispatch import REGISTRY, TensorMeta, infer_meta

RTOL, ATOL = 1e-5, 1e-5


def _np(t):
    return t.detach().numpy()


def _close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(_np(a), b.detach().numpy(), rtol=rtol, atol=atol)


def _data(shape, seed=0, scale=2.0, shift=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(np.float32)


def _copy_state(tmod, mod):
    mod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})


def _randomize(tmod, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.randn(p.shape, generator=g))


def _compare_steps(mod, tmod, shape, steps=3, seed=0):
    """Run ``steps`` forward/backward passes on fresh data; compare outputs, input and parameter
    gradients, and finally the state dicts (running statistics)."""
    for step in range(steps):
        x = _data(shape, seed + step)
        g = _data(shape, seed + 100 + step, 1.0, 0.0)
        xt = torch.tensor(x, requires_grad=True)
        xs = ts.tensor(x, requires_grad=True)
        yt, ys = tmod(xt), mod(xs)
        _close(ys, yt)
        yt.backward(torch.tensor(g))
        ys.backward(ts.tensor(g))
        _close(xs.grad, xt.grad)
    for (n, p), (tn, tp) in zip(mod.named_parameters(), tmod.named_parameters()):
        assert n == tn
        _close(p.grad, tp.grad, atol=1e-4)
    tsd, sd = tmod.state_dict(), mod.state_dict()
    assert list(sd) == list(tsd)
    for k in tsd:
        np.testing.assert_allclose(sd[k].numpy(), tsd[k].numpy(), rtol=RTOL, atol=1e-6, err_msg=k)
        assert str(sd[k].dtype).split(".")[-1] == str(tsd[k].dtype).split(".")[-1], k


# -- BatchNorm ----------------------------------------------------------------------------------------------
BN_CASES = [("BatchNorm1d", (8, 4)), ("BatchNorm1d", (6, 4, 5)), ("BatchNorm2d", (4, 4, 5, 3))]


@needs_torch
@pytest.mark.parametrize("name,shape", BN_CASES)
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"momentum": None},
        {"momentum": 0.3, "eps": 1e-3},
        {"affine": False},
        {"track_running_stats": False},
        {"bias": False},
    ],
)
def test_batchnorm_train_steps_and_running_stats(name, shape, kw):
    tmod = getattr(torch.nn, name)(shape[1], **kw)
    mod = getattr(ts.nn, name)(shape[1], **kw)
    _randomize(tmod)
    _copy_state(tmod, mod)
    _compare_steps(mod, tmod, shape, steps=3)
    if kw.get("track_running_stats", True):
        assert int(mod.num_batches_tracked.item()) == 3
    # eval mode uses the running statistics (or batch statistics without them)
    tmod.eval()
    mod.eval()
    _compare_steps(mod, tmod, shape, steps=1, seed=50)


@needs_torch
def test_batchnorm_state_dict_keys_shapes_and_defaults():
    tmod, mod = torch.nn.BatchNorm2d(5), ts.nn.BatchNorm2d(5)
    tsd, sd = tmod.state_dict(), mod.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"] == list(tsd)
    for k in tsd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape)
        np.testing.assert_array_equal(sd[k].numpy(), tsd[k].numpy())
    assert sd["num_batches_tracked"].dtype == ts.int64
    assert list(ts.nn.BatchNorm1d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert list(ts.nn.BatchNorm1d(3, affine=False).state_dict()) == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    # a torch state dict loads unchanged, and back
    tmod.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in mod.state_dict().items()})
    assert (
        repr(mod)
        == "BatchNorm2d(5, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )


@needs_torch
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 7), (2, 3, 4, 5)])
def test_functional_batch_norm(shape):
    x = _data(shape)
    w, b = _data((3,), 1), _data((3,), 2)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    for training in (True, False):
        ts_args = [ts.tensor(a, requires_grad=True) for a in (x, w, b)]
        t_args = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        rms, rvs = ts.tensor(rm), ts.tensor(rv)
        rmt, rvt = torch.tensor(rm), torch.tensor(rv)
        ys = F.batch_norm(ts_args[0], rms, rvs, ts_args[1], ts_args[2], training, 0.2, 1e-4)
        yt = torch.nn.functional.batch_norm(t_args[0], rmt, rvt, t_args[1], t_args[2], training, 0.2, 1e-4)
        _close(ys, yt)
        _close(rms, rmt)
        _close(rvs, rvt)
        g = _data(shape, 3)
        ys.backward(ts.tensor(g))
        yt.backward(torch.tensor(g))
        for a, c in zip(ts_args, t_args):
            _close(a.grad, c.grad, atol=1e-4)


def test_batch_norm_gradcheck_and_double_backward():
    rng = np.random.default_rng(0)
    x = ts.tensor(rng.standard_normal((5, 3, 2)), requires_grad=True)
    w = ts.tensor(rng.standard_normal(3), requires_grad=True)
    b = ts.tensor(rng.standard_normal(3), requires_grad=True)

    def f(a, c, d):
        return F.batch_norm(a, None, None, c, d, True)

    assert ts.autograd.gradcheck(f, (x, w, b))
    assert ts.autograd.gradgradcheck(f, (x, w, b))
    assert ts.autograd.gradcheck(lambda a: F.batch_norm(a, None, None, training=True), (x,))


def test_batch_norm_half_precision_runs():
    x = ts.randn(4, 3, 5).to(ts.float16)
    bn = ts.nn.BatchNorm1d(3).to(ts.float16)
    y = bn(x)
    assert y.dtype == ts.float16 and tuple(y.shape) == (4, 3, 5)
    ref = F.batch_norm(x.float(), None, None, training=True)
    np.testing.assert_allclose(y.float().detach().numpy(), ref.detach().numpy(), atol=1e-2)


def test_batchnorm_errors_name_layer_and_leave_state_unchanged():
    bn = ts.nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input with 3 channels.*\(8, 4, 6, 6\)"):
        bn(ts.randn(8, 4, 6, 6))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D"):
        bn(ts.randn(8, 3, 6))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input"):
        ts.nn.BatchNorm1d(3)(ts.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ts.nn.BatchNorm1d(3)(ts.randn(1, 3))
    assert int(bn.num_batches_tracked.item()) == 0
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0)
    with pytest.raises(RuntimeError, match=r"batch_norm: running_mean should have shape \(4,\)"):
        F.batch_norm(ts.randn(2, 4), ts.zeros(3), ts.ones(3))
    with pytest.raises(ValueError, match="num_features must be a positive int"):
        ts.nn.BatchNorm1d(0)
    ts.nn.BatchNorm1d(3).eval()(ts.randn(1, 3))  # eval mode accepts a single sample


# -- InstanceNorm -------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize(
    "name,shape,kw",
    [
        ("InstanceNorm1d", (3, 4, 6), {}),
        ("InstanceNorm1d", (3, 4, 6), {"affine": True}),
        ("InstanceNorm2d", (2, 4, 3, 5), {"affine": True, "track_running_stats": True}),
    ],
)
def test_instancenorm(name, shape, kw):
    tmod, mod = getattr(torch.nn, name)(shape[1], **kw), getattr(ts.nn, name)(shape[1], **kw)
    _randomize(tmod)
    _copy_state(tmod, mod)
    _compare_steps(mod, tmod, shape, steps=2)
    tmod.eval()
    mod.eval()
    _compare_steps(mod, tmod, shape, steps=1, seed=9)


# -- LayerNorm / GroupNorm / RMSNorm -------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize(
    "shape,normalized,kw",
    [
        ((4, 10), 10, {}),
        ((2, 3, 8), (8,), {"eps": 1e-3}),
        ((2, 3, 4, 5), (4, 5), {}),
        ((3, 6), 6, {"elementwise_affine": False}),
        ((3, 6), 6, {"bias": False}),
    ],
)
def test_layernorm(shape, normalized, kw):
    tmod, mod = torch.nn.LayerNorm(normalized, **kw), ts.nn.LayerNorm(normalized, **kw)
    _randomize(tmod)
    _copy_state(tmod, mod)
    _compare_steps(mod, tmod, shape, steps=2)
    assert [tuple(p.shape) for p in mod.parameters()] == [tuple(p.shape) for p in tmod.parameters()]


@needs_torch
@pytest.mark.parametrize(
    "groups,shape,kw",
    [(2, (3, 6, 5), {}), (3, (2, 6, 2, 3), {}), (1, (4, 4), {}), (4, (2, 4, 3), {"affine": False})],
)
def test_groupnorm(groups, shape, kw):
    tmod, mod = torch.nn.GroupNorm(groups, shape[1], **kw), ts.nn.GroupNorm(groups, shape[1], **kw)
    _randomize(tmod)
    _copy_state(tmod, mod)
    _compare_steps(mod, tmod, shape, steps=2)


@needs_torch
@pytest.mark.parametrize("shape,normalized,kw", [((4, 10), 10, {}), ((2, 3, 4), (3, 4), {"eps": 1e-4})])
def test_rmsnorm(shape, normalized, kw):
    tmod, mod = torch.nn.RMSNorm(normalized, **kw), ts.nn.RMSNorm(normalized, **kw)
    _randomize(tmod)
    _copy_state(tmod, mod)
    _compare_steps(mod, tmod, shape, steps=2)


def test_layer_and_group_norm_gradcheck_and_double_backward():
    rng = np.random.default_rng(3)
    x = ts.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    w = ts.tensor(rng.standard_normal(2), requires_grad=True)
    b = ts.tensor(rng.standard_normal(2), requires_grad=True)
    f = lambda a, c, d: F.layer_norm(a, (2,), c, d)  # noqa: E731
    assert ts.autograd.gradcheck(f, (x, w, b))
    assert ts.autograd.gradgradcheck(f, (x, w, b))
    w4 = ts.tensor(rng.standard_normal(4), requires_grad=True)
    b4 = ts.tensor(rng.standard_normal(4), requires_grad=True)
    g = lambda a, c, d: F.group_norm(a, 2, c, d)  # noqa: E731
    assert ts.autograd.gradcheck(g, (x, w4, b4))
    assert ts.autograd.gradgradcheck(g, (x, w4, b4))
    assert ts.autograd.gradcheck(
        lambda a, c: F.rms_norm(a, (4, 2), c), (x, ts.tensor(rng.random((4, 2)), requires_grad=True))
    )
    assert ts.autograd.gradcheck(lambda a: F.instance_norm(a), (x,))


def test_norm_errors():
    with pytest.raises(RuntimeError, match=r"LayerNorm: expected input with shape \[\*, 5\], got \(2, 4\)"):
        ts.nn.LayerNorm(5)(ts.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"layer_norm: given normalized_shape=\[3\]"):
        F.layer_norm(ts.randn(2, 4), (3,))
    with pytest.raises(RuntimeError, match=r"layer_norm: expected weight of shape \(4,\)"):
        F.layer_norm(ts.randn(2, 4), (4,), ts.ones(3))
    with pytest.raises(
        ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"
    ):
        ts.nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm: expected input with 6 channels"):
        ts.nn.GroupNorm(3, 6)(ts.randn(2, 4, 5))
    with pytest.raises(RuntimeError, match="group_norm: expected the number of channels"):
        F.group_norm(ts.randn(2, 6), 4)
    with pytest.raises(RuntimeError, match=r"RMSNorm: expected input with shape \[\*, 3\]"):
        ts.nn.RMSNorm(3)(ts.randn(2, 4))
    with pytest.raises(RuntimeError, match="batch_norm: expected a floating point input"):
        F.batch_norm(ts.tensor([[1, 2], [3, 4]]), None, None, training=True)


def test_norm_op_meta_rules_match_eager():
    x = ts.randn(4, 3, 5)
    stats = ts.core.dispatch.apply(REGISTRY["norm_stats"], (x,), {"dims": (0, 2), "eps": 1e-5})
    meta = infer_meta(
        REGISTRY["norm_stats"], (TensorMeta((4, 3, 5), ts.float32),), {"dims": (0, 2), "eps": 1e-5}
    )
    assert meta == TensorMeta(tuple(stats.shape), stats.dtype) == TensorMeta((3, 1, 3, 1), ts.float32)


@needs_torch
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shift", [0.0, 1.0, 20.0, "mixed"])
def test_layer_norm_row_fast_path_and_offset_fallback(affine, shift):
    """Rows with small |mean|/std take the expanded BLAS formulas; rows with a large offset (here all, or
    every other row) must fall back to the centered ones and still match PyTorch."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 6, 64)).astype(np.float32)
    x += np.float32(20.0) * (np.arange(6)[:, None] % 2) if shift == "mixed" else np.float32(shift)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.standard_normal(64).astype(np.float32) if affine else None
    b = rng.standard_normal(64).astype(np.float32) if affine else None
    params = [ts.tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
    tparams = [torch.tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
    ys = F.layer_norm(params[0], (64,), params[1], params[2])
    yt = torch.nn.functional.layer_norm(tparams[0], (64,), tparams[1], tparams[2])
    _close(ys, yt)
    ys.backward(ts.tensor(g))
    yt.backward(torch.tensor(g))
    for p, tp in zip(params, tparams):
        if p is not None:
            _close(p.grad, tp.grad, atol=1e-4)


@needs_torch
def test_layer_norm_noncontiguous_and_dtypes():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((32, 5, 3)).astype(np.float32)
    xs = ts.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ys = F.layer_norm(xs.transpose(0, 2), (32,))
    yt = torch.nn.functional.layer_norm(xt.transpose(0, 2), (32,))
    _close(ys, yt)
    ys.sum().backward()
    yt.sum().backward()
    _close(xs.grad, xt.grad)
    for dt in (ts.float64, ts.float16, ts.bfloat16):
        xd = ts.tensor(x[:, 0, :], dtype=dt, requires_grad=True)
        w = ts.ones(3, dtype=dt, requires_grad=True)
        y = F.layer_norm(xd, (3,), w, ts.zeros(3, dtype=dt))
        y.sum().backward()
        assert y.dtype == dt and xd.grad.dtype == dt and w.grad.dtype == dt
        ref = torch.nn.functional.layer_norm(torch.tensor(x[:, 0, :], dtype=torch.float64), (3,))
        np.testing.assert_allclose(y.detach().to(ts.float64).numpy(), ref.numpy(), rtol=2e-2, atol=2e-2)
