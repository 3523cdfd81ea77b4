"""TorchModuleWrapper: a PyTorch-style module as a Keras layer, against real Keras wrapping the same torch
module with the same weights; its parameters train under fit."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera import keras


def test_matches_keras_wrapping_torch(real_keras):
    import torch

    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(5, 3)).astype("float32"), rng.normal(size=5).astype("float32")
    ours_mod = ts.nn.Sequential(ts.nn.Linear(3, 5), ts.nn.Tanh())
    theirs_mod = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh())
    with ts.no_grad(), torch.no_grad():
        ours_mod[0].weight.copy_(ts.tensor(w1))
        ours_mod[0].bias.copy_(ts.tensor(b1))
        theirs_mod[0].weight.copy_(torch.tensor(w1))
        theirs_mod[0].bias.copy_(torch.tensor(b1))
    ours = keras.layers.TorchModuleWrapper(ours_mod)
    theirs = real_keras.layers.TorchModuleWrapper(theirs_mod)
    x = rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(ours(ts.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6)  # fmt: skip
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 2


def test_trains_in_a_functional_model_and_refuses_unsafe_config():
    ts.manual_seed(0)
    inp = keras.Input((3,))
    wrapped = keras.layers.TorchModuleWrapper(ts.nn.Linear(3, 1))
    model = keras.Model(inp, wrapped(inp))
    assert model.output_shape == (None, 1)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(1).normal(size=(64, 3)).astype("float32")
    hist = model.fit(x, x @ np.array([[1.0], [2.0], [-1.0]], dtype="float32"), epochs=30, verbose=0)
    assert hist.history["loss"][-1] < 1e-2
    with pytest.raises(NotImplementedError, match="no safe serialized form"):
        wrapped.get_config()
    with pytest.raises(ValueError, match="must be a ts.nn.Module"):
        keras.layers.TorchModuleWrapper(keras.layers.Dense(2))
