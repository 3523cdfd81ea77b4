"""3-D convolution and pooling, padding layers, Fold/Unfold, unpooling, fractional max pooling, feature
dropout, channel shuffle, grid_sample / affine_grid and interpolate's errors, against PyTorch (values,
gradients, shapes, defaults, reprs and errors)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from opcheck import check_grad, check_torch, needs_torch, rand, torch

import tessera as ts
import tessera.nn.functional as F
from tessera.core.dispatch import apply
from tessera.ops.conv import AVG_POOL, CONVOLUTION, MAX_POOL

if torch is not None:
    import torch.nn.functional as TF

pytestmark = needs_torch


# -- conv3d / conv_transpose3d ----------------------------------------------------------------------------
CONV3D = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (1, 2, 1), "padding": (1, 0, 2), "dilation": (2, 1, 1), "groups": 2},
    {"padding": "same", "dilation": (1, 2, 1)},
    {"padding": "valid", "groups": 2},
]


@pytest.mark.parametrize("kw", CONV3D)
@pytest.mark.parametrize("bias", [False, True])
def test_conv3d_vs_torch(kw, bias):
    x, w = rand(2, 4, 5, 6, 7, seed=1), rand(6, 4 // kw.get("groups", 1), 2, 3, 3, seed=2)
    args = (x, w, rand(6, seed=3)) if bias else (x, w)
    with warnings.catch_warnings():  # torch warns about 'same' with even kernels
        warnings.simplefilter("ignore")
        check_torch(
            lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw), *args, rtol=1e-4, atol=1e-4
        )


def test_conv3d_unbatched_and_finite_differences():
    x, w = rand(3, 4, 4, 5, seed=4), rand(2, 3, 2, 2, 3, seed=5)
    check_torch(
        lambda a, b: F.conv3d(a, b, padding=1), lambda a, b: TF.conv3d(a, b, padding=1), x, w, rtol=1e-4
    )
    check_grad(lambda a, b: F.conv3d(a, b, stride=(2, 1, 1), padding=(0, 1, 0)), x[None], w)


CONVT3D = [
    {},
    {"stride": 2, "padding": 1, "output_padding": 1},
    {
        "stride": (2, 1, 3),
        "padding": (1, 0, 1),
        "output_padding": (1, 0, 2),
        "groups": 2,
        "dilation": (1, 2, 1),
    },
]


@pytest.mark.parametrize("kw", CONVT3D)
def test_conv_transpose3d_vs_torch(kw):
    x, w, b = rand(2, 4, 3, 4, 3, seed=6), rand(4, 3, 2, 3, 2, seed=7), rand(3 * kw.get("groups", 1), seed=8)
    check_torch(
        lambda *a: F.conv_transpose3d(*a, **kw),
        lambda *a: TF.conv_transpose3d(*a, **kw),
        x,
        w,
        b,
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_padding_modes_vs_torch(mode):
    ts.manual_seed(0)
    m = ts.nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=(1, 1, 2), padding_mode=mode)
    tm = torch.nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=(1, 1, 2), padding_mode=mode)
    assert repr(m) == repr(tm)
    assert tuple(m.weight.shape) == tuple(tm.weight.shape) and tuple(m.bias.shape) == (4,)
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
        tm.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
    x = rand(2, 2, 4, 5, 6, seed=9)
    np.testing.assert_allclose(
        m(ts.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )


def test_conv_transpose3d_module_output_size():
    m, tm = (
        ts.nn.ConvTranspose3d(4, 2, 3, stride=2, groups=2),
        torch.nn.ConvTranspose3d(4, 2, 3, stride=2, groups=2),
    )
    assert repr(m) == repr(tm) and tuple(m.weight.shape) == tuple(tm.weight.shape)
    x = ts.randn(1, 4, 3, 3, 3)
    assert m(x, output_size=(8, 7, 8)).shape == (1, 2, 8, 7, 8)
    with pytest.raises(ValueError, match="ConvTranspose3d: requested an output size"):
        m(x, output_size=(10, 7, 7))


def test_conv3d_errors():
    x, w = ts.randn(1, 4, 5, 5, 5), ts.randn(2, 4, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"conv3d: expected 5-D weight"):
        F.conv3d(x, ts.randn(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match=r"conv3d: expected 4-D \(unbatched\) or 5-D"):
        F.conv3d(ts.randn(4, 5, 5), w)
    with pytest.raises(RuntimeError, match="conv3d: given groups=1, weight of size"):
        F.conv3d(ts.randn(1, 3, 5, 5, 5), w)
    with pytest.raises(ValueError, match="conv3d: padding='same' is not supported for strided"):
        F.conv3d(x, w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="conv3d: calculated padded input size"):
        F.conv3d(ts.randn(1, 4, 2, 5, 5), w)
    with pytest.raises(ValueError, match="conv_transpose3d: output padding must be smaller"):
        F.conv_transpose3d(ts.randn(1, 2, 3, 3, 3), ts.randn(2, 2, 3, 3, 3), output_padding=1)
    with pytest.raises(ValueError, match="Conv3d: in_channels"):
        ts.nn.Conv3d(3, 4, 3, groups=2)


# -- the 3-d fused kernels against the ops' reference decompositions (float64, with double backward) ------
def _fused_and_reference(op, arrays, attrs):
    results = []
    for fn in (lambda *a: apply(op, a, attrs), lambda *a: op.decompose(*a, **attrs)):
        args = [ts.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*args)
        g = ts.tensor(np.random.default_rng(0).standard_normal(tuple(out.shape)))
        grads = ts.autograd.grad(out, args, g, create_graph=True)
        second = sum(gr.square().sum() for gr in grads)
        if second.requires_grad:  # second order through the gradients (avg_pool's is constant)
            second.backward()
        results.append([out] + list(grads) + [a.grad for a in args])
    for a, b in zip(*results):
        if a is None or b is None:  # no second-order path (the bias): both absent or zero
            assert all(t is None or not t.detach().numpy().any() for t in (a, b))
            continue
        assert a.shape == b.shape
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, (1, 2), 1, 1), (2, (1, 1), 2, 2)])
def test_convolution_3d_matches_its_decomposition(transposed, stride, padding, dilation, groups):
    rng = np.random.default_rng(30)
    x = rng.standard_normal((2, 4, 4, 5, 4))
    w = rng.standard_normal((4, 6 // groups, 2, 3, 2) if transposed else (6, 4 // groups, 2, 3, 2))
    attrs = {
        "stride": (stride,) * 3,
        "padding": (padding,) * 3,
        "dilation": (dilation,) * 3,
        "groups": groups,
        "transposed": transposed,
        "output_padding": (1, 0, 1) if transposed and stride > 1 else (0, 0, 0),
    }
    _fused_and_reference(CONVOLUTION, (x, w, rng.standard_normal(6)), attrs)


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pooling_3d_matches_its_decomposition(ceil_mode):
    x = np.random.default_rng(31).standard_normal((2, 3, 5, 6, 7))
    geom = {"kernel": (2, 3, 2), "stride": (2, 1, 2), "padding": (1, 1, 0), "ceil_mode": ceil_mode}
    _fused_and_reference(MAX_POOL, (x,), {**geom, "dilation": (1, 2, 1)})
    for count_include_pad in (True, False):
        attrs = {**geom, "count_include_pad": count_include_pad, "divisor_override": None}
        _fused_and_reference(AVG_POOL, (x,), attrs)


# -- 3-d pooling ------------------------------------------------------------------------------------------
MAX3D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (2, 3, 2), "stride": (1, 2, 3), "padding": (1, 1, 0), "dilation": (2, 1, 1)},
]


@pytest.mark.parametrize("kw", MAX3D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool3d_vs_torch(kw, ties):
    x = rand(2, 3, 5, 6, 7, seed=10)
    if ties:  # the gradient and the index go to the FIRST maximum of each window
        x = np.round(x)
    check_torch(
        lambda a: F.max_pool3d(a, return_indices=True, **kw),
        lambda a: TF.max_pool3d(a, return_indices=True, **kw),
        x,
    )
    check_torch(lambda a: ts.nn.MaxPool3d(**kw)(a), lambda a: torch.nn.MaxPool3d(**kw)(a), x[0])
    assert repr(ts.nn.MaxPool3d(**kw)) == repr(torch.nn.MaxPool3d(**kw))


AVG3D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (2, 3, 2), "stride": (1, 2, 3), "padding": (1, 1, 0), "ceil_mode": True},
]


@pytest.mark.parametrize("kw", AVG3D)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 5])
def test_avg_pool3d_vs_torch(kw, count_include_pad, divisor_override):
    x = rand(2, 3, 5, 6, 7, seed=11)
    extra = {"count_include_pad": count_include_pad, "divisor_override": divisor_override}
    check_torch(lambda a: F.avg_pool3d(a, **kw, **extra), lambda a: TF.avg_pool3d(a, **kw, **extra), x)
    m, tm = ts.nn.AvgPool3d(**kw, **extra), torch.nn.AvgPool3d(**kw, **extra)
    assert repr(m) == repr(tm)
    check_torch(m, tm, x[0])


@pytest.mark.parametrize("size", [(2, 3, 4), (5, 3, 1), 1, (None, 2, 3)])
def test_adaptive_pool3d_vs_torch(size):
    x = rand(2, 3, 5, 6, 7, seed=12)
    check_torch(lambda a: F.adaptive_avg_pool3d(a, size), lambda a: TF.adaptive_avg_pool3d(a, size), x)
    check_torch(
        lambda a: F.adaptive_max_pool3d(a, size, True), lambda a: TF.adaptive_max_pool3d(a, size, True), x
    )
    check_torch(ts.nn.AdaptiveAvgPool3d(size), torch.nn.AdaptiveAvgPool3d(size), x[0])
    check_torch(ts.nn.AdaptiveMaxPool3d(size, True), torch.nn.AdaptiveMaxPool3d(size, True), x[0])
    assert repr(ts.nn.AdaptiveMaxPool3d(size)) == repr(torch.nn.AdaptiveMaxPool3d(size))


@pytest.mark.parametrize("norm", [2, 1.5, float("inf")])
def test_lp_pool3d_vs_torch(norm):
    x = rand(2, 3, 4, 5, 6, seed=13, low=0.1, high=2.0)
    check_torch(lambda a: F.lp_pool3d(a, norm, 2), lambda a: TF.lp_pool3d(a, norm, 2), x, rtol=1e-4)
    check_torch(
        lambda a: F.lp_pool2d(a, norm, (2, 3), 1), lambda a: TF.lp_pool2d(a, norm, (2, 3), 1), x[0], rtol=1e-4
    )
    m, tm = ts.nn.LPPool3d(norm, 2, ceil_mode=True), torch.nn.LPPool3d(norm, 2, ceil_mode=True)
    assert repr(m) == repr(tm)
    check_torch(m, tm, x, rtol=1e-4)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_with_indices_functionals(nd):
    x = rand(*(2, 3, 6, 7, 8)[: nd + 2], seed=14)
    name = f"max_pool{nd}d_with_indices"
    check_torch(lambda a: getattr(F, name)(a, 3, 2, 1), lambda a: getattr(TF, name)(a, 3, 2, 1), x)
    name = f"adaptive_max_pool{nd}d_with_indices"
    check_torch(lambda a: getattr(F, name)(a, 4), lambda a: getattr(TF, name)(a, 4), x)
    out = getattr(F, f"max_pool{nd}d")(ts.tensor(x), 2, return_indices=False)
    assert isinstance(out, ts.Tensor)


def test_pool3d_errors():
    x = ts.randn(1, 2, 4, 4, 4)
    with pytest.raises(RuntimeError, match="max_pool3d: pad should be at most half"):
        F.max_pool3d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="avg_pool3d: given input size"):
        F.avg_pool3d(ts.randn(1, 2, 1, 4, 4), 2)
    with pytest.raises(RuntimeError, match=r"max_pool3d: expected 4-D \(unbatched\) or 5-D"):
        F.max_pool3d(ts.randn(2, 4, 4), 2)
    with pytest.raises(ValueError, match="avg_pool3d: divisor must be a non-zero integer"):
        F.avg_pool3d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="adaptive_avg_pool3d: output_size must have 3 elements"):
        F.adaptive_avg_pool3d(x, (2, 2))


# -- max unpooling ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("unbatched", [False, True])
def test_max_unpool_vs_torch(nd, unbatched):
    x = rand(*(2, 3, 6, 4, 6)[: nd + 2], seed=15)
    if unbatched:
        x = x[0]
    kw = {"kernel_size": 2, "stride": 2, "padding": 0}
    _, idx = getattr(TF, f"max_pool{nd}d")(torch.tensor(x), 2, return_indices=True)
    y = getattr(TF, f"max_pool{nd}d")(torch.tensor(x), 2).numpy()
    size = x.shape[-nd:]
    if unbatched and nd == 1:  # PyTorch reads a 2-D input to max_unpool1d as (C, L) only via unsqueeze
        return
    check_torch(
        lambda a: getattr(F, f"max_unpool{nd}d")(a, ts.tensor(idx.numpy()), output_size=size, **kw),
        lambda a: getattr(TF, f"max_unpool{nd}d")(a, idx, output_size=size, **kw),
        y,
    )
    m, tm = getattr(ts.nn, f"MaxUnpool{nd}d")(2), getattr(torch.nn, f"MaxUnpool{nd}d")(2)
    assert repr(m) == repr(tm)
    check_torch(lambda a: m(a, ts.tensor(idx.numpy())), lambda a: tm(a, idx), y)


def test_max_unpool_errors():
    out, idx = F.max_pool2d(ts.randn(1, 2, 4, 4), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="max_unpool2d: elements in indices should be type int64"):
        F.max_unpool2d(out, idx.float(), 2)
    with pytest.raises(RuntimeError, match="max_unpool2d: expected shape of indices to be same"):
        F.max_unpool2d(out, idx[:, :1], 2)
    with pytest.raises(
        RuntimeError, match=r"max_unpool2d: found an invalid max index: 1\d\d \(output volumes"
    ):
        F.max_unpool2d(out, idx + 100, 2)
    with pytest.raises(
        ValueError, match=r"max_unpool2d: invalid output_size .*dim 0 must be between 2 and 6"
    ):
        F.max_unpool2d(out, idx, 2, output_size=(9, 9))
    with pytest.raises(RuntimeError, match="max_unpool2d: expected a 3-D .* got a tensor with 2 dimensions"):
        F.max_unpool2d(out[0, 0], idx[0, 0], 2)


# -- fractional max pooling -------------------------------------------------------------------------------
FRACTIONAL = [
    (2, (2, 3, 9, 11), 2, {"output_size": (4, 5)}),
    (2, (3, 10, 10), (3, 2), {"output_ratio": (0.5, 0.5)}),
    (3, (2, 3, 7, 8, 9), (2, 3, 2), {"output_size": (3, 4, 5)}),
    (3, (2, 6, 6, 6), 2, {"output_ratio": (0.5, 0.4, 0.6)}),
]


@pytest.mark.parametrize("nd, shape, kernel, kw", FRACTIONAL)
def test_fractional_max_pool_vs_torch_given_samples(nd, shape, kernel, kw):
    x = rand(*shape, seed=16)
    n = 1 if len(shape) == nd + 1 else shape[0]
    samples = np.random.default_rng(1).random((n, shape[-nd - 1], nd)).astype(np.float32)
    name = f"fractional_max_pool{nd}d"
    check_torch(
        lambda a: getattr(F, name)(a, kernel, return_indices=True, _random_samples=ts.tensor(samples), **kw),
        lambda a: getattr(TF, name)(
            a, kernel, return_indices=True, _random_samples=torch.tensor(samples), **kw
        ),
        x,
    )


@pytest.mark.parametrize("nd, shape, kernel, kw", FRACTIONAL)
def test_fractional_max_pool_draws_from_the_generator(nd, shape, kernel, kw):
    """Outputs are window maxima of PyTorch's interval rule for the samples drawn from Tessera's generator
    (the same draw as ``ts.rand(N, C, nd)`` after the same seed), and a seed reproduces them."""
    x = ts.tensor(rand(*shape, seed=17))
    cls = getattr(ts.nn, f"FractionalMaxPool{nd}d")
    ts.manual_seed(5)
    out, idx = cls(kernel, return_indices=True, **kw)(x)
    ts.manual_seed(5)
    again = cls(kernel, **kw)(x)
    np.testing.assert_array_equal(out.numpy(), again.numpy())
    ts.manual_seed(5)
    n = 1 if len(shape) == nd + 1 else shape[0]
    samples = torch.from_numpy(ts.rand(n, shape[-nd - 1], nd).numpy())
    ref, ridx = getattr(TF, f"fractional_max_pool{nd}d")(
        torch.tensor(x.numpy()), kernel, return_indices=True, _random_samples=samples, **kw
    )
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
    flat = x.numpy().reshape(x.shape[:-nd] + (-1,))
    picked = np.take_along_axis(flat, idx.numpy().reshape(idx.shape[:-nd] + (-1,)), -1)
    np.testing.assert_array_equal(picked.reshape(out.shape), out.numpy())
    ts.manual_seed(6)
    other = cls(kernel, **kw)(x)
    assert other.shape == out.shape


def test_fractional_max_pool_errors():
    x = ts.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="fractional_max_pool2d requires specifying either"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(
        RuntimeError, match="fractional_max_pool2d: pool height 3 too large relative to input height 4"
    ):
        F.fractional_max_pool2d(x, 3, output_size=3)
    with pytest.raises(
        RuntimeError, match=r"fractional_max_pool2d: expected _random_samples of shape \(1, 2, 2\)"
    ):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=ts.rand(1, 2, 3))
    with pytest.raises(ValueError, match="FractionalMaxPool2d requires specifying either an output size"):
        ts.nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match=r"FractionalMaxPool3d: output_ratio must be between 0 and 1"):
        ts.nn.FractionalMaxPool3d(2, output_ratio=1.2)
    assert repr(ts.nn.FractionalMaxPool2d(2, output_size=3)) == "FractionalMaxPool2d()"


# -- padding layers ---------------------------------------------------------------------------------------
PAD_LAYERS = ["ConstantPad{}d", "ZeroPad{}d", "ReflectionPad{}d", "ReplicationPad{}d", "CircularPad{}d"]


@pytest.mark.parametrize("layer", PAD_LAYERS)
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("padding", ["int", "tuple"])
def test_padding_layers_vs_torch(layer, nd, padding):
    pad = 2 if padding == "int" else tuple(range(1, 2 * nd + 1))
    args = (pad, 2.5) if layer.startswith("Constant") else (pad,)
    m, tm = getattr(ts.nn, layer.format(nd))(*args), getattr(torch.nn, layer.format(nd))(*args)
    assert repr(m) == repr(tm)
    assert m.padding == tm.padding
    x = rand(*(2, 3, 7, 8, 9)[: nd + 2], seed=18)
    check_torch(m, tm, x)
    check_torch(m, tm, x[0])  # unbatched


def test_padding_layer_errors():
    with pytest.raises(ValueError, match=r"CircularPad2d: expected 3D or 4D input \(got 2D input\)"):
        ts.nn.CircularPad2d(1)(ts.randn(3, 3))
    with pytest.raises(NotImplementedError, match="ReflectionPad2d: padding size 4 is not supported for 5D"):
        ts.nn.ReflectionPad2d(1)(ts.randn(1, 1, 3, 3, 3))
    with pytest.raises(RuntimeError, match="padding size should be less than"):
        ts.nn.ReflectionPad1d(3)(ts.randn(1, 2, 3))
    with pytest.raises(TypeError, match="ZeroPad2d: padding must be an int or a tuple of 4 ints"):
        ts.nn.ZeroPad2d(1.5)


# -- Fold / Unfold -------------------------------------------------------------------------------------------
def test_fold_unfold_modules_vs_torch():
    kw = {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    m, tm = ts.nn.Unfold(**kw), torch.nn.Unfold(**kw)
    assert repr(m) == repr(tm)
    x = rand(2, 3, 6, 7, seed=19)
    check_torch(m, tm, x)
    cols = tm(torch.tensor(x)).detach().numpy()
    f, tf = ts.nn.Fold((6, 7), **kw), torch.nn.Fold((6, 7), **kw)
    assert repr(f) == repr(tf)
    check_torch(f, tf, cols)
    check_torch(f, tf, cols[0])


# -- feature dropout -------------------------------------------------------------------------------------------
def _channels(y, x, n_lead=2):
    """Per (n, c) slice: whether it was dropped (all zero) and that kept slices are x / (1 - p)."""
    yv = y.numpy().reshape(y.shape[:n_lead] + (-1,))
    xv = x.numpy().reshape(yv.shape)
    dropped = (yv == 0).all(-1)
    return dropped, yv[~dropped], xv[~dropped]


def test_dropout3d_zeroes_whole_channels():
    ts.manual_seed(0)
    x = ts.rand(8, 6, 2, 3, 2) + 0.5
    m = ts.nn.Dropout3d(0.4)
    assert repr(m) == repr(torch.nn.Dropout3d(0.4))
    dropped, kept, orig = _channels(m(x), x)
    assert 0 < dropped.sum() < dropped.size
    np.testing.assert_allclose(kept, orig / 0.6, rtol=1e-6)
    y = m(x[0])  # unbatched (C, D, H, W): one draw per channel
    dropped, _, _ = _channels(y, x[0], 1)
    assert y.shape == x[0].shape
    assert m.eval()(x) is x


def test_dropout2d_two_and_three_d_inputs_follow_torch():
    x = ts.rand(40, 50) + 0.5
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d"):
        y = ts.nn.Dropout2d(0.5)(x)
    z = y.numpy() == 0
    assert 0.3 < z.mean() < 0.7  # one draw per (n, c) entry
    x3 = ts.rand(4, 5, 6) + 0.5
    with pytest.warns(UserWarning, match="assuming that channel-wise 1D dropout"):
        y = ts.nn.Dropout2d(0.5)(x3)
    dropped, kept, orig = _channels(y, x3)  # read as (N, C, L): one draw per (n, c)
    np.testing.assert_allclose(kept, orig * 2, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.nn.Dropout2d(0.5)(ts.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        ts.nn.Dropout3d(1.5)


def test_feature_alpha_dropout():
    ts.manual_seed(1)
    p = 0.3
    x = ts.randn(300, 40, 3)
    m = ts.nn.FeatureAlphaDropout(p)
    assert repr(m) == repr(torch.nn.FeatureAlphaDropout(p))
    y = m(x).numpy()
    alpha = 1.7580993408473766
    a = ((alpha**2 * p + 1) * (1 - p)) ** -0.5
    kept = np.isclose(y, x.numpy() * a + alpha * a * p, atol=1e-5)
    dropped = np.isclose(y, -alpha * a + alpha * a * p, atol=1e-5)
    assert (kept | dropped).all()
    assert (kept.all(-1) | dropped.all(-1)).all()  # whole channels
    assert abs(dropped.all(-1).mean() - p) < 0.03
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05  # self-normalising
    assert m.eval()(x) is x


# -- channel shuffle --------------------------------------------------------------------------------------
def test_channel_shuffle_vs_torch():
    x = rand(2, 6, 3, 2, seed=20)
    check_torch(lambda a: F.channel_shuffle(a, 3), lambda a: TF.channel_shuffle(a, 3), x)
    check_torch(  # PyTorch has no derivative for its native kernel
        lambda a: F.native_channel_shuffle(a, 2),
        lambda a: TF.native_channel_shuffle(a, 2),
        x[:, :, 0],
        grad=False,
    )
    m, tm = ts.nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2)
    assert repr(m) == repr(tm)
    check_torch(m, tm, x)
    with pytest.raises(RuntimeError, match="channel_shuffle: number of channels must be divisible by groups"):
        F.channel_shuffle(ts.tensor(x), 4)
    with pytest.raises(RuntimeError, match="channel_shuffle: expects input with > 2 dims"):
        F.channel_shuffle(ts.randn(6, 2), 2)
    with pytest.raises(RuntimeError, match="channel_shuffle: number of groups .* must be positive"):
        F.channel_shuffle(ts.tensor(x), 0)


# -- grid_sample / affine_grid ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_2d_vs_torch(mode, padding_mode, align_corners):
    rng = np.random.default_rng(21)
    x, grid = rng.standard_normal((2, 3, 5, 6)), rng.uniform(-1.3, 1.3, (2, 4, 7, 2))
    check_torch(
        lambda a, g: F.grid_sample(a, g, mode, padding_mode, align_corners),
        lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align_corners),
        x,
        grid,
        rtol=1e-9,
        atol=1e-9,
    )


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_3d_vs_torch(mode, padding_mode, align_corners):
    rng = np.random.default_rng(22)
    x, grid = rng.standard_normal((2, 2, 4, 5, 3)), rng.uniform(-1.3, 1.3, (2, 3, 2, 4, 3))
    check_torch(
        lambda a, g: F.grid_sample(a, g, mode, padding_mode, align_corners),
        lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align_corners),
        x,
        grid,
        rtol=1e-9,
        atol=1e-9,
    )


def test_grid_sample_float32_and_finite_differences():
    x, grid = rand(1, 2, 4, 5, seed=23), rand(1, 3, 3, 2, seed=24, low=-0.9, high=0.9)
    check_torch(
        lambda a, g: F.grid_sample(a, g, align_corners=False),
        lambda a, g: TF.grid_sample(a, g, align_corners=False),
        x,
        grid,
        rtol=1e-5,
        atol=1e-5,
    )
    check_grad(lambda a, g: F.grid_sample(a, g, "bicubic", "border", True), x, grid)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 3, 1, 5), (2, 3, 3, 4, 5)])
def test_affine_grid_vs_torch(align_corners, size):
    theta = np.random.default_rng(25).standard_normal((2, len(size) - 2, len(size) - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit-size grids warn with align_corners=True
        check_torch(
            lambda t: F.affine_grid(t, size, align_corners),
            lambda t: TF.affine_grid(t, size, align_corners),
            theta,
            rtol=1e-12,
            atol=1e-12,
        )


def test_affine_grid_and_grid_sample_compose_with_gradients():
    rng = np.random.default_rng(26)
    theta, x = rng.standard_normal((2, 2, 3)) * 0.5, rng.standard_normal((2, 3, 5, 6))
    check_torch(
        lambda t, a: F.grid_sample(a, F.affine_grid(t, (2, 3, 4, 5), False), align_corners=False),
        lambda t, a: TF.grid_sample(a, TF.affine_grid(t, (2, 3, 4, 5), False), align_corners=False),
        theta,
        x,
        rtol=1e-9,
        atol=1e-9,
    )


def test_grid_sample_affine_grid_errors_and_warnings():
    x, grid = ts.randn(1, 2, 4, 4), ts.rand(1, 3, 3, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, grid)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ts.randn(1, 2, 3), (1, 2, 4, 4))
    with pytest.raises(
        ValueError, match="grid_sample: expected mode to be 'bilinear', 'nearest' or 'bicubic'"
    ):
        F.grid_sample(x, grid, "area", align_corners=False)
    with pytest.raises(ValueError, match="grid_sample: expected padding_mode to be"):
        F.grid_sample(x, grid, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match="grid_sample: expected grid to have size 2 in last dimension"):
        F.grid_sample(x, ts.rand(1, 3, 3, 3), align_corners=False)
    with pytest.raises(RuntimeError, match="grid_sample: expected grid and input to have same batch size"):
        F.grid_sample(x, ts.rand(2, 3, 3, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="grid_sample: bicubic interpolation only supports 4D input"):
        F.grid_sample(ts.randn(1, 2, 3, 3, 3), ts.rand(1, 2, 2, 2, 3), "bicubic", align_corners=False)
    with pytest.raises(RuntimeError, match="grid_sample: expected 4D or 5D input and grid"):
        F.grid_sample(ts.randn(2, 4, 4), ts.rand(2, 3, 2), align_corners=False)
    with pytest.raises(
        ValueError, match="affine_grid: expected a batch of 2D affine matrices of shape Nx2x3"
    ):
        F.affine_grid(ts.randn(1, 3, 4), (1, 2, 4, 4), False)
    with pytest.raises(NotImplementedError, match="affine_grid: only supports 4D and 5D sizes"):
        F.affine_grid(ts.randn(1, 2, 3), (1, 2, 4), False)
    with pytest.raises(ValueError, match="affine_grid: expected theta to have floating point type"):
        F.affine_grid(ts.ones(1, 2, 3, dtype=ts.int64), (1, 2, 4, 4), False)


# -- interpolate -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        {"size": (9, 4)},
        {"scale_factor": 2.0},
        {"scale_factor": (1.7, 0.6)},
        {"size": (9, 4), "align_corners": True},
    ],
)
def test_interpolate_bicubic_vs_torch(kw):
    x = np.random.default_rng(27).standard_normal((2, 3, 5, 7))
    check_torch(
        lambda a: F.interpolate(a, mode="bicubic", **kw),
        lambda a: TF.interpolate(a, mode="bicubic", **kw),
        x,
        rtol=1e-10,
        atol=1e-10,
    )


def test_interpolate_area_3d_vs_torch():
    x = rand(2, 3, 5, 6, 7, seed=28)
    check_torch(
        lambda a: F.interpolate(a, (2, 4, 3), mode="area"),
        lambda a: TF.interpolate(a, (2, 4, 3), mode="area"),
        x,
    )


def test_interpolate_errors_name_interpolate():
    with pytest.raises(RuntimeError, match=r"^interpolate: input and output sizes should be greater than 0"):
        F.interpolate(ts.randn(1, 2, 0, 4), size=(2, 4))
    with pytest.raises(RuntimeError, match=r"^interpolate: input and output sizes .* output \(H: 0, W: 0\)"):
        F.interpolate(ts.randn(1, 2, 3, 4), scale_factor=0.1)
    with pytest.raises(NotImplementedError, match=r"^interpolate: only 3D, 4D and 5D input"):
        F.interpolate(ts.randn(2, 3), size=4)
    with pytest.raises(TypeError, match=r"^interpolate: expected size to be an int or a tuple of 2 ints"):
        F.interpolate(ts.randn(1, 2, 3, 4), size=(2.5, 3))
    with pytest.raises(NotImplementedError, match=r"^interpolate: mode 'bicubic' expects a 4-D input"):
        F.interpolate(ts.randn(1, 2, 3), size=4, mode="bicubic")
