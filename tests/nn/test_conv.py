"""Convolutions: F.conv1d/conv2d/conv_transpose1d/2d, unfold/fold and the Conv layers against PyTorch,
finite differences (float64) and second derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from opcheck import check_torch, needs_torch, rand, torch

import tessera as ts
import tessera.nn.functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

if torch is not None:
    import torch.nn.functional as TF


def _args(x_shape, w_shape, bias, seed=0):
    out = [rand(*x_shape, seed=seed), rand(*w_shape, seed=seed + 1)]
    if bias:
        out.append(rand(w_shape[0] if len(out) else 1, seed=seed + 2))
    return out


CONV2D_CASES = [
    # (x shape, weight shape, kwargs)
    ((2, 3, 9, 8), (4, 3, 3, 3), {}),
    ((2, 3, 9, 8), (4, 3, 3, 3), {"padding": 1}),
    ((2, 3, 10, 11), (5, 3, 3, 2), {"stride": 2, "padding": (1, 0)}),
    ((2, 4, 10, 9), (6, 2, 3, 3), {"stride": (2, 1), "padding": 2, "dilation": (2, 1), "groups": 2}),
    ((1, 4, 7, 7), (4, 1, 3, 3), {"padding": 1, "groups": 4}),  # depthwise
    ((2, 3, 8, 8), (4, 3, 4, 2), {"padding": "same"}),  # even kernel: asymmetric padding
    ((2, 3, 9, 9), (4, 3, 3, 3), {"padding": "same", "dilation": 2}),
    ((2, 3, 6, 7), (2, 3, 3, 3), {"padding": "valid", "stride": 3}),
    ((3, 1, 5, 5), (2, 1, 5, 5), {}),  # kernel == input
    ((2, 2, 4, 4), (3, 2, 1, 1), {"stride": 2}),  # 1x1
]


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
def test_conv2d_vs_torch(xs, ws, kw, bias):
    args = [rand(*xs, seed=1), rand(*ws, seed=2)] + ([rand(ws[0], seed=3)] if bias else [])
    check_torch(
        lambda *a: F.conv2d(*a, **kw),
        lambda *a: TF.conv2d(*a, **kw),
        *args,
        rtol=1e-5,
        atol=1e-5,
    )


@needs_torch
def test_conv2d_unbatched_and_benchmark_shapes():
    check_torch(
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        lambda x, w, b: TF.conv2d(x, w, b, padding=1),
        rand(3, 6, 5),
        rand(4, 3, 3, 3),
        rand(4),
        atol=1e-5,
    )
    check_torch(
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        lambda x, w, b: TF.conv2d(x, w, b, padding=1),
        rand(8, 32, 14, 14, low=-1, high=1),
        rand(64, 32, 3, 3, low=-0.1, high=0.1),
        rand(64),
        rtol=1e-4,
        atol=1e-4,
    )


def test_conv2d_output_is_contiguous_nchw():
    out = F.conv2d(ts.randn(2, 3, 6, 6), ts.randn(4, 3, 3, 3), ts.randn(4), padding=1)
    assert out.shape == (2, 4, 6, 6) and out.is_contiguous()
    out.view(2, -1)  # a view like torch allows


CONV1D_CASES = [
    ((2, 3, 10), (4, 3, 3), {}),
    ((2, 3, 10), (4, 3, 3), {"padding": 1, "stride": 2}),
    ((2, 4, 12), (6, 2, 3), {"padding": "same", "dilation": 2, "groups": 2}),
    ((2, 4, 12), (6, 4, 4), {"padding": "same"}),
    ((3, 10), (2, 3, 3), {"padding": (2,)}),  # unbatched
]


@needs_torch
@pytest.mark.parametrize("xs,ws,kw", CONV1D_CASES)
def test_conv1d_vs_torch(xs, ws, kw):
    check_torch(
        lambda *a: F.conv1d(*a, **kw),
        lambda *a: TF.conv1d(*a, **kw),
        rand(*xs, seed=4),
        rand(*ws, seed=5),
        rand(ws[0], seed=6),
        atol=1e-5,
    )


CONVT2D_CASES = [
    ((2, 4, 5, 5), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 5, 5), (4, 2, 2, 3), {"stride": (2, 1), "groups": 2, "dilation": (1, 2)}),
    ((2, 4, 4, 4), (4, 3, 2, 2), {"stride": 2}),
    ((4, 3, 3), (4, 2, 3, 3), {"padding": 1}),  # unbatched
]


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", CONVT2D_CASES)
def test_conv_transpose2d_vs_torch(xs, ws, kw, bias):
    groups = kw.get("groups", 1)
    args = [rand(*xs, seed=7), rand(*ws, seed=8)] + ([rand(ws[1] * groups, seed=9)] if bias else [])
    check_torch(
        lambda *a: F.conv_transpose2d(*a, **kw), lambda *a: TF.conv_transpose2d(*a, **kw), *args, atol=1e-5
    )


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"stride": 3, "padding": 1, "output_padding": 2}, {"dilation": 2}])
def test_conv_transpose1d_vs_torch(kw):
    check_torch(
        lambda *a: F.conv_transpose1d(*a, **kw),
        lambda *a: TF.conv_transpose1d(*a, **kw),
        rand(2, 4, 6),
        rand(4, 3, 3),
        rand(3),
        atol=1e-5,
    )


@needs_torch
@pytest.mark.parametrize(
    "kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}]
)
def test_unfold_fold_vs_torch(kw):
    check_torch(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), rand(2, 3, 6, 7))
    n_blocks = TF.unfold(torch.zeros(1, 1, 6, 7), **kw).shape[-1]
    k = kw["kernel_size"]
    kk = k * k if isinstance(k, int) else k[0] * k[1]
    check_torch(
        lambda x: F.fold(x, (6, 7), **kw), lambda x: TF.fold(x, (6, 7), **kw), rand(2, 3 * kk, n_blocks)
    )


# -- float64 finite differences and second derivatives --------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [{"padding": 1}, {"stride": 2, "padding": (0, 1), "dilation": (1, 2)}, {"groups": 2, "padding": "same"}],
)
def test_conv2d_gradcheck(kw):
    groups = kw.get("groups", 1)
    x = ts.tensor(rand(2, 4, 5, 5, dtype=np.float64), requires_grad=True)
    w = ts.tensor(rand(4, 4 // groups, 3, 2, dtype=np.float64), requires_grad=True)
    b = ts.tensor(rand(4, dtype=np.float64), requires_grad=True)
    assert ts.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


def test_conv2d_gradgradcheck():
    x = ts.tensor(rand(1, 2, 4, 4, dtype=np.float64), requires_grad=True)
    w = ts.tensor(rand(3, 2, 2, 2, dtype=np.float64), requires_grad=True)
    b = ts.tensor(rand(3, dtype=np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), (x, w, b))


def test_conv_transpose2d_gradcheck_and_gradgradcheck():
    x = ts.tensor(rand(1, 2, 3, 3, dtype=np.float64), requires_grad=True)
    w = ts.tensor(rand(2, 2, 2, 2, dtype=np.float64), requires_grad=True)
    fn = lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)  # noqa: E731
    assert ts.autograd.gradcheck(fn, (x, w))
    assert ts.autograd.gradgradcheck(fn, (x, w))


def test_conv1d_and_fold_gradcheck():
    x = ts.tensor(rand(2, 2, 7, dtype=np.float64), requires_grad=True)
    w = ts.tensor(rand(3, 2, 3, dtype=np.float64), requires_grad=True)
    assert ts.autograd.gradcheck(lambda x, w: F.conv1d(x, w, stride=2, padding=1), (x, w))
    cols = ts.tensor(rand(1, 8, 9, dtype=np.float64), requires_grad=True)
    assert ts.autograd.gradcheck(lambda c: F.fold(c, (4, 4), 2, stride=1), (cols,))


# -- layers ----------------------------------------------------------------------------------------------------
LAYERS = [
    ("Conv2d", (3, 8, 3), {"padding": 1}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": 2, "groups": 2, "bias": False}, (2, 4, 9, 8)),
    ("Conv2d", (3, 4, 3), {"padding": "same", "padding_mode": "reflect"}, (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 3), {"padding": 2, "padding_mode": "replicate"}, (2, 3, 5, 6)),
    ("Conv2d", (3, 4, 3), {"padding": (1, 2), "padding_mode": "circular"}, (3, 6, 6)),
    ("Conv1d", (3, 5, 3), {"padding": 1}, (2, 3, 9)),
    ("Conv1d", (4, 4, 2), {"padding": "same", "padding_mode": "circular", "groups": 4}, (2, 4, 9)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 6, 2), {"groups": 2, "dilation": 2}, (4, 3, 3)),
    ("ConvTranspose1d", (3, 2, 4), {"stride": 2}, (2, 3, 6)),
]


@needs_torch
@pytest.mark.parametrize("name,args,kw,xs", LAYERS)
def test_layer_matches_torch(name, args, kw, xs):
    tmod = getattr(torch.nn, name)(*args, **kw)
    smod = getattr(ts.nn, name)(*args, **kw)
    tsd = tmod.state_dict()
    ssd = smod.state_dict()
    assert list(tsd) == list(ssd)
    assert all(tuple(tsd[k].shape) == tuple(ssd[k].shape) for k in tsd)
    smod.load_state_dict({k: v.detach().numpy() for k, v in tsd.items()})
    x = rand(*xs, seed=3)
    tx = torch.tensor(x, requires_grad=True)
    sx = ts.tensor(x, requires_grad=True)
    tout, sout = tmod(tx), smod(sx)
    np.testing.assert_allclose(sout.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = rand(*tout.shape, seed=4)
    tout.backward(torch.tensor(g))
    sout.backward(ts.tensor(g))
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    for (k, tp), (_, sp) in zip(tmod.named_parameters(), smod.named_parameters()):
        np.testing.assert_allclose(sp.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-4, err_msg=k)
    assert repr(smod) == repr(tmod)


@needs_torch
def test_conv_transpose_output_size():
    tmod = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    smod = ts.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    smod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    x = rand(1, 2, 4, 4)
    out = smod(ts.tensor(x), output_size=(8, 8))
    ref = tmod(torch.tensor(x), output_size=[8, 8])
    assert out.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="ConvTranspose2d: requested an output size"):
        smod(ts.tensor(x), output_size=(12, 12))


@pytest.mark.parametrize(
    "cls,args,fan_in",
    [
        (ts.nn.Conv2d, (6, 16, 5), 6 * 25),
        (ts.nn.Conv2d, (8, 4, (3, 2), 1, 0, 1, 2), 4 * 6),
        (ts.nn.Conv1d, (3, 7, 4), 12),
        (ts.nn.ConvTranspose2d, (6, 4, 3), 4 * 9),  # PyTorch's fan_in of a transposed weight is dim 1
    ],
)
def test_default_init_bounds(cls, args, fan_in):
    ts.manual_seed(0)
    m = cls(*args)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound  # spread over the whole interval
    assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound
    assert m.weight.requires_grad and m.bias.requires_grad


def test_layer_errors_name_the_layer():
    conv = ts.nn.Conv2d(3, 8, 3)
    with pytest.raises(
        RuntimeError, match=r"Conv2d: expected input with 3 channels, got shape \(8, 4, 28, 28\)"
    ):
        conv(ts.zeros(8, 4, 28, 28))
    with pytest.raises(RuntimeError, match=r"Conv2d: expected 3-D \(unbatched\) or 4-D"):
        conv(ts.zeros(3, 28))
    with pytest.raises(ValueError, match="Conv2d: invalid padding string 'full'"):
        ts.nn.Conv2d(3, 8, 3, padding="full")
    with pytest.raises(ValueError, match="Conv2d: padding='same' is not supported for strided"):
        ts.nn.Conv2d(3, 8, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Conv1d: in_channels \\(3\\) must be divisible by groups \\(2\\)"):
        ts.nn.Conv1d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        ts.nn.Conv2d(3, 8, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="ConvTranspose2d: only 'zeros' padding mode"):
        ts.nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect")


def test_functional_errors_name_the_op():
    x = ts.zeros(2, 3, 4, 4)
    with pytest.raises(RuntimeError, match="conv2d: given groups=1, weight of size \\(8, 2, 3, 3\\) expects"):
        F.conv2d(x, ts.zeros(8, 2, 3, 3))
    with pytest.raises(
        RuntimeError,
        match="conv2d: calculated padded input size per channel: \\(4 x 4\\). Kernel size: \\(5 x 5\\)",
    ):
        F.conv2d(x, ts.zeros(8, 3, 5, 5))
    with pytest.raises(ValueError, match="conv2d: invalid padding string 'half'"):
        F.conv2d(x, ts.zeros(8, 3, 3, 3), padding="half")
    with pytest.raises(RuntimeError, match="conv1d: expected 3-D weight"):
        F.conv1d(ts.zeros(2, 3, 5), ts.zeros(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="conv2d: expected bias of shape \\(8,\\)"):
        F.conv2d(x, ts.zeros(8, 3, 3, 3), ts.zeros(4))
    with pytest.raises(RuntimeError, match="conv2d: expected input, weight and bias to have the same dtype"):
        F.conv2d(x, ts.zeros(8, 3, 3, 3, dtype=ts.float64))
    with pytest.raises(ValueError, match="conv2d: stride must be positive"):
        F.conv2d(x, ts.zeros(8, 3, 3, 3), stride=0)
    with pytest.raises(ValueError, match="conv_transpose2d: output padding must be smaller"):
        F.conv_transpose2d(x, ts.zeros(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="fold: expected input's dimension 2"):
        F.fold(ts.zeros(1, 4, 5), (3, 3), 2)


def test_module_training_step_reduces_loss():
    ts.manual_seed(0)
    model = ts.nn.Sequential(
        ts.nn.Conv2d(1, 4, 3, padding=1),
        ts.nn.ReLU(),
        ts.nn.MaxPool2d(2),
        ts.nn.Flatten(),
        ts.nn.Linear(16, 2),
    )
    x = ts.randn(8, 1, 4, 4)
    target = ts.randn(8, 2)
    losses = []
    for _ in range(5):
        for p in model.parameters():
            p.grad = None
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        with ts.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < losses[0]
