"""Pooling and resampling: max/avg/adaptive pooling, interpolate, pixel shuffle and their layers against
PyTorch, finite differences and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from opcheck import check_torch, needs_torch, rand, torch

import tessera as ts
import tessera.nn.functional as F

if torch is not None:
    import torch.nn.functional as TF


def _check_with_indices(fn, tfn, x):
    out, idx = fn(ts.tensor(x))
    ref, ridx = tfn(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
    assert idx.dtype == ts.int64
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


MAX2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": (1, 2), "dilation": (2, 1)},
    {"kernel_size": 2, "stride": 1},
    {"kernel_size": (2, 3), "ceil_mode": True},
]


@needs_torch
@pytest.mark.parametrize("kw", MAX2D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_vs_torch(kw, ties):
    x = rand(2, 3, 9, 10, seed=1)
    if ties:  # many equal values: the gradient must go to the FIRST maximum of each window
        x = np.round(x).astype(np.float32)
    check_torch(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), x)
    _check_with_indices(
        lambda x: F.max_pool2d(x, return_indices=True, **kw),
        lambda x: TF.max_pool2d(x, return_indices=True, **kw),
        x,
    )


@needs_torch
def test_max_pool_benchmark_shape_and_unbatched():
    check_torch(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), rand(4, 32, 28, 28))
    check_torch(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), rand(3, 6, 6))
    out = F.max_pool2d(ts.randn(2, 3, 8, 8), 2)
    assert out.is_contiguous()


@needs_torch
@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 3},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": 2, "dilation": 2},
    ],
)
def test_max_pool1d_vs_torch(kw):
    x = rand(2, 3, 11, seed=2)
    check_torch(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), x)
    _check_with_indices(
        lambda x: F.max_pool1d(x, return_indices=True, **kw),
        lambda x: TF.max_pool1d(x, return_indices=True, **kw),
        x,
    )


def _first_max_grad(g, x):
    """Reference 2x2 / stride-2 max-pool backward: each window's gradient to its first maximum."""
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    hot = np.arange(4) == win.argmax(-1)[..., None]  # argmax: the first maximum (NaN counts as maximum)
    dx = (hot * g[..., None]).astype(g.dtype).reshape(n, c, h // 2, w // 2, 2, 2)
    return dx.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64, np.int32])
def test_max_pool2d_tiled_ties_and_zeros(dtype):
    """The 2x2 tiled fast path: every tie pattern of a window, ReLU-style zeros and signed zeros."""
    from tessera.ops.conv import _max_pool_backward_forward, _max_pool_forward

    pats = ((np.arange(16)[:, None] >> np.arange(4)) & 1).reshape(16, 2, 2)  # all 16 {0, 1} windows
    ties = pats.reshape(4, 4, 2, 2).transpose(0, 2, 1, 3).reshape(1, 1, 8, 8)
    rng = np.random.default_rng(0)
    relu = np.maximum(rng.standard_normal((3, 5, 12, 6)), 0)
    signed = np.where(rng.random((2, 3, 4, 8)) < 0.5, -0.0, 0.0)
    for x in (ties, relu, signed, np.round(rng.standard_normal((2, 2, 6, 10)))):
        x = x.astype(dtype)
        attrs = ((2, 2), (2, 2), (0, 0), (1, 1), (x.shape[2] // 2, x.shape[3] // 2))
        out = _max_pool_forward(x, *attrs)
        np.testing.assert_array_equal(out, x.reshape(*out.shape[:3], 2, -1, 2).max((3, 5)))
        g = (rng.standard_normal(out.shape) * 10).astype(dtype) + 1
        got = _max_pool_backward_forward(g, x, out, *attrs)
        assert got.dtype == g.dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, _first_max_grad(g, x))


@needs_torch
def test_max_pool2d_tiled_relu_grad_vs_torch():
    x = np.maximum(rand(4, 8, 28, 28, seed=3), 0)  # many all-zero windows
    x[:, :, ::3] = np.round(x[:, :, ::3])
    check_torch(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), x)


def test_max_pool_nan_propagates():
    x = ts.tensor([[[[1.0, float("nan")], [0.0, 2.0]]]], requires_grad=True)
    out = F.max_pool2d(x, 2)
    assert np.isnan(out.item())
    out.sum().backward()
    assert x.grad.numpy().sum() == 1.0


