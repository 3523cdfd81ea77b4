"""keras.datasets loaders read the Keras cache: checked on small synthetic files in a temporary KERAS_HOME,
against real Keras's loaders reading the same files (their download step replaced by the file's path)."""

from __future__ import annotations

import gzip
import importlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from tessera.keras import datasets
from tessera.keras.datasets import _common

RNG = np.random.default_rng(0)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh KERAS_HOME whose files the loaders take without hash checks (they are synthetic)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(_common, "FILES", {k: (origin, None) for k, (origin, _) in _common.FILES.items()})
    os.makedirs(tmp_path / "datasets")
    return tmp_path / "datasets"


def _keras_reading(real_keras, monkeypatch, module: str, path):
    mod = importlib.import_module(f"keras.src.datasets.{module}")
    monkeypatch.setattr(mod, "get_file", lambda *a, **k: str(path))
    return getattr(real_keras.datasets, module)


def _ragged(n, vocab=50):
    seqs = [[int(v) for v in RNG.integers(1, vocab, size=RNG.integers(2, 12))] for _ in range(n)]
    out = np.empty(n, dtype=object)
    out[:] = seqs
    return out


def test_mnist_and_housing(cache, real_keras, monkeypatch):
    arrays = {
        k: RNG.integers(0, 255, size=(n, 28, 28), dtype=np.uint8) for k, n in (("x_train", 6), ("x_test", 3))
    }
    arrays.update(
        y_train=RNG.integers(0, 10, 6, dtype=np.uint8), y_test=RNG.integers(0, 10, 3, dtype=np.uint8)
    )
    np.savez(cache / "mnist.npz", **arrays)
    want = _keras_reading(real_keras, monkeypatch, "mnist", cache / "mnist.npz").load_data()
    got = datasets.mnist.load_data()
    for g, w in zip(got[0] + got[1], want[0] + want[1]):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    np.savez(cache / "boston_housing.npz", x=RNG.normal(size=(20, 13)), y=RNG.normal(size=20))
    np.savez(cache / "california_housing.npz", x=RNG.normal(size=(700, 8)), y=RNG.normal(size=700))
    for name, kwargs in (("boston_housing", {"test_split": 0.3, "seed": 5}),
                         ("california_housing", {"version": "small"})):  # fmt: skip
        ref = _keras_reading(real_keras, monkeypatch, name, cache / f"{name}.npz").load_data(**kwargs)
        out = getattr(datasets, name).load_data(**kwargs)
        for (gx, gy), (wx, wy) in zip(out, ref):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)
    with pytest.raises(ValueError, match="boston_housing.load_data: invalid `test_split`"):
        datasets.boston_housing.load_data(test_split=1.0)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"num_words": 20, "skip_top": 3}, {"maxlen": 8, "seed": 1}, {"start_char": None, "oov_char": None,
     "num_words": 30}, {"index_from": 0, "start_char": None}],
)  # fmt: skip
def test_imdb_and_reuters_encodings(cache, real_keras, monkeypatch, kwargs):
    np.savez(cache / "imdb.npz", x_train=_ragged(8), y_train=RNG.integers(0, 2, 8),
             x_test=_ragged(5), y_test=RNG.integers(0, 2, 5))  # fmt: skip
    np.savez(cache / "reuters.npz", x=_ragged(12), y=RNG.integers(0, 46, 12))
    for name in ("imdb", "reuters"):
        ref = _keras_reading(real_keras, monkeypatch, name, cache / f"{name}.npz").load_data(**kwargs)
        out = getattr(datasets, name).load_data(**kwargs)
        for (gx, gy), (wx, wy) in zip(out, ref):
            assert gx.dtype == object and [list(s) for s in gx] == [list(s) for s in wx]
            np.testing.assert_array_equal(gy, wy)
    (cache / "imdb_word_index.json").write_text('{"the": 1, "movie": 2}')
    assert datasets.imdb.get_word_index() == {"the": 1, "movie": 2}
    assert datasets.reuters.get_label_names() == real_keras.datasets.reuters.get_label_names()


def _pickle_batch(data, **labels):
    return pickle.dumps({b"data": data, **{k.encode(): v for k, v in labels.items()}})


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_cifar10_and_cifar100(cache, real_keras, monkeypatch):
    batches = {i: RNG.integers(0, 255, size=(4, 3072), dtype=np.uint8) for i in range(1, 7)}
    labels = {i: [int(v) for v in RNG.integers(0, 10, 4)] for i in range(1, 7)}
    members = {
        f"cifar-10-batches-py/data_batch_{i}": _pickle_batch(batches[i], labels=labels[i])
        for i in range(1, 6)
    }
    members["cifar-10-batches-py/test_batch"] = _pickle_batch(batches[6], labels=labels[6])
    _tar(cache / "cifar-10-batches-py-target_archive", members)
    (x_train, y_train), (x_test, y_test) = datasets.cifar10.load_data()
    want = np.concatenate([batches[i] for i in range(1, 6)]).reshape(20, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, want)
    assert y_train.shape == (20, 1) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train[:, 0], sum((labels[i] for i in range(1, 6)), []))
    np.testing.assert_array_equal(x_test, batches[6].reshape(4, 3, 32, 32).transpose(0, 2, 3, 1))
    # cifar100, against Keras reading the extracted directory
    fine, coarse = [int(v) for v in RNG.integers(0, 100, 4)], [int(v) for v in RNG.integers(0, 20, 4)]
    _tar(cache / "cifar-100-python-target_archive", {
        "cifar-100-python/train": _pickle_batch(batches[1], fine_labels=fine, coarse_labels=coarse),
        "cifar-100-python/test": _pickle_batch(batches[2], fine_labels=fine, coarse_labels=coarse),
    })  # fmt: skip
    for mode in ("fine", "coarse"):
        got = datasets.cifar100.load_data(label_mode=mode)
        ref = _keras_reading(real_keras, monkeypatch, "cifar100", cache / "cifar-100-python-target")
        for (gx, gy), (wx, wy) in zip(got, ref.load_data(label_mode=mode)):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)


def test_fashion_mnist_idx_files(cache):
    os.makedirs(cache / "fashion-mnist")
    parts = {}
    for split, n in (("train", 5), ("t10k", 2)):
        y = RNG.integers(0, 10, n, dtype=np.uint8)
        x = RNG.integers(0, 255, size=(n, 28, 28), dtype=np.uint8)
        with gzip.open(cache / "fashion-mnist" / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0" * 8 + y.tobytes())
        with gzip.open(cache / "fashion-mnist" / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0" * 16 + x.tobytes())
        parts[split] = (x, y)
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, parts["train"][0])
    np.testing.assert_array_equal(y_test, parts["t10k"][1])


def test_pickled_code_is_refused_and_missing_files_explain(cache):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo hacked",))

    np.savez(cache / "reuters.npz", x=np.array([Evil()], dtype=object), y=np.array([0]))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        datasets.reuters.load_data()
    with pytest.raises(OSError, match=r"place the file at .*mnist\.npz"):
        # a closed local port: the download fails at once, as it does offline
        _common.FILES["mnist.npz"] = ("http://127.0.0.1:9/mnist.npz", None)
        datasets.mnist.load_data()
