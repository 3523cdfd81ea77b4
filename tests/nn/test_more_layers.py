"""More layers against PyTorch (issue 9): activations (PReLU, RReLU, Threshold, shrinkage, Softmax2d,
in-place functionals, gumbel_softmax), losses (CTC, triplet, Gaussian NLL, multi-margin, ...), distances,
EmbeddingBag, local response norm and SyncBatchNorm: values, gradients, reductions and errors."""

import warnings

import numpy as np
import pytest
from opcheck import check_grad, check_torch, needs_torch, torch

import tessera as ts
import tessera.nn as nn
import tessera.nn.functional as F

REDUCTIONS = ["mean", "sum", "none"]


def _x(*shape, seed=0, scale=1.0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, dtype=np.float32)


def _tnn():
    return torch.nn.functional


# -- activations --------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize(
    "name,args",
    [
        ("threshold", (0.3, -2.0)),
        ("hardshrink", ()),
        ("hardshrink", (1.1,)),
        ("softshrink", ()),
        ("softshrink", (0.9,)),
        ("celu", (1.7,)),
        ("selu", ()),
        ("mish", ()),
        ("hardswish", ()),
        ("hardsigmoid", ()),
    ],
)
def test_pointwise_activations(name, args):
    x = _x(4, 5, scale=1.5)
    x[0, 0] = 0.3  # exactly at the threshold: torch's strict comparison
    check_torch(lambda t: getattr(F, name)(t, *args), lambda t: getattr(_tnn(), name)(t, *args), x)


@needs_torch
@pytest.mark.parametrize(
    "name,args",
    [
        ("relu_", ()),
        ("elu_", (0.7,)),
        ("celu_", (1.3,)),
        ("selu_", ()),
        ("leaky_relu_", (0.2,)),
        ("hardtanh_", (-0.5, 0.8)),
        ("threshold_", (0.1, 5.0)),
        ("rrelu_", (0.1, 0.3, False)),
    ],
)
def test_inplace_functionals(name, args):
    x = _x(3, 4, seed=2, scale=2.0)
    a = ts.tensor(x, requires_grad=True)
    b = a * 1.0
    version = b._version
    out = getattr(F, name)(b, *args)
    assert out is b and b._version > version
    at = torch.tensor(x, requires_grad=True)
    bt = at * 1.0
    getattr(_tnn(), name)(bt, *args)
    np.testing.assert_allclose(b.detach().numpy(), bt.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = _x(3, 4, seed=3)
    b.backward(ts.tensor(g))
    bt.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_on_leaf_raises():
    with pytest.raises(RuntimeError, match="leaf"):
        F.selu_(ts.randn(3, requires_grad=True))


@needs_torch
@pytest.mark.parametrize("shape,n", [((4, 3, 5), 3), ((4, 3, 5), 1), ((6,), 1), ((2, 3, 2, 2), 3), ((), 1)])
def test_prelu(shape, n):
    x = _x(*shape, seed=1)
    w = np.array([0.25, -0.5, 1.5][:n], np.float32)
    check_torch(F.prelu, _tnn().prelu, x, w)
    m = nn.PReLU(n, init=0.1)
    assert m.weight.shape == (n,) and np.allclose(m.weight.detach().numpy(), 0.1)
    assert list(m.state_dict()) == ["weight"]


def test_prelu_errors():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(ts.randn(2, 4), ts.ones(3))
    with pytest.raises(RuntimeError, match="prelu.*scalar or 1D"):
        F.prelu(ts.randn(2, 4), ts.ones(2, 2))


@needs_torch
def test_rrelu_eval_and_training():
    x = _x(200, 50, seed=4)
    check_torch(lambda t: F.rrelu(t, 0.1, 0.4), lambda t: _tnn().rrelu(t, 0.1, 0.4), x)
    m = nn.RReLU(0.1, 0.4).eval()
    np.testing.assert_allclose(m(ts.tensor(x)).numpy(), _tnn().rrelu(torch.tensor(x), 0.1, 0.4).numpy())
    ts.manual_seed(0)
    a = ts.tensor(x, requires_grad=True)
    y = nn.RReLU(0.1, 0.4)(a)  # training by default
    neg = x <= 0
    slope = y.detach().numpy()[neg] / x[neg]
    assert slope.min() >= 0.1 - 1e-6 and slope.max() <= 0.4 + 1e-6
    assert abs(slope.mean() - 0.25) < 0.01 and slope.std() > 0.05  # U(0.1, 0.4): sd 0.087
    np.testing.assert_array_equal(y.detach().numpy()[~neg], x[~neg])
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy()[neg], slope, rtol=1e-5)
    np.testing.assert_array_equal(a.grad.numpy()[~neg], 1.0)
    ts.manual_seed(0)
    np.testing.assert_array_equal(nn.RReLU(0.1, 0.4)(ts.tensor(x)).numpy(), y.detach().numpy())
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
        F.rrelu(ts.randn(3), 0.5, 0.1, training=True)


