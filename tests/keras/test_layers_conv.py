"""Convolution and pooling layers against real Keras 3 (torch backend): outputs for the same weights, symbolic
output shapes, configs, gradients, and errors for bad arguments."""

import numpy as np
import pytest

import tessera as ts
from tessera.keras import layers as L

CF = "channels_first"

# (id, layer factory taking a layers namespace, input shape)
CONV_CASES = [
    ("conv1d_causal", lambda m: m.Conv1D(4, 3, padding="causal", dilation_rate=2), (2, 9, 3)),
    ("conv2d_same_s2", lambda m: m.Conv2D(4, 3, strides=2, padding="same", activation="relu"), (2, 7, 6, 3)),
    ("conv3d", lambda m: m.Conv3D(4, 3), (2, 5, 6, 5, 3)),
    ("conv3d_same_s2", lambda m: m.Conv3D(4, (2, 3, 2), strides=2, padding="same"), (2, 5, 6, 7, 3)),
    ("conv3d_dil_cf", lambda m: m.Conv3D(4, 2, dilation_rate=2, data_format=CF), (2, 3, 5, 6, 5)),
    ("conv3d_groups", lambda m: m.Conv3D(4, 2, groups=2), (2, 4, 4, 4, 4)),
    ("conv1dT", lambda m: m.Conv1DTranspose(4, 3), (2, 6, 3)),
    ("conv1dT_same_s2", lambda m: m.Conv1DTranspose(4, 3, strides=2, padding="same"), (2, 6, 3)),
    ("conv1dT_outpad", lambda m: m.Conv1DTranspose(4, 4, strides=3, output_padding=2), (2, 5, 3)),
    (
        "conv1dT_same_outpad",
        lambda m: m.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1),
        (2, 5, 3),
    ),
    ("conv1dT_dil_cf", lambda m: m.Conv1DTranspose(4, 3, dilation_rate=2, data_format=CF), (2, 3, 6)),
    ("conv2dT_s2", lambda m: m.Conv2DTranspose(5, 3, strides=2), (2, 4, 5, 3)),
    ("conv2dT_same_s2", lambda m: m.Conv2DTranspose(5, 3, strides=2, padding="same"), (2, 4, 5, 3)),
    ("conv2dT_same_even", lambda m: m.Conv2DTranspose(5, 4, strides=2, padding="same"), (2, 4, 5, 3)),
    (
        "conv2dT_mixed",
        lambda m: m.Conv2DTranspose(5, (3, 4), strides=(2, 3), padding="same", output_padding=(1, 0)),
        (2, 4, 5, 3),
    ),
    ("conv2dT_valid_s3", lambda m: m.Conv2DTranspose(5, 2, strides=3), (2, 4, 5, 3)),
    ("conv2dT_dil", lambda m: m.Conv2DTranspose(5, 3, dilation_rate=2, activation="tanh"), (2, 4, 5, 3)),
    (
        "conv2dT_cf",
        lambda m: m.Conv2DTranspose(5, 3, strides=2, padding="same", data_format=CF),
        (2, 3, 4, 5),
    ),
    ("conv3dT_s2", lambda m: m.Conv3DTranspose(3, 2, strides=2), (1, 3, 4, 3, 2)),
    (
        "conv3dT_same_outpad",
        lambda m: m.Conv3DTranspose(3, 3, strides=2, padding="same", output_padding=1),
        (1, 3, 3, 4, 2),
    ),
    ("conv3dT_cf", lambda m: m.Conv3DTranspose(3, 3, data_format=CF), (1, 2, 3, 3, 4)),
    ("sep1d", lambda m: m.SeparableConv1D(6, 3), (2, 9, 4)),
    (
        "sep1d_dm2_s2",
        lambda m: m.SeparableConv1D(6, 3, strides=2, padding="same", depth_multiplier=2),
        (2, 9, 4),
    ),
    ("sep1d_dil_cf", lambda m: m.SeparableConv1D(5, 3, dilation_rate=2, data_format=CF), (2, 4, 9)),
    ("sep2d", lambda m: m.SeparableConv2D(6, 3, padding="same", depth_multiplier=2), (2, 7, 6, 4)),
    ("sep2d_s2_relu", lambda m: m.SeparableConv2D(6, (3, 2), strides=2, activation="relu"), (2, 7, 6, 4)),
    ("sep2d_cf", lambda m: m.SeparableConv2D(6, 3, data_format=CF, use_bias=False), (2, 4, 7, 6)),
    ("dw1d", lambda m: m.DepthwiseConv1D(3, depth_multiplier=2), (2, 9, 4)),
    ("dw1d_same_s2", lambda m: m.DepthwiseConv1D(4, strides=2, padding="same"), (2, 9, 4)),
    ("dw2d", lambda m: m.DepthwiseConv2D(3, depth_multiplier=3, padding="same"), (2, 7, 6, 4)),
    ("dw2d_dil", lambda m: m.DepthwiseConv2D(3, dilation_rate=2), (2, 7, 6, 4)),
    ("dw2d_cf", lambda m: m.DepthwiseConv2D((2, 3), strides=(2, 1), data_format=CF), (2, 4, 7, 6)),
]