AVG2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": (3, 2), "stride": 1, "padding": (1, 0), "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 5},
]


@needs_torch
@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d_vs_torch(kw):
    check_torch(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), rand(2, 3, 9, 10))


@needs_torch
@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 3},
        {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    ],
)
def test_avg_pool1d_vs_torch(kw):
    check_torch(lambda x: F.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw), rand(2, 3, 11))


@needs_torch
@pytest.mark.parametrize("size", [(4, 3), (3, 5), (1, 1), (9, 10), (None, 2), 5])
def test_adaptive_avg_pool2d_vs_torch(size):
    check_torch(
        lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), rand(2, 3, 9, 10)
    )


@needs_torch
@pytest.mark.parametrize("size", [(4, 3), (3, 5), 1, 5])
def test_adaptive_max_pool2d_vs_torch(size):
    x = rand(2, 3, 9, 10)
    check_torch(lambda x: F.adaptive_max_pool2d(x, size), lambda x: TF.adaptive_max_pool2d(x, size), x)
    _check_with_indices(
        lambda x: F.adaptive_max_pool2d(x, size, True), lambda x: TF.adaptive_max_pool2d(x, size, True), x
    )


@needs_torch
@pytest.mark.parametrize("size", [4, 3, 11, 1])
def test_adaptive_pool1d_vs_torch(size):
    x = rand(2, 3, 11)
    check_torch(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size), x)
    check_torch(lambda x: F.adaptive_max_pool1d(x, size), lambda x: TF.adaptive_max_pool1d(x, size), x)
    check_torch(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size), x[0])


INTERP = [
    ({"size": (13, 7), "mode": "nearest"}, 4),
    ({"scale_factor": 2, "mode": "nearest"}, 4),
    ({"scale_factor": 1.7, "mode": "nearest"}, 4),
    ({"scale_factor": 0.5, "mode": "nearest-exact"}, 4),
    ({"size": (13, 7), "mode": "bilinear", "align_corners": False}, 4),
    ({"size": (13, 7), "mode": "bilinear", "align_corners": True}, 4),
    ({"scale_factor": (2, 0.6), "mode": "bilinear"}, 4),
    ({"scale_factor": 1.5, "mode": "bilinear", "recompute_scale_factor": True}, 4),
    ({"size": (1, 1), "mode": "bilinear", "align_corners": True}, 4),
    ({"scale_factor": 2.5, "mode": "linear"}, 3),
    ({"size": 5, "mode": "nearest"}, 3),
    ({"size": (4, 5), "mode": "area"}, 4),
    ({"scale_factor": 2, "mode": "trilinear", "align_corners": True}, 5),
    ({"size": (3, 4, 2), "mode": "nearest"}, 5),
]


@needs_torch
@pytest.mark.parametrize("kw,nd", INTERP)
def test_interpolate_vs_torch(kw, nd):
    shape = {3: (2, 3, 6), 4: (2, 3, 6, 5), 5: (1, 2, 3, 4, 5)}[nd]
    check_torch(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), rand(*shape), atol=2e-6)


@needs_torch
def test_pixel_shuffle_vs_torch():
    check_torch(lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2), rand(2, 8, 3, 4))
    check_torch(lambda x: F.pixel_unshuffle(x, 3), lambda x: TF.pixel_unshuffle(x, 3), rand(2, 2, 6, 9))


# -- float64 finite differences and second derivatives --------------------------------------------------------
def _x64(*shape, seed=0):
    # distinct values, so finite differences never cross a max tie
    n = int(np.prod(shape))
    vals = np.random.default_rng(seed).permutation(n).astype(np.float64) / n
    return ts.tensor(vals.reshape(shape), requires_grad=True)


@pytest.mark.parametrize(
    "kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}]
)
def test_max_pool2d_gradcheck_and_gradgradcheck(kw):
    x = _x64(1, 2, 5, 5)
    assert ts.autograd.gradcheck(lambda x: F.max_pool2d(x, **kw), (x,), eps=1e-4)
    assert ts.autograd.gradgradcheck(lambda x: F.max_pool2d(x, **kw) ** 2, (x,), eps=1e-4)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False, "ceil_mode": True},
    ],
)
def test_avg_pool2d_gradcheck_and_gradgradcheck(kw):
    x = _x64(1, 2, 5, 6)
    assert ts.autograd.gradcheck(lambda x: F.avg_pool2d(x, **kw), (x,))
    assert ts.autograd.gradgradcheck(lambda x: F.avg_pool2d(x, **kw) ** 2, (x,))


