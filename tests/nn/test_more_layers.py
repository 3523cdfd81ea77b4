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
