"""The two housing regression sets share their loading: ``x``/``y`` arrays, a seeded shuffle, a split."""

from __future__ import annotations

import numpy as np

from ._common import check_split, fetch, shuffled, split


def load(key: str, who: str, path: str, test_split: float, seed, limit: int | None = None):
    check_split(who, test_split)
    with np.load(fetch(key, fname=path), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    x, y = shuffled(seed, x, y)
    return split(x, y, test_split)
