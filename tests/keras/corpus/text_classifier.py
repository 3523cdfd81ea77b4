"""A text classifier whose first layer is TextVectorization, adapted on raw strings and trained end to end with
fit on a NumPy array of strings (synthetic reviews)."""

import keras
import numpy as np
from _common import report
from keras import layers

rng = np.random.default_rng(3)
good = ["great", "good", "wonderful", "loved", "excellent", "fun"]
bad = ["awful", "bad", "boring", "hated", "terrible", "dull"]
filler = ["the", "movie", "was", "a", "plot", "and", "acting", "really", "it", "film"]


def review(positive):
    words = list(rng.choice(filler, size=6)) + list(rng.choice(good if positive else bad, size=2))
    rng.shuffle(words)
    return " ".join(words).capitalize() + ("!" if positive else ".")


labels = rng.integers(0, 2, size=400)
texts = np.array([review(bool(v)) for v in labels])
vectorize = layers.TextVectorization(max_tokens=100, output_mode="int", output_sequence_length=10)
vectorize.adapt(texts)
assert vectorize.get_vocabulary()[:2] == ["", "[UNK]"]

keras.utils.set_random_seed(3)
inputs = keras.Input(shape=(1,), dtype="string")
x = vectorize(inputs)
x = layers.Embedding(100, 16)(x)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(texts[:, None], labels.astype("float32"), batch_size=32, epochs=8, verbose=0)
acc = history.history["accuracy"][-1]
assert acc > 0.9, history.history
probe = model.predict(np.array([["A wonderful fun film"], ["An awful dull film"]]), verbose=0)
assert probe[0, 0] > 0.5 > probe[1, 0], probe
report(accuracy=acc)
