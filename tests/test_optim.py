"""ts.optim optimizers against torch.optim: trajectories, state dicts, parameter groups and errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts

STEPS = 20

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.01, "maximize": True}),
    ("SGD", {"lr": 0.02, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 1e-2}),
    ("Adam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("Adam", {"lr": 1e-2, "amsgrad": True}),
    ("Adam", {"lr": 1e-2, "maximize": True}),
    ("Adam", {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "amsgrad": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 1e-2, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 1e-3, "momentum": 0.9}),
    ("RMSprop", {"lr": 1e-3, "centered": True}),
    ("RMSprop", {"lr": 1e-3, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 1e-3, "maximize": True, "alpha": 0.9}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-6}),
]


def _ids(configs):
    return [f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw in configs]


# -- models --------------------------------------------------------------------------------------------------
def _models(dtype=np.float32, seed=0):
    """The same 5-8-3 MLP in torch and Tessera, plus fixed data."""
    torch.manual_seed(seed)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    smodel = ts.nn.Sequential(ts.nn.Linear(5, 8), ts.nn.ReLU(), ts.nn.Linear(8, 3))
    if dtype == np.float64:
        tmodel = tmodel.double()
        smodel = smodel.to(ts.float64)
    smodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 5)).astype(dtype)
    y = rng.standard_normal((16, 3)).astype(dtype)
    return tmodel, smodel, (torch.from_numpy(x), torch.from_numpy(y)), (ts.tensor(x), ts.tensor(y))


def _train_step(opt, model, data):
    x, y = data
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def _groups(model, kwargs, lr0):
    """Two parameter groups: the first layer with its own lr, the last layer with the defaults."""
    ps = list(model.parameters())
    return [{"params": ps[:2], "lr": lr0}, {"params": ps[2:]}]


def _assert_params_close(tmodel, smodel, step, rtol=1e-5, atol=1e-6):
    for (name, tp), sp in zip(tmodel.named_parameters(), smodel.parameters()):
        np.testing.assert_allclose(
            sp.detach().numpy(),
            tp.detach().numpy(),
            rtol=rtol,
            atol=atol,
            err_msg=f"{name} after step {step}",
        )


# -- trajectories ----------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=_ids(CONFIGS))
def test_trajectory_matches_torch(name, kwargs):
    tmodel, smodel, tdata, sdata = _models()
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    sopt = getattr(ts.optim, name)(smodel.parameters(), **kwargs)
    for step in range(STEPS):
        tl = _train_step(topt, tmodel, tdata)
        sl = _train_step(sopt, smodel, sdata)
        np.testing.assert_allclose(sl.item(), tl.item(), rtol=1e-5)
        _assert_params_close(tmodel, smodel, step)


@needs_torch
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("Adam", {"lr": 1e-2, "amsgrad": True, "weight_decay": 0.01}),
        ("AdamW", {"lr": 1e-2}),
        ("RMSprop", {"lr": 1e-2, "centered": True, "momentum": 0.9}),
        ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ],
)
def test_param_groups_with_different_lrs(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(seed=1)
    topt = getattr(torch.optim, name)(_groups(tmodel, kwargs, 0.003), **kwargs)
    sopt = getattr(ts.optim, name)(_groups(smodel, kwargs, 0.003), **kwargs)
    assert [g["lr"] for g in sopt.param_groups] == [g["lr"] for g in topt.param_groups]
    for step in range(STEPS):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step)


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[1::3], ids=_ids(CONFIGS[1::3]))
def test_trajectory_float64(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(np.float64, seed=2)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    sopt = getattr(ts.optim, name)(smodel.parameters(), **kwargs)
    for step in range(STEPS):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step, rtol=1e-10, atol=1e-12)
    for p in smodel.parameters():
        assert p.dtype == ts.float64
        for v in sopt.state[p].values():
            if v.ndim:
                assert v.dtype == ts.float64


@needs_torch
def test_lr_change_between_steps_and_closure():
    tmodel, smodel, tdata, sdata = _models(seed=3)
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-2)
    sopt = ts.optim.Adam(smodel.parameters(), lr=1e-2)
    for step in range(8):
        for opt, model, (x, y) in ((topt, tmodel, tdata), (sopt, smodel, sdata)):
            for g in opt.param_groups:
                g["lr"] = 1e-2 / (step + 1)
                g["betas"] = (0.9 - 0.01 * step, 0.999)

            def closure(opt=opt, model=model, x=x, y=y):
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                return loss

            loss = opt.step(closure)
            assert loss is not None
        _assert_params_close(tmodel, smodel, step)


# -- state dicts -----------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[1::2], ids=_ids(CONFIGS[1::2]))
def test_state_dict_round_trip(name, kwargs):
    # uninterrupted run
    _, full, _, sdata = _models(seed=4)
    opt = getattr(ts.optim, name)(full.parameters(), **kwargs)
    for _ in range(10):
        _train_step(opt, full, sdata)
    # 5 steps, save, load into a fresh optimizer (different lr) on a copy of the model, 5 more steps
    _, part, _, _ = _models(seed=4)
    opt1 = getattr(ts.optim, name)(part.parameters(), **kwargs)
    for _ in range(5):
        _train_step(opt1, part, sdata)
    saved = opt1.state_dict()
    saved_copy = copy.deepcopy(saved)
    resumed = copy.deepcopy(part)
    opt2 = getattr(ts.optim, name)(resumed.parameters(), **{**kwargs, "lr": 123.0})
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt1.param_groups[0]["lr"]
    for _ in range(5):
        _train_step(opt2, resumed, sdata)
        _train_step(opt1, part, sdata)  # keep stepping the original: the saved dict must not change
    for a, b in zip(full.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for k, st in saved["state"].items():
        for key, v in st.items():
            np.testing.assert_array_equal(v.detach().numpy(), saved_copy["state"][k][key].numpy())


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[::2], ids=_ids(CONFIGS[::2]))
def test_state_dict_format_matches_torch(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(seed=5)
    topt = getattr(torch.optim, name)(_groups(tmodel, kwargs, 0.002), **kwargs)
    sopt = getattr(ts.optim, name)(_groups(smodel, kwargs, 0.002), **kwargs)
    assert sopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]
    assert repr(sopt) == repr(topt)
    for _ in range(3):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
    tsd, ssd = topt.state_dict(), sopt.state_dict()
    assert ssd["param_groups"] == tsd["param_groups"]
    assert sorted(ssd["state"]) == sorted(tsd["state"])
    for k in tsd["state"]:
        assert sorted(ssd["state"][k]) == sorted(tsd["state"][k])
        for key, tv in tsd["state"][k].items():
            sv = ssd["state"][k][key]
            assert isinstance(sv, ts.Tensor)
            assert sv.shape == tuple(tv.shape)
            np.testing.assert_allclose(sv.numpy(), tv.numpy(), rtol=1e-5, atol=1e-7)


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[::3], ids=_ids(CONFIGS[::3]))
def test_load_torch_state_dict_and_continue(name, kwargs):
    """A torch optimizer's state_dict (torch tensors) loads into Tessera, which then continues like torch."""
    tmodel, smodel, tdata, sdata = _models(seed=6)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    for _ in range(5):
        _train_step(topt, tmodel, tdata)
    smodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    sopt = getattr(ts.optim, name)(smodel.parameters(), **kwargs)
    sopt.load_state_dict(topt.state_dict())
    for st in sopt.state.values():
        assert all(isinstance(v, ts.Tensor) for v in st.values())
    for step in range(5):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step)


