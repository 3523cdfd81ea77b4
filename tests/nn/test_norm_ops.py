"""The export-level normalization, attention and loss ops: their decompositions as oracles (forward and
autograd gradients against the fused forward and the hand-written backward), their shape rules, and what
an interceptor sees (single named ops, state changes only inside ops)."""

import numpy as np
import pytest

import tessera as ts
import tessera.nn.functional as F
from tessera.core.dispatch import REGISTRY, TensorMeta, apply, infer_meta, intercept, is_tracing
from tessera.ops import nn_ops as _nn

RNG = np.random.default_rng(7)


def _t(*shape, grad=True, dtype=np.float64):
    return ts.tensor(RNG.standard_normal(shape).astype(dtype), requires_grad=grad)


def _grads(out, inputs, g):
    leaves = [t for t in inputs if isinstance(t, ts.Tensor) and t.requires_grad]
    return ts.autograd.grad(out, leaves, g, allow_unused=True)


def _check_oracle(op, args, attrs, atol=1e-10):
    """fused forward == decomposition; fused gradient rule == autograd through the decomposition."""
    fused = apply(op, args, attrs)
    ref = op.decompose(*args, **attrs)
    np.testing.assert_allclose(fused.detach().numpy(), ref.detach().numpy(), atol=atol, rtol=1e-9)
    assert infer_meta(op, args, attrs) == TensorMeta(fused.shape, fused.dtype)
    if not fused.requires_grad:
        return
    g = ts.tensor(RNG.standard_normal(tuple(fused.shape)))
    for a, b in zip(_grads(fused, args, g), _grads(ref, args, g)):
        if a is None or b is None:
            assert a is None and b is None or (b is not None and np.allclose(b.numpy(), 0))
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=atol, rtol=1e-8)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_oracle(shape, affine):
    c = shape[1]
    x = _t(*shape)
    w, b = (_t(c), _t(c)) if affine else (None, None)
    _check_oracle(_nn.BATCH_NORM, (x, None, None, w, b), {"training": True, "eps": 1e-5})
    rm, rv = _t(c, grad=False), ts.tensor(RNG.uniform(0.5, 2.0, c))
    _check_oracle(_nn.BATCH_NORM, (x, rm, rv, w, b), {"training": False, "eps": 1e-5})


@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 2, 4, 4)])
def test_instance_and_group_norm_oracle(shape):
    c = shape[1]
    x = _t(*shape)
    _check_oracle(_nn.INSTANCE_NORM, (x, _t(c), _t(c)), {"eps": 1e-5})
    _check_oracle(_nn.INSTANCE_NORM, (x, None, None), {"eps": 1e-3})
    x2 = _t(shape[0], 4, *shape[2:])
    for groups in (1, 2, 4):
        _check_oracle(_nn.GROUP_NORM, (x2, _t(4), _t(4)), {"num_groups": groups, "eps": 1e-5})
    _check_oracle(_nn.GROUP_NORM, (x2, None, None), {"num_groups": 2, "eps": 1e-5})


@pytest.mark.parametrize("shape,k", [((5, 8), 1), ((2, 3, 6), 1), ((2, 3, 4), 2)])
def test_layer_norm_oracle(shape, k):
    ns = shape[len(shape) - k :]
    x = _t(*shape)
    _check_oracle(_nn.LAYER_NORM, (x, _t(*ns), _t(*ns)), {"normalized_shape": ns, "eps": 1e-5})
    _check_oracle(_nn.LAYER_NORM, (x, None, None), {"normalized_shape": ns, "eps": 1e-5})
    # a large offset: the centred fallback of the row kernels
    xo = ts.tensor(RNG.standard_normal(shape) * 1e-3 + 1e3, requires_grad=True)
    _check_oracle(_nn.LAYER_NORM, (xo, _t(*ns), None), {"normalized_shape": ns, "eps": 1e-5}, atol=1e-7)


