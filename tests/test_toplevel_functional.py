"""The torch-level spellings of functional ops (``ts.conv2d``, ``ts.batch_norm(input, weight, bias, ...)``,
``ts.kl_div(..., reduction=2)``...) called exactly as PyTorch's top-level functions, against them."""

from __future__ import annotations

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera.nn.functional import toplevel

pytestmark = needs_torch
RNG = np.random.default_rng(0)


def _a(*shape, low=None):
    a = RNG.normal(size=shape).astype(np.float32)
    return np.abs(a) + low if low is not None else a


def _conv_args():
    return [_a(2, 3, 9), _a(4, 3, 3), _a(4)], (2, 1)


def _conv_transpose_args():
    return [_a(2, 3, 5, 5), _a(3, 2, 3, 3), _a(2)], (2, 1, 1)


X4 = _a(2, 3, 6, 6)
W, B, RM, RV = _a(3), _a(3), _a(3), _a(3, low=0.5)
LOGP = np.log(np.abs(_a(2, 3)) + 0.1)
TARGET_P = np.abs(_a(2, 3))

# name -> (array arguments, python arguments after them)
CASES = {
    "conv1d": ([_a(2, 3, 9), _a(4, 3, 3), _a(4)], (2, 1)),
    "conv2d": ([X4, _a(4, 3, 3, 3), _a(4)], (1, 1, 1, 1)),
    "conv3d": ([_a(1, 2, 4, 4, 4), _a(3, 2, 2, 2, 2), None], (1,)),
    "conv_transpose1d": ([_a(2, 3, 5), _a(3, 2, 3), _a(2)], (2, 1, 1)),
    "conv_transpose2d": ([_a(2, 3, 5, 5), _a(3, 2, 3, 3), _a(2)], (2, 1, 1)),
    "max_pool1d": ([_a(2, 3, 8)], (2,)),
    "max_pool2d": ([X4], (2, 2, 1)),
    "max_pool3d": ([_a(1, 2, 4, 4, 4)], (2,)),
    "avg_pool1d": ([_a(2, 3, 8)], (3, 2, 1, False, False)),
    "adaptive_avg_pool1d": ([_a(2, 3, 8)], (3,)),
    "adaptive_max_pool1d": ([_a(2, 3, 8)], (3,)),
    "max_pool1d_with_indices": ([_a(2, 3, 8)], (2,)),
    "batch_norm": ([X4, W, B, RM, RV], (True, 0.1, 1e-5, False)),
    "instance_norm": ([X4, W, B, RM, RV], (True, 0.1, 1e-5, False)),
    "layer_norm": ([X4], ([6, 6],)),
    "group_norm": ([X4, 3], ()),
    "rms_norm": ([X4], ([6],)),
    "bilinear": ([_a(4, 3), _a(4, 2), _a(5, 3, 2), _a(5)], ()),
    "cosine_similarity": ([_a(4, 3), _a(4, 3)], (1,)),
    "pairwise_distance": ([_a(4, 3), _a(4, 3)], (2.0, 1e-6, True)),
    "pdist": ([_a(5, 3)], (1.0,)),
    "pixel_shuffle": ([_a(1, 8, 2, 2)], (2,)),
    "pixel_unshuffle": ([_a(1, 2, 4, 4)], (2,)),
    "channel_shuffle": ([_a(1, 6, 2, 2)], (3,)),
    "native_channel_shuffle": ([_a(1, 6, 2, 2)], (2,)),
    "celu": ([_a(3, 4)], (0.7,)),
    "selu": ([_a(3, 4)], ()),
    "hardshrink": ([_a(3, 4)], (0.3,)),
    "threshold": ([_a(3, 4)], (0.1, -2.0)),
    "prelu": ([_a(2, 3, 4), np.array([0.2, 0.1, 0.4], np.float32)], ()),
    "rrelu": ([_a(3, 4)], (0.1, 0.3, False)),
    "binary_cross_entropy_with_logits": ([_a(3, 4), RNG.uniform(size=(3, 4)).astype(np.float32)], ()),
    "hinge_embedding_loss_default": ([_a(4, 3), np.sign(_a(4, 3))], ()),
    "kl_div_default": ([LOGP, TARGET_P], ()),
    "cosine_embedding_loss": ([_a(4, 3), _a(4, 3), np.array([1, -1, 1, -1], np.float32)], (0.1, 2)),
    "hinge_embedding_loss": ([_a(4, 3), np.sign(_a(4, 3))], (0.5, 0)),
    "margin_ranking_loss": ([_a(5), _a(5), np.sign(_a(5))], (0.2, 2)),
    "kl_div": ([LOGP, TARGET_P], (2,)),
    "poisson_nll_loss": ([_a(3, 4), np.abs(_a(3, 4))], (True, False, 1e-8, 1)),
    "triplet_margin_loss": ([_a(4, 3), _a(4, 3), _a(4, 3)], (1.0, 2.0, 1e-6, True, 0)),
    "constant_pad_nd": ([_a(2, 3)], ([1, 2, 0, 1], 1.5)),
    "grid_sampler": ([_a(1, 2, 4, 4), np.clip(_a(1, 3, 3, 2), -1, 1)], (0, 1, False)),
    "affine_grid_generator": ([_a(2, 2, 3)], ([2, 1, 4, 5], False)),
    "rsub": ([_a(3), _a(3)], ()),
    "fill": ([_a(3)], (2.5,)),
    "unravel_index": ([np.array([0, 5, 11, -1])], ((3, 4),)),
    "isin": ([np.array([1, 2, 3, 7]), np.array([7, 2, 9])], ()),
}


