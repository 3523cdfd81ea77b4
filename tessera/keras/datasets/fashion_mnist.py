"""``keras.datasets.fashion_mnist``: 60,000 + 10,000 28x28 grayscale clothing images and labels."""

from __future__ import annotations

import gzip
import os

import numpy as np

from ..utils.file_utils import get_file
from ._common import _BASE

__all__ = ["load_data"]

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")  # fmt: skip


def load_data():
    """``(x_train, y_train), (x_test, y_test)`` from the four IDX files in the Keras cache
    (``datasets/fashion-mnist``).

    Example:
        >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
    """
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=_BASE + name, cache_subdir=subdir) for name in _FILES]
    out = []
    for labels_path, images_path in ((paths[0], paths[1]), (paths[2], paths[3])):
        with gzip.open(labels_path, "rb") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        with gzip.open(images_path, "rb") as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(y), 28, 28)
        out.append((x, y))
    return tuple(out)