POOL_CASES = [
    ("max3d", lambda m: m.MaxPooling3D(), (2, 4, 5, 6, 3)),
    ("max3d_same", lambda m: m.MaxPooling3D(3, strides=2, padding="same"), (2, 5, 5, 6, 3)),
    ("max3d_cf", lambda m: m.MaxPooling3D((2, 1, 2), data_format=CF), (2, 3, 4, 5, 6)),
    ("avg3d", lambda m: m.AveragePooling3D(2), (2, 4, 5, 6, 3)),
    ("avg3d_same", lambda m: m.AveragePooling3D(3, strides=2, padding="same"), (2, 5, 5, 6, 3)),
    ("avg3d_cf", lambda m: m.AveragePooling3D(2, strides=1, data_format=CF), (2, 3, 4, 5, 6)),
    ("avg2d_same", lambda m: m.AveragePooling2D(3, strides=2, padding="same"), (2, 7, 6, 3)),
    ("max1d_same", lambda m: m.MaxPooling1D(3, strides=2, padding="same"), (2, 8, 3)),
    ("gmax3d", lambda m: m.GlobalMaxPooling3D(), (2, 3, 4, 5, 6)),
    ("gavg3d_keep", lambda m: m.GlobalAveragePooling3D(keepdims=True), (2, 3, 4, 5, 6)),
    ("gavg3d_cf", lambda m: m.GlobalAveragePooling3D(data_format=CF), (2, 3, 4, 5, 6)),
    ("gmax3d_cf_keep", lambda m: m.GlobalMaxPooling3D(data_format=CF, keepdims=True), (2, 3, 4, 5, 6)),
    ("aavg1d", lambda m: m.AdaptiveAveragePooling1D(3), (2, 7, 4)),
    ("aavg2d", lambda m: m.AdaptiveAveragePooling2D((3, 2)), (2, 7, 5, 4)),
    ("aavg3d_cf", lambda m: m.AdaptiveAveragePooling3D(2, data_format=CF), (2, 4, 5, 3, 7)),
    ("amax1d_cf", lambda m: m.AdaptiveMaxPooling1D(4, data_format=CF), (2, 3, 9)),
    ("amax2d", lambda m: m.AdaptiveMaxPooling2D(3), (2, 7, 5, 4)),
    ("amax3d", lambda m: m.AdaptiveMaxPooling3D((2, 3, 1)), (2, 4, 5, 3, 2)),
]

CASES = CONV_CASES + POOL_CASES
IDS = [c[0] for c in CASES]

# The config entries that must agree with Keras's (tuples compared as lists)
CONFIG_KEYS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
    "groups",
    "output_padding",
    "depth_multiplier",
    "use_bias",
    "pool_size",
    "keepdims",
    "output_size",
)


def _listify(v):
    return [_listify(x) for x in v] if isinstance(v, (list, tuple)) else v


def _np(y):
    return y.detach().numpy() if hasattr(y, "detach") else np.asarray(y)


