"""``scaled_dot_product_attention``, ``multi_head_attention_forward`` and ``MultiheadAttention`` against
PyTorch: outputs, attention weights and gradients w.r.t. the inputs and every parameter."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from opcheck import needs_torch, torch
from opcheck import randn as rnd

import tessera as ts
import tessera.nn.functional as F

pytestmark = [needs_torch, pytest.mark.usefixtures("torch_one_thread")]


def _convert(obj, to_torch, memo):
    if isinstance(obj, (tuple, list)):
        return type(obj)(_convert(o, to_torch, memo) for o in obj)
    if isinstance(obj, np.ndarray):
        if id(obj) not in memo:
            grad = obj.dtype.kind == "f"
            memo[id(obj)] = (
                torch.tensor(obj, requires_grad=grad) if to_torch else ts.tensor(obj, requires_grad=grad)
            )
        return memo[id(obj)]
    return obj


def check_parity(
    tfn, sfn, args, kwargs=None, rtol=1e-5, atol=1e-5, seed=0, tmod=None, smod=None, grad_masks=False
):
    """``tfn``/``sfn`` (torch / Tessera) agree on outputs and on gradients w.r.t. float inputs (not float
    masks unless ``grad_masks``) and the modules' parameters. NaN outputs must match NaN."""
    kwargs = kwargs or {}
    if tmod is not None:
        assert list(tmod.state_dict()) == list(smod.state_dict())
        smod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    tm, sm = {}, {}
    t_out = tfn(*_convert(args, True, tm), **{k: _convert(v, True, tm) for k, v in kwargs.items()})
    s_out = sfn(*_convert(args, False, sm), **{k: _convert(v, False, sm) for k, v in kwargs.items()})
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    s_out = s_out if isinstance(s_out, tuple) else (s_out,)
    rng = np.random.default_rng(seed)
    t_loss = s_loss = 0
    for t, s in zip(t_out, s_out, strict=True):
        if t is None:
            assert s is None
            continue
        assert tuple(s.shape) == tuple(t.shape)
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        keep = ~np.isnan(t.detach().numpy())
        t_loss = t_loss + (torch.where(torch.tensor(keep), t, 0) * torch.tensor(w)).sum()
        s_loss = s_loss + (ts.where(ts.tensor(keep), s, 0) * ts.tensor(w)).sum()
    t_loss.backward()
    s_loss.backward()
    mask_ids = {id(v) for k, v in kwargs.items() if "mask" in k} if not grad_masks else set()
    for key, t in tm.items():
        if t.requires_grad and key not in mask_ids:
            g = sm[key].grad
            assert (g is None) == (t.grad is None)
            if g is not None:
                np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    if tmod is not None:
        for (name, p), (_, q) in zip(tmod.named_parameters(), smod.named_parameters(), strict=True):
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


# -- scaled_dot_product_attention ----------------------------------------------------------------------------
def _bool_mask(*shape, seed=3, p=0.3):
    m = np.random.default_rng(seed).random(shape) >= p
    m[..., 0] = True  # every query sees at least one key
    return m


@pytest.mark.parametrize(
    "qs,ks,vs",
    [
        ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)),
        ((5, 4), (7, 4), (7, 3)),
        ((2, 1, 5, 4), (3, 7, 4), (3, 7, 4)),  # broadcasting batch dims
    ],
)
@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal", "bool_bcast"])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_parity(qs, ks, vs, mask, scale):
    q, k, v = rnd(*qs, seed=0), rnd(*ks, seed=1), rnd(*vs, seed=2)
    L, S = qs[-2], ks[-2]
    kw = {"scale": scale}
    if mask == "bool":
        kw["attn_mask"] = _bool_mask(L, S)
    elif mask == "bool_bcast":
        kw["attn_mask"] = _bool_mask(qs[0], 1, L, S) if len(qs) == 4 else _bool_mask(L, S)
    elif mask == "float":
        kw["attn_mask"] = rnd(L, S, seed=4)
    elif mask == "causal":
        kw["is_causal"] = True
    check_parity(
        torch.nn.functional.scaled_dot_product_attention, F.scaled_dot_product_attention, (q, k, v), kw
    )


