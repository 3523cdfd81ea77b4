"""Sequence-to-sequence addition (Keras's addition-RNN example, small): an LSTM encoder, RepeatVector, an LSTM
decoder and a TimeDistributed softmax predicting the digits of the sum."""

import keras
import numpy as np
from _common import report
from keras import layers

DIGITS = 2
CHARS = "0123456789+ "
MAXLEN = DIGITS + 1 + DIGITS
index = {c: i for i, c in enumerate(CHARS)}
rng = np.random.default_rng(4)


def encode(s, length):
    out = np.zeros((length, len(CHARS)), "float32")
    for i, c in enumerate(s.ljust(length)):
        out[i, index[c]] = 1.0
    return out


pairs = rng.integers(0, 10**DIGITS, size=(2000, 2))
questions = [f"{a}+{b}" for a, b in pairs]
answers = [str(a + b) for a, b in pairs]
x = np.stack([encode(q, MAXLEN) for q in questions])
y = np.stack([encode(a, DIGITS + 1) for a in answers])

keras.utils.set_random_seed(4)
model = keras.Sequential(
    [
        keras.Input(shape=(MAXLEN, len(CHARS))),
        layers.LSTM(64),
        layers.RepeatVector(DIGITS + 1),
        layers.LSTM(64, return_sequences=True),
        layers.TimeDistributed(layers.Dense(len(CHARS), activation="softmax")),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=64, epochs=6, verbose=0, validation_split=0.1)
acc = history.history["accuracy"]
losses = history.history["loss"]
assert losses[-1] < 0.75 * losses[0], history.history
assert model.output_shape == (None, DIGITS + 1, len(CHARS))
report(loss=losses[-1], accuracy=acc[-1], val_accuracy=history.history["val_accuracy"][-1])