def test_backward_kernels_match_their_decompositions():
    x, g = _t(4, 6, grad=False), _t(4, 6, grad=False)
    w = _t(6, grad=False)
    stats = apply(_nn.NORM_STATS, (x,), {"dims": (1,), "eps": 1e-5})
    ref = _nn.NORM_STATS.decompose(x, dims=(1,), eps=1e-5)
    np.testing.assert_allclose(stats.numpy(), ref.numpy(), rtol=1e-10)
    a = _nn.norm_attrs(2, (1,), (6,), 1e-5)
    wa = {"adims": a["adims"], "out_shape": (6,), "dims": (1,)}
    gw = apply(_nn.NORM_BACKWARD_WEIGHT, (x, stats, g), wa)
    np.testing.assert_allclose(gw.numpy(), _nn.NORM_BACKWARD_WEIGHT.decompose(x, stats, g, **wa).numpy())
    ia = {"dims": (1,), "wshape": (6,), "wconst": False, "shared": False}
    gx = apply(_nn.NORM_BACKWARD_INPUT, (x, stats, w, g, None, None), ia)
    ref = _nn.NORM_BACKWARD_INPUT.decompose(x, stats, w, g, None, None, **ia)
    np.testing.assert_allclose(gx.numpy(), ref.numpy(), atol=1e-12)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal", "full_rows"])
@pytest.mark.parametrize("shapes", [((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)), ((4, 5), (1, 6, 5), (6, 3))])
def test_sdpa_oracle(mask, shapes):
    qs, ks, vs = shapes
    q, k, v = _t(*qs), _t(*ks), _t(*vs)
    L, S = qs[-2], ks[-2]
    m, causal = None, False
    if mask == "bool":
        m = ts.tensor(RNG.random((L, S)) > 0.3)
    elif mask == "float":
        m = _t(L, S)
    elif mask == "causal":
        causal = True
    elif mask == "full_rows":
        mb = RNG.random((L, S)) > 0.3
        mb[1] = False
        m = ts.tensor(mb)
    _check_oracle(_nn.SDPA, (q, k, v, m), {"is_causal": causal, "scale": 0.37})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,ls", [(False, 0.0), (True, 0.0), (True, 0.2), (False, 0.1)])