def _convert(lib, a):
    if isinstance(a, np.ndarray):
        return ts.tensor(a) if lib is ts else torch.tensor(a)
    return a


def _compare(got, want):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _compare(g, w)
        return
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_level_function_matches_torch(name):
    arrays, extra = CASES[name]
    fn = name.removesuffix("_default")  # the default reduction of torch's top-level losses is 'none'
    got = getattr(ts, fn)(*[_convert(ts, a) for a in arrays], *extra)
    want = getattr(torch, fn)(*[_convert(torch, a) for a in arrays], *extra)
    _compare(got, want)


def test_embedding_takes_the_table_first():
    table, idx = _a(5, 3), np.array([[0, 4], [4, 2]])
    got = ts.embedding(ts.tensor(table), ts.tensor(idx), 4)
    want = torch.embedding(torch.tensor(table), torch.tensor(idx), 4)
    _compare(got, want)


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_alpha_dropout"])
def test_dropouts_in_eval_are_the_identity_and_in_place_forms_write_in_place(name):
    x = ts.tensor(_a(2, 3, 4))
    assert np.array_equal(getattr(ts, name)(x, 0.5, False).numpy(), x.numpy())
    y = x.clone()
    assert getattr(ts, name + "_")(y, 0.5, True) is y


def test_every_name_is_exported_and_reductions_are_checked():
    assert all(getattr(ts, n) is getattr(toplevel, n) for n in toplevel.__all__)
    with pytest.raises(
        ValueError, match="kl_div: reduction must be 0 \\(none\\), 1 \\(mean\\) or 2 \\(sum\\)"
    ):
        ts.kl_div(ts.tensor(LOGP), ts.tensor(TARGET_P), 5)
    with pytest.raises(ValueError, match="unravel_index: 'indices' must be in range"):
        ts.unravel_index(ts.tensor([12]), (3, 4))


def test_scalar_tensor_zero_fill_and_detach():
    assert ts.scalar_tensor(3).dtype == ts.float32 and ts.scalar_tensor(3).item() == 3.0
    x = ts.ones(3)
    assert ts.zero_(x) is x and x.sum().item() == 0
    assert ts.fill_(x, 2.0) is x and x.sum().item() == 6
    w = ts.ones(2, requires_grad=True)
    assert not ts.detach(w * 2).requires_grad