@needs_torch
def test_activation_modules_match_torch():
    x = _x(2, 3, 4, 4, seed=5, scale=2.0)
    cases = [
        (nn.Threshold(0.2, -1.0), torch.nn.Threshold(0.2, -1.0)),
        (nn.Hardshrink(0.7), torch.nn.Hardshrink(0.7)),
        (nn.Softshrink(0.3), torch.nn.Softshrink(0.3)),
        (nn.Softmax2d(), torch.nn.Softmax2d()),
        (nn.PReLU(3), torch.nn.PReLU(3)),
        (nn.RReLU().eval(), torch.nn.RReLU().eval()),
    ]
    for m, mt in cases:
        check_torch(m, mt, x)
        assert repr(m) == repr(mt)
    check_torch(nn.Softmax2d(), torch.nn.Softmax2d(), x[0])
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(ts.randn(2, 3))


@needs_torch
def test_inplace_modules():
    x = _x(3, 4, seed=6, scale=2.0)
    for m, mt in [
        (nn.LeakyReLU(0.2, inplace=True), torch.nn.LeakyReLU(0.2, inplace=True)),
        (nn.ELU(inplace=True), torch.nn.ELU(inplace=True)),
        (nn.Hardtanh(-0.5, 0.5, inplace=True), torch.nn.Hardtanh(-0.5, 0.5, inplace=True)),
        (nn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
        (nn.Threshold(0.0, 3.0, inplace=True), torch.nn.Threshold(0.0, 3.0, inplace=True)),
        (nn.SiLU(inplace=True), torch.nn.SiLU(inplace=True)),
        (nn.SELU(inplace=True), torch.nn.SELU(inplace=True)),
        (nn.Mish(inplace=True), torch.nn.Mish(inplace=True)),
        (nn.Hardswish(inplace=True), torch.nn.Hardswish(inplace=True)),
        (nn.Hardsigmoid(inplace=True), torch.nn.Hardsigmoid(inplace=True)),
        (nn.CELU(0.5, inplace=True), torch.nn.CELU(0.5, inplace=True)),
    ]:
        a, at = ts.tensor(x), torch.tensor(x)
        assert m(a) is a
        mt(at)
        np.testing.assert_allclose(a.numpy(), at.numpy(), rtol=1e-6)
        assert repr(m) == repr(mt)


def test_softshrink_negative_lambda():
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0, but found to be -1"):
        F.softshrink(ts.randn(3), -1.0)


def test_gumbel_softmax_soft_statistics():
    ts.manual_seed(1)
    logits = ts.tensor(np.log(np.array([0.1, 0.2, 0.3, 0.4], np.float32)))
    samples = F.gumbel_softmax(logits.expand(20000, 4), tau=0.1)
    s = samples.numpy()
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-5)
    freq = np.bincount(s.argmax(-1), minlength=4) / len(s)  # argmax of a Gumbel sample ~ softmax(logits)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)
    hi_tau = F.gumbel_softmax(logits.expand(2000, 4), tau=100.0).numpy()
    assert np.abs(hi_tau - 0.25).max() < 0.05  # a large temperature flattens the sample


def test_gumbel_softmax_hard_straight_through():
    logits = ts.tensor(_x(6, 5, seed=8), requires_grad=True)
    ts.manual_seed(2)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True, dim=1)
    v = y.detach().numpy()
    assert set(np.unique(v)) <= {0.0, 1.0} and np.array_equal(v.sum(1), np.ones(6))
    w = ts.tensor(_x(6, 5, seed=9))
    (y * w).sum().backward()
    ts.manual_seed(2)
    lg = logits.detach().requires_grad_()
    soft = F.gumbel_softmax(lg, tau=0.5, dim=1)  # the same noise: the gradient is the soft sample's
    assert np.array_equal(soft.detach().numpy().argmax(1), v.argmax(1))
    (soft * w).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), lg.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert np.abs(logits.grad.numpy()).sum() > 0
    y0 = F.gumbel_softmax(ts.randn(3, 4), hard=True, dim=0).numpy()
    assert np.array_equal(y0.sum(0), np.ones(4))
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(ts.randn(2, 3), eps=1e-5)


# -- distances ----------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize(
    "s1,s2,dim", [((4, 5), (4, 5), 1), ((3, 4, 5), (4, 5), -1), ((2, 3, 4), (2, 1, 4), 0), ((6,), (6,), 0)]
)
def test_cosine_similarity(s1, s2, dim):
    x1, x2 = _x(*s1, seed=1), _x(*s2, seed=2)
    check_torch(
        lambda a, b: F.cosine_similarity(a, b, dim), lambda a, b: _tnn().cosine_similarity(a, b, dim), x1, x2
    )
    check_torch(nn.CosineSimilarity(dim, 1e-3), torch.nn.CosineSimilarity(dim, 1e-3), x1, x2)


@needs_torch
def test_cosine_similarity_tiny_vectors_and_errors():
    x1 = _x(3, 4, seed=1) * np.array([[1.0], [1e-9], [1.0]], np.float32)
    check_torch(F.cosine_similarity, _tnn().cosine_similarity, x1, _x(3, 4, seed=2), atol=1e-5)
    with pytest.raises(RuntimeError, match="cosine_similarity.*not broadcastable"):
        F.cosine_similarity(ts.randn(3, 4), ts.randn(3, 5))
    with pytest.raises(TypeError, match="cosine_similarity.*floating point"):
        F.cosine_similarity(ts.ones(3, dtype=ts.int64), ts.ones(3, dtype=ts.int64), 0)


