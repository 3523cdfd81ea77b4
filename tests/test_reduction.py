"""Reductions: forward vs NumPy, gradients vs finite differences, forward + gradients vs PyTorch, result
dtypes, ties, zeros, errors and second derivatives."""

import math

import numpy as np
import pytest
from opcheck import check_forward, check_grad, check_torch, needs_torch, rand, torch

import tessera as ts

INF = math.inf


def tdim(d, nd):
    """PyTorch spelling of "all dims" for ops whose dim must be a list."""
    return tuple(range(nd)) if d is None else d


def npdim(d):
    return tuple(d) if isinstance(d, list) else d


# -- dim-list reductions: sum, mean, var, std, amax, amin, logsumexp, norm, nansum --------------------------
DIM_CASES = [
    (None, False),
    (None, True),
    (0, False),
    (-1, True),
    ((0, 2), False),
    ((-1, 0), True),
    ((0, 1, 2), False),
    (1, True),
]


def _np_var(a, d, k, ddof=1):
    return np.var(a.astype(np.float64), axis=d, keepdims=k, ddof=ddof)


DIM_OPS = {
    "sum": (
        lambda x, d, k: ts.sum(x, d, k),
        lambda a, d, k: np.sum(a, axis=d, keepdims=k),
        lambda x, d, k: torch.sum(x, tdim(d, x.ndim), k),
    ),
    "mean": (
        lambda x, d, k: x.mean(d, keepdim=k),
        lambda a, d, k: np.mean(a, axis=d, keepdims=k),
        lambda x, d, k: torch.mean(x, tdim(d, x.ndim), k),
    ),
    "var": (
        lambda x, d, k: ts.var(x, d, keepdim=k),
        _np_var,
        lambda x, d, k: torch.var(x, tdim(d, x.ndim), keepdim=k),
    ),
    "var_c0": (
        lambda x, d, k: x.var(d, keepdim=k, correction=0),
        lambda a, d, k: _np_var(a, d, k, 0),
        lambda x, d, k: torch.var(x, tdim(d, x.ndim), keepdim=k, correction=0),
    ),
    "std": (
        lambda x, d, k: ts.std(x, d, keepdim=k),
        lambda a, d, k: np.sqrt(_np_var(a, d, k)),
        lambda x, d, k: torch.std(x, tdim(d, x.ndim), keepdim=k),
    ),
    "std_unbiased_false": (
        lambda x, d, k: x.std(d, False, k),
        lambda a, d, k: np.sqrt(_np_var(a, d, k, 0)),
        lambda x, d, k: torch.std(x, tdim(d, x.ndim), False, k),
    ),
    "amax": (
        lambda x, d, k: ts.amax(x, d, k),
        lambda a, d, k: np.max(a, axis=d, keepdims=k),
        lambda x, d, k: torch.amax(x, tdim(d, x.ndim), k),
    ),
    "amin": (
        lambda x, d, k: x.amin(d, k),
        lambda a, d, k: np.min(a, axis=d, keepdims=k),
        lambda x, d, k: torch.amin(x, tdim(d, x.ndim), k),
    ),
    "logsumexp": (
        lambda x, d, k: ts.logsumexp(x, d, k),
        lambda a, d, k: np.log(np.sum(np.exp(a.astype(np.float64)), axis=d, keepdims=k)),
        lambda x, d, k: torch.logsumexp(x, tdim(d, x.ndim), k),
    ),
    "norm2": (
        lambda x, d, k: ts.norm(x, 2, dim=d, keepdim=k),
        lambda a, d, k: np.sqrt(np.sum(a.astype(np.float64) ** 2, axis=d, keepdims=k)),
        lambda x, d, k: torch.norm(x, 2, dim=d, keepdim=k),
    ),
    "norm1": (
        lambda x, d, k: x.norm(1, d, k),
        lambda a, d, k: np.sum(np.abs(a), axis=d, keepdims=k),
        lambda x, d, k: torch.norm(x, 1, d, k),
    ),
    "norm3": (
        lambda x, d, k: x.norm(3, d, k),
        lambda a, d, k: np.sum(np.abs(a.astype(np.float64)) ** 3, axis=d, keepdims=k) ** (1 / 3),
        lambda x, d, k: torch.norm(x, 3, d, k),
    ),
    "norm_half": (
        lambda x, d, k: x.norm(0.5, d, k),
        lambda a, d, k: np.sum(np.abs(a.astype(np.float64)) ** 0.5, axis=d, keepdims=k) ** 2,
        lambda x, d, k: torch.norm(x, 0.5, d, k),
    ),
    "norm_inf": (
        lambda x, d, k: x.norm(INF, d, k),
        lambda a, d, k: np.max(np.abs(a), axis=d, keepdims=k),
        lambda x, d, k: torch.norm(x, INF, d, k),
    ),
    "norm_ninf": (
        lambda x, d, k: x.norm(-INF, d, k),
        lambda a, d, k: np.min(np.abs(a), axis=d, keepdims=k),
        lambda x, d, k: torch.norm(x, -INF, d, k),
    ),
    "nansum": (
        lambda x, d, k: ts.nansum(x, d, k),
        lambda a, d, k: np.nansum(a, axis=d, keepdims=k),
        lambda x, d, k: torch.nansum(x, tdim(d, x.ndim), k),
    ),
}


