"""The dropout functionals and modules against PyTorch: which ranks they accept (and warn about), the
shape of the dropped slices, the scaling, ``inplace`` and keep rates under a fixed seed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts

F = ts.nn.functional
pytestmark = needs_torch

# name -> input shapes to try (ranks torch accepts, with or without a warning, and ones it rejects)
RANKS = {
    "dropout1d": [(3, 4), (2, 3, 4), (2, 3, 4, 5)],
    "dropout2d": [(2, 3), (3, 4, 4), (2, 3, 4, 4), (2, 3, 2, 2, 2)],
    "dropout3d": [(3, 2, 2, 2), (2, 3, 2, 2, 2), (2, 3, 4)],
    "feature_alpha_dropout": [(2,), (2, 3), (2, 3, 4, 4)],
}


def _outcome(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn()
        except (RuntimeError, ValueError) as e:
            return type(e).__name__, None, bool(caught)
    return "ok", out, bool(caught)


@pytest.mark.parametrize("name, shape", [(n, s) for n, shapes in RANKS.items() for s in shapes])
def test_ranks_warnings_and_dropped_slices_follow_torch(name, shape):
    x = np.arange(1, 1 + int(np.prod(shape)), dtype=np.float32).reshape(shape)
    ts.manual_seed(0)
    torch.manual_seed(0)
    got = _outcome(lambda: getattr(F, name)(ts.tensor(x), 0.5, True))
    want = _outcome(lambda: getattr(torch.nn.functional, name)(torch.tensor(x), 0.5, True))
    assert got[0] == want[0] and got[2] == want[2], (got[0], want[0], got[2], want[2])
    if got[0] != "ok" or name == "feature_alpha_dropout":
        return
    out = got[1].numpy()
    assert set(np.unique(np.round(out / x, 4))) <= {0.0, 2.0}  # dropped, or kept and scaled by 1/(1-p)
    # the dropped slices: the pattern of zeros is constant over the dims torch draws one value for
    ref = want[1].numpy() == 0
    batched = {"dropout1d": 3, "dropout2d": 4, "dropout3d": 5}[name]
    if x.ndim == batched or (name == "dropout2d" and x.ndim == 3):
        lead = 2
    elif x.ndim == batched - 1:
        lead = 1
    else:
        lead = min(2, x.ndim)
    for mask in (out == 0, ref):
        flat = mask.reshape(int(np.prod(shape[:lead])), -1)
        assert np.all(flat.all(1) | ~flat.any(1)), "a slice is partly dropped"


@pytest.mark.parametrize(
    "name", ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
)
def test_inplace_writes_into_the_input_and_eval_is_the_identity(name):
    shape = {"dropout1d": (2, 3, 4), "dropout3d": (2, 3, 2, 2, 2)}.get(name, (2, 3, 4, 4))
    x = ts.randn(*shape)
    before = x._version if hasattr(x, "_version") else None
    y = x.clone()
    out = getattr(F, name)(y, 0.5, True, True)
    assert out is y
    assert not np.array_equal(y.numpy(), x.numpy())
    if before is not None:
        assert y._version > 0
    assert getattr(F, name)(x, 0.5, False) is x
    with pytest.raises(
        ValueError, match=f"{name}: dropout probability has to be between 0 and 1, but got 1.5"
    ):
        getattr(F, name)(x, 1.5, True)


def test_modules_honour_inplace_and_the_keep_rate():
    x = ts.ones(200, 50)
    m = ts.nn.Dropout(0.3, inplace=True)
    assert m(x) is x
    kept = (x.numpy() != 0).mean()
    assert abs(kept - 0.7) < 0.02
    assert np.allclose(x.numpy()[x.numpy() != 0], 1 / 0.7)
    ts.manual_seed(3)
    a = ts.nn.Dropout2d(0.5)(ts.ones(4, 3, 2, 2))
    ts.manual_seed(3)
    b = F.dropout2d(ts.ones(4, 3, 2, 2), 0.5)
    assert np.array_equal(a.numpy(), b.numpy())
    assert repr(ts.nn.Dropout3d(0.2, inplace=True)) == repr(torch.nn.Dropout3d(0.2, inplace=True))


def test_torch_level_feature_dropouts():
    x = ts.ones(4, 3, 5)
    out = ts.feature_dropout(x, 0.5, True)
    zeros = out.numpy() == 0
    assert np.all(zeros.all(2) | ~zeros.any(2))
    y = x.clone()
    assert ts.feature_dropout_(y, 0.5, True) is y
    assert ts.feature_alpha_dropout(x, 0.5, False) is x
