"""Model-level inputs and outputs as Keras exposes them: ``input``/``output``/``input_shape``/``output_shape``
of functional and Sequential models, and ``Input(dtype="string")`` feeding text layers (against Keras where it
runs without TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import keras
from tessera.keras import layers as L


def _both(lib):
    inp = lib.Input((8, 8, 1))
    x = lib.layers.Conv2D(4, 3, strides=2, padding="same")(inp)
    out = lib.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x)
    functional = lib.Model(inp, [out, x])
    seq = lib.Sequential([lib.Input((5,)), lib.layers.Dense(3)])
    return functional, seq


def test_shapes_match_keras(real_keras):
    for ours, theirs in zip(_both(keras), _both(real_keras)):
        assert ours.input_shape == theirs.input_shape
        assert _norm(ours.output_shape) == _norm(theirs.output_shape)
    ours, theirs = _both(keras)[0], _both(real_keras)[0]
    assert [o.shape for o in ours.output] == [tuple(o.shape) for o in theirs.output]
    assert ours.input.shape == tuple(theirs.input.shape)


def _norm(shape):
    if isinstance(shape, list):
        return [tuple(s) for s in shape]
    return tuple(shape)


def test_unbuilt_model_has_no_output_shape():
    with pytest.raises(AttributeError, match="no defined output shape"):
        _ = keras.Sequential([L.Dense(2)]).output_shape


def test_string_input_feeds_text_layers():
    vocab = ["good", "bad", "film"]
    inputs = keras.Input(shape=(1,), dtype="string")
    assert inputs.dtype.name == "string"
    x = L.StringLookup(vocabulary=vocab)(inputs)
    model = keras.Model(inputs, x)
    out = model.predict(np.array([["good"], ["film"], ["other"]]), verbose=0)
    np.testing.assert_array_equal(out, [[1], [3], [0]])
    with pytest.raises(TypeError, match="has dtype string, got an array of dtype"):
        model(np.ones((2, 1)))
