"""``TransformerEncoderLayer`` / ``TransformerEncoder`` against PyTorch: state_dict layout, outputs and
gradients w.r.t. the input and every parameter, across options and masks."""

from __future__ import annotations

import re

import numpy as np
import pytest
from opcheck import needs_torch, torch
from opcheck import randn as rnd

import tessera as ts
import tessera.nn.functional as F

pytestmark = [
    needs_torch,
    pytest.mark.usefixtures("torch_one_thread"),
    pytest.mark.filterwarnings("ignore:Support for mismatched"),
]


def copy_weights(tmod, smod):
    tsd, ssd = tmod.state_dict(), smod.state_dict()
    assert list(tsd) == list(ssd)
    assert [tuple(v.shape) for v in tsd.values()] == [tuple(v.shape) for v in ssd.values()]
    smod.load_state_dict({k: v.detach().numpy() for k, v in tsd.items()})


def check_parity(tmod, smod, x, rtol=1e-5, atol=2e-5, **masks):
    copy_weights(tmod, smod)
    tx, sx = torch.tensor(x, requires_grad=True), ts.tensor(x, requires_grad=True)
    tkw = {
        k: (None if v is None else v if isinstance(v, bool) else torch.tensor(v)) for k, v in masks.items()
    }
    skw = {k: (None if v is None else v if isinstance(v, bool) else ts.tensor(v)) for k, v in masks.items()}
    to, so = tmod(tx, **tkw), smod(sx, **skw)
    np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=rtol, atol=atol)
    w = rnd(*x.shape, seed=11)
    (to * torch.tensor(w)).sum().backward()
    (so * ts.tensor(w)).sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (_, q) in zip(tmod.named_parameters(), smod.named_parameters(), strict=True):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def pair(cls_args, torch_act=None, ts_act=None, **kw):
    torch.manual_seed(0)
    t = torch.nn.TransformerEncoderLayer(*cls_args, **kw, **({"activation": torch_act} if torch_act else {}))
    s = ts.nn.TransformerEncoderLayer(*cls_args, **kw, **({"activation": ts_act} if ts_act else {}))
    return t, s


