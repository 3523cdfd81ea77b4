"""``keras.random``: shapes/dtypes against real Keras 3, distribution moments of large samples, seed
semantics (int seeds stateless, ``SeedGenerator`` advancing, None following ``ts.manual_seed``), errors;
and ``keras.backend`` helpers against Keras."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tessera as ts
from tessera.keras import backend, random

N = 200_000


def _ones(r, shape):
    """Ones for the namespace ``r``: Keras's torch backend only drops out torch tensors."""
    if r is random:
        return ts.ones(shape)
    import torch

    return torch.ones(shape)


# name -> call with a given seed (written against a ``random`` namespace: Tessera's or Keras's)
DRAWS = {
    "normal": lambda r, s: r.normal((3, 4), seed=s),
    "normal_f64": lambda r, s: r.normal((5,), mean=2.0, stddev=0.5, dtype="float64", seed=s),
    "uniform": lambda r, s: r.uniform((2, 3), seed=s),
    "uniform_f16": lambda r, s: r.uniform((7,), minval=-1.0, maxval=2.0, dtype="float16", seed=s),
    "randint": lambda r, s: r.randint((4, 2), 0, 10, seed=s),
    "randint_i64": lambda r, s: r.randint((3,), -5, 5, dtype="int64", seed=s),
    "truncated_normal": lambda r, s: r.truncated_normal((6,), seed=s),
    "gamma": lambda r, s: r.gamma((3, 2), alpha=2.0, seed=s),
    "beta": lambda r, s: r.beta((3,), alpha=2.0, beta=3.0, seed=s),
    "binomial": lambda r, s: r.binomial((4,), counts=5, probabilities=0.5, seed=s),
    "binomial_i32": lambda r, s: r.binomial((4,), counts=5, probabilities=0.5, dtype="int32", seed=s),
    "categorical": lambda r, s: r.categorical(np.zeros((2, 5), "float32"), 7, seed=s),
    "categorical_i64": lambda r, s: r.categorical(np.zeros((3, 2), "float32"), 4, dtype="int64", seed=s),
    "dropout": lambda r, s: r.dropout(_ones(r, (4, 5)), 0.5, seed=s),
    "dropout_noise_shape": lambda r, s: r.dropout(_ones(r, (4, 5)), 0.5, noise_shape=(None, 1), seed=s),
    "shuffle": lambda r, s: r.shuffle(np.arange(12).reshape(4, 3), seed=s),
}


def _dtype(x, keras=None) -> str:
    if isinstance(x, ts.Tensor):
        return x.dtype.name
    return keras.backend.standardize_dtype(x.dtype)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_shapes_and_dtypes_match_keras(real_keras, name):
    ours, theirs = DRAWS[name](random, 3), DRAWS[name](real_keras.random, 3)
    assert tuple(ours.shape) == tuple(theirs.shape), name
    assert _dtype(ours) == _dtype(theirs, real_keras), name


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_int_seed_is_stateless_and_generator_advances(name):
    a, b = DRAWS[name](random, 7), DRAWS[name](random, 7)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    gen = random.SeedGenerator(7)
    first = DRAWS[name](random, gen)
    assert gen.state.tolist() == [7, 1]
    second = DRAWS[name](random, gen)
    assert gen.state.tolist() == [7, 2]
    if name not in ("binomial", "binomial_i32", "categorical", "categorical_i64", "shuffle", "randint"):
        assert not np.array_equal(first.numpy(), second.numpy()), name
    again = random.SeedGenerator(7)
    np.testing.assert_array_equal(DRAWS[name](random, again).numpy(), first.numpy())


def test_none_seed_follows_manual_seed():
    ts.manual_seed(123)
    a = random.normal((4,))
    b = random.normal((4,))
    ts.manual_seed(123)
    np.testing.assert_array_equal(random.normal((4,)).numpy(), a.numpy())
    assert not np.array_equal(a.numpy(), b.numpy())


def test_seed_generator_api(real_keras):
    gen = random.SeedGenerator(seed=5, name="sg")
    assert gen.get_config() == real_keras.random.SeedGenerator(seed=5, name="sg").get_config()
    clone = random.SeedGenerator.from_config(gen.get_config())
    assert clone.state.tolist() == [5, 0] and clone.name == "sg"
    assert gen.next().tolist() == [5, 0] and gen.state.tolist() == [5, 1]
    gen.next(ordered=False)
    assert gen.state.tolist() == [(6 * 5387) % 933199, (2 * 5387) % 933199]
    assert random.SeedGenerator().get_config()["seed"] is None


