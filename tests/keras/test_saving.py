"""model.save / keras.models.load_model / save_weights / load_weights.

The format tests use a small stand-in model that follows the keras contract (get_config/from_config,
build, _compile_config/compile_from_config, optimizer.state_dict); the end-to-end tests with real
Sequential/functional models run once ``ts.keras`` layers and models are available.
"""

import os
import pickle
import zipfile

import numpy as np
import pytest

import tessera as ts
from tessera.keras import saving

nn = ts.nn


# -- a stand-in following the keras contract -------------------------------------------------------------------
class StandIn(nn.Module):
    def __init__(self, units=(8, 3), name="stand_in"):
        super().__init__()
        self.units = list(units)
        self.name = name
        self.built = False
        self._build_input_shape = None
        self._compile_config = None
        self.optimizer = None

    def build(self, input_shape):
        d = input_shape[-1]
        layers = []
        for u in self.units:
            layers += [nn.Linear(d, u), nn.Tanh()]
            d = u
        self.body = nn.Sequential(*layers[:-1])
        self.register_buffer("calls", ts.zeros((), dtype=ts.int64))
        self._build_input_shape = tuple(input_shape)
        self.built = True

    def forward(self, x):
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
        return self.body(x)

    def get_config(self):
        return {"units": self.units, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compile(self, lr=0.01):
        self._compile_config = {
            "optimizer": {"class_name": "Adam", "config": {"learning_rate": lr}},
            "loss": "mse",
        }
        self.optimizer = ts.optim.Adam(self.parameters(), lr=lr)

    def compile_from_config(self, config):
        self.compile(config["optimizer"]["config"]["learning_rate"])

    def train_steps(self, x, y, n):
        for _ in range(n):
            self.optimizer.zero_grad()
            ((self(x) - y) ** 2).mean().backward()
            self.optimizer.step()


def _from_config(d, custom_objects=None):
    classes = {"StandIn": StandIn, **(custom_objects or {})}
    if d["class_name"] not in classes:
        raise ValueError(f"Unknown model class {d['class_name']!r}")
    return classes[d["class_name"]].from_config(d["config"])


@pytest.fixture
def stand_in(monkeypatch):
    from tessera.keras import models

    monkeypatch.setattr(models, "model_from_config", _from_config, raising=False)
    ts.manual_seed(0)
    model = StandIn()
    model(ts.randn(4, 5))
    return model


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return ts.tensor(rng.standard_normal((16, 5)).astype(np.float32)), ts.tensor(
        rng.standard_normal((16, 3)).astype(np.float32)
    )


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype is sb[k].dtype and sa[k].numpy().tobytes() == sb[k].numpy().tobytes(), k


def test_round_trip_weights_and_predictions(tmp_path, stand_in):
    path = tmp_path / "model.keras"
    saving.save_model(stand_in, path)
    with zipfile.ZipFile(path) as z:
        assert set(z.namelist()) == {"config.json", "model.safetensors", "metadata.json"}
    back = saving.load_model(path)
    assert isinstance(back, StandIn) and back.built
    _assert_same_state(stand_in, back)
    x, _ = _data()
    assert back(x).detach().numpy().tobytes() == stand_in(x).detach().numpy().tobytes()


def test_archive_contents(tmp_path, stand_in):
    import json

    from safetensors.numpy import load

    stand_in.compile(lr=0.05)
    saving.save_model(stand_in, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        cfg = json.loads(z.read("config.json"))
        assert cfg["class_name"] == "StandIn" and cfg["config"] == {"units": [8, 3], "name": "stand_in"}
        assert cfg["build_input_shape"] == [None, 5]
        assert json.loads(z.read("compile.json"))["optimizer"]["config"]["learning_rate"] == 0.05
        weights = load(z.read("model.safetensors"))
        assert sorted(weights) == sorted(stand_in.state_dict())
        assert "optimizer.safetensors" in z.namelist()
        assert json.loads(z.read("metadata.json"))["format"] == "tessera.keras"


def test_optimizer_state_resumes_training(tmp_path, stand_in):
    x, y = _data()
    stand_in.compile(lr=0.01)
    stand_in.train_steps(x, y, 3)
    saving.save_model(stand_in, tmp_path / "m.keras")
    back = saving.load_model(tmp_path / "m.keras")
    assert back._compile_config == stand_in._compile_config
    assert (
        back.optimizer.state_dict()["state"][0]["step"] == stand_in.optimizer.state_dict()["state"][0]["step"]
    )
    stand_in.train_steps(x, y, 2)
    back.train_steps(x, y, 2)
    _assert_same_state(stand_in, back)  # same Adam moments and step counts -> identical updates


class KerasOptStandIn(StandIn):
    """The stand-in compiled with a real ``ts.keras.optimizers`` optimizer (built lazily on the first step)."""

    def compile(self, optimizer="adam"):
        from tessera.keras import optimizers

        self.optimizer = optimizers.get(optimizer)
        self._compile_config = {"optimizer": optimizers.serialize(self.optimizer), "loss": "mse"}

    def compile_from_config(self, config):
        from tessera.keras import optimizers

        self.compile(optimizers.deserialize(config["optimizer"]))

    def train_steps(self, x, y, n):
        if not self.optimizer.built:
            self.optimizer.build(list(self.parameters()))
        for _ in range(n):
            self.optimizer.zero_grad()
            ((self(x) - y) ** 2).mean().backward()
            self.optimizer.step()


def _keras_optimizers_ready():
    from tessera.keras import optimizers

    return all(hasattr(optimizers, n) for n in ("get", "serialize", "deserialize", "Adam"))


@pytest.mark.skipif(not _keras_optimizers_ready(), reason="ts.keras.optimizers not implemented yet")
@pytest.mark.parametrize("opt", ["adam", "rmsprop", "sgd"])
def test_keras_optimizer_state_resumes(tmp_path, stand_in, opt):
    from tessera.keras import optimizers

    ts.manual_seed(0)
    model = KerasOptStandIn()
    model(ts.ones(1, 5))
    if opt == "sgd":
        opt = optimizers.SGD(learning_rate=0.05, momentum=0.9)
    model.compile(opt)
    x, y = _data()
    model.train_steps(x, y, 3)
    saving.save_model(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert {"compile.json", "optimizer.json", "optimizer.safetensors"} <= set(z.namelist())
    back = saving.load_model(tmp_path / "m.keras", custom_objects={"KerasOptStandIn": KerasOptStandIn})
    assert type(back.optimizer) is type(model.optimizer)
    assert back.optimizer.get_config() == model.optimizer.get_config()
    assert back.optimizer.iterations == model.optimizer.iterations == 3
    model.train_steps(x, y, 2)
    back.train_steps(x, y, 2)
    _assert_same_state(model, back)


def test_load_without_compile(tmp_path, stand_in):
    stand_in.compile()
    saving.save_model(stand_in, tmp_path / "m.keras")
    back = saving.load_model(tmp_path / "m.keras", compile=False)
    assert back.optimizer is None and back._compile_config is None
    _assert_same_state(stand_in, back)


def test_custom_objects(tmp_path, monkeypatch, stand_in):
    class Custom(StandIn):
        pass

    ts.manual_seed(1)
    model = Custom(units=(2,))
    model(ts.ones(1, 4))
    saving.save_model(model, tmp_path / "c.keras")
    with pytest.raises(ValueError, match="Unknown model class 'Custom'"):
        saving.load_model(tmp_path / "c.keras")
    back = saving.load_model(tmp_path / "c.keras", custom_objects={"Custom": Custom})
    assert type(back) is Custom
    _assert_same_state(model, back)


def test_unbuilt_model_rejected(tmp_path):
    with pytest.raises(ValueError, match="has not been built"):
        saving.save_model(StandIn(), tmp_path / "m.keras")
    with pytest.raises(ValueError, match="has not been built"):
        saving.save_weights(StandIn(), tmp_path / "w.safetensors")
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="expected a Keras model"):
        saving.save_model(object(), tmp_path / "m.keras")


def test_overwrite_flag(tmp_path, stand_in):
    path = tmp_path / "m.keras"
    saving.save_model(stand_in, path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_model(stand_in, path, overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_weights(stand_in, path, overwrite=False)


def test_atomic_model_save(tmp_path, monkeypatch, stand_in):
    path = tmp_path / "m.keras"
    saving.save_model(stand_in, path)
    before = path.read_bytes()
    with ts.no_grad():
        stand_in.body[0].weight.add_(1.0)
    real_writestr = zipfile.ZipFile.writestr
    calls = []

    def crash(self, name, data, *a, **k):
        calls.append(name)
        if name == "model.safetensors":
            raise KeyboardInterrupt("simulated crash while writing the weights")
        return real_writestr(self, name, data, *a, **k)

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(zipfile.ZipFile, "writestr", crash)
        saving.save_model(stand_in, path)
    assert "config.json" in calls  # the crash happened part-way through the archive
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]
    back = saving.load_model(path)  # the previous checkpoint still loads, with the old weights
    np.testing.assert_array_equal(
        back.body[0].weight.detach().numpy() + 1.0, stand_in.body[0].weight.detach().numpy()
    )


def test_atomic_weights_save(tmp_path, monkeypatch, stand_in):
    path = tmp_path / "w.safetensors"
    saving.save_weights(stand_in, path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        saving.save_weights(stand_in, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["w.safetensors"]


def test_save_load_weights(tmp_path, stand_in):
    path = tmp_path / "w.safetensors"
    saving.save_weights(stand_in, path)
    ts.manual_seed(5)
    other = StandIn()
    other(ts.ones(1, 5))
    saving.load_weights(other, path)
    _assert_same_state(stand_in, other)
    # the weights file is a plain safetensors state_dict, readable by ts.load
    assert sorted(ts.load(path)) == sorted(stand_in.state_dict())
    # a .keras model file also works as a weights source
    saving.save_model(stand_in, tmp_path / "m.keras")
    third = StandIn()
    third(ts.ones(1, 5))
    saving.load_weights(third, tmp_path / "m.keras")
    _assert_same_state(stand_in, third)


def test_load_weights_mismatch(tmp_path, stand_in):
    path = tmp_path / "w.safetensors"
    saving.save_weights(stand_in, path)
    small = StandIn(units=(8, 2))
    small(ts.ones(1, 5))
    before = {k: v.numpy().copy() for k, v in small.state_dict().items()}
    with pytest.raises(ValueError, match="(?s)does not match the model.*size mismatch"):
        saving.load_weights(small, path)
    for k, v in small.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(v.numpy(), before[k])
    saving.load_weights(small, path, skip_mismatch=True)
    np.testing.assert_array_equal(
        small.body[0].weight.detach().numpy(), stand_in.body[0].weight.detach().numpy()
    )
    np.testing.assert_array_equal(small.body[2].weight.detach().numpy(), before["body.2.weight"])


# -- refusing pickles and corrupt files -----------------------------------------------------------------------
class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_model_file_refused(tmp_path, stand_in):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps(_Evil(str(marker)), protocol=4))
    with pytest.raises(ValueError, match="is a pickle file; Tessera never unpickles"):
        saving.load_model(path)
    with pytest.raises(ValueError, match="is a pickle file"):
        saving.load_weights(stand_in, path)
    # a zip archive carrying a pickle (PyTorch's format) is refused too
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ValueError, match="is a pickle file"):
        saving.load_model(path)
    assert not marker.exists()


def test_corrupt_model_files(tmp_path, stand_in):
    good = tmp_path / "good.keras"
    saving.save_model(stand_in, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.keras"
    for content in [b"", b"garbage" * 10, data[: len(data) // 2], data[:-30]]:
        bad.write_bytes(content)
        with pytest.raises(ValueError, match="bad.keras"):
            saving.load_model(bad)

    def rewrite(**replace):
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
            for n in src.namelist():
                if n in replace:
                    if replace[n] is not None:
                        dst.writestr(n, replace[n])
                else:
                    dst.writestr(n, src.read(n))

    rewrite(**{"config.json": None})
    with pytest.raises(ValueError, match="lacks config.json"):
        saving.load_model(bad)
    rewrite(**{"config.json": b"{not json"})
    with pytest.raises(ValueError, match="corrupt config.json"):
        saving.load_model(bad)
    rewrite(**{"config.json": b"[1, 2]"})
    with pytest.raises(ValueError, match="corrupt config.json"):
        saving.load_model(bad)
    rewrite(**{"model.safetensors": b"\x10\x00\x00\x00\x00\x00\x00\x00{}"})
    with pytest.raises(ValueError, match=r"model.safetensors.*not a valid safetensors"):
        saving.load_model(bad)
    from safetensors.numpy import save

    rewrite(**{"model.safetensors": save({"body.0.weight": np.zeros((2, 2), np.float32)})})
    with pytest.raises(ValueError, match="do not fit the rebuilt architecture"):
        saving.load_model(bad)


def test_weights_file_given_to_load_model(tmp_path, stand_in):
    saving.save_weights(stand_in, tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="weights file, not a saved model.*load_weights"):
        saving.load_model(tmp_path / "w.safetensors")


# -- real Keras models (run once ts.keras layers and models exist) -----------------------------------------
def _keras_ready():
    from tessera.keras import layers, models

    return (
        hasattr(layers, "Dense")
        and hasattr(models, "model_from_config")
        and hasattr(models.Sequential, "get_config")
        and isinstance(models.Sequential, type)
        and issubclass(models.Sequential, nn.Module)
    )


needs_keras = pytest.mark.skipif(not _keras_ready(), reason="ts.keras layers/models not implemented yet")


def _xy(n=64, d=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, :1] * 2 - x[:, 1:2]).astype(np.float32)
    return x, y


@needs_keras
def test_sequential_save_load(tmp_path):
    from tessera import keras

    ts.manual_seed(0)
    model = keras.Sequential(
        [keras.layers.Dense(20, input_shape=(10,)), keras.layers.ReLU(), keras.layers.Dense(1)]
    )
    x, y = _xy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "seq.keras"
    model.save(path)
    back = keras.models.load_model(path)
    assert type(back) is type(model)
    _assert_same_state(model, back)
    np.testing.assert_array_equal(
        np.asarray(back.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0))
    )
    for a, b in zip(model.get_weights(), back.get_weights()):
        assert a.tobytes() == b.tobytes()
    # fit resumes from the saved optimizer state: the two models stay bit-identical
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    back.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    _assert_same_state(model, back)


@needs_keras
def test_sequential_reloads_without_python_file(tmp_path):
    import subprocess
    import sys

    from tessera import keras

    ts.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    ref = np.asarray(model.predict(x, verbose=0))
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    code = (
        "import numpy as np, tessera as ts\n"
        f"m = ts.keras.models.load_model({str(tmp_path / 'm.keras')!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, np.asarray(m.predict(x, verbose=0)))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), ref)


@needs_keras
def test_functional_save_load(tmp_path):
    from tessera import keras

    ts.manual_seed(0)
    a = keras.Input(shape=(6,))
    b = keras.Input(shape=(4,))
    h = keras.layers.Concatenate()([keras.layers.Dense(8, activation="relu")(a), b])
    out1 = keras.layers.Dense(3)(h)
    out2 = keras.layers.Dense(1)(h)
    model = keras.Model([a, b], [out1, out2])
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((5, 6)).astype(np.float32)
    xb = rng.standard_normal((5, 4)).astype(np.float32)
    model.save(tmp_path / "f.keras")
    back = keras.models.load_model(tmp_path / "f.keras")
    _assert_same_state(model, back)
    for p, q in zip(model.predict([xa, xb], verbose=0), back.predict([xa, xb], verbose=0)):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))
