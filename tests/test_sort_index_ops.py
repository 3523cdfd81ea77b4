"""Sorting and selection, counting, cumulative extras, indexing/scatter variants and the shape extras of
issue 9, against PyTorch: values, dtypes, named tuples, gradients and errors."""

import math

import numpy as np
import pytest
from opcheck import check_grad, check_torch, needs_torch, torch

import tessera as ts

NAN = math.nan
pytestmark = needs_torch


def _x(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _same(a, b, exact=False):
    a = a.detach().numpy() if isinstance(a, ts.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5, atol=1e-6)


# -- sort / argsort / msort / topk / kthvalue / mode ---------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_indices_and_grad(dim, descending):
    x = _x(3, 4, 5)
    out = check_torch(
        lambda t: ts.sort(t, dim, descending=descending),
        lambda t: tuple(torch.sort(t, dim=dim, descending=descending, stable=True)),
        x,
    )
    assert type(out).__name__ == "sort" and out.values is out[0] and out.indices.dtype is ts.int64


def test_sort_nan_ties_stable_and_dtypes():
    a = np.array([[3.0, NAN, 1.0, 1.0, -np.inf, NAN, 3.0]], np.float32)
    for desc in (False, True):
        r, e = (
            ts.sort(ts.tensor(a), descending=desc, stable=True),
            torch.sort(torch.tensor(a), descending=desc, stable=True),
        )
        _same(r.values, e.values, exact=True)
        _same(r.indices, e.indices, exact=True)
        _same(
            ts.argsort(ts.tensor(a), descending=desc, stable=True),
            torch.argsort(torch.tensor(a), descending=desc, stable=True),
            exact=True,
        )
    for dt in (np.int64, np.int8, np.bool_, np.float64):
        b = np.array([[2, 0, 1, 1, 0]]).astype(dt)
        r, e = ts.tensor(b).sort(dim=1, stable=True), torch.tensor(b).sort(dim=1, stable=True)
        _same(r.values, e.values, exact=True)
        _same(r.indices, e.indices, exact=True)
    v = ts.tensor([2.0, 1.0]).bfloat16().sort().values
    assert v.dtype is ts.bfloat16 and v.float().tolist() == [1.0, 2.0]
    r = ts.sort(ts.tensor(5.0))
    assert r.values.shape == () and r.indices.item() == 0
    _same(ts.msort(ts.tensor(_x(4, 3))), torch.msort(torch.tensor(_x(4, 3))))
    _same(ts.tensor(_x(4, 3)).argsort(0), torch.tensor(_x(4, 3)).argsort(0), exact=True)
    with pytest.raises(IndexError, match="sort: dimension out of range"):
        ts.sort(ts.tensor(_x(2, 3)), 2)
    with pytest.raises(TypeError, match="sort: argument 'stable' must be bool"):
        ts.sort(ts.tensor(_x(2, 3)), stable="yes")
    with pytest.raises(TypeError, match="msort: argument 'input' must be a Tensor"):
        ts.msort([1, 2])


@pytest.mark.parametrize("k,dim,largest", [(2, -1, True), (3, 0, False), (1, 1, True), (0, 1, True)])
def test_topk(k, dim, largest):
    x = _x(4, 5)
    out = check_torch(
        lambda t: ts.topk(t, k, dim, largest=largest),
        lambda t: tuple(torch.topk(t, k, dim, largest=largest)),
        x,
    )
    assert type(out).__name__ == "topk"


def test_topk_nan_and_errors():
    a = np.array([3.0, NAN, 1.0, 2.0], np.float32)
    _same(ts.topk(ts.tensor(a), 2).values, torch.topk(torch.tensor(a), 2).values, exact=True)
    _same(
        ts.topk(ts.tensor(a), 2, largest=False).indices, torch.topk(torch.tensor(a), 2, largest=False).indices
    )
    assert ts.tensor([1, 5, 3]).topk(1).indices.tolist() == [1]
    with pytest.raises(RuntimeError, match="topk: selected index k out of range"):
        ts.topk(ts.tensor(a), 5)
    with pytest.raises(RuntimeError, match="topk: selected index k out of range"):
        ts.topk(ts.tensor(a), -1)


@pytest.mark.parametrize("k,dim,keepdim", [(1, -1, False), (3, 0, True), (2, 1, False)])
def test_kthvalue(k, dim, keepdim):
    x = _x(4, 5)
    out = check_torch(
        lambda t: ts.kthvalue(t, k, dim, keepdim),
        lambda t: tuple(torch.kthvalue(t, k, dim, keepdim)),
        x,
    )
    assert type(out).__name__ == "kthvalue"
    with pytest.raises(RuntimeError, match="kthvalue: selected number k out of range for dimension 1"):
        ts.kthvalue(ts.tensor(x), 6, 1)
    with pytest.raises(RuntimeError, match="kthvalue: selected number k out of range"):
        ts.tensor(x).kthvalue(0)


def test_mode():
    a = np.array([[1, 2, 2, 1, 3], [5, 5, 4, 4, 1], [7, 7, 7, 0, 0]])
    for keepdim in (False, True):
        r, e = ts.mode(ts.tensor(a), 1, keepdim), torch.mode(torch.tensor(a), 1, keepdim)
        _same(r.values, e.values, exact=True)
        _same(r.indices, e.indices, exact=True)
    r, e = ts.mode(ts.tensor(a), 0), torch.mode(torch.tensor(a), 0)
    _same(r.values, e.values, exact=True)
    _same(r.indices, e.indices, exact=True)
    f = np.array([[0.5, 1.5, 0.5], [2.0, 2.0, 1.0]], np.float32)
    check_torch(lambda t: ts.mode(t, 1), lambda t: tuple(torch.mode(t, 1)), f)
    assert type(ts.mode(ts.tensor(f))).__name__ == "mode"
    with pytest.raises(IndexError, match="mode: dimension out of range"):
        ts.mode(ts.tensor(f), 2)


# -- nanmedian / quantile / nanquantile ----------------------------------------------------------------------
def test_nanmedian():
    a = np.array([[2.0, NAN, 1.0, 3.0], [NAN, 5.0, 4.0, NAN], [1.0, 1.0, 0.0, 2.0]], np.float32)
    check_torch(lambda t: ts.nanmedian(t, 1), lambda t: tuple(torch.nanmedian(t, 1)), a)
    check_torch(lambda t: ts.nanmedian(t, 0, keepdim=True), lambda t: tuple(torch.nanmedian(t, 0, True)), a)
    check_torch(lambda t: ts.nanmedian(t), lambda t: torch.nanmedian(t), a)
    check_torch(lambda t: t.nanmedian(), lambda t: t.nanmedian(), np.array([NAN, NAN], np.float32))
    check_torch(lambda t: ts.nanmedian(t, 0), lambda t: tuple(torch.nanmedian(t, 0)), np.array([3, 1, 2]))
    assert type(ts.nanmedian(ts.tensor(a), 1)).__name__ == "nanmedian"
    with pytest.raises(RuntimeError, match="nanmedian: not implemented for bool"):
        ts.nanmedian(ts.tensor([True]))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (0, True), (-1, True)])