def _cases():
    beta_mean = 2.0 / 5.0
    beta_var = 2.0 * 3.0 / (25.0 * 6.0)
    trunc_var = 1.0 - 4.0 * math.exp(-2.0) / math.sqrt(2 * math.pi) / math.erf(2.0 / math.sqrt(2.0))
    return {
        "normal": (lambda: random.normal((N,), mean=1.0, stddev=2.0, seed=1), 1.0, 4.0),
        "uniform": (lambda: random.uniform((N,), minval=2.0, maxval=5.0, seed=1), 3.5, 9.0 / 12.0),
        "randint": (lambda: random.randint((N,), 0, 10, seed=1), 4.5, (100 - 1) / 12.0),
        "truncated_normal": (lambda: random.truncated_normal((N,), mean=-1.0, seed=1), -1.0, trunc_var),
        "gamma_small": (lambda: random.gamma((N,), 0.5, seed=1), 0.5, 0.5),
        "gamma": (lambda: random.gamma((N,), 3.0, seed=1), 3.0, 3.0),
        "beta": (lambda: random.beta((N,), 2.0, 3.0, seed=1), beta_mean, beta_var),
        "binomial": (lambda: random.binomial((N,), 10, 0.3, seed=1), 3.0, 2.1),
    }


@pytest.mark.parametrize("name", sorted(_cases()))
def test_moments(name):
    draw, mean, var = _cases()[name]
    x = draw().numpy().astype(np.float64)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N), (name, x.mean(), mean)
    assert abs(x.var() - var) < 0.03 * var, (name, x.var(), var)


def test_distribution_supports():
    assert float(random.truncated_normal((N,), stddev=3.0, seed=2).abs().max()) < 6.0
    u = random.uniform((N,), -1.0, 1.0, seed=2)
    assert float(u.min()) >= -1.0 and float(u.max()) < 1.0
    k = random.randint((N,), 3, 7, seed=2).numpy()
    assert set(np.unique(k)) == {3, 4, 5, 6}
    b = random.beta((1000,), 0.5, 0.5, seed=2)
    assert bool(((b > 0) & (b < 1)).all())
    per_alpha = random.gamma((2, N // 2), alpha=ts.tensor([[1.0], [5.0]]), seed=2).numpy().mean(1)
    np.testing.assert_allclose(per_alpha, [1.0, 5.0], rtol=0.02)


def test_categorical_frequencies():
    logits = ts.tensor([[0.0, 1.0, 2.0], [5.0, -np.inf, 5.0]])
    s = random.categorical(logits, N // 4, seed=4).numpy()
    p = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / s.shape[1], p, atol=0.01)
    assert not (s[1] == 1).any()


def test_dropout_semantics():
    x = ts.ones((1000, 100))
    y = random.dropout(x, 0.3, seed=5).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.01
    shared = random.dropout(x, 0.5, noise_shape=(None, 1), seed=5).numpy()
    assert (shared == shared[:, :1]).all()
    assert random.dropout(x, 0.0) is x or np.array_equal(random.dropout(x, 0.0).numpy(), x.numpy())
    assert float(random.dropout(x, 1.0).abs().sum()) == 0.0


def test_shuffle_is_a_permutation():
    x = ts.arange(20).reshape(5, 4)
    rows = random.shuffle(x, seed=1).numpy()
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, x.numpy().tolist()))
    cols = random.shuffle(x, axis=1, seed=1).numpy()
    assert (np.sort(cols, axis=1) == x.numpy()).all()
    order = cols[0] - cols[0].min()
    assert (cols == x.numpy()[:, order]).all()


RANDOM_ERRORS = [
    (lambda: random.normal((2,), seed="a"), ValueError, "normal.*seed"),
    (lambda: random.normal((2, -1)), ValueError, "normal.*shape"),
    (lambda: random.normal((2,), dtype="int32"), ValueError, "normal.*floating"),
    (lambda: random.uniform((2,), dtype="int32"), ValueError, "uniform.*floating"),
    (lambda: random.randint((2,), 0, 5, dtype="float32"), ValueError, "randint.*integer"),
    (lambda: random.randint((2,), 5, 5), ValueError, "randint.*minval < maxval"),
    (lambda: random.dropout(ts.ones(3), 1.5), ValueError, "dropout.*rate"),
    (lambda: random.dropout(ts.ones((2, 3)), 0.5, noise_shape=(2,)), ValueError, "dropout.*noise_shape"),
    (lambda: random.dropout(ts.ones((2, 3)), 0.5, noise_shape=(3, 3)), ValueError, "dropout.*broadcast"),
    (lambda: random.shuffle(ts.ones(3), axis=1), ValueError, "shuffle.*axis 1"),
    (lambda: random.gamma((2,), -1.0), ValueError, "gamma.*positive"),
    (lambda: random.gamma((2,), ts.ones(3)), ValueError, r"gamma.*\(3,\).*\(2,\)"),
    (lambda: random.beta((2,), 1.0, 0.0), ValueError, "beta.*positive"),
    (lambda: random.binomial((2,), 5, 1.5), ValueError, "binomial.*probabilities"),
    (lambda: random.categorical(ts.ones(3), 2), ValueError, r"categorical.*2-D.*\(3,\)"),
    (lambda: random.SeedGenerator(1.5), ValueError, "SeedGenerator.*seed"),
    (lambda: random.SeedGenerator(1, foo=2), ValueError, "SeedGenerator.*foo"),
]


