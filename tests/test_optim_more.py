"""The optimizers beyond test_optim.py's (Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, Adafactor, SparseAdam,
Muon, LBFGS), ``optim.swa_utils`` and ``swap_in_optimizer_params_and_state`` against torch.optim:
trajectories, state dicts, errors, and a compiled step."""

from __future__ import annotations

import copy
import warnings

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


@needs_torch
def test_sparse_adam_with_ts_sparse_coo_tensors():
    """Uncoalesced COO gradients (duplicate rows add up) built with ``ts.sparse_coo_tensor``."""
    if not hasattr(ts, "sparse_coo_tensor"):
        pytest.skip("ts.sparse_coo_tensor is not available")
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((8, 2, 3))
    tw, sw = torch.tensor(w0, requires_grad=True), ts.tensor(w0, requires_grad=True)
    topt, sopt = torch.optim.SparseAdam([tw], lr=0.05), ts.optim.SparseAdam([sw], lr=0.05)
    for _ in range(10):
        idx = rng.integers(0, 8, size=(1, 6))
        vals = rng.standard_normal((6, 2, 3))
        tw.grad = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals), (8, 2, 3))
        sw.grad = ts.sparse_coo_tensor(ts.tensor(idx), ts.tensor(vals), (8, 2, 3))
        topt.step()
        sopt.step()
    np.testing.assert_allclose(sw.detach().numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)


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

            losses.append(float(opt.step(closure).detach()))
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


# -- errors ----------------------------------------------------------------------------------------------
INVALID = [
    ("Adadelta", {"lr": -1.0}),
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"eps": -1e-6}),
    ("Adadelta", {"weight_decay": -1.0}),
    ("Adamax", {"lr": -1.0}),
    ("Adamax", {"eps": -1.0}),
    ("Adamax", {"betas": (1.0, 0.999)}),
    ("Adamax", {"betas": (0.9, -0.1)}),
    ("Adamax", {"weight_decay": -1.0}),
    ("NAdam", {"lr": -1.0}),
    ("NAdam", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -1.0}),
    ("NAdam", {"weight_decay": -0.5}),
    ("RAdam", {"lr": -1.0}),
    ("RAdam", {"eps": -1.0}),
    ("RAdam", {"betas": (-0.1, 0.9)}),
    ("RAdam", {"weight_decay": -1.0}),
    ("ASGD", {"lr": -1.0}),
    ("ASGD", {"weight_decay": -1.0}),
    ("Rprop", {"lr": -1.0}),
    ("Rprop", {"etas": (1.5, 1.2)}),
    ("Rprop", {"etas": (0.5, 0.9)}),
    ("Adafactor", {"lr": -1.0}),
    ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}),
    ("Adafactor", {"eps": (None, -1e-3)}),
    ("Adafactor", {"d": 0.5}),
    ("Adafactor", {"weight_decay": -1.0}),
    ("SparseAdam", {"lr": -1.0}),
    ("SparseAdam", {"eps": 0.0}),
    ("SparseAdam", {"betas": (0.9, 1.0)}),
    ("LBFGS", {"lr": -1.0}),
    ("Muon", {"lr": -1.0}),
    ("Muon", {"momentum": -1.0}),
    ("Muon", {"weight_decay": -1.0}),
    ("Muon", {"adjust_lr_fn": "other"}),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs", INVALID, ids=_ids(INVALID))
def test_invalid_hyperparameters_match_torch(name, kwargs):
    with pytest.raises(ValueError) as texc:
        getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as sexc:
        getattr(ts.optim, name)([ts.zeros(2, 2, requires_grad=True)], **kwargs)
    assert str(sexc.value) == str(texc.value)


def test_other_errors():
    w = ts.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        ts.optim.Muon([w])
    m = ts.zeros(2, 2, requires_grad=True)
    opt = ts.optim.Muon([m], ns_steps=100)
    m.grad = ts.ones(2, 2)
    with pytest.raises(ValueError, match="Number of steps must be less than 100"):
        opt.step()
    assert not opt.state
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 2"):
        ts.optim.NAdam([w]).add_param_group({"params": [m], "betas": (2, 0.9)})
    with pytest.raises(NotImplementedError, match="differentiable"):
        ts.optim.RAdam([w], differentiable=True)
    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"):
        getattr(ts.optim, name)([w], foreach=False, capturable=True, maximize=True)  # accepted flags
    ts.optim.Adafactor([w], foreach=True, maximize=True)


# -- defaults and signatures -----------------------------------------------------------------------------
NEW = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor", "SparseAdam", "Muon", "LBFGS"]