@pytest.mark.parametrize("dim,keepdim", DIM_CASES)
@pytest.mark.parametrize("name", sorted(DIM_OPS))
def test_dim_reduction(name, dim, keepdim):
    fn, np_fn, torch_fn = DIM_OPS[name]
    a = rand(2, 3, 4)
    check_forward(
        lambda x: fn(x, dim, keepdim), lambda x: np_fn(x, npdim(dim), keepdim), a, rtol=1e-5, atol=1e-5
    )
    check_grad(lambda x: fn(x, dim, keepdim), a)
    check_torch(
        lambda x: fn(x, dim, keepdim),
        (lambda x: torch_fn(x, dim, keepdim)) if torch else None,
        a,
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("name", sorted(DIM_OPS))
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_dim_reduction_0d(name, dim):
    fn, np_fn, torch_fn = DIM_OPS[name]
    a = np.array(0.7, np.float32)
    out = fn(ts.tensor(a), dim, False)
    assert out.shape == ()
    if name.startswith(("var", "std")):
        return  # one element: nan with correction 1, 0 with correction 0
    check_grad(lambda x: fn(x, dim, False), a)
    check_torch(
        lambda x: fn(x, dim, True),
        (lambda x: torch_fn(x, dim if dim is not None else (), True)) if torch else None,
        a,
    )


def test_empty_tuple_dim_reduces_everything():
    a = rand(2, 3)
    for f in (ts.sum, ts.mean, ts.amax, ts.count_nonzero):
        assert f(ts.tensor(a), ()).shape == ()
    assert ts.all(ts.tensor(a), ()).shape == (2, 3)  # as in PyTorch


def test_empty_inputs():
    e = ts.zeros(0, 3)
    assert ts.sum(e).item() == 0
    assert math.isnan(ts.mean(e).item())
    assert ts.mean(e, 1).shape == (0,)
    assert ts.amax(e, 1).shape == (0,)
    assert ts.max(e, 1).values.shape == (0,)
    assert ts.argmax(e, 1).shape == (0,)
    assert ts.prod(e).item() == 1
    assert ts.logsumexp(e, 0).tolist() == [-INF] * 3
    assert ts.softmax(e, 0).shape == (0, 3)
    assert ts.cumsum(e, 0).shape == (0, 3)
    assert ts.norm(e).item() == 0
    assert ts.all(e).item() is True and ts.any(e).item() is False
    with pytest.raises(IndexError, match="amax"):
        ts.amax(e, 0)
    with pytest.raises(IndexError, match="max"):
        ts.max(e)
    with pytest.raises(IndexError, match="argmax"):
        ts.argmax(e)
    with pytest.raises(IndexError, match="max"):
        ts.max(e, 0)
    with pytest.raises(RuntimeError, match="norm"):
        ts.norm(e, INF)


# -- var / std arguments, var_mean, std_mean ----------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(correction=0),
        dict(correction=2),
        dict(unbiased=False),
        dict(unbiased=True),
        dict(dim=1, correction=0),
        dict(dim=(0, 1), keepdim=True),
        dict(dim=-1, unbiased=False, keepdim=True),
    ],
)
@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_var_std_arguments(name, kw):
    a = rand(3, 4)
    check_torch(lambda x: getattr(ts, name)(x, **kw), lambda x: getattr(torch, name)(x, **kw), a, rtol=1e-4)


def test_var_legacy_positional_unbiased():
    a = rand(3, 4)
    np.testing.assert_allclose(ts.var(ts.tensor(a), False).item(), np.var(a), rtol=1e-5)
    np.testing.assert_allclose(
        ts.tensor(a).std(1, False, True).numpy(), np.std(a, 1, keepdims=True), rtol=1e-5
    )
    assert math.isnan(ts.var(ts.tensor([1.0])).item())
    with pytest.raises(RuntimeError, match="var"):
        ts.var(ts.tensor(a), unbiased=True, correction=0)