@needs_torch
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("s1,s2", [((4, 5), (4, 5)), ((4, 5), (5,)), ((5,), (5,))])
def test_pairwise_distance(p, keepdim, s1, s2):
    x1, x2 = _x(*s1, seed=3), _x(*s2, seed=4)
    check_torch(
        lambda a, b: F.pairwise_distance(a, b, p, 1e-6, keepdim),
        lambda a, b: _tnn().pairwise_distance(a, b, p, 1e-6, keepdim),
        x1,
        x2,
    )
    check_torch(
        nn.PairwiseDistance(p, keepdim=keepdim), torch.nn.PairwiseDistance(p, keepdim=keepdim), x1, x2
    )


@needs_torch
@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, float("inf")])
def test_pdist(p):
    x = _x(5, 3, seed=5)
    check_torch(lambda a: F.pdist(a, p), lambda a: _tnn().pdist(a, p), x, rtol=1e-5, atol=1e-5)
    check_torch(F.pdist, _tnn().pdist, _x(1, 3), grad=False)
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(ts.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="pdist only supports non-negative p values"):
        F.pdist(ts.randn(2, 3), -1.0)


def test_pdist_gradcheck():
    x = np.random.default_rng(0).standard_normal((4, 3))
    check_grad(F.pdist, x)


# -- triplet / Gaussian / margin / linear cross-entropy losses -----------------------------------------------
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [2.0, 1.0])
@pytest.mark.parametrize("shape", [(6, 4), (4,)])
def test_triplet_margin_loss(reduction, swap, p, shape):
    a, pos, neg = _x(*shape, seed=1), _x(*shape, seed=2), _x(*shape, seed=3)
    kw = dict(margin=1.5, p=p, swap=swap, reduction=reduction)
    check_torch(
        lambda *t: F.triplet_margin_loss(*t, **kw),
        lambda *t: _tnn().triplet_margin_loss(*t, **kw),
        a,
        pos,
        neg,
    )
    check_torch(nn.TripletMarginLoss(**kw), torch.nn.TripletMarginLoss(**kw), a, pos, neg)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss(reduction, swap):
    a, pos, neg = _x(5, 4, seed=1), _x(5, 4, seed=2), _x(5, 4, seed=3)
    check_torch(
        lambda *t: F.triplet_margin_with_distance_loss(*t, swap=swap, reduction=reduction),
        lambda *t: _tnn().triplet_margin_with_distance_loss(*t, swap=swap, reduction=reduction),
        a,
        pos,
        neg,
    )
    m = nn.TripletMarginWithDistanceLoss(distance_function=nn.CosineSimilarity(), margin=0.5, swap=swap)
    mt = torch.nn.TripletMarginWithDistanceLoss(
        distance_function=torch.nn.CosineSimilarity(), margin=0.5, swap=swap
    )
    check_torch(m, mt, a, pos, neg)
    assert repr(nn.TripletMarginWithDistanceLoss()) == repr(torch.nn.TripletMarginWithDistanceLoss())
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_with_distance_loss(ts.tensor(a), ts.tensor(pos), ts.tensor(neg), margin=0.0)


def test_triplet_errors():
    with pytest.raises(
        RuntimeError, match="expected to have the same number of dimensions.*anchor 2D, positive 1D"
    ):
        F.triplet_margin_loss(ts.randn(3, 4), ts.randn(4), ts.randn(3, 4))
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), "float"])
def test_gaussian_nll_loss(reduction, full, var_shape):
    x, t = _x(4, 3, seed=1), _x(4, 3, seed=2)
    if var_shape == "float":
        check_torch(
            lambda a, b: F.gaussian_nll_loss(a, b, 0.7, full=full, reduction=reduction),
            lambda a, b: _tnn().gaussian_nll_loss(a, b, 0.7, full=full, reduction=reduction),
            x,
            t,
        )
        return
    var = np.abs(_x(*var_shape, seed=3)) + 0.1
    var.flat[0] = 1e-8  # below eps: clamped, with the gradient passed through
    kw = dict(full=full, reduction=reduction)
    check_torch(
        lambda *a: F.gaussian_nll_loss(*a, **kw),
        lambda *a: _tnn().gaussian_nll_loss(*a, **kw),
        x,
        t,
        var,
        rtol=1e-4,
    )
    check_torch(nn.GaussianNLLLoss(**kw), torch.nn.GaussianNLLLoss(**kw), x, t, var, rtol=1e-4)


def test_gaussian_nll_errors():
    x = ts.randn(4, 3)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, ts.ones(2))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -ts.ones(4, 3))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -1.0)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_multi_margin_loss(reduction, p, weighted, batched):
    x = _x(6, 4, seed=1) if batched else _x(4, seed=1)
    t = np.array([0, 3, 1, 1, 2, 0]) if batched else np.array(2)
    w = np.array([0.5, 1.0, 2.0, 1.5], np.float32) if weighted else None
    kw = dict(p=p, margin=0.8, reduction=reduction)
    wt = ts.tensor(w) if weighted else None
    wp = torch.tensor(w) if weighted else None
    check_torch(
        lambda a: F.multi_margin_loss(a, ts.tensor(t), weight=wt, **kw),
        lambda a: _tnn().multi_margin_loss(a, torch.tensor(t), weight=wp, **kw),
        x,
    )
    check_torch(
        lambda a: nn.MultiMarginLoss(weight=wt, **kw)(a, ts.tensor(t)),
        lambda a: torch.nn.MultiMarginLoss(weight=wp, **kw)(a, torch.tensor(t)),
        x,
    )


