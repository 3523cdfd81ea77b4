"""``Transformer`` and its encoder/decoder layers and stacks against PyTorch: state_dict layout, outputs and
gradients w.r.t. the input and every parameter, across options and masks."""

from __future__ import annotations

import math
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
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
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


# -- decoder and full Transformer -------------------------------------------------------------------------
def check_parity_multi(tmod, smod, xs, rtol=1e-5, atol=2e-5, **masks):
    """``check_parity`` for modules taking several tensor inputs (decoder: tgt, memory; Transformer: src,
    tgt): outputs, gradients w.r.t. every input and every parameter."""
    copy_weights(tmod, smod)
    txs = [torch.tensor(x, requires_grad=True) for x in xs]
    sxs = [ts.tensor(x, requires_grad=True) for x in xs]
    tkw = {k: (v if v is None or isinstance(v, bool) else torch.tensor(v)) for k, v in masks.items()}
    skw = {k: (v if v is None or isinstance(v, bool) else ts.tensor(v)) for k, v in masks.items()}
    to, so = tmod(*txs, **tkw), smod(*sxs, **skw)
    np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=rtol, atol=atol)
    w = rnd(*to.shape, seed=11)
    (to * torch.tensor(w)).sum().backward()
    (so * ts.tensor(w)).sum().backward()
    for tx, sx in zip(txs, sxs, strict=True):
        np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (_, q) in zip(tmod.named_parameters(), smod.named_parameters(), strict=True):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def dec_pair(args, torch_act=None, ts_act=None, **kw):
    torch.manual_seed(0)
    t = torch.nn.TransformerDecoderLayer(*args, **kw, **({"activation": torch_act} if torch_act else {}))
    s = ts.nn.TransformerDecoderLayer(*args, **kw, **({"activation": ts_act} if ts_act else {}))
    return t, s


def _causal(n):
    return np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", list(ACTS))
