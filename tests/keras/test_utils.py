"""keras.utils, keras.config extras and custom-object registration: against real Keras where it runs without
TensorFlow, else against NumPy references built in the test."""

from __future__ import annotations

import io
import logging
import os
import tarfile
import wave

import numpy as np
import pytest

import tessera as ts
import tessera.keras as keras
from tessera.keras import config, utils

RNG = np.random.default_rng(0)


# -- array helpers vs Keras ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels, num_classes",
    [([0, 2, 1], None), ([[1], [0], [3]], 5), (np.arange(6).reshape(2, 3), None), (np.array([2.0, 0.0]), 3)],
)
def test_to_categorical_matches_keras(real_keras, labels, num_classes):
    want = real_keras.utils.to_categorical(np.asarray(labels), num_classes)
    got = utils.to_categorical(labels, num_classes)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    t = utils.to_categorical(ts.tensor(np.asarray(labels, dtype="int64")), num_classes)
    np.testing.assert_array_equal(t.numpy(), want)


@pytest.mark.parametrize("axis, order", [(-1, 2), (-2, 1), (1, 3)])  # (Keras turns axis=0 into -1)
def test_normalize_matches_keras(real_keras, axis, order):
    x = RNG.normal(size=(4, 5))
    x[1] = 0
    want = real_keras.utils.normalize(x, axis=axis, order=order)
    np.testing.assert_allclose(utils.normalize(x, axis=axis, order=order), want, rtol=1e-12)
    t = utils.normalize(ts.tensor(x), axis=axis, order=order)
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"maxlen": 2}, {"maxlen": 4, "padding": "post"}, {"maxlen": 2, "truncating": "post"},
     {"value": -1, "dtype": "float32"}, {"maxlen": 1, "padding": "post", "truncating": "post"}],
)  # fmt: skip
def test_pad_sequences_matches_keras(real_keras, kwargs):
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    want = real_keras.utils.pad_sequences(seqs, **kwargs)
    got = utils.pad_sequences(seqs, **kwargs)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_pad_sequences_multidim_and_strings(real_keras):
    seqs = [RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))]
    np.testing.assert_array_equal(
        utils.pad_sequences(seqs, dtype="float64"), real_keras.utils.pad_sequences(seqs, dtype="float64")
    )
    words = [["a", "b"], ["c"]]
    got = utils.pad_sequences(words, dtype=object, value="<pad>")
    assert got.tolist() == real_keras.utils.pad_sequences(words, dtype=object, value="<pad>").tolist()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: utils.to_categorical([0, 3], num_classes=2), r"to_categorical: labels must be in \[0, 2\)"),
        (lambda: utils.to_categorical([0.5]), "to_categorical: x must hold integer"),
        (
            lambda: utils.pad_sequences([[1]], padding="middle"),
            'pad_sequences: padding must be "pre" or "post"',
        ),
        (lambda: utils.pad_sequences([[1]], value="x"), "pad_sequences: dtype 'int32' is not compatible"),
        (lambda: utils.pad_sequences([[1, 2], [[3]]]), "pad_sequences: shape of sample"),
        (lambda: utils.normalize(np.ones(3), order=0), "normalize: order must be an int >= 1"),
    ],
)
def test_array_helper_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- datasets -----------------------------------------------------------------------------------------------
def _windows_reference(data, targets, length, stride, rate, start, end):
    end = len(data) if end is None else end
    n = end - start - (length - 1) * rate
    if targets is not None:
        n = min(n, len(targets))
    pos = np.arange(0, n, stride)
    x = np.stack([data[start + p : start + p + length * rate : rate] for p in pos])
    return x, (None if targets is None else targets[start + pos])


@pytest.mark.parametrize(
    "length, stride, rate, start, end, batch",
    [(3, 1, 1, None, None, 4), (4, 2, 2, 1, 18, 3), (5, 3, 1, 2, None, None), (2, 1, 3, None, 15, 128)],
)
def test_timeseries_dataset_windows(length, stride, rate, start, end, batch):
    data = RNG.normal(size=(20, 2))
    targets = np.arange(20) * 10
    ds = utils.timeseries_dataset_from_array(
        data, targets, length, sequence_stride=stride, sampling_rate=rate, batch_size=batch,
        start_index=start, end_index=end,
    )  # fmt: skip
    want_x, want_y = _windows_reference(data, targets, length, stride, rate, start or 0, end)
    if batch is None:
        got = [ds[i] for i in range(len(ds))]
        xs, ys = np.stack([g[0] for g in got]), np.array([g[1] for g in got])
    else:
        xs = np.concatenate([b[0] for b in ds])
        ys = np.concatenate([b[1] for b in ds])
        assert all(len(b[0]) <= batch for b in ds)
    np.testing.assert_array_equal(xs, want_x)
    np.testing.assert_array_equal(ys, want_y)