def test_adaptive_and_interpolate_gradcheck():
    x = _x64(1, 2, 5, 6)
    assert ts.autograd.gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (x,))
    assert ts.autograd.gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,), eps=1e-4)
    assert ts.autograd.gradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), (x,))
    assert ts.autograd.gradcheck(lambda x: F.interpolate(x, size=(7, 3), mode="nearest"), (x,))


# -- layers ----------------------------------------------------------------------------------------------------
LAYERS = [
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (3, 7, 7)),
    ("MaxPool1d", (3,), {"stride": 2}, (2, 3, 9)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 8, 8)),
    ("AvgPool1d", (2,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 8, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 8, 7)),
    ("Upsample", (), {"scale_factor": 2, "mode": "bilinear", "align_corners": False}, (2, 3, 4, 4)),
    ("Upsample", (), {"size": (5, 7), "mode": "nearest"}, (2, 3, 4, 4)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)),
]


@needs_torch
@pytest.mark.parametrize("name,args,kw,xs", LAYERS)
def test_layer_matches_torch(name, args, kw, xs):
    tmod = getattr(torch.nn, name)(*args, **kw)
    smod = getattr(ts.nn, name)(*args, **kw)
    assert list(smod.state_dict()) == list(tmod.state_dict()) == []
    check_torch(smod, tmod, rand(*xs))
    assert repr(smod) == repr(tmod)


@needs_torch
def test_maxpool_layer_return_indices():
    x = rand(2, 3, 8, 8)
    out, idx = ts.nn.MaxPool2d(2, return_indices=True)(ts.tensor(x))
    ref, ridx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), ridx.numpy())


def test_errors_name_the_op_or_layer():
    with pytest.raises(RuntimeError, match="max_pool2d: pad should be at most half of effective kernel size"):
        F.max_pool2d(ts.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(
        RuntimeError, match="max_pool2d: given input size: \\(1x2x2\\). Calculated output size"
    ):
        F.max_pool2d(ts.zeros(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="avg_pool2d: expected 3-D \\(unbatched\\) or 4-D"):
        F.avg_pool2d(ts.zeros(4, 4), 2)
    with pytest.raises(RuntimeError, match="MaxPool2d: expected 3-D \\(unbatched\\) or 4-D"):
        ts.nn.MaxPool2d(2)(ts.zeros(4, 4))
    with pytest.raises(ValueError, match="max_pool1d: stride must be positive"):
        F.max_pool1d(ts.zeros(1, 1, 4), 2, stride=0)
    with pytest.raises(ValueError, match="interpolate: exactly one of size or scale_factor"):
        F.interpolate(ts.zeros(1, 1, 4, 4))
    with pytest.raises(NotImplementedError, match="interpolate: mode 'bilinear' expects a 4-D input"):
        F.interpolate(ts.zeros(1, 1, 4), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="interpolate: align_corners option can only be set"):
        F.interpolate(ts.zeros(1, 1, 4, 4), size=3, align_corners=True)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must have 2 elements"):
        F.adaptive_avg_pool2d(ts.zeros(1, 1, 4, 4), (1, 2, 3))
    with pytest.raises(RuntimeError, match="pixel_shuffle: expected input"):
        F.pixel_shuffle(ts.zeros(1, 3, 2, 2), 2)


@needs_torch
def test_max_pool2d_tiled_on_non_contiguous_input_matches_torch():
    x = np.maximum(np.random.default_rng(5).standard_normal((2, 6, 6, 3)).astype(np.float32), 0)
    tx = torch.tensor(x, requires_grad=True)
    mx = ts.tensor(x, requires_grad=True)
    to = torch.nn.functional.max_pool2d(tx.permute(0, 3, 1, 2), 2)
    mo = F.max_pool2d(mx.permute(0, 3, 1, 2), 2)  # channels_last data seen as NCHW: not contiguous
    np.testing.assert_array_equal(mo.detach().numpy(), to.detach().numpy())
    g = np.random.default_rng(6).standard_normal(tuple(to.shape)).astype(np.float32)
    to.backward(torch.tensor(g))
    mo.backward(ts.tensor(g))
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy())
