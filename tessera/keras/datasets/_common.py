"""What the dataset loaders share: the files they fetch (origin and hash, read from the Keras cache
directory by ``keras.utils.get_file``), safe ``.npz``/pickle reading (only NumPy arrays can be rebuilt: a
crafted file cannot run code), the seeded shuffles and the word-index encoding of IMDB/Reuters."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from ..utils.file_utils import get_file

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# dataset file -> (origin, sha256/md5 of the published file)
FILES = {
    "mnist.npz": (_BASE + "mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    "imdb.npz": (_BASE + "imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    "imdb_word_index.json": (_BASE + "imdb_word_index.json", "bfafd718b763782e994055a2d397834f"),
    "reuters.npz": (
        _BASE + "reuters.npz",
        "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    ),
    "reuters_word_index.json": (_BASE + "reuters_word_index.json", "4d44cc38712099c9e383dc6e5f11a921"),
    "boston_housing.npz": (
        _BASE + "boston_housing.npz",
        "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    ),
    "california_housing.npz": (
        _BASE + "california_housing.npz",
        "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
    ),
    "cifar-10": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    ),
    "cifar-100": (
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    ),
}

_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class SafeUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain Python data only."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load `{module}.{name}` from a dataset file: the file may be corrupted or malicious"
        )


def fetch(key: str, fname: str | None = None, **kwargs) -> str:
    """The local path of a dataset file (``get_file`` with its origin and hash)."""
    origin, file_hash = FILES[key]
    return get_file(fname=fname or key, origin=origin, file_hash=file_hash, **kwargs)


def load_npz(path: str) -> dict[str, np.ndarray]:
    """An ``.npz`` archive's arrays; object arrays (ragged sequences) through ``SafeUnpickler``."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            buf = io.BytesIO(archive.read(member))
            try:
                arr = np.lib.format.read_array(buf, allow_pickle=False)
            except ValueError:  # an object array: its payload is a pickle
                buf.seek(0)
                major, _ = np.lib.format.read_magic(buf)
                if major == 1:
                    np.lib.format.read_array_header_1_0(buf)
                else:
                    np.lib.format.read_array_header_2_0(buf)
                arr = SafeUnpickler(buf).load()
            arrays[member[: -len(".npy")]] = arr
    return arrays


def check_split(who: str, test_split: float) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"{who}: invalid `test_split` argument: {test_split}. It must be in [0, 1).")


def shuffled(seed, *arrays):
    """The arrays in one seeded permutation (NumPy's legacy ``RandomState``, as Keras, so that the splits are
    the same as Keras's)."""
    rng = np.random.RandomState(seed)
    idx = np.arange(len(arrays[0]))
    rng.shuffle(idx)
    return [a[idx] for a in arrays]


def split(x, y, test_split: float):
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))


def encode_words(xs, start_char, index_from):
    """Keras's IMDB/Reuters encoding, first step: prepend ``start_char`` and shift indices by
    ``index_from``."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    else:
        xs = [list(x) for x in xs]
    return xs


def clip_vocabulary(xs, num_words, skip_top, oov_char):
    """Second step: words outside ``[skip_top, num_words)`` become ``oov_char`` (dropped when it is None)."""
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def remove_long(maxlen, xs, labels):
    keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in keep], [labels[i] for i in keep]
