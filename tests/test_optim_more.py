"""The optimizers beyond test_optim.py's (Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, Adafactor, SparseAdam,
Muon, LBFGS), ``optim.swa_utils`` and ``swap_in_optimizer_params_and_state`` against torch.optim:
trajectories, state dicts, errors, and a compiled step."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from opcheck import needs_torch, torch
from test_optim import _assert_params_close, _groups, _ids, _models, _train_step

import tessera as ts

STEPS = 20

CONFIGS = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5}),
    ("Adadelta", {"lr": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    ("Adamax", {"lr": 1e-2, "maximize": True, "eps": 1e-6}),
    ("NAdam", {}),
    ("NAdam", {"lr": 1e-2, "momentum_decay": 1e-2}),
    ("NAdam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("NAdam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 1e-2, "betas": (0.9, 0.9)}),
    ("RAdam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("RAdam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "t0": 5, "lambd": 1e-3, "alpha": 0.5}),
    ("ASGD", {"lr": 0.05, "t0": 3, "weight_decay": 0.1, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 1e-3, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.01)}),
    ("Rprop", {"lr": 1e-3, "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-3), "d": 2.0}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
]


def _make(lib, name, params, kwargs):
    return getattr(lib.optim, name)(params, **kwargs)


# -- trajectories ----------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=_ids(CONFIGS))
def test_trajectory_matches_torch(name, kwargs):
    tmodel, smodel, tdata, sdata = _models()
    topt = _make(torch, name, tmodel.parameters(), kwargs)
    sopt = _make(ts, name, smodel.parameters(), kwargs)
    for step in range(STEPS):
        tl = _train_step(topt, tmodel, tdata)
        sl = _train_step(sopt, smodel, sdata)
        np.testing.assert_allclose(sl.item(), tl.item(), rtol=1e-5)
        _assert_params_close(tmodel, smodel, step)


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[1::2], ids=_ids(CONFIGS[1::2]))
def test_trajectory_float64(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(np.float64, seed=2)
    topt = _make(torch, name, tmodel.parameters(), kwargs)
    sopt = _make(ts, name, smodel.parameters(), kwargs)
    for step in range(STEPS):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step, rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[::3], ids=_ids(CONFIGS[::3]))
def test_param_groups_with_different_lrs(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(seed=1)
    topt = _make(torch, name, _groups(tmodel, kwargs, 0.003), kwargs)
    sopt = _make(ts, name, _groups(smodel, kwargs, 0.003), kwargs)
    for step in range(STEPS):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step)


# -- state dicts -----------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[1::2], ids=_ids(CONFIGS[1::2]))
def test_state_dict_round_trip(name, kwargs):
    _, full, _, sdata = _models(seed=4)
    opt = _make(ts, name, full.parameters(), kwargs)
    for _ in range(10):
        _train_step(opt, full, sdata)
    _, part, _, _ = _models(seed=4)
    opt1 = _make(ts, name, part.parameters(), kwargs)
    for _ in range(5):
        _train_step(opt1, part, sdata)
    saved = opt1.state_dict()
    saved_copy = copy.deepcopy(saved)
    resumed = copy.deepcopy(part)
    opt2 = _make(ts, name, resumed.parameters(), {**kwargs, "lr": 0.123})
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt1.param_groups[0]["lr"]
    for _ in range(5):
        _train_step(opt2, resumed, sdata)
        _train_step(opt1, part, sdata)  # the saved dict must not change
    for a, b in zip(full.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for k, st in saved["state"].items():
        for key, v in st.items():
            np.testing.assert_array_equal(np.asarray(v), np.asarray(saved_copy["state"][k][key]))


def _assert_state_dicts_match(ssd, tsd):
    assert ssd["param_groups"] == tsd["param_groups"]
    assert sorted(ssd["state"]) == sorted(tsd["state"])
    for k in tsd["state"]:
        assert sorted(ssd["state"][k]) == sorted(tsd["state"][k])
        for key, tv in tsd["state"][k].items():
            sv = ssd["state"][k][key]
            if isinstance(tv, torch.Tensor):
                assert isinstance(sv, ts.Tensor), key
                assert sv.shape == tuple(tv.shape), key
                assert sv.numpy().dtype == tv.numpy().dtype, key
                np.testing.assert_allclose(sv.numpy(), tv.numpy(), rtol=1e-5, atol=1e-7, err_msg=key)
            else:
                assert type(sv) is type(tv) and sv == tv, key


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[::2], ids=_ids(CONFIGS[::2]))
def test_state_dict_format_matches_torch(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(seed=5)
    topt = _make(torch, name, _groups(tmodel, kwargs, 0.002), kwargs)
    sopt = _make(ts, name, _groups(smodel, kwargs, 0.002), kwargs)
    assert sopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]
    assert repr(sopt) == repr(topt)
    for _ in range(3):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
    _assert_state_dicts_match(sopt.state_dict(), topt.state_dict())


@needs_torch
@pytest.mark.parametrize("name,kwargs", CONFIGS[::3], ids=_ids(CONFIGS[::3]))
def test_load_torch_state_dict_and_continue(name, kwargs):
    tmodel, smodel, tdata, sdata = _models(seed=6)
    topt = _make(torch, name, tmodel.parameters(), kwargs)
    for _ in range(5):
        _train_step(topt, tmodel, tdata)
    smodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    sopt = _make(ts, name, smodel.parameters(), kwargs)
    sopt.load_state_dict(topt.state_dict())
    for step in range(5):
        _train_step(topt, tmodel, tdata)
        _train_step(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step)


def test_adafactor_batched_matrices_and_state_shapes():
    torch_ = pytest.importorskip("torch")
    w0 = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    tw, sw = torch_.tensor(w0, requires_grad=True), ts.tensor(w0, requires_grad=True)
    topt, sopt = torch_.optim.Adafactor([tw], lr=0.05), ts.optim.Adafactor([sw], lr=0.05)
    for _ in range(10):
        for opt, w in ((topt, tw), (sopt, sw)):
            opt.zero_grad()
            (w.sin() * w).sum().backward()
            opt.step()
    np.testing.assert_allclose(sw.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    _assert_state_dicts_match(sopt.state_dict(), topt.state_dict())
    assert tuple(sopt.state[sw]["row_var"].shape) == (2, 3, 1)
    bad = sopt.state_dict()
    bad["state"][0]["row_var"] = np.zeros((2, 1, 4), np.float32)
    with pytest.raises(ValueError, match="row_var"):
        sopt.load_state_dict(bad)


# -- SparseAdam ------------------------------------------------------------------------------------------
class _COO:
    """A minimal coalesced COO gradient (what SparseAdam reads): indices (sparse_dim, nnz), values."""

    is_sparse = True

    def __init__(self, indices, values, shape):
        self._i, self._v, self.shape = indices, values, tuple(shape)

    def coalesce(self):
        return self

    def indices(self):
        return ts.tensor(self._i)

    def values(self):
        return ts.tensor(self._v)


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}, {"maximize": True}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_adam_matches_torch(kwargs, dtype):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((10, 3)).astype(dtype)
    tw, sw = torch.tensor(w0, requires_grad=True), ts.tensor(w0, requires_grad=True)
    topt, sopt = torch.optim.SparseAdam([tw], **kwargs), ts.optim.SparseAdam([sw], **kwargs)
    for step in range(STEPS):
        rows = np.sort(rng.choice(10, size=4, replace=False))[None, :]
        vals = rng.standard_normal((4, 3)).astype(dtype)
        if step == 3:
            rows, vals = rows[:, :0], vals[:0]  # an empty gradient: step counted, nothing updated
        tw.grad = torch.sparse_coo_tensor(torch.tensor(rows), torch.tensor(vals), (10, 3))
        sw.grad = _COO(rows, vals, (10, 3))
        topt.step()
        sopt.step()
        tol = (1e-6, 1e-7) if dtype == np.float32 else (1e-12, 1e-14)
        np.testing.assert_allclose(sw.detach().numpy(), tw.detach().numpy(), rtol=tol[0], atol=tol[1])
    _assert_state_dicts_match(sopt.state_dict(), topt.state_dict())


def test_sparse_adam_errors():
    w = ts.zeros(4, 2, requires_grad=True)
    opt = ts.optim.SparseAdam([w])
    w.grad = ts.ones(4, 2)
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        opt.step()
    w.grad = _COO(np.array([[0, 5]]), np.ones((2, 2), np.float32), (4, 2))
    w.grad._i = np.array([[0, 1]])
    w.grad._v = np.ones((2, 3), np.float32)
    with pytest.raises(RuntimeError, match=r"SparseAdam.*values \(2, 3\).*shape \(4, 2\)"):
        opt.step()
    assert not opt.state and np.all(w.detach().numpy() == 0)
    with pytest.raises(ValueError, match="Invalid learning rate: 0"):
        ts.optim.SparseAdam([w], lr=0.0)
    with pytest.raises(ValueError, match="Invalid epsilon value: 0"):
        ts.optim.SparseAdam([w], eps=0.0)


# -- Muon ------------------------------------------------------------------------------------------------
MUON_CONFIGS = [
    {"lr": 0.02},
    {"lr": 0.02, "nesterov": False, "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.0},
    {"lr": 0.05, "momentum": 0.9, "ns_steps": 3, "ns_coefficients": (3.0, -3.2, 1.2)},
]


@needs_torch
@pytest.mark.parametrize("kwargs", MUON_CONFIGS)
@pytest.mark.parametrize("shape", [(6, 4), (3, 5)])
def test_muon_matches_torch(kwargs, shape):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(shape).astype(np.float32)
    x = rng.standard_normal((8, shape[1])).astype(np.float32)
    y = rng.standard_normal((8, shape[0])).astype(np.float32)
    tw, sw = torch.tensor(w0, requires_grad=True), ts.tensor(w0, requires_grad=True)
    topt, sopt = torch.optim.Muon([tw], **kwargs), ts.optim.Muon([sw], **kwargs)
    for _ in range(STEPS):
        for opt, w, lib in ((topt, tw, torch), (sopt, sw, ts)):
            opt.zero_grad()
            ((lib.tensor(x) @ w.T - lib.tensor(y)) ** 2).mean().backward()
            opt.step()
    # the Newton-Schulz iteration runs in bfloat16 in both; its roundings agree to a few bfloat16 ulps
    np.testing.assert_allclose(sw.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(sw.detach().numpy() - w0).max() > 0.1
    _assert_state_dicts_match(sopt.state_dict(), topt.state_dict())


# -- LBFGS -----------------------------------------------------------------------------------------------
def _rosenbrock(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


LBFGS_CASES = [
    (np.float64, {"lr": 0.05}),
    (np.float64, {"lr": 0.05, "history_size": 3, "max_iter": 7}),
    (np.float64, {"line_search_fn": "strong_wolfe"}),
    (np.float64, {"line_search_fn": "strong_wolfe", "history_size": 3, "max_eval": 30}),
    (np.float64, {"lr": 0.5, "line_search_fn": "strong_wolfe", "tolerance_change": 1e-4}),
    (np.float32, {"lr": 0.05}),
    # float32 dot products round differently by an ulp in torch; after a few line searches one takes another
    # branch, so float32 with strong_wolfe is compared over the first step's 10 iterations
    (np.float32, {"line_search_fn": "strong_wolfe", "steps": 1}),
]


@needs_torch
@pytest.mark.parametrize("dtype,kwargs", LBFGS_CASES, ids=[f"{d.__name__}-{k}" for d, k in LBFGS_CASES])
def test_lbfgs_matches_torch_on_rosenbrock(dtype, kwargs):
    x0 = np.array([-1.5, 2.0, 0.5, -0.7], dtype=dtype)
    tx, sx = torch.tensor(x0, requires_grad=True), ts.tensor(x0, requires_grad=True)
    kwargs = {"max_iter": 10, **kwargs}
    steps = kwargs.pop("steps", 8)
    topt, sopt = torch.optim.LBFGS([tx], **kwargs), ts.optim.LBFGS([sx], **kwargs)
    tol = (1e-10, 1e-12) if dtype == np.float64 else (1e-5, 1e-6)
    for _ in range(steps):
        losses = []
        for opt, x in ((topt, tx), (sopt, sx)):

            def closure(opt=opt, x=x):
                opt.zero_grad()
                loss = _rosenbrock(x)
                loss.backward()
                return loss

            losses.append(float(opt.step(closure)))
        np.testing.assert_allclose(losses[1], losses[0], rtol=tol[0])
        np.testing.assert_allclose(sx.detach().numpy(), tx.detach().numpy(), rtol=tol[0], atol=tol[1])
    tst, sst = topt.state[tx], sopt.state[sx]
    assert sst["func_evals"] == tst["func_evals"] and sst["n_iter"] == tst["n_iter"]
    assert sorted(sst) == sorted(tst)
    assert len(sst["old_dirs"]) == len(tst["old_dirs"])
    tsd, ssd = topt.state_dict(), sopt.state_dict()
    assert ssd["param_groups"] == tsd["param_groups"]
    assert sorted(ssd["state"][0]) == sorted(tsd["state"][0])


@needs_torch
def test_lbfgs_several_params_state_dict_and_resume():
    tmodel, smodel, tdata, sdata = _models(np.float64, seed=7)
    kwargs = {"lr": 0.5, "max_iter": 4, "history_size": 5, "line_search_fn": "strong_wolfe"}
    topt = torch.optim.LBFGS(tmodel.parameters(), **kwargs)
    sopt = ts.optim.LBFGS(smodel.parameters(), **kwargs)

    def run(opt, model, data):
        x, y = data

        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        return opt.step(closure)

    for step in range(3):
        run(topt, tmodel, tdata)
        run(sopt, smodel, sdata)
        _assert_params_close(tmodel, smodel, step, rtol=1e-9, atol=1e-11)
    # a torch state dict (flat direction, curvature pairs) loads into Tessera, which continues like torch
    resumed = copy.deepcopy(smodel)
    sopt2 = ts.optim.LBFGS(resumed.parameters(), **kwargs)
    sopt2.load_state_dict(topt.state_dict())
    assert len(sopt2.state[next(resumed.parameters())]["old_dirs"]) == len(
        topt.state_dict()["state"][0]["old_dirs"]
    )
    for step in range(2):
        run(topt, tmodel, tdata)
        run(sopt2, resumed, sdata)
        _assert_params_close(tmodel, resumed, step, rtol=1e-9, atol=1e-11)


def test_lbfgs_errors():
    w, b = ts.zeros(2, requires_grad=True), ts.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        ts.optim.LBFGS([w], lr=-1)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        ts.optim.LBFGS([{"params": [w]}, {"params": [b]}])
    opt = ts.optim.LBFGS([w], line_search_fn="wolfe")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(lambda: ((w - 1) ** 2).sum().backward() or ((w - 1) ** 2).sum())
    assert ts.optim.LBFGS([w], max_iter=8).defaults["max_eval"] == 10
