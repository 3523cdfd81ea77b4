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
