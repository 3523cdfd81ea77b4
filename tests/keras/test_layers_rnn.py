"""Recurrent layers, cells and wrappers vs real Keras 3 (torch backend): outputs with copied weights (masks,
go_backwards, return_state, stateful, Bidirectional, TimeDistributed), gradients, dropout, symbolic shapes,
configs and errors."""

import numpy as np
import pytest

import tessera as ts
import tessera.keras as tk
from tessera.keras import layers as L

TOL = 1e-5


@pytest.fixture(autouse=True)
def _fresh():
    L.clear_session()
    ts.manual_seed(0)


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def npy(x):
    if isinstance(x, ts.Tensor):
        return x.detach().numpy()
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def assert_outputs_close(ours, theirs, tol=TOL):
    ours, theirs = as_list(ours), as_list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(npy(a), npy(b), rtol=tol, atol=tol)


def run_pair(make, real_keras, x, call_kwargs=None):
    """Build the Keras and the Tessera layer from ``make(module)``, copy Keras's weights, call both."""
    call_kwargs = call_kwargs or {}
    kl, tl = make(real_keras), make(tk)
    ref = kl(x, **call_kwargs)
    tl(ts.tensor(x), **call_kwargs)
    tl.set_weights(kl.get_weights())
    return tl(ts.tensor(x), training=False, **call_kwargs), ref, tl, kl


def masked_input(seed=0):
    x = rnd(3, 6, 4, seed=seed)
    x[0, 4:] = 0  # right padding
    x[1, :2] = 0  # left padding
    x[2, 3] = 0  # a hole
    return x


