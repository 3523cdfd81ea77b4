"""``tessera.keras.ops`` element-wise, comparison, logical, bitwise and reduction/statistics functions against
real Keras 3 (torch backend): values and result dtypes on generated inputs, symbolic use in functional models,
gradients against torch autograd, and the errors bad arguments raise."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import tessera as ts
from tessera import keras as tkeras
from tessera.keras import ops
from tessera.keras.ops import _numpy_math

# -- helpers -------------------------------------------------------------------------------------------------
FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + ("bool",)


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))  # stable across runs (hash() is salted)


def sample(rng, shape, dtype: str, domain: str = "any") -> np.ndarray:
    """A random array of ``dtype`` drawn from ``domain`` (any, pos, unit, ge1, small)."""
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype in INT_DTYPES:
        lo, hi = {"pos": (1, 6), "ge1": (1, 6), "unit": (0, 2), "small": (0, 4)}.get(domain, (-5, 6))
        if dtype == "uint8":
            lo = max(lo, 0)
        return rng.integers(lo, hi, size=shape).astype(dtype)
    lo, hi = {"pos": (0.1, 3.0), "unit": (-0.9, 0.9), "ge1": (1.1, 3.0), "small": (0.0, 3.0)}.get(
        domain, (-3.0, 3.0)
    )
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def to_numpy(x):
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(v) for v in x)
    if isinstance(x, ts.Tensor):
        return x.numpy()
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def dtype_name(x, keras) -> str:
    if isinstance(x, ts.Tensor):
        return x.dtype.name
    return keras.backend.standardize_dtype(x.dtype)


def assert_same(got, expected, keras, rtol=1e-5, atol=1e-6, check_dtype=True):
    """``got`` (Tessera) equals ``expected`` (Keras) in structure, shape, dtype and values."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e, keras, rtol, atol, check_dtype)
        return
    if check_dtype:
        assert dtype_name(got, keras) == dtype_name(expected, keras)
    g, e = to_numpy(got), to_numpy(expected)
    assert g.shape == e.shape, (g.shape, e.shape)
    if e.dtype.kind in "fc" or g.dtype.kind in "fc":
        if "float16" in (str(g.dtype), str(e.dtype)):
            rtol, atol = max(rtol, 2e-3), max(atol, 2e-3)
        np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(g, e)


def compare(keras, name, *args, rtol=1e-5, atol=1e-6, ours=None, **kwargs):
    """Call ``keras.ops.<name>`` and ``tessera.keras.ops.<name>`` on the same arguments: both raise, or
    both give the same result."""
    try:
        expected = getattr(keras.ops, name)(*args, **kwargs)
    except Exception:  # noqa: BLE001  (Keras rejects the input: so must Tessera)
        with pytest.raises(Exception):  # noqa: B017
            getattr(ops, name)(*args, **kwargs)
        return None
    got = (ours or getattr(ops, name))(*args, **kwargs)
    assert_same(got, expected, keras, rtol=rtol, atol=atol)
    return got


# -- element-wise unary --------------------------------------------------------------------------------------
UNARY_DOMAINS = {
    "sqrt": "pos", "log": "pos", "log10": "pos", "log2": "pos", "log1p": "pos", "reciprocal": "pos",
    "arcsin": "unit", "arccos": "unit", "arctanh": "unit", "arccosh": "ge1",
}  # fmt: skip
UNARY = sorted(_numpy_math._UNARY)


# imag of a real input: Keras's torch backend raises, NumPy (and its JAX/TF backends) give zeros, as Tessera
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", [n for n in UNARY if n != "imag"])
def test_unary_matches_keras(real_keras, name, dtype):
    x = sample(_rng(name, dtype), (2, 3), dtype, UNARY_DOMAINS.get(name, "any"))
    compare(real_keras, name, x)


# real/imag/conj of Python values: Keras's torch backend calls torch.from_numpy on them and fails
@pytest.mark.parametrize("value", [1, 2.5, True, [1, 2], [0.5, 1.5]], ids=str)
@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("real", "imag", "conj", "conjugate")])
def test_unary_of_python_values(real_keras, name, value):
    compare(real_keras, name, value)


@pytest.mark.parametrize("name", ["isfinite", "isinf", "isnan", "isneginf", "isposinf", "sign", "signbit"])
def test_unary_special_values(real_keras, name):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0], np.float32)
    compare(real_keras, name, x)


