"""BackupAndRestore (a crashed fit resumes to the same result as an uninterrupted one) and SwapEMAWeights
(evaluate/predict see the optimizer's moving average)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tessera as ts
from tessera import keras

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0], [2.0]], dtype="float32")).astype("float32")


def _model(opt=None):
    ts.manual_seed(0)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(opt or keras.optimizers.Adam(0.05), "mse")
    return model


class _Crash(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("simulated crash")


@pytest.mark.parametrize("save_freq", ["epoch", 3])
def test_backup_and_restore_resumes_exactly(tmp_path, save_freq):
    reference = _model()
    reference.fit(X, Y, epochs=5, batch_size=8, shuffle=False, verbose=0)

    backup = tmp_path / "backup"
    model = _model()
    with pytest.raises(RuntimeError, match="simulated crash"):
        model.fit(X, Y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=save_freq), _Crash(3)])  # fmt: skip
    assert os.path.exists(backup / "training_metadata.json")
    seen = []
    resumed = _model()  # a fresh process would start from new weights
    hist = resumed.fit(
        X, Y, epochs=5, batch_size=8, shuffle=False, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=save_freq),
                   keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))],
    )  # fmt: skip
    if save_freq == "epoch":
        assert seen == [3, 4] and len(hist.history["loss"]) == 2
        for a, b in zip(resumed.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    else:  # the last backup was taken inside epoch 2 (as Keras, that epoch runs again from there)
        assert seen == [2, 3, 4]
    assert not os.path.exists(backup)  # delete_checkpoint


def test_backup_falls_back_to_the_previous_checkpoint(tmp_path):
    backup = tmp_path / "b"
    model = _model()
    cb = keras.callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    with open(backup / "latest.weights.safetensors", "wb") as f:
        f.write(b"torn")
    again = _model()
    seen = []
    again.fit(X, Y, epochs=3, batch_size=8, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(backup, double_checkpoint=True),
        keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])  # fmt: skip
    assert seen == [1, 2]  # the previous backup was taken after epoch 1
    with pytest.raises(ValueError, match="empty `backup_dir`"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore(backup, save_freq="batch")


def test_swap_ema_weights_evaluates_with_the_average():
    model = _model(keras.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.9))
    for i in range(0, 40, 8):  # train_on_batch: fit would write the averages into the weights at its end
        model.train_on_batch(X[i : i + 8], Y[i : i + 8])
    opt = model.optimizer
    raw = [w.detach().numpy().copy() for w in opt._params]
    ema = [a.detach().numpy().copy() for a in opt._model_variables_moving_average]
    assert not all(np.allclose(a, b) for a, b in zip(raw, ema))
    plain = model.evaluate(X, Y, verbose=0)
    swapped = model.evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    # the EMA weights, set by hand, give the swapped figure
    for w, a in zip(opt._params, ema):
        with ts.no_grad():
            w.copy_(ts.tensor(a))
    assert swapped == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-6) and swapped != plain
    for w, r in zip(opt._params, raw):
        with ts.no_grad():
            w.copy_(ts.tensor(r))
    pred = model.predict(X, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    assert pred.shape == (40, 1)
    np.testing.assert_array_equal(opt._params[0].detach().numpy(), raw[0])  # swapped back
    with pytest.raises(ValueError, match="use_ema=True"):
        _model().evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])


def test_remote_monitor_posts_epoch_logs_to_a_loopback_server():
    import http.server
    import json
    import threading
    import urllib.parse

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_port}"
        model = _model()
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[keras.callbacks.RemoteMonitor(root=root)])
        model.fit(X, Y, epochs=1, verbose=0,
                  callbacks=[keras.callbacks.RemoteMonitor(root=root, path="/json", send_as_json=True)])  # fmt: skip
    finally:
        server.shutdown()
    assert len(received) == 3
    path, ctype, body = received[0]
    assert path == "/publish/epoch/end/" and ctype == "application/x-www-form-urlencoded"
    sent = json.loads(urllib.parse.parse_qs(body.decode())["data"][0])
    assert sent["epoch"] == 0 and sent["loss"] > 0
    assert received[2][0] == "/json" and json.loads(received[2][2])["epoch"] == 0
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        _model().fit(
            X, Y, epochs=1, verbose=0, callbacks=[keras.callbacks.RemoteMonitor(root="http://127.0.0.1:9")]
        )
