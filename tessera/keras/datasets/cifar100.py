"""``keras.datasets.cifar100``: 50,000 + 10,000 32x32 colour images in 100 fine / 20 coarse classes."""

from __future__ import annotations

import os

import numpy as np

from ._common import fetch
from .cifar10 import _layout, load_batch

__all__ = ["load_data"]


def load_data(label_mode: str = "fine"):
    """``(x_train, y_train), (x_test, y_test)`` with ``"fine"`` (100) or ``"coarse"`` (20) labels.

    Example:
        >>> (x_train, y_train), _ = load_data(label_mode="coarse")  # doctest: +SKIP
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'cifar100.load_data: `label_mode` must be "fine" or "coarse", got {label_mode!r}')
    root = os.path.join(fetch("cifar-100", fname="cifar-100-python-target", extract=True), "cifar-100-python")
    out = []
    for part in ("train", "test"):
        x, y = load_batch(os.path.join(root, part), label_key=f"{label_mode}_labels")
        out.append((_layout(x), np.reshape(y, (len(y), 1))))
    return tuple(out)
