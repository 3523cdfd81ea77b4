"""Losses (functional and modules) against PyTorch: values and gradients for every reduction and option,
gradcheck/gradgradcheck on the fused ops, and error messages."""

import warnings

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
import tessera.nn.functional as F

REDUCTIONS = ["mean", "sum", "none"]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _compare(ts_fn, torch_fn, arrays, grad_idx=(0,), rtol=1e-5, atol=1e-6):
    """Forward and gradients of the inputs in ``grad_idx`` (for a random cotangent) equal PyTorch's."""
    ts_in = [ts.tensor(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    t_in = [torch.tensor(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ys, yt = ts_fn(*ts_in), torch_fn(*t_in)
    assert tuple(ys.shape) == tuple(yt.shape)
    assert str(ys.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = _rng(99).standard_normal(tuple(yt.shape)).astype(np.float32)
    ys.backward(ts.tensor(g))
    yt.backward(torch.tensor(g))
    for i in grad_idx:
        np.testing.assert_allclose(ts_in[i].grad.numpy(), t_in[i].grad.numpy(), rtol=rtol, atol=atol)


def _logits(shape, seed=0):
    return (_rng(seed).standard_normal(shape) * 2).astype(np.float32)


def _targets(n_classes, shape, seed=1, ignore=()):
    t = _rng(seed).integers(0, n_classes, shape)
    for idx in ignore:
        t[idx] = -100
    return t


# -- cross entropy / nll ------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "shape,ignore", [((7, 5), [(2,), (5,)]), ((3, 5, 4, 2), [(0, 1, 1)]), ((5,), []), ((6, 4), [])]
)
def test_cross_entropy_class_indices(reduction, label_smoothing, weighted, shape, ignore):
    c = shape[1] if len(shape) > 1 else shape[0]
    x = _logits(shape)
    t = _targets(c, (shape[:1] + shape[2:]) if len(shape) > 1 else (), ignore=ignore)
    w = _rng(5).uniform(0.5, 2.0, c).astype(np.float32) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    _compare(
        lambda a, b: F.cross_entropy(a, b, None if w is None else ts.tensor(w), **kw),
        lambda a, b: torch.nn.functional.cross_entropy(a, b, None if w is None else torch.tensor(w), **kw),
        [x, t],
    )


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(reduction, label_smoothing, weighted):
    x = _logits((6, 4, 3))
    p = _rng(2).dirichlet(np.ones(4), (6, 3)).transpose(0, 2, 1).astype(np.float32).copy()
    w = _rng(5).uniform(0.5, 2.0, 4).astype(np.float32) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    _compare(
        lambda a, b: F.cross_entropy(a, b, None if w is None else ts.tensor(w), **kw),
        lambda a, b: torch.nn.functional.cross_entropy(a, b, None if w is None else torch.tensor(w), **kw),
        [x, p],
        grad_idx=(0, 1),
    )


@needs_torch
def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x, t = _logits((3, 4)), np.full(3, -100)
    ys = F.cross_entropy(ts.tensor(x), ts.tensor(t))
    yt = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t))
    assert np.isnan(ys.item()) and np.isnan(yt.item())


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_nll_loss(reduction, weighted, ignore_index):
    x = np.log(_rng(3).dirichlet(np.ones(5), 8)).astype(np.float32)
    t = _targets(5, (8,), ignore=[(1,)] if ignore_index == -100 else [])
    w = _rng(5).uniform(0.5, 2.0, 5).astype(np.float32) if weighted else None
    kw = {"reduction": reduction, "ignore_index": ignore_index}
    _compare(
        lambda a, b: F.nll_loss(a, b, None if w is None else ts.tensor(w), **kw),
        lambda a, b: torch.nn.functional.nll_loss(a, b, None if w is None else torch.tensor(w), **kw),
        [x, t],
    )


def test_cross_entropy_and_nll_gradcheck_and_double_backward():
    rng = _rng(4)
    x = ts.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    t = ts.tensor(np.array([[0, 2], [1, -100], [2, 2], [0, 1]]))
    w = ts.tensor(rng.uniform(0.5, 2.0, 3))
    for reduction in REDUCTIONS:
        for ls in (0.0, 0.3):
            f = lambda a, r=reduction, s=ls: F.cross_entropy(a, t, w, reduction=r, label_smoothing=s)  # noqa: E731
            assert ts.autograd.gradcheck(f, (x,))
            assert ts.autograd.gradgradcheck(f, (x,))
        f = lambda a, r=reduction: F.nll_loss(a, t, w, reduction=r)  # noqa: E731
        assert ts.autograd.gradcheck(f, (x,))
        assert ts.autograd.gradgradcheck(f, (x,))
    p = ts.tensor(rng.dirichlet(np.ones(3), 4), requires_grad=True)
    xx = ts.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert ts.autograd.gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), (xx, p))


