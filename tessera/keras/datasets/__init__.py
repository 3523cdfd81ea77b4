"""``keras.datasets``: the classic small datasets with Keras's loader signatures. Files come from the Keras
cache directory (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``) when present; otherwise they are
downloaded, and without network access the error names the path to place the file at.

Example:
    >>> from tessera.keras.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
"""

from __future__ import annotations

from . import boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist",
           "reuters"]  # fmt: skip