RNN_CLASSES = ["SimpleRNN", "LSTM", "GRU"]
RNN_CONFIGS = [
    {},
    {"return_sequences": True},
    {"return_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"go_backwards": True},
    {"unroll": True, "return_sequences": True},
    {"activation": "relu", "use_bias": False},
]


# -- layers vs Keras -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNN_CLASSES)
@pytest.mark.parametrize("cfg", RNN_CONFIGS, ids=str)
def test_rnn_layers_match_keras(real_keras, cls, cfg):
    def make(K):
        return getattr(K.layers, cls)(5, bias_initializer="random_normal", **cfg)

    ours, ref, _, _ = run_pair(make, real_keras, rnd(3, 6, 4))
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize("cfg", [{"reset_after": False}, {"reset_after": False, "return_sequences": True}])
def test_gru_reset_before_matches_keras(real_keras, cfg):
    ours, ref, _, _ = run_pair(lambda K: K.layers.GRU(4, bias_initializer="random_normal", **cfg), real_keras,
                               rnd(2, 5, 3))  # fmt: skip
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize("cls", RNN_CLASSES)
@pytest.mark.parametrize(
    "cfg",
    [{}, {"return_sequences": True}, {"return_sequences": True, "go_backwards": True, "return_state": True}],
    ids=str,
)
def test_masked_rnn_matches_keras(real_keras, cls, cfg):
    """Masked steps (from Masking) keep the states and repeat the previous output, as in Keras."""
    x = masked_input()

    def make(K):
        return K.Sequential([K.layers.Masking(0.0), getattr(K.layers, cls)(5, **cfg)])

    ours, ref, _, _ = run_pair(make, real_keras, x)
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize("zero_output", [False, True])
def test_generic_rnn_over_cell_with_mask_matches_keras(real_keras, zero_output):
    x = masked_input(1)

    def make(K):
        inp = K.Input((6, 4))
        h = K.layers.Masking(0.0)(inp)
        out = K.layers.RNN(K.layers.LSTMCell(3), return_sequences=True, zero_output_for_mask=zero_output)(h)
        return K.Model(inp, out)

    ours, ref, _, _ = run_pair(make, real_keras, x)
    assert_outputs_close(ours, ref)


def test_embedding_mask_zero_feeds_lstm_like_keras(real_keras):
    ids = np.array([[3, 5, 0, 0], [1, 2, 7, 0], [0, 4, 4, 9]], dtype="int32")

    def make(K):
        inp = K.Input((4,), dtype="int32")
        h = K.layers.Embedding(10, 3, mask_zero=True)(inp)
        h = K.layers.LSTM(4, return_sequences=True)(h)
        return K.Model(inp, K.layers.GRU(2)(h))

    kl, tl = make(real_keras), make(tk)
    tl.set_weights(kl.get_weights())
    assert_outputs_close(tl(ts.tensor(ids), training=False), kl(ids))


@pytest.mark.parametrize(
    "make_cell",
    [
        lambda K: K.layers.SimpleRNNCell(4),
        lambda K: K.layers.GRUCell(4, reset_after=False),
        lambda K: [K.layers.LSTMCell(4), K.layers.GRUCell(3)],
        lambda K: K.layers.StackedRNNCells([K.layers.SimpleRNNCell(3), K.layers.LSTMCell(2)]),
    ],
    ids=["simple", "gru_v1", "list", "stacked"],
)
def test_rnn_with_cells_matches_keras(real_keras, make_cell):
    def make(K):
        return K.layers.RNN(make_cell(K), return_sequences=True, return_state=True)

    ours, ref, _, _ = run_pair(make, real_keras, rnd(2, 5, 3))
    flat = lambda v: [t for s in as_list(v) for t in as_list(s)]  # noqa: E731
    assert_outputs_close(flat(ours), flat(ref))


def _minimal_cell_class(K):
    class MinimalRNNCell(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(
                shape=(input_shape[-1], self.units), initializer="uniform", name="k"
            )
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="rk")  # fmt: skip

        def call(self, inputs, states):
            out = inputs @ self.kernel + K.activations.tanh(states[0] @ self.recurrent_kernel)
            return out, [out]

    return MinimalRNNCell


def test_user_defined_cell_matches_keras(real_keras):
    x = masked_input(2)

    def make(K):
        return K.Sequential(
            [K.layers.Masking(), K.layers.RNN(_minimal_cell_class(K)(4), return_sequences=True)]
        )

    ours, ref, _, _ = run_pair(make, real_keras, x)
    assert_outputs_close(ours, ref)


def test_initial_state_matches_keras(real_keras):
    x, h0, c0 = rnd(2, 5, 3), rnd(2, 4, seed=1), rnd(2, 4, seed=2)
    kl, tl = real_keras.layers.LSTM(4, return_state=True), L.LSTM(4, return_state=True)
    ref = kl(x, initial_state=[h0, c0])
    tl(ts.tensor(x))
    tl.set_weights(kl.get_weights())
    assert_outputs_close(tl(ts.tensor(x), initial_state=[ts.tensor(h0), ts.tensor(c0)]), ref)


@pytest.mark.parametrize("cls", RNN_CLASSES)
def test_stateful_over_two_batches_matches_keras(real_keras, cls):
    x1, x2 = rnd(2, 4, 3, seed=1), rnd(2, 4, 3, seed=2)

    def make(K):
        return getattr(K.layers, cls)(4, stateful=True, return_sequences=True)

    kl, tl = make(real_keras), make(tk)
    kl(np.zeros_like(x1))
    kl.reset_states()
    tl(ts.tensor(np.zeros_like(x1)))
    tl.reset_states()
    tl.set_weights(kl.get_weights())
    for x in (x1, x2):
        assert_outputs_close(tl(ts.tensor(x), training=False), kl(x))
    second = npy(tl(ts.tensor(x1), training=False))
    kl.reset_states()
    tl.reset_states()
    first = tl(ts.tensor(x1), training=False)
    assert_outputs_close(first, kl(x1))
    assert not np.allclose(second, npy(first))
    assert tl.get_weights().__len__() == kl.get_weights().__len__()


def test_stateful_batch_size_from_batch_shape():
    model = tk.Sequential([L.Input(batch_shape=(2, None, 3)), L.SimpleRNN(4, stateful=True)])
    assert [tuple(s.shape) for s in model.layers[-1].states] == [(2, 4)]
    with pytest.raises(ValueError, match="stateful.*batch size"):
        model(ts.tensor(rnd(3, 5, 3)))
    with pytest.raises(ValueError, match="batch size must be static"):
        L.LSTM(3, stateful=True)(L.Input((5, 3)))


CONV_LSTM = [
    (lambda K: K.layers.ConvLSTM1D(3, 3, padding="same", bias_initializer="random_normal", return_sequences=True),
     (2, 4, 7, 2)),
    (lambda K: K.layers.ConvLSTM2D(3, 2, strides=2, padding="same", return_state=True), (2, 4, 7, 6, 2)),
    (lambda K: K.layers.ConvLSTM2D(3, 3, data_format="channels_first", go_backwards=True), (2, 4, 2, 7, 6)),
    (lambda K: K.layers.ConvLSTM3D(2, 2, dilation_rate=2, return_sequences=True), (1, 3, 5, 5, 5, 2)),
]  # fmt: skip


@pytest.mark.parametrize("make,shape", CONV_LSTM)
def test_conv_lstm_matches_keras(real_keras, make, shape):
    ours, ref, tl, _ = run_pair(make, real_keras, rnd(*shape))
    assert_outputs_close(ours, ref)
    sym = make(tk)(tk.Input(shape[1:]))
    assert [t.shape[1:] for t in as_list(sym)] == [tuple(t.shape)[1:] for t in as_list(ref)]


def test_conv_lstm_dropout_and_stateful():
    x = ts.tensor(rnd(2, 3, 6, 6, 2))
    layer = L.ConvLSTM2D(2, 3, padding="same", dropout=0.4, recurrent_dropout=0.4)
    ref = npy(layer(x, training=False))
    assert not np.allclose(npy(layer(x, training=True)), ref)
    np.testing.assert_allclose(npy(layer(x, training=False)), ref, rtol=TOL, atol=TOL)
    st = L.ConvLSTM1D(2, 2, stateful=True)
    a = npy(st(ts.tensor(rnd(2, 3, 5, 2))))
    b = npy(st(ts.tensor(rnd(2, 3, 5, 2))))
    st.reset_states()
    np.testing.assert_allclose(npy(st(ts.tensor(rnd(2, 3, 5, 2)))), a, rtol=TOL, atol=TOL)
    assert not np.allclose(a, b)


# -- wrappers vs Keras ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_bidirectional_merge_modes_match_keras(real_keras, merge_mode, cls):
    def make(K):
        return K.layers.Bidirectional(getattr(K.layers, cls)(4, return_sequences=True), merge_mode=merge_mode)

    ours, ref, _, _ = run_pair(make, real_keras, rnd(2, 5, 3))
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize(
    "cfg", [{"return_state": True}, {"return_state": True, "return_sequences": True}, {}], ids=str
)
def test_bidirectional_masked_and_return_state_match_keras(real_keras, cfg):
    x = masked_input(3)

    def make(K):
        inp = K.Input((6, 4))
        h = K.layers.Masking()(inp)
        return K.Model(inp, K.layers.Bidirectional(K.layers.LSTM(3, **cfg))(h))

    ours, ref, _, _ = run_pair(make, real_keras, x)
    assert_outputs_close(ours, ref)


def test_bidirectional_backward_layer_matches_keras(real_keras):
    def make(K):
        return K.layers.Bidirectional(
            K.layers.SimpleRNN(3, return_sequences=True),
            backward_layer=K.layers.GRU(2, return_sequences=True, go_backwards=True),
        )

    ours, ref, _, _ = run_pair(make, real_keras, rnd(2, 5, 3))
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda K: K.layers.TimeDistributed(K.layers.Dense(3, activation="relu")), (2, 5, 4)),
        (lambda K: K.layers.TimeDistributed(K.layers.Conv2D(3, 2, padding="same")), (2, 3, 6, 6, 2)),
        (lambda K: K.layers.TimeDistributed(K.layers.Flatten()), (2, 3, 2, 2)),
    ],
    ids=["dense", "conv2d", "flatten"],
)
def test_time_distributed_matches_keras(real_keras, make, shape):
    ours, ref, _, _ = run_pair(make, real_keras, rnd(*shape))
    assert_outputs_close(ours, ref)