def test_load_state_dict_validates_and_casts():
    w = ts.zeros(3, requires_grad=True)
    b = ts.zeros(2, requires_grad=True)
    opt = ts.optim.SGD([w, b], lr=0.1, momentum=0.9)
    sd = {
        "state": {0: {"momentum_buffer": np.ones(3, dtype=np.float64)}},
        "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.5)],
    }
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": sd["param_groups"] * 2})
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict({"state": {}, "param_groups": [dict(sd["param_groups"][0], params=[0])]})
    with pytest.raises(ValueError, match="has shape"):
        opt.load_state_dict(
            {"state": {1: {"momentum_buffer": np.ones(3)}}, "param_groups": sd["param_groups"]}
        )
    assert opt.state_dict() == before  # nothing changed
    opt.load_state_dict(sd)
    buf = opt.state[w]["momentum_buffer"]
    assert isinstance(buf, ts.Tensor) and buf.dtype == ts.float32
    assert opt.param_groups[0]["lr"] == 0.5
    assert opt.param_groups[0]["params"][0] is w
    buf._data += 1  # no aliasing with the loaded dict
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], np.ones(3))


def test_adamw_load_keeps_decoupled():
    w = ts.zeros(3, requires_grad=True)
    sd = ts.optim.Adam([ts.zeros(3, requires_grad=True)]).state_dict()
    opt = ts.optim.AdamW([w])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True
    assert ts.optim.AdamW([w]).defaults["weight_decay"] == 1e-2


# -- base-class behaviour --------------------------------------------------------------------------------
def test_zero_grad():
    w = ts.ones(3, requires_grad=True)
    opt = ts.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert w.grad is None