def test_cross_entropy_and_nll_oracle(reduction, weighted, ls):
    x = _t(6, 4, 3)
    target = ts.tensor(RNG.integers(0, 4, (6, 3)))
    target[0, 0] = -100
    w = ts.tensor(RNG.uniform(0.5, 2.0, 4)) if weighted else None
    attrs = {"ignore_index": -100, "reduction": reduction, "label_smoothing": ls}
    _check_oracle(_nn.CROSS_ENTROPY, (x, target, w), attrs)
    if not ls:
        _check_oracle(_nn.NLL_LOSS, (x, target, w), {"ignore_index": -100, "reduction": reduction})


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_double_backward_matches_decomposition(reduction):
    x = _t(5, 4)
    target = ts.tensor(RNG.integers(0, 4, 5))
    w = ts.tensor(RNG.uniform(0.5, 2.0, 4))
    attrs = {"ignore_index": 1, "reduction": reduction, "label_smoothing": 0.1}
    outs = []
    for fn in (lambda: apply(_nn.CROSS_ENTROPY, (x, target, w), attrs),
               lambda: _nn.CROSS_ENTROPY.decompose(x, target, w, **attrs)):  # fmt: skip
        y = fn()
        g = ts.ones(tuple(y.shape), dtype=ts.float64)
        (gx,) = ts.autograd.grad(y, [x], g, create_graph=True)
        (ggx,) = ts.autograd.grad((gx * gx).sum(), [x])
        outs.append((gx.detach().numpy(), ggx.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-10)


def test_loss_value_checks_live_in_the_forward_and_hold_while_tracing():
    with intercept(lambda call: call.proceed()):
        assert is_tracing()
        with pytest.raises(IndexError, match="cross_entropy: target 3 is out of bounds for 3 classes"):
            F.cross_entropy(ts.randn(2, 3), ts.tensor([0, 3]))
        with pytest.raises(IndexError, match="nll_loss: target -2 is out of bounds for 3 classes"):
            F.nll_loss(ts.randn(2, 3), ts.tensor([-2, 0]))
        with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
            F.binary_cross_entropy(ts.tensor([0.5, 1.5]), ts.tensor([1.0, 0.0]))


def _record(fn):
    names, attrs = [], []

    def rec(call):
        names.append(call.op.name)
        attrs.append(call.attrs)
        return call.proceed()

    with intercept(rec):
        out = fn()
    for a in attrs:
        hash(tuple(a.items()))
    return names, out


def test_functional_norms_and_attention_are_single_named_ops():
    x = ts.randn(4, 3, 5, 5)
    w, b = ts.ones(3, requires_grad=True), ts.zeros(3, requires_grad=True)
    names, _ = _record(lambda: F.batch_norm(x, None, None, w, b, training=True))
    assert names == ["batch_norm"]
    names, _ = _record(lambda: F.batch_norm(x, ts.zeros(3), ts.ones(3), w, b, training=False))
    assert names == ["batch_norm"]
    names, _ = _record(lambda: F.layer_norm(x, (5, 5)))
    assert names == ["layer_norm"]
    names, _ = _record(lambda: F.group_norm(x, 3, w, b))
    assert names == ["group_norm"]
    names, _ = _record(lambda: F.instance_norm(x))
    assert names == ["instance_norm"]
    q = ts.randn(2, 2, 4, 8)
    mask = ts.rand(4, 4) > 0.5
    names, _ = _record(lambda: F.scaled_dot_product_attention(q, q, q, attn_mask=mask))
    assert names == ["scaled_dot_product_attention"]
    names, _ = _record(lambda: F.scaled_dot_product_attention(q, q, q, is_causal=True))
    assert names == ["scaled_dot_product_attention"]


def test_batchnorm_state_changes_only_inside_seen_ops():
    bn = ts.nn.BatchNorm2d(3)
    x = ts.randn(4, 3, 5, 5)
    bufs = {n: b for n, b in bn.named_buffers()}
    changed = {}

    def snap():
        return {n: b.detach().numpy().copy() for n, b in bufs.items()}

    def watch(call):
        before = snap()
        out = call.proceed()
        after = snap()
        for n in bufs:
            if not np.array_equal(before[n], after[n]):
                changed.setdefault(n, []).append(call.op.name)
        return out

    start = snap()
    with intercept(watch):
        for _ in range(2):
            bn(x).sum().backward()
        mid = snap()
        bn.reset_running_stats()
    # every change happened inside an op the interceptor saw
    assert changed["running_mean"] == ["running_stat_update"] * 2 + ["fill"]
    assert changed["running_var"] == ["running_stat_update"] * 2 + ["fill"]
    assert changed["num_batches_tracked"] == ["add"] * 2 + ["fill"]
    assert int(mid["num_batches_tracked"]) == 2 and not np.array_equal(
        mid["running_mean"], start["running_mean"]
    )
    for n, v in snap().items():
        np.testing.assert_array_equal(v, start[n])


def test_cumulative_average_reads_the_count_tensor():
    torch = pytest.importorskip("torch")
    xs = [RNG.standard_normal((6, 3, 4)).astype(np.float32) for _ in range(3)]
    bn, tb = ts.nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None)
    seen = []

    def rec(call):
        if call.op.name == "running_stat_update":
            seen.append((call.attrs["momentum"], call.args[2] is bn.num_batches_tracked))
        return call.proceed()

    with intercept(rec):
        for x in xs:
            bn(ts.tensor(x))
            tb(torch.tensor(x))
    assert seen and all(m is None and is_count for m, is_count in seen)
    np.testing.assert_allclose(bn.running_mean.numpy(), tb.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), tb.running_var.numpy(), rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 3


def test_memo_is_refreshed_and_version_checked():
    x = ts.randn(4, 8, requires_grad=True)
    y = F.layer_norm(x, (8,))
    with ts.no_grad():
        x.mul_(2.0).add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # a new forward on the changed array computes its own statistics
    xd = ts.randn(4, 8)
    y1 = F.layer_norm(xd, (8,))
    with ts.no_grad():
        xd.mul_(3.0).add_(5.0)
    y2 = F.layer_norm(xd, (8,))
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), atol=1e-4)
    stats = apply(_nn.NORM_STATS, (xd,), {"dims": (1,), "eps": 1e-5})
    np.testing.assert_allclose(stats[0].numpy().ravel(), xd.numpy().mean(1), rtol=1e-5)


def test_export_ops_have_rules_and_decompositions():
    for name in ("batch_norm", "instance_norm", "layer_norm", "group_norm", "scaled_dot_product_attention",
                 "cross_entropy", "nll_loss", "norm_stats", "sdpa_weights"):  # fmt: skip
        op = REGISTRY[name]
        assert op.shape_rule is not None and op.decompose is not None, name
    for name in ("running_stat_update", "norm_backward_input", "norm_backward_weight", "nll_loss_backward",
                 "cross_entropy_backward", "cross_entropy_target_grad", "binary_cross_entropy"):  # fmt: skip
        assert REGISTRY[name].shape_rule is not None, name