def _pair(real_keras, make, shape, seed=0):
    """Our layer and Keras's, both built, with the same random weights; and a random input."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    theirs, ours = make(real_keras.layers), make(L)
    theirs(x)
    ours(ts.tensor(x))
    weights = [rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in theirs.get_weights()]
    assert [tuple(w.shape) for w in ours.get_weights()] == [w.shape for w in weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs, x


@pytest.mark.parametrize("name,make,shape", CASES, ids=IDS)
def test_outputs_match_keras(real_keras, name, make, shape):
    ours, theirs, x = _pair(real_keras, make, shape)
    expected = _np(theirs(x))
    got = ours(ts.tensor(x)).detach().numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,make,shape", CASES, ids=IDS)
def test_symbolic_shapes_match_keras(real_keras, name, make, shape):
    ours = make(L)(L.Input(shape[1:]))
    theirs = make(real_keras.layers)(real_keras.Input(shape[1:]))
    assert tuple(ours.shape) == tuple(theirs.shape)
    # unknown spatial sizes stay unknown (except for adaptive pooling, whose output size is fixed)
    ndim = len(shape)
    cf = "channels_first" in repr(make(L).get_config())
    loose = tuple(s if (i == 1 if cf else i == ndim - 1) else None for i, s in enumerate(shape))[1:]
    theirs = make(real_keras.layers).compute_output_shape((None,) + loose)
    ours = make(L).compute_output_shape((None,) + loose)
    assert tuple(ours) == tuple(theirs)


@pytest.mark.parametrize("name,make,shape", CASES, ids=IDS)
def test_config_round_trip_and_matches_keras(real_keras, name, make, shape):
    ours, theirs = make(L), make(real_keras.layers)
    cfg = ours.get_config()
    clone = type(ours).from_config(cfg)
    assert clone.get_config() == cfg
    kcfg = theirs.get_config()
    for key in CONFIG_KEYS:
        if key in kcfg:
            assert _listify(cfg[key]) == _listify(kcfg[key]), key
    # a Keras config (less its dtype policy, handled by the base layer) builds the same layer here
    rebuilt = type(ours).from_config({k: v for k, v in kcfg.items() if k != "dtype"}).get_config()
    for key in CONFIG_KEYS:
        if key in kcfg:
            assert _listify(rebuilt[key]) == _listify(kcfg[key]), key
    x = ts.randn(*shape)
    y1 = ours(x)
    clone(x)
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(clone(x).detach().numpy(), y1.detach().numpy(), rtol=1e-6)


GRAD_CASES = [
    "conv3d_same_s2",
    "conv1dT_same_outpad",
    "conv2dT_same_s2",
    "conv3dT_same_outpad",
    "sep2d",
    "dw2d_cf",
]
GRAD_CASES += ["avg3d_same", "max3d_same", "aavg2d", "amax3d"]


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_match_keras_torch(real_keras, name):
    import torch

    _, make, shape = CASES[IDS.index(name)]
    ours, theirs, x = _pair(real_keras, make, shape, seed=1)
    out_shape = _np(theirs(x)).shape
    g = np.random.default_rng(2).standard_normal(out_shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    (theirs(xt) * torch.tensor(g)).sum().backward()
    xs = ts.tensor(x, requires_grad=True)
    (ours(xs) * ts.tensor(g)).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for w_ours, w_theirs in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_allclose(w_ours.grad.numpy(), w_theirs.value.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_gradient_finite_differences_float64():
    """d(sum(y * g))/dx of a transposed convolution against central differences in float64."""
    layer = L.Conv2DTranspose(2, 3, strides=2, padding="same", dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 3, 2))
    layer(ts.tensor(x))
    g = ts.tensor(rng.standard_normal((1, 6, 6, 2)))
    xs = ts.tensor(x, requires_grad=True)
    (layer(xs) * g).sum().backward()

    def f(v):
        return float((layer(ts.tensor(v)) * g).sum().item())

    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        num[idx] = (f(x + d) - f(x - d)) / (2 * eps)
    np.testing.assert_allclose(xs.grad.numpy(), num, rtol=1e-6, atol=1e-7)


def test_kernel_layouts_are_keras():
    x = ts.randn(2, 5, 5, 3)
    assert L.Conv2DTranspose(7, (2, 3)).__call__(x) is not None
    t = L.Conv2DTranspose(7, (2, 3))
    t(x)
    assert tuple(t.kernel.shape) == (2, 3, 7, 3)
    s = L.SeparableConv2D(8, 3, depth_multiplier=2)
    s(x)
    assert [tuple(w.shape) for w in s.get_weights()] == [(3, 3, 3, 2), (1, 1, 6, 8), (8,)]
    d = L.DepthwiseConv2D(3, depth_multiplier=4)
    d(x)
    assert [tuple(w.shape) for w in d.get_weights()] == [(3, 3, 3, 4), (12,)]
    c = L.Conv3D(5, 2, groups=1)
    c(ts.randn(1, 3, 3, 3, 2))
    assert tuple(c.kernel.shape) == (2, 2, 2, 2, 5)


def test_aliases():
    assert L.Convolution3D is L.Conv3D and L.Convolution2DTranspose is L.Conv2DTranspose
    assert L.Convolution1DTranspose is L.Conv1DTranspose and L.Convolution3DTranspose is L.Conv3DTranspose
    assert L.SeparableConvolution1D is L.SeparableConv1D and L.SeparableConvolution2D is L.SeparableConv2D
    assert L.MaxPool3D is L.MaxPooling3D and L.AvgPool3D is L.AveragePooling3D
    assert L.GlobalAvgPool3D is L.GlobalAveragePooling3D and L.GlobalMaxPool3D is L.GlobalMaxPooling3D


def test_trains_in_a_model():
    """A small encoder-decoder with the new layers fits a fixed target (loss goes down)."""
    from tessera import keras

    ts.manual_seed(0)
    model = keras.Sequential(
        [
            L.Input((8, 8, 2)),
            L.SeparableConv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.DepthwiseConv2D(3, padding="same"),
            L.Conv2DTranspose(2, 3, strides=2, padding="same"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8, 8, 2)).astype(np.float32)
    y = np.tanh(x)
    hist = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.9 * losses[0]


@pytest.mark.parametrize(
    "make,exc,match",
    [
        (lambda: L.Conv2DTranspose(0, 3), ValueError, "filters"),
        (lambda: L.Conv2DTranspose(4, 3, output_padding=-1), ValueError, "output_padding"),
        (lambda: L.Conv1DTranspose(4, 3, padding="causal"), ValueError, "padding"),
        (lambda: L.Conv3D(4, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate"),
        (lambda: L.Conv3D(4, (3, 3)), ValueError, "kernel_size"),
        (lambda: L.Conv3D(4, 3, groups=3), ValueError, "groups"),
        (lambda: L.Conv3D(4, 3, data_format="NHWC"), ValueError, "data_format"),
        (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), ValueError, "depth_multiplier"),
        (lambda: L.SeparableConv2D(4, 3, padding="causal"), ValueError, "padding"),
        (lambda: L.SeparableConv1D(4, 0), ValueError, "kernel_size"),
        (lambda: L.MaxPooling3D(pool_size=0), ValueError, "pool_size"),
        (lambda: L.AveragePooling3D(2, padding="full"), ValueError, "padding"),
        (lambda: L.AdaptiveAveragePooling2D((1, 2, 3)), TypeError, "output_size"),
        (lambda: L.AdaptiveMaxPooling1D("3"), TypeError, "output_size"),
        (lambda: L.AdaptiveMaxPooling3D(0), ValueError, "output_size"),
        (lambda: L.GlobalMaxPooling3D(data_format="nchw"), ValueError, "data_format"),
    ],
)
def test_bad_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match="conv3d"):
        L.Conv3D(2, 3, name="conv3d_x")(ts.randn(2, 5, 5, 3))  # rank 4, expected 5
    layer = L.Conv2DTranspose(2, 3, name="deconv")
    layer(ts.randn(1, 4, 4, 3))
    with pytest.raises(ValueError, match="deconv"):
        layer(ts.randn(1, 4, 4, 5))  # channel count changed after build
    with pytest.raises(ValueError, match=r"sep.*smaller than the \(dilated\) kernel"):
        L.SeparableConv2D(2, 5, name="sep")(ts.randn(1, 3, 8, 2))
    with pytest.raises(ValueError, match="pool3.*pool_size"):
        L.MaxPooling3D(3, name="pool3")(ts.randn(1, 2, 5, 5, 1))
    with pytest.raises(ValueError, match="dw"):
        L.DepthwiseConv1D(3, name="dw")(L.Input((6, None)))  # unknown channels
    with pytest.raises(TypeError, match="tconv.*floating point.*int32"):
        L.Conv1DTranspose(2, 3, name="tconv")(np.ones((1, 5, 2), np.int32))


def test_model_save_load_round_trip(tmp_path):
    from tessera import keras

    inp = L.Input((6, 6, 6, 2))
    h = L.Conv3DTranspose(3, 3, strides=2, padding="same")(inp)
    h = L.Conv3D(4, 3, groups=1, activation="relu")(h)
    h = L.MaxPooling3D(padding="same")(h)
    h = L.AdaptiveAveragePooling3D(2)(h)
    out = L.GlobalAveragePooling3D()(h)
    model = keras.Model(inp, out)
    path = str(tmp_path / "conv.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = ts.randn(2, 6, 6, 6, 2)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]


def _random_case(seed: int):
    """A random (layer factory, input shape) over the convolution and pooling layers, from ``seed``."""
    import random

    r = random.Random(seed)
    rank = r.choice([1, 2, 3])
    kinds = ["conv", "transpose", "pool", "adaptive"] + (["depthwise", "separable"] if rank < 3 else [])
    kind = r.choice(kinds)
    k = tuple(r.randint(1, 4) for _ in range(rank))
    s = tuple(r.randint(1, 3) for _ in range(rank))
    d = (1,) * rank
    if kind != "pool" and r.random() < 0.3:
        s, d = (1,) * rank, tuple(r.randint(1, 3) for _ in range(rank))
    fmt = r.choice(["channels_last", CF])
    kw = {"padding": r.choice(["valid", "same"]), "data_format": fmt}
    if kind == "conv":
        kw.update(strides=s, dilation_rate=d)
        filters = r.randint(1, 4)

        def make(m):
            return getattr(m, f"Conv{rank}D")(filters, k, **kw)
    elif kind == "transpose":
        kw.update(strides=s, dilation_rate=d)
        if r.random() < 0.5:
            kw["output_padding"] = tuple(r.randint(0, x - 1) for x in s)

        def make(m):
            return getattr(m, f"Conv{rank}DTranspose")(3, k, **kw)
    elif kind == "depthwise":
        kw.update(strides=s, dilation_rate=d, depth_multiplier=r.randint(1, 3))

        def make(m):
            return getattr(m, f"DepthwiseConv{rank}D")(k, **kw)
    elif kind == "separable":
        kw.update(strides=s, dilation_rate=d, depth_multiplier=r.randint(1, 3))

        def make(m):
            return getattr(m, f"SeparableConv{rank}D")(3, k, **kw)
    elif kind == "pool":
        kw.update(pool_size=k, strides=r.choice([None, s]))
        mode = r.choice(["Max", "Average"])

        def make(m):
            return getattr(m, f"{mode}Pooling{rank}D")(**kw)
    else:
        size, mode = tuple(r.randint(1, 5) for _ in range(rank)), r.choice(["Max", "Average"])

        def make(m):
            return getattr(m, f"Adaptive{mode}Pooling{rank}D")(size, data_format=fmt)

    spatial = tuple(r.randint(4, 8) for _ in range(rank))
    return make, (2,) + ((2,) + spatial if fmt == CF else spatial + (2,))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(60))
def test_random_configurations_match_keras(real_keras, seed):
    make, shape = _random_case(seed)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    try:
        make(real_keras.layers)(x)
    except ValueError:
        with pytest.raises(ValueError):  # an invalid combination (or too small an input) is rejected here too
            make(L)(ts.tensor(x))
        return
    ours, theirs, x = _pair(real_keras, make, shape, seed=seed)
    expected = _np(theirs(x))
    np.testing.assert_allclose(ours(ts.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("data_format", ["channels_last", CF])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling1d_mask_matches_keras(real_keras, data_format, keepdims):
    x = (
        np.random.default_rng(0)
        .standard_normal((2, 5, 3) if data_format != CF else (2, 3, 5))
        .astype(np.float32)
    )
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], bool)
    kw = {"data_format": data_format, "keepdims": keepdims}
    expected = _np(real_keras.layers.GlobalAveragePooling1D(**kw)(x, mask=mask))
    got = L.GlobalAveragePooling1D(**kw)(ts.tensor(x), mask=ts.tensor(mask))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="gap.*mask"):
        L.GlobalAveragePooling1D(name="gap", **kw)(ts.tensor(x), mask=ts.tensor(mask[:, :4]))


@pytest.mark.parametrize("data_format", ["channels_last", CF])
def test_convolution_op_override_matches_keras(real_keras, data_format):
    """Keras's weight-standardization recipe: a Conv2D subclass overriding ``convolution_op``."""
    kops = real_keras.ops

    class KerasStdConv(real_keras.layers.Conv2D):
        def convolution_op(self, inputs, kernel):
            mean, var = kops.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return super().convolution_op(inputs, (kernel - mean) / kops.sqrt(var + 1e-10))

    class StdConv(L.Conv2D):
        def convolution_op(self, inputs, kernel):
            mean = kernel.mean((0, 1, 2), keepdim=True)
            var = ((kernel - mean) ** 2).mean((0, 1, 2), keepdim=True)
            return super().convolution_op(inputs, (kernel - mean) / (var + 1e-10).sqrt())

    def make(m):
        cls = KerasStdConv if m is real_keras.layers else StdConv
        return cls(4, 3, padding="same", data_format=data_format, activation="relu")

    shape = (2, 6, 5, 3) if data_format != CF else (2, 3, 6, 5)
    ours, theirs, x = _pair(real_keras, make, shape)
    np.testing.assert_allclose(ours(ts.tensor(x)).detach().numpy(), _np(theirs(x)), rtol=1e-4, atol=1e-5)
    xs = ts.tensor(x, requires_grad=True)
    ours(xs).sum().backward()
    assert ours.kernel.grad is not None and xs.grad is not None