def test_time_distributed_passes_mask_like_keras(real_keras):
    x = masked_input(4)

    def make(K):
        inp = K.Input((6, 4))
        h = K.layers.Masking()(inp)
        h = K.layers.TimeDistributed(K.layers.Dense(3))(h)
        return K.Model(inp, K.layers.LSTM(2)(h))

    ours, ref, _, _ = run_pair(make, real_keras, x)
    assert_outputs_close(ours, ref)


def test_seq2seq_model_matches_keras(real_keras):
    def make(K):
        return K.Sequential([
            K.Input((5, 3)),
            K.layers.Bidirectional(K.layers.LSTM(4)),
            K.layers.RepeatVector(3),
            K.layers.GRU(4, return_sequences=True),
            K.layers.TimeDistributed(K.layers.Dense(2, activation="softmax")),
        ])  # fmt: skip

    ours, ref, _, _ = run_pair(make, real_keras, rnd(2, 5, 3))
    assert_outputs_close(ours, ref)


# -- gradients -----------------------------------------------------------------------------------------------
def test_masked_lstm_gradients_match_keras_torch(real_keras):
    import torch

    x = masked_input(5)
    g = rnd(3, 6, 4, seed=6)
    km = real_keras.Sequential(
        [real_keras.layers.Masking(), real_keras.layers.LSTM(4, return_sequences=True)]
    )
    tm = tk.Sequential([L.Masking(), L.LSTM(4, return_sequences=True)])
    km(x)
    tm(ts.tensor(x))
    tm.set_weights(km.get_weights())
    xt = torch.tensor(x, requires_grad=True)
    (km(xt) * torch.tensor(g)).sum().backward()
    xs = ts.tensor(x, requires_grad=True)
    (tm(xs, training=False) * ts.tensor(g)).sum().backward()
    np.testing.assert_allclose(npy(xs.grad), xt.grad.numpy(), rtol=TOL, atol=TOL)
    for ours, theirs in zip(tm.layers[-1].weights, km.layers[-1].weights):
        np.testing.assert_allclose(npy(ours.grad), theirs.value.grad.numpy(), rtol=1e-4, atol=TOL)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_bidirectional_gradients_finite_differences(cls):
    layer = L.Bidirectional(getattr(L, cls)(2, return_sequences=True, dtype="float64"), dtype="float64")
    x = np.random.default_rng(0).standard_normal((2, 3, 2))
    layer(ts.tensor(x))
    xs = ts.tensor(x, requires_grad=True)
    layer(xs, training=False).sum().backward()
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        hi = npy(layer(ts.tensor(x + d), training=False)).sum()
        lo = npy(layer(ts.tensor(x - d), training=False)).sum()
        num[idx] = (hi - lo) / (2 * eps)
    np.testing.assert_allclose(npy(xs.grad), num, rtol=1e-5, atol=1e-7)