def test_sdpa_float_mask_gets_gradient():
    q, k, v = rnd(2, 4, 3), rnd(2, 5, 3, seed=1), rnd(2, 5, 3, seed=2)
    check_parity(
        torch.nn.functional.scaled_dot_product_attention,
        F.scaled_dot_product_attention,
        (q, k, v),
        {"attn_mask": rnd(4, 5, seed=3)},
        grad_masks=True,
    )


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_give_zeros(kind):
    # PyTorch's safe softmax: a query that may attend to nothing gets a zero output and zero gradients.
    q, k, v = rnd(1, 2, 3, 4), rnd(1, 2, 5, 4, seed=1), rnd(1, 2, 5, 4, seed=2)
    m = _bool_mask(3, 5)
    m[1] = False
    mask = m if kind == "bool" else np.where(m, 0.0, -np.inf).astype(np.float32)
    check_parity(
        torch.nn.functional.scaled_dot_product_attention,
        F.scaled_dot_product_attention,
        (q, k, v),
        {"attn_mask": mask},
    )
    out = F.scaled_dot_product_attention(ts.tensor(q), ts.tensor(k), ts.tensor(v), attn_mask=ts.tensor(mask))
    assert np.all(out.numpy()[..., 1, :] == 0)


def test_sdpa_gqa_and_causal_rectangular():
    q, k, v = rnd(2, 6, 4, 8), rnd(2, 2, 9, 8, seed=1), rnd(2, 2, 9, 8, seed=2)
    check_parity(
        torch.nn.functional.scaled_dot_product_attention,
        F.scaled_dot_product_attention,
        (q, k, v),
        {"enable_gqa": True, "is_causal": True},
    )


def test_sdpa_dropout_and_errors():
    q = ts.randn(2, 4, 8)
    ts.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ts.manual_seed(0)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    c = F.scaled_dot_product_attention(q, q, q)
    assert np.array_equal(a.numpy(), b.numpy()) and not np.allclose(a.numpy(), c.numpy())
    with pytest.raises(
        RuntimeError, match="scaled_dot_product_attention: explicit attn_mask should not be set"
    ):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ts.ones(4, 4, dtype=ts.bool), is_causal=True)
    with pytest.raises(
        RuntimeError, match=r"query and key must have the same embedding size.*\(2, 4, 8\).*\(2, 4, 7\)"
    ):
        F.scaled_dot_product_attention(q, ts.randn(2, 4, 7), q)
    with pytest.raises(RuntimeError, match="key and value must have the same sequence length"):
        F.scaled_dot_product_attention(q, q, ts.randn(2, 5, 8))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(3, 4\) is not broadcastable"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ts.ones(3, 4, dtype=ts.bool))
    with pytest.raises(RuntimeError, match="same floating dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match="number of query heads"):
        F.scaled_dot_product_attention(
            ts.randn(1, 3, 4, 8), ts.randn(1, 2, 4, 8), ts.randn(1, 2, 4, 8), enable_gqa=True
        )


def test_sdpa_double_backward():
    q = ts.randn(1, 3, 4, dtype=ts.float64, requires_grad=True)
    k = ts.randn(1, 5, 4, dtype=ts.float64, requires_grad=True)
    v = ts.randn(1, 5, 4, dtype=ts.float64, requires_grad=True)
    mask = ts.tensor(_bool_mask(3, 5))
    fn = lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask)  # noqa: E731
    assert ts.autograd.gradcheck(fn, (q, k, v))
    assert ts.autograd.gradgradcheck(fn, (q, k, v))


# -- MultiheadAttention --------------------------------------------------------------------------------------
def _mha_pair(E=8, H=2, **kw):
    torch.manual_seed(0)
    return torch.nn.MultiheadAttention(E, H, **kw), ts.nn.MultiheadAttention(E, H, **kw)


def _masks(kind, N, H, L, S):
    kw = {}
    if "kpm" in kind:
        kpm = np.random.default_rng(5).random((N, S)) < 0.3
        kpm[:, 0] = False
        kw["key_padding_mask"] = kpm if "kpm_bool" in kind else np.where(kpm, -np.inf, 0).astype(np.float32)
    if "am2_bool" in kind:
        kw["attn_mask"] = ~_bool_mask(L, S, seed=6)
    if "am2_float" in kind:
        kw["attn_mask"] = rnd(L, S, seed=7)
    if "am3_float" in kind:
        kw["attn_mask"] = rnd(N * H, L, S, seed=8)
    if "am3_bool" in kind:
        kw["attn_mask"] = ~_bool_mask(N * H, L, S, seed=9)
    return kw