def test_quantile(interpolation, dim, keepdim):
    x = _x(3, 6, dtype=np.float64)
    q = np.array([0.0, 0.25, 0.5, 0.8, 1.0])
    check_torch(
        lambda t, qq: ts.quantile(t, qq, dim, keepdim, interpolation=interpolation),
        lambda t, qq: torch.quantile(t, qq, dim, keepdim, interpolation=interpolation),
        x,
        q,
        grad=True,
    )
    check_torch(
        lambda t: t.quantile(0.3, dim, keepdim, interpolation=interpolation),
        lambda t: t.quantile(0.3, dim, keepdim, interpolation=interpolation),
        x,
    )


def test_quantile_nan_and_nanquantile():
    a = np.array([[1.0, NAN, 3.0, 2.0], [4.0, 0.0, 1.0, 5.0], [NAN, NAN, NAN, NAN]], np.float32)
    for interp in ("linear", "nearest", "midpoint"):
        check_torch(
            lambda t, i=interp: ts.quantile(t, 0.4, 1, interpolation=i),
            lambda t, i=interp: torch.quantile(t, 0.4, 1, interpolation=i),
            a,
        )
        check_torch(
            lambda t, i=interp: ts.nanquantile(t, 0.4, 1, interpolation=i),
            lambda t, i=interp: torch.nanquantile(t, 0.4, 1, interpolation=i),
            a,
        )
    check_torch(lambda t: ts.nanquantile(t, 0.5), lambda t: torch.nanquantile(t, 0.5), a)
    check_grad(lambda t: ts.quantile(t, 0.35, 1), _x(2, 5))


