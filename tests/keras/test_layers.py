"""ts.keras.layers: shapes, parity with ts.nn and PyTorch, gradients, configs, regularizers, errors."""

import json

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera.keras import initializers, regularizers
from tessera.keras import layers as L

RTOL, ATOL = 1e-5, 1e-5


@pytest.fixture(autouse=True)
def _fresh():
    L.clear_session()
    ts.manual_seed(0)


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(a, b, rtol=RTOL, atol=ATOL):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# -- shapes --------------------------------------------------------------------------------------------------
SHAPES = [
    (lambda: L.Dense(7), (4, 5), (4, 7)),
    (lambda: L.Dense(7), (4, 3, 5), (4, 3, 7)),
    (lambda: L.Activation("softmax"), (4, 5), (4, 5)),
    (lambda: L.ReLU(), (4, 5), (4, 5)),
    (lambda: L.LeakyReLU(), (4, 5), (4, 5)),
    (lambda: L.Softmax(), (4, 5), (4, 5)),
    (lambda: L.Dropout(0.3), (4, 5), (4, 5)),
    (lambda: L.Flatten(), (4, 3, 2, 5), (4, 30)),
    (lambda: L.Reshape((3, -1)), (4, 12), (4, 3, 4)),
    (lambda: L.Permute((2, 1)), (4, 3, 5), (4, 5, 3)),
    (lambda: L.Conv2D(6, 3), (2, 9, 8, 3), (2, 7, 6, 6)),
    (lambda: L.Conv2D(6, 3, padding="same"), (2, 9, 8, 3), (2, 9, 8, 6)),
    (lambda: L.Conv2D(6, 3, strides=2, padding="same"), (2, 9, 8, 3), (2, 5, 4, 6)),
    (lambda: L.Conv2D(6, (3, 2), strides=(2, 1)), (2, 9, 8, 3), (2, 4, 7, 6)),
    (lambda: L.Conv2D(6, 3, dilation_rate=2), (2, 9, 8, 3), (2, 5, 4, 6)),
    (lambda: L.Conv2D(6, 3, data_format="channels_first"), (2, 3, 9, 8), (2, 6, 7, 6)),
    (lambda: L.Conv2D(4, 3, groups=2), (2, 6, 6, 4), (2, 4, 4, 4)),
    (lambda: L.Conv1D(6, 3), (2, 10, 4), (2, 8, 6)),
    (lambda: L.Conv1D(6, 3, padding="causal"), (2, 10, 4), (2, 10, 6)),
    (lambda: L.Conv1D(6, 4, strides=3, padding="same"), (2, 10, 4), (2, 4, 6)),
    (lambda: L.MaxPooling2D(), (2, 9, 8, 3), (2, 4, 4, 3)),
    (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (2, 9, 8, 3), (2, 5, 4, 3)),
    (lambda: L.AveragePooling2D(2), (2, 9, 8, 3), (2, 4, 4, 3)),
    (lambda: L.AveragePooling2D(2, padding="same"), (2, 9, 8, 3), (2, 5, 4, 3)),
    (lambda: L.MaxPooling2D(data_format="channels_first"), (2, 3, 8, 8), (2, 3, 4, 4)),
    (lambda: L.MaxPooling1D(2), (2, 9, 3), (2, 4, 3)),
    (lambda: L.AveragePooling1D(2, padding="same"), (2, 9, 3), (2, 5, 3)),
    (lambda: L.GlobalAveragePooling2D(), (2, 5, 4, 3), (2, 3)),
    (lambda: L.GlobalAveragePooling2D(keepdims=True), (2, 5, 4, 3), (2, 1, 1, 3)),
    (lambda: L.GlobalMaxPooling2D(), (2, 5, 4, 3), (2, 3)),
    (lambda: L.GlobalAveragePooling1D(), (2, 5, 3), (2, 3)),
    (lambda: L.BatchNormalization(), (4, 5, 5, 3), (4, 5, 5, 3)),
    (lambda: L.BatchNormalization(axis=1), (4, 3, 5), (4, 3, 5)),
    (lambda: L.LayerNormalization(), (4, 5, 6), (4, 5, 6)),
    (lambda: L.LayerNormalization(axis=[1, 2]), (4, 5, 6), (4, 5, 6)),
    (lambda: L.SimpleRNN(6), (3, 7, 4), (3, 6)),
    (lambda: L.SimpleRNN(6, return_sequences=True), (3, 7, 4), (3, 7, 6)),
    (lambda: L.LSTM(6), (3, 7, 4), (3, 6)),
    (lambda: L.LSTM(6, return_sequences=True), (3, 7, 4), (3, 7, 6)),
    (lambda: L.GRU(6), (3, 7, 4), (3, 6)),
    (lambda: L.GRU(6, return_sequences=True, reset_after=False), (3, 7, 4), (3, 7, 6)),
]


