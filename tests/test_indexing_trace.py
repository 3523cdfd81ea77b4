"""The attribute contract for indexing ops: keys are static hashable attributes plus index tensors that are
op inputs, value checks read data only inside ops while tracing, shape rules match eager."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from opcheck import needs_torch, rand, torch
from strict_trace import StrictTracer, raw
from test_indexing import COMMON_KEYS, TORCH_ONLY_KEYS, _conv

import tessera as ts
from tessera.core.dispatch import REGISTRY, TensorMeta, apply, infer_meta, intercept, is_tracing

INDEXING_OPS = {
    "getitem",
    "index",
    "masked_index",
    "index_put",
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "index_add",
    "masked_fill",
    "nonzero",
    "check_index",
    "copy_slices",
}


class Recorder:
    """An interceptor keeping every call (and checking its attrs hash and pickle: they are static)."""

    def __init__(self):
        self.calls = []
        self.results = []

    def __call__(self, call):
        hash(tuple(call.attrs.items()))
        pickle.dumps(tuple(call.attrs.items()))
        assert not any(isinstance(v, (np.ndarray, ts.Tensor)) for v in _leaves(call.attrs)), call
        self.calls.append(call)
        out = call.proceed()
        self.results.append(out)
        return out

    def names(self):
        return {c.op.name for c in self.calls}

    def last(self, *names):
        return next(c for c in reversed(self.calls) if c.op.name in names)


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, tuple):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def _workload():
    x = ts.randn(4, 5, requires_grad=True)
    idx = ts.tensor([0, 3, 3])
    mask = ts.tensor([True, False, True, True])
    y = x * 1.0
    out = [
        y[1:3, ::2],
        y[idx],
        y[mask],
        y[:, idx],
        y[idx, 1:],
        y[None, ..., 0],
        ts.take(y, idx),
        ts.gather(y, 1, idx.reshape(3, 1)),
        ts.index_select(y, 1, idx),
        y.masked_fill(mask[:, None], 0.0),
        ts.masked_select(y, mask[:, None]),
        ts.take_along_dim(y, idx.reshape(3, 1), dim=0),
        ts.scatter(y, 0, idx.reshape(3, 1).expand(3, 5), ts.ones(3, 5)),
        ts.scatter_add(y, 0, idx.reshape(3, 1).expand(3, 5), ts.ones(3, 5)),
        ts.index_add(y, 0, idx, ts.ones(3, 5)),
        ts.index_put(y, (idx,), ts.tensor(1.0), accumulate=True),
    ]
    z = x * 2.0
    z[idx] = ts.ones(3, 5)
    z[mask, 1:3] = 0.5
    z[0][1:3] = ts.tensor([7.0, 8.0])  # an in-place write through a view: copy_slices
    nz = ts.nonzero(mask)
    nzt = mask.nonzero(as_tuple=True)
    loss = sum((o.sum() for o in out), z.sum())
    loss.backward()
    return x, out, z, nz, nzt


def test_every_indexing_op_has_hashable_attrs_under_an_interceptor():
    rec = Recorder()
    with intercept(rec):
        _workload()
    missing = INDEXING_OPS - rec.names()
    assert not missing, missing


def test_traced_results_match_eager():
    ts.manual_seed(0)
    x1, out1, z1, nz1, nzt1 = _workload()
    ts.manual_seed(0)
    with intercept(Recorder()):
        x2, out2, z2, nz2, nzt2 = _workload()
    for a, b in zip(out1 + [z1, nz1, *nzt1, x1.grad], out2 + [z2, nz2, *nzt2, x2.grad]):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(raw(a), raw(b))


def test_data_dependent_flags():
    assert REGISTRY["masked_index"].data_dependent and REGISTRY["nonzero"].data_dependent
    assert not REGISTRY["index"].data_dependent and not REGISTRY["getitem"].data_dependent
    rec = Recorder()
    x = ts.randn(3, 4)
    with intercept(rec):
        ts.masked_select(x, x > 0)
    assert rec.last("index", "masked_index").op.name == "masked_index"


# -- the index is an input, not a constant -----------------------------------------------------------------
@pytest.mark.parametrize(
    "make_key",
    [
        lambda i: i,
        lambda i: (slice(None), i),
        lambda i: (i, slice(1, None)),
        lambda i: (None, i, 0),
        lambda i: (i.reshape(3, 1), i),
    ],
)
def test_replayed_getitem_uses_the_new_index(make_key):
    x = ts.randn(4, 4)
    idx, other = ts.tensor([0, 3, 1]), ts.tensor([2, 2, 0])
    rec = Recorder()
    with intercept(rec):
        x[make_key(idx)]
    call = rec.last("index")
    args = tuple(
        other if a is idx else other.reshape(3, 1) if a is not x and a.shape == (3, 1) else a
        for a in call.args
    )
    assert any(a is other for a in args), "the index tensor must be an input of the op"
    got = apply(call.op, args, call.attrs)
    np.testing.assert_array_equal(raw(got), raw(x[make_key(other)]))


def test_replayed_mask_index_uses_the_new_mask():
    x = ts.randn(3, 4)
    m1, m2 = x > 0, x < 0.5
    rec = Recorder()
    with intercept(rec):
        x[m1]
    call = rec.last("masked_index")
    got = apply(call.op, tuple(m2 if a is m1 else a for a in call.args), call.attrs)
    np.testing.assert_array_equal(raw(got), raw(x)[raw(m2)])


@pytest.mark.parametrize("accumulate", [False, True])
def test_replayed_index_put_uses_the_new_index(accumulate):
    idx, other = ts.tensor([0, 2, 2]), ts.tensor([1, 1, 3])
    v = ts.randn(3, 5)
    y = ts.zeros(4, 5)
    rec = Recorder()
    with intercept(rec):
        y.index_put_((idx,), v, accumulate=accumulate)
    call = rec.last("index_put")
    assert call.out is y and any(a is idx for a in call.args)
    y2 = ts.zeros(4, 5)
    apply(call.op, tuple(y2 if a is y else other if a is idx else a for a in call.args), call.attrs, out=y2)
    want = ts.zeros(4, 5).index_put_((other,), v, accumulate=accumulate)
    np.testing.assert_array_equal(raw(y2), raw(want))


def test_0d_index_tensor_is_an_input_while_tracing():
    x = ts.randn(3, 4, 5)
    i, j = ts.tensor(1), ts.tensor(2)
    rec = Recorder()
    with intercept(rec):
        a = x[i]
        b = x[i, :, [1, 2]]  # PyTorch semantics: the 0-d index acts as an int, applied first
    assert a.shape == (4, 5) and b.shape == (4, 2)
    np.testing.assert_array_equal(raw(b), raw(x)[1][:, [1, 2]])
    call = rec.last("index")
    args = tuple(j if t is i else t for t in call.args)
    np.testing.assert_array_equal(raw(apply(call.op, args, call.attrs)), raw(x)[2][:, [1, 2]])
    # eager: read as an int, a view
    assert x[i]._base is x


def test_0d_index_tensor_setitem_while_tracing():
    x = ts.zeros(3, 4)
    with intercept(Recorder()):
        x[ts.tensor(2), 1:3] = 5.0
    assert raw(x)[2].tolist() == [0.0, 5.0, 5.0, 0.0]


# -- strict tracing: no value reads outside ops, replay with other index values ------------------------
def _indexing_step(x, idx, mask, v):
    y = x * 1.5
    z = x * 1.0
    z[idx] = v
    z[mask] = 0.0
    loss = (
        (y[idx] ** 2).sum()
        + y[mask].sum()
        + (y[:, idx[:2]] * 3).sum()
        + ts.take(y, idx).sum()
        + ts.gather(y, 1, idx.reshape(3, 1)).sum()
        + ts.index_select(y, 0, idx).sum()
        + ts.masked_select(y, mask[:, None]).sum()
        + (z * z).sum()
    )
    loss.backward()
    return loss


def test_strict_trace_replays_with_other_index_values():
    ts.manual_seed(0)
    x = ts.randn(4, 5, requires_grad=True)
    idx = ts.tensor([0, 3, 3])
    mask = ts.tensor([True, False, True, True])
    v = ts.randn(3, 5)
    with StrictTracer() as tr:
        tr.guard(x, idx, mask, v)
        loss = _indexing_step(x, idx, mask, v)
    assert {"index", "masked_index", "index_put", "check_index"} <= set(tr.op_names())
    new_idx = np.array([2, 1, 0])
    # Shapes downstream of a mask (the sum's gradient expands to the count) are recorded: the new mask keeps
    # the count of True values, as a trace with data-dependent shapes needs.
    new_mask = np.array([True, True, False, True])
    env = tr.replay({idx: new_idx, mask: new_mask})
    x2 = ts.tensor(raw(x).copy(), requires_grad=True)
    want = _indexing_step(x2, ts.tensor(new_idx), ts.tensor(new_mask), v)
    np.testing.assert_allclose(tr.value(env, loss), raw(want), rtol=1e-6)
    np.testing.assert_allclose(tr.value(env, x.grad), raw(x2.grad), rtol=1e-6)


@pytest.mark.parametrize(
    "fn, msg, exc",
    [
        (lambda x, i: x[i], "__getitem__: index 29 is out of bounds for dimension 0 with size 4", IndexError),
        (lambda x, i: ts.take(x, i), "take: out of range: tried to access index 29 on a tensor", IndexError),
        (lambda x, i: ts.index_select(x, 0, i), "index_select: index 29 is out of bounds", IndexError),
        (lambda x, i: ts.gather(x, 0, i.reshape(3, 1)), "gather: index 29 is out of bounds", RuntimeError),
    ],
)
def test_bound_checks_are_recorded_and_check_the_replayed_values(fn, msg, exc):
    x = ts.randn(4, 5)
    idx = ts.tensor([0, 1, 2])
    with StrictTracer() as tr:
        tr.guard(x, idx)
        fn(x, idx)
    assert "check_index" in tr.op_names()
    with pytest.raises(exc, match=msg):
        tr.replay({idx: np.array([0, 29, 1])})
    with pytest.raises(exc, match=msg):  # eager: the same message
        fn(x, ts.tensor([0, 29, 1]))


# -- shape rules vs eager --------------------------------------------------------------------------------
def _grid_keys():
    keys = list(COMMON_KEYS) + list(TORCH_ONLY_KEYS)
    keys += [
        (slice(None), None, np.array([0, 1])),
        (np.array([[0, 1]]), slice(None), np.array([[1], [2]])),
        (Ellipsis, np.array([True, False, True, True, False])),
        (np.array([0, 2]), Ellipsis, np.array([1, 4])),
        (None, Ellipsis, None),
        (slice(None, None, 3), np.array([3]), slice(4, 0)),
        [0, slice(None)],
        True,
        (1, np.array([[True, False, True, False, True]] * 4)),
    ]
    return keys


def _meta(t):
    return TensorMeta(t.shape, t.dtype)


def _agrees(meta, real):
    return (
        meta.dtype is real.dtype
        and len(meta.shape) == len(real.shape)
        and all(m is None or m == r for m, r in zip(meta.shape, real.shape))
    )


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize("key", _grid_keys(), ids=repr)
def test_shape_rules_agree_with_eager(key, traced):
    x = ts.tensor(rand(3, 4, 5))
    tkey = _conv(key, "ts")
    if traced:
        rec = Recorder()
        with intercept(rec):
            assert is_tracing()
            got = x[tkey]
            x.clone()[tkey] = 1.0
        todo = [
            (c.op, c.args, c.attrs, c.out if c.out is not None else r) for c, r in zip(rec.calls, rec.results)
        ]
    else:
        from tessera.ops.indexing import _parse_key

        got = x[tkey]
        pk = _parse_key(x, tkey)
        todo = [(pk.op, (x,) + pk.inputs, pk.attrs(), got)]
    if torch is not None:
        assert tuple(got.shape) == tuple(torch.from_numpy(raw(x))[_conv(key, "torch")].shape)
    for op, args, attrs, real in todo:
        meta = infer_meta(op, tuple(_meta(a) if isinstance(a, ts.Tensor) else a for a in args), attrs)
        assert _agrees(meta, _meta(real)), (op, attrs, meta, _meta(real))
        if not op.data_dependent:
            assert meta == _meta(real), (op, attrs, meta)


def test_shape_rules_of_the_other_indexing_ops():
    x = ts.randn(3, 4)
    i = ts.tensor([[0, 1, 2, 0]])
    m = TensorMeta
    f, i64 = ts.float32, ts.int64
    assert infer_meta(REGISTRY["gather"], (m((3, 4), f), m((1, 4), i64)), {"dim": 0}) == m((1, 4), f)
    assert infer_meta(REGISTRY["index_select"], (m((3, 4), f), m((5,), i64)), {"dim": 1}) == m((3, 5), f)
    assert infer_meta(REGISTRY["masked_fill"], (m((3, 1), f), m((4,), ts.bool), 0.0)) == m((3, 4), f)
    assert infer_meta(REGISTRY["nonzero"], (m((3, 4), f),)).shape == (None, 2)
    assert infer_meta(
        REGISTRY["masked_index"], (m((3, 4), f), m((3,), ts.bool)), {"key": None, "adv": (0,)}
    ) == m((None, 4), f)
    with pytest.raises(ts.core.dispatch.OpError, match="Expected dtype int32/int64"):
        infer_meta(REGISTRY["gather"], (m((3, 4), f), m((1, 4), f)), {"dim": 0})
    with pytest.raises(ts.core.dispatch.OpError, match="index 5 is out of bounds"):
        infer_meta(REGISTRY["getitem"], (m((3, 4), f),), {"key": (5, Ellipsis)})
    assert ts.gather(x, 0, i).shape == (1, 4)


# -- view chains -----------------------------------------------------------------------------------------
def test_copy_slices_chain_is_names_and_hashable_attrs():
    a = ts.randn(3, 4, requires_grad=True)
    rec = Recorder()
    with intercept(rec):
        y = a * 2
        y[1:][:, 2].mul_(3.0)
        y.t()[0].add_(1.0)
    chains = [c.attrs["chain"] for c in rec.calls if c.op.name == "copy_slices"]
    assert len(chains) == 2
    for chain in chains:
        assert all(isinstance(name, str) and name in REGISTRY for name, _ in chain)
        assert pickle.loads(pickle.dumps(chain)) == chain
    y.sum().backward()
    ref = np.full((3, 4), 2.0)
    ref[1:, 2] *= 3
    np.testing.assert_allclose(raw(a.grad), ref)


@needs_torch
def test_setitem_through_views_under_interceptor_vs_torch():
    x0 = rand(3, 4)
    a = ts.tensor(x0, requires_grad=True)
    with intercept(Recorder()):
        y = a * 2
        y[0][1] = 5.0
        y[1:][:, 2] = a[2, :2]
        (y * y).sum().backward()
    ta = torch.tensor(x0, requires_grad=True)
    ty = ta * 2
    ty[0][1] = 5.0
    ty[1:][:, 2] = ta[2, :2]
    (ty * ty).sum().backward()
    np.testing.assert_allclose(raw(y), ty.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(raw(a.grad), ta.grad.numpy(), rtol=1e-6)