# -- dropout -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNN_CLASSES)
@pytest.mark.parametrize("rates", [(0.0, 0.5), (0.5, 0.0), (0.3, 0.3)], ids=str)
def test_dropout_active_in_training_only(cls, rates):
    dropout, recurrent_dropout = rates
    x = ts.tensor(rnd(4, 6, 3))
    layer = getattr(L, cls)(5, dropout=dropout, recurrent_dropout=recurrent_dropout, return_sequences=True)
    plain = getattr(L, cls)(5, return_sequences=True)
    plain(x)
    layer(x)
    plain.set_weights(layer.get_weights())
    ref = npy(plain(x, training=False))
    np.testing.assert_allclose(npy(layer(x, training=False)), ref, rtol=TOL, atol=TOL)
    a, b = npy(layer(x, training=True)), npy(layer(x, training=True))
    assert not np.allclose(a, ref) and not np.allclose(a, b)
    # the cell's masks are per sequence: none survives the call
    assert layer.cell._dropout_mask is None and layer.cell._recurrent_dropout_mask is None


def test_recurrent_dropout_trains():
    layer = L.LSTM(4, recurrent_dropout=0.5)
    x = ts.tensor(rnd(3, 5, 2))
    layer(x, training=True).sum().backward()
    assert all(w.grad is not None and np.abs(npy(w.grad)).sum() > 0 for w in layer.trainable_weights)