@pytest.mark.parametrize("make,shape,expected", SHAPES)
def test_output_shapes_eager_and_symbolic(make, shape, expected):
    layer = make()
    assert not layer.built
    out = layer(ts.tensor(rnd(*shape)))
    assert tuple(out.shape) == expected
    assert layer.built
    # symbolic: the same layer type called on an Input gives the shape with an unknown batch
    kt = make()(L.Input(shape=shape[1:]))
    assert kt.shape == (None,) + expected[1:]


def test_rnn_return_state_shapes():
    out, h, c = L.LSTM(6, return_state=True, return_sequences=True)(ts.tensor(rnd(3, 7, 4)))
    assert tuple(out.shape) == (3, 7, 6) and tuple(h.shape) == (3, 6) and tuple(c.shape) == (3, 6)
    out, h = L.GRU(5, return_state=True)(ts.tensor(rnd(3, 7, 4)))
    assert tuple(out.shape) == (3, 5) and tuple(h.shape) == (3, 5)
    # symbolic, with unknown sequence length
    kts = L.LSTM(6, return_state=True, return_sequences=True)(L.Input(shape=(None, 4)))
    assert [k.shape for k in kts] == [(None, None, 6), (None, 6), (None, 6)]


def test_weight_shapes_follow_keras_layout():
    d = L.Dense(3)
    d(ts.zeros(2, 5))
    assert [w.shape for w in d.get_weights()] == [(5, 3), (3,)]
    c = L.Conv2D(4, (3, 2))
    c(ts.zeros(1, 6, 6, 2))
    assert [w.shape for w in c.get_weights()] == [(3, 2, 2, 4), (4,)]
    lstm = L.LSTM(3)
    lstm(ts.zeros(1, 2, 5))
    assert [w.shape for w in lstm.get_weights()] == [(5, 12), (3, 12), (12,)]
    np.testing.assert_array_equal(lstm.get_weights()[2], np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    gru = L.GRU(3)
    gru(ts.zeros(1, 2, 5))
    assert [w.shape for w in gru.get_weights()] == [(5, 9), (3, 9), (2, 9)]
    bn = L.BatchNormalization()
    bn(ts.zeros(2, 4))
    assert [w.shape for w in bn.weights] == [(4,)] * 4
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    mha = L.MultiHeadAttention(2, 3, value_dim=5, output_shape=7)
    x = ts.zeros(1, 4, 6)
    mha(x, ts.zeros(1, 3, 8))
    assert [tuple(w.shape) for w in mha.weights] == [
        (6, 2, 3),
        (2, 3),
        (8, 2, 3),
        (2, 3),
        (8, 2, 5),
        (2, 5),
        (2, 5, 7),
        (7,),
    ]


# -- parity with ts.nn ---------------------------------------------------------------------------------------
def test_dense_matches_nn_linear():
    d = L.Dense(7)
    x = ts.tensor(rnd(4, 5))
    y = d(x)
    lin = ts.nn.Linear(5, 7)
    lin.load_state_dict({"weight": d.kernel.detach().numpy().T, "bias": d.bias.detach().numpy()})
    close(y, lin(x))


def test_conv2d_matches_nn_conv2d():
    conv = L.Conv2D(5, 3, padding="same", data_format="channels_first")
    x = ts.tensor(rnd(2, 3, 7, 7))
    y = conv(x)
    ref = ts.nn.Conv2d(3, 5, 3, padding=1)
    ref.load_state_dict(
        {"weight": conv.kernel.detach().numpy().transpose(3, 2, 0, 1), "bias": conv.bias.detach().numpy()}
    )
    close(y, ref(x))


def test_lstm_matches_nn_lstm():
    lstm = L.LSTM(6, return_sequences=True)
    x = ts.tensor(rnd(3, 5, 4))
    y = lstm(x)
    k, rk, b = lstm.get_weights()
    ref = ts.nn.LSTM(4, 6, batch_first=True)
    ref.load_state_dict(
        {"weight_ih_l0": k.T, "weight_hh_l0": rk.T, "bias_ih_l0": b, "bias_hh_l0": np.zeros_like(b)}
    )
    close(y, ref(x)[0])


# -- parity with PyTorch -------------------------------------------------------------------------------------
def _grads_close(ts_params, torch_params):
    for a, b in zip(ts_params, torch_params):
        close(a.grad, b.grad.detach().numpy())


@needs_torch
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_dense_vs_torch_linear(activation):
    d = L.Dense(7, activation=activation)
    xn = rnd(4, 5)
    x = ts.tensor(xn, requires_grad=True)
    y = d(x)
    lin = torch.nn.Linear(5, 7)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(d.kernel.detach().numpy().T))
        lin.bias.copy_(torch.tensor(d.bias.detach().numpy()))
    xt = torch.tensor(xn, requires_grad=True)
    yt = lin(xt)
    yt = {None: yt, "relu": torch.relu(yt), "tanh": torch.tanh(yt)}[activation]
    close(y, yt.detach().numpy())
    y.sum().backward()
    yt.sum().backward()
    close(x.grad, xt.grad.detach().numpy())
    close(d.kernel.grad, lin.weight.grad.detach().numpy().T)
    close(d.bias.grad, lin.bias.grad.detach().numpy())


