"""``keras.datasets.boston_housing``: 506 samples of 13 features and the median home value."""

from __future__ import annotations

from ._housing import load

__all__ = ["load_data"]


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """``(x_train, y_train), (x_test, y_test)``, shuffled with ``seed`` and split at ``1 - test_split``.

    Example:
        >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
    """
    return load("boston_housing.npz", "boston_housing.load_data", path, test_split, seed)