# -- symbolic shapes ----------------------------------------------------------------------------------------
SYMBOLIC = [
    (lambda K: K.layers.LSTM(4, return_sequences=True, return_state=True), (None, 3)),
    (lambda K: K.layers.GRU(4, return_state=True, go_backwards=True), (7, 3)),
    (lambda K: K.layers.RNN([K.layers.LSTMCell(4), K.layers.SimpleRNNCell(2)], return_state=True), (5, 3)),
    (lambda K: K.layers.Bidirectional(K.layers.LSTM(4, return_sequences=True)), (None, 3)),
    (lambda K: K.layers.Bidirectional(K.layers.GRU(4, return_state=True), merge_mode=None), (6, 3)),
    (lambda K: K.layers.Bidirectional(K.layers.SimpleRNN(4), merge_mode="sum"), (6, 3)),
    (lambda K: K.layers.TimeDistributed(K.layers.Dense(5)), (None, 3)),
    (lambda K: K.layers.TimeDistributed(K.layers.Conv2D(4, 3)), (3, 8, 8, 2)),
    (lambda K: K.layers.Masking(), (6, 3)),
]


@pytest.mark.parametrize("make,shape", SYMBOLIC)
def test_symbolic_output_shapes_match_keras(real_keras, make, shape):
    ref = make(real_keras)(real_keras.Input(shape))
    ours = make(tk)(tk.Input(shape))
    flat = lambda v: [t for s in as_list(v) for t in as_list(s)]  # noqa: E731
    assert [tuple(t.shape) for t in flat(ours)] == [tuple(t.shape) for t in flat(ref)]


# -- configs -------------------------------------------------------------------------------------------------
CONFIGS = [
    lambda K: K.layers.SimpleRNN(3, dropout=0.1, go_backwards=True),
    lambda K: K.layers.LSTM(3, recurrent_dropout=0.2, unit_forget_bias=False, return_state=True),
    lambda K: K.layers.GRU(3, reset_after=False, stateful=True, unroll=True),
    lambda K: K.layers.RNN(K.layers.GRUCell(2), zero_output_for_mask=True),
    lambda K: K.layers.RNN([K.layers.LSTMCell(2), K.layers.SimpleRNNCell(3)]),
    lambda K: K.layers.Bidirectional(K.layers.LSTM(2, return_sequences=True), merge_mode="ave"),
    lambda K: K.layers.TimeDistributed(K.layers.Dense(2)),
    lambda K: K.layers.Masking(mask_value=-1.0),
    lambda K: K.layers.LSTMCell(3, dropout=0.5),
    lambda K: K.layers.ConvLSTM2D(3, (2, 3), strides=2, padding="same", recurrent_dropout=0.1),
    lambda K: K.layers.ConvLSTM1D(3, 2, data_format="channels_first", return_sequences=True),
]


@pytest.mark.parametrize("make", CONFIGS)
def test_get_config_round_trip_and_keys_match_keras(real_keras, make):
    ours, ref = make(tk), make(real_keras)
    cfg = ours.get_config()
    again = type(ours).from_config(cfg).get_config()
    assert again == cfg
    ignore = {"dtype", "build_config"}
    assert set(cfg) - ignore == set(ref.get_config()) - ignore
    for k, v in ref.get_config().items():
        if isinstance(v, (bool, int, float, str)) and k not in ("name", "dtype"):
            assert cfg[k] == v, k


def test_layers_serialize_deserialize_nested():
    layer = L.Bidirectional(L.RNN([L.LSTMCell(2), L.GRUCell(3)], return_sequences=True))
    x = ts.tensor(rnd(2, 4, 3))
    y = layer(x, training=False)
    clone = L.deserialize(L.serialize(layer))
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(npy(clone(x, training=False)), npy(y), rtol=TOL, atol=TOL)


def test_weights_layout_like_keras(real_keras):
    for make in (
        lambda K: K.layers.Bidirectional(K.layers.GRU(3)),
        lambda K: K.layers.RNN([K.layers.LSTMCell(2), K.layers.GRUCell(3)]),
    ):
        kl, tl = make(real_keras), make(tk)
        kl(rnd(2, 4, 5))
        tl(ts.tensor(rnd(2, 4, 5)))
        assert [w.shape for w in tl.get_weights()] == [tuple(w.shape) for w in kl.get_weights()]