@needs_torch
@pytest.mark.parametrize(
    "kw,torch_pad",
    [
        ({}, None),
        ({"padding": "same"}, (1, 1, 1, 1)),
        ({"strides": 2, "padding": "same"}, (0, 1, 0, 1)),  # Keras/TF 'same' puts the odd pad after
        ({"strides": (2, 1)}, None),
        ({"dilation_rate": 2, "padding": "same"}, (2, 2, 2, 2)),
    ],
)
def test_conv2d_channels_last_vs_torch(kw, torch_pad):
    conv = L.Conv2D(5, 3, activation="relu", **kw)
    xn = rnd(2, 8, 8, 3)
    x = ts.tensor(xn, requires_grad=True)
    y = conv(x)
    xt = torch.tensor(xn, requires_grad=True)
    inp = xt.permute(0, 3, 1, 2)
    if torch_pad:
        inp = torch.nn.functional.pad(inp, torch_pad)
    w = torch.tensor(conv.kernel.detach().numpy().transpose(3, 2, 0, 1), requires_grad=True)
    b = torch.tensor(conv.bias.detach().numpy(), requires_grad=True)
    yt = torch.relu(
        torch.nn.functional.conv2d(inp, w, b, kw.get("strides", 1), 0, kw.get("dilation_rate", 1))
    )
    yt = yt.permute(0, 2, 3, 1)
    close(y, yt.detach().numpy(), atol=1e-5)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    close(x.grad, xt.grad.detach().numpy(), atol=1e-4)
    close(conv.kernel.grad, w.grad.detach().numpy().transpose(2, 3, 1, 0), atol=1e-4, rtol=1e-4)
    close(conv.bias.grad, b.grad.detach().numpy(), atol=1e-4, rtol=1e-4)


@needs_torch
def test_conv1d_causal_vs_torch():
    conv = L.Conv1D(4, 3, padding="causal", dilation_rate=2)
    xn = rnd(2, 9, 3)
    y = conv(ts.tensor(xn))
    w = torch.tensor(conv.kernel.detach().numpy().transpose(2, 1, 0))
    inp = torch.nn.functional.pad(torch.tensor(xn).permute(0, 2, 1), (4, 0))
    yt = torch.nn.functional.conv1d(inp, w, torch.tensor(conv.bias.detach().numpy()), dilation=2)
    close(y, yt.permute(0, 2, 1).detach().numpy())


@needs_torch
def test_pooling_vs_torch():
    xn = rnd(2, 8, 8, 3)
    x = ts.tensor(xn)
    xt = torch.tensor(xn).permute(0, 3, 1, 2)
    close(L.MaxPooling2D(2)(x), torch.nn.functional.max_pool2d(xt, 2).permute(0, 2, 3, 1).detach().numpy())
    close(
        L.AveragePooling2D(3, strides=2)(x),
        torch.nn.functional.avg_pool2d(xt, 3, 2).permute(0, 2, 3, 1).detach().numpy(),
    )
    close(L.GlobalAveragePooling2D()(x), xt.mean((2, 3)).detach().numpy())
    # 'same' max pooling pads with -inf (after, for the odd total): compare with explicit padding
    padded = torch.nn.functional.pad(xt, (0, 1, 0, 1), value=-float("inf"))
    close(
        L.MaxPooling2D(3, strides=2, padding="same")(x),
        torch.nn.functional.max_pool2d(padded, 3, 2).permute(0, 2, 3, 1).detach().numpy(),
    )


def test_average_pooling_same_counts_only_valid_elements():
    xn = rnd(1, 3, 3, 1)
    y = L.AveragePooling2D(2, padding="same")(ts.tensor(xn)).detach().numpy()[0, :, :, 0]
    x = xn[0, :, :, 0]
    expected = np.array([[x[0:2, 0:2].mean(), x[0:2, 2:3].mean()], [x[2:3, 0:2].mean(), x[2, 2]]])
    np.testing.assert_allclose(y, expected, rtol=1e-6)