def test_var_grad_high_correction():
    # divisor max(0, N - correction) = 0 -> inf/nan, as PyTorch
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    out = x.var(correction=2)
    assert out.item() == INF
    out.backward()
    assert np.all(~np.isfinite(x.grad.numpy()))


# -- max / min / median with a dim, argmax / argmin ---------------------------------------------------------
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False), (2, False), (-3, True)])
@pytest.mark.parametrize("name", ["max", "min", "median"])
def test_values_indices(name, dim, keepdim):
    a = rand(2, 3, 5)
    out = getattr(ts, name)(ts.tensor(a), dim, keepdim)
    assert type(out).__name__ == name and out._fields == ("values", "indices")
    assert out.indices.dtype == ts.int64
    np_fn = {
        "max": np.max,
        "min": np.min,
        "median": lambda v, axis, keepdims: (
            np.take_along_axis(
                np.sort(v, axis),
                np.full([1 if i == axis % 3 else s for i, s in enumerate(v.shape)], (v.shape[axis] - 1) // 2),
                axis,
            )
            if keepdims
            else np.squeeze(
                np.take_along_axis(
                    np.sort(v, axis),
                    np.full(
                        [1 if i == axis % 3 else s for i, s in enumerate(v.shape)], (v.shape[axis] - 1) // 2
                    ),
                    axis,
                ),
                axis,
            )
        ),
    }[name]
    np.testing.assert_array_equal(out.values.numpy(), np_fn(a, axis=dim, keepdims=keepdim))
    idx = out.indices.numpy() if keepdim else np.expand_dims(out.indices.numpy(), dim)
    np.testing.assert_array_equal(
        np.take_along_axis(a, idx, dim),
        out.values.numpy() if keepdim else np.expand_dims(out.values.numpy(), dim),
    )
    check_grad(lambda x: getattr(ts, name)(x, dim, keepdim).values, a)
    check_torch(
        lambda x: tuple(getattr(ts, name)(x, dim, keepdim)),
        (lambda x: tuple(getattr(torch, name)(x, dim, keepdim))) if torch else None,
        a,
    )


@pytest.mark.parametrize("name", ["max", "min", "median"])
def test_full_reduction_values_only(name):
    a = rand(3, 5)
    ref = {"max": np.max, "min": np.min, "median": lambda w: np.sort(w, None)[(w.size - 1) // 2]}[name]
    check_forward(getattr(ts, name), ref, a)
    check_grad(getattr(ts, name), a)
    check_torch(getattr(ts, name), getattr(torch, name) if torch else None, a)
    out = getattr(ts.tensor(a), name)()
    assert isinstance(out, ts.Tensor) and out.shape == ()


@pytest.mark.parametrize("name", ["max", "min", "median"])
def test_values_indices_0d(name):
    x = ts.tensor(1.5, requires_grad=True)
    v, i = getattr(x, name)(0, True)
    assert v.shape == () and i.shape == () and i.item() == 0
    v.backward()
    assert x.grad.item() == 1.0


@needs_torch
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "median"])
def test_ties_gradient_matches_torch(name):
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 5.0, 5.0]], np.float32)
    if name in ("min", "amin"):
        a = -a
    check_torch(getattr(ts, name), getattr(torch, name), a)  # full reduction: split evenly among ties
    if name == "median":
        b = np.array([[1.0, 2.0, 2.0, 2.0, 3.0]], np.float32)
        check_torch(lambda x: x.median(), lambda x: x.median(), b)
        return
    check_torch(lambda x: getattr(ts, name)(x, 1), lambda x: getattr(torch, name)(x, 1), a)
    check_torch(lambda x: getattr(ts, name)(x, 0, True), lambda x: getattr(torch, name)(x, 0, True), a)


@needs_torch
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["max", "min", "median", "amax", "amin"])
def test_nan_gradient_matches_torch(name):
    a = np.array([1.0, np.nan, 3.0, np.nan], np.float32)
    x, t = ts.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    getattr(x, name)().backward()
    getattr(t, name)().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())  # NaNs compare equal here
    b = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 0.0]], np.float32)
    if name in ("max", "min", "median"):
        check_torch(lambda v: tuple(getattr(v, name)(1)), lambda v: tuple(getattr(v, name)(1)), b)


@needs_torch
def test_tie_indices_first_occurrence():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], np.float32)
    for name in ("max", "min"):
        assert (
            ts.tensor(a).__getattribute__(name)(1).indices.tolist()
            == getattr(torch.from_numpy(a), name)(1).indices.tolist()
        )
    assert ts.argmax(ts.tensor(a), 1).tolist() == [1, 0]
    assert ts.argmin(ts.tensor(a)).item() == 0