def test_multi_margin_errors():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        F.multi_margin_loss(ts.randn(3, 4), ts.tensor([0, 1, 2]), p=3)
    with pytest.raises(RuntimeError, match="Expected target size \\[3\\], but got \\[2\\]"):
        F.multi_margin_loss(ts.randn(3, 4), ts.tensor([0, 1]))


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("batched", [True, False])
def test_multilabel_margin_loss(reduction, batched):
    x = _x(3, 5, seed=2)
    t = np.array([[3, 0, -1, 1, 2], [1, 2, 4, 0, 3], [-1, 0, 1, 2, 3]])
    x, t = (x, t) if batched else (x[0], t[0])
    check_torch(
        lambda a: F.multilabel_margin_loss(a, ts.tensor(t), reduction=reduction),
        lambda a: _tnn().multilabel_margin_loss(a, torch.tensor(t), reduction=reduction),
        x,
    )
    check_torch(
        lambda a: nn.MultiLabelMarginLoss(reduction=reduction)(a, ts.tensor(t)),
        lambda a: torch.nn.MultiLabelMarginLoss(reduction=reduction)(a, torch.tensor(t)),
        x,
    )
    with pytest.raises(RuntimeError, match="inconsistent target size: \\[2\\] for input of size: \\[3, 4\\]"):
        F.multilabel_margin_loss(ts.randn(3, 4), ts.tensor([0, 1]))


@needs_torch
def test_nll_loss_2d_alias():
    x = _x(2, 3, 4, 4, seed=1)
    t = np.random.default_rng(0).integers(0, 3, (2, 4, 4))
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        m = nn.NLLLoss2d()
    assert isinstance(m, nn.NLLLoss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mt = torch.nn.NLLLoss2d()
    check_torch(lambda a: m(a, ts.tensor(t)), lambda a: mt(a, torch.tensor(t)), x)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", ["plain", "bias", "kdim", "unbatched", "probs", "ignore"])
def test_linear_cross_entropy(reduction, case):
    rng = np.random.default_rng(0)
    x = _x(5, 3, seed=1)
    w = _x(4, 3, seed=2)
    b = None
    t = rng.integers(0, 4, 5)
    kw = dict(reduction=reduction, label_smoothing=0.1)
    if case == "bias":
        b = _x(4, seed=3)
    elif case == "kdim":
        w, b, t = _x(4, 2, 3, seed=2), _x(4, 2, seed=3), rng.integers(0, 4, (5, 2))
    elif case == "unbatched":
        x, t = x[0], np.array(2)
    elif case == "probs":
        t = np.abs(_x(5, 4, seed=4))
        t /= t.sum(1, keepdims=True)
    elif case == "ignore":
        t[1] = 3
        kw["ignore_index"] = 3
    args = (x, w) if b is None else (x, w, b)

    def ts_fn(x, w, b=None):
        return F.linear_cross_entropy(x, w, ts.tensor(t), linear_bias=b, **kw)

    def torch_fn(x, w, b=None):
        return _tnn().linear_cross_entropy(x, w, torch.tensor(t), linear_bias=b, **kw)

    check_torch(ts_fn, torch_fn, *args, rtol=1e-5, atol=1e-6)


@needs_torch
def test_linear_cross_entropy_module():
    m = nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True)
    mt = torch.nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True)
    assert repr(m) == repr(mt)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        k: tuple(v.shape) for k, v in mt.state_dict().items()
    }
    m.load_state_dict({k: ts.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    t = np.random.default_rng(0).integers(0, 4, (5, 2))
    check_torch(lambda a: m(a, ts.tensor(t)), lambda a: mt(a, torch.tensor(t)), _x(5, 3))
    with pytest.raises(RuntimeError, match="expected equal input and linear_weight last dimensions"):
        F.linear_cross_entropy(ts.randn(2, 3), ts.randn(4, 5), ts.tensor([0, 1]))
    with pytest.raises(
        RuntimeError, match="ignore_index cannot be specified when target contains probabilities"
    ):
        F.linear_cross_entropy(ts.randn(2, 3), ts.randn(4, 3), ts.rand(2, 4), ignore_index=1)


# -- CTC ----------------------------------------------------------------------------------------------------
def _ctc_case(layout, dtype=np.float32):
    rng = np.random.default_rng(3)
    t_len, n, c = 9, 4, 5
    x = rng.standard_normal((t_len, n, c)).astype(dtype)
    padded = np.array([[1, 2, 2, 3], [3, 1, 0, 0], [4, 4, 4, 0], [2, 0, 0, 0]])
    tl = [4, 2, 3, 0]
    il = [9, 7, 8, 3]
    targets = np.concatenate([padded[i, : tl[i]] for i in range(n)]) if layout == "concat" else padded
    return x, targets, il, tl


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concat"])
@pytest.mark.parametrize("lengths", ["list", "tensor"])
def test_ctc_loss(reduction, layout, lengths):
    x, targets, il, tl = _ctc_case(layout)
    lens = (ts.tensor(il), ts.tensor(tl)) if lengths == "tensor" else (il, tl)
    lens_t = (torch.tensor(il), torch.tensor(tl)) if lengths == "tensor" else (il, tl)

    def ts_fn(a):
        return F.ctc_loss(a.log_softmax(2), ts.tensor(targets), *lens, reduction=reduction)

    def torch_fn(a):
        return _tnn().ctc_loss(a.log_softmax(2), torch.tensor(targets), *lens_t, reduction=reduction)

    check_torch(ts_fn, torch_fn, x, rtol=1e-5, atol=1e-5)
    # the gradient with respect to log_probs itself is PyTorch's too
    check_torch(
        lambda lp: F.ctc_loss(lp, ts.tensor(targets), *lens, reduction=reduction),
        lambda lp: _tnn().ctc_loss(lp, torch.tensor(targets), *lens_t, reduction=reduction),
        np.log(np.exp(x) / np.exp(x).sum(2, keepdims=True)).astype(np.float32),
        rtol=1e-5,
        atol=1e-5,
    )


@needs_torch
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_blank_and_infinity(zero_infinity):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 2, 6))
    targets = np.array([[1, 1, 1], [2, 3, 0]])  # sample 0 needs 5 frames (repeats need blanks): impossible
    il, tl = [4, 4], [3, 2]
    kw = dict(blank=5, reduction="none", zero_infinity=zero_infinity)
    out = check_torch(
        lambda a: F.ctc_loss(a.log_softmax(2), ts.tensor(targets), il, tl, **kw),
        lambda a: _tnn().ctc_loss(a.log_softmax(2), torch.tensor(targets), il, tl, **kw),
        x,
        grad=zero_infinity,
        rtol=1e-7,
        atol=1e-9,
    )
    assert out.dtype == ts.float64
    assert (out.detach().numpy()[0] == 0) if zero_infinity else np.isinf(out.detach().numpy()[0])
    m, mt = (
        nn.CTCLoss(blank=5, zero_infinity=zero_infinity),
        torch.nn.CTCLoss(blank=5, zero_infinity=zero_infinity),
    )
    lp = _x(4, 2, 6, seed=2)
    check_torch(
        lambda a: m(a.log_softmax(2), ts.tensor(targets), il, tl),
        lambda a: mt(a.log_softmax(2), torch.tensor(targets), il, tl),
        lp,
        grad=zero_infinity,
        rtol=1e-5,
    )