MASKS = [
    "none",
    "kpm_bool",
    "am2_bool",
    "am2_float",
    "am3_float",
    "kpm_bool+am2_bool",
    "kpm_float+am3_float",
    "am3_bool",
]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", MASKS)
@pytest.mark.parametrize("weights", ["avg", "per_head", "none"])
def test_mha_self_attention_parity(batch_first, masks, weights):
    tm, sm = _mha_pair(batch_first=batch_first)
    N, L = 3, 5
    x = rnd(N, L, 8) if batch_first else rnd(L, N, 8)
    kw = _masks(masks, N, 2, L, L)
    kw["need_weights"] = weights != "none"
    kw["average_attn_weights"] = weights == "avg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: mismatched mask types are deprecated
        check_parity(tm, sm, (x, x, x), kw, tmod=tm, smod=sm)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"kdim": 3, "vdim": 5},
        {"add_bias_kv": True},
        {"add_zero_attn": True},
        {"bias": False},
        {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6},
    ],
    ids=["plain", "kdim_vdim", "bias_kv", "zero_attn", "no_bias", "all"],
)
@pytest.mark.parametrize("kv_same", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_cross_attention_parity(batch_first, options, kv_same, need_weights):
    tm, sm = _mha_pair(batch_first=batch_first, **options)
    N, L, S = 2, 4, 6
    kd, vd = options.get("kdim", 8), options.get("vdim", 8)
    shape = (lambda n: (N, n)) if batch_first else (lambda n: (n, N))
    q = rnd(*shape(L), 8)
    k = rnd(*shape(S), kd, seed=1)
    v = k if kv_same and kd == vd else rnd(*shape(S), vd, seed=2)
    kw = _masks("kpm_bool+am2_bool", N, 2, L, S)
    kw["need_weights"] = need_weights
    check_parity(tm, sm, (q, k, v), kw, tmod=tm, smod=sm)


@pytest.mark.parametrize("masks", ["none", "kpm_bool+am2_float", "am3_bool"])
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_unbatched(masks, need_weights, batch_first):
    tm, sm = _mha_pair(batch_first=batch_first)
    kw = _masks(masks, 1, 2, 4, 6)
    if "key_padding_mask" in kw:
        kw["key_padding_mask"] = kw["key_padding_mask"][0]
    if kw.get("attn_mask") is not None and kw["attn_mask"].ndim == 3:
        kw["attn_mask"] = kw["attn_mask"][:2]
    kw["need_weights"] = need_weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_parity(tm, sm, (rnd(4, 8), rnd(6, 8, seed=1), rnd(6, 8, seed=2)), kw, tmod=tm, smod=sm)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("with_kpm", [False, True])
def test_mha_is_causal(need_weights, with_kpm):
    tm, sm = _mha_pair(batch_first=True)
    x = rnd(2, 5, 8)
    kw = {
        "attn_mask": np.triu(np.ones((5, 5), dtype=bool), 1),
        "is_causal": True,
        "need_weights": need_weights,
    }
    if with_kpm:
        kw["key_padding_mask"] = _masks("kpm_bool", 2, 2, 5, 5)["key_padding_mask"]
    check_parity(tm, sm, (x, x, x), kw, tmod=tm, smod=sm)
    with pytest.raises(
        RuntimeError, match="MultiheadAttention: need attn_mask if specifying the is_causal hint"
    ):
        sm(ts.tensor(x), ts.tensor(x), ts.tensor(x), is_causal=True)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_fully_padded_sequence(need_weights):
    # A sequence whose keys are all padding: without weights PyTorch (and Tessera) give zeros (and finite
    # gradients); with weights both give NaN outputs.
    tm, sm = _mha_pair()
    x = rnd(4, 2, 8)
    kpm = np.zeros((2, 4), dtype=bool)
    kpm[0] = True
    if not need_weights:
        check_parity(tm, sm, (x, x, x), {"key_padding_mask": kpm, "need_weights": False}, tmod=tm, smod=sm)
    sm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    out = sm(
        ts.tensor(x), ts.tensor(x), ts.tensor(x), key_padding_mask=ts.tensor(kpm), need_weights=need_weights
    )[0]
    ref = tm(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)[0]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert np.isnan(out.detach().numpy()[:, 0]).all() == need_weights


def test_mha_functional_matches_torch():
    E, H = 8, 2
    x, kv = rnd(5, 3, E), rnd(6, 3, E, seed=1)
    w, b, wo, bo = rnd(3 * E, E, seed=2), rnd(3 * E, seed=3), rnd(E, E, seed=4), rnd(E, seed=5)
    am = rnd(5, 6, seed=6)

    def call(mod):
        return lambda q, k, v, w, b, wo, bo, am: mod.multi_head_attention_forward(
            q, k, v, E, H, w, b, None, None, False, 0.0, wo, bo, attn_mask=am, average_attn_weights=False
        )

    check_parity(call(torch.nn.functional), call(F), (x, kv, kv, w, b, wo, bo, am), grad_masks=True)


def test_mha_state_dict_layout_and_init():
    for kw in [{}, {"bias": False}, {"add_bias_kv": True}, {"kdim": 3, "vdim": 5}]:
        tm, sm = _mha_pair(16, 4, **kw)
        tsd, ssd = tm.state_dict(), sm.state_dict()
        assert list(tsd) == list(ssd)
        assert [tuple(v.shape) for v in tsd.values()] == [tuple(v.shape) for v in ssd.values()]
        assert repr(sm) == repr(tm)
    sm = ts.nn.MultiheadAttention(64, 4)
    assert np.all(sm.in_proj_bias.detach().numpy() == 0) and np.all(sm.out_proj.bias.detach().numpy() == 0)
    w = sm.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (64 + 192))  # xavier_uniform on (3E, E)
    assert w.max() <= bound and w.min() >= -bound and w.std() > 0.8 * bound / np.sqrt(3)
    assert isinstance(sm.out_proj, ts.nn.Linear)
    assert sm.bias_k is None and sm.q_proj_weight is None