@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (0, False), (1, True), (-1, False)])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name, dim, keepdim):
    a = rand(3, 4)
    out = getattr(ts, name)(ts.tensor(a), dim, keepdim)
    assert out.dtype == ts.int64
    ref = getattr(np, name)(a, axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(out.numpy(), ref)
    if torch is not None:
        r = getattr(torch, name)(torch.from_numpy(a), dim, keepdim)
        assert tuple(out.shape) == tuple(r.shape)
        np.testing.assert_array_equal(out.numpy(), r.numpy())


def test_argmax_0d_and_nan():
    assert ts.argmax(ts.tensor(3.0)).item() == 0
    assert ts.tensor(3.0).argmin(0, keepdim=True).shape == ()
    x = ts.tensor([[1.0, float("nan"), 2.0]])
    assert ts.argmax(x, 1).tolist() == [1] and ts.argmin(x, 1).tolist() == [1]
    assert math.isnan(ts.max(x).item()) and math.isnan(ts.median(x).item())
    v, i = ts.median(x, 1)
    assert math.isnan(v.item()) and i.item() == 1


def test_max_elementwise_forms():
    a, b = ts.tensor([1.0, 5.0]), ts.tensor([3.0, 2.0])
    maximum = getattr(ts, "maximum", None)
    if maximum is None:
        pytest.skip("elementwise maximum not available yet")
    assert ts.max(a, b).tolist() == [3.0, 5.0]
    assert a.min(b).tolist() == [1.0, 2.0]
    assert ts.max(a, other=b).tolist() == [3.0, 5.0]


def test_aminmax():
    a = rand(3, 4)
    r = ts.aminmax(ts.tensor(a))
    assert type(r).__name__ == "aminmax" and r.min.item() == a.min() and r.max.item() == a.max()
    r = ts.tensor(a).aminmax(dim=1, keepdim=True)
    np.testing.assert_array_equal(r.max.numpy(), a.max(1, keepdims=True))
    if torch is not None:
        check_torch(lambda x: tuple(ts.aminmax(x, dim=-1)), lambda x: tuple(torch.aminmax(x, dim=-1)), a)


# -- prod and cumprod (gradients with zeros) ----------------------------------------------------------------
PROD_INPUTS = {
    "plain": rand(3, 4, low=0.5, high=1.5),
    "one_zero": np.array([[1.5, 0.0, 2.0, -1.0], [0.5, 2.0, 3.0, 1.0], [0.0, 0.0, 2.0, 1.0]], np.float32),
    "zeros_col": np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 0.0]], np.float32),
}


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False)])
@pytest.mark.parametrize("case", sorted(PROD_INPUTS))
def test_prod(case, dim, keepdim):
    a = PROD_INPUTS[case]
    fn = (lambda x: ts.prod(x)) if dim is None else (lambda x: x.prod(dim, keepdim))
    tfn = (lambda x: torch.prod(x)) if dim is None else (lambda x: x.prod(dim, keepdim))
    check_forward(fn, lambda v: np.prod(v, axis=dim, keepdims=keepdim), a)
    check_grad(fn, a)
    check_torch(fn, tfn if torch else None, a)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("case", sorted(PROD_INPUTS))
def test_cumprod(case, dim):
    a = PROD_INPUTS[case]
    check_forward(lambda x: x.cumprod(dim), lambda v: np.cumprod(v, dim), a)
    check_grad(lambda x: ts.cumprod(x, dim), a)
    check_torch(lambda x: ts.cumprod(x, dim), (lambda x: torch.cumprod(x, dim)) if torch else None, a)


@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_cumsum(dim):
    a = rand(3, 4)
    check_forward(lambda x: ts.cumsum(x, dim), lambda v: np.cumsum(v, dim), a)
    check_grad(lambda x: x.cumsum(dim), a)
    check_torch(lambda x: x.cumsum(dim), (lambda x: x.cumsum(dim)) if torch else None, a)
    check_torch(
        lambda x: x.cumsum(dim, dtype=ts.float64),
        (lambda x: x.cumsum(dim, dtype=torch.float64)) if torch else None,
        a,
    )


def test_cum_0d():
    x = ts.tensor(2.0, requires_grad=True)
    assert ts.cumsum(x, 0).item() == 2.0 and ts.cumprod(x, -1).item() == 2.0
    ts.cumprod(x, 0).backward()
    assert x.grad.item() == 1.0


