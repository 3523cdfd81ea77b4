"""A functional model built with symbolic arithmetic: Python operators, slicing and keras.ops on KerasTensors
(residual connection, feature scaling, a softmax gate), saved to config and rebuilt."""

import keras
import numpy as np
from _common import report
from keras import layers, ops

keras.utils.set_random_seed(2)
inputs = keras.Input(shape=(10,), name="features")
scaled = (inputs - 0.5) * 2.0
h = layers.Dense(16, activation="relu")(scaled)
h = layers.Dense(10)(h) + inputs  # residual
gate = ops.softmax(h[:, :5], axis=-1)
pooled = ops.sum(gate * h[:, 5:], axis=-1, keepdims=True)
stats = ops.concatenate(
    [pooled, ops.mean(h, axis=1, keepdims=True), ops.max(h, axis=1, keepdims=True)], axis=-1
)
outputs = layers.Dense(1, activation="sigmoid")(stats)
model = keras.Model(inputs, outputs)

rng = np.random.default_rng(2)
x = rng.uniform(size=(600, 10)).astype("float32")
y = (x[:, :5].sum(1) > x[:, 5:].sum(1)).astype("float32")[:, None]
model.compile(optimizer=keras.optimizers.Adam(0.005), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
acc = history.history["accuracy"][-1]
assert acc > 0.85, history.history

clone = keras.Model.from_config(model.get_config())
clone.set_weights(model.get_weights())
np.testing.assert_allclose(
    keras.ops.convert_to_numpy(clone(x[:8])), keras.ops.convert_to_numpy(model(x[:8])), rtol=1e-5, atol=1e-6
)
report(accuracy=acc, loss=history.history["loss"][-1])