# -- errors --------------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: L.LSTM(0), ValueError, "LSTM.*units"),
    (lambda: L.GRU(3, dropout=1.5), ValueError, "dropout"),
    (lambda: L.LSTM(3, use_cudnn="yes"), ValueError, "use_cudnn"),
    (lambda: L.SimpleRNN(3, use_cudnn=True), TypeError, "use_cudnn"),
    (lambda: L.GRU(3, use_cudnn=True, reset_after=False)(ts.zeros(1, 2, 3)), ValueError, "cuDNN"),
    (lambda: L.LSTM(3, use_cudnn=True)(ts.zeros(1, 2, 3), mask=ts.ones(1, 2).bool()), ValueError, "cuDNN"),
    (lambda: L.RNN(object()), ValueError, "call"),
    (lambda: L.Bidirectional(L.LSTM(3), merge_mode="max"), ValueError, "merge mode"),
    (lambda: L.Bidirectional(L.Dense(3)), ValueError, "recurrent"),
    (lambda: L.TimeDistributed("dense"), ValueError, "Layer"),
    (lambda: L.StackedRNNCells([]), ValueError, "StackedRNNCells"),
    (lambda: L.Masking("zero"), TypeError, "mask_value"),
    (lambda: L.LSTM(3)(ts.zeros(2, 3)), ValueError, "ndim=3"),
    (lambda: L.LSTM(3)(ts.zeros(2, 4, 3), initial_state=[ts.zeros(2, 3)]), ValueError, "initial state"),
    (lambda: L.GRU(3)(ts.zeros(2, 4, 3), initial_state=[ts.zeros(5, 3)]), ValueError, r"\(2, 3\)"),
    (lambda: L.SimpleRNN(3)(ts.zeros(2, 4, 3), mask=ts.ones(2, 5).bool()), ValueError, "mask"),
    (lambda: L.TimeDistributed(L.Dense(3))(ts.zeros(2, 3)), ValueError, "TimeDistributed"),
    (lambda: L.LSTM(3, unroll=True)(L.Input((None, 3))), ValueError, "unroll"),
    (lambda: L.LSTMCell(3)(ts.zeros(2, 4), [ts.zeros(2, 3)]), ValueError, "LSTMCell.*2 state"),
    (lambda: L.ConvLSTM2D(0, 3), ValueError, "ConvLSTM2D.*filters"),
    (lambda: L.ConvLSTM2D(2, 3, strides=2, dilation_rate=2), ValueError, "ConvLSTM2D.*dilation_rate"),
    (lambda: L.ConvLSTM2D(2, 3, padding="full"), ValueError, "ConvLSTM2D.*padding"),
    (lambda: L.ConvLSTM2D(2, 3)(ts.zeros(2, 3, 5, 5)), ValueError, "ndim=5"),
    (lambda: L.ConvLSTM2D(2, 3)(L.Input((3, None, 5, 2))), ValueError, "static"),
]


@pytest.mark.parametrize("fn,exc,match", ERRORS)
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_use_cudnn_true_runs_where_keras_does(real_keras):
    for cls in ("LSTM", "GRU"):
        ours, ref, _, _ = run_pair(
            lambda K, cls=cls: getattr(K.layers, cls)(3, use_cudnn=True), real_keras, rnd(2, 4, 3)
        )
        assert_outputs_close(ours, ref)
    with pytest.raises(ValueError, match="use_cudnn"):
        real_keras.layers.GRU(3, use_cudnn=True, reset_after=False)(rnd(1, 2, 3))


def test_failed_call_leaves_stateful_layer_unchanged():
    layer = L.GRU(2, stateful=True)
    layer(ts.tensor(rnd(2, 3, 4)))
    before = [npy(s).copy() for s in layer.states]
    with pytest.raises(ValueError):
        layer(ts.tensor(rnd(2, 3, 4)), initial_state=[ts.zeros(3, 2)])
    for a, b in zip(before, layer.states):
        np.testing.assert_array_equal(a, npy(b))


@pytest.mark.parametrize(
    "make,n_states",
    [
        (lambda K: K.layers.SimpleRNNCell(4, bias_initializer="random_normal"), 1),
        (lambda K: K.layers.LSTMCell(4, activation="relu"), 2),
        (lambda K: K.layers.GRUCell(4, bias_initializer="random_normal"), 1),
        (lambda K: K.layers.GRUCell(4, reset_after=False, recurrent_activation="hard_sigmoid"), 1),
    ],
)
def test_cell_step_matches_keras(real_keras, make, n_states):
    x = rnd(3, 5)
    states = [rnd(3, 4, seed=i + 1) for i in range(n_states)]
    kc, tc = make(real_keras), make(tk)
    ref = kc(x, states)
    tc(ts.tensor(x), [ts.tensor(s) for s in states])
    tc.set_weights(kc.get_weights())
    out, new = tc(ts.tensor(x), [ts.tensor(s) for s in states])
    assert_outputs_close([out] + list(new), [ref[0]] + list(ref[1]))