# -- softmax / log_softmax ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((), 0)]
)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, shape, dim):
    a = np.asarray(rand(*shape) * 3)

    def ref(v):
        v = v.astype(np.float64)
        s = v - v.max(axis=dim, keepdims=True) if v.ndim else v - v
        lse = np.log(np.exp(s).sum(axis=dim if v.ndim else None, keepdims=True))
        return np.exp(s - lse) if name == "softmax" else s - lse

    fn = lambda x: getattr(ts, name)(x, dim)  # noqa: E731
    check_forward(fn, ref, a)
    check_grad(fn, a)
    check_torch(fn, (lambda x: getattr(torch, name)(x, dim)) if torch else None, a)
    check_torch(
        lambda x: getattr(x, name)(dim, dtype=ts.float64),
        (lambda x: getattr(x, name)(dim, dtype=torch.float64)) if torch else None,
        a,
    )


def test_softmax_stability_and_default_dim():
    x = ts.tensor([[1000.0, 1000.0, -1000.0]])
    np.testing.assert_allclose(ts.softmax(x, 1).numpy(), [[0.5, 0.5, 0.0]])
    ln2 = math.log(2)
    np.testing.assert_allclose(ts.log_softmax(x, -1).numpy(), [[-ln2, -ln2, -2000.0 - ln2]])
    np.testing.assert_allclose(ts.logsumexp(x, 1).numpy(), [1000.0 + math.log(2)], rtol=1e-6)
    assert ts.logsumexp(ts.tensor([-INF, -INF]), 0).item() == -INF
    assert ts.logsumexp(ts.tensor([INF, 1.0]), 0).item() == INF
    with pytest.warns(UserWarning, match="softmax"):
        out = ts.softmax(ts.ones(2, 3))
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 1 / 3), rtol=1e-6)  # dim 1 for 2-d, as torch
    assert ts.softmax(ts.ones(2, 3), 1, dtype=ts.float64).dtype == ts.float64
    assert ts.softmax(ts.tensor([1, 2]), 0, dtype=ts.float32).dtype == ts.float32


# -- all / any / count_nonzero ------------------------------------------------------------------------------
LOGICAL_INPUT = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]], np.float32)


