"""keras.models.clone_model / save_model and the OrthogonalRegularizer (against Keras)."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera import keras
from tessera.keras import layers as L

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 4)).astype("float32")


def _functional():
    inp = keras.Input((4,), name="features")
    shared = L.Dense(3, name="shared")
    a = shared(inp)
    b = shared(inp * 2.0)
    out = L.Dense(2, name="head")(L.Concatenate()([a, b]) + 1.0)
    return keras.Model(inp, out, name="net")


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)], name="seq"),
        _functional,
    ],
)
def test_clone_model_rebuilds_the_architecture_with_fresh_weights(make):
    model = make()
    clone = keras.models.clone_model(model)
    assert [type(a).__name__ for a in clone.layers] == [type(b).__name__ for b in model.layers]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert not all(np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    # the clone trains on its own
    clone.compile("sgd", "mse")
    before = model.get_weights()
    clone.fit(X, np.zeros((5, 2), "float32"), verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_clone_function_call_function_and_input_tensors():
    model = _functional()

    def relu_head(layer):
        cfg = layer.get_config()
        if layer.name == "head":
            cfg["activation"] = "relu"
        return type(layer).from_config(cfg)

    calls = []

    def record(layer, *args, **kwargs):
        calls.append(layer.name)
        return layer(*args, **kwargs)

    new_input = keras.Input((4,), name="other")
    clone = keras.models.clone_model(model, input_tensors=new_input, clone_function=relu_head,
                                     call_function=record)  # fmt: skip
    assert clone.get_layer("head").activation.__name__ == "relu"
    assert clone.inputs[0] is new_input and calls.count("shared") == 2
    clone.set_weights(model.get_weights())
    ref = np.maximum(model.predict(X, verbose=0), 0)
    np.testing.assert_allclose(clone.predict(X, verbose=0), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="clone_model: expected a keras Model"):
        keras.models.clone_model(L.Dense(2))


def test_save_model_alias(tmp_path):
    model = _functional()
    keras.models.save_model(model, tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_orthogonal_regularizer_matches_keras(real_keras, mode, shape):
    import torch

    w = RNG.normal(size=shape).astype("float32")
    ours = keras.regularizers.OrthogonalRegularizer(factor=0.1, mode=mode)
    theirs = real_keras.regularizers.OrthogonalRegularizer(factor=0.1, mode=mode)
    assert float(ours(ts.tensor(w))) == pytest.approx(float(theirs(torch.tensor(w))), rel=1e-5)
    cfg = keras.regularizers.get(keras.regularizers.serialize(ours)).get_config()
    assert cfg["mode"] == mode and cfg["factor"] == pytest.approx(theirs.get_config()["factor"])
    x = ts.tensor(w, requires_grad=True)
    ours(x).backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
    with pytest.raises(ValueError, match="inputs must have rank 2"):
        ours(ts.ones(2, 2, 2))