@pytest.mark.parametrize("name", ["real", "imag", "conj", "conjugate", "angle", "abs", "isreal"])
def test_complex_inputs_match_numpy(name):
    z = np.array([1 + 2j, -3 - 1j, 2 + 0j], np.complex64)
    reference = {"conjugate": np.conjugate, "abs": np.abs}.get(name, getattr(np, name))
    got = getattr(ops, name)(z)
    np.testing.assert_allclose(to_numpy(got), reference(z), rtol=1e-6)


def test_imag_of_real_input_is_zeros():
    assert np.array_equal(to_numpy(ops.imag(np.array([1.0, 2.0], np.float32))), [0.0, 0.0])


@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_round_decimals(real_keras, decimals, dtype):
    x = (sample(_rng("round", dtype), (7,), dtype) * 37).astype(dtype)
    compare(real_keras, "round", x, decimals=decimals)


# -- element-wise binary -------------------------------------------------------------------------------------
BINARY_DOMAINS = {
    "power": ("pos", "small"), "mod": ("any", "pos"), "fmod": ("any", "pos"), "floor_divide": ("any", "pos"),
    "divide": ("any", "pos"), "true_divide": ("any", "pos"), "gcd": ("any", "any"), "lcm": ("small", "small"),
    "ldexp": ("any", "small"), "bitwise_left_shift": ("any", "small"), "bitwise_right_shift": ("any", "small"),
    "left_shift": ("any", "small"), "right_shift": ("any", "small"),
}  # fmt: skip
BINARY = sorted(
    set(_numpy_math._BINARY)
    | set(_numpy_math._BITWISE)
    | {"divide", "true_divide", "floor_divide", "maximum", "minimum", "fmax", "fmin", "divide_no_nan"}
    | {"bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift"}
)
SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (3,))]
DTYPE_PAIRS = [("float32", "float32"), ("int32", "int32"), ("float32", "int32"), ("int8", "uint8"),
               ("bool", "int32"), ("float16", "float32"), ("int64", "float64"), ("bool", "bool"),
               ("uint8", "int16"), ("float16", "int8"), ("bool", "float16"), ("int16", "int64"),
               ("float64", "float16"), ("bool", "uint8")]  # fmt: skip


@pytest.mark.parametrize("dtypes", DTYPE_PAIRS, ids="-".join)
@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_keras(real_keras, name, dtypes):
    d1, d2 = BINARY_DOMAINS.get(name, ("any", "any"))
    for s1, s2 in SHAPES:
        rng = _rng(name, dtypes, s1)
        compare(real_keras, name, sample(rng, s1, dtypes[0], d1), sample(rng, s2, dtypes[1], d2))


@pytest.mark.parametrize("scalar", [2, 2.5, True])
@pytest.mark.parametrize("dtype", ["float16", "float32", "int8", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", ["add", "multiply", "subtract", "divide", "maximum", "minimum", "floor_divide",
                                  "power", "mod", "divide_no_nan", "equal", "greater"])  # fmt: skip
def test_binary_with_python_scalars(real_keras, name, dtype, scalar):
    x = sample(_rng(name, dtype), (2, 3), dtype, "pos")
    compare(real_keras, name, x, scalar)
    compare(real_keras, name, scalar, x)


PROMOTION_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


@pytest.mark.parametrize("d1", PROMOTION_DTYPES)
def test_add_dtype_promotion_table(real_keras, d1):
    for d2 in PROMOTION_DTYPES:
        x1, x2 = np.ones((2,), d1), np.ones((2,), d2)
        expected = real_keras.backend.standardize_dtype(real_keras.ops.add(x1, x2).dtype)
        assert ops.add(x1, x2).dtype.name == expected, (d1, d2)
        other = np.ones((), d2)  # 0-d operands promote by category only
        expected = real_keras.backend.standardize_dtype(real_keras.ops.add(x1, other).dtype)
        assert ops.add(x1, other).dtype.name == expected, (d1, d2, "0-d")


def test_result_type_matches_keras(real_keras):
    specs = list(PROMOTION_DTYPES) + ["bfloat16", int, float, bool]
    for a in specs:
        for b in specs:
            expected = real_keras.backend.result_type(a, b)
            assert _numpy_math._result_type(a, b).name == expected, (a, b)
            expected = real_keras.backend.result_type(a, b, float)
            assert _numpy_math._result_type(a, b, float).name == expected, (a, b, float)