def test_cross_entropy_errors():
    x = ts.randn(4, 3)
    with pytest.raises(RuntimeError, match="cross_entropy: expected target of class indices"):
        F.cross_entropy(x, ts.tensor([0.5, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected input batch_size \(4\) to match"):
        F.cross_entropy(x, ts.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match=r"cross_entropy: expected target of shape \(4,\)"):
        F.cross_entropy(x, ts.tensor([[0], [1], [2], [0]]))
    with pytest.raises(RuntimeError, match="cross_entropy: expected floating point type for target"):
        F.cross_entropy(x, ts.zeros(4, 3, dtype=ts.int64))
    with pytest.raises(IndexError, match="cross_entropy: target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, ts.tensor([0, 1, 3, 0]))
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined either for all 3 classes"):
        F.cross_entropy(x, ts.tensor([0, 1, 2, 0]), weight=ts.ones(4))
    with pytest.raises(ValueError, match=r"cross_entropy: 'avg' is not a valid value for reduction"):
        F.cross_entropy(x, ts.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="CrossEntropyLoss: 'avg' is not a valid value for reduction"):
        ts.nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, ts.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="nll_loss: expected target of class indices with dtype int64"):
        F.nll_loss(x, ts.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(x, ts.rand(4, 3), ignore_index=1)


# -- binary cross entropy ------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    rng = _rng(6)
    p = rng.uniform(0.02, 0.98, (5, 3)).astype(np.float32)
    p[0, 0], p[1, 1] = 0.0, 1.0  # log clamped at -100
    t = rng.uniform(0, 1, (5, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 3).astype(np.float32) if weighted else None
    _compare(
        lambda a, b: F.binary_cross_entropy(a, b, None if w is None else ts.tensor(w), reduction=reduction),
        lambda a, b: torch.nn.functional.binary_cross_entropy(
            a, b, None if w is None else torch.tensor(w), reduction=reduction
        ),
        [p, t],
        grad_idx=(0, 1),
        rtol=1e-5,
        atol=1e-4,
    )


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted):
    rng = _rng(7)
    x = (rng.standard_normal((5, 3)) * 10).astype(np.float32)  # large logits: stable
    x[0, 0], x[1, 1] = 80.0, -80.0
    t = rng.uniform(0, 1, (5, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 3).astype(np.float32) if weighted else None
    pw = rng.uniform(0.5, 3.0, 3).astype(np.float32) if pos_weighted else None

    def tsf(a, b):
        return F.binary_cross_entropy_with_logits(
            a,
            b,
            None if w is None else ts.tensor(w),
            reduction=reduction,
            pos_weight=None if pw is None else ts.tensor(pw),
        )

    def tf(a, b):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            a,
            b,
            None if w is None else torch.tensor(w),
            reduction=reduction,
            pos_weight=None if pw is None else torch.tensor(pw),
        )

    _compare(tsf, tf, [x, t], grad_idx=(0, 1), atol=1e-5)


def test_bce_gradcheck_and_errors():
    rng = _rng(8)
    p = ts.tensor(rng.uniform(0.05, 0.95, (3, 4)), requires_grad=True)
    t = ts.tensor(rng.uniform(0, 1, (3, 4)), requires_grad=True)
    assert ts.autograd.gradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, t))
    assert ts.autograd.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b), (p, t))
    x = ts.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    pw = ts.tensor(rng.uniform(0.5, 2, 4))
    assert ts.autograd.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw), (x, t))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: using a target size \(3,\)"):
        F.binary_cross_entropy(ts.rand(3, 1), ts.rand(3))
    with pytest.raises(RuntimeError, match="binary_cross_entropy: all elements of input should be between 0"):
        F.binary_cross_entropy(ts.tensor([1.5]), ts.tensor([1.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target size \(2,\)"):
        F.binary_cross_entropy_with_logits(ts.rand(3), ts.rand(2))


# -- regression and other losses ----------------------------------------------------------------------------
PAIR_LOSSES = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}),
    ("soft_margin_loss", {}),
    ("multilabel_soft_margin_loss", {}),
    ("poisson_nll_loss", {}),
    ("poisson_nll_loss", {"log_input": False, "full": True}),
]


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", PAIR_LOSSES)
def test_pointwise_losses(name, kw, reduction):
    rng = _rng(9)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    if name == "poisson_nll_loss" and not kw.get("log_input", True):
        x = np.abs(x) + 0.1
    t = (rng.standard_normal((4, 5)) * 1.5).astype(np.float32)
    if name in ("soft_margin_loss",):
        t = np.sign(t)
    if name in ("multilabel_soft_margin_loss",):
        t = (t > 0).astype(np.float32)
    if name == "poisson_nll_loss":
        t = np.abs(t) * 2
    target_grad = name not in ("soft_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss")
    _compare(
        lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
        lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction, **kw),
        [x, t],
        grad_idx=(0, 1) if target_grad else (0,),
    )


