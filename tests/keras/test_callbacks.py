"""ts.keras callbacks: each callback's effect on a training run."""

import csv
import math
import os

import numpy as np
import pytest

import tessera as ts
from tessera.keras import callbacks as C
from tessera.keras import losses as L
from tessera.keras.training import Trainer


class Net(Trainer, ts.nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.net = ts.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def make(lr=0.05, optimizer=None):
    ts.manual_seed(0)
    model = Net(ts.nn.Linear(4, 8), ts.nn.ReLU(), ts.nn.Linear(8, 3))
    model.compile(
        optimizer=optimizer or ts.keras.optimizers.SGD(learning_rate=lr),
        loss=L.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


g = np.random.default_rng(0)
X = g.normal(size=(40, 4))
Y = g.integers(0, 3, 40)


class Inject(C.Callback):
    """Overrides a logged value per epoch (placed before the callback under test)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Snapshots(C.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append({k: v.numpy().copy() for k, v in self.model.state_dict().items()})


def test_early_stopping_stops_and_restores_best():
    values = [1.0, 0.5, 0.6, 0.7, 0.4, 0.3, 0.2]
    snaps = Snapshots()
    es = C.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model = make()
    hist = model.fit(
        X, Y, epochs=7, batch_size=10, verbose=0, callbacks=[Inject("val_loss", values), snaps, es]
    )
    # best at epoch 1; epochs 2 and 3 do not improve: stop after epoch 3
    assert hist.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best_epoch == 1 and es.best == 0.5
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snaps.weights[1][k])
    # without restore: the last epoch's weights stay
    model = make()
    snaps = Snapshots()
    model.fit(
        X, Y, epochs=7, verbose=0, callbacks=[Inject("val_loss", values), snaps, C.EarlyStopping(patience=2)]
    )
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snaps.weights[-1][k])


def test_early_stopping_options():
    def run(values, **kw):
        model = make()
        es = C.EarlyStopping(monitor="m", **kw)
        return model.fit(X, Y, epochs=len(values), verbose=0, callbacks=[Inject("m", values), es]).epoch

    assert run([1.0, 0.99, 0.98, 0.97], min_delta=0.05, patience=1) == [0, 1]  # improvements < min_delta
    assert run([0.1, 0.2, 0.3, 0.2, 0.1], mode="max", patience=1) == [0, 1, 2, 3]
    assert run([0.5, 0.9, 0.9, 0.9, 0.9], mode="max", patience=0, start_from_epoch=2) == [0, 1, 2, 3]
    # improvements that never beat the baseline do not reset the patience counter
    assert run([0.5, 0.4, 0.45, 0.45, 0.45], baseline=0.1, patience=2) == [0, 1, 2]
    assert run([0.5, 0.4, 0.45, 0.45, 0.45], patience=2) == [0, 1, 2, 3]
    assert C.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert C.EarlyStopping(monitor="val_loss").mode == "min"
    with pytest.warns(RuntimeWarning, match="not available"):
        make().fit(X, Y, epochs=1, verbose=0, callbacks=[C.EarlyStopping(monitor="nope")])


def test_model_checkpoint_save_best_only(tmp_path):
    saved = []
    model = make()
    model.save = lambda path: saved.append(("save", path))
    model.save_weights = lambda path: saved.append(("weights", path))
    path = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.2f}.keras")
    cb = C.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    model.fit(X, Y, epochs=5, verbose=0, callbacks=[Inject("val_loss", [1.0, 0.5, 0.7, 0.3, 0.3]), cb])
    names = [os.path.basename(p) for _, p in saved]
    assert names == ["m-01-1.00.keras", "m-02-0.50.keras", "m-04-0.30.keras"]
    assert all(kind == "save" for kind, _ in saved)
    assert (tmp_path / "ckpt").is_dir()  # the directory is created
    # every epoch, weights only; mode max
    saved.clear()
    cb = C.ModelCheckpoint(str(tmp_path / "w{epoch}.weights"), save_weights_only=True)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[cb])
    assert saved == [("weights", str(tmp_path / "w1.weights")), ("weights", str(tmp_path / "w2.weights"))]
    saved.clear()
    cb = C.ModelCheckpoint(str(tmp_path / "a{epoch}"), monitor="acc", mode="max", save_best_only=True)
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[Inject("acc", [0.5, 0.4, 0.6]), cb])
    assert [os.path.basename(p) for _, p in saved] == ["a1", "a3"]
    # every 3 batches
    saved.clear()
    cb = C.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}"), save_freq=3)
    model.fit(X, Y, epochs=2, batch_size=10, verbose=0, callbacks=[cb])
    assert [os.path.basename(p) for _, p in saved] == ["b1-3", "b2-2"]


def test_model_checkpoint_with_real_save_if_available(tmp_path):
    try:
        model = ts.keras.Sequential([ts.keras.layers.Dense(3, input_shape=(4,))])
        model.compile("sgd", L.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(
            X,
            Y,
            epochs=1,
            verbose=0,
            callbacks=[
                C.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="loss", save_best_only=True)
            ],
        )
        loaded = ts.keras.models.load_model(str(tmp_path / "m1.keras"))
    except NotImplementedError as e:  # pragma: no cover - saving is written in parallel
        pytest.skip(f"model saving not available yet: {e}")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_reduce_lr_on_plateau():
    model = make(lr=0.1)
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    cb = C.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.03)
    hist = model.fit(X, Y, epochs=7, verbose=0, callbacks=[Inject("val_loss", values), cb])
    # logged lr is the one used during the epoch; reductions after epochs 2, 4, (6 -> clamped at min_lr)
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03])
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    assert model.optimizer.optimizer.param_groups[0]["lr"] == pytest.approx(0.03)
    # cooldown: after a reduction, wait `cooldown` epochs before counting again
    model = make(lr=0.1)
    cb = C.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=2)
    hist = model.fit(X, Y, epochs=6, verbose=0, callbacks=[Inject("val_loss", values), cb])
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    with pytest.raises(ValueError, match="factor"):
        C.ReduceLROnPlateau(factor=1.5)


def test_learning_rate_scheduler():
    seen = []

    def record(batch, logs):
        if batch == 0:  # the ts.optim optimizer is built during the first step
            seen.append(model.optimizer.optimizer.param_groups[0]["lr"])

    rec = C.LambdaCallback(on_train_batch_end=record)
    model = make(lr=0.1)
    sched = C.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    hist = model.fit(X, Y, epochs=4, verbose=0, callbacks=[sched, rec])
    assert seen == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    seen.clear()
    model = make(lr=0.1)
    model.fit(
        X, Y, epochs=3, verbose=0, callbacks=[C.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1)), rec]
    )
    assert seen == pytest.approx([0.01, 0.02, 0.03])


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    model = make()
    hist = model.fit(X, Y, epochs=3, verbose=0, validation_split=0.25, callbacks=[C.CSVLogger(str(path))])
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    for i, row in enumerate(rows[1:]):
        assert float(row[2]) == pytest.approx(hist.history["loss"][i])
        assert float(row[4]) == pytest.approx(hist.history["val_loss"][i])
    # append: no second header; separator
    model.fit(
        X, Y, epochs=1, verbose=0, validation_split=0.25, callbacks=[C.CSVLogger(str(path), append=True)]
    )
    with open(path) as f:
        assert len(list(csv.reader(f))) == 5
    p2 = tmp_path / "semi.csv"
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[C.CSVLogger(str(p2), separator=";")])
    assert p2.read_text().splitlines()[0] == "epoch;accuracy;loss"


def test_terminate_on_nan(capsys):
    x = X.copy()
    x[25] = np.nan  # in the third batch of 10
    batches = []
    model = make()
    cb = C.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    hist = model.fit(
        x, Y, epochs=3, batch_size=10, shuffle=False, verbose=0, callbacks=[C.TerminateOnNaN(), cb]
    )
    assert batches == [0, 1, 2] and len(hist.epoch) == 1
    assert math.isnan(hist.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_lambda_callback_and_hook_order():
    calls = []

    class Order(C.Callback):
        pass

    order = Order()
    for hook in C._HOOKS:
        if hook.endswith(("batch_begin", "batch_end")) or hook.startswith("on_epoch"):
            setattr(order, hook, (lambda h: lambda i, logs=None: calls.append((h, i)))(hook))
        else:
            setattr(order, hook, (lambda h: lambda logs=None: calls.append((h,)))(hook))
    model = make()
    model.fit(
        X[:20],
        Y[:20],
        epochs=2,
        batch_size=10,
        verbose=0,
        validation_data=(X[:10], Y[:10]),
        callbacks=[order],
    )
    epoch = lambda e: [  # noqa: E731
        ("on_epoch_begin", e),
        ("on_train_batch_begin", 0),
        ("on_train_batch_end", 0),
        ("on_train_batch_begin", 1),
        ("on_train_batch_end", 1),
        ("on_test_begin",),
        ("on_test_batch_begin", 0),
        ("on_test_batch_end", 0),
        ("on_test_end",),
        ("on_epoch_end", e),
    ]
    assert calls == [("on_train_begin",)] + epoch(0) + epoch(1) + [("on_train_end",)]
    calls.clear()
    model.evaluate(X[:10], Y[:10], verbose=0, callbacks=[order])
    model.predict(X[:10], verbose=0, callbacks=[order])
    assert calls == [
        ("on_test_begin",),
        ("on_test_batch_begin", 0),
        ("on_test_batch_end", 0),
        ("on_test_end",),
        ("on_predict_begin",),
        ("on_predict_batch_begin", 0),
        ("on_predict_batch_end", 0),
        ("on_predict_end",),
    ]
    # LambdaCallback with logs, old on_batch_end name, and params/model set
    seen = {}
    cb = C.LambdaCallback(
        on_train_begin=lambda logs: seen.setdefault("begin", True),
        on_epoch_end=lambda epoch, logs: seen.setdefault("epochs", []).append((epoch, sorted(logs))),
        on_batch_end=lambda batch, logs: seen.setdefault("batches", []).append(batch),
    )
    model.fit(X[:20], Y[:20], epochs=2, batch_size=10, verbose=0, callbacks=[cb])
    assert seen["begin"] and seen["batches"] == [0, 1, 0, 1]
    assert seen["epochs"] == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"])]
    assert cb.model is model and cb.params["epochs"] == 2 and cb.params["steps"] == 2


def test_stop_training_from_a_callback():
    class Stop(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    hist = make().fit(X, Y, epochs=5, batch_size=10, verbose=0, callbacks=[Stop()])
    assert hist.epoch == [0]


class FakeWriter:
    instances = []

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.scalars, self.histograms, self.graphs = [], [], []
        self.closed = False
        FakeWriter.instances.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_histogram(self, tag, values, step):
        self.histograms.append((tag, np.asarray(values).shape, step))

    def add_graph(self, model, example):
        self.graphs.append(tuple(example.shape))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_tensorboard_callback_calls(tmp_path, monkeypatch):
    FakeWriter.instances = []
    monkeypatch.setattr(C.TensorBoard, "writer_class", FakeWriter)
    model = make()
    tb = C.TensorBoard(log_dir=str(tmp_path), histogram_freq=1, update_freq=2)
    hist = model.fit(X, Y, epochs=2, batch_size=10, verbose=0, validation_split=0.25, callbacks=[tb])
    writers = {os.path.basename(w.log_dir): w for w in FakeWriter.instances}
    assert set(writers) == {"train", "validation"} and all(w.closed for w in writers.values())
    train, val = writers["train"], writers["validation"]
    epoch_tags = [(t, s) for t, _, s in train.scalars if t.startswith("epoch_")]
    assert ("epoch_loss", 0) in epoch_tags and ("epoch_accuracy", 1) in epoch_tags
    assert ("epoch_learning_rate", 0) in epoch_tags
    losses = [v for t, v, s in train.scalars if t == "epoch_loss"]
    assert losses == pytest.approx(hist.history["loss"])
    assert [v for t, v, s in val.scalars if t == "epoch_loss"] == pytest.approx(hist.history["val_loss"])
    batch_steps = [s for t, _, s in train.scalars if t == "batch_loss"]
    assert batch_steps == [2, 4, 6]  # 3 batches per epoch, every 2 batches
    assert {t for t, _, _ in train.histograms} == {"net/0/weight", "net/0/bias", "net/2/weight", "net/2/bias"}
    assert train.graphs == [(10, 4)]


def test_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:  # pragma: no cover
        pytest.skip("tensorboard event reader unavailable")
    model = make()
    hist = model.fit(
        X,
        Y,
        epochs=3,
        verbose=0,
        validation_split=0.25,
        callbacks=[C.TensorBoard(log_dir=str(tmp_path), write_graph=False)],
    )
    acc = EventAccumulator(str(tmp_path / "train"))
    acc.Reload()
    tags = acc.Tags()
    scalars = tags.get("scalars", [])
    if "epoch_loss" in scalars:
        got = [e.value for e in acc.Scalars("epoch_loss")]
    else:  # written as tensor summaries
        from tensorboard.util import tensor_util

        got = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors("epoch_loss")]
    assert got == pytest.approx(hist.history["loss"], rel=1e-6)
    assert os.listdir(tmp_path / "validation")