def test_clip_matches_keras(real_keras):
    for dtype in ("float16", "float32", "int32", "bool"):
        x = sample(_rng("clip", dtype), (3, 4), dtype)
        compare(real_keras, "clip", x, 0, 1)
        compare(real_keras, "clip", x, -1.5, 2.5)
        compare(real_keras, "clip", x, np.zeros((4,), "float32"), 1.0)


@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"posinf": 9.0, "neginf": -9.0}])
def test_nan_to_num(real_keras, kwargs):
    x = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    compare(real_keras, "nan_to_num", x, **kwargs)
    compare(real_keras, "nan_to_num", np.array([1, 2], np.int32), **kwargs)


@pytest.mark.parametrize("name", ["isclose", "allclose"])
def test_isclose_allclose(real_keras, name):
    a = np.array([1.0, 2.0, np.nan, 3.0], np.float32)
    b = np.array([1.0 + 1e-7, 2.1, np.nan, 3.0], np.float32)
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.2}):
        compare(real_keras, name, a, b, **kwargs)
    compare(real_keras, name, np.array([1, 2], np.int32), np.array([1, 3], np.int32))
    compare(real_keras, name, np.array([1, 2], np.int32), np.array([1.0, 2.0], np.float32))


def test_where_and_select(real_keras):
    rng = _rng("where")
    cond = rng.random((2, 3)) > 0.5
    for a, b in ((rng.random((2, 3)), rng.random((3,))), (1, 2.5), (np.ones(3, "int8"), 7)):
        compare(real_keras, "where", cond, a, b)
    compare(real_keras, "where", cond)
    x = rng.uniform(-2, 2, (4, 3)).astype("float32")
    conds = [x < -1, x > 1]
    compare(real_keras, "select", conds, [x * 2, x * 3])
    compare(real_keras, "select", conds, [x, -x], default=5.0)


# -- reductions ----------------------------------------------------------------------------------------------
REDUCE_KEEPDIMS = (
    "sum prod mean var std max min amax amin all any nansum nanprod nanmean nanmax nanmin nanvar".split()
)
REDUCE_KEEPDIMS += ["nanstd", "median", "nanmedian", "ptp"]
AXES = [None, 0, -1, 1, (0, 2), [2, 0], ()]
# On the torch backend Keras drops keepdims when axis is None for these (and std reduces everything for
# axis=()): NumPy (and Keras's own symbolic shapes) keep the reduced dimensions, as Tessera does.
KEEPDIMS_IGNORED_BY_TORCH_BACKEND = {"max", "min", "ptp", "sum", "prod", "amax", "amin", "nanprod", "std"}
NUMPY_REDUCTIONS = {"max": np.max, "min": np.min, "ptp": np.ptp, "sum": np.sum, "prod": np.prod, "amax": np.amax,
                    "amin": np.amin, "nanprod": np.nanprod, "std": np.std}  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8", "bool"])