@needs_torch
def test_batchnorm_training_and_inference_vs_torch():
    bn = L.BatchNormalization(momentum=0.9, epsilon=1e-3)
    xn = rnd(6, 4, 4, 3) * 2 + 1
    x = ts.tensor(xn, requires_grad=True)
    tbn = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=1 - 0.9)
    y = bn(x, training=True)
    xt = torch.tensor(xn, requires_grad=True)
    yt = tbn(xt.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    close(y, yt.detach().numpy(), atol=1e-5)
    close(bn.moving_mean, tbn.running_mean.detach().numpy())
    # Keras updates the moving variance with the biased batch variance
    batch_var = xn.reshape(-1, 3).var(0)
    close(bn.moving_variance, 0.9 * 1.0 + 0.1 * batch_var)
    gn = rnd(6, 4, 4, 3, seed=1)
    (y * ts.tensor(gn)).sum().backward()
    (yt * torch.tensor(gn)).sum().backward()
    close(x.grad, xt.grad.detach().numpy(), atol=1e-4)
    close(bn.gamma.grad, tbn.weight.grad.detach().numpy(), atol=1e-4, rtol=1e-4)
    close(bn.beta.grad, tbn.bias.grad.detach().numpy(), atol=1e-4, rtol=1e-4)
    # inference uses the moving statistics
    tbn.eval()
    with torch.no_grad():
        tbn.running_var.copy_(torch.tensor(bn.moving_variance.detach().numpy()))
    close(
        bn(ts.tensor(xn), training=False),
        tbn(torch.tensor(xn).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).detach().numpy(),
    )
    # the module's mode decides when training is None
    bn.eval()
    before = bn.moving_mean.detach().numpy().copy()
    bn(ts.tensor(xn))
    np.testing.assert_array_equal(bn.moving_mean.detach().numpy(), before)
    bn.train()
    bn(ts.tensor(xn))
    assert not np.array_equal(bn.moving_mean.detach().numpy(), before)


def test_batchnorm_frozen_runs_in_inference_mode():
    bn = L.BatchNormalization(trainable=False)
    y = bn(ts.tensor(rnd(8, 3) + 5), training=True)
    np.testing.assert_allclose(y.detach().numpy(), (rnd(8, 3) + 5) / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.detach().numpy(), np.zeros(3))
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


@needs_torch
@pytest.mark.parametrize("axis,shape", [(-1, (4, 5, 6)), ([1, 2], (4, 5, 6)), (1, (4, 5, 6))])
def test_layernorm_vs_torch(axis, shape):
    ln = L.LayerNormalization(axis=axis, gamma_initializer="random_normal", beta_initializer="random_normal")
    xn = rnd(*shape)
    y = ln(ts.tensor(xn))
    xt = torch.tensor(xn)
    axes = [axis] if isinstance(axis, int) else axis
    axes = [a % len(shape) for a in axes]
    mean = xt.mean(axes, keepdim=True)
    var = xt.var(axes, unbiased=False, keepdim=True)
    bshape = [shape[i] if i in axes else 1 for i in range(len(shape))]
    g = torch.tensor(ln.gamma.detach().numpy()).reshape(bshape)
    b = torch.tensor(ln.beta.detach().numpy()).reshape(bshape)
    close(y, ((xt - mean) / torch.sqrt(var + 1e-3) * g + b).detach().numpy())
    if axis == -1:
        tln = torch.nn.LayerNorm(6, eps=1e-3)
        with torch.no_grad():
            tln.weight.copy_(torch.tensor(ln.gamma.detach().numpy()))
            tln.bias.copy_(torch.tensor(ln.beta.detach().numpy()))
        close(y, tln(xt).detach().numpy())


@needs_torch
def test_embedding_vs_torch():
    emb = L.Embedding(10, 4)
    idx = np.array([[1, 2, 9], [0, 0, 3]])
    y = emb(ts.tensor(idx))
    temb = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        temb.weight.copy_(torch.tensor(emb.embeddings.detach().numpy()))
    close(y, temb(torch.tensor(idx)).detach().numpy())
    y.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=10)[:, None] * np.ones((1, 4))
    close(emb.embeddings.grad, counts)
    # float indices are cast, as in Keras
    close(emb(ts.tensor(idx.astype(np.float32))), y)


