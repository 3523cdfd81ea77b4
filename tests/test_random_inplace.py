"""In-place random fills (``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``, ``geometric_``,
``cauchy_``, ``log_normal_``, ``random_``), ``Tensor.bernoulli``/``multinomial``, ``poisson`` and
``binomial``: reproducible under ``ts.manual_seed`` and ``generator=``, the right distributions (moments
and Kolmogorov-Smirnov distances with fixed seeds), each draw one op through ``apply`` plus the
generator's advance, and PyTorch's errors."""

import math

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera.core.dispatch import intercept
from tessera.ops.random import binomial, poisson

N = 200_000
_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


def _ks(sample, cdf):
    """The Kolmogorov-Smirnov distance between a sample and a continuous CDF."""
    x = np.sort(np.asarray(sample, np.float64))
    f = cdf(x)
    n = len(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


_KS_LIMIT = 1.95 / math.sqrt(N)  # the 0.1% critical value


def _normal_cdf(x, m=0.0, s=1.0):
    return 0.5 * _ERFC(-(x - m) / (s * math.sqrt(2)))


CONTINUOUS = [
    ("uniform_", (-2.0, 3.0), lambda x: np.clip((x + 2) / 5, 0, 1)),
    ("normal_", (1.5, 0.5), lambda x: _normal_cdf(x, 1.5, 0.5)),
    ("exponential_", (2.0,), lambda x: 1 - np.exp(-2 * x)),
    ("cauchy_", (1.0, 2.0), lambda x: 0.5 + np.arctan((x - 1) / 2) / math.pi),
    ("log_normal_", (0.5, 0.25), lambda x: _normal_cdf(np.log(x), 0.5, 0.25)),
]


@pytest.mark.parametrize("name,args,cdf", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
@pytest.mark.parametrize("dtype", [ts.float32, ts.float64])
def test_continuous_fills_follow_their_distribution(name, args, cdf, dtype):
    g = ts.Generator().manual_seed(11)
    t = ts.empty(N, dtype=dtype)
    v = t._version
    assert getattr(t, name)(*args, generator=g) is t
    assert t.dtype is dtype and t._version == v + 1
    assert _ks(t.numpy(), cdf) < _KS_LIMIT
    if name == "uniform_":
        assert t.numpy().min() >= -2 and t.numpy().max() < 3


def test_defaults_match_torch_parameters():
    g = ts.Generator().manual_seed(3)
    t = ts.empty(N, dtype=ts.float64)
    assert _ks(t.uniform_(generator=g).numpy(), lambda x: np.clip(x, 0, 1)) < _KS_LIMIT
    assert _ks(t.normal_(generator=g).numpy(), _normal_cdf) < _KS_LIMIT
    assert _ks(t.exponential_(generator=g).numpy(), lambda x: 1 - np.exp(-x)) < _KS_LIMIT
    assert _ks(t.cauchy_(generator=g).numpy(), lambda x: 0.5 + np.arctan(x) / math.pi) < _KS_LIMIT
    # log_normal_'s defaults are mean 1, std 2 (of the log)
    assert _ks(t.log_normal_(generator=g).numpy(), lambda x: _normal_cdf(np.log(x), 1.0, 2.0)) < _KS_LIMIT
    # the keywords from/to
    t.uniform_(**{"from": 5.0, "to": 6.0}, generator=g)
    assert 5 <= t.numpy().min() and t.numpy().max() < 6


@pytest.mark.parametrize("dtype", [ts.float16, ts.bfloat16])
def test_half_precision_fills(dtype):
    t = ts.empty(20_000, dtype=dtype).normal_(2.0, 0.5, generator=ts.Generator().manual_seed(0))
    x = t.float().numpy()
    assert t.dtype is dtype and abs(x.mean() - 2) < 0.02 and abs(x.std() - 0.5) < 0.02


def test_discrete_fills():
    g = ts.Generator().manual_seed(5)
    geo = ts.empty(N, dtype=ts.int64).geometric_(0.25, generator=g).numpy()
    assert geo.min() >= 1 and abs(geo.mean() - 4) < 0.05 and abs(geo.var() - 12) < 0.5
    geo_f = ts.empty(N).geometric_(0.5, generator=g)
    assert geo_f.dtype is ts.float32 and abs(geo_f.numpy().mean() - 2) < 0.02
    b = ts.empty(N, dtype=ts.int32).bernoulli_(0.3, generator=g)
    assert b.dtype is ts.int32 and set(np.unique(b.numpy())) == {0, 1} and abs(b.numpy().mean() - 0.3) < 0.005
    p = ts.tensor(np.tile([0.0, 0.2, 0.9, 1.0], N // 4))
    bt = ts.empty(N).bernoulli_(p, generator=g).numpy().reshape(-1, 4)
    np.testing.assert_allclose(bt.mean(0), [0.0, 0.2, 0.9, 1.0], atol=0.01)
    # p broadcast over the rows
    rows = ts.empty(N // 4, 4).bernoulli_(ts.tensor([0.0, 0.5, 1.0, 0.25]), generator=g).numpy()
    np.testing.assert_allclose(rows.mean(0), [0.0, 0.5, 1.0, 0.25], atol=0.01)


@pytest.mark.parametrize(
    "dtype,args,lo,hi",
    [
        (ts.int64, (10,), 0, 9),
        (ts.int64, (-5, 5), -5, 4),
        (ts.float32, (3, 7), 3, 6),
        (ts.uint8, (), 0, 255),
        (ts.int8, (), 0, 127),
        (ts.bool, (), 0, 1),
        (ts.float16, (), 0, 2048),
    ],
)
def test_random_ranges(dtype, args, lo, hi):
    t = ts.empty(50_000, dtype=dtype).random_(*args, generator=ts.Generator().manual_seed(2))
    x = t.numpy().astype(np.float64)
    assert t.dtype is dtype and x.min() == lo and x.max() == hi
    if hi - lo < 300:
        counts = np.bincount((x - lo).astype(np.int64), minlength=hi - lo + 1)
        expected = len(x) / (hi - lo + 1)
        assert np.all(np.abs(counts - expected) < 6 * math.sqrt(expected))
    else:
        assert abs(x.mean() - (lo + hi) / 2) < 0.01 * (hi - lo)


def test_random_full_range_defaults():
    g = ts.Generator().manual_seed(4)
    x = ts.empty(10_000, dtype=ts.int64).random_(generator=g).numpy()
    assert x.min() >= 0 and x.max() > 2**62
    f = ts.empty(10_000).random_(generator=g).numpy()
    assert f.min() >= 0 and f.max() <= 2**24 and f.max() > 2**23 and np.all(f == np.round(f))
    d = ts.empty(10_000, dtype=ts.float64).random_(generator=g).numpy()
    assert d.max() <= 2**53 and d.max() > 2**52
    x = ts.empty(1000, dtype=ts.int64).random_(**{"from": 7}, generator=g).numpy()
    assert x.min() >= 7


def test_poisson_and_binomial():
    g = ts.Generator().manual_seed(9)
    rates = ts.tensor(np.repeat([0.0, 0.5, 4.0, 50.0], N // 4).astype(np.float64))
    s = poisson(rates, g)
    assert s.dtype is ts.float64 and s.shape == rates.shape
    x = s.numpy().reshape(4, -1)
    np.testing.assert_allclose(x.mean(1), [0.0, 0.5, 4.0, 50.0], rtol=0.02, atol=0.01)
    np.testing.assert_allclose(x.var(1), [0.0, 0.5, 4.0, 50.0], rtol=0.03, atol=0.01)
    count = ts.tensor(np.repeat([0.0, 1.0, 10.0, 100.0], N // 4).astype(np.float32))
    prob = ts.tensor(np.repeat([0.3, 0.3, 0.5, 0.9], N // 4).astype(np.float32))
    b = binomial(count, prob, generator=g)
    assert b.dtype is ts.float32
    y = b.numpy().reshape(4, -1)
    np.testing.assert_allclose(y.mean(1), [0.0, 0.3, 5.0, 90.0], rtol=0.02)
    np.testing.assert_allclose(y.var(1), [0.0, 0.21, 2.5, 9.0], rtol=0.05)
    assert np.all(y <= np.array([[0], [1], [10], [100]]))
    # prob broadcasts against count
    bb = binomial(ts.full((1000, 2), 5.0), ts.tensor([0.0, 1.0]), generator=g).numpy()
    assert (bb[:, 0] == 0).all() and (bb[:, 1] == 5).all()


def test_bernoulli_and_multinomial_methods():
    g = ts.Generator().manual_seed(8)
    probs = ts.full((N,), 0.25)
    b = probs.bernoulli(generator=g)
    assert b.dtype is ts.float32 and abs(b.numpy().mean() - 0.25) < 0.005
    b2 = probs.bernoulli(0.75, generator=g)
    assert abs(b2.numpy().mean() - 0.75) < 0.005
    m = ts.tensor([1.0, 0.0, 3.0]).multinomial(4000, replacement=True, generator=g).numpy()
    assert set(np.unique(m)) == {0, 2} and abs((m == 2).mean() - 0.75) < 0.03
    perm = ts.ones(6).multinomial(6, generator=g).numpy()
    assert sorted(perm.tolist()) == list(range(6))


FILLS = [
    ("uniform_", (0.0, 1.0)),
    ("normal_", (0.0, 1.0)),
    ("exponential_", (1.0,)),
    ("cauchy_", ()),
    ("log_normal_", ()),
    ("geometric_", (0.3,)),
    ("random_", (0, 10)),
    ("bernoulli_", (0.5,)),
]


@pytest.mark.parametrize("name,args", FILLS, ids=[f[0] for f in FILLS])
def test_fills_are_reproducible_and_advance_the_generator(name, args):
    ts.manual_seed(123)
    a = getattr(ts.empty(64), name)(*args).numpy().copy()
    c = getattr(ts.empty(64), name)(*args).numpy().copy()
    ts.manual_seed(123)
    b = getattr(ts.empty(64), name)(*args).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g1, g2 = ts.Generator().manual_seed(7), ts.Generator().manual_seed(7)
    x = getattr(ts.empty(32), name)(*args, generator=g1)
    ts.rand(3)  # the global generator does not disturb g2
    y = getattr(ts.empty(32), name)(*args, generator=g2)
    np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize("name,args", FILLS, ids=[f[0] for f in FILLS])
def test_every_fill_is_one_op_into_the_tensor_then_an_advance(name, args):
    g = ts.Generator().manual_seed(1)
    t = ts.empty(5)
    calls = []

    def record(call):
        calls.append((call.op.name, call.out is t, call.mutated))
        return call.proceed()

    with intercept(record, tracing=False):
        getattr(t, name)(*args, generator=g)
    ops = [c for c in calls if c[0] not in ("lt", "gt", "logical_or", "any", "bitwise_or")]
    assert [c[0] for c in ops][-2:] in (["random_fill", "rng_advance"], ["bernoulli", "rng_advance"])
    assert ops[-2][1] and ops[-1][2] == (g._state,)


def test_poisson_binomial_are_ops_on_the_generator_state():
    g = ts.Generator().manual_seed(1)
    names = []

    def record(call):
        names.append(call.op.name)
        return call.proceed()

    with intercept(record, tracing=False):
        poisson(ts.ones(3), generator=g)
        binomial(ts.ones(3), ts.full((3,), 0.5), generator=g)
    assert [n for n in names if n in ("poisson", "binomial", "rng_advance")] == [
        "poisson", "rng_advance", "binomial", "rng_advance"
    ]  # fmt: skip


@needs_torch
@pytest.mark.parametrize(
    "call",
    [
        "uniform_(2, 1)",
        "normal_(0, -1)",
        "exponential_(-1)",
        "exponential_(0)",
        "geometric_(0)",
        "geometric_(1.5)",
        "cauchy_(0, -1)",
        "log_normal_(0, -1)",
        "random_(5, 2)",
        "random_(-1)",
        "bernoulli_(1.5)",
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as ref:
        eval(f"torch.zeros(3).{call}")
    t = ts.zeros(3)
    with pytest.raises(RuntimeError) as got:
        eval(f"t.{call}")
    name = call.split("(")[0]
    assert str(got.value).startswith(f"{name}: ")
    # the same wording as torch's message (Tessera's names the op first)
    assert str(ref.value).split(",")[0].split(" but")[0] in str(got.value)
    assert t.tolist() == [0.0, 0.0, 0.0]  # nothing changed


@needs_torch
def test_dtype_errors_match_torch():
    for call, exc in [
        ("uniform_()", (TypeError, NotImplementedError)),
        ("normal_()", (TypeError, NotImplementedError)),
        ("exponential_()", (RuntimeError,)),
        ("cauchy_()", (RuntimeError,)),
        ("log_normal_()", (TypeError, NotImplementedError)),
    ]:
        with pytest.raises(exc):
            eval(f"torch.zeros(3, dtype=torch.int64).{call}")
        with pytest.raises(exc, match=call.split("(")[0]):
            eval(f"ts.zeros(3, dtype=ts.int64).{call}")
    with pytest.raises(RuntimeError, match="from is out of bounds for unsigned char"):
        torch.zeros(3, dtype=torch.uint8).random_(-1, 5)
    with pytest.raises(RuntimeError, match="random_: from is out of bounds for uint8"):
        ts.zeros(3, dtype=ts.uint8).random_(-1, 5)
    with pytest.raises(RuntimeError, match="random_: to - 1 is out of bounds for uint8"):
        ts.zeros(3, dtype=ts.uint8).random_(0, 300)
    with pytest.raises(RuntimeError, match="invalid Poisson rate"):
        torch.poisson(torch.tensor([-1.0]))
    with pytest.raises(RuntimeError, match="poisson: invalid Poisson rate, expected rate to be non-negative"):
        poisson(ts.tensor([-1.0]))
    with pytest.raises(TypeError, match="poisson"):
        poisson(ts.tensor([1]))
    with pytest.raises(ValueError, match="binomial only supports floating-point dtypes for count"):
        torch.binomial(torch.tensor([5]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="binomial: binomial only supports floating-point dtypes for count"):
        binomial(ts.tensor([5]), ts.tensor([0.5]))


def test_argument_errors():
    t = ts.zeros(3)
    with pytest.raises(RuntimeError, match="bernoulli_: expected all probabilities p to be in"):
        t.bernoulli_(ts.tensor([2.0, 0.0, 0.0]))
    with pytest.raises(
        ts.core.OpError, match=r"bernoulli_: p of shape \(4,\) is not broadcastable to \(3,\)"
    ):
        t.bernoulli_(ts.zeros(4))
    with pytest.raises(TypeError, match="normal_: mean must be a number"):
        t.normal_("a")
    with pytest.raises(TypeError, match="random_: to must be an int"):
        t.random_(0, 2.5)
    with pytest.raises(TypeError, match="uniform_: unexpected keyword argument 'low'"):
        t.uniform_(low=0)
    with pytest.raises(TypeError, match="generator must be a ts.Generator"):
        t.uniform_(generator=object())
    w = ts.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="uniform_: a leaf Variable that requires grad"):
        w.uniform_()
    with ts.no_grad():
        assert w.uniform_() is w
    assert t.tolist() == [0.0, 0.0, 0.0]