def test_decoder_layer_parity(batch_first, norm_first, act):
    ta, sa = ACTS[act]
    t, s = dec_pair((16, 4, 32), ta, sa, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    assert [k for k, _ in s.named_children()] == [k for k, _ in t.named_children()]
    tgt = rnd(3, 5, 16) if batch_first else rnd(5, 3, 16)
    mem = rnd(3, 7, 16, seed=2) if batch_first else rnd(7, 3, 16, seed=2)
    check_parity_multi(t, s, [tgt, mem])


@pytest.mark.parametrize(
    "masks", ["tgt_mask", "tgt_bool", "memory_mask", "kpms", "causal_hint", "all", "memory_is_causal"]
)
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_masks(masks, batch_first):
    t, s = dec_pair((16, 2, 24), dropout=0.0, batch_first=batch_first)
    N, T, S = 3, 5, 6
    tgt = rnd(N, T, 16) if batch_first else rnd(T, N, 16)
    mem = rnd(N, S, 16, seed=2) if batch_first else rnd(S, N, 16, seed=2)
    kw = {}
    if masks in ("tgt_mask", "all"):
        kw["tgt_mask"] = _causal(T)
    if masks == "tgt_bool":
        kw["tgt_mask"] = np.triu(np.ones((T, T), dtype=bool), 1)
    if masks in ("memory_mask", "all"):
        kw["memory_mask"] = rnd(T, S, seed=5)
    if masks in ("kpms", "all"):
        kw["tgt_key_padding_mask"] = _kpm(N, T)
        kw["memory_key_padding_mask"] = _kpm(N, S)
    if masks == "causal_hint":
        kw["tgt_mask"], kw["tgt_is_causal"] = _causal(T), True
    if masks == "memory_is_causal":
        kw["memory_mask"], kw["memory_is_causal"] = np.triu(np.full((T, S), -np.inf, np.float32), 1), True
    check_parity_multi(t, s, [tgt, mem], **kw)


def test_decoder_layer_unbatched_and_errors():
    t, s = dec_pair((16, 4, 32), dropout=0.0)
    check_parity_multi(t, s, [rnd(4, 16), rnd(6, 16, seed=3)])
    with pytest.raises(
        RuntimeError, match=r"TransformerDecoderLayer: expected memory of shape .* \(6, 2, 12\)"
    ):
        s(ts.randn(4, 2, 16), ts.randn(6, 2, 12))
    with pytest.raises(RuntimeError, match="TransformerDecoderLayer: tgt and memory must both be batched"):
        s(ts.randn(4, 2, 16), ts.randn(6, 16))
    with pytest.raises(RuntimeError, match="TransformerDecoderLayer: activation should be relu/gelu"):
        ts.nn.TransformerDecoderLayer(16, 4, activation="swish")
    with pytest.raises(TypeError, match="TransformerDecoderLayer: activation must be"):
        ts.nn.TransformerDecoderLayer(16, 4, activation=3)
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        s(ts.randn(4, 2, 16), ts.randn(6, 2, 16), tgt_is_causal=True)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_norm", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_parity(num_layers, with_norm, batch_first):
    t_layer, s_layer = dec_pair((16, 4, 32), dropout=0.0, batch_first=batch_first)
    tdec = torch.nn.TransformerDecoder(
        t_layer, num_layers, norm=torch.nn.LayerNorm(16) if with_norm else None
    )
    sdec = ts.nn.TransformerDecoder(s_layer, num_layers, norm=ts.nn.LayerNorm(16) if with_norm else None)
    assert list(tdec.state_dict()) == list(sdec.state_dict())
    tgt = rnd(2, 5, 16) if batch_first else rnd(5, 2, 16)
    mem = rnd(2, 6, 16, seed=2) if batch_first else rnd(6, 2, 16, seed=2)
    check_parity_multi(tdec, sdec, [tgt, mem], tgt_mask=_causal(5), tgt_key_padding_mask=_kpm(2, 5))
    check_parity_multi(tdec, sdec, [tgt, mem], tgt_mask=_causal(5))  # causal mask detected
    check_parity_multi(tdec, sdec, [tgt, mem])
    with pytest.raises(ValueError, match="TransformerDecoder: num_layers must be"):
        ts.nn.TransformerDecoder(s_layer, -1)


def _transformers(**kw):
    torch.manual_seed(0)
    args = dict(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=32)
    args.update(kw)
    return torch.nn.Transformer(**args), ts.nn.Transformer(**args)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_parity(batch_first, norm_first):
    t, s = _transformers(dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    assert list(t.state_dict()) == list(s.state_dict())
    N, S, T = 2, 6, 5
    src = rnd(N, S, 16) if batch_first else rnd(S, N, 16)
    tgt = rnd(N, T, 16, seed=2) if batch_first else rnd(T, N, 16, seed=2)
    check_parity_multi(t, s, [src, tgt])
    mask = ts.nn.Transformer.generate_square_subsequent_mask(T).numpy()
    check_parity_multi(
        t,
        s,
        [src, tgt],
        tgt_mask=mask,
        src_key_padding_mask=_kpm(N, S),
        tgt_key_padding_mask=_kpm(N, T),
        memory_key_padding_mask=_kpm(N, S),
    )
    check_parity_multi(t, s, [src, tgt], src_mask=rnd(S, S, seed=7), memory_mask=rnd(T, S, seed=8))
    check_parity_multi(t, s, [src, tgt], tgt_mask=mask, tgt_is_causal=True)


def test_transformer_defaults_init_and_mask():
    s = ts.nn.Transformer()
    t = torch.nn.Transformer()
    assert list(s.state_dict()) == list(t.state_dict())
    assert [tuple(v.shape) for v in s.state_dict().values()] == [
        tuple(v.shape) for v in t.state_dict().values()
    ]
    assert s.d_model == 512 and s.nhead == 8 and s.batch_first is False
    assert len(s.encoder.layers) == 6 and isinstance(s.encoder.norm, ts.nn.LayerNorm)
    # xavier_uniform_ on every matrix: the bound of U(-a, a) is sqrt(6 / (fan_in + fan_out))
    w = s.encoder.layers[0].linear1.weight.detach().numpy()
    bound = math.sqrt(6 / (512 + 2048))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert s.encoder.layers[0].linear1.bias.detach().numpy().max() <= 1 / math.sqrt(512)  # vectors untouched
    m = ts.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(m.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert ts.nn.Transformer.generate_square_subsequent_mask(3, dtype=ts.float64).dtype is ts.float64
    with pytest.raises(ValueError, match="generate_square_subsequent_mask: sz must be"):
        ts.nn.Transformer.generate_square_subsequent_mask(-1)


def test_transformer_loads_torch_state_dict_and_errors():
    t, s = _transformers(dropout=0.0, batch_first=True)
    s.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    src, tgt = rnd(2, 6, 16), rnd(2, 4, 16, seed=1)
    with torch.no_grad():
        expect = t(torch.tensor(src), torch.tensor(tgt)).numpy()
    np.testing.assert_allclose(
        s(ts.tensor(src), ts.tensor(tgt)).detach().numpy(), expect, rtol=1e-5, atol=2e-5
    )
    with pytest.raises(RuntimeError, match="Transformer: the batch number of src and tgt must be equal"):
        s(ts.randn(2, 6, 16), ts.randn(3, 4, 16))
    with pytest.raises(
        RuntimeError, match="Transformer: the feature number of src and tgt must be equal to d_model"
    ):
        s(ts.randn(2, 6, 16), ts.randn(2, 4, 8))


def test_transformer_as_a_base_class_and_custom_parts():
    class Seq2Seq(ts.nn.Transformer):
        def __init__(self, vocab, d_model=16):
            super().__init__(
                d_model=d_model,
                nhead=2,
                num_encoder_layers=1,
                num_decoder_layers=1,
                dim_feedforward=32,
                dropout=0.0,
                batch_first=True,
            )
            self.embed = ts.nn.Embedding(vocab, d_model)
            self.out = ts.nn.Linear(d_model, vocab)

        def forward(self, src, tgt):
            mask = self.generate_square_subsequent_mask(tgt.shape[1])
            return self.out(super().forward(self.embed(src), self.embed(tgt), tgt_mask=mask))

    m = Seq2Seq(11)
    assert m(ts.randint(0, 11, (2, 5)), ts.randint(0, 11, (2, 4))).shape == (2, 4, 11)
    assert [k for k, _ in m.named_children()] == ["encoder", "decoder", "embed", "out"]
    enc = ts.nn.TransformerEncoder(ts.nn.TransformerEncoderLayer(16, 2, 32), 1)
    custom = ts.nn.Transformer(16, 2, custom_encoder=enc, num_decoder_layers=1, dim_feedforward=32)
    assert custom.encoder is enc and custom.encoder.norm is None
    assert custom(ts.randn(5, 2, 16), ts.randn(3, 2, 16)).shape == (3, 2, 16)
