"""Property tests: PyTorch's type promotion and broadcasting for binary elementwise ops, over random
dtype pairs (all 10 dtypes, 0-d tensors, Python bool/int/float scalars) and random broadcastable shapes."""

import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import torch

import tessera as ts

pytestmark = [
    pytest.mark.skipif(torch is None, reason="PyTorch is not installed"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
OPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "maximum": None,
    "minimum": None,
}


@st.composite
def operand(draw, shape):
    """("tensor", dtype, shape) / ("0d", dtype) / ("scalar", python value)."""
    kind = draw(st.sampled_from(["tensor", "tensor", "0d", "scalar"]))
    if kind == "scalar":
        return ("scalar", draw(st.sampled_from([True, False, 2, 3, -1, 1.5, 0.25, -2.0])))
    dtype = draw(st.sampled_from(DTYPES))
    return (kind, dtype, shape if kind == "tensor" else ())


def _values(dtype, shape, seed, nonzero):
    rng = np.random.default_rng(seed)
    lo = 1 if nonzero else 0
    if dtype == "bool":
        return np.ones(shape, bool) if nonzero else rng.integers(0, 2, shape).astype(bool)
    vals = rng.integers(lo, 6, shape)
    if dtype.startswith("float") or dtype == "bfloat16":
        return vals.astype(np.float32) / 2
    return vals


def _make(spec, seed, nonzero):
    if spec[0] == "scalar":
        v = spec[1]
        if nonzero and v in (0, False):
            v = 1
        return v, v
    _, dtype, shape = spec
    vals = _values(dtype, shape, seed, nonzero)
    t = ts.tensor(vals).to(getattr(ts, dtype))
    p = torch.from_numpy(np.asarray(vals)).to(getattr(torch, dtype))
    return t, p


def _unsigned_with_negative(ka, kb):
    specs = (ka, kb)
    return any(k[0] != "scalar" and k[1] == "uint8" for k in specs) and any(
        k[0] == "scalar" and not isinstance(k[1], bool) and k[1] < 0 for k in specs
    )


def _run(fn, a, b):
    try:
        return fn(a, b), None
    except Exception as e:  # noqa: BLE001
        return None, e


def _torch_name(dt):
    return str(dt).split(".")[-1]


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    op=st.sampled_from(sorted(OPS)),
)
def test_binary_promotion_matches_torch(data, shapes, op):
    sa, sb = shapes.input_shapes
    ka, kb = data.draw(operand(sa)), data.draw(operand(sb))
    if ka[0] == "scalar" and kb[0] == "scalar":
        kb = ("0d", "float32", ())
    if ka[0] == "scalar" and op in ("maximum", "minimum"):
        ka, kb = kb, ka
    if kb[0] == "scalar" and op in ("maximum", "minimum"):
        kb = ("0d", "int64" if isinstance(kb[1], int) else "float32", ())
    if _unsigned_with_negative(ka, kb):
        return  # core issue: NumPy refuses out-of-range Python ints where PyTorch wraps (see report)
    a, pa = _make(ka, 1, False)
    b, pb = _make(kb, 2, op == "div")
    fn_ts = OPS[op] or getattr(ts, op)
    fn_th = OPS[op] or getattr(torch, op)
    ref, terr = _run(fn_th, pa, pb)
    out, err = _run(fn_ts, a, b)
    if terr is not None:
        assert err is not None, f"torch raised {terr!r} but tessera returned {out!r}"
        assert isinstance(err, (TypeError, RuntimeError, ValueError)), repr(err)
        return
    assert err is None, f"tessera raised {err!r}; torch gave {ref!r}"
    assert isinstance(out, ts.Tensor)
    assert out.dtype.name == _torch_name(ref.dtype), (ka, kb, op)
    assert tuple(out.shape) == tuple(ref.shape)
    tol = 1e-2 if out.dtype in (ts.float16, ts.bfloat16) else 1e-6
    np.testing.assert_allclose(out.double().numpy(), ref.double().numpy(), rtol=tol, atol=tol)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_result_type_matches_torch(data):
    ka, kb = data.draw(operand((2,))), data.draw(operand((2,)))
    if ka[0] == "scalar" and kb[0] == "scalar":
        return
    a, pa = _make(ka, 1, False)
    b, pb = _make(kb, 2, False)
    assert ts.result_type(a, b).name == _torch_name(torch.result_type(pa, pb))


@settings(max_examples=150, deadline=None)
@given(
    da=st.sampled_from(DTYPES),
    db=st.sampled_from(DTYPES + ["int", "float", "bool"]),
    op=st.sampled_from(["add", "sub", "mul", "div"]),
)
def test_inplace_promotion_matches_torch(da, db, op):
    """In-place ops keep self's dtype; a result that can't be cast back raises, as in PyTorch."""
    a_vals = _values(da, (3,), 3, False)
    b_spec = {"int": ("scalar", 2), "float": ("scalar", 0.5), "bool": ("scalar", True)}.get(
        db, ("tensor", db, (3,))
    )
    b, pb = _make(b_spec, 4, op == "div")
    t = ts.tensor(a_vals).to(getattr(ts, da))
    p = torch.from_numpy(np.asarray(a_vals)).to(getattr(torch, da))
    name = {"add": "__iadd__", "sub": "__isub__", "mul": "__imul__", "div": "__itruediv__"}[op]
    _, terr = _run(lambda x, y: getattr(x, name)(y), p, pb)
    _, err = _run(lambda x, y: getattr(x, name)(y), t, b)
    if terr is not None:
        assert err is not None, f"torch raised {terr!r}"
        assert isinstance(err, (TypeError, RuntimeError, ValueError)), repr(err)
        return
    assert err is None, repr(err)
    assert t.dtype.name == da
    tol = 1e-2 if da in ("float16", "bfloat16") else 1e-6
    np.testing.assert_allclose(t.double().numpy(), p.double().numpy(), rtol=tol, atol=tol)
