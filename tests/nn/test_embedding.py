"""``nn.Embedding`` against PyTorch: lookup, gradients (padding_idx rows get none), max_norm, from_pretrained,
state dicts and errors."""

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts


def _pair(n=10, d=4, **kw):
    tmod, mod = torch.nn.Embedding(n, d, **kw), ts.nn.Embedding(n, d, **kw)
    mod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    return tmod, mod


@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("shape", [(5,), (2, 6), (2, 3, 2)])
def test_embedding_forward_and_weight_grad(padding_idx, shape):
    tmod, mod = _pair(padding_idx=padding_idx)
    idx = np.random.default_rng(0).integers(0, 10, shape)
    idx.flat[0] = 3  # repeated and padding indices
    idx.flat[-1] = 3
    yt, ys = tmod(torch.tensor(idx)), mod(ts.tensor(idx))
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    ys.backward(ts.tensor(g))
    np.testing.assert_allclose(mod.weight.grad.numpy(), tmod.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
    if padding_idx is not None:
        assert not mod.weight.grad.numpy()[padding_idx].any()


def test_embedding_init_state_dict_and_repr():
    ts.manual_seed(0)
    emb = ts.nn.Embedding(2000, 8, padding_idx=5)
    w = emb.weight.detach().numpy()
    assert not w[5].any()
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1.0) < 0.05  # N(0, 1)
    assert list(emb.state_dict()) == ["weight"] and tuple(emb.weight.shape) == (2000, 8)
    assert emb.weight.requires_grad
    assert repr(emb) == "Embedding(2000, 8, padding_idx=5)"
    assert ts.nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3


@needs_torch
def test_embedding_max_norm_renormalizes_looked_up_rows():
    tmod, mod = _pair(max_norm=1.0)
    with torch.no_grad():
        tmod.weight.mul_(3)
    mod.load_state_dict({"weight": tmod.weight.detach().numpy()})
    idx = np.array([[1, 2, 2], [7, 1, 0]])
    yt, ys = tmod(torch.tensor(idx)), mod(ts.tensor(idx))
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        mod.weight.detach().numpy(), tmod.weight.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    assert np.linalg.norm(mod.weight.detach().numpy()[[0, 1, 2, 7]], axis=1).max() <= 1.0 + 1e-5


def test_embedding_from_pretrained():
    table = ts.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    emb = ts.nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(ts.tensor([2, 0])).numpy(), [[5.0, 6.0], [1.0, 2.0]])
    emb2 = ts.nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert emb2.weight.requires_grad and emb2.padding_idx == 1
    np.testing.assert_array_equal(emb2.weight.detach().numpy()[1], [3.0, 4.0])  # not zeroed, like PyTorch
    out = emb2(ts.tensor([1, 2, 1]))
    out.sum().backward()
    np.testing.assert_array_equal(emb2.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1]])
    with pytest.raises(ValueError, match="from_pretrained: embeddings parameter is expected to be 2-D"):
        ts.nn.Embedding.from_pretrained(ts.ones(3))


def test_embedding_errors():
    emb = ts.nn.Embedding(5, 2)
    with pytest.raises(IndexError, match="Embedding: index 5 is out of range for num_embeddings=5"):
        emb(ts.tensor([0, 5]))
    with pytest.raises(IndexError, match="Embedding: index -1 is out of range"):
        emb(ts.tensor([-1]))
    with pytest.raises(
        TypeError, match="Embedding: expected an int64 or int32 tensor of indices, got float32"
    ):
        emb(ts.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be within num_embeddings \(5\)"):
        ts.nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="Embedding: shape of weight does not match"):
        ts.nn.Embedding(5, 2, _weight=ts.ones(4, 2))