def test_quantile_errors():
    x = ts.tensor(_x(2, 3))
    with pytest.raises(RuntimeError, match=r"quantile: q must be in the range \[0, 1\] but got 1.5"):
        ts.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match="quantile: input tensor must be either float or double"):
        ts.quantile(ts.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="quantile: q tensor must be same dtype"):
        ts.quantile(x, ts.tensor([0.5], dtype=ts.float64))
    with pytest.raises(RuntimeError, match="nanquantile: interpolation must be one of linear"):
        ts.nanquantile(x, 0.5, interpolation="foo")
    with pytest.raises(RuntimeError, match="quantile: q must be a scalar or 1D tensor"):
        ts.quantile(x, ts.tensor([[0.5]]))
    with pytest.raises(RuntimeError, match=r"quantile: q values must be in the range \[0, 1\]"):
        ts.quantile(x, ts.tensor([0.5, 2.0]))


# -- unique / unique_consecutive -----------------------------------------------------------------------------
@pytest.mark.parametrize("consecutive", [False, True])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique(consecutive, dim):
    a = np.array([[3, 1, 3], [3, 1, 3], [0, 2, 1], [0, 2, 1], [3, 1, 3]])
    tf = ts.unique_consecutive if consecutive else ts.unique
    pf = torch.unique_consecutive if consecutive else torch.unique
    r = tf(ts.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    e = pf(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    for u, v in zip(r, e):
        _same(u, v, exact=True)
    _same(tf(ts.tensor(a), dim=dim), pf(torch.tensor(a), dim=dim), exact=True)
    r = tf(ts.tensor(a.astype(np.float32)), return_counts=True, dim=dim)
    e = pf(torch.tensor(a.astype(np.float32)), return_counts=True, dim=dim)
    for u, v in zip(r, e):
        _same(u, v, exact=True)


def test_unique_nan_methods_and_errors():
    a = np.array([NAN, 1.0, NAN, 1.0], np.float32)
    for u, v in zip(
        ts.unique(ts.tensor(a), return_counts=True), torch.unique(torch.tensor(a), return_counts=True)
    ):
        _same(u, v, exact=True)
    _same(ts.tensor([2, 1, 2]).unique(), torch.tensor([2, 1, 2]).unique(), exact=True)
    _same(
        ts.tensor([True, False, True]).unique(return_inverse=True)[1],
        torch.tensor([True, False, True]).unique(return_inverse=True)[1],
        exact=True,
    )
    assert ts.tensor([1, 1, 2]).unique_consecutive().tolist() == [1, 2]
    with pytest.raises(IndexError, match="unique: dimension out of range"):
        ts.unique(ts.tensor([1, 2]), dim=1)


# -- searchsorted / bucketize / histc / histogram / bincount -------------------------------------------------
def test_searchsorted_and_bucketize():
    seq = np.array([1, 3, 3, 5, 7])
    vals = np.array([[0, 3, 4], [7, 8, 5]])
    for right in (False, True):
        _same(
            ts.searchsorted(ts.tensor(seq), ts.tensor(vals), right=right),
            torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right),
            exact=True,
        )
        _same(
            ts.bucketize(ts.tensor(vals), ts.tensor(seq), right=right, out_int32=True),
            torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right, out_int32=True),
            exact=True,
        )
    seq2 = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]], np.float32)
    v2 = np.array([[3.0, 4.5], [1.0, 7.0]], np.float32)
    _same(
        ts.searchsorted(ts.tensor(seq2), ts.tensor(v2), side="right"),
        torch.searchsorted(torch.tensor(seq2), torch.tensor(v2), side="right"),
        exact=True,
    )
    unsorted = np.array([5.0, 1.0, 3.0], np.float32)
    srt = np.argsort(unsorted)
    _same(
        ts.searchsorted(ts.tensor(unsorted), ts.tensor([2.0, 4.0]), sorter=ts.tensor(srt)),
        torch.searchsorted(torch.tensor(unsorted), torch.tensor([2.0, 4.0]), sorter=torch.tensor(srt)),
        exact=True,
    )
    _same(ts.searchsorted(ts.tensor(seq), 4), torch.searchsorted(torch.tensor(seq), 4), exact=True)
    _same(
        ts.bucketize(ts.tensor([2, 6]), ts.tensor([1.5, 5.5])),
        torch.bucketize(torch.tensor([2, 6]), torch.tensor([1.5, 5.5])),
    )
    with pytest.raises(RuntimeError, match="searchsorted: side can only be 'left' or 'right'"):
        ts.searchsorted(ts.tensor(seq), ts.tensor(vals), side="foo")
    with pytest.raises(RuntimeError, match="searchsorted: side and right can't be set to opposites"):
        ts.searchsorted(ts.tensor(seq), ts.tensor(vals), side="left", right=True)
    with pytest.raises(RuntimeError, match="searchsorted: boundaries tensor should be 1 dimension or"):
        ts.searchsorted(ts.tensor(seq2), ts.tensor([1.0]))
    with pytest.raises(RuntimeError, match="bucketize: boundaries tensor must be 1 dimension"):
        ts.bucketize(ts.tensor([1]), ts.tensor([[1, 2]]))