ACTS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "callable": (torch.nn.functional.silu, F.silu) if torch else None,
    "module": (torch.nn.GELU(), ts.nn.GELU()) if torch else None,
}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", list(ACTS))
def test_layer_parity(batch_first, norm_first, act):
    ta, sa = ACTS[act]
    t, s = pair((16, 4, 32), ta, sa, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    x = rnd(3, 7, 16) if batch_first else rnd(7, 3, 16)
    check_parity(t, s, x)


def _kpm(N, S):
    m = np.random.default_rng(3).random((N, S)) < 0.3
    m[:, 0] = False
    return m


@pytest.mark.parametrize(
    "masks",
    ["src_mask_float", "src_mask_bool", "kpm_bool", "kpm_float", "both", "causal_hint", "kpm+causal_hint"],
)
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_masks(masks, batch_first):
    t, s = pair((16, 2, 24), dropout=0.0, batch_first=batch_first)
    N, S = 3, 6
    x = rnd(N, S, 16) if batch_first else rnd(S, N, 16)
    kw = {}
    causal = np.triu(np.full((S, S), -np.inf, dtype=np.float32), 1)
    if masks == "src_mask_float":
        kw["src_mask"] = rnd(S, S, seed=4)
    if masks == "src_mask_bool":
        kw["src_mask"] = np.triu(np.ones((S, S), dtype=bool), 1)
    if masks in ("kpm_bool", "both", "kpm+causal_hint"):
        kw["src_key_padding_mask"] = _kpm(N, S)
    if masks == "kpm_float":
        kw["src_key_padding_mask"] = np.where(_kpm(N, S), -np.inf, 0).astype(np.float32)
    if masks == "both":
        kw["src_mask"] = causal
    if "causal_hint" in masks:
        kw["src_mask"], kw["is_causal"] = causal, True
    check_parity(t, s, x, **kw)


def test_layer_unbatched_and_eval_mode_dropout():
    t, s = pair((16, 4, 32), dropout=0.1)
    t.eval()
    s.eval()
    check_parity(t, s, rnd(5, 16))
    check_parity(t, s, rnd(5, 2, 16), src_key_padding_mask=_kpm(2, 5))
    s.train()
    x = ts.randn(5, 2, 16)
    ts.manual_seed(0)
    a = s(x)
    ts.manual_seed(1)
    b = s(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_norm", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_parity(num_layers, with_norm, batch_first):
    t_layer, s_layer = pair((16, 4, 32), dropout=0.0, batch_first=batch_first)
    torch.manual_seed(1)
    t_norm = torch.nn.LayerNorm(16) if with_norm else None
    s_norm = ts.nn.LayerNorm(16) if with_norm else None
    tenc = torch.nn.TransformerEncoder(t_layer, num_layers, norm=t_norm, enable_nested_tensor=False)
    senc = ts.nn.TransformerEncoder(s_layer, num_layers, norm=s_norm)
    x = rnd(2, 6, 16) if batch_first else rnd(6, 2, 16)
    causal = np.triu(np.full((6, 6), -np.inf, dtype=np.float32), 1)
    check_parity(tenc, senc, x, mask=causal, src_key_padding_mask=_kpm(2, 6))
    check_parity(tenc, senc, x, mask=causal)  # causal mask detected (is_causal=None)
    check_parity(tenc, senc, x)


def test_encoder_layers_are_independent_copies():
    layer = ts.nn.TransformerEncoderLayer(8, 2, 16)
    enc = ts.nn.TransformerEncoder(layer, 3)
    assert [k for k, _ in enc.named_children()] == ["layers"]
    assert [k for k, _ in enc.layers.named_children()] == ["0", "1", "2"]
    p0, p1 = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert p0 is not p1 and p0 is not layer.linear1.weight
    assert np.array_equal(p0.detach().numpy(), p1.detach().numpy())
    with ts.no_grad():
        p0.mul_(2)
    assert not np.array_equal(p0.detach().numpy(), p1.detach().numpy())
    torch_enc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16), 3, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False
    )
    s_enc = ts.nn.TransformerEncoder(layer, 3, norm=ts.nn.LayerNorm(8))
    assert list(torch_enc.state_dict()) == list(s_enc.state_dict())
    # one layer: PyTorch's ModuleList repr folds repeated layers ("(0-2): 3 x ..."); LayerNorm's repr is
    # compared with its own tests
    strip = lambda m: re.sub(r"(LayerNorm\(.*?), bias=True\)", r"\1)", repr(m))  # noqa: E731
    one_t = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16), 1, enable_nested_tensor=False
    )
    assert strip(ts.nn.TransformerEncoder(layer, 1)) == strip(one_t)


def test_layer_defaults_and_submodules():
    s = ts.nn.TransformerEncoderLayer(32, 4)
    t = torch.nn.TransformerEncoderLayer(32, 4)
    assert [k for k, _ in s.named_children()] == [k for k, _ in t.named_children()]
    assert s.linear1.out_features == 2048 and s.dropout.p == 0.1 and s.norm1.eps == 1e-5
    assert s.activation is F.relu and s.activation_relu_or_gelu == 1
    assert ts.nn.TransformerEncoderLayer(32, 4, activation="gelu").activation_relu_or_gelu == 2
    nb = ts.nn.TransformerEncoderLayer(32, 4, bias=False)
    tnb = torch.nn.TransformerEncoderLayer(32, 4, bias=False)
    assert list(nb.state_dict()) == list(tnb.state_dict())


def test_errors_name_the_layer():
    s = ts.nn.TransformerEncoderLayer(16, 4, 32)
    with pytest.raises(
        RuntimeError, match=r"TransformerEncoderLayer: expected src of shape .* got \(5, 2, 12\)"
    ):
        s(ts.randn(5, 2, 12))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        ts.nn.TransformerEncoderLayer(16, 4, activation="tanh")
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        ts.nn.TransformerEncoderLayer(16, 3)
    with pytest.raises(RuntimeError, match=r"MultiheadAttention: the shape of the 2D attn_mask is \(4, 4\)"):
        s(ts.randn(5, 2, 16), src_mask=ts.zeros(4, 4))
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        s(ts.randn(5, 2, 16), is_causal=True)