@pytest.mark.parametrize(
    "dim,keepdim", [(None, False), (0, False), (1, True), (-1, False), ((0, 1), True), ((), False)]
)
@pytest.mark.parametrize("dtype", ["float32", "bool", "uint8", "int32"])
@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any(name, dtype, dim, keepdim):
    a = LOGICAL_INPUT.astype(dtype)
    out = getattr(ts, name)(ts.tensor(a), dim, keepdim) if dim is not None else getattr(ts.tensor(a), name)()
    np_dim = dim if dim != () else None
    ref = getattr(np, name)(a, axis=np_dim, keepdims=keepdim) if dim != () else a.astype(bool)
    np.testing.assert_array_equal(out.numpy().astype(bool), ref)
    if torch is not None:
        t = torch.from_numpy(a)
        r = getattr(torch, name)(t, dim, keepdim) if dim is not None else getattr(torch, name)(t)
        assert str(out.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        assert tuple(out.shape) == tuple(r.shape)


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
def test_count_nonzero(dim):
    a = LOGICAL_INPUT
    out = ts.count_nonzero(ts.tensor(a), dim)
    assert out.dtype == ts.int64
    np.testing.assert_array_equal(out.numpy(), np.count_nonzero(a, axis=dim))
    if torch is not None:
        np.testing.assert_array_equal(out.numpy(), torch.count_nonzero(torch.from_numpy(a), dim).numpy())


# -- norm ---------------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("p", [2, 1, INF, -INF, 3, 0.5, "fro", 0, 1.5])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 1), False)])
def test_norm_vs_torch(p, dim, keepdim):
    a = rand(3, 4)
    check_torch(lambda x: ts.norm(x, p, dim, keepdim), lambda x: torch.norm(x, p, dim, keepdim), a, rtol=1e-4)


@needs_torch
@pytest.mark.parametrize("p", [2, 1, INF, 3, "fro"])
def test_norm_grad_at_zero(p):
    a = np.zeros((2, 3), np.float32)
    a[1] = [1.0, -2.0, 2.0]
    check_torch(lambda x: ts.norm(x, p, 1), lambda x: torch.norm(x, p, 1), a)
    x = ts.zeros(3, requires_grad=True)
    ts.norm(x, p).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_norm_dtype_arg():
    x = ts.tensor([3.0, 4.0])
    out = x.norm(dtype=ts.float64)
    assert out.dtype == ts.float64 and out.item() == 5.0
    assert ts.norm(ts.tensor([3, 4]), dtype=ts.float32).item() == 5.0


# -- result dtypes vs PyTorch -------------------------------------------------------------------------------
DTYPES = ["bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
DTYPE_OPS = {
    "sum": lambda m, x: m.sum(x),
    "sum_dim": lambda m, x: m.sum(x, 1),
    "mean": lambda m, x: m.mean(x),
    "mean_dtype": lambda m, x: m.mean(x, 0, dtype=m.float64),
    "prod": lambda m, x: m.prod(x),
    "prod_dim": lambda m, x: m.prod(x, 0),
    "cumsum": lambda m, x: m.cumsum(x, 1),
    "cumprod": lambda m, x: m.cumprod(x, 0),
    "amax": lambda m, x: m.amax(x, 1),
    "amin": lambda m, x: m.amin(x),
    "max": lambda m, x: m.max(x),
    "max_dim": lambda m, x: tuple(m.max(x, 1)),
    "min_dim": lambda m, x: tuple(m.min(x, 0)),
    "argmax": lambda m, x: m.argmax(x),
    "argmin": lambda m, x: m.argmin(x, 1),
    "all": lambda m, x: m.all(x),
    "any": lambda m, x: m.any(x, 1),
    "count_nonzero": lambda m, x: m.count_nonzero(x),
    "var": lambda m, x: m.var(x),
    "std": lambda m, x: m.std(x, 1),
    "logsumexp": lambda m, x: m.logsumexp(x, 1),
    "softmax": lambda m, x: m.softmax(x, 1),
    "log_softmax": lambda m, x: m.log_softmax(x, 0),
    "norm": lambda m, x: m.norm(x),
    "median": lambda m, x: m.median(x),
    "median_dim": lambda m, x: tuple(m.median(x, 1)),
    "nansum": lambda m, x: m.nansum(x),
}


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(DTYPE_OPS))
def test_dtype_vs_torch(name, dtype):
    base = np.array([[1.0, 2.0, 0.0, 3.0], [2.0, 1.0, 1.0, 0.5], [0.0, 3.0, 2.0, 1.0]], np.float32)
    if dtype in ("bool", "uint8", "int32", "int64"):
        base = np.floor(base)
    fn = DTYPE_OPS[name]
    tt = torch.from_numpy(base).to(getattr(torch, dtype))
    try:
        ref = fn(torch, tt)
    except Exception as e:  # noqa: BLE001
        with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
            fn(ts, ts.tensor(base, dtype=getattr(ts, dtype)))
        assert not isinstance(e, IndexError)
        return
    out = fn(ts, ts.tensor(base, dtype=getattr(ts, dtype)))
    outs, refs = (out, ref) if isinstance(ref, tuple) else ((out,), (ref,))
    loose = dtype in ("float16", "bfloat16")
    for o, r in zip(outs, refs):
        assert o.dtype.name == str(r.dtype).split(".")[-1], f"{name}: {o.dtype} vs torch {r.dtype}"
        assert tuple(o.shape) == tuple(r.shape)
        np.testing.assert_allclose(
            np.asarray(o.tolist(), np.float64),
            np.asarray(r.tolist(), np.float64),
            rtol=2e-2 if loose else 1e-5,
            atol=2e-2 if loose else 1e-6,
        )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_grads_flow(dtype):
    x = ts.tensor(rand(3, 4), dtype=getattr(ts, dtype), requires_grad=True)
    y = (x.softmax(1) * 2).sum() + x.mean() + x.var() + x.logsumexp(0).sum() + x.amax() + x.norm()
    y.backward()
    assert x.grad.dtype == x.dtype and x.grad.shape == x.shape
    assert np.all(np.isfinite(x.grad.numpy().astype(np.float32)))


# -- errors -------------------------------------------------------------------------------------------------
ERROR_CALLS = {
    "sum": lambda x, d: ts.sum(x, d),
    "mean": lambda x, d: x.mean(d),
    "var": lambda x, d: x.var(d),
    "std": lambda x, d: ts.std(x, d),
    "amax": lambda x, d: ts.amax(x, d),
    "amin": lambda x, d: x.amin(d),
    "max": lambda x, d: ts.max(x, d),
    "min": lambda x, d: x.min(d),
    "argmax": lambda x, d: ts.argmax(x, d),
    "argmin": lambda x, d: x.argmin(d),
    "prod": lambda x, d: ts.prod(x, d),
    "logsumexp": lambda x, d: ts.logsumexp(x, d),
    "softmax": lambda x, d: ts.softmax(x, d),
    "log_softmax": lambda x, d: x.log_softmax(d),
    "cumsum": lambda x, d: ts.cumsum(x, d),
    "cumprod": lambda x, d: x.cumprod(d),
    "all": lambda x, d: ts.all(x, d),
    "any": lambda x, d: x.any(d),
    "norm": lambda x, d: ts.norm(x, dim=d),
    "count_nonzero": lambda x, d: ts.count_nonzero(x, d),
    "median": lambda x, d: ts.median(x, d),
}


@pytest.mark.parametrize("name", sorted(ERROR_CALLS))
def test_dim_out_of_range_names_op(name):
    x = ts.ones(2, 3)
    with pytest.raises(IndexError, match=rf"{name}.*out of range.*\[-2, 1\].*got 2"):
        ERROR_CALLS[name](x, 2)
    with pytest.raises(IndexError, match=name):
        ERROR_CALLS[name](x, -3)


@pytest.mark.parametrize("name", sorted(ERROR_CALLS))
def test_dim_wrong_type_names_op(name):
    with pytest.raises(TypeError, match=name):
        ERROR_CALLS[name](ts.ones(2, 3), 1.5)


def test_type_and_dtype_errors():
    with pytest.raises(RuntimeError, match="mean.*int64"):
        ts.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="var"):
        ts.tensor([1, 2]).var()
    with pytest.raises(NotImplementedError, match="softmax"):
        ts.softmax(ts.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="norm"):
        ts.norm(ts.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="argmax.*bool"):
        ts.argmax(ts.tensor([True, False]))
    with pytest.raises(TypeError, match="mean.*Tensor"):
        ts.mean([1.0, 2.0])
    with pytest.raises(TypeError, match="sum.*Tensor"):
        ts.sum(np.ones(3))
    with pytest.raises(RuntimeError, match="dim .* multiple times"):
        ts.sum(ts.ones(2, 3), (1, -1))
    with pytest.raises(TypeError, match="prod"):
        ts.prod(ts.ones(2, 3), (0, 1))
    with pytest.raises(TypeError, match="norm.*p"):
        ts.norm(ts.ones(2), p=[2])
    with pytest.raises(TypeError, match="max"):
        ts.max(ts.ones(2, 3), keepdim=True)