@pytest.mark.parametrize("name", REDUCE_KEEPDIMS)
def test_reductions_match_keras(real_keras, name, dtype):
    x = sample(_rng(name, dtype), (2, 3, 4), dtype, "pos" if name in ("prod", "nanprod") else "any")
    if name == "ptp" and dtype == "bool":
        return  # max - min of bools: Keras's torch backend subtracts bools (an error); nothing to compare
    for axis in AXES:
        for keepdims in (False, True):
            numpy_case = (keepdims and axis is None) or (name == "std" and axis == ())
            if numpy_case and name in KEEPDIMS_IGNORED_BY_TORCH_BACKEND:
                got = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
                extra = {"dtype": "int32"} if name in ("prod", "nanprod") and "float" not in dtype else {}
                ref = x.astype("float64") if dtype == "float64" else x  # products wrap around like int32
                expected = NUMPY_REDUCTIONS[name](ref, axis=axis, keepdims=keepdims, **extra)
                np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-5, atol=1e-5)
                continue
            compare(real_keras, name, x, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
@pytest.mark.parametrize("name", ["argmax", "argmin", "nanargmax", "nanargmin"])
def test_arg_reductions(real_keras, name, dtype):
    x = sample(_rng(name, dtype), (3, 4), dtype)
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            compare(real_keras, name, x, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_cumulative(real_keras, name):
    for dtype in ("float32", "float64", "int32", "int64", "int8", "bool", "float16"):
        x = sample(_rng(name, dtype), (3, 4), dtype, "small")
        for axis in (None, 0, 1, -1):
            compare(real_keras, name, x, axis=axis)
        compare(real_keras, name, x, axis=1, dtype="float32")
        compare(real_keras, name, x, axis=0, dtype="int32")


def test_prod_dtype_argument(real_keras):
    x = sample(_rng("prod"), (3, 4), "int32", "small")
    for dtype in ("float32", "int64", "float16", None):
        compare(real_keras, "prod", x, axis=1, dtype=dtype)
        compare(real_keras, "prod", x, dtype=dtype)


def test_count_nonzero(real_keras):
    x = sample(_rng("count_nonzero"), (3, 4, 2), "int32", "small")
    for axis in (None, (0, 1, 2), (0, 2), (1, 2), ()):
        compare(real_keras, "count_nonzero", x, axis=axis)
    # Keras's torch backend transposes a 2-D result (``.T``); NumPy's is the reference
    got = ops.count_nonzero(x, axis=0)
    assert np.array_equal(to_numpy(got), np.count_nonzero(x, axis=0)) and got.dtype.name == "int32"


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd",
                                  "nanmedian", "nanargmax", "nanargmin", "nancumsum", "nancumprod"])  # fmt: skip
def test_nan_reductions_with_nans(real_keras, name):
    x = sample(_rng(name), (3, 4), "float32", "pos")
    x[0, 1] = x[2, 3] = np.nan
    x[1, :] = np.nan  # a row of nan only
    axes = (
        (None, 0, 1)
        if name in ("nanargmax", "nanargmin", "nancumsum", "nancumprod")
        else (None, 0, 1, (0, 1))
    )
    for axis in axes:
        compare(real_keras, name, x, axis=axis)


@pytest.mark.parametrize("name", ["quantile", "nanquantile", "percentile", "nanpercentile"])
def test_quantiles(real_keras, name):
    scale = 100.0 if "percentile" in name else 1.0
    x = sample(_rng(name), (3, 4, 5), "float32")
    if name.startswith("nan"):
        x[0, 0, :2] = np.nan
    for q in (0.3 * scale, np.array([0.1, 0.5, 0.9], "float32") * scale):
        for axis in (None, 1, (0, 2)):
            for keepdims in (False, True):
                for method in ("linear", "lower", "higher", "midpoint", "nearest"):
                    compare(real_keras, name, x, q, axis=axis, method=method, keepdims=keepdims)
    compare(real_keras, name, np.arange(10, dtype="int32"), 0.5 * scale)


def test_median_even_length_averages(real_keras):
    compare(real_keras, "median", np.array([[1.0, 4.0, 2.0, 3.0]], "float32"), axis=1)


def test_average(real_keras):
    rng = _rng("average")
    x = rng.random((3, 4)).astype("float32")
    for axis in (None, 0, 1, -1):
        compare(real_keras, "average", x, axis=axis)
    compare(real_keras, "average", x, axis=-1, weights=rng.random(4).astype("float32"))
    compare(real_keras, "average", x[0], weights=rng.random(4).astype("float32"))
    # NumPy's semantics (the reference on every Keras backend but torch's): 1-D weights along ``axis``,
    # full-shape weights reduced over ``axis``
    w1, w2 = rng.random(3).astype("float32"), rng.random((3, 4)).astype("float32")
    np.testing.assert_allclose(to_numpy(ops.average(x, axis=0, weights=w1)), np.average(x, 0, w1), rtol=1e-5)
    for axis in (None, 0, 1):
        np.testing.assert_allclose(
            to_numpy(ops.average(x, axis=axis, weights=w2)), np.average(x, axis, w2), rtol=1e-5
        )


# -- counting, histograms, correlation -----------------------------------------------------------------------
def test_histogram(real_keras):
    x = sample(_rng("histogram"), (50,), "float32")
    for kwargs in ({}, {"bins": 5}, {"bins": 7, "range": (-1.0, 2.0)}):
        compare(real_keras, "histogram", x, **kwargs)


