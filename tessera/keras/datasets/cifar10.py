"""``keras.datasets.cifar10``: 50,000 + 10,000 32x32 colour images in 10 classes."""

from __future__ import annotations

import os

import numpy as np

from .. import config
from ._common import SafeUnpickler, fetch

__all__ = ["load_data"]


def load_batch(fpath: str, label_key: str = "labels"):
    """One pickled CIFAR batch: ``(data (n, 3, 32, 32) uint8, labels)``, read with a NumPy-only unpickler."""
    with open(fpath, "rb") as f:
        d = {k.decode("utf8"): v for k, v in SafeUnpickler(f, encoding="bytes").load().items()}
    data = d["data"]
    return data.reshape(data.shape[0], 3, 32, 32), d[label_key]


def _layout(x):
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (channels last unless
    ``image_data_format()`` is channels first) and ``(n, 1)`` uint8 labels, from the Keras cache.

    Example:
        >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
        >>> x_train.shape  # doctest: +SKIP
        (50000, 32, 32, 3)
    """
    root = os.path.join(
        fetch("cifar-10", fname="cifar-10-batches-py-target", extract=True), "cifar-10-batches-py"
    )
    xs, ys = zip(*(load_batch(os.path.join(root, f"data_batch_{i}")) for i in range(1, 6)))
    x_train = np.concatenate(xs).astype("uint8")
    y_train = np.concatenate([np.asarray(y) for y in ys]).astype("uint8").reshape(-1, 1)
    x_test, y_test = load_batch(os.path.join(root, "test_batch"))
    y_test = np.asarray(y_test).astype("uint8").reshape(-1, 1)
    return (_layout(x_train), y_train), (_layout(x_test.astype("uint8")), y_test)
