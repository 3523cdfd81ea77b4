"""Shared checks for op tests: forward against NumPy, gradients against float64 finite differences, and
forward + gradients against PyTorch when it is importable."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts

try:
    import torch
except ImportError:  # pragma: no cover - CI installs torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def to_ts(a, requires_grad=False):
    if isinstance(a, np.ndarray):
        return ts.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
    return a


def to_torch(a, requires_grad=False):
    if isinstance(a, np.ndarray):
        t = torch.from_numpy(a.copy())
        if requires_grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return a


def as_np(x):
    if isinstance(x, ts.Tensor):
        return x.detach().numpy()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def check_forward(ts_fn, np_fn, *inputs, rtol=1e-6, atol=1e-6):
    """``ts_fn`` on tensors equals ``np_fn`` on the same NumPy arrays (values, shape and dtype kind)."""
    out = ts_fn(*[to_ts(a) for a in inputs])
    ref = np.asarray(np_fn(*inputs))
    got = as_np(out)
    assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape}"
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=rtol, atol=atol)
    return out


def check_grad(ts_fn, *inputs, atol=1e-5, rtol=1e-4, eps=1e-6):
    """Autograd gradients of ``ts_fn`` match float64 central finite differences."""
    tensors = [
        to_ts(
            a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a,
            requires_grad=True,
        )
        for a in inputs
    ]
    assert ts.autograd.gradcheck(ts_fn, tensors, atol=atol, rtol=rtol, eps=eps)


def check_torch(ts_fn, torch_fn, *inputs, rtol=1e-5, atol=1e-6, grad=True, seed=0):
    """Forward values and input gradients (for a random output cotangent) equal PyTorch's."""
    if torch is None:
        pytest.skip("PyTorch is not installed")
    t_in = [to_ts(a, requires_grad=grad) for a in inputs]
    p_in = [to_torch(a, requires_grad=grad) for a in inputs]
    out = ts_fn(*t_in)
    ref = torch_fn(*p_in)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert tuple(o.shape) == tuple(r.shape), f"shape {tuple(o.shape)} != torch {tuple(r.shape)}"
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], (
            f"dtype {o.dtype} != torch {r.dtype}"
        )
        np.testing.assert_allclose(
            as_np(o).astype(np.float64), as_np(r).astype(np.float64), rtol=rtol, atol=atol
        )
    if not grad:
        return out
    rng = np.random.default_rng(seed)
    pairs = [(o, r) for o, r in zip(outs, refs) if o.requires_grad]
    if not pairs:
        return out
    vs = [rng.standard_normal(tuple(o.shape)).astype(as_np(o).dtype) for o, _ in pairs]
    ts_g = ts.autograd.grad(
        [o for o, _ in pairs],
        [t for t in t_in if isinstance(t, ts.Tensor) and t.requires_grad],
        [ts.tensor(v) for v in vs],
        allow_unused=True,
    )
    p_req = [t for t in p_in if isinstance(t, torch.Tensor) and t.requires_grad]
    p_g = torch.autograd.grad(
        [r for _, r in pairs], p_req, [torch.from_numpy(v) for v in vs], allow_unused=True
    )
    for a, b in zip(ts_g, p_g):
        if b is None:
            assert a is None or np.allclose(as_np(a), 0)
            continue
        assert a is not None, "Tessera gave no gradient where PyTorch gave one"
        np.testing.assert_allclose(
            as_np(a).astype(np.float64), as_np(b).astype(np.float64), rtol=rtol, atol=max(atol, 1e-5)
        )
    return out


def rand(*shape, seed=0, dtype=np.float32, low=-2.0, high=2.0):
    """Reproducible test data."""
    return np.random.default_rng(seed + 7 * len(shape)).uniform(low, high, shape).astype(dtype)


def randn(*shape, seed=0):
    """Reproducible standard-normal float32 test data."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
