"""The Keras 3 optimizers added for issue 10 against real Keras (torch backend): the same weights and the
same gradient sequence through ``apply``, weights compared after each step; plus training, configs and the
dynamic loss scale."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera import keras

RNG = np.random.default_rng(0)

CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "beta_1": 0.8, "weight_decay": 0.01}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.01, "beta_2": 0.99, "clipnorm": 0.5}),
    ("Ftrl", {}),
    (
        "Ftrl",
        {
            "learning_rate": 0.1,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "l2_shrinkage_regularization_strength": 0.01,
            "beta": 0.1,
        },
    ),  # fmt: skip
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.05, "relative_step": False, "clip_threshold": 0.5}),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_updates_match_keras(real_keras, name, kwargs):
    import torch

    shapes = [(3, 4), (4,), (2, 3, 2)]
    init = [RNG.normal(size=s).astype("float32") for s in shapes]
    ours_w = [ts.nn.Parameter(ts.tensor(a.copy())) for a in init]
    theirs_w = [real_keras.Variable(a.copy()) for a in init]
    ours = getattr(keras.optimizers, name)(**kwargs)
    theirs = getattr(real_keras.optimizers, name)(**kwargs)
    for _ in range(4):
        grads = [RNG.normal(size=s).astype("float32") for s in shapes]
        ours.apply([ts.tensor(g) for g in grads], ours_w)
        theirs.apply([torch.tensor(g) for g in grads], theirs_w)
        for a, b in zip(ours_w, theirs_w):
            np.testing.assert_allclose(
                a.detach().numpy(), real_keras.ops.convert_to_numpy(b), rtol=2e-5, atol=2e-6
            )
    assert ours.iterations == 4
    theirs_cfg = theirs.get_config()
    for key, value in ours.get_config().items():
        if key in theirs_cfg and key not in ("name",):
            assert value == pytest.approx(theirs_cfg[key]), key


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "Nadam", "Ftrl", "Lamb", "Lion", "Adafactor"])
def test_trains_a_model_and_round_trips(name):
    ts.manual_seed(0)
    x = RNG.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    opt = keras.optimizers.get(name.lower())
    opt.learning_rate = 0.05 if name != "Adadelta" else 1.0
    model.compile(opt, "mse")
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    state = opt.state_dict()
    assert state["iterations"] == opt.iterations and state["state"]


def test_loss_scale_optimizer_matches_keras(real_keras):
    import torch

    w0 = RNG.normal(size=(3,)).astype("float32")
    ours_w, theirs_w = ts.nn.Parameter(ts.tensor(w0.copy())), real_keras.Variable(w0.copy())
    ours = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(0.1), initial_scale=4.0, dynamic_growth_steps=2
    )
    theirs = real_keras.optimizers.LossScaleOptimizer(real_keras.optimizers.SGD(0.1), initial_scale=4.0,
                                                      dynamic_growth_steps=2)  # fmt: skip
    steps = [np.ones(3), np.array([np.inf, 1, 1]), np.full(3, 2.0), np.full(3, 3.0), np.full(3, 4.0)]
    for g in steps:
        ours.apply([ts.tensor(g.astype("float32"))], [ours_w])
        theirs.apply([torch.tensor(g.astype("float32"))], [theirs_w])
        np.testing.assert_allclose(
            ours_w.detach().numpy(), real_keras.ops.convert_to_numpy(theirs_w), rtol=1e-6
        )
        assert ours.dynamic_scale == float(real_keras.ops.convert_to_numpy(theirs.dynamic_scale))
    assert float(ours.scale_loss(ts.tensor(1.0))) == ours.dynamic_scale
    cfg = keras.optimizers.serialize(ours)
    assert keras.optimizers.deserialize(cfg).inner_optimizer.learning_rate == pytest.approx(0.1)


def test_loss_scale_optimizer_in_fit():
    ts.manual_seed(0)
    x = RNG.normal(size=(32, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.05)), "mse")
    hist = model.fit(x, x[:, :1] * 3, epochs=10, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: keras.optimizers.Adamax(beta_1=1.0), r"Adamax: beta_1 must be in \[0, 1\)"),
        (lambda: keras.optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power` must be <= 0"),
        (lambda: keras.optimizers.Lion(beta_1=0.0), r"Lion: beta_1 must be in \(0, 1\]"),
        (
            lambda: keras.optimizers.LossScaleOptimizer("sgd", dynamic=False),
            "no longer supports `dynamic=False`",
        ),
        (lambda: keras.optimizers.Nadam(momentum=0.9), "argument\\(s\\) not recognized"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _keras_var(real_keras, array, name):
    return real_keras.Variable(array.copy(), name=name)


@pytest.mark.parametrize("kwargs", [{}, {"nesterov": False, "rms_rate": None, "weight_decay": 0.0},
                                    {"exclude_embeddings": False, "adam_lr_ratio": 0.5, "ns_steps": 3}])  # fmt: skip
def test_muon_matches_keras(real_keras, kwargs):
    import torch

    from tessera.keras.layers.base import Variable

    specs = [((4, 3), "dense/kernel"), ((3,), "dense/bias"), ((5, 2), "embedding/embeddings"), ((2, 6), "w")]
    init = [RNG.normal(size=s).astype("float32") for s, _ in specs]
    ours_w = []
    for a, (_, path) in zip(init, specs):
        v = Variable(ts.tensor(a.copy()))
        v.path = path
        ours_w.append(v)
    theirs_w = [_keras_var(real_keras, a, path.replace("/", "_")) for a, (_, path) in zip(init, specs)]
    ours = keras.optimizers.Muon(learning_rate=0.02, **kwargs)
    theirs = real_keras.optimizers.Muon(learning_rate=0.02, **kwargs)
    theirs.build(theirs_w)
    for _ in range(3):
        grads = [RNG.normal(size=s).astype("float32") for s, _ in specs]
        ours.apply([ts.tensor(g) for g in grads], ours_w)
        theirs.apply([torch.tensor(g) for g in grads], theirs_w)
    for a, b in zip(ours_w, theirs_w):
        np.testing.assert_allclose(
            a.detach().numpy(), real_keras.ops.convert_to_numpy(b), rtol=1e-4, atol=1e-5
        )


def test_multi_optimizer_matches_keras(real_keras):
    import torch

    def build(lib):
        layers = [lib.Input((3,)), lib.layers.Dense(4, name="encoder"), lib.layers.Dense(2, name="head")]
        return lib.Sequential(layers, name="seq")

    ours_model, theirs_model = build(keras), build(real_keras)
    ours_model.set_weights(theirs_model.get_weights())
    ours = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(
            keras.optimizers.SGD(0.1), {"seq/encoder/.*": keras.optimizers.Adam(0.01)}
        )
    )
    ko = real_keras.optimizers
    theirs = ko.MultiOptimizer(ko.OptimizerMap(ko.SGD(0.1), {"seq/encoder/.*": ko.Adam(0.01)}))
    assert [w.path for w in ours_model.trainable_weights] == [
        v.path for v in theirs_model.trainable_variables
    ]
    for _ in range(3):
        grads = [RNG.normal(size=tuple(w.shape)).astype("float32") for w in ours_model.trainable_weights]
        ours.apply([ts.tensor(g) for g in grads], ours_model.trainable_weights)
        theirs.apply([torch.tensor(g) for g in grads], theirs_model.trainable_variables)
    for a, b in zip(ours_model.get_weights(), theirs_model.get_weights()):  # Adam's epsilon: see the AdamW test
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5)
    assert [type(o).__name__ for o in ours.optimizers] == ["Adam", "SGD"] and ours.iterations == 3
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed on a MultiOptimizer"):
        _ = ours.learning_rate
    again = keras.optimizers.deserialize(keras.optimizers.serialize(ours))
    assert [type(o).__name__ for o in again.optimizers] == ["Adam", "SGD"]


def test_multi_optimizer_in_fit_and_weight_decay_exclusion():
    ts.manual_seed(0)
    x = RNG.normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="enc"), keras.layers.Dense(1, name="out")],
                             name="m")  # fmt: skip
    frozen = keras.optimizers.SGD(0.0)
    opts = keras.optimizers
    model.compile(opts.MultiOptimizer(opts.OptimizerMap(opts.Adam(0.05), {"m/enc/.*": frozen})), "mse")
    before = [w.detach().numpy().copy() for w in model.trainable_weights]
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    after = [w.detach().numpy() for w in model.trainable_weights]
    np.testing.assert_array_equal(after[0], before[0])  # the encoder's optimizer has lr 0
    assert not np.array_equal(after[2], before[2])
    opt = keras.optimizers.AdamW(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    layer = keras.layers.Dense(2, bias_initializer="ones")
    layer(ts.ones((1, 2)))
    opt.apply([ts.zeros_like(w) for w in layer.trainable_weights], layer.trainable_weights)
    np.testing.assert_array_equal(layer.bias.detach().numpy(), [1.0, 1.0])  # excluded by name: no decay


def test_adamw_matches_keras_with_exclusions(real_keras):
    import torch

    a = RNG.normal(size=(3, 2)).astype("float32")
    b = RNG.normal(size=(2,)).astype("float32")
    from tessera.keras.layers.base import Variable

    ours_w = []
    for arr, path in ((a, "d/kernel"), (b, "d/bias")):
        v = Variable(ts.tensor(arr.copy()))
        v.path = path
        ours_w.append(v)
    theirs_w = [real_keras.Variable(a.copy(), name="kernel"), real_keras.Variable(b.copy(), name="bias")]
    ours = keras.optimizers.AdamW(0.05, weight_decay=0.1)
    theirs = real_keras.optimizers.AdamW(0.05, weight_decay=0.1)
    ours.exclude_from_weight_decay(var_names=["bias"])
    theirs.exclude_from_weight_decay(var_names=["bias"])
    for _ in range(3):
        grads = [RNG.normal(size=a.shape).astype("float32"), RNG.normal(size=b.shape).astype("float32")]
        ours.apply([ts.tensor(g) for g in grads], ours_w)
        theirs.apply([torch.tensor(g) for g in grads], theirs_w)
    # (Keras's Adam adds epsilon to sqrt(v), PyTorch's to the bias-corrected sqrt(v): a difference of order
    # epsilon / |g| in each step, hence the absolute tolerance; the excluded bias shows no decay either way)
    for o, t in zip(ours_w, theirs_w):
        np.testing.assert_allclose(
            o.detach().numpy(), real_keras.ops.convert_to_numpy(t), rtol=1e-5, atol=2e-5
        )