def _torch_rnn(kind, layer, inp):
    k, rk, b = [torch.tensor(w) for w in layer.get_weights()]
    u = layer.units
    if kind == "gru":

        def reorder(w):  # Keras z, r, h -> PyTorch r, z, n along the last axis
            return torch.cat([w[..., u : 2 * u], w[..., :u], w[..., 2 * u :]], -1)

        sd = {
            "weight_ih_l0": reorder(k).T,
            "weight_hh_l0": reorder(rk).T,
            "bias_ih_l0": reorder(b[0]),
            "bias_hh_l0": reorder(b[1]),
        }
        mod = torch.nn.GRU(k.shape[0], u, batch_first=True)
    else:
        sd = {"weight_ih_l0": k.T, "weight_hh_l0": rk.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
        mod = (torch.nn.LSTM if kind == "lstm" else torch.nn.RNN)(k.shape[0], u, batch_first=True)
    mod.load_state_dict(sd)
    return mod(inp)


@needs_torch
@pytest.mark.parametrize("kind", ["simple", "lstm", "gru"])
def test_rnn_vs_torch(kind):
    cls = {"simple": L.SimpleRNN, "lstm": L.LSTM, "gru": L.GRU}[kind]
    layer = cls(5, return_sequences=True, return_state=True, bias_initializer="random_normal")
    xn = rnd(3, 6, 4)
    x = ts.tensor(xn, requires_grad=True)
    outs = layer(x)
    xt = torch.tensor(xn, requires_grad=True)
    seq_t, state_t = _torch_rnn(kind, layer, xt)
    close(outs[0], seq_t.detach().numpy())
    close(outs[1], (state_t[0] if kind == "lstm" else state_t)[0].detach().numpy())
    if kind == "lstm":
        close(outs[2], state_t[1][0].detach().numpy())
    gn = rnd(3, 6, 5, seed=2)
    (outs[0] * ts.tensor(gn)).sum().backward()
    (seq_t * torch.tensor(gn)).sum().backward()
    close(x.grad, xt.grad.detach().numpy())


@pytest.mark.parametrize("cls,kw", [(L.LSTM, {}), (L.GRU, {}), (L.GRU, {"reset_after": False})])
def test_rnn_generic_activation_path(cls, kw):
    """Non-default activations take the generic step; with functions equal to the defaults the results match
    the fast path (PyTorch's step) exactly up to rounding."""
    fast = cls(4, return_sequences=True, bias_initializer="random_normal", **kw)
    x = ts.tensor(rnd(2, 5, 3))
    y = fast(x)
    slow = cls(
        4,
        return_sequences=True,
        activation=lambda t: ts.tanh(t),
        recurrent_activation=lambda t: ts.sigmoid(t),
        **kw,
    )
    slow(x)
    slow.set_weights(fast.get_weights())
    close(slow(x), y)
    if kw.get("reset_after") is False:
        # reference of the original GRU formulation
        k, rk, b = fast.get_weights()
        xn, h, u, outs = x.detach().numpy(), np.zeros((2, 4), np.float32), 4, []
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        for t in range(5):
            xw = xn[:, t] @ k + b
            z = sig(xw[:, :u] + h @ rk[:, :u])
            r = sig(xw[:, u : 2 * u] + h @ rk[:, u : 2 * u])
            hh = np.tanh(xw[:, 2 * u :] + (r * h) @ rk[:, 2 * u :])
            h = z * h + (1 - z) * hh
            outs.append(h)
        close(y, np.stack(outs, 1))


def test_rnn_go_backwards_and_initial_state():
    layer = L.SimpleRNN(3, return_sequences=True, go_backwards=True)
    x = ts.tensor(rnd(2, 4, 3))
    y = layer(x)
    fwd = L.SimpleRNN(3, return_sequences=True)
    fwd(x)
    fwd.set_weights(layer.get_weights())
    close(y, fwd(ts.tensor(x.detach().numpy()[:, ::-1].copy())))
    h0 = ts.tensor(rnd(2, 3, seed=5))
    lstm = L.LSTM(3)
    a = lstm(x, initial_state=[h0, h0])
    b = lstm(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(ValueError, match="initial state"):
        lstm(x, initial_state=[h0])


@needs_torch
def test_multi_head_attention_vs_torch():
    E, H = 8, 2
    mha = L.MultiHeadAttention(num_heads=H, key_dim=E // H, bias_initializer="random_normal")
    qn, vn = rnd(2, 5, E), rnd(2, 7, E, seed=1)
    out, scores = mha(ts.tensor(qn), ts.tensor(vn), return_attention_scores=True)
    assert tuple(out.shape) == (2, 5, E) and tuple(scores.shape) == (2, H, 5, 7)
    tm = torch.nn.MultiheadAttention(E, H, batch_first=True)
    w = {n: mha.get_weights()[i] for i, n in enumerate(["qk", "qb", "kk", "kb", "vk", "vb", "ok", "ob"])}
    with torch.no_grad():
        tm.in_proj_weight.copy_(torch.tensor(np.concatenate([w[p + "k"].reshape(E, E).T for p in "qkv"])))
        tm.in_proj_bias.copy_(torch.tensor(np.concatenate([w[p + "b"].reshape(E) for p in "qkv"])))
        tm.out_proj.weight.copy_(torch.tensor(w["ok"].reshape(E, E).T))
        tm.out_proj.bias.copy_(torch.tensor(w["ob"]))
    ot, st = tm(torch.tensor(qn), torch.tensor(vn), torch.tensor(vn), average_attn_weights=False)
    close(out, ot.detach().numpy())
    close(scores, st.detach().numpy())
    # the fused path (no scores) gives the same output
    close(mha(ts.tensor(qn), ts.tensor(vn)), out)


def test_multi_head_attention_masks():
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3)
    x = ts.tensor(rnd(2, 4, 6))
    mask = np.tril(np.ones((4, 4), bool))[None].repeat(2, 0)
    a, s = mha(x, x, attention_mask=ts.tensor(mask), return_attention_scores=True)
    assert np.all(s.detach().numpy()[:, :, ~mask[0]] < 1e-6)
    np.testing.assert_allclose(s.detach().numpy().sum(-1), 1, rtol=1e-5)
    b = mha(x, x, use_causal_mask=True)
    close(a, b)
    # value_dim and output_shape
    m2 = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5, output_shape=9)
    assert tuple(m2(x, ts.tensor(rnd(2, 7, 6)), key=ts.tensor(rnd(2, 7, 6, seed=3))).shape) == (2, 4, 9)


def test_merge_layers():
    a, b = ts.tensor(rnd(2, 3)), ts.tensor(rnd(2, 3, seed=1))
    close(L.Add()([a, b]), a.detach().numpy() + b.detach().numpy())
    close(L.Subtract()([a, b]), a.detach().numpy() - b.detach().numpy())
    close(L.Multiply()([a, b]), a.detach().numpy() * b.detach().numpy())
    close(L.Average()([a, b]), (a.detach().numpy() + b.detach().numpy()) / 2)
    close(L.Maximum()([a, b]), np.maximum(a.detach().numpy(), b.detach().numpy()))
    close(L.Concatenate(axis=0)([a, b]), np.concatenate([a.detach().numpy(), b.detach().numpy()], 0))
    with pytest.raises(ValueError, match="concatenate"):
        L.Concatenate()([ts.zeros(2, 3), ts.zeros(3, 3)])
    with pytest.raises(ValueError, match="add"):
        L.Add()([ts.zeros(2, 3), ts.zeros(2, 4)])
    with pytest.raises(ValueError, match="list"):
        L.Add()(ts.zeros(2, 3))


def test_activations_and_dropout():
    x = ts.tensor(np.array([[-2.0, -0.5, 0.5, 8.0]], np.float32))
    close(L.ReLU(max_value=6.0)(x), [[0, 0, 0.5, 6]])
    close(L.ReLU(negative_slope=0.1, threshold=1.0)(x), [[-0.3, -0.15, -0.05, 8.0]])
    close(L.LeakyReLU(0.2)(x), [[-0.4, -0.1, 0.5, 8.0]])
    close(L.Activation("sigmoid")(x), 1 / (1 + np.exp(-x.detach().numpy())))
    close(L.Softmax()(x).sum(-1), [1.0])
    d = L.Dropout(0.5)
    big = ts.ones(1000, 10)
    y = d(big, training=True).detach().numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    np.testing.assert_array_equal(d(big, training=False).detach().numpy(), 1.0)
    d.eval()
    np.testing.assert_array_equal(d(big).detach().numpy(), 1.0)


# -- gradients -------------------------------------------------------------------------------------------------
GRAD_CASES = [
    (lambda: L.Dense(3, activation="relu"), (4, 5)),
    (lambda: L.Conv2D(3, 3, padding="same"), (2, 5, 5, 2)),
    (lambda: L.Conv1D(3, 2), (2, 5, 2)),
    (lambda: L.BatchNormalization(), (4, 3)),
    (lambda: L.LayerNormalization(), (4, 3)),
    (lambda: L.SimpleRNN(3), (2, 4, 2)),
    (lambda: L.LSTM(3), (2, 4, 2)),
    (lambda: L.GRU(3), (2, 4, 2)),
    (lambda: L.AveragePooling2D(2, padding="same"), (2, 5, 5, 2)),
    (lambda: L.MaxPooling2D(2, padding="same"), (2, 5, 5, 2)),
]


@pytest.mark.parametrize("make,shape", GRAD_CASES)
def test_gradients_flow(make, shape):
    layer = make()
    x = ts.tensor(rnd(*shape), requires_grad=True)
    out = layer(x, training=True) if isinstance(layer, L.BatchNormalization) else layer(x)
    (out * out).sum().backward()
    assert (
        x.grad is not None
        and np.isfinite(x.grad.detach().numpy()).all()
        and np.abs(x.grad.detach().numpy()).sum() > 0
    )
    for w in layer.trainable_weights:
        assert w.grad is not None and np.isfinite(w.grad.detach().numpy()).all()


def test_mha_gradients_flow():
    mha = L.MultiHeadAttention(2, 3)
    x = ts.tensor(rnd(2, 4, 6), requires_grad=True)
    mha(x, x).sum().backward()
    assert x.grad is not None
    assert all(w.grad is not None for w in mha.trainable_weights)


# -- configs -------------------------------------------------------------------------------------------------
CONFIG_CASES = [
    (
        lambda: L.Dense(
            4,
            activation="tanh",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizers.L2(0.1),
        ),
        [(3, 5)],
    ),
    (lambda: L.Activation("relu"), [(3, 5)]),
    (lambda: L.ReLU(max_value=1.0), [(3, 5)]),
    (lambda: L.LeakyReLU(0.1), [(3, 5)]),
    (lambda: L.Softmax(axis=1), [(3, 5)]),
    (lambda: L.Dropout(0.2), [(3, 5)]),
    (lambda: L.Flatten(), [(3, 2, 5)]),
    (lambda: L.Reshape((5, 2)), [(3, 10)]),
    (lambda: L.Permute((2, 1)), [(3, 2, 5)]),
    (lambda: L.Embedding(10, 3), None),
    (lambda: L.Conv2D(3, (3, 2), strides=2, padding="same", activation="relu"), [(2, 6, 6, 2)]),
    (lambda: L.Conv1D(3, 2, padding="causal", dilation_rate=2), [(2, 6, 2)]),
    (lambda: L.MaxPooling2D(3, strides=1, padding="same"), [(2, 6, 6, 2)]),
    (lambda: L.AveragePooling2D(), [(2, 6, 6, 2)]),
    (lambda: L.GlobalAveragePooling2D(keepdims=True), [(2, 6, 6, 2)]),
    (lambda: L.BatchNormalization(momentum=0.9, epsilon=1e-2, center=False), [(4, 3)]),
    (lambda: L.LayerNormalization(axis=[1, 2], epsilon=1e-4), [(2, 3, 4)]),
    (lambda: L.SimpleRNN(3, activation="relu", return_sequences=True), [(2, 4, 3)]),
    (lambda: L.LSTM(3, unit_forget_bias=False, go_backwards=True), [(2, 4, 3)]),
    (lambda: L.GRU(3, reset_after=False, return_state=True), [(2, 4, 3)]),
    (lambda: L.MultiHeadAttention(2, 3, value_dim=4, output_shape=5), [(2, 4, 6), (2, 3, 6)]),
    (lambda: L.Concatenate(axis=1), "merge"),
    (lambda: L.Add(), "merge"),
]


@pytest.mark.parametrize("make,shapes", CONFIG_CASES)
def test_config_round_trip(make, shapes):
    layer = make()
    if shapes is None:
        inputs = [ts.tensor(np.array([[1, 2, 3]]))]
    elif shapes == "merge":
        inputs = [[ts.tensor(rnd(2, 3)), ts.tensor(rnd(2, 3, seed=1))]]
    else:
        inputs = [ts.tensor(rnd(*s, seed=i)) for i, s in enumerate(shapes)]
    layer.eval()
    y = layer(*inputs)
    cfg = json.loads(json.dumps(L.serialize(layer)))
    clone = L.deserialize(cfg)
    assert type(clone) is type(layer) and clone.name == layer.name
    assert clone.get_config() == layer.get_config()
    clone.eval()
    y2 = clone(*inputs)
    clone.set_weights(layer.get_weights())
    y2 = clone(*inputs)
    for a, b in zip(L.base.flatten(y), L.base.flatten(y2)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_input_layer_config():
    layer = L.InputLayer(shape=(3, 4), dtype="int64", name="ids")
    clone = L.deserialize(L.serialize(layer))
    assert clone.output.shape == (None, 3, 4) and clone.output.dtype is ts.int64 and clone.name == "ids"


def test_deserialize_unknown_and_custom():
    with pytest.raises(ValueError, match="custom_objects"):
        L.deserialize({"class_name": "Nope", "config": {}})

    class Scale(L.Layer):
        def build(self, input_shape):
            self.add_weight("w", (input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    s = L.deserialize(L.serialize(Scale(name="s")), custom_objects={"Scale": Scale})
    assert isinstance(s, Scale) and s.name == "s"


# -- weights, regularizers, custom layers --------------------------------------------------------------------
def test_regularizer_losses():
    d = L.Dense(
        3,
        kernel_regularizer=regularizers.L2(0.1),
        bias_regularizer="l1",
        bias_initializer="ones",
        activity_regularizer=regularizers.L1(0.5),
    )
    x = ts.tensor(rnd(4, 5))
    y = d(x)
    k = d.kernel.detach().numpy()
    losses = d.losses
    assert len(losses) == 3
    np.testing.assert_allclose(losses[0].item(), 0.1 * (k**2).sum(), rtol=1e-5)
    np.testing.assert_allclose(losses[1].item(), 0.01 * 3, rtol=1e-5)
    np.testing.assert_allclose(losses[2].item(), 0.5 * np.abs(y.detach().numpy()).sum() / 4, rtol=1e-5)
    losses[0].backward()
    np.testing.assert_allclose(d.kernel.grad.detach().numpy(), 0.2 * k, rtol=1e-5, atol=1e-6)
    l1l2 = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}})
    w = ts.tensor(np.array([1.0, -2.0], np.float32))
    np.testing.assert_allclose(l1l2(w).item(), 0.1 * 3 + 0.2 * 5, rtol=1e-6)
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    with pytest.raises(ValueError):
        regularizers.get("l3")


def test_initializers():
    assert np.all(initializers.get("zeros")((3, 4)) == 0)
    assert initializers.get("ones")((2,)).dtype == np.float32
    w = initializers.get("glorot_uniform")((200, 300))
    limit = np.sqrt(6 / 500)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    he = initializers.get("he_normal")((3, 3, 64, 128))  # fan_in = 3 * 3 * 64
    assert abs(he.std() - np.sqrt(2 / 576)) / np.sqrt(2 / 576) < 0.05
    assert np.abs(he).max() <= 2 * np.sqrt(2 / 576) / 0.87962566103423978 + 1e-6
    q = initializers.get("orthogonal")((5, 8))
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-5)
    ts.manual_seed(3)
    a = initializers.get("random_normal")((4,))
    ts.manual_seed(3)
    np.testing.assert_array_equal(a, initializers.get("random_normal")((4,)))
    cfg = initializers.serialize(initializers.VarianceScaling(2.0, "fan_out", "uniform"))
    assert initializers.get(cfg).get_config() == {
        "scale": 2.0,
        "mode": "fan_out",
        "distribution": "uniform",
        "seed": None,
        "input_axes": None,
        "output_axes": None,
    }
    with pytest.raises(ValueError):
        initializers.get("nope")


