"""``ts.nn.utils.rnn`` against ``torch.nn.utils.rnn``: packing, padding and the recurrent layers on packed
batches (outputs, final states and input gradients), plus PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera.nn.utils import rnn as R

pytestmark = needs_torch
RNG = np.random.default_rng(0)


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_recurrent_layers_on_packed_batches_match_torch(cls, batch_first, bidirectional, enforce_sorted):
    tm = getattr(torch.nn, cls)(4, 5, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    m = getattr(ts.nn, cls)(4, 5, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    m.load_state_dict({k: ts.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = RNG.normal(size=(3, 6, 4) if batch_first else (6, 3, 4)).astype(np.float32)
    lengths = [6, 4, 2] if enforce_sorted else [4, 6, 2]
    xr, xt = torch.tensor(x, requires_grad=True), ts.tensor(x, requires_grad=True)
    tp = torch.nn.utils.rnn.pack_padded_sequence(xr, lengths, batch_first, enforce_sorted)
    pp = R.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(_np(pp.data), _np(tp.data))
    assert pp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    to, th = tm(tp)
    o, h = m(pp)
    assert isinstance(o, R.PackedSequence)
    assert (o.sorted_indices is None) == (to.sorted_indices is None)
    if to.sorted_indices is not None:
        assert o.sorted_indices.tolist() == to.sorted_indices.tolist()
    states = list(zip(h, th)) if cls == "LSTM" else [(h, th)]
    np.testing.assert_allclose(_np(o.data), _np(to.data), atol=1e-5)
    for a, b in states:
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-5)
    po, pl = R.pad_packed_sequence(o, batch_first=batch_first)
    tpo, tpl = torch.nn.utils.rnn.pad_packed_sequence(to, batch_first=batch_first)
    np.testing.assert_allclose(_np(po), _np(tpo), atol=1e-5)
    assert pl.tolist() == tpl.tolist()
    (po.sum() + sum(a.sum() for a, _ in states)).backward()
    (tpo.sum() + sum(b.sum() for _, b in states)).backward()
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), atol=1e-5)


def test_packed_batch_with_an_initial_state():
    tm, m = torch.nn.GRU(3, 4), ts.nn.GRU(3, 4)
    m.load_state_dict({k: ts.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = RNG.normal(size=(5, 2, 3)).astype(np.float32)
    h0 = RNG.normal(size=(1, 2, 4)).astype(np.float32)
    lengths = [2, 5]
    _, th = tm(torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False),
               torch.tensor(h0))  # fmt: skip
    _, h = m(R.pack_padded_sequence(ts.tensor(x), lengths, enforce_sorted=False), ts.tensor(h0))
    np.testing.assert_allclose(_np(h), _np(th), atol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_and_its_inverse(batch_first, padding_side):
    seqs = [RNG.normal(size=(n, 2)).astype(np.float32) for n in (3, 1, 4)]
    got = R.pad_sequence([ts.tensor(s) for s in seqs], batch_first, -1.0, padding_side)
    want = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0, padding_side)
    np.testing.assert_array_equal(_np(got), _np(want))
    if padding_side == "right":
        back = R.unpad_sequence(got, ts.tensor([3, 1, 4]), batch_first)
        for a, b in zip(back, seqs):
            np.testing.assert_array_equal(_np(a), b)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_sequence(enforce_sorted):
    lengths = (4, 3, 1) if enforce_sorted else (1, 4, 3)
    seqs = [RNG.normal(size=(n,)).astype(np.float32) for n in lengths]
    got = R.pack_sequence([ts.tensor(s) for s in seqs], enforce_sorted)
    want = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted)
    np.testing.assert_array_equal(_np(got.data), _np(want.data))
    assert got.batch_sizes.tolist() == want.batch_sizes.tolist()
    for a, b in zip(R.unpack_sequence(got), seqs):
        np.testing.assert_array_equal(_np(a), b)


def test_pad_packed_sequence_total_length():
    packed = R.pack_padded_sequence(ts.ones(3, 2, 1), [3, 2])
    padded, _ = R.pad_packed_sequence(packed, total_length=5, padding_value=9.0)
    assert padded.shape == (5, 2, 1) and padded[3:].eq(9.0).all().item()
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        R.pad_packed_sequence(packed, total_length=2)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda P: P(ts.ones(3, 2, 1), [1, 3]),
            "must be sorted in decreasing order when `enforce_sorted` is True",
        ),
        (lambda P: P(ts.ones(3, 2, 1), [3, 0], enforce_sorted=False), "has to be greater than 0"),
        (lambda P: P(ts.ones(3, 2, 1), [3, 2, 1]), "Expected `len\\(lengths\\)` to be equal to batch_size"),
    ],
)
def test_packing_errors_match_torch(call, match):
    with pytest.raises(RuntimeError, match=match):
        call(R.pack_padded_sequence)
    with pytest.raises((RuntimeError, ValueError)):
        call(
            lambda x, lengths, **kw: torch.nn.utils.rnn.pack_padded_sequence(
                torch.ones(3, 2, 1), lengths, **kw
            )
        )