@needs_torch
@pytest.mark.parametrize("red", REDUCTIONS)
def test_ctc_loss_unbatched(red):
    x = _x(6, 4, seed=4)
    check_torch(
        lambda a: F.ctc_loss(a.log_softmax(1), ts.tensor([1, 3]), ts.tensor(6), ts.tensor(2), reduction=red),
        lambda a: _tnn().ctc_loss(
            a.log_softmax(1), torch.tensor([1, 3]), torch.tensor(6), torch.tensor(2), reduction=red
        ),
        x,
        rtol=1e-5,
    )


def test_ctc_loss_errors():
    lp = ts.randn(5, 2, 4).log_softmax(2)
    t = ts.tensor([[1, 2], [1, 1]])
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 5, but got value 6"):
        F.ctc_loss(lp, t, [5, 6], [2, 2])
    with pytest.raises(RuntimeError, match="Expected tensor to have size at least 3 at dimension 1"):
        F.ctc_loss(lp, t, [5, 5], [2, 3])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, t, [5, 5], [2, 2], blank=4)
    with pytest.raises(IndexError, match="ctc_loss: target 7 is out of bounds for 4 classes"):
        F.ctc_loss(lp, ts.tensor([[1, 7], [1, 1]]), [5, 5], [2, 2])
    with pytest.raises(RuntimeError, match="expected input_lengths of size 2"):
        F.ctc_loss(lp, t, [5], [2, 2])
    with pytest.raises(ValueError, match="ctc_loss.*reduction"):
        F.ctc_loss(lp, t, [5, 5], [2, 2], reduction="avg")
    before = lp.numpy().copy()
    with pytest.raises(RuntimeError):
        F.ctc_loss(lp, t, [5, 9], [2, 2])
    assert np.array_equal(lp.numpy(), before)


# -- EmbeddingBag -------------------------------------------------------------------------------------------
def _bag_case(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((10, 3)).astype(np.float32)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2, 2])
    return w, idx


@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_offsets(mode, last, padding_idx):
    w, idx = _bag_case()
    offsets = np.array([0, 4, 4, 8, 10]) if last else np.array([0, 4, 4, 8])  # an empty bag, a repeat bag

    def ts_fn(w):
        return F.embedding_bag(
            ts.tensor(idx),
            w,
            ts.tensor(offsets),
            mode=mode,
            include_last_offset=last,
            padding_idx=padding_idx,
        )

    def torch_fn(w):
        return _tnn().embedding_bag(
            torch.tensor(idx),
            w,
            torch.tensor(offsets),
            mode=mode,
            include_last_offset=last,
            padding_idx=padding_idx,
        )

    check_torch(ts_fn, torch_fn, w)