# -- autograd details ---------------------------------------------------------------------------------------
def test_grad_fn_names():
    x = ts.ones(2, 3, requires_grad=True)
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert x.max().grad_fn.name() == "MaxBackward1"
    assert x.max(1).values.grad_fn.name() == "MaxBackward0"
    assert x.softmax(1).grad_fn.name() == "SoftmaxBackward0"
    assert x.max(1).indices.grad_fn is None and not x.argmax().requires_grad


def test_mean_dtype_grad_cast_back():
    x = ts.tensor(rand(2, 3), requires_grad=True)
    x.mean(1, dtype=ts.float64).sum().backward()
    assert x.grad.dtype == ts.float32
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 1 / 3), rtol=1e-6)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("softmax", lambda x: ts.softmax(x, 1)),
        ("log_softmax", lambda x: ts.log_softmax(x, 0)),
        ("logsumexp", lambda x: ts.logsumexp(x, 1)),
        ("logsumexp_all", lambda x: ts.logsumexp(x, (0, 1), keepdim=True)),
        ("var", lambda x: x.var(1)),
        ("std", lambda x: x.std(0, keepdim=True)),
        ("mean", lambda x: x.mean(0)),
        ("norm2", lambda x: x.norm(dim=1)),
        ("norm3", lambda x: x.norm(3)),
        ("prod", lambda x: x.prod(1)),
        ("cumprod", lambda x: x.cumprod(1)),
        ("cumsum", lambda x: x.cumsum(0)),
        ("amax", lambda x: x.amax(1)),
        ("max_dim", lambda x: x.max(0).values),
    ],
)
def test_second_order(name, fn):
    a = rand(2, 3, low=0.3, high=1.5).astype(np.float64)
    a[0] *= -1
    x = ts.tensor(a, requires_grad=True)
    assert ts.autograd.gradgradcheck(fn, (x,), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "name,dim", [("prod", None), ("prod", 0), ("prod", 1), ("cumprod", 0), ("cumprod", 1)]
)
def test_second_order_with_zeros(name, dim):
    a = np.array([[0.0, 2.0, 3.0], [1.0, 2.0, 0.5], [0.0, 0.0, 2.0]])
    fn = (lambda x: getattr(x, name)(dim)) if dim is not None else (lambda x: getattr(x, name)())
    assert ts.autograd.gradgradcheck(fn, (ts.tensor(a, requires_grad=True),))
    if torch is None:
        return
    w = np.random.default_rng(0).standard_normal(a.shape)
    x, t = ts.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (g,) = ts.autograd.grad(fn(x).sum(), x, create_graph=True)
    (h,) = ts.autograd.grad((g * ts.tensor(w)).sum(), x)
    (gt,) = torch.autograd.grad(fn(t).sum(), t, create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.tensor(w)).sum(), t)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), atol=1e-12)