@pytest.mark.parametrize("case", range(len(RANDOM_ERRORS)))
def test_random_errors(case):
    fn, exc, pattern = RANDOM_ERRORS[case]
    with pytest.raises(exc, match=pattern):
        fn()


def test_generator_from_seed_for_other_modules():
    gen = random.SeedGenerator(9)
    a = ts.randn(3, generator=random.generator_from_seed(gen))
    b = ts.randn(3, generator=random.generator_from_seed(gen))
    assert not np.array_equal(a.numpy(), b.numpy()) and gen.state.tolist() == [9, 2]
    again = ts.randn(3, generator=random.generator_from_seed(random.SeedGenerator(9)))
    np.testing.assert_array_equal(again.numpy(), a.numpy())
    assert random.generator_from_seed(None) is None
    with pytest.raises(ValueError, match="keras.ops.image.x: argument `seed`"):
        random.generator_from_seed(1.5, "keras.ops.image.x")


def test_failed_draw_does_not_advance_generator():
    gen = random.SeedGenerator(1)
    with pytest.raises(ValueError):
        random.normal((2,), dtype="int32", seed=gen)
    assert gen.state.tolist() == [1, 0]


# -- keras.backend --------------------------------------------------------------------------------------
DTYPES = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64"]
DTYPES += ["bfloat16", "float16", "float32", "float64", "complex64", "complex128", int, float, bool]


def test_result_type_matches_keras(real_keras):
    kb = real_keras.backend
    for pair in itertools.product(DTYPES, DTYPES):
        try:
            expected = kb.result_type(*pair)
        except ValueError:
            with pytest.raises(ValueError, match="result_type"):
                backend.result_type(*pair)
            continue
        assert backend.result_type(*pair) == expected, pair
    for dts in ([int, float, "int8"], ["int8", "uint8", "float16"], [], [None, "int32"], [bool, bool]):
        assert backend.result_type(*dts) == kb.result_type(*dts), dts


def test_dtype_helpers_match_keras(real_keras):
    kb = real_keras.backend
    for d in ("float32", "bfloat16", "int8", "uint32", "bool", "complex64", np.float16, np.dtype("int64"), int,
              float, bool, None):  # fmt: skip
        assert backend.standardize_dtype(d) == kb.standardize_dtype(d), d
        assert backend.is_float_dtype(d) == kb.is_float_dtype(d), d
        assert backend.is_int_dtype(d) == kb.is_int_dtype(d), d
    assert backend.standardize_dtype(ts.float64) == "float64"
    with pytest.raises(ValueError, match="standardize_dtype.*float99"):
        backend.standardize_dtype("float99")
    assert backend.floatx() == kb.floatx() and backend.epsilon() == kb.epsilon()
    assert backend.image_data_format() == kb.image_data_format()


def test_backend_state_helpers():
    import tessera.keras as keras

    assert backend.is_keras_tensor(keras.Input((3,))) and not backend.is_keras_tensor(ts.ones(3))
    backend.clear_session()
    assert (backend.get_uid("x"), backend.get_uid("x"), backend.get_uid("y")) == (1, 2, 1)
    first = keras.layers.Dense(2).name
    backend.clear_session()
    assert backend.get_uid("x") == 1 and keras.layers.Dense(2).name == first
    old = backend.epsilon()
    try:
        backend.set_epsilon(1e-3)
        assert backend.epsilon() == 1e-3
    finally:
        backend.set_epsilon(old)
    with pytest.raises(ValueError, match="set_floatx"):
        backend.set_floatx("int8")
    with pytest.raises(ValueError, match="data_format"):
        backend.set_image_data_format("nchw")
