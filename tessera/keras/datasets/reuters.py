"""``keras.datasets.reuters``: 11,228 newswires as word-index sequences in 46 topics."""

from __future__ import annotations

import json

import numpy as np

from ._common import check_split, clip_vocabulary, encode_words, fetch, load_npz, remove_long, shuffled

__all__ = ["load_data", "get_word_index", "get_label_names"]

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)  # fmt: skip


def load_data(
    path: str = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
):
    """``(x_train, y_train), (x_test, y_test)``: word-index lists (IMDB's encoding) and topic labels, shuffled
    with ``seed`` and split at ``1 - test_split``.

    Example:
        >>> (x_train, y_train), _ = load_data(num_words=10000)  # doctest: +SKIP
    """
    check_split("reuters.load_data", test_split)
    f = load_npz(fetch("reuters.npz", fname=path))
    xs, labels = shuffled(seed, f["x"], f["y"])
    xs = encode_words(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long(maxlen, xs, list(labels))
    xs = clip_vocabulary(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    return (
        (np.array(xs[:n], dtype="object"), np.array(labels[:n])),
        (np.array(xs[n:], dtype="object"), np.array(labels[n:])),
    )


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The word -> index dict of the Reuters encoding.

    Example:
        >>> len(get_word_index())  # doctest: +SKIP
        30979
    """
    with open(fetch("reuters_word_index.json", fname=path)) as f:
        return json.load(f)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, by label index.

    Example:
        >>> get_label_names()[:3]
        ('cocoa', 'grain', 'veg-oil')
    """
    return _LABELS