@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 1), False)])
def test_nanmean_ignores_nans(dim, keepdim):
    a = rand(3, 4)
    a[0, 1] = a[2, 3] = np.nan
    check_forward(
        lambda x: ts.nanmean(x, dim, keepdim), lambda x: np.nanmean(x, axis=dim, keepdims=keepdim), a
    )
    check_torch(lambda x: ts.nanmean(x, dim, keepdim), lambda x: torch.nanmean(x, dim, keepdim), a)


# -- gradients without value-dependent branches: a trace recorded on one input replays exactly on another --
_ZERO_NAN_CASES = {
    "no zeros": np.array([[1.5, -2.0, 3.0], [0.5, 2.0, -0.25], [1.25, 0.75, 2.0]]),
    "one zero": np.array([[0.0, 2.0, 3.0], [1.0, 2.0, 0.5], [1.5, -1.0, 2.0]]),
    "zeros": np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.5], [0.0, 0.0, 2.0]]),
    "nan": np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 0.5], [0.0, 4.0, 2.0]]),
}
_BRANCH_FREE = {
    "prod": (lambda x: x.prod(), lambda t: t.prod()),
    "prod_dim": (lambda x: x.prod(1), lambda t: t.prod(1)),
    "cumprod0": (lambda x: x.cumprod(0), lambda t: t.cumprod(0)),
    "cumprod1": (lambda x: x.cumprod(1), lambda t: t.cumprod(1)),
    "max": (lambda x: x.max(), lambda t: t.max()),
    "min": (lambda x: x.min(), lambda t: t.min()),
    "median": (lambda x: x.median(), lambda t: t.median()),
}


def _torch_grad(tfn, a, w):
    t = torch.tensor(a, requires_grad=True)
    (g,) = torch.autograd.grad(tfn(t), t, torch.tensor(w))
    return g.numpy()


@pytest.mark.parametrize("case", sorted(_ZERO_NAN_CASES))
@pytest.mark.parametrize("name", sorted(_BRANCH_FREE))
def test_gradients_match_torch_with_zeros_and_nans(name, case):
    fn, tfn = _BRANCH_FREE[name]
    a = _ZERO_NAN_CASES[case]
    x = ts.tensor(a, requires_grad=True)
    y = fn(x)
    w = np.random.default_rng(1).standard_normal(tuple(y.shape))
    (g,) = ts.autograd.grad(y, x, ts.tensor(w))
    if torch is not None:
        np.testing.assert_allclose(g.numpy(), _torch_grad(tfn, a, w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["one zero", "zeros", "nan"])
@pytest.mark.parametrize("name", sorted(_BRANCH_FREE))
def test_gradient_traced_without_zeros_replays_with_zeros(name, case):
    from strict_trace import StrictTracer

    fn, _ = _BRANCH_FREE[name]
    x = ts.tensor(_ZERO_NAN_CASES["no zeros"], requires_grad=True)
    w = ts.tensor(np.random.default_rng(1).standard_normal(tuple(fn(x).shape)))
    with StrictTracer() as tr:
        tr.guard(x, w)
        (g,) = ts.autograd.grad(fn(x), x, w)
    b = _ZERO_NAN_CASES[case]
    replayed = tr.value(tr.replay({x: b}), g)
    xb = ts.tensor(b, requires_grad=True)
    (eager,) = ts.autograd.grad(fn(xb), xb, w)
    np.testing.assert_allclose(replayed, eager.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reverse,exclusive", [(False, False), (True, False), (False, True), (True, True)])
def test_first_order_cumprod_grad_matches_the_exact_formula(reverse, exclusive):
    from tessera.ops import reduction as R

    rng = np.random.default_rng(3)
    a = rng.uniform(-2, 2, (4, 6))
    a[rng.random(a.shape) < 0.3] = 0.0
    a[0] = [0.0, 1.5, 0.0, 2.0, -1.0, 0.0]
    attrs = {"dim": 1, "dtype": None, "reverse": reverse, "exclusive": exclusive}
    x = ts.tensor(a, requires_grad=True)
    y = R.apply(R.CUMPROD, (x,), attrs)
    v = ts.tensor(rng.standard_normal(a.shape))
    (fast,) = ts.autograd.grad(y, x, v)  # first order: the O(n) formula
    with ts.no_grad():
        exact = R._cumprod_grad_exact(x.detach(), v, y.detach(), attrs)
    np.testing.assert_allclose(fast.numpy(), exact.numpy(), rtol=1e-12, atol=1e-12)
