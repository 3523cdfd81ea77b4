"""RNN / LSTM / GRU and their cells against PyTorch: state_dict layout, outputs, and gradients w.r.t. the
inputs, the initial states and every parameter."""

from __future__ import annotations

import numpy as np
import pytest
from opcheck import needs_torch, torch
from opcheck import randn as rnd

import tessera as ts

pytestmark = [needs_torch, pytest.mark.usefixtures("torch_one_thread")]


# -- parity helper -------------------------------------------------------------------------------------------
def _convert(obj, to_torch, memo):
    if obj is None:
        return None
    if isinstance(obj, (tuple, list)):
        return type(obj)(_convert(o, to_torch, memo) for o in obj)
    if isinstance(obj, np.ndarray):
        if id(obj) not in memo:
            grad = obj.dtype.kind == "f"
            if to_torch:
                memo[id(obj)] = torch.tensor(obj, requires_grad=grad)
            else:
                memo[id(obj)] = ts.tensor(obj, requires_grad=grad)
        return memo[id(obj)]
    return obj


def _flat(obj):
    if isinstance(obj, (tuple, list)):
        return [x for o in obj for x in _flat(o)]
    return [obj]


def copy_weights(tmod, smod):
    sd = tmod.state_dict()
    ssd = smod.state_dict()
    assert list(sd) == list(ssd), f"state_dict keys differ:\n{list(sd)}\n{list(ssd)}"
    for k in sd:
        assert tuple(sd[k].shape) == tuple(ssd[k].shape), k
    smod.load_state_dict({k: v.detach().numpy() for k, v in sd.items()})


def check_parity(tmod, smod, args, kwargs=None, rtol=1e-5, atol=1e-5, seed=0):
    """Same outputs, and same gradients (for random cotangents) w.r.t. float inputs and all parameters."""
    kwargs = kwargs or {}
    copy_weights(tmod, smod)
    tm, sm = {}, {}
    t_args, s_args = _convert(args, True, tm), _convert(args, False, sm)
    t_kw = {k: _convert(v, True, tm) for k, v in kwargs.items()}
    s_kw = {k: _convert(v, False, sm) for k, v in kwargs.items()}
    t_out, s_out = _flat(tmod(*t_args, **t_kw)), _flat(smod(*s_args, **s_kw))
    assert len(t_out) == len(s_out)
    rng = np.random.default_rng(seed)
    t_loss, s_loss = 0, 0
    for t, s in zip(t_out, s_out):
        if t is None:
            assert s is None
            continue
        assert tuple(s.shape) == tuple(t.shape), (tuple(s.shape), tuple(t.shape))
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        t_loss = t_loss + (t * torch.tensor(w)).sum()
        s_loss = s_loss + (s * ts.tensor(w)).sum()
    t_loss.backward()
    s_loss.backward()
    t_leaves = [t for t in tm.values() if t.requires_grad]
    s_leaves = [sm[k] for k, t in tm.items() if t.requires_grad]
    for t, s in zip(t_leaves, s_leaves):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (_, q) in zip(tmod.named_parameters(), smod.named_parameters()):
        assert q.grad is not None, name
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def make(cls, *args, **kw):
    torch.manual_seed(0)
    tkw = dict(kw)
    return getattr(torch.nn, cls)(*args, **tkw), getattr(ts.nn, cls)(*args, **kw)


# -- layers --------------------------------------------------------------------------------------------------
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


