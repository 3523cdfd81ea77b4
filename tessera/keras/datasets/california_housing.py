"""``keras.datasets.california_housing``: 20,640 samples of 8 features and the median house value."""

from __future__ import annotations

from ._housing import load

__all__ = ["load_data"]


def load_data(
    version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2, seed: int = 113
):
    """``(x_train, y_train), (x_test, y_test)``; ``version="small"`` keeps the first 600 samples.

    Example:
        >>> (x_train, y_train), _ = load_data(version="small")  # doctest: +SKIP
    """
    if version not in ("small", "large"):
        raise ValueError(f"california_housing.load_data: version must be 'small' or 'large', got {version!r}")
    limit = 600 if version == "small" else None
    return load("california_housing.npz", "california_housing.load_data", path, test_split, seed, limit)