def test_histc_histogram_bincount():
    x = np.array([1.0, 2.0, 1.0, 0.5, 3.0, -1.0, 2.25], np.float32)
    for args in ((4, 0, 3), (5,), (3, 1, 1)):
        _same(ts.histc(ts.tensor(x), *args), torch.histc(torch.tensor(x), *args))
    _same(ts.tensor(x).histc(bins=7), torch.tensor(x).histc(bins=7))
    w = np.abs(_x(7))
    for kw in ({}, {"range": (0.0, 2.0)}, {"weight": w}, {"density": True}, {"weight": w, "density": True}):
        kt = {k: ts.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        kp = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        r, e = ts.histogram(ts.tensor(x), 4, **kt), torch.histogram(torch.tensor(x), 4, **kp)
        assert type(r).__name__ == "histogram"
        _same(r.hist, e.hist)
        _same(r.bin_edges, e.bin_edges)
    edges = np.array([-1.0, 0.0, 2.0, 2.5], np.float32)
    r, e = ts.histogram(ts.tensor(x), ts.tensor(edges)), torch.histogram(torch.tensor(x), torch.tensor(edges))
    _same(r.hist, e.hist)
    _same(r.bin_edges, e.bin_edges)
    r, e = ts.histogram(ts.tensor([1.0, 1.0]), 2), torch.histogram(torch.tensor([1.0, 1.0]), 2)
    _same(r.bin_edges, e.bin_edges)
    _same(r.hist, e.hist)
    i = np.array([0, 2, 2, 5, 1])
    _same(ts.bincount(ts.tensor(i)), torch.bincount(torch.tensor(i)), exact=True)
    _same(ts.tensor(i).bincount(minlength=9), torch.tensor(i).bincount(minlength=9), exact=True)
    _same(ts.bincount(ts.tensor(i), ts.tensor(w[:5])), torch.bincount(torch.tensor(i), torch.tensor(w[:5])))
    _same(
        ts.bincount(ts.tensor(i), ts.tensor([1, 2, 3, 4, 5])),
        torch.bincount(torch.tensor(i), torch.tensor([1, 2, 3, 4, 5])),
    )
    with pytest.raises(NotImplementedError, match="histc"):
        ts.histc(ts.tensor([1, 2]), 3)
    with pytest.raises(RuntimeError, match="histc: bins must be > 0"):
        ts.histc(ts.tensor(x), -3)
    with pytest.raises(RuntimeError, match="histc: max must be larger than min"):
        ts.histc(ts.tensor(x), 3, min=2, max=1)
    with pytest.raises(RuntimeError, match="histogram: min should not exceed max"):
        ts.histogram(ts.tensor(x), 3, range=(2.0, 1.0))
    with pytest.raises(RuntimeError, match="histogram: if weight tensor is provided"):
        ts.histogram(ts.tensor(x), 3, weight=ts.tensor([1.0]))
    with pytest.raises(RuntimeError, match="bincount: only supports 1-d non-negative integral inputs"):
        ts.bincount(ts.tensor([-1, 2]))
    with pytest.raises(RuntimeError, match="bincount: only supports 1-d"):
        ts.bincount(ts.tensor([[1, 2]]))
    with pytest.raises(NotImplementedError, match="bincount"):
        ts.bincount(ts.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="bincount: weights should be 1-d and have the same length"):
        ts.bincount(ts.tensor([1, 2]), ts.tensor([1.0]))
    with pytest.raises(RuntimeError, match="bincount: minlength should be >= 0"):
        ts.bincount(ts.tensor([1, 2]), minlength=-1)


# -- cummax / cummin / logcumsumexp / diff -------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cummax_cummin(dim):
    x = np.round(_x(4, 6) * 2) / 2  # ties
    for tf, pf in ((ts.cummax, torch.cummax), (ts.cummin, torch.cummin)):
        out = check_torch(lambda t, f=tf: f(t, dim), lambda t, f=pf: tuple(f(t, dim)), x)
        assert type(out).__name__ == pf.__name__
    a = np.array([1.0, 3.0, 3.0, NAN, 2.0, NAN, 0.0], np.float32)
    for tf, pf in ((ts.cummax, torch.cummax), (ts.cummin, torch.cummin)):
        r, e = tf(ts.tensor(a), 0), pf(torch.tensor(a), 0)
        _same(r.values, e.values, exact=True)
        _same(r.indices, e.indices, exact=True)
    r, e = ts.tensor([3, 1, 4, 1]).cummin(0), torch.tensor([3, 1, 4, 1]).cummin(0)
    _same(r.values, e.values, exact=True)
    _same(r.indices, e.indices, exact=True)
    with pytest.raises(IndexError, match="cummax: dimension out of range"):
        ts.cummax(ts.tensor(a), 1)


@pytest.mark.parametrize("dim", [0, -1])
def test_logcumsumexp(dim):
    x = _x(3, 5) * 3
    check_torch(lambda t: ts.logcumsumexp(t, dim), lambda t: torch.logcumsumexp(t, dim), x, rtol=1e-4)
    check_grad(lambda t: ts.logcumsumexp(t, dim), x)
    wide = np.array([-1000.0, 0.0, 3.0, 700.0], np.float64)
    check_torch(lambda t: t.logcumsumexp(0), lambda t: t.logcumsumexp(0), wide)
    # second order
    t = ts.tensor(x.astype(np.float64), requires_grad=True)
    ts.autograd.gradgradcheck(lambda a: ts.logcumsumexp(a, dim), (t,))
    with pytest.raises(NotImplementedError, match="logcumsumexp"):
        ts.logcumsumexp(ts.tensor([1, 2]), 0)


@pytest.mark.parametrize(
    "n,dim,pre,app", [(1, -1, None, None), (2, 0, None, None), (1, 1, (3, 2), (3, 1)), (3, 1, (3, 1), None)]
)
def test_diff(n, dim, pre, app):
    x = _x(3, 5)
    extra = [_x(*s, seed=i + 1) for i, s in enumerate((pre, app)) if s is not None]

    def tf(t, *e):
        it = iter(e)
        return ts.diff(t, n, dim, next(it) if pre else None, next(it) if app else None)

    def pf(t, *e):
        it = iter(e)
        return torch.diff(t, n, dim, next(it) if pre else None, next(it) if app else None)

    check_torch(tf, pf, x, *extra)


def test_diff_bool_int_scalar_and_errors():
    b = np.array([True, False, False, True])
    _same(ts.diff(ts.tensor(b)), torch.diff(torch.tensor(b)), exact=True)
    _same(
        ts.tensor([1, 4, 9]).diff(append=ts.tensor([0])),
        torch.tensor([1, 4, 9]).diff(append=torch.tensor([0])),
    )
    _same(ts.diff(ts.tensor([1, 4, 9]), n=0), torch.diff(torch.tensor([1, 4, 9]), n=0))
    _same(ts.diff(ts.tensor([1, 4, 9]), n=5), torch.diff(torch.tensor([1, 4, 9]), n=5))
    with pytest.raises(RuntimeError, match="diff: order must be non-negative but got -1"):
        ts.diff(ts.tensor([1, 2]), n=-1)
    with pytest.raises(RuntimeError, match="diff: diff expects the shape of tensor to prepend"):
        ts.diff(ts.tensor(_x(2, 3)), prepend=ts.zeros(3, 3))
    with pytest.raises(IndexError, match="diff: dimension out of range"):
        ts.diff(ts.tensor(_x(2, 3)), dim=2)
