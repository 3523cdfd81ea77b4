"""Weight constraints on recurrent layers (kernel, recurrent kernel, bias) hold after training and serialize
as Keras's do."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import keras
from tessera.keras import layers as L


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU, L.ConvLSTM1D])
def test_recurrent_constraints_hold_after_fit(cls):
    rng = np.random.default_rng(0)
    conv = cls is L.ConvLSTM1D
    x = rng.normal(size=(16, 5, 6, 2) if conv else (16, 5, 3)).astype("float32")
    kwargs = {"filters": 4, "kernel_size": 3} if conv else {"units": 4}
    layer = cls(**kwargs, kernel_constraint="non_neg", recurrent_constraint=keras.constraints.MaxNorm(0.5),
                bias_constraint=keras.constraints.NonNeg())  # fmt: skip
    model = keras.Sequential([keras.Input(x.shape[1:]), layer, L.Flatten(), L.Dense(1)])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(x, rng.normal(size=(16, 1)).astype("float32") * 5, epochs=3, verbose=0)
    cell = getattr(layer, "cell", layer)
    assert float(cell.kernel.detach().numpy().min()) >= 0
    assert float(cell.bias.detach().numpy().min()) >= 0
    norms = np.sqrt((cell.recurrent_kernel.detach().numpy() ** 2).sum(axis=0))  # MaxNorm's default axis
    assert norms.max() <= 0.5 + 1e-6


def test_recurrent_constraint_config_matches_keras(real_keras):
    ours = L.LSTM(
        3, kernel_constraint="non_neg", recurrent_constraint=keras.constraints.MaxNorm(2.0)
    ).get_config()
    theirs = real_keras.layers.LSTM(3, kernel_constraint="non_neg",
                                    recurrent_constraint=real_keras.constraints.MaxNorm(2.0)).get_config()  # fmt: skip
    for key in ("kernel_constraint", "recurrent_constraint", "bias_constraint"):
        a, b = ours[key], theirs[key]
        assert (a is None) == (b is None)
        if a is not None:
            assert a["class_name"] == b["class_name"] and a["config"] == b["config"]
    again = L.LSTM.from_config(ours)
    assert type(again.cell.recurrent_constraint).__name__ == "MaxNorm"