def test_bidirectional_stateful_states_and_initial_weights(real_keras):
    bi = L.Bidirectional(L.GRU(3, stateful=True, return_sequences=True))
    x = ts.tensor(rnd(2, 4, 3))
    a = npy(bi(x, training=False))
    assert len(bi.states) == 2 and all(tuple(s.shape) == (2, 3) for s in bi.states)
    assert not np.allclose(npy(bi(x, training=False)), a)
    bi.reset_states()
    np.testing.assert_allclose(npy(bi(x, training=False)), a, rtol=TOL, atol=TOL)
    with pytest.raises(AttributeError, match="stateful"):
        L.Bidirectional(L.GRU(3)).reset_states()
    # weights= sets both directions' weights at build time (forward half first)
    kl = real_keras.layers.Bidirectional(real_keras.layers.LSTM(3))
    xn = rnd(2, 4, 3, seed=3)
    ref = kl(xn)
    ours = L.Bidirectional(L.LSTM(3), weights=kl.get_weights())
    assert_outputs_close(ours(ts.tensor(xn), training=False), ref)


def test_seeded_dropout_masks_repeat():
    x = ts.tensor(rnd(2, 5, 3))
    a, b = (
        L.GRU(3, dropout=0.5, recurrent_dropout=0.5, seed=7),
        L.GRU(3, dropout=0.5, recurrent_dropout=0.5, seed=7),
    )
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    ya = npy(a(x, training=True))
    np.testing.assert_allclose(npy(b(x, training=True)), ya, rtol=TOL, atol=TOL)
    assert not np.allclose(npy(a(x, training=True)), ya)  # the stream advances between calls
    with pytest.raises(ValueError, match="seed"):
        L.LSTM(3, seed="x")


def test_encoder_decoder_with_symbolic_initial_state_matches_keras(real_keras):
    """The seq2seq pattern: the encoder's states start the decoder (initial_state of KerasTensors)."""
    enc_x, dec_x = rnd(2, 5, 3), rnd(2, 4, 2, seed=1)

    def make(K):
        enc_in, dec_in = K.Input((5, 3)), K.Input((4, 2))
        _, h, c = K.layers.LSTM(4, return_state=True)(enc_in)
        seq = K.layers.LSTM(4, return_sequences=True)(dec_in, initial_state=[h, c])
        return K.Model([enc_in, dec_in], K.layers.Dense(2)(seq))

    kl, tl = make(real_keras), make(tk)
    tl.set_weights(kl.get_weights())
    assert_outputs_close(tl([ts.tensor(enc_x), ts.tensor(dec_x)], training=False), kl([enc_x, dec_x]))


