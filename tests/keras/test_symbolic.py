"""Keras and the one dispatch point: symbolic shape inference runs no op (meta tensors through
``infer_meta``), and a ``fit`` step changes weights, optimizer state and metric state only inside ops."""

import numpy as np
import pytest
from strict_trace import StrictTracer, raw

import tessera as ts
from tessera import keras
from tessera.core.dispatch import intercept
from tessera.keras import layers as kl
from tessera.keras.layers import base as kbase


class _Recorder:
    """An outer interceptor: records the ops that reach real execution and whether a build was running."""

    def __init__(self):
        self.calls = []

    def __call__(self, call):
        self.calls.append((call.op.name, kbase._BUILDING[0] > 0))
        return call.proceed()

    def outside_builds(self):
        return [name for name, building in self.calls if not building]


def _all_tensors(model):
    return list(model.parameters()) + list(model.buffers())


def _functional():
    inp = keras.Input(shape=(None, 6))
    h = kl.LSTM(5, return_sequences=True)(inp)
    a = kl.MultiHeadAttention(num_heads=2, key_dim=3)(h, h)
    x = kl.Concatenate()([h, a])
    x = kl.LayerNormalization()(x)
    x = kl.GlobalAveragePooling1D()(x)
    out = kl.Dense(4, activation="softmax")(kl.Dropout(0.5)(x))
    return keras.Model(inp, out), inp, h, a, out


def test_symbolic_build_runs_no_op_yet_infers_shapes():
    rec = _Recorder()
    with intercept(rec):
        model, inp, h, a, out = _functional()
        seq = keras.Sequential(
            [
                kl.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
                kl.BatchNormalization(),
                kl.MaxPooling2D(),
                kl.Flatten(),
                kl.Dense(3),
            ]
        )
    # Only weight initializers ran (inside builds); no layer computation reached eager execution.
    assert rec.calls and rec.outside_builds() == []
    assert h.shape == (None, None, 5) and a.shape == (None, None, 5) and out.shape == (None, 4)
    assert [ly.output_shape for ly in seq.layers] == [
        (None, 8, 8, 4),
        (None, 8, 8, 4),
        (None, 4, 4, 4),
        (None, 64),
        (None, 3),
    ]
    assert seq.count_params() == 40 + 16 + 195
    # Weights got real initial values, and no meta placeholder ended up in any layer's state.
    for m in (model, seq):
        ts_ = _all_tensors(m)
        assert ts_ and not any(kbase._is_meta(t) for t in ts_)
    kernel = raw(seq.layers[0].kernel)
    assert np.abs(kernel).sum() > 0 and np.unique(kernel).size == kernel.size
    bn = seq.layers[1]
    assert np.all(raw(bn.moving_mean) == 0) and np.all(raw(bn.moving_variance) == 1)
    # The models compute as before on real data.
    y = model(ts.randn(2, 7, 6))
    assert tuple(y.shape) == (2, 4)
    np.testing.assert_allclose(y.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    assert tuple(seq(ts.randn(5, 8, 8, 1)).shape) == (5, 3)


def test_symbolic_call_of_built_layers_sees_no_op_at_all():
    dense, conv = kl.Dense(7), kl.Conv1D(3, 2)
    dense(ts.zeros(1, 5))
    conv(ts.zeros(1, 9, 2))
    rec = _Recorder()
    with intercept(rec):
        assert dense(keras.Input(shape=(5,))).shape == (None, 7)
        assert conv(keras.Input(shape=(None, 2))).shape == (None, None, 3)
        assert dense.compute_output_shape((None, 4, 5)) == (None, 4, 7)
    assert rec.calls == []


def test_symbolic_call_skips_state_updates():
    class Counter(kl.Layer):
        def build(self, input_shape):
            self.seen = self.add_weight("seen", (), initializer="zeros", trainable=False)

        def call(self, x):
            with ts.no_grad():
                self.seen.add_(1.0)  # an in-place op on layer state
            return x * 2

    layer = Counter()
    out = layer(keras.Input(shape=(3,)))
    assert out.shape == (None, 3)
    assert float(layer.seen) == 0.0 and not kbase._is_meta(layer.seen)
    layer(ts.ones(2, 3))
    assert float(layer.seen) == 1.0


def test_subclassed_model_build_and_summary():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1, self.d2 = kl.Dense(8, activation="relu"), kl.Dense(2)

        def call(self, x, training=None):
            return self.d2(self.d1(x))

    net = Net()
    rec = _Recorder()
    with intercept(rec):
        net.build((None, 3))
    assert rec.outside_builds() == []
    assert net.count_params() == 3 * 8 + 8 + 8 * 2 + 2
    assert not any(kbase._is_meta(t) for t in _all_tensors(net))
    assert tuple(net(ts.randn(4, 3)).shape) == (4, 2)


def test_symbolic_error_names_the_layer():
    with pytest.raises(ValueError, match=r"(?s)cannot reshape.*while calling layer 'reshape"):
        keras.Sequential([kl.Dense(3, input_shape=(4,)), kl.Reshape((5,))])


def _compiled(metrics, binary=False):
    ts.manual_seed(0)
    head = kl.Dense(1, activation="sigmoid") if binary else kl.Dense(3)
    model = keras.Sequential([kl.Dense(8, activation="relu", input_shape=(4,)), head])
    loss = "binary_crossentropy" if binary else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=metrics)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype("float32"), np.arange(16) % 3
    if binary:
        y = (y == 0).astype("float32")[:, None]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # creates optimizer and metric state
    return model, x, y