@needs_torch
@pytest.mark.parametrize("name", NEW)
def test_signature_and_defaults_match_torch(name):
    import inspect

    tsig = inspect.signature(getattr(torch.optim, name).__init__).parameters
    ssig = inspect.signature(getattr(ts.optim, name).__init__).parameters
    assert list(ssig) == list(tsig)
    for k, tp in tsig.items():
        assert ssig[k].kind == tp.kind, k
        assert ssig[k].default == tp.default, k
    shape = (2, 2)
    topt = getattr(torch.optim, name)([torch.zeros(shape, requires_grad=True)])
    sopt = getattr(ts.optim, name)([ts.zeros(shape, requires_grad=True)])
    assert sopt.defaults == topt.defaults
    assert sopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


# -- swa_utils -------------------------------------------------------------------------------------------
def _bn_models(seed=0):
    torch.manual_seed(seed)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2))
    sm = ts.nn.Sequential(ts.nn.Linear(4, 5), ts.nn.BatchNorm1d(5), ts.nn.Linear(5, 2))
    sm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, sm


AVERAGERS = {
    "swa": lambda lib: {},
    "ema_multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)},
    "swa_multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_swa_multi_avg_fn()},
    "ema": lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.8)},
    "swa_buffers": lambda lib: {"use_buffers": True},
    "ema_multi_buffers": lambda lib: {
        "multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.7),
        "use_buffers": True,
    },
}


@needs_torch
@pytest.mark.parametrize("kind", sorted(AVERAGERS))
def test_averaged_model_matches_torch(kind):
    tm, sm = _bn_models()
    tavg = torch.optim.swa_utils.AveragedModel(tm, **AVERAGERS[kind](torch))
    savg = ts.optim.swa_utils.AveragedModel(sm, **AVERAGERS[kind](ts))
    topt, sopt = torch.optim.SGD(tm.parameters(), lr=0.1), ts.optim.SGD(sm.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = rng.standard_normal((8, 4)).astype(np.float32)
        for opt, model, avg, lib in ((topt, tm, tavg, torch), (sopt, sm, savg, ts)):
            opt.zero_grad()
            model(lib.tensor(x)).pow(2).mean().backward()
            opt.step()
            avg.update_parameters(model)
    tsd, ssd = tavg.state_dict(), savg.state_dict()
    assert list(ssd) == list(tsd)
    for k, tv in tsd.items():
        np.testing.assert_allclose(ssd[k].numpy(), tv.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
        assert ssd[k].numpy().dtype == tv.numpy().dtype, k
    x = rng.standard_normal((3, 4)).astype(np.float32)
    tavg.eval(), savg.eval()
    np.testing.assert_allclose(
        savg(ts.tensor(x)).detach().numpy(), tavg(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


@needs_torch
def test_update_bn_matches_torch():
    tm, sm = _bn_models(1)
    tm.eval(), sm.eval()
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((6, 4)).astype(np.float32) for _ in range(3)]
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], tm)
    ts.optim.swa_utils.update_bn([(ts.tensor(b), 0) for b in batches], sm)
    assert not sm.training and sm[1].momentum == 0.1
    for k, tv in tm.state_dict().items():
        np.testing.assert_allclose(sm.state_dict()[k].numpy(), tv.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    ts.optim.swa_utils.update_bn([], ts.nn.Linear(2, 2))  # no BatchNorm: nothing to do


@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {"swa_lr": 0.05},
        {"swa_lr": [0.05, 0.2], "anneal_epochs": 3, "anneal_strategy": "linear"},
        {"swa_lr": 0.01, "anneal_epochs": 0},
    ],
)
def test_swalr_matches_torch(kwargs):
    lrs = []
    for lib in (torch, ts):
        ps = [lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)]
        opt = lib.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.3}], lr=1.0)
        sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
        got = [sched.get_last_lr()]
        for _ in range(12):
            opt.step()
            sched.step()
            got.append(sched.get_last_lr())
        sd = sched.state_dict()
        assert "anneal_func" not in sd and "optimizer" not in sd
        lrs.append(got)
    np.testing.assert_allclose(np.array(lrs[1]), np.array(lrs[0]), rtol=1e-12)


def test_swa_utils_errors():
    opt = ts.optim.SGD([ts.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        ts.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        ts.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr must have the same length"):
        ts.optim.swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="Invalid decay value 1.5"):
        ts.optim.swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        ts.optim.swa_utils.AveragedModel(
            ts.nn.Linear(2, 2),
            avg_fn=ts.optim.swa_utils.get_swa_avg_fn(),
            multi_avg_fn=ts.optim.swa_utils.get_swa_multi_avg_fn(),
        )


# -- swap_in_optimizer_params_and_state ------------------------------------------------------------------
@needs_torch
def test_swap_in_optimizer_params_and_state_matches_torch():
    results = []
    for lib in (torch, ts):
        tmodel, smodel, tdata, sdata = _models(seed=8)
        model, data = (tmodel, tdata) if lib is torch else (smodel, sdata)
        opt = lib.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(2):
            _train_step(opt, model, data)
        live_before = [p.detach().clone() for p in model.parameters()]
        params = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters()}
        for p, q in zip(params.values(), model.parameters()):
            p.grad = q.grad.clone() * 2
        osd = opt.state_dict()
        for g in osd["param_groups"]:
            g["lr"] = 0.1
        with lib.optim.swap_in_optimizer_params_and_state(opt, params, osd):
            assert opt.param_groups[0]["lr"] == 0.1
            opt.step()
        assert opt.param_groups[0]["lr"] == 0.01
        for p, q in zip(model.parameters(), live_before):
            np.testing.assert_array_equal(p.detach().numpy(), q.numpy())  # the live params untouched
        results.append(([p.detach().numpy().copy() for p in params.values()], float(osd["state"][0]["step"])))
        if lib is ts:  # Tessera's state_dict() holds copies (torch's aliases the live state tensors)
            assert float(opt.state[next(model.parameters())]["step"]) == 2
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert results[0][1] == results[1][1] == 3