@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_input_and_module(mode):
    w, idx = _bag_case(1)
    idx2 = idx.reshape(5, 2)
    check_torch(
        lambda w: F.embedding_bag(ts.tensor(idx2), w, mode=mode),
        lambda w: _tnn().embedding_bag(torch.tensor(idx2), w, mode=mode),
        w,
    )
    m = nn.EmbeddingBag.from_pretrained(ts.tensor(w), freeze=False, mode=mode, padding_idx=4)
    mt = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=False, mode=mode, padding_idx=4)
    assert repr(m) == repr(mt)
    y, yt = m(ts.tensor(idx2)), mt(torch.tensor(idx2))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), mt.weight.grad.numpy(), rtol=1e-6)
    fresh = nn.EmbeddingBag(10, 3, mode=mode, padding_idx=1)
    assert list(fresh.state_dict()) == ["weight"] and np.all(fresh.weight.detach().numpy()[1] == 0)


@needs_torch
@pytest.mark.parametrize("two_d", [False, True])
def test_embedding_bag_per_sample_weights(two_d):
    w, idx = _bag_case(2)
    psw = np.random.default_rng(5).uniform(0.5, 2.0, idx.shape).astype(np.float32)
    if two_d:
        idx, psw, off, off_t = idx.reshape(2, 5), psw.reshape(2, 5), None, None
    else:
        off, off_t = ts.tensor([0, 3, 7]), torch.tensor([0, 3, 7])
    check_torch(
        lambda w, p: F.embedding_bag(ts.tensor(idx), w, off, mode="sum", per_sample_weights=p, padding_idx=2),
        lambda w, p: _tnn().embedding_bag(
            torch.tensor(idx), w, off_t, mode="sum", per_sample_weights=p, padding_idx=2
        ),
        w,
        psw,
    )


@needs_torch
def test_embedding_bag_max_norm_renormalises_in_place():
    w, idx = _bag_case(3)
    w *= 3
    wt, wtt = ts.tensor(w), torch.tensor(w)
    version = wt._version
    y = F.embedding_bag(ts.tensor(idx), wt, ts.tensor([0, 5]), max_norm=1.5, mode="sum")
    yt = _tnn().embedding_bag(torch.tensor(idx), wtt, torch.tensor([0, 5]), max_norm=1.5, mode="sum")
    assert wt._version > version
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5)
    np.testing.assert_allclose(wt.numpy(), wtt.numpy(), rtol=1e-5)


def test_embedding_bag_errors():
    w = ts.randn(10, 3)
    i = ts.tensor([1, 2, 3, 4, 5])
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(i, w, ts.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="offsets\\[-1\\] can not be greater than input's length 5"):
        F.embedding_bag(i, w, ts.tensor([0, 6]))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(i, w, ts.tensor([0, 2]), mode="max", per_sample_weights=ts.ones(5))
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(i.reshape(1, 5), w, ts.tensor([0, 2]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(i, w)
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(i, w, ts.tensor([0, 2]), mode="avg")
    with pytest.raises(ValueError, match="must have the same shape as the input"):
        F.embedding_bag(i, w, ts.tensor([0, 2]), mode="sum", per_sample_weights=ts.ones(4))
    with pytest.raises(IndexError, match="embedding_bag: index 12 is out of range for 10 embeddings"):
        F.embedding_bag(ts.tensor([1, 12]), w, ts.tensor([0, 1]))
    with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(10, 3, padding_idx=12)


@needs_torch
def test_embedding_max_norm_bumps_version():
    w = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32) * 3
    m = nn.Embedding.from_pretrained(ts.tensor(w), max_norm=1.0)
    mt = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=1.0)
    version = m.weight._version
    y = m(ts.tensor([[0, 2], [2, 5]]))
    yt = mt(torch.tensor([[0, 2], [2, 5]]))
    assert m.weight._version > version
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5)
    np.testing.assert_allclose(m.weight.detach().numpy(), mt.weight.detach().numpy(), rtol=1e-5)


# -- local response norm, SyncBatchNorm ---------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 6, 7), (2, 5, 3, 4), (1, 4, 2, 3, 2)])
def test_local_response_norm(size, shape):
    x = _x(*shape, seed=1, scale=2.0)
    kw = dict(alpha=0.3, beta=0.8, k=1.5)
    check_torch(
        lambda a: F.local_response_norm(a, size, **kw), lambda a: _tnn().local_response_norm(a, size, **kw), x
    )
    check_torch(nn.LocalResponseNorm(size, **kw), torch.nn.LocalResponseNorm(size, **kw), x)
    assert repr(nn.LocalResponseNorm(size, **kw)) == repr(torch.nn.LocalResponseNorm(size, **kw))


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input \\(got 2 dimensions\\)"):
        F.local_response_norm(ts.randn(2, 3), 2)


@needs_torch
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [1, 3, 7])
def test_cross_map_lrn2d(size, channels):
    x = _x(2, channels, 3, 4, seed=2, scale=2.0)
    kw = dict(alpha=0.5, beta=0.75, k=1.2)
    m, mt = nn.CrossMapLRN2d(size, **kw), torch.nn.CrossMapLRN2d(size, **kw)
    check_torch(m, mt, x, rtol=1e-5, atol=1e-5, grad=size > 1)  # torch's backward fails for size 1
    assert repr(m) == repr(mt)
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D instead"):
        m(ts.randn(2, 3, 4))