def test_timeseries_shuffle_is_a_fixed_permutation():
    data = np.arange(30)
    ds = utils.timeseries_dataset_from_array(data, None, 3, batch_size=5, shuffle=True, seed=3)
    first = np.concatenate(list(ds))
    assert sorted(first[:, 0].tolist()) == list(range(28))
    ds.on_epoch_end()
    np.testing.assert_array_equal(np.concatenate(list(ds)), first)
    with pytest.raises(
        ValueError, match="timeseries_dataset_from_array: sequence_length must be a positive int"
    ):
        utils.timeseries_dataset_from_array(data, None, 0)


def test_timeseries_dataset_trains_a_model():
    ts.manual_seed(0)
    data = RNG.normal(size=(64, 3)).astype("float32")
    ds = utils.timeseries_dataset_from_array(data, data[:, 0], 4, batch_size=16)
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    hist = model.fit(ds, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()


def test_split_dataset_sizes_and_contents():
    x, y = np.arange(10), np.arange(10) * 2
    left, right = utils.split_dataset((x, y), left_size=0.3, right_size=4)
    assert (len(left), len(right)) == (3, 4)
    assert [left[i] for i in range(3)] == [(0, 0), (1, 2), (2, 4)]
    assert right[0] == (3, 6)
    a, b = utils.split_dataset(x, right_size=0.2, shuffle=True, seed=1)
    assert len(a) == 8 and len(b) == 2
    assert sorted([a[i] for i in range(8)] + [b[i] for i in range(2)]) == list(range(10))
    d1, d2 = utils.split_dataset({"f": x}, left_size=5)
    assert d1[4] == {"f": 4} and d2[0] == {"f": 5}
    with pytest.raises(ValueError, match="split_dataset: left_size \\+ right_size"):
        utils.split_dataset(x, left_size=6, right_size=6)
    with pytest.raises(ValueError, match="different lengths"):
        utils.split_dataset((x, y[:3]))


class _Batches(utils.PyDataset):
    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n, self.epochs_ended, self.seen = n, 0, []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.seen.append(i)
        rng = np.random.default_rng(i)
        x = rng.normal(size=(8, 3)).astype("float32")
        return x, x.sum(axis=1, keepdims=True)

    def on_epoch_end(self):
        self.epochs_ended += 1


@pytest.mark.parametrize("workers", [1, 3])
def test_pydataset_in_fit_matches_arrays(workers):
    data = _Batches(4, workers=workers)
    xs = np.concatenate([data[i][0] for i in range(4)])
    ys = np.concatenate([data[i][1] for i in range(4)])

    def train(source, **kw):
        ts.manual_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.05), "mse")
        model.fit(source, epochs=2, verbose=0, **kw)
        return model.get_weights()

    fresh = _Batches(4, workers=workers)
    for w1, w2 in zip(train(fresh), train(xs, y=ys, batch_size=8, shuffle=False)):
        np.testing.assert_allclose(w1, w2, rtol=1e-6)
    assert fresh.epochs_ended == 2 and sorted(fresh.seen) == sorted(list(range(4)) * 2)
    assert utils.Sequence is utils.PyDataset
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="not supported when using a PyDataset"):
        m.fit(fresh, ys, verbose=0)


def _write_png(path, value, size=(6, 4)):
    from PIL import Image

    arr = np.full((size[1], size[0], 3), value, dtype="uint8")
    Image.fromarray(arr).save(path)