def test_masked_bidirectional_model_trains_with_fit():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 20, size=(64, 6)).astype("int32")
    ids[:32, 4:] = 0
    y = (ids[:, 0] > 10).astype("float32")[:, None]
    model = tk.Sequential([
        L.Input((6,), dtype="int32"),
        L.Embedding(20, 8, mask_zero=True),
        L.Bidirectional(L.LSTM(8, dropout=0.1, recurrent_dropout=0.1)),
        L.Dense(1, activation="sigmoid"),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="binary_crossentropy")
    hist = model.fit(ids, y, epochs=8, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_save_and_load_model_with_recurrent_layers(tmp_path, real_keras):
    m = tk.Sequential([
        L.Input((5, 3)),
        L.Masking(),
        L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="sum"),
        L.TimeDistributed(L.Dense(2)),
        L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)], return_sequences=True),
        L.Reshape((5, 2, 1)),
        L.ConvLSTM1D(2, 1),
    ])  # fmt: skip
    x = ts.tensor(rnd(2, 5, 3))
    y = npy(m(x, training=False))
    m.save(tmp_path / "m.keras")
    again = tk.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(npy(again(x, training=False)), y, rtol=TOL, atol=TOL)
    assert [layer.name for layer in again.layers] == [layer.name for layer in m.layers]
    assert L.ConvLSTM2D(1, 1).name == "conv_lstm2d"  # Keras's snake case of the class name
    assert real_keras.layers.ConvLSTM2D(1, 1).name.startswith("conv_lstm2d")


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize(
    "cfg",
    [
        {"recurrent_activation": "hard_sigmoid"},
        {"activation": "sigmoid", "unroll": True},
        {"use_bias": False},
    ],
    ids=str,
)
def test_gated_activations_match_keras(real_keras, cls, cfg):
    ours, ref, _, _ = run_pair(lambda K: getattr(K.layers, cls)(3, return_sequences=True, **cfg), real_keras,
                               rnd(2, 4, 3))  # fmt: skip
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize("cls", RNN_CLASSES)
def test_mask_with_initial_state_and_stateful_match_keras(real_keras, cls):
    x = masked_input(7)
    n = 2 if cls == "LSTM" else 1
    init = [rnd(3, 4, seed=10 + i) for i in range(n)]
    kl = getattr(real_keras.layers, cls)(4, return_sequences=True, return_state=True)
    tl = getattr(L, cls)(4, return_sequences=True, return_state=True)
    mask = np.any(x != 0, axis=-1)
    ref = kl(x, initial_state=init, mask=mask)
    tl(ts.tensor(x))
    tl.set_weights(kl.get_weights())
    ours = tl(ts.tensor(x), initial_state=[ts.tensor(s) for s in init], mask=ts.tensor(mask), training=False)
    assert_outputs_close(ours, ref)
    # a stateful layer fed masked batches carries the masked-through states like Keras
    ks = getattr(real_keras.layers, cls)(4, stateful=True)
    ts_ = getattr(L, cls)(4, stateful=True)
    ks(np.zeros_like(x))
    ks.reset_states()
    ts_(ts.tensor(np.zeros_like(x)))
    ts_.reset_states()
    ts_.set_weights(ks.get_weights())
    for _ in range(2):
        assert_outputs_close(ts_(ts.tensor(x), mask=ts.tensor(mask), training=False), ks(x, mask=mask))


def test_masked_bidirectional_fit_step_replays_under_strict_trace():
    """Every computation of a training step (masks, dropout masks, recurrences) goes through Tessera's ops:
    the recorded trace replays the step exactly."""
    from test_strict_trace import check_replay

    def build():
        model = tk.Sequential([
            L.Input((5, 4)),
            L.Masking(),
            L.Bidirectional(L.LSTM(4, dropout=0.1, recurrent_dropout=0.2)),
            L.Dense(3),
        ])  # fmt: skip
        model.compile(optimizer="adam", loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True))
        x, y = rnd(8, 5, 4), np.arange(8) % 3
        x[:3, 3:] = 0
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        return {"model": model, "opt": model.optimizer.optimizer, "x": ts.tensor(x), "y": ts.tensor(y)}

    def step(o):
        total, _ = o["model"]._optimization_step(o["x"], o["y"])
        return total.detach()

    check_replay(build, step)


def test_time_distributed_lstm_gets_each_slice_mask_like_keras(real_keras):
    x = rnd(2, 3, 4, 2)
    x[0, 1, 2:] = 0
    x[1, 2, :1] = 0

    def make(K):
        inp = K.Input((3, 4, 2))
        h = K.layers.Masking()(inp)
        return K.Model(inp, K.layers.TimeDistributed(K.layers.LSTM(3, return_sequences=True))(h))

    ours, ref, _, _ = run_pair(make, real_keras, x)
    assert_outputs_close(ours, ref)


@pytest.mark.parametrize("cls", RNN_CLASSES)
def test_dropout_rate_one_like_keras(real_keras, cls):
    """Keras's gated cells skip dropout at rate 1; SimpleRNN drops everything."""
    x = rnd(2, 4, 3)

    def make(K):
        return getattr(K.layers, cls)(3, dropout=1.0, recurrent_dropout=1.0, bias_initializer="ones")

    ours, ref, tl, kl = run_pair(make, real_keras, x)
    tl_out = tl(ts.tensor(x), training=True)
    assert_outputs_close(tl_out, kl(x, training=True))