@needs_torch
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_sync_batch_norm_matches_batch_norm(shape, momentum):
    x = _x(*shape, seed=3, scale=2.0) + 1
    m = nn.SyncBatchNorm(3, momentum=momentum)
    mt = torch.nn.SyncBatchNorm(3, momentum=momentum)
    assert list(m.state_dict()) == list(mt.state_dict())
    for _ in range(2):
        check_torch(m, mt, x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.running_var.numpy(), mt.running_var.numpy(), rtol=1e-5)
    assert int(m.num_batches_tracked.item()) == 2
    m.eval()
    mt.eval()
    check_torch(m, mt, x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="SyncBatchNorm: expected at least 2D input \\(got 1D input\\)"):
        m(ts.randn(3))


@needs_torch
def test_convert_sync_batchnorm():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.ReLU(), nn.BatchNorm2d(4, affine=False))
    )
    net.eval()
    bn = net[1]
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert conv is net and type(net[1]) is nn.SyncBatchNorm and type(net[2][1]) is nn.SyncBatchNorm
    assert net[1].weight is bn.weight and net[1].running_mean is bn.running_mean and not net[1].training
    assert net[2][1].weight is None
    assert repr(net[1]) == repr(torch.nn.SyncBatchNorm(4))
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(5))
    assert type(single) is nn.SyncBatchNorm and single.num_features == 5


# -- F.linear / F.bilinear hardening ------------------------------------------------------------------------
@needs_torch
def test_linear_dtype_and_shape_checks():
    with pytest.raises(
        RuntimeError, match="expected m1 and m2 to have the same dtype, but got: long int != float"
    ):
        F.linear(ts.ones(2, 3, dtype=ts.int64), ts.ones(4, 3))
    with pytest.raises(
        RuntimeError, match="expected m1 and m2 to have the same dtype, but got: double != float"
    ):
        F.linear(ts.ones(2, 3, dtype=ts.float64), ts.ones(4, 3))
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied \\(2x3 and 5x4\\)"):
        F.linear(ts.ones(2, 3), ts.ones(4, 5))
    with pytest.raises(RuntimeError, match="linear: expected bias to have the dtype"):
        F.linear(ts.ones(2, 3), ts.ones(4, 3), ts.ones(4, dtype=ts.float64))
    with pytest.raises(RuntimeError, match="bilinear: All tensors must have the same dtype"):
        F.bilinear(ts.ones(2, 3), ts.ones(2, 4, dtype=ts.float64), ts.ones(5, 3, 4))
    check_torch(F.linear, _tnn().linear, _x(3, seed=1), _x(3, seed=2))  # 1-D weight: drops the dimension
    check_torch(F.linear, _tnn().linear, _x(2, 5, 3, seed=1), _x(4, 3, seed=2), _x(4, seed=3))
    check_torch(F.bilinear, _tnn().bilinear, _x(2, 3, seed=1), _x(2, 4, seed=2), _x(5, 3, 4, seed=3), _x(5))


# -- AdaptiveLogSoftmaxWithLoss -----------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax(head_bias):
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=head_bias)
    mt = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=head_bias)
    assert repr(m) == repr(mt)
    assert list(m.state_dict()) == list(mt.state_dict())
    m.load_state_dict({k: ts.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    x = _x(7, 8, seed=1)
    t = np.array([0, 4, 9, 2, 6, 5, 3])
    check_torch(lambda a: tuple(m(a, ts.tensor(t))), lambda a: tuple(mt(a, torch.tensor(t))), x, rtol=1e-5)
    out, loss = m(ts.tensor(x), ts.tensor(t))
    loss.backward()
    _, lt = mt(torch.tensor(x), torch.tensor(t))
    lt.backward()
    for (k, p), (_, pt) in zip(m.named_parameters(), mt.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-5, atol=1e-7, err_msg=k)
    check_torch(m.log_prob, mt.log_prob, x, rtol=1e-5)
    assert np.array_equal(m.predict(ts.tensor(x)).numpy(), mt.predict(torch.tensor(x)).numpy())
    o1, l1 = m(ts.tensor(x[0]), ts.tensor(t[0]))
    assert o1.shape == () and np.isclose(o1.item(), out.detach().numpy()[0])


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive integers"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [])
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])
    with pytest.raises(RuntimeError, match="Target values should be in \\[0, 9\\]"):
        m(ts.randn(2, 8), ts.tensor([1, 10]))
    with pytest.raises(
        RuntimeError, match="Input and target should have the same size in the batch dimension"
    ):
        m(ts.randn(3, 8), ts.tensor([1, 2]))


@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_scale_grad_by_freq(padding_idx):
    w = _x(6, 2, seed=1)
    idx = np.array([[1, 1, 2], [1, 3, 3]])
    check_torch(
        lambda w: F.embedding(ts.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=True),
        lambda w: _tnn().embedding(torch.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=True),
        w,
    )
    m = nn.Embedding.from_pretrained(ts.tensor(w), freeze=False, scale_grad_by_freq=True)
    mt = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, scale_grad_by_freq=True)
    check_torch(lambda i: m(ts.tensor(idx)), lambda i: mt(torch.tensor(idx)), w, grad=False)
    m(ts.tensor(idx)).sum().backward()
    mt(torch.tensor(idx)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), mt.weight.grad.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="max mode does not support scaling the gradient by the frequency"):
        F.embedding_bag(ts.tensor([1, 2]), ts.tensor(w), ts.tensor([0]), mode="max", scale_grad_by_freq=True)


