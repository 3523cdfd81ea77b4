"""The export-level ``convolution``, ``max_pool`` and ``avg_pool`` ops: their reference decompositions as
oracles for the fused kernels and hand-written gradients, their shape rules, and what an interceptor sees."""

import itertools

import numpy as np
import pytest
from strict_trace import StrictTracer, raw

import tessera as ts
import tessera.nn.functional as F
from tessera.core.dispatch import REGISTRY, TensorMeta, apply, infer_meta, intercept
from tessera.ops.conv import AVG_POOL, CONVOLUTION, MAX_POOL


def _rand(*shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _leaves(*arrays):
    return [None if a is None else ts.tensor(a, requires_grad=True) for a in arrays]


def _fused_and_reference(op, arrays, attrs, seed, create_graph=False):
    """Forward and input gradients (for a random upstream gradient) of ``op`` and of its decomposition."""
    results = []
    for fn in (lambda *a: apply(op, a, attrs), lambda *a: op.decompose(*a, **attrs)):
        args = _leaves(*arrays)
        out = fn(*args)
        g = ts.tensor(_rand(*out.shape, seed=seed))
        live = [a for a in args if a is not None]
        grads = ts.autograd.grad(out, live, g, create_graph=create_graph)
        results.append((out, grads, live))
    return results


def _assert_same(fused, ref):
    (out_f, grads_f, _), (out_r, grads_r, _) = fused, ref
    assert out_f.shape == out_r.shape and out_f.dtype == out_r.dtype
    np.testing.assert_allclose(out_f.detach().numpy(), out_r.detach().numpy(), rtol=1e-10, atol=1e-10)
    for gf, gr in zip(grads_f, grads_r):
        assert gf.shape == gr.shape
        np.testing.assert_allclose(gf.detach().numpy(), gr.detach().numpy(), rtol=1e-10, atol=1e-10)


def _conv_attrs(nd, stride, padding, dilation, groups, transposed=False, output_padding=0):
    return {
        "stride": (stride,) * nd,
        "padding": (padding,) * nd,
        "dilation": (dilation,) * nd,
        "groups": groups,
        "transposed": transposed,
        "output_padding": (output_padding,) * nd,
    }


CONV_GRID = list(
    itertools.product(
        (1, 2),  # spatial dims
        (1, 2),  # stride
        ((0, 0), (1, 1), (1, 2)),  # (low, high) padding: asymmetric as 'same' with an even kernel gives
        (1, 2),  # dilation
        (1, 2),  # groups
        (True, False),  # bias
    )
)


@pytest.mark.parametrize("nd,stride,padding,dilation,groups,bias", CONV_GRID)
def test_convolution_matches_its_decomposition(nd, stride, padding, dilation, groups, bias):
    seed = hash((nd, stride, padding, dilation, groups, bias)) % 1000
    spatial = (7, 6)[:nd] if nd == 2 else (9,)
    kernel = (3, 2)[:nd] if nd == 2 else (3,)
    x = _rand(2, 4, *spatial, seed=seed)
    w = _rand(6, 4 // groups, *kernel, seed=seed + 1)
    b = _rand(6, seed=seed + 2) if bias else None
    attrs = _conv_attrs(nd, stride, padding, dilation, groups)
    _assert_same(*_fused_and_reference(CONVOLUTION, (x, w, b), attrs, seed + 3))


@pytest.mark.parametrize(
    "nd,stride,padding,dilation,groups,output_padding",
    [
        (nd, s, p, d, g, op)
        for nd, s, p, d, g in itertools.product((1, 2), (1, 2, 3), ((0, 0), (1, 1), (2, 2)), (1, 2), (1, 2))
        for op in range(max(s, d))
    ],
)
def test_transposed_convolution_matches_its_decomposition(
    nd, stride, padding, dilation, groups, output_padding
):
    seed = hash((nd, stride, padding, dilation, groups, output_padding)) % 1000
    spatial = (4, 5) if nd == 2 else (6,)
    kernel = (3, 2) if nd == 2 else (3,)
    x = _rand(2, 4, *spatial, seed=seed)
    w = _rand(4, 6 // groups, *kernel, seed=seed + 1)
    b = _rand(6, seed=seed + 2)
    attrs = _conv_attrs(nd, stride, padding, dilation, groups, True, output_padding)
    _assert_same(*_fused_and_reference(CONVOLUTION, (x, w, b), attrs, seed + 3))


@pytest.mark.parametrize("transposed", [False, True])
def test_convolution_double_backward_matches_its_decomposition(transposed):
    x, w, b = _rand(2, 4, 6, 5, seed=0), _rand(4, 2, 3, 3, seed=1), _rand(4, seed=2)
    attrs = _conv_attrs(2, 2, (1, 1), 1, 2, transposed, 1 if transposed else 0)
    results = []
    for _, (gx, gw, _), live in _fused_and_reference(CONVOLUTION, (x, w, b), attrs, 3, create_graph=True):
        (gx.square().sum() + gw.sin().sum()).backward()
        results.append([t.grad.numpy() for t in live[:2]])  # the bias has no second-order effect
    for a, r in zip(*results):
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-10)


def test_convolution_gradients_agree_eager_and_traced():
    """An eager backward reuses the forward's columns; a traced one rebuilds them with ``im2col``."""
    x, w = _rand(2, 3, 8, 8, seed=0), _rand(5, 3, 3, 3, seed=1)
    grads = []
    for traced in (False, True):
        xt, wt = _leaves(x, w)
        seen = []

        def log(call, seen=seen):
            seen.append(call.op.name)
            return call.proceed()

        y = F.conv2d(xt, wt, padding=1)
        if traced:
            with intercept(log):
                y.sum().backward()
            assert "im2col" in seen and "col2im" in seen
        else:
            y.sum().backward()
        grads.append((xt.grad.numpy(), wt.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


POOL_GRID = list(
    itertools.product(
        (1, 2),  # spatial dims
        (2, 3),  # kernel
        (1, 2),  # stride
        (0, 1),  # padding
        (False, True),  # ceil_mode
    )
)


@pytest.mark.parametrize("nd,kernel,stride,padding,ceil_mode", POOL_GRID)
@pytest.mark.parametrize("dilation", [1, 2])
def test_max_pool_matches_its_decomposition(nd, kernel, stride, padding, ceil_mode, dilation):
    seed = hash((nd, kernel, stride, padding, ceil_mode, dilation)) % 1000
    x = _rand(2, 3, *((7, 8) if nd == 2 else (9,)), seed=seed)
    attrs = {
        "kernel": (kernel,) * nd,
        "stride": (stride,) * nd,
        "padding": (padding,) * nd,
        "dilation": (dilation,) * nd,
        "ceil_mode": ceil_mode,
    }
    _assert_same(*_fused_and_reference(MAX_POOL, (x,), attrs, seed + 1))


@pytest.mark.parametrize("nd,kernel,stride,padding,ceil_mode", POOL_GRID)
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None), (True, 5)])
def test_avg_pool_matches_its_decomposition(
    nd, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    seed = hash((nd, kernel, stride, padding, ceil_mode, count_include_pad)) % 1000
    x = _rand(2, 3, *((7, 8) if nd == 2 else (9,)), seed=seed)
    attrs = {
        "kernel": (kernel,) * nd,
        "stride": (stride,) * nd,
        "padding": (padding,) * nd,
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
        "divisor_override": divisor_override,
    }
    _assert_same(*_fused_and_reference(AVG_POOL, (x,), attrs, seed + 1))


def _meta(t):
    return None if t is None else TensorMeta(t.shape, t.dtype)


@pytest.mark.parametrize("dtype", [ts.float32, ts.float64])
def test_shape_rules_match_eager_and_attrs_are_hashable(dtype):
    calls = []

    def record(call):
        out = call.proceed()
        calls.append((call.op, call.args, call.attrs, out))
        return out

    x = ts.randn(2, 4, 9, 8, dtype=dtype, requires_grad=True)
    x1 = ts.randn(2, 4, 11, dtype=dtype, requires_grad=True)
    w = ts.randn(6, 2, 3, 2, dtype=dtype, requires_grad=True)
    wt = ts.randn(4, 3, 3, 3, dtype=dtype, requires_grad=True)
    with intercept(record):
        outs = [
            F.conv2d(x, w, ts.randn(6, dtype=dtype), stride=2, padding="valid", dilation=2, groups=2),
            F.conv2d(x, w, padding="same", groups=2),
            F.conv1d(x1, ts.randn(5, 4, 4, dtype=dtype), padding="same"),
            F.conv_transpose2d(x, wt, stride=3, padding=1, output_padding=2),
            F.conv_transpose1d(x1, ts.randn(4, 2, 3, dtype=dtype), stride=2, dilation=2, output_padding=1),
            F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
            F.max_pool1d(x1, 2, dilation=2, return_indices=True)[1].float(),
            F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
            F.avg_pool1d(x1, 3, 2, 1),
        ]
        sum(o.sum() for o in outs).backward()
    names = {op.name for op, *_ in calls}
    wanted = {
        "convolution",
        "max_pool",
        "max_pool_indices",
        "max_pool_backward",
        "avg_pool",
        "avg_pool_backward",
    }
    assert wanted | {"im2col", "col2im"} <= names
    for op, args, attrs, out in calls:
        hash(tuple(attrs.items()))
        if op.name in wanted | {"im2col", "col2im"}:
            metas = tuple(_meta(a) if isinstance(a, ts.Tensor) or a is None else a for a in args)
            assert op.shape_rule is not None
            assert infer_meta(op, metas, attrs) == TensorMeta(out.shape, out.dtype), op.name


def test_shape_rule_holds_the_geometry():
    m = TensorMeta
    conv = REGISTRY["convolution"]
    attrs = _conv_attrs(2, 2, (1, 1), 1, 1)
    assert infer_meta(conv, (m((8, 3, 28, 28), ts.float32), m((16, 3, 3, 3), ts.float32), None), attrs) == m(
        (8, 16, 14, 14), ts.float32
    )
    with pytest.raises(ts.core.dispatch.OpError, match="Kernel size can't be greater"):
        infer_meta(conv, (m((1, 3, 2, 2), ts.float32), m((4, 3, 5, 5), ts.float32), None), attrs)
    pool = {"kernel": (2,), "stride": (2,), "padding": (0,), "dilation": (1,), "ceil_mode": True}
    assert infer_meta(REGISTRY["max_pool"], (m((2, 3, 9), ts.float16),), pool) == m((2, 3, 5), ts.float16)


def _forward_ops(fn, *args, **kwargs):
    seen = []

    def log(call):
        seen.append(call.op.name)
        return call.proceed()

    with intercept(log):
        fn(*args, **kwargs)
    return seen


def test_one_op_per_layer_in_the_forward():
    x = ts.randn(2, 3, 8, 8, requires_grad=True)
    w, b = ts.randn(4, 3, 3, 3, requires_grad=True), ts.randn(4, requires_grad=True)
    assert _forward_ops(F.conv2d, x, w, b, padding=1) == ["convolution"]
    assert _forward_ops(F.conv2d, x, w, None, stride=2, padding="valid") == ["convolution"]
    assert _forward_ops(F.conv_transpose2d, x, ts.randn(3, 2, 3, 3), b[:2].detach(), stride=2) == [
        "convolution"
    ]
    assert _forward_ops(F.conv1d, ts.randn(2, 3, 9), ts.randn(4, 3, 3), padding="same") == ["convolution"]
    assert _forward_ops(F.max_pool2d, x, 2) == ["max_pool"]
    assert _forward_ops(F.max_pool2d, x, 2, return_indices=True) == ["max_pool", "max_pool_indices"]
    assert _forward_ops(F.avg_pool2d, x, 3, 2, 1) == ["avg_pool"]
    assert _forward_ops(ts.nn.Conv2d(3, 4, 3), x) == ["convolution"]
    assert _forward_ops(ts.nn.MaxPool2d(2), x) == ["max_pool"]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
        lambda x: F.max_pool1d(x.flatten(2), 3, 2, return_indices=True),
        lambda x: F.adaptive_max_pool2d(x, (2, 3), return_indices=True),
        lambda x: F.adaptive_max_pool1d(x.flatten(2), 4, return_indices=True),
    ],
)
def test_pooling_indices_are_ops(fn):
    """``return_indices`` is computed by ops: a strict trace replayed on other values gives their indices."""
    x1, x2 = ts.randn(2, 3, 6, 7), ts.randn(2, 3, 6, 7)
    with StrictTracer() as tr:
        tr.guard([x1])
        vals, idx = fn(x1)
    env = tr.replay({x1: raw(x2).copy()})
    want_vals, want_idx = fn(x2)
    np.testing.assert_array_equal(tr.value(env, idx), want_idx.numpy())
    np.testing.assert_array_equal(tr.value(env, vals), want_vals.numpy())
