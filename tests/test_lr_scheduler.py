"""ts.optim.lr_scheduler against torch.optim.lr_scheduler: lr (and momentum) sequences, state dicts and
errors."""

from __future__ import annotations

import math
import warnings

import pytest
from opcheck import needs_torch, torch

import tessera as ts

STEPS = 40


def _optimizers(opt_name="SGD", **kwargs):
    """Matching torch/Tessera optimizers with two parameter groups (lrs 0.1 and 0.05)."""
    kwargs = {"momentum": 0.9, **kwargs} if opt_name == "SGD" else kwargs
    tw, tb = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    sw, sb = ts.zeros(3, requires_grad=True), ts.zeros(2, requires_grad=True)
    topt = getattr(torch.optim, opt_name)([{"params": [tw]}, {"params": [tb], "lr": 0.05}], lr=0.1, **kwargs)
    sopt = getattr(ts.optim, opt_name)([{"params": [sw]}, {"params": [sb], "lr": 0.05}], lr=0.1, **kwargs)
    return topt, sopt


class _Lambda:
    """A callable object (its __dict__ is saved in LambdaLR's state_dict)."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base**epoch


SCHEDULERS = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-long": lambda m, o: m.CosineAnnealingLR(o, T_max=50),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 0.95**e, _Lambda(0.9)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.97),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=12),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=8),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS + 1),
    "OneCycleLR-linear": lambda m, o: m.OneCycleLR(
        o, max_lr=1.0, epochs=3, steps_per_epoch=14, anneal_strategy="linear", pct_start=0.25
    ),
    "OneCycleLR-three-phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.8, total_steps=STEPS + 5, three_phase=True, div_factor=10.0, final_div_factor=100.0
    ),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(
        o, max_lr=0.8, total_steps=STEPS, cycle_momentum=False
    ),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=3),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, mode="triangular2"
    ),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.9
    ),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.01
    ),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)], milestones=[6]
    ),
    "SequentialLR-3": lambda m, o: m.SequentialLR(
        o,
        [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9), m.StepLR(o, 3, 0.5)],
        milestones=[5, 15],
    ),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=6), m.ExponentialLR(o, gamma=0.95)]
    ),
}


def _momentum_of(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def _assert_same_lrs(tsched, ssched, topt, sopt, step):
    tl, sl = tsched.get_last_lr(), ssched.get_last_lr()
    assert len(sl) == len(tl)
    for a, b in zip(sl, tl):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"step {step}: lr {sl} != torch {tl}"
    for sg, tg in zip(sopt.param_groups, topt.param_groups):
        assert math.isclose(sg["lr"], tg["lr"], rel_tol=1e-12, abs_tol=1e-15)
        sm, tm = _momentum_of(sg), _momentum_of(tg)
        assert math.isclose(sm, tm, rel_tol=1e-12), f"step {step}: momentum {sm} != torch {tm}"


@needs_torch
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name, opt_name):
    topt, sopt = _optimizers(opt_name)
    tsched = SCHEDULERS[name](torch.optim.lr_scheduler, topt)
    ssched = SCHEDULERS[name](ts.optim.lr_scheduler, sopt)
    _assert_same_lrs(tsched, ssched, topt, sopt, 0)
    assert [g.get("initial_lr") for g in sopt.param_groups] == [
        g.get("initial_lr") for g in topt.param_groups
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(1, STEPS + 1):
            topt.step()
            sopt.step()
            tsched.step()
            ssched.step()
            _assert_same_lrs(tsched, ssched, topt, sopt, step)


@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max", "patience": 2, "factor": 0.5},
        {"patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
        {"mode": "max", "patience": 0, "threshold_mode": "abs", "min_lr": [0.01, 0.02]},
        {"patience": 0, "factor": 0.5, "min_lr": 0.02, "eps": 1e-3},
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    topt, sopt = _optimizers()
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    ssched = ts.optim.lr_scheduler.ReduceLROnPlateau(sopt, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.899, 0.89, 0.9, 0.9, 0.9, 0.7] * 2 + [0.71] * 20
    for step, m in enumerate(metrics):
        topt.step()
        sopt.step()
        tsched.step(m)
        ssched.step(ts.tensor(m, dtype=ts.float64) if step % 2 else m)
        _assert_same_lrs(tsched, ssched, topt, sopt, step)
        assert ssched.num_bad_epochs == tsched.num_bad_epochs
        assert ssched.best == tsched.best


@needs_torch
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_state_dict_round_trip(name):
    make = SCHEDULERS[name]
    topt, _ = _optimizers()
    _, sopt = _optimizers()
    tsched = make(torch.optim.lr_scheduler, topt)
    ssched = make(ts.optim.lr_scheduler, sopt)
    for _ in range(12):
        sopt.step()
        ssched.step()
        topt.step()
        tsched.step()
    saved_opt, saved_sched = sopt.state_dict(), ssched.state_dict()
    assert "optimizer" not in saved_sched
    # a fresh optimizer and scheduler, resumed from the checkpoint
    _, sopt2 = _optimizers()
    ssched2 = make(ts.optim.lr_scheduler, sopt2)
    ssched2.load_state_dict(saved_sched)
    sopt2.load_state_dict(saved_opt)
    for step in range(12, 30):
        for o, s in ((topt, tsched), (sopt2, ssched2)):
            o.step()
            s.step()
        _assert_same_lrs(tsched, ssched2, topt, sopt2, step)


@needs_torch
def test_lambda_state_dict_saves_callable_objects():
    _, sopt = _optimizers()
    fn = _Lambda(0.9)
    sched = ts.optim.lr_scheduler.LambdaLR(sopt, [lambda e: 1.0, fn])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"base": 0.9}]
    fn.base = 0.5
    sched.load_state_dict(sd)
    assert fn.base == 0.9


@needs_torch
def test_closed_form_epoch_argument():
    topt, sopt = _optimizers()
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5)
    ssched = ts.optim.lr_scheduler.StepLR(sopt, step_size=3, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (4, 9, 2):
            topt.step()
            sopt.step()
            tsched.step(epoch)
            ssched.step(epoch)
            _assert_same_lrs(tsched, ssched, topt, sopt, epoch)
    with pytest.warns(UserWarning, match="epoch parameter"):
        ssched.step(5)


@needs_torch
def test_resume_with_last_epoch():
    topt, sopt = _optimizers()
    for o in (topt, sopt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10, last_epoch=4)
    ssched = ts.optim.lr_scheduler.CosineAnnealingLR(sopt, T_max=10, last_epoch=4)
    _assert_same_lrs(tsched, ssched, topt, sopt, 5)
    for step in range(6, 20):
        topt.step()
        sopt.step()
        tsched.step()
        ssched.step()
        _assert_same_lrs(tsched, ssched, topt, sopt, step)


def test_warnings():
    w = ts.zeros(2, requires_grad=True)
    opt = ts.optim.SGD([w], lr=0.1)
    sched = ts.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_errors():
    w = ts.zeros(2, requires_grad=True)
    opt = ts.optim.SGD([w], lr=0.1)
    m = ts.optim.lr_scheduler
    with pytest.raises(TypeError, match="is not an Optimizer"):
        m.StepLR(object(), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        m.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        m.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode foo is unknown"):
        m.ReduceLROnPlateau(opt, mode="foo")
    with pytest.raises(ValueError, match="threshold mode bar is unknown"):
        m.ReduceLROnPlateau(opt, threshold_mode="bar")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        m.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="between 0 and 1"):
        m.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        m.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="either total_steps OR"):
        m.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        m.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="pct_start"):
        m.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="momentum or beta1"):
        m.OneCycleLR(ts.optim.Adagrad([w]), max_lr=1.0, total_steps=10)
    assert "max_lr" not in opt.param_groups[0]  # failed constructions leave the optimizer alone
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        m.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=10)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        m.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        m.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
    sched = m.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
    other = ts.optim.SGD([ts.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        m.SequentialLR(opt, [m.StepLR(opt, 2), m.StepLR(other, 2)], milestones=[3])
    with pytest.raises(ValueError, match="number of milestones"):
        m.SequentialLR(opt, [m.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        m.ChainedScheduler([m.ReduceLROnPlateau(opt)])
