"""``keras.datasets.imdb``: 25,000 + 25,000 movie reviews as word-index sequences, labelled positive or
negative."""

from __future__ import annotations

import json

import numpy as np

from ._common import clip_vocabulary, encode_words, fetch, load_npz, remove_long

__all__ = ["load_data", "get_word_index"]


def load_data(
    path: str = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs,
):
    """``(x_train, y_train), (x_test, y_test)``: object arrays of word-index lists (Keras's encoding:
    ``start_char``, indices shifted by ``index_from``, words outside ``[skip_top, num_words)`` become
    ``oov_char``; reviews of ``maxlen`` words or more dropped) and 0/1 labels.

    Example:
        >>> (x_train, y_train), _ = load_data(num_words=10000)  # doctest: +SKIP
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    f = load_npz(fetch("imdb.npz", fname=path))
    rng = np.random.RandomState(seed)  # as Keras: one generator shuffles train, then test
    parts = []
    for x, y in ((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])):
        idx = np.arange(len(x))
        rng.shuffle(idx)
        parts.append((x[idx], y[idx]))
    (x_train, y_train), (x_test, y_test) = parts
    x_train = encode_words(x_train, start_char, index_from)
    x_test = encode_words(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = remove_long(maxlen, x_train, y_train)
        x_test, y_test = remove_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(
                f"imdb.load_data: after filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                "kept. Increase maxlen."
            )
    xs = clip_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    n = len(x_train)
    return (np.array(xs[:n], dtype="object"), labels[:n]), (np.array(xs[n:], dtype="object"), labels[n:])


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The word -> index dict of the IMDB encoding (indices before the ``index_from`` shift).

    Example:
        >>> get_word_index()["the"]  # doctest: +SKIP
        1
    """
    with open(fetch("imdb_word_index.json", fname=path)) as f:
        return json.load(f)