def test_get_set_weights_and_trainable():
    d = L.Dense(3)
    with pytest.raises(ValueError, match="isn't built"):
        d.count_params()
    d(ts.zeros(1, 4))
    assert d.count_params() == 15
    ws = [np.ones((4, 3)), np.arange(3.0)]
    d.set_weights(ws)
    np.testing.assert_array_equal(d.get_weights()[1], np.arange(3.0))
    with pytest.raises(ValueError, match="dense"):
        d.set_weights([np.ones((4, 3))])
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        d.set_weights([np.ones((3, 3)), np.ones(3)])
    np.testing.assert_array_equal(d.get_weights()[0], np.ones((4, 3)))  # unchanged after the failed call
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    assert not d.kernel.requires_grad
    d.trainable = True
    assert len(d.trainable_weights) == 2


def test_custom_layer_subclass():
    class Scale(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), initializer="ones", regularizer="l2")
            self.steps = self.add_weight("steps", (), initializer="zeros", trainable=False)

        def call(self, x):
            return x * self.w

    s = Scale()
    assert s.name == "scale"
    assert tuple(s(ts.ones(2, 3)).shape) == (2, 3)
    assert [n for n, _ in s.named_parameters()] == ["w"] and "steps" in dict(s.named_buffers())
    assert len(s.weights) == 2 and len(s.losses) == 1

    # lists of layers assigned as attributes are tracked
    class Stack(L.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = [L.Dense(2), L.Dense(3)]

        def call(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    st = Stack()
    st(ts.ones(1, 4))
    assert len(st.weights) == 4 and "blocks.1.kernel" in st.state_dict()


def test_names_are_unique_keras_style():
    assert [L.Dense(1).name, L.Dense(1).name, L.Conv2D(1, 1).name, L.ReLU().name] == [
        "dense",
        "dense_1",
        "conv2d",
        "re_lu",
    ]
    assert L.BatchNormalization().name == "batch_normalization"
    assert L.MultiHeadAttention(1, 1).name == "multi_head_attention"


def test_input_conversion_and_dtype():
    d = L.Dense(2)
    y = d(np.ones((3, 4)))  # float64 NumPy input: cast to the layer's float32
    assert y.dtype is ts.float32
    assert d.dtype == "float32"
    d64 = L.Dense(2, dtype="float64")
    assert d64(np.ones((3, 4))).dtype is ts.float64 and d64.kernel.dtype is ts.float64


# -- errors --------------------------------------------------------------------------------------------------
def test_wrong_input_shape_names_the_layer():
    d = L.Dense(3, name="my_dense")
    d(ts.zeros(2, 4))
    with pytest.raises(ValueError, match=r"my_dense.*axis -1.*value 4.*\(2, 5\)"):
        d(ts.zeros(2, 5))
    conv = L.Conv2D(2, 3)
    with pytest.raises(ValueError, match=r"conv2d.*ndim=4.*ndim=3"):
        conv(ts.zeros(2, 5, 5))
    with pytest.raises(ValueError, match="lstm"):
        L.LSTM(2)(ts.zeros(2, 5))
    with pytest.raises(ValueError, match="reshape"):
        L.Reshape((4, 4))(ts.zeros(2, 10))
    with pytest.raises(ValueError, match="'dense'.*last dimension"):
        L.Dense(3)(L.Input(shape=(None,)))


def test_constructor_validation():
    with pytest.raises(ValueError, match="units"):
        L.Dense(0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.Dense(3, foo=1)
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.5)
    with pytest.raises(ValueError, match="activation"):
        L.Dense(3, activation="nope")