@needs_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_weighted_regression(name, reduction):
    rng = _rng(10)
    x, t = (
        rng.standard_normal((2, 3, 4)).astype(np.float32),
        rng.standard_normal((2, 3, 4)).astype(np.float32),
    )
    w = rng.uniform(0.1, 2.0, (2, 3, 4)).astype(np.float32)
    _compare(
        lambda a, b: getattr(F, name)(a, b, reduction=reduction, weight=ts.tensor(w)),
        lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction, weight=torch.tensor(w)),
        [x, t],
        grad_idx=(0, 1),
    )


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    rng = _rng(11)
    x = np.log(rng.dirichlet(np.ones(5), 4)).astype(np.float32)
    t = rng.dirichlet(np.ones(5), 4).astype(np.float32)
    if log_target:
        t = np.log(t)
    _compare(
        lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
        lambda a, b: torch.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target),
        [x, t],
        grad_idx=(0, 1),
    )


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_and_margin_ranking(reduction):
    rng = _rng(12)
    a, b = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)
    y = np.array([1, -1, 1, -1, -1, 1], np.float32)
    _compare(
        lambda p, q, r: F.cosine_embedding_loss(p, q, r, margin=0.1, reduction=reduction),
        lambda p, q, r: torch.nn.functional.cosine_embedding_loss(p, q, r, margin=0.1, reduction=reduction),
        [a, b, y],
        grad_idx=(0, 1),
    )
    _compare(
        lambda p, q, r: F.margin_ranking_loss(p, q, r, margin=0.2, reduction=reduction),
        lambda p, q, r: torch.nn.functional.margin_ranking_loss(p, q, r, margin=0.2, reduction=reduction),
        [a[:, 0], b[:, 0], y],
        grad_idx=(0, 1),
    )
    h = np.sign(rng.standard_normal((6, 4))).astype(np.float32)
    _compare(
        lambda p, r: F.hinge_embedding_loss(p, r, margin=0.5, reduction=reduction),
        lambda p, r: torch.nn.functional.hinge_embedding_loss(p, r, margin=0.5, reduction=reduction),
        [a, h],
    )