# -- torch-level forms (int reductions, torch.* argument orders) --------------------------------------------
@needs_torch
@pytest.mark.parametrize("code", [0, 1, 2])
def test_torch_level_loss_forms(code):
    from tessera.nn.functional import loss as L

    x, y = _x(4, 5, seed=1), _x(4, 5, seed=2)
    p = np.abs(_x(4, 5, seed=3)) / 3 + 0.05
    pm = np.sign(_x(4, 5, seed=4))
    pm4 = np.sign(_x(4, seed=5))
    lp = np.log(np.exp(_x(6, 2, 4, seed=6)) / np.exp(_x(6, 2, 4, seed=6)).sum(2, keepdims=True))
    tg = np.array([[1, 2], [3, 3]])
    cases = [
        (L._torch_kl_div, torch.kl_div, (x, p), ()),
        (L._torch_margin_ranking_loss, torch.margin_ranking_loss, (x, y), (pm, 0.2)),
        (L._torch_hinge_embedding_loss, torch.hinge_embedding_loss, (x,), (pm, 0.5)),
        (L._torch_cosine_embedding_loss, torch.cosine_embedding_loss, (x, y), (pm4, 0.1)),
        (L._torch_triplet_margin_loss, torch.triplet_margin_loss, (x, y, p), (1.0, 2.0, 1e-6, True)),
        (
            L._torch_binary_cross_entropy_with_logits,
            torch.binary_cross_entropy_with_logits,
            (x, p),
            (None, None),
        ),
    ]
    for ts_fn, torch_fn, arrays, extra in cases:
        ex_ts = tuple(ts.tensor(e) if isinstance(e, np.ndarray) else e for e in extra)
        ex_t = tuple(torch.tensor(e) if isinstance(e, np.ndarray) else e for e in extra)
        for tail_ts, tail_t in (((*ex_ts, code), (*ex_t, code)), (ex_ts, ex_t)):  # explicit, then default
            check_torch(
                lambda *a, f=ts_fn, e=tail_ts: f(*a, *e),
                lambda *a, f=torch_fn, e=tail_t: f(*a, *e),
                *arrays,
                rtol=1e-5,
            )
    check_torch(
        lambda a: L._torch_poisson_nll_loss(a, ts.tensor(p), True, True, 1e-8, code),
        lambda a: torch.poisson_nll_loss(a, torch.tensor(p), True, True, 1e-8, code),
        x,
    )
    check_torch(
        lambda a: L._torch_ctc_loss(a, ts.tensor(tg), [6, 5], [2, 2], 0, code),
        lambda a: torch.ctc_loss(a, torch.tensor(tg), [6, 5], [2, 2], 0, code),
        lp.astype(np.float32),
        rtol=1e-5,
    )
    with pytest.raises(TypeError, match="argument 'reduction' must be int, not str"):
        L._torch_kl_div(ts.tensor(x), ts.tensor(p), "mean")


@needs_torch
def test_torch_level_norm_dropout_embedding_forms():
    import importlib

    Li = importlib.import_module("tessera.nn.functional.linear")  # the package's `linear` is the function
    N = importlib.import_module("tessera.nn.functional.normalization")

    x = _x(4, 3, 5, seed=1)
    w, b = _x(3, seed=2), _x(3, seed=3)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    check_torch(
        lambda a, w, b: N._torch_batch_norm(a, w, b, ts.tensor(rm), ts.tensor(rv), True, 0.1, 1e-5, False),
        lambda a, w, b: torch.batch_norm(a, w, b, torch.tensor(rm), torch.tensor(rv), True, 0.1, 1e-5, False),
        x, w, b, rtol=1e-5, atol=1e-5,
    )  # fmt: skip
    check_torch(
        lambda a, w, b: N._torch_instance_norm(a, w, b, None, None, True, 0.1, 1e-5, False),
        lambda a, w, b: torch.instance_norm(a, w, b, None, None, True, 0.1, 1e-5, False),
        x, w, b, rtol=1e-5, atol=1e-5,
    )  # fmt: skip
    check_torch(
        lambda a: N._torch_layer_norm(a, [5]), lambda a: torch.layer_norm(a, [5]), x, rtol=1e-5, atol=1e-5
    )
    check_torch(
        lambda a: N._torch_group_norm(a, 3), lambda a: torch.group_norm(a, 3), x, rtol=1e-5, atol=1e-5
    )
    check_torch(lambda a: ts.dropout(a, 0.5, False), lambda a: torch.dropout(a, 0.5, False), x)
    check_torch(
        lambda a: ts.alpha_dropout(a, 0.5, False), lambda a: torch.alpha_dropout(a, 0.5, False), x
    )
    idx = np.array([[0, 2], [4, 2]])
    ew = _x(5, 3, seed=4)
    for pad in (-1, 2):
        check_torch(
            lambda w, pad=pad: Li._torch_embedding(w, ts.tensor(idx), pad),
            lambda w, pad=pad: torch.embedding(w, torch.tensor(idx), pad),
            ew,
        )