def test_swap_in_errors():
    w = ts.zeros(2, requires_grad=True)
    opt = ts.optim.SGD([w], lr=0.1, momentum=0.9)
    swap = ts.optim.swap_in_optimizer_params_and_state
    with pytest.raises(RuntimeError, match="requires initialized optimizer state"):
        with swap(opt, {"w": w}, opt.state_dict()):
            pass
    w.grad = ts.ones(2)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(RuntimeError, match="different number of parameter groups"):
        with swap(opt, {"w": w}, {"state": sd["state"], "param_groups": sd["param_groups"] * 2}):
            pass
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["extra"] = 1
    with pytest.raises(RuntimeError, match=r"Keys only in swap-in: \['extra'\]"):
        with swap(opt, {"w": w}, bad):
            pass
    with pytest.raises(RuntimeError, match="extra keys"):
        with swap(opt, {"w": w}, {"state": {**sd["state"], 5: {}}, "param_groups": sd["param_groups"]}):
            pass


# -- a compiled training step ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda p: ts.optim.NAdam(p, lr=0.01, weight_decay=0.01, decoupled_weight_decay=True),
        lambda p: ts.optim.RAdam(p, lr=0.01),
        lambda p: ts.optim.Adamax(p, lr=0.01),
        lambda p: ts.optim.Adadelta(p, lr=0.5),
        lambda p: ts.optim.ASGD(p, lr=0.05, t0=2),
        lambda p: ts.optim.Rprop(p, lr=0.01),
        lambda p: ts.optim.Adafactor(p, lr=0.05),
    ],
    ids=["nadam", "radam", "adamax", "adadelta", "asgd", "rprop", "adafactor"],
)
def test_compiled_training_step_matches_eager(make):
    ts.manual_seed(0)
    x, y = ts.randn(8, 6), ts.randn(8, 3)
    runs = []
    for compiled in (False, True):
        ts.manual_seed(1)
        model = ts.nn.Sequential(ts.nn.Linear(6, 8), ts.nn.Tanh(), ts.nn.Linear(8, 3))
        opt = make(model.parameters())
        sched = ts.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

        def step(model=model, opt=opt, sched=sched):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()
            return loss

        fn = ts.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no eager fallback, no graph break
            losses = [float(fn()) for _ in range(6)]
        if compiled:
            assert all(not e.eager for e in fn._entries.values())
        runs.append((losses, model, opt))
    (l0, m0, o0), (l1, m1, o1) = runs
    np.testing.assert_allclose(l1, l0, rtol=1e-5, atol=1e-6)
    for p, q in zip(m0.parameters(), m1.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
    s0, s1 = o0.state_dict()["state"], o1.state_dict()["state"]
    for k in s0:
        for key in s0[k]:
            np.testing.assert_allclose(s1[k][key].numpy(), s0[k][key].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Adadelta", {"weight_decay": 0.1}),
        ("Adamax", {"weight_decay": 0.1}),
        ("NAdam", {"weight_decay": 0.1}),
        ("RAdam", {"lr": 0.01}),
        ("ASGD", {"t0": 1}),
        ("Rprop", {}),
        ("Adafactor", {}),
        ("Muon", {"lr": 0.02}),
    ],
)
def test_params_keep_their_dtype(name, kwargs, dtype):
    dt = getattr(ts, dtype)
    w = ts.ones(4, 4, dtype=dt, requires_grad=True)
    opt = getattr(ts.optim, name)([w], **kwargs)
    scale = ts.arange(16).reshape(4, 4).to(dt)
    for _ in range(3):
        opt.zero_grad()
        (w * w * scale).sum().backward()
        opt.step()
    assert w.dtype == dt
    vals = w.detach().float().numpy()
    assert np.all(np.isfinite(vals)) and np.any(vals != 1.0)
    for key, v in opt.state[w].items():
        assert v.dtype == (dt if key not in ("step", "mu_product", "eta", "mu") else ts.float32), key