def test_bincount(real_keras):
    rng = _rng("bincount")
    x = rng.integers(0, 6, 20).astype("int32")
    w = rng.random(20).astype("float32")
    compare(real_keras, "bincount", x)
    compare(real_keras, "bincount", x, minlength=10)
    compare(real_keras, "bincount", x, weights=w)
    x2 = np.array([[0, 1, 1, 3], [2, 2, 0, 3]], "int32")
    compare(real_keras, "bincount", x2, minlength=5)
    compare(real_keras, "bincount", x2, weights=np.ones((2, 4), "float32"), minlength=4)


def test_digitize_corrcoef(real_keras):
    rng = _rng("digitize")
    x = rng.uniform(-2, 2, (3, 5)).astype("float32")
    compare(real_keras, "digitize", x, np.array([-1.0, 0.0, 0.5, 1.0], "float32"))
    compare(real_keras, "digitize", np.array([0, 3, 7], "int32"), np.array([1, 3, 5], "int32"))
    for dtype in ("float32", "float64", "int32", "int64", "bool"):
        compare(real_keras, "corrcoef", sample(rng, (3, 6), dtype))


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_correlate(real_keras, mode):
    rng = _rng("correlate", mode)
    for n1, n2 in ((6, 3), (7, 2), (4, 1)):
        for dtype in ("float32", "int32", "float64"):
            compare(real_keras, "correlate", sample(rng, (n1,), dtype), sample(rng, (n2,), dtype), mode=mode)
    # NumPy's shapes (Keras's symbolic ones too): a length-1 result stays 1-D, x2 may be the longer input
    for n1, n2 in ((7, 3), (4, 4), (2, 5), (3, 6), (1, 4)):
        a, v = rng.random(n1), rng.random(n2)
        got = ops.correlate(a, v, mode=mode)
        np.testing.assert_allclose(to_numpy(got), np.correlate(a, v, mode), rtol=1e-5, atol=1e-6)


def test_trapezoid(real_keras):
    rng = _rng("trapezoid")
    y = rng.random((3, 5)).astype("float32")
    compare(real_keras, "trapezoid", y)
    compare(real_keras, "trapezoid", y, dx=0.5, axis=0)
    compare(real_keras, "trapezoid", y, x=np.sort(rng.random(5)).astype("float32"))
    compare(real_keras, "trapezoid", np.arange(6, dtype="int32").reshape(2, 3), axis=1)
    compare(real_keras, "trapezoid", rng.random((4,)) > 0.5)


# -- symbolic use ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", UNARY)
def test_unary_symbolic_matches_eager(name):
    x = sample(_rng(name), (2, 3), "float32", UNARY_DOMAINS.get(name, "any"))
    dtype = "int32" if name in ("bitwise_not", "bitwise_invert") else "float32"
    if dtype == "int32":
        x = x.astype("int32")
    inp = tkeras.Input((3,), dtype=dtype)
    out = getattr(ops, name)(inp)
    eager = getattr(ops, name)(x)
    assert out.shape == (None, 3) and out.dtype is eager.dtype
    model = tkeras.Model(inp, out)
    assert_same(model(x), eager, None)


@pytest.mark.parametrize("name", BINARY)
def test_binary_symbolic_matches_eager(name):
    ints = name.startswith(("bitwise", "left", "right", "gcd", "lcm")) or name == "ldexp"
    d1, d2 = BINARY_DOMAINS.get(name, ("any", "any"))
    rng = _rng(name, "symbolic")
    x1 = sample(rng, (2, 3), "float32" if name == "ldexp" else ("int32" if ints else "float32"), d1)
    x2 = sample(rng, (2, 3), "int32" if ints else "float32", d2)
    a = tkeras.Input((3,), dtype=x1.dtype.name)
    b = tkeras.Input((3,), dtype=x2.dtype.name)
    out = getattr(ops, name)(a, b)
    eager = getattr(ops, name)(x1, x2)
    assert out.shape == (None, 3) and out.dtype is eager.dtype
    model = tkeras.Model([a, b], out)
    assert_same(model([x1, x2]), eager, None)


