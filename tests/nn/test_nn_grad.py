"""``ts.nn.grad`` (convolution gradients w.r.t. input and weight), ``ts.nn.factory_kwargs`` and
``ts.nn.common_types`` against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts

pytestmark = needs_torch
RNG = np.random.default_rng(0)

CASES = [  # nd, input shape, weight shape, stride, padding, dilation, groups
    (1, (2, 4, 9), (6, 2, 3), 2, 1, 1, 2),
    (2, (1, 3, 7, 6), (4, 3, 3, 2), 1, (1, 0), 2, 1),
    (3, (1, 2, 5, 5, 4), (3, 2, 2, 3, 2), 2, 0, 1, 1),
]


@pytest.mark.parametrize("nd, xs, ws, stride, padding, dilation, groups", CASES)
def test_conv_input_and_weight_gradients_match_torch(nd, xs, ws, stride, padding, dilation, groups):
    x, w = RNG.normal(size=xs).astype(np.float32), RNG.normal(size=ws).astype(np.float32)
    conv = getattr(torch.nn.functional, f"conv{nd}d")
    out_shape = conv(torch.tensor(x), torch.tensor(w), None, stride, padding, dilation, groups).shape
    g = RNG.normal(size=tuple(out_shape)).astype(np.float32)
    args = (stride, padding, dilation, groups)
    want_x = getattr(torch.nn.grad, f"conv{nd}d_input")(xs, torch.tensor(w), torch.tensor(g), *args)
    got_x = getattr(ts.nn.grad, f"conv{nd}d_input")(xs, ts.tensor(w), ts.tensor(g), *args)
    np.testing.assert_allclose(got_x.numpy(), want_x.numpy(), rtol=1e-4, atol=1e-5)
    want_w = getattr(torch.nn.grad, f"conv{nd}d_weight")(torch.tensor(x), ws, torch.tensor(g), *args)
    got_w = getattr(ts.nn.grad, f"conv{nd}d_weight")(ts.tensor(x), ws, ts.tensor(g), *args)
    np.testing.assert_allclose(got_w.numpy(), want_w.numpy(), rtol=1e-4, atol=1e-4)


def test_conv_gradient_shape_mismatch_is_named():
    with pytest.raises(RuntimeError, match=r"conv2d_input: grad_output has shape \(1, 4, 5, 5\)"):
        ts.nn.grad.conv2d_input((1, 3, 8, 8), ts.randn(4, 3, 3, 3), ts.randn(1, 4, 5, 5))


def test_factory_kwargs_like_torch():
    for kw in ({"dtype": "d"}, {"device": "cpu", "factory_kwargs": {"dtype": "x"}}, None):
        assert ts.nn.factory_kwargs(kw) == torch.nn.factory_kwargs(kw)
    for bad in ({"dtype": 1, "factory_kwargs": {"dtype": 2}}, {"colour": 1}):
        with pytest.raises(TypeError):
            torch.nn.factory_kwargs(bad)
        with pytest.raises(TypeError):
            ts.nn.factory_kwargs(bad)


def test_common_types_has_torchs_aliases():
    names = {n for n in dir(torch.nn.common_types) if n.startswith("_") and n.endswith("_t")}
    assert names <= set(dir(ts.nn.common_types))
