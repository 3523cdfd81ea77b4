"""The optimizers beyond test_optim.py's (Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, Adafactor, SparseAdam,
Muon, LBFGS), ``optim.swa_utils`` and ``swap_in_optimizer_params_and_state`` against torch.optim:
trajectories, state dicts, errors, and a compiled step."""

from __future__ import annotations

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