def test_params_without_grad_are_skipped():
    w = ts.ones(3, requires_grad=True)
    v = ts.ones(2, requires_grad=True)
    for opt in (
        ts.optim.SGD([w, v], lr=0.1, momentum=0.9),
        ts.optim.Adam([w, v]),
        ts.optim.RMSprop([w, v]),
    ):
        (w * w).sum().backward()
        opt.step()
        np.testing.assert_array_equal(v.detach().numpy(), np.ones(2))
        assert v not in opt.state or not opt.state[v]
        assert len(opt.state[w]) > 0
        opt.zero_grad()


def test_step_bumps_version_and_autograd_detects_misuse():
    w = ts.ones(3, requires_grad=True)
    opt = ts.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    v0 = w._version
    opt.step()
    assert w._version == v0 + 1
    assert w.grad_fn is None and w.requires_grad
    loss = (w * w).sum()  # saves w
    opt.step()  # modifies w in place before backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_step_not_recorded_by_autograd():
    w = ts.ones(3, requires_grad=True)
    opt = ts.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w.is_leaf and w.grad_fn is None
    assert all(not v.requires_grad for v in opt.state[w].values())


def test_add_param_group_and_repr():
    w = ts.ones(2, requires_grad=True)
    opt = ts.optim.SGD([w], lr=0.1, momentum=0.9)
    b = ts.ones(3, requires_grad=True)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    (w.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(b.detach().numpy(), np.full(3, 0.99), rtol=1e-6)
    np.testing.assert_allclose(w.detach().numpy(), np.full(2, 0.9), rtol=1e-6)
    assert "Parameter Group 1\n" in repr(opt) and "    lr: 0.01\n" in repr(opt)


def test_named_params_and_hooks():
    model = ts.nn.Linear(2, 2)
    opt = ts.optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


def test_deepcopy_optimizer():
    model = ts.nn.Linear(2, 2)
    opt = ts.optim.Adam(model.parameters())
    model(ts.ones(1, 2)).sum().backward()
    opt.step()
    opt2 = copy.deepcopy(opt)
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


# -- errors ----------------------------------------------------------------------------------------------
INVALID = [
    ("SGD", {"lr": -1.0}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-2}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("Adam", {"lr": -1.0}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"weight_decay": -1.0}),
    ("AdamW", {"lr": -0.5}),
    ("AdamW", {"betas": (0.9, 1.5)}),
    ("RMSprop", {"lr": -1.0}),
    ("RMSprop", {"alpha": -0.1}),
    ("RMSprop", {"eps": -1.0}),
    ("RMSprop", {"momentum": -1.0}),
    ("RMSprop", {"weight_decay": -1.0}),
    ("Adagrad", {"lr": -1.0}),
    ("Adagrad", {"lr_decay": -1.0}),
    ("Adagrad", {"weight_decay": -1.0}),
    ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs", INVALID, ids=_ids(INVALID))
def test_invalid_hyperparameters_match_torch(name, kwargs):
    with pytest.raises(ValueError) as texc:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as sexc:
        getattr(ts.optim, name)([ts.zeros(2, requires_grad=True)], **kwargs)
    assert str(sexc.value) == str(texc.value)


def test_invalid_group_hyperparameter():
    w, b = ts.zeros(2, requires_grad=True), ts.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        ts.optim.SGD([{"params": [w]}, {"params": [b], "lr": -0.1}], lr=0.1)
    opt = ts.optim.Adam([w])
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 2"):
        opt.add_param_group({"params": [b], "betas": (2, 0.9)})
    assert len(opt.param_groups) == 1


def test_invalid_params():
    w = ts.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        ts.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        ts.optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        ts.optim.SGD([w, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        ts.optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="floating point dtype, but one of the params has dtype"):
        ts.optim.SGD([ts.zeros(2, dtype=ts.int64)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        ts.optim.SGD([{"params": [w]}, {"params": [w], "lr": 0.2}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        ts.optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        ts.optim.SGD([w], lr=0.1).add_param_group([w])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        ts.optim.SGD([w, w], lr=0.1)


def test_subclass_step_calling_super_runs_hooks_once():
    class MySGD(ts.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    w = ts.ones(2, requires_grad=True)
    opt = MySGD([w], lr=0.5)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    w.sum().backward()
    opt.step()
    assert calls == ["pre"]
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 0.5])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
        ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
        ("AdamW", {"lr": 0.01}),
        ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
        ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ],
)
def test_params_keep_their_dtype(name, kwargs, dtype):
    dt = getattr(ts, dtype)
    w = ts.ones(4, dtype=dt, requires_grad=True)
    opt = getattr(ts.optim, name)([w], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert w.dtype == dt
    vals = w.detach().float().numpy()
    assert np.all(np.isfinite(vals)) and np.all(vals < 1.0)
    for key, v in opt.state[w].items():
        assert v.dtype == (dt if key != "step" else ts.float32)