@pytest.mark.parametrize("kind", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_parity(kind, batch_first, bidirectional, num_layers, with_state):
    cls, kw = kind
    In, H, N, T = 3, 5, 2, 4
    tm, sm = make(cls, In, H, num_layers, batch_first=batch_first, bidirectional=bidirectional, **kw)
    x = rnd(N, T, In) if batch_first else rnd(T, N, In)
    hx = None
    if with_state:
        D = 2 if bidirectional else 1
        h0 = rnd(num_layers * D, N, H, seed=1)
        hx = (h0, rnd(num_layers * D, N, H, seed=2)) if cls == "LSTM" else h0
    check_parity(tm, sm, (x, hx))


@pytest.mark.parametrize("kind", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input(kind, with_state):
    cls, kw = kind
    tm, sm = make(cls, 3, 4, 2, bidirectional=True, **kw)
    hx = None
    if with_state:
        hx = (rnd(4, 4, seed=1), rnd(4, 4, seed=2)) if cls == "LSTM" else rnd(4, 4, seed=1)
    check_parity(tm, sm, (rnd(6, 3), hx))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_long_sequence(cls):
    # T > 16 with an input needing gradients exercises the chunked time slicing.
    tm, sm = make(cls, 3, 4, 2, batch_first=True, bidirectional=True)
    check_parity(tm, sm, (rnd(2, 37, 3),), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_no_bias(cls):
    tm, sm = make(cls, 3, 4, 2, bias=False)
    assert not any("bias" in k for k in sm.state_dict())
    check_parity(tm, sm, (rnd(5, 2, 3),))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_proj_size(bidirectional):
    tm, sm = make("LSTM", 3, 6, 2, proj_size=2, bidirectional=bidirectional)
    D = 2 if bidirectional else 1
    hx = (rnd(2 * D, 2, 2, seed=1), rnd(2 * D, 2, 6, seed=2))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported with oneDNN"
        check_parity(tm, sm, (rnd(4, 2, 3), hx))


@pytest.mark.parametrize(
    "cls,kw",
    [
        ("RNN", {}),
        ("LSTM", {"bidirectional": True, "num_layers": 3}),
        ("GRU", {"num_layers": 2}),
        ("LSTM", {"proj_size": 2}),
    ],
)
def test_state_dict_layout_and_init(cls, kw):
    tm, sm = make(cls, 7, 5, **kw)
    tsd, ssd = tm.state_dict(), sm.state_dict()
    assert list(tsd) == list(ssd)
    assert [tuple(v.shape) for v in tsd.values()] == [tuple(v.shape) for v in ssd.values()]
    bound = 1 / np.sqrt(5)
    for v in ssd.values():
        a = v.detach().numpy()
        assert a.min() >= -bound and a.max() <= bound
    big = ts.nn.LSTM(10, 100).weight_ih_l0.detach().numpy()
    assert abs(big.std() - 0.1 / np.sqrt(3)) < 0.003 and abs(big.mean()) < 0.003  # uniform(-0.1, 0.1)
    # and state_dicts load back into torch unchanged
    tm.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ssd.items()})
    assert repr(sm) == repr(tm)


def test_dropout_between_layers():
    m = ts.nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = ts.randn(6, 2, 3)
    m.eval()
    a, b = m(x)[0], m(x)[0]
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    ts.manual_seed(0)
    c = m(x)[0]
    ts.manual_seed(1)
    d = m(x)[0]
    assert not np.allclose(c.detach().numpy(), d.detach().numpy())
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        ts.nn.LSTM(3, 4, dropout=0.2)


def test_double_precision_gradcheck():
    ts.manual_seed(0)
    m = ts.nn.LSTM(2, 3, bidirectional=True).double()
    x = ts.randn(3, 2, 2, dtype=ts.float64, requires_grad=True)
    h0 = ts.randn(2, 2, 3, dtype=ts.float64, requires_grad=True)
    c0 = ts.randn(2, 2, 3, dtype=ts.float64, requires_grad=True)
    assert ts.autograd.gradcheck(lambda a, b, c: m(a, (b, c))[0], (x, h0, c0))
    g = ts.nn.GRU(2, 3).double()
    assert ts.autograd.gradcheck(lambda a: g(a)[1], (x,))


def test_errors_name_the_layer():
    lstm = ts.nn.LSTM(4, 5, num_layers=2)
    with pytest.raises(
        RuntimeError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 4, got 3"
    ):
        lstm(ts.randn(6, 2, 3))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D"):
        lstm(ts.randn(1, 6, 2, 4))
    with pytest.raises(
        RuntimeError, match=r"LSTM: expected h_0 \(hidden size\) of shape \(2, 2, 5\), got \(1, 2, 5\)"
    ):
        lstm(ts.randn(6, 2, 4), (ts.zeros(1, 2, 5), ts.zeros(2, 2, 5)))
    with pytest.raises(RuntimeError, match=r"LSTM: expected c_0 \(hidden size\)"):
        lstm(ts.randn(6, 2, 4), (ts.zeros(2, 2, 5), ts.zeros(2, 3, 5)))
    with pytest.raises(TypeError, match="LSTM: expected hx to be a tuple"):
        lstm(ts.randn(6, 2, 4), ts.zeros(2, 2, 5))
    gru = ts.nn.GRU(4, 5)
    with pytest.raises(RuntimeError, match="GRU: for unbatched 2-D input, h_0 should also be 2-D"):
        gru(ts.randn(6, 4), ts.zeros(1, 1, 5))
    with pytest.raises(RuntimeError, match="GRU: expected input with dtype float32"):
        gru(ts.randn(6, 2, 4, dtype=ts.float64))
    with pytest.raises(ValueError, match="RNN: Unknown nonlinearity 'gelu'"):
        ts.nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="GRU: hidden_size must be greater than zero"):
        ts.nn.GRU(3, 0)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        ts.nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match="LSTMCell: input has inconsistent input_size: got 3 expected 4"):
        ts.nn.LSTMCell(4, 5)(ts.randn(2, 3))
    with pytest.raises(
        RuntimeError, match=r"GRUCell: expected hx \(hidden size\) of shape \(2, 5\), got \(2, 4\)"
    ):
        ts.nn.GRUCell(4, 5)(ts.randn(2, 4), ts.zeros(2, 4))
    with pytest.raises(ValueError, match="RNNCell: Expected input to be 1D or 2D, got 3D"):
        ts.nn.RNNCell(4, 5)(ts.randn(1, 2, 4))


# -- cells ---------------------------------------------------------------------------------------------------
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize("kind", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_parity(kind, batched, with_state, bias):
    cls, kw = kind
    tm, sm = make(cls, 3, 4, bias=bias, **kw)
    shape = (2,) if batched else ()
    x = rnd(*shape, 3)
    hx = None
    if with_state:
        hx = (rnd(*shape, 4, seed=1), rnd(*shape, 4, seed=2)) if cls == "LSTMCell" else rnd(*shape, 4, seed=1)
    check_parity(tm, sm, (x, hx))
    assert repr(sm) == repr(tm)


def test_cell_unrolled_matches_layer():
    # An LSTMCell stepped by hand gives the LSTM layer's outputs with the same weights.
    layer = ts.nn.LSTM(3, 4)
    cell = ts.nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = ts.randn(5, 2, 3)
    out, (h_n, c_n) = layer(x)
    h = c = ts.zeros(2, 4)
    for t in range(5):
        h, c = cell(x[t], (h, c))
        np.testing.assert_allclose(h.detach().numpy(), out[t].detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(c.detach().numpy(), c_n[0].detach().numpy(), rtol=1e-6, atol=1e-6)
