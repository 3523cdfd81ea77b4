"""Tensor creation, dtypes and promotion, attributes, conversion, printing and random generators."""

import subprocess
import sys

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts

ALL = [
    ts.bool,
    ts.uint8,
    ts.int8,
    ts.int16,
    ts.int32,
    ts.int64,
    ts.float16,
    ts.bfloat16,
    ts.float32,
    ts.float64,
]


def tdt(d):
    return getattr(torch, d.name)


def test_tensor_dtype_inference():
    assert ts.tensor([1.0, 2]).dtype is ts.float32
    assert ts.tensor([1, 2]).dtype is ts.int64
    assert ts.tensor([True, False]).dtype is ts.bool
    assert ts.tensor(np.array([1.0], dtype=np.float64)).dtype is ts.float64
    assert ts.tensor(np.array([1], dtype=np.int32)).dtype is ts.int32
    assert ts.tensor(3.5).shape == () and ts.tensor(3.5).item() == 3.5
    assert ts.tensor([[1, 2]], dtype=ts.float16).dtype is ts.float16
    assert ts.tensor([ts.tensor(1.0), ts.tensor(2.0)]).tolist() == [1.0, 2.0]
    with pytest.raises((TypeError, ValueError), match="tensor"):
        ts.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="tensor"):
        ts.tensor(["a"])


def test_aliases():
    assert ts.float is ts.float32 and ts.double is ts.float64 and ts.half is ts.float16
    assert ts.long is ts.int64 and ts.int is ts.int32
    assert repr(ts.float32) == "tessera.float32"