def test_image_dataset_from_directory(tmp_path):
    pytest.importorskip("PIL")
    for cls, value in (("cats", 10), ("dogs", 200)):
        os.makedirs(tmp_path / cls)
        for i in range(3):
            _write_png(tmp_path / cls / f"{i}.png", value + i)
    (tmp_path / "cats" / "notes.txt").write_text("ignored")
    ds = utils.image_dataset_from_directory(
        tmp_path, image_size=(4, 6), batch_size=4, shuffle=False, verbose=False
    )
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 2
    x, y = ds[0]
    assert x.shape == (4, 4, 6, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(y, [0, 0, 0, 1])
    np.testing.assert_array_equal(x[:, 0, 0, 0], [10, 11, 12, 200])
    train, val = utils.image_dataset_from_directory(
        tmp_path, image_size=(2, 2), batch_size=2, validation_split=0.34, subset="both", seed=1,
        label_mode="categorical", verbose=False,
    )  # fmt: skip
    assert sum(len(b[0]) for b in train) == 4 and sum(len(b[0]) for b in val) == 2
    assert train[0][1].shape[1] == 2 and set(train.file_paths).isdisjoint(val.file_paths)
    with pytest.raises(ValueError, match="image_dataset_from_directory: color_mode"):
        utils.image_dataset_from_directory(tmp_path, color_mode="cmyk")
    with pytest.raises(ValueError, match="you must provide a seed"):
        utils.image_dataset_from_directory(tmp_path, validation_split=0.2, subset="training")


def test_text_and_audio_datasets_from_directory(tmp_path):
    for cls in ("neg", "pos"):
        os.makedirs(tmp_path / "text" / cls)
        for i in range(2):
            (tmp_path / "text" / cls / f"{i}.txt").write_text(f"{cls} review number {i}")
    ds = utils.text_dataset_from_directory(tmp_path / "text", batch_size=8, shuffle=False, max_length=7,
                                           verbose=False)  # fmt: skip
    texts, labels = ds[0]
    assert texts.tolist() == ["neg rev", "neg rev", "pos rev", "pos rev"] and labels.tolist() == [0, 0, 1, 1]
    os.makedirs(tmp_path / "audio" / "a")
    clip = (np.sin(np.arange(50) / 3) * 20000).astype("<i2")
    for i, n in enumerate((50, 30)):
        with wave.open(str(tmp_path / "audio" / "a" / f"{i}.wav"), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
            w.writeframes(clip[:n].tobytes())
    audio, lab = utils.audio_dataset_from_directory(tmp_path / "audio", shuffle=False, verbose=False)[0]
    assert audio.shape == (2, 50, 1)
    np.testing.assert_allclose(audio[0, :, 0], clip / 32768.0, rtol=1e-6)
    assert np.all(audio[1, 30:] == 0) and lab.tolist() == [0, 0]


# -- files, images, plots -----------------------------------------------------------------------------------
def test_get_file_uses_the_cache_checks_hashes_and_extracts(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    os.makedirs(tmp_path / "datasets")
    data = b"0123456789"
    (tmp_path / "datasets" / "digits.bin").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    origin = "http://127.0.0.1:9/digits.bin"  # nothing listens there: a download would fail at once
    assert utils.get_file(origin=origin, file_hash=sha) == str(tmp_path / "datasets" / "digits.bin")
    assert utils.get_file("digits.bin", origin, md5_hash=hashlib.md5(data).hexdigest()).endswith("digits.bin")
    with pytest.raises(OSError, match="get_file: URL fetch failure.*place the file at"):
        utils.get_file("missing.npz", origin="http://127.0.0.1:9/missing.npz")
    # a tar archive in the cache is extracted next to it
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("inner/hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    (tmp_path / "datasets" / "pack.tar.gz").write_bytes(buf.getvalue())
    out = utils.get_file("pack.tar.gz", origin="http://127.0.0.1:9/pack.tar.gz", extract=True)
    assert out == str(tmp_path / "datasets" / "pack_extracted")
    assert open(os.path.join(out, "inner", "hello.txt")).read() == "hello"
    with pytest.raises(ValueError, match="paths are not accepted"):
        utils.get_file("a/b.txt", origin=origin)


def test_image_file_round_trip(tmp_path):
    pytest.importorskip("PIL")
    x = RNG.uniform(0, 255, size=(5, 7, 3)).astype("float32")
    utils.save_img(tmp_path / "a.png", x, scale=False)
    img = utils.load_img(tmp_path / "a.png")
    assert img.size == (7, 5)
    np.testing.assert_array_equal(utils.img_to_array(img), x.astype("uint8").astype("float32"))
    assert utils.img_to_array(img, data_format="channels_first").shape == (3, 5, 7)
    assert utils.load_img(tmp_path / "a.png", color_mode="grayscale", target_size=(2, 3)).size == (3, 2)
    scaled = utils.img_to_array(utils.array_to_img(np.linspace(0, 1, 12).reshape(2, 2, 3)))
    assert scaled.min() == 0 and scaled.max() == 255


def test_model_to_dot_and_plot_model(tmp_path):
    pydot = pytest.importorskip("pydot")
    inp = keras.Input((4,), name="features")
    a = keras.layers.Dense(3, name="left")(inp)
    b = keras.layers.Dense(3, name="right")(inp)
    model = keras.Model(inp, keras.layers.Add(name="sum")([a, b]))
    dot = utils.model_to_dot(model, show_shapes=True)
    assert isinstance(dot, pydot.Dot)
    labels = {n.get_name(): n.get("label") for n in dot.get_nodes()}
    names = {str(id(layer)): layer.name for layer in model.layers}
    edges = {(names[e.get_source()], names[e.get_destination()]) for e in dot.get_edges()}
    assert edges == {("features", "left"), ("features", "right"), ("left", "sum"), ("right", "sum")}
    assert any("Output shape: (None, 3)" in str(v) for v in labels.values())
    out = utils.plot_model(model, to_file=str(tmp_path / "m.dot"))
    assert "digraph" in open(out).read()


# -- seeds, registration, config ------------------------------------------------------------------------------
def test_set_random_seed_repeats_weights():
    def weights():
        utils.set_random_seed(7)
        return keras.layers.Dense(3)(ts.ones((1, 2))).detach().numpy(), np.random.rand()

    (a, r1), (b, r2) = weights(), weights()
    np.testing.assert_array_equal(a, b)
    assert r1 == r2
    with pytest.raises(ValueError, match="set_random_seed: expected `seed` argument to be an integer"):
        utils.set_random_seed(1.5)


def test_registered_layer_loads_without_custom_objects(tmp_path):
    @utils.register_keras_serializable(package="test_utils")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    assert utils.get_registered_name(Doubler) == "test_utils>Doubler"
    assert utils.get_registered_object("test_utils>Doubler") is Doubler
    model = keras.Sequential([keras.Input((2,)), Doubler(), keras.layers.Dense(1)])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(np.ones((1, 2)), verbose=0), model.predict(np.ones((1, 2)), verbose=0)
    )
    cfg = utils.serialize_keras_object(keras.layers.Dense(2, name="d"))
    assert cfg["module"] == "keras.layers" and cfg["class_name"] == "Dense"
    assert utils.deserialize_keras_object(cfg).units == 2

    class Scoped(keras.layers.Layer):
        pass

    cfg = {"class_name": "Scoped", "config": {"name": "s"}}
    with pytest.raises(ValueError, match="unknown layer class 'Scoped'"):
        keras.layers.deserialize(cfg)
    with utils.custom_object_scope({"Scoped": Scoped}):
        assert type(keras.layers.deserialize(cfg)) is Scoped


def test_small_helpers():
    x = keras.Input((3,))
    y = keras.layers.Dense(2)(keras.layers.Dense(4)(x))
    assert utils.get_source_inputs(y) == [x] and utils.is_keras_tensor(y) and not utils.is_keras_tensor(1)
    assert utils.pack_x_y_sample_weight(1) == 1 and utils.pack_x_y_sample_weight([1, 2]) == ([1, 2],)
    assert utils.unpack_x_y_sample_weight((1, 2, 3)) == (1, 2, 3)
    assert utils.standardize_dtype("float64") == "float64" and utils.standardize_dtype(None) == "float32"
    c = utils.Config(a=1)
    c.b = 2
    c["c"] = 3
    assert c.as_dict() == {"a": 1, "b": 2, "c": 3} and c.to_json() == '{"a": 1, "b": 2, "c": 3}'
    c.freeze()
    with pytest.raises(ValueError, match="frozen"):
        c.d = 4


def test_config_max_epochs_and_steps():
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(3)
    try:
        hist = model.fit(
            np.ones((100, 2)), np.ones((100, 1)), batch_size=10, epochs=5, verbose=0, callbacks=[cb]
        )
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    assert len(hist.history["loss"]) == 2 and seen == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="set_max_epochs: expected a positive int"):
        config.set_max_epochs(0)


def test_config_interactive_logging_and_dtype_policy(caplog, capsys):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    config.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="tessera.keras"):
            model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=2)
    finally:
        config.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    assert any("loss:" in r.getMessage() for r in caplog.records)
    config.set_dtype_policy("float64")
    try:
        assert keras.layers.Dense(2)(ts.ones((1, 3), dtype=ts.float64)).dtype == ts.float64
        assert config.dtype_policy().compute_dtype == "float64"
    finally:
        config.set_dtype_policy("float32")
    with pytest.raises(ValueError, match="mixed precision policy 'mixed_float16' is not supported"):
        config.set_dtype_policy("mixed_float16")
    assert not config.is_traceback_filtering_enabled() and config.is_flash_attention_enabled() is None


def test_enable_unsafe_deserialization_lets_lambda_bytecode_load():
    layer = keras.layers.Lambda(lambda x: x * 3.0)
    cfg = layer.get_config()
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.layers.Lambda.from_config(cfg)
    config.enable_unsafe_deserialization()
    try:
        again = keras.layers.Lambda.from_config(cfg)
    finally:
        config._STATE["unsafe_deserialization"] = False
    np.testing.assert_allclose(again(ts.ones(2)).numpy(), [3.0, 3.0])