def _leaf_metrics(model):
    # model.metrics is [loss tracker, compile_metrics] as in Keras 3; the compiled ones sit inside the latter
    out = []
    for m in model.metrics:
        out += m.metrics if hasattr(m, "metrics") and isinstance(m.metrics, list) else [m]
    return out


def _state_tensors(model):
    opt = model.optimizer.optimizer
    found = list(model.parameters())
    for group in opt.param_groups:
        for p in group["params"]:
            found += [v for v in opt.state.get(p, {}).values() if isinstance(v, ts.Tensor)]
    for m in _leaf_metrics(model):
        found += [v for v in vars(m).values() if isinstance(v, ts.Tensor)]
    return found


def test_fit_step_changes_state_only_inside_ops():
    model, x, y = _compiled(["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)])
    watched = _state_tensors(model)
    n_metric_state = sum(isinstance(v, ts.Tensor) for m in _leaf_metrics(model) for v in vars(m).values())
    assert n_metric_state >= 3  # loss tracker and two metrics: [total, count] each

    def snap():
        return [raw(t).copy() for t in watched]

    def changed(a, b):
        return [i for i, (u, v) in enumerate(zip(a, b)) if u.shape != v.shape or not np.array_equal(u, v)]

    last = [snap()]
    outside, inside = [], set()
    names = []

    def watch(call):
        now = snap()
        outside.extend((call.op.name, i) for i in changed(last[0], now))
        result = call.proceed()
        after = snap()
        inside.update(changed(now, after))
        names.append(call.op.name)
        last[0] = after
        return result

    before = snap()
    with intercept(watch):
        # the ops of the default train_step; its logs (metric results) are read on the host afterwards
        _, y_pred = model._optimization_step(ts.tensor(x[:8]), ts.tensor(y[:8]))
        model.compiled_metrics.update_state(ts.tensor(y[:8]), y_pred)
    final = snap()
    assert outside == [] and changed(last[0], final) == []
    # Every watched tensor changed (weights, Adam moments and step, metric totals and counts), inside ops.
    assert set(changed(before, final)) == set(range(len(watched))) == inside
    assert "adam_step" in names or any("adam" in n for n in names)
    # The logs (host side, after the step) are what eager Keras logs: compare with a second identical model.
    logs = model._logs()
    model2, _, _ = _compiled(["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)])
    model2.train_step((ts.tensor(x[:8]), ts.tensor(y[:8])))
    logs2 = model2._logs()
    assert logs.keys() == logs2.keys()
    for k in logs:
        assert logs[k] == pytest.approx(logs2[k], rel=1e-6)


def test_fit_step_with_metrics_under_strict_tracer_replays():
    metrics = ["accuracy", keras.metrics.AUC(num_thresholds=5), "mse", keras.metrics.Precision()]
    model, x, y = _compiled(metrics, binary=True)
    watched = _state_tensors(model)
    bx, by = ts.tensor(x[8:]), ts.tensor(y[8:])
    with StrictTracer() as tr:
        tr.guard(watched, bx, by)
        _, y_pred = model._optimization_step(bx, by)
        model.compiled_metrics.update_state(by, y_pred)
    env = tr.replay()
    # Replaying the recorded ops on the recorded inputs reproduces every state change.
    for t in watched:
        if id(t) in tr.refs:
            np.testing.assert_allclose(tr.value(env, t), raw(t), rtol=1e-6, atol=1e-7)
    metric_state = [v for m in _leaf_metrics(model) for v in vars(m).values() if isinstance(v, ts.Tensor)]
    assert metric_state and all(id(t) in tr.refs for t in metric_state)
    assert {"add"} & set(tr.op_names()) or any(n.startswith("add") for n in tr.op_names())


@pytest.mark.parametrize("cls", [kl.SimpleRNN, kl.LSTM, kl.GRU])
@pytest.mark.parametrize("steps", [1, 2, 7, None])
def test_symbolic_rnn_shapes_match_eager(cls, steps):
    # A symbolic RNN call runs two time steps only; its shapes must still be those of a full eager call.
    for kwargs in ({}, {"return_sequences": True}, {"return_state": True, "go_backwards": True}):
        layer = cls(4, **kwargs)
        sym = layer(keras.Input(shape=(steps, 3)))
        eager = layer(ts.randn(2, steps or 5, 3))
        sym, eager = (sym, eager) if isinstance(sym, list) else ([sym], [eager])
        assert len(sym) == len(eager)
        for s, e in zip(sym, eager):
            want = (None,) + tuple(e.shape)[1:]
            if steps is None and len(want) == 3:
                want = (None, None, 4)
            assert s.shape == want