def test_python_operators_build_a_model():
    inp = tkeras.Input((3,))
    y = inp * 2 + inp
    z = (-abs(y - 1.5) / 2) ** 2 // 0.5 % 3
    c = (inp > 0) & (inp <= 1) | ~(inp != 0.5)
    model = tkeras.Model(inp, [y, z, c, round(inp)])
    x = np.array([[0.5, -1.0, 2.25], [0.0, 1.0, 3.5]], "float32")
    got = model(x)
    y_ref = x * 2 + x
    np.testing.assert_allclose(to_numpy(got[0]), y_ref, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(got[1]), (-np.abs(y_ref - 1.5) / 2) ** 2 // 0.5 % 3, rtol=1e-6)
    assert np.array_equal(to_numpy(got[2]), ((x > 0) & (x <= 1)) | ~(x != 0.5))
    assert np.array_equal(to_numpy(got[3]), np.round(x))


@pytest.mark.parametrize(
    "name, kwargs",
    [("sum", {"axis": 1}), ("mean", {"axis": -1, "keepdims": True}), ("var", {}), ("std", {"axis": 1}),
     ("max", {"axis": 1}), ("argmax", {"axis": -1}), ("cumsum", {"axis": 1}), ("prod", {"axis": 1}),
     ("quantile", {"q": 0.25, "axis": 1}), ("all", {"axis": 1}), ("count_nonzero", {"axis": 1}),
     ("nanmean", {"axis": 1}), ("median", {"axis": 1}), ("ptp", {"axis": 1})],
)  # fmt: skip
def test_reductions_symbolic(name, kwargs):
    x = sample(_rng(name, "sym"), (2, 4), "float32")
    inp = tkeras.Input((4,))
    model = tkeras.Model(inp, getattr(ops, name)(inp, **kwargs))
    assert_same(model(x), getattr(ops, name)(x, **kwargs), None)


# -- gradients against torch autograd ----------------------------------------------------------------------
GRADIENT_CASES = {
    "sqrt": lambda o, x, y: o.sqrt(o.abs(x) + 0.5),
    "cbrt": lambda o, x, y: o.cbrt(x + 5.0),
    "logaddexp": lambda o, x, y: o.logaddexp(x, y),
    "arctan2": lambda o, x, y: o.arctan2(x, y),
    "hypot": lambda o, x, y: o.hypot(x, y),
    "divide_no_nan": lambda o, x, y: o.divide_no_nan(x, o.where(o.greater(y, 0.0), y, 0.0)),
    "maximum": lambda o, x, y: o.maximum(x, y),
    "clip": lambda o, x, y: o.clip(x, -0.5, 0.5),
    "mean": lambda o, x, y: o.mean(x * y, axis=1),
    "var": lambda o, x, y: o.var(x, axis=0),
    "std": lambda o, x, y: o.std(x),
    "prod": lambda o, x, y: o.prod(x, axis=(0, 1)),
    "max": lambda o, x, y: o.max(x, axis=1),
    "cumprod": lambda o, x, y: o.cumprod(x, axis=1),
    "quantile": lambda o, x, y: o.quantile(x, 0.3, axis=1),
    "nanmean": lambda o, x, y: o.nanmean(x),
    "nanvar": lambda o, x, y: o.nanvar(x, axis=1),
    "average": lambda o, x, y: o.average(x, axis=-1, weights=o.abs(y[0]) + 0.1),
    "trapezoid": lambda o, x, y: o.trapezoid(x, dx=0.5),
    "where": lambda o, x, y: o.where(o.greater(x, 0.0), x * y, o.exp(y)),
    "power": lambda o, x, y: o.power(o.abs(x) + 1.0, y),
    "sinc": lambda o, x, y: o.sinc(x),
    "correlate": lambda o, x, y: o.correlate(x[0], y[1], mode="full"),
    "nansum": lambda o, x, y: o.nansum(x * y, axis=(0, 1)),
    "nanmax": lambda o, x, y: o.nanmax(x, axis=0),
    "cumsum": lambda o, x, y: o.cumsum(x * y),
    "median": lambda o, x, y: o.median(x, axis=0),
    "ptp": lambda o, x, y: o.ptp(x, axis=1),
    "subtract_divide": lambda o, x, y: o.divide(o.subtract(x, y), y),
    "logaddexp2": lambda o, x, y: o.logaddexp2(x, y),
    "tanh_abs": lambda o, x, y: o.tanh(o.abs(x)) * o.sign(y),
    "expm1_log1p": lambda o, x, y: o.expm1(x) + o.log1p(y),
    "nanstd": lambda o, x, y: o.nanstd(x, axis=1),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients_match_torch(real_keras, name):
    import torch

    fn = GRADIENT_CASES[name]
    rng = _rng(name, "grad")
    xs = rng.uniform(-2, 2, (3, 4)).astype("float32")
    ys = rng.uniform(0.2, 2, (3, 4)).astype("float32")
    if name == "correlate":
        ys = rng.uniform(-1, 1, (3, 4)).astype("float32")
    tx, ty = (torch.tensor(v, requires_grad=True) for v in (xs, ys))
    fn(real_keras.ops, tx, ty).sum().backward()
    ox, oy = (ts.tensor(v, requires_grad=True) for v in (xs, ys))
    fn(ops, ox, oy).sum().backward()
    for ours, theirs in ((ox, tx), (oy, ty)):
        if theirs.grad is None:
            assert ours.grad is None or np.allclose(to_numpy(ours.grad), 0)
            continue
        np.testing.assert_allclose(to_numpy(ours.grad), theirs.grad.numpy(), rtol=1e-4, atol=5e-5)


def test_gradient_against_finite_differences():
    rng = _rng("fd")
    x0 = rng.uniform(0.5, 2.0, (3, 4))

    # functions that keep float64 (Keras computes e.g. hypot or var of float64 in float32)
    def f(v):
        y = ops.sin(v) * ops.exp(v) / (1 + ops.square(v)) + ops.std(v, axis=0, keepdims=True) * ops.cbrt(v)
        return ops.sum(y + ops.nansum(ops.tanh(v), axis=1, keepdims=True) + ops.where(v > 1.0, v, 1.0))

    x = ts.tensor(x0, requires_grad=True)
    out = f(x)
    assert out.dtype is ts.float64
    out.backward()
    num = np.zeros_like(x0)
    eps = 1e-6
    for idx in np.ndindex(x0.shape):
        d = np.zeros_like(x0)
        d[idx] = eps
        num[idx] = (float(f(ts.tensor(x0 + d))) - float(f(ts.tensor(x0 - d)))) / (2 * eps)
    np.testing.assert_allclose(to_numpy(x.grad), num, rtol=1e-6, atol=1e-6)


# -- errors --------------------------------------------------------------------------------------------------
ERROR_CASES = [
    (
        "add",
        (np.ones((2, 3)), np.ones((4,))),
        {},
        ValueError,
        r"keras\.ops\.add.*x1\.shape=\(2, 3\).*x2\.shape=\(4,\)",
    ),
    (
        "bitwise_and",
        (np.ones((2,), "int32"), np.ones((3,), "int32")),
        {},
        ValueError,
        r"bitwise_and.*y\.shape",
    ),
    ("where", (np.ones((2,), bool), 1.0), {}, ValueError, r"both should be `None`"),
    ("sum", (np.ones((2, 3)),), {"axis": 2}, ValueError, r"keras\.ops\.sum: axis 2 is out of bounds.*rank 2"),
    ("mean", (np.ones((2, 3)),), {"axis": (0, 0)}, ValueError, r"keras\.ops\.mean: repeated axis"),
    ("argmax", (np.ones((2, 3)),), {"axis": (0, 1)}, TypeError, r"keras\.ops\.argmax: axis must be an int"),
    ("var", (np.ones((2, 3)),), {"axis": 1.5}, TypeError, r"keras\.ops\.var: axis must be an int"),
    ("max", (np.ones((0, 3)),), {}, ValueError, r"empty"),
    ("negative", (np.ones((2,), bool),), {}, TypeError, r"keras\.ops\.negative"),
    ("fabs", (np.ones((2,), np.complex64),), {}, TypeError, r"keras\.ops\.fabs.*complex"),
    (
        "ldexp",
        (np.ones((2,), "float32"), np.ones((2,), "float32")),
        {},
        TypeError,
        r"ldexp exponent must be an integer",
    ),
    ("round", (np.ones((2,)),), {"decimals": 1.5}, TypeError, r"keras\.ops\.round: decimals"),
    ("quantile", (np.ones((4,)), 0.5), {"method": "cubic"}, ValueError, r"keras\.ops\.quantile: method"),
    ("histogram", (np.ones((2, 2)),), {}, ValueError, r"1-dimensional.*\(2, 2\)"),
    ("histogram", (np.ones((4,)),), {"bins": 2.5}, TypeError, r"`bins` must be of type `int`"),
    ("histogram", (np.ones((4,)),), {"range": (2.0, 1.0)}, ValueError, r"greater than the first"),
    ("bincount", (np.array([0, 1], "int32"),), {"sparse": True}, ValueError, r"sparse=True"),
    ("bincount", (np.array([0.5, 1.0]),), {}, TypeError, r"keras\.ops\.bincount: .*integer"),
    ("bincount", (np.array([-1, 1], "int32"),), {}, ValueError, r"non-negative"),
    ("select", ([np.ones(2, bool)], np.ones(2)), {}, ValueError, r"must be lists"),
    ("select", ([], []), {}, ValueError, r"must not be empty"),
    ("correlate", (np.ones((2, 2)), np.ones(2)), {}, ValueError, r"keras\.ops\.correlate: .*1-D.*\(2, 2\)"),
    ("correlate", (np.ones(3), np.ones(2)), {"mode": "circular"}, ValueError, r"mode"),
    ("average", (np.ones((2, 3)),), {"weights": np.ones(3)}, ValueError, r"keras\.ops\.average: axis"),
    ("average", (np.ones((2, 3)),), {"axis": 0, "weights": np.ones(3)}, ValueError, r"weights\.shape=\(3,\)"),
    ("clip", (np.ones((2, 3)), np.zeros(4), 1.0), {}, ValueError, r"keras\.ops\.clip.*x_min\.shape=\(4,\)"),
    (
        "nan_to_num",
        (np.ones(2),),
        {"nan": "zero"},
        TypeError,
        r"keras\.ops\.nan_to_num: nan must be a number",
    ),
]


@pytest.mark.parametrize("name, args, kwargs, error, match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_name_the_function_and_arguments(name, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(ops, name)(*args, **kwargs)


def test_symbolic_errors_raise_at_the_call():
    a, b = tkeras.Input((3,)), tkeras.Input((4,))
    with pytest.raises(ValueError, match=r"keras\.ops\.add"):
        ops.add(a, b)


def test_names_and_signatures_match_keras(real_keras):
    import inspect

    for name in _numpy_math.__all__:
        theirs = inspect.signature(getattr(real_keras.ops, name))
        ours = inspect.signature(getattr(ops, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for p, q in zip(ours.parameters.values(), theirs.parameters.values()):
            assert p.default == q.default or (p.default is None and q.default is None), (name, p.name)


# -- edge cases ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "argmax", "cumsum", "all", "any",
                                  "amax", "median", "nanmean", "count_nonzero", "ptp"])  # fmt: skip
def test_reductions_of_0d_inputs(real_keras, name):
    for axis in (None, 0, -1):
        compare(real_keras, name, np.array(2.5, np.float32), axis=axis)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "nansum", "any", "all", "count_nonzero", "var"])
def test_reductions_of_empty_inputs(real_keras, name):
    compare(real_keras, name, np.zeros((0, 3), np.float32), axis=0)


def test_max_min_initial(real_keras):
    x = sample(_rng("initial"), (3, 4), "float32", "small")
    for name in ("max", "min"):
        compare(real_keras, name, x, axis=1, initial=1.5)
        compare(real_keras, name, x, initial=1.5)
        compare(real_keras, name, np.zeros((0, 3), "float32"), initial=0.5)
        compare(real_keras, name, np.zeros((0, 3), "float32"), initial=0.5, keepdims=True)


def test_lists_of_tensors_are_stacked(real_keras):
    parts = [np.array([1.0, 2.0], "float32"), np.array([3.0, 5.0], "float32")]
    for name in ("sum", "mean", "nansum"):
        expected = getattr(real_keras.ops, name)(parts, axis=0)
        assert_same(getattr(ops, name)([ts.tensor(p) for p in parts], axis=0), expected, real_keras)


def test_symbolic_calls_with_tensor_keywords():
    a, b = tkeras.Input((3,)), tkeras.Input((3,))
    outs = [
        ops.where(ops.greater(a, 0.0), a, b),
        ops.clip(a, -0.5, 0.5),
        ops.select([a > 0.5], [b], default=-1.0),
    ]
    model = tkeras.Model([a, b], outs)
    x1, x2 = (sample(_rng("symkw", i), (2, 3), "float32") for i in range(2))
    got = model([x1, x2])
    assert_same(got[0], ops.where(x1 > 0, x1, x2), None)
    assert_same(got[1], ops.clip(x1, -0.5, 0.5), None)
    assert_same(got[2], ops.select([x1 > 0.5], [x2], default=-1.0), None)
