"""``tessera.keras.activations``, ``initializers`` and ``constraints`` against real Keras 3 (torch backend) and
NumPy: values on random inputs, initializer shapes/statistics/exact values, constraint projections, the
get/serialize/deserialize round trips, gradients, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.keras import activations, constraints, initializers


def _np(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    if isinstance(x, ts.Tensor):
        return x.numpy()
    return np.asarray(x)


# name -> keyword arguments to try (Keras's defaults first)
ACTIVATIONS = [
    ("linear", {}),
    ("relu", {}),
    ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.3}),
    ("relu6", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("sigmoid", {}),
    ("hard_sigmoid", {}),
    ("tanh", {}),
    ("softmax", {}),
    ("softmax", {"axis": 1}),
    ("log_softmax", {}),
    ("softplus", {}),
    ("softsign", {}),
    ("swish", {}),
    ("silu", {}),
    ("mish", {}),
    ("exponential", {}),
    ("celu", {}),
    ("celu", {"alpha": 2.0}),
    ("glu", {}),
    ("glu", {"axis": 1}),
    ("hard_shrink", {}),
    ("hard_shrink", {"threshold": 1.0}),
    ("hard_silu", {}),
    ("hard_swish", {}),
    ("hard_tanh", {}),
    ("log_sigmoid", {}),
    ("soft_shrink", {}),
    ("soft_shrink", {"threshold": 0.8}),
    ("sparse_plus", {}),
    ("sparse_sigmoid", {}),
    ("sparsemax", {}),
    ("sparsemax", {"axis": 1}),
    ("squareplus", {}),
    ("squareplus", {"b": 1.0}),
    ("tanh_shrink", {}),
    ("threshold", {"threshold": 0.2, "default_value": -1.0}),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACTIVATIONS)])
def test_activation_matches_keras(real_keras, name, kwargs):
    x = np.random.default_rng(0).normal(0, 2, (3, 4, 6)).astype("float32")
    ours = getattr(activations, name)(ts.tensor(x), **kwargs)
    theirs = getattr(real_keras.activations, name)(real_keras.ops.convert_to_tensor(x), **kwargs)
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-5, atol=1e-5)
    # NumPy inputs are accepted, as in Keras
    np.testing.assert_allclose(
        _np(getattr(activations, name)(x, **kwargs)), _np(theirs), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "name",
    ["celu", "glu", "log_sigmoid", "soft_shrink", "sparse_plus", "squareplus", "tanh_shrink", "sparsemax"],
)
def test_activation_gradient_finite_differences(name):
    rng = np.random.default_rng(1)
    x0 = rng.normal(0, 1.5, (2, 4))
    w = rng.normal(size=(2, 4 if name != "glu" else 2))
    x = ts.tensor(x0, dtype=ts.float64, requires_grad=True)
    (getattr(activations, name)(x) * ts.tensor(w)).sum().backward()

    def f(a):
        return float((_np(getattr(activations, name)(ts.tensor(a, dtype=ts.float64))) * w).sum())

    num = np.zeros_like(x0)
    eps = 1e-6
    for idx in np.ndindex(*x0.shape):
        d = np.zeros_like(x0)
        d[idx] = eps
        num[idx] = (f(x0 + d) - f(x0 - d)) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-4, atol=1e-6)


def test_activation_names_match_keras(real_keras):
    theirs = {n for n in dir(real_keras.activations) if not n.startswith("_")}
    assert theirs <= set(dir(activations))
    for name in theirs - {"get", "serialize", "deserialize"}:
        fn = activations.get(name)
        assert fn is getattr(activations, name)
        assert activations.serialize(fn) == real_keras.activations.serialize(
            getattr(real_keras.activations, name)
        )
        assert activations.deserialize(activations.serialize(fn)) is fn


def test_activation_errors():
    with pytest.raises(ValueError, match="glu.*even"):
        activations.glu(ts.zeros(2, 3))
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        activations.get("nope")


# -- initializers ---------------------------------------------------------------------------------------------
def test_initializer_names_match_keras(real_keras):
    theirs = {n for n in dir(real_keras.initializers) if not n.startswith("_")}
    missing = theirs - set(dir(initializers))
    assert not missing
    for name in theirs - {"get", "serialize", "deserialize", "Initializer"}:
        init = initializers.get(name)
        assert isinstance(init, initializers.Initializer)
        try:
            theirs_init = real_keras.initializers.get(name)
        except KeyError:  # Keras's own get() fails for Constant's string form
            continue
        assert type(init).__name__ == type(theirs_init).__name__


DETERMINISTIC = [
    ("Zeros", {}, (3, 4)),
    ("Ones", {}, (2, 5)),
    ("Constant", {"value": 0.7}, (4, 2)),
    ("Identity", {"gain": 2.0}, (3, 5)),
    ("Identity", {}, (4, 4)),
    ("STFT", {}, (16, 1, 9)),
    ("STFT", {"side": "imag", "window": "hamming", "scaling": "spectrum", "periodic": True}, (8, 1, 5)),
    ("STFT", {"window": None, "scaling": None}, (8, 1, 5)),
]


@pytest.mark.parametrize("name,kwargs,shape", DETERMINISTIC)
def test_deterministic_initializers_match_keras(real_keras, name, kwargs, shape):
    ours = getattr(initializers, name)(**kwargs)(shape)
    theirs = getattr(real_keras.initializers, name)(**kwargs)(shape)
    assert ours.shape == tuple(shape) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _np(theirs), rtol=1e-5, atol=1e-6)
    cfg = getattr(initializers, name)(**kwargs).get_config()
    if name == "Identity":  # Keras forgets gain in its config; ours keeps it so from_config round-trips
        assert cfg == {"gain": kwargs.get("gain", 1.0)}
        return
    assert cfg == getattr(real_keras.initializers, name)(**kwargs).get_config()


# name -> kwargs, shape, expected std (None: uniform range checked), expected mean
RANDOM = [
    ("RandomNormal", {"stddev": 0.3}, (200, 300), 0.3),
    ("RandomUniform", {"minval": -1.0, "maxval": 3.0}, (200, 300), 4 / np.sqrt(12)),
    ("TruncatedNormal", {"stddev": 0.5}, (200, 300), 0.5 * 0.87962566),
    ("GlorotUniform", {}, (200, 300), np.sqrt(2 / 500)),
    ("GlorotNormal", {}, (200, 300), np.sqrt(2 / 500)),
    ("HeNormal", {}, (3, 3, 40, 64), np.sqrt(2 / 360)),
    ("HeUniform", {}, (300, 200), np.sqrt(2 / 300)),
    ("LecunNormal", {}, (300, 200), np.sqrt(1 / 300)),
    ("LecunUniform", {}, (300, 200), np.sqrt(1 / 300)),
    (
        "VarianceScaling",
        {"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"},
        (100, 400),
        0.0866,
    ),
    ("VarianceScaling", {"scale": 1.0, "input_axes": [0], "output_axes": [1, 2]}, (100, 4, 50), 0.1),
]


@pytest.mark.parametrize("name,kwargs,shape,std", RANDOM)
def test_random_initializer_statistics(real_keras, name, kwargs, shape, std):
    ts.manual_seed(0)
    ours = getattr(initializers, name)(**kwargs)(shape)
    theirs = _np(getattr(real_keras.initializers, name)(seed=1, **kwargs)(shape))
    assert ours.shape == theirs.shape == tuple(shape)
    assert abs(ours.std() - theirs.std()) < 0.03 * theirs.std()
    assert abs(ours.std() - std) < 0.03 * std
    assert abs(ours.mean() - theirs.mean()) < 0.03 * std + abs(theirs.mean()) * 0.03
    if "Uniform" in name or kwargs.get("distribution") == "uniform":
        assert ours.min() >= theirs.min() - 0.01 * std and ours.max() <= theirs.max() + 0.01 * std
    if "Truncated" in name or name.endswith("Normal") and name != "RandomNormal":
        assert np.abs(ours - ours.mean()).max() <= np.abs(theirs - theirs.mean()).max() + 0.01 * std


def test_orthogonal_initializer():
    q = initializers.orthogonal(gain=2.0)((6, 4))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    q = initializers.OrthogonalInitializer()((3, 3, 8))
    flat = q.reshape(9, 8)
    np.testing.assert_allclose(flat.T @ flat, np.eye(8), atol=1e-5)


def test_initializer_seed_reproducible_and_serialization(real_keras):
    a = initializers.GlorotNormal(seed=3)((5, 5))
    b = initializers.GlorotNormal(seed=3)((5, 5))
    np.testing.assert_array_equal(a, b)
    for init in (
        initializers.GlorotUniform(seed=1),
        initializers.Constant(2.0),
        initializers.VarianceScaling(2.0),
    ):
        cfg = initializers.serialize(init)
        k_init = getattr(real_keras.initializers, type(init).__name__)(**init.get_config())
        k_cfg = real_keras.initializers.serialize(k_init)
        assert cfg == k_cfg
        back = initializers.deserialize(cfg)
        assert type(back) is type(init) and back.get_config() == init.get_config()
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    c = initializers.VarianceScaling(2.0, "fan_out", seed=4).clone()
    assert type(c) is initializers.VarianceScaling and c.get_config()["scale"] == 2.0 and c.seed == 4


def test_initializer_errors():
    with pytest.raises(ValueError, match="Identity.*2-D"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="STFT: window"):
        initializers.STFT(window="kaiser-nope")
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="Constant.*broadcast"):
        initializers.Constant([1.0, 2.0, 3.0])((2, 2))
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get("nope")


# -- constraints ----------------------------------------------------------------------------------------------
CONSTRAINTS = [
    ("MaxNorm", {}),
    ("MaxNorm", {"max_value": 0.5, "axis": 1}),
    ("MaxNorm", {"max_value": 1.0, "axis": [0, 1]}),
    ("MinMaxNorm", {}),
    ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5, "axis": 1}),
    ("NonNeg", {}),
    ("UnitNorm", {}),
    ("UnitNorm", {"axis": [0, 2]}),
    ("max_norm", {"max_value": 1.5}),
    ("min_max_norm", {"min_value": 0.5}),
    ("non_neg", {}),
    ("unit_norm", {"axis": -1}),
]


@pytest.mark.parametrize("name,kwargs", CONSTRAINTS)
def test_constraint_matches_keras(real_keras, name, kwargs):
    w = np.random.default_rng(2).normal(0, 1, (4, 3, 5)).astype("float32")
    ours = getattr(constraints, name)(**kwargs)
    theirs = getattr(real_keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(_np(ours(ts.tensor(w))), _np(theirs(w)), rtol=1e-5, atol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert constraints.serialize(ours) == real_keras.constraints.serialize(theirs)
    back = constraints.deserialize(constraints.serialize(ours))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()


def test_constraint_names_and_get(real_keras):
    theirs = {n for n in dir(real_keras.constraints) if not n.startswith("_")}
    assert theirs <= set(dir(constraints))
    for name in ("max_norm", "MaxNorm", "non_neg", "unit_norm", "min_max_norm"):
        assert type(constraints.get(name)).__name__ == type(real_keras.constraints.get(name)).__name__
    assert constraints.get(None) is None
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)

    def clip(w):
        return ts.clamp(w, -1.0, 1.0)

    assert constraints.get(clip) is clip
    assert constraints.deserialize(constraints.serialize(clip), custom_objects={"clip": clip}) is clip


def test_constraint_errors():
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        constraints.get("nope")
    with pytest.raises(ValueError, match="MaxNorm: axis"):
        constraints.MaxNorm(axis="0")
    with pytest.raises(ValueError, match="MinMaxNorm: min_value must be <= max_value"):
        constraints.MinMaxNorm(2.0, 1.0)


def test_constraint_is_differentiable_tessera_op():
    w = ts.tensor(np.random.default_rng(0).normal(size=(3, 2)), dtype=ts.float64, requires_grad=True)
    constraints.UnitNorm()(w).sum().backward()
    assert w.grad is not None and w.grad.shape == w.shape