def test_factories_match_numpy():
    np.testing.assert_array_equal(ts.zeros(2, 3).numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(ts.ones((2, 3), dtype=ts.int64).numpy(), np.ones((2, 3), np.int64))
    assert ts.full((2,), 7).dtype is ts.int64 and ts.full((2,), 7.0).dtype is ts.float32
    assert ts.full((2,), True).dtype is ts.bool
    assert ts.empty(3, 4).shape == (3, 4)
    np.testing.assert_array_equal(ts.arange(5).numpy(), np.arange(5))
    assert ts.arange(5).dtype is ts.int64 and ts.arange(0, 1, 0.25).dtype is ts.float32
    np.testing.assert_allclose(ts.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(ts.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(ts.eye(3, 2).numpy(), np.eye(3, 2))
    x = ts.ones(2, 3, dtype=ts.float64)
    for f, v in ((ts.zeros_like, 0), (ts.ones_like, 1)):
        y = f(x)
        assert y.dtype is ts.float64 and y.shape == (2, 3) and (y.numpy() == v).all()
    assert ts.full_like(x, 4).numpy().max() == 4 and ts.empty_like(x).shape == (2, 3)
    with pytest.raises(RuntimeError, match="negative dimension"):
        ts.zeros(2, -1)
    with pytest.raises(TypeError, match="zeros"):
        ts.zeros("a")
    with pytest.raises(RuntimeError, match="arange"):
        ts.arange(0, 1, 0)


@needs_torch
def test_factories_match_torch_dtypes():
    assert str(torch.arange(0, 1, 0.5).dtype).endswith(ts.arange(0, 1, 0.5).dtype.name)
    assert str(torch.full((1,), 3).dtype).endswith(ts.full((1,), 3).dtype.name)
    np.testing.assert_allclose(ts.linspace(-1, 3, 7).numpy(), torch.linspace(-1, 3, 7).numpy())


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.arange(4.0)
    t = ts.from_numpy(a)
    a[0] = 10
    assert t[0].item() == 10 if hasattr(ts.Tensor, "__getitem__") else t.numpy()[0] == 10
    c = ts.tensor(a)
    a[1] = 20
    assert c.numpy()[1] == 1
    assert ts.as_tensor(a).numpy() is a
    with pytest.raises(TypeError, match="from_numpy"):
        ts.from_numpy([1, 2])
    with pytest.raises(TypeError, match="from_numpy"):
        ts.from_numpy(np.zeros(2, dtype=np.longdouble))


def test_attributes_and_conversion():
    x = ts.arange(6, dtype=ts.float32).reshape(2, 3)
    assert x.shape == (2, 3) and x.size() == ts.Size([2, 3]) and x.size(-1) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and x.element_size() == 4
    assert x.device == ts.device("cpu") and str(x.device) == "cpu"
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert isinstance(x.numpy(), np.ndarray) and np.asarray(x).shape == (2, 3)
    assert x.to(ts.float64).dtype is ts.float64 and x.double().dtype is ts.float64
    assert x.long().dtype is ts.int64 and x.int().dtype is ts.int32 and x.half().dtype is ts.float16
    assert x.bfloat16().dtype is ts.bfloat16 and x.bool().dtype is ts.bool and x.byte().dtype is ts.uint8
    assert x.to("cpu") is x and x.to(x) is x
    assert x.to(ts.float32, copy=True) is not x
    assert x.clone().numpy() is not x.numpy()
    assert x.contiguous() is x
    with pytest.raises(RuntimeError, match="CUDA"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="item"):
        x.item()
    with pytest.raises(IndexError, match="size"):
        x.size(2)
    assert float(ts.tensor([2.5])) == 2.5 and int(ts.tensor(3)) == 3
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ts.ones(2))
    assert len(x) == 2 and x.is_floating_point() and not ts.tensor([1]).is_floating_point()
    assert x.type() == "tessera.FloatTensor"


def test_bfloat16_and_float16_round_trip():
    x = ts.tensor([1.5, -2.25, 3.0])
    for d in (ts.bfloat16, ts.float16):
        y = x.to(d)
        assert y.dtype is d
        np.testing.assert_allclose(y.float().numpy(), [1.5, -2.25, 3.0])
        assert y.tolist() == [1.5, -2.25, 3.0]


@needs_torch
@pytest.mark.parametrize("a", ALL, ids=lambda d: d.name)
def test_promote_types_matches_torch(a):
    for b in ALL:
        assert ts.promote_types(a, b).name == str(torch.promote_types(tdt(a), tdt(b))).split(".")[-1], (a, b)


@needs_torch
def test_result_type_scalars_and_zero_dim_like_torch():
    cases = [
        (ts.ones(2, dtype=ts.int32), 2.5),
        (ts.ones(2, dtype=ts.float16), 2.5),
        (ts.ones(2, dtype=ts.uint8), 300),
        (ts.ones(2, dtype=ts.bool), 1),
        (ts.ones(2, dtype=ts.int8), ts.tensor(1.0, dtype=ts.float64)),
        (ts.ones(2, dtype=ts.float32), ts.tensor(1.0, dtype=ts.float64)),
        (ts.ones(2, dtype=ts.int32), ts.tensor(1, dtype=ts.int64)),
        (ts.tensor(1), ts.tensor(1.0, dtype=ts.float16)),
        (ts.ones(2, dtype=ts.bfloat16), True),
    ]
    for a, b in cases:
        tb = torch.tensor(b.tolist(), dtype=tdt(b.dtype)) if isinstance(b, ts.Tensor) else b
        ta = torch.tensor(a.tolist(), dtype=tdt(a.dtype))
        assert ts.result_type(a, b).name == str(torch.result_type(ta, tb)).split(".")[-1], (a.dtype, b)


def test_set_default_dtype():
    try:
        ts.set_default_dtype(ts.float64)
        assert ts.tensor([1.0]).dtype is ts.float64 and ts.zeros(1).dtype is ts.float64
    finally:
        ts.set_default_dtype(ts.float32)
    with pytest.raises(TypeError, match="set_default_dtype"):
        ts.set_default_dtype(ts.int32)


def test_finfo_iinfo():
    assert ts.finfo(ts.float32).eps == np.finfo(np.float32).eps
    assert ts.finfo(ts.bfloat16).eps == 2**-7
    assert ts.iinfo(ts.int8).max == 127
    with pytest.raises(TypeError):
        ts.finfo(ts.int32)


@needs_torch
def test_repr_matches_torch():
    cases = [
        ([1.0, 2.5], {}),
        ([1.0, 2.0], {}),
        ([[1.0, 2.0], [3.0, 4.0]], {}),
        (3.0, {}),
        ([1, 2], {}),
        ([True, False], {}),
        ([1e-5, 1.0], {}),
        ([1, 2], {"dtype": "int32"}),
        ([0.125, -3.5], {"dtype": "float64"}),
    ]
    for data, kw in cases:
        t = ts.tensor(data, dtype=getattr(ts, kw["dtype"]) if kw else None)
        r = torch.tensor(data, dtype=getattr(torch, kw["dtype"]) if kw else None)
        assert repr(t) == repr(r).replace("torch.", "tessera."), (repr(t), repr(r))
    x = ts.ones(2, requires_grad=True)
    assert repr(x) == "tensor([1., 1.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 2.], grad_fn=<MulBackward0>)"


def test_generators_are_reproducible_and_independent():
    g1 = ts.Generator().manual_seed(3)
    g2 = ts.Generator().manual_seed(3)
    a, b = ts.rand(4, generator=g1), ts.rand(4, generator=g2)
    assert a.tolist() == b.tolist()
    ts.manual_seed(0)
    x = ts.randn(3, 2)
    ts.manual_seed(0)
    assert ts.randn(3, 2).tolist() == x.tolist()
    assert x.dtype is ts.float32
    r = ts.randint(3, 10, (100,), generator=g1)
    assert r.dtype is ts.int64 and r.min().item() >= 3 if hasattr(ts.Tensor, "min") else True
    assert ((r.numpy() >= 3) & (r.numpy() < 10)).all()
    u = ts.rand(1000, generator=g1).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.05
    n = ts.randn(20000, generator=g1).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    state = g1.get_state()
    v1 = ts.rand(3, generator=g1).tolist()
    g1.set_state(state)
    assert ts.rand(3, generator=g1).tolist() == v1
    assert sorted(ts.randperm(10, generator=g1).tolist()) == list(range(10))
    with pytest.raises(RuntimeError, match="randint"):
        ts.randint(5, 5, (2,))


def test_import_is_light():
    heavy = "('torch', 'scipy', 'pandas', 'sklearn')"
    code = f"import sys, tessera; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