def test_mha_dropout_only_in_training():
    sm = ts.nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ts.randn(4, 2, 8)
    sm.eval()
    a, b = sm(x, x, x)[0], sm(x, x, x)[0]
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    sm.train()
    ts.manual_seed(0)
    c = sm(x, x, x)[0]
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


def test_mha_errors_name_the_layer():
    sm = ts.nn.MultiheadAttention(8, 2)
    x = ts.randn(4, 2, 8)
    with pytest.raises(
        RuntimeError, match=r"MultiheadAttention: expected query with last dimension 8, got shape \(4, 2, 6\)"
    ):
        sm(ts.randn(4, 2, 6), x, x)
    with pytest.raises(
        RuntimeError,
        match=r"MultiheadAttention: the shape of the 2D attn_mask is \(4, 3\), but should be \(4, 4\)",
    ):
        sm(x, x, x, attn_mask=ts.zeros(4, 3))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is \(2, 4, 4\), but should be \(4, 4, 4\)"):
        sm(x, x, x, attn_mask=ts.zeros(2, 4, 4))
    with pytest.raises(RuntimeError, match=r"expected key_padding_mask of shape \(2, 4\), got \(4, 2\)"):
        sm(x, x, x, key_padding_mask=ts.zeros(4, 2, dtype=ts.bool))
    with pytest.raises(
        RuntimeError, match="MultiheadAttention: query, key and value must have the same batch size"
    ):
        sm(x, ts.randn(4, 3, 8), ts.randn(4, 3, 8))
    with pytest.raises(RuntimeError, match="MultiheadAttention: query, key and value must all be 3-D"):
        sm(x, ts.randn(4, 8), ts.randn(4, 8))
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim must be divisible by num_heads"):
        ts.nn.MultiheadAttention(10, 3)
    with pytest.raises(RuntimeError, match="MultiheadAttention: expected query with dtype float32"):
        sm(x.double(), x.double(), x.double())
