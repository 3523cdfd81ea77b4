"""``keras.datasets.mnist``: 60,000 + 10,000 28x28 grayscale digits (uint8) and their labels."""

from __future__ import annotations

import numpy as np

from ._common import fetch

__all__ = ["load_data"]


def load_data(path: str = "mnist.npz"):
    """``(x_train, y_train), (x_test, y_test)`` from ``mnist.npz`` in the Keras cache (downloaded when
    missing and the network is there).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    with np.load(fetch("mnist.npz", fname=path), allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