def test_regression_warnings_and_errors():
    with pytest.warns(UserWarning, match="mse_loss: using a target size"):
        F.mse_loss(ts.randn(3, 1), ts.randn(3))
    with pytest.raises(ValueError, match=r"mse_loss: 'avg' is not a valid value for reduction"):
        F.mse_loss(ts.randn(3), ts.randn(3), reduction="avg")
    with pytest.raises(ValueError, match="KLDivLoss: 'x' is not a valid value for reduction"):
        ts.nn.KLDivLoss(reduction="x")
    with pytest.raises(RuntimeError, match="smooth_l1_loss: does not support negative values for beta"):
        F.smooth_l1_loss(ts.randn(3), ts.randn(3), beta=-1.0)
    with pytest.raises(ValueError, match="l1_loss: weights and input must have the same size"):
        F.l1_loss(ts.randn(3), ts.randn(3), weight=ts.ones(2))
    with pytest.raises(RuntimeError, match=r"mse_loss: the size of input \(3,\) must match"):
        with pytest.warns(UserWarning):
            F.mse_loss(ts.randn(3), ts.randn(2))
    with pytest.raises(TypeError, match="mse_loss: expected 'input' to be a floating point tensor"):
        F.mse_loss(ts.tensor([1, 2]), ts.tensor([1, 2]))
    with pytest.warns(UserWarning, match="size_average and reduce"):
        assert F.mse_loss(ts.tensor([1.0, 3.0]), ts.tensor([0.0, 0.0]), size_average=False).item() == 10.0


# -- modules --------------------------------------------------------------------------------------------------
@needs_torch
def test_loss_modules_match_torch_and_register_weight_buffers():
    rng = _rng(13)
    x, t = _logits((6, 4)), _targets(4, (6,), ignore=[(0,)])
    w = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    for name, kw in [
        ("CrossEntropyLoss", {"label_smoothing": 0.1}),
        ("CrossEntropyLoss", {"reduction": "sum", "ignore_index": 1}),
        ("NLLLoss", {}),
    ]:
        tmod = getattr(torch.nn, name)(weight=torch.tensor(w), **kw)
        mod = getattr(ts.nn, name)(weight=ts.tensor(w), **kw)
        assert list(mod.state_dict()) == list(tmod.state_dict()) == ["weight"]
        tt = np.where(t == -100, kw.get("ignore_index", -100), t)
        _compare(
            mod,
            tmod,
            [x if name != "NLLLoss" else np.log(_rng(2).dirichlet(np.ones(4), 6)).astype(np.float32), tt],
        )
    assert list(ts.nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss().state_dict())
    pw = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    tmod = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))
    mod = ts.nn.BCEWithLogitsLoss(pos_weight=ts.tensor(pw))
    assert list(mod.state_dict()) == list(tmod.state_dict()) == ["pos_weight"]
    _compare(mod, tmod, [x, rng.uniform(0, 1, (6, 4)).astype(np.float32)])
    p = rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32)
    y = rng.uniform(0, 1, (6, 4)).astype(np.float32)
    simple = [
        ("MSELoss", {}),
        ("L1Loss", {"reduction": "sum"}),
        ("SmoothL1Loss", {"beta": 0.5}),
        ("HuberLoss", {"delta": 0.5}),
        ("BCELoss", {}),
        ("KLDivLoss", {"reduction": "batchmean"}),
        ("SoftMarginLoss", {}),
        ("MultiLabelSoftMarginLoss", {}),
        ("PoissonNLLLoss", {}),
        ("HingeEmbeddingLoss", {"margin": 0.5}),
    ]
    for name, kw in simple:
        tmod, mod = getattr(torch.nn, name)(**kw), getattr(ts.nn, name)(**kw)
        assert mod.reduction == tmod.reduction
        _compare(mod, tmod, [p if name != "KLDivLoss" else np.log(p), y])
    a, b = x, _logits((6, 4), 3)
    s = np.array([1, -1, 1, 1, -1, -1], np.float32)
    _compare(ts.nn.CosineEmbeddingLoss(0.2), torch.nn.CosineEmbeddingLoss(0.2), [a, b, s], grad_idx=(0, 1))
    _compare(
        ts.nn.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2), [a[:, 0], b[:, 0], s], grad_idx=(0, 1)
    )


def test_loss_module_legacy_flags_and_repr():
    with pytest.warns(UserWarning):
        assert ts.nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert ts.nn.L1Loss(reduce=False).reduction == "none"
    assert repr(ts.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
