"""Keras-style training on scikit-learn's handwritten digits: a Sequential CNN trained with ``fit`` and the
EarlyStopping, ModelCheckpoint and TensorBoard callbacks, then reloaded from its checkpoint.

Run: python examples/digits_keras.py [log_dir]   (needs scikit-learn and tensorboard:
     pip install -e ".[examples]"; then `tensorboard --logdir runs/digits_keras` shows the curves)
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import tessera as ts
from tessera import keras
from tessera.keras import layers


def load_data(seed: int = 0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1): channels_last, as in Keras
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def build_model() -> keras.Sequential:
    return keras.Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(10),
    ])  # fmt: skip


def main(log_dir: str | None = None, epochs: int = 30, verbose: int = 1, seed: int = 0) -> dict:
    ts.manual_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_data(seed)
    log_dir = log_dir or os.path.join("runs", "digits_keras")
    checkpoint = os.path.join(tempfile.mkdtemp(prefix="digits_keras_"), "best.keras")

    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    if verbose:
        model.summary()
    history = model.fit(
        x_train, y_train, batch_size=64, epochs=epochs, validation_split=0.1, verbose=verbose,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
            keras.callbacks.ModelCheckpoint(checkpoint, monitor="val_accuracy", save_best_only=True),
            keras.callbacks.TensorBoard(log_dir=log_dir),
        ],
    )  # fmt: skip
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    reloaded = keras.models.load_model(checkpoint)
    reloaded_accuracy = float(np.mean(reloaded.predict(x_test, verbose=0).argmax(axis=1) == y_test))
    if verbose:
        print(
            f"test accuracy {test_accuracy:.2%} (loss {test_loss:.4f}) after {len(history.epoch)} epochs; "
            f"best checkpoint reloaded: {reloaded_accuracy:.2%}; TensorBoard logs in {log_dir}"
        )
    return {
        "test_accuracy": test_accuracy,
        "reloaded_accuracy": reloaded_accuracy,
        "history": history.history,
        "log_dir": log_dir,
    }


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
