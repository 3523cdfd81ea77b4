"""keras.ops.nn against real Keras 3 (torch backend): every function on random inputs, values to 1e-5 and
dtypes; gradients against finite differences; symbolic use in a functional model; errors on bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.keras import ops as tops

rng = np.random.default_rng(0)


def r(*shape, dtype="float32", lo=None, hi=None):
    if lo is not None:
        return rng.uniform(lo, hi, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def ints(*shape, hi=5, lo=0):
    return rng.integers(lo, hi, shape).astype("int32")


def to_np(v):
    if isinstance(v, ts.Tensor):
        return v.detach().numpy()
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def leaves(v):
    return [x for y in v for x in leaves(y)] if isinstance(v, (tuple, list)) else [v]


def check(ours, theirs, atol=1e-5, rtol=1e-5):
    a, b = leaves(ours), leaves(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = to_np(x), to_np(y)
        assert x.shape == y.shape, (x.shape, y.shape)
        assert x.dtype == y.dtype, (x.dtype, y.dtype)
        np.testing.assert_allclose(x, y, atol=atol, rtol=rtol)


UNARY = [
    "relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign", "silu", "swish", "log_sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "selu", "tanh_shrink", "hard_tanh", "sparse_plus", "elu", "celu",
    "gelu", "leaky_relu", "soft_shrink", "hard_shrink", "squareplus", "softmax", "log_softmax", "sparsemax", "glu",
]  # fmt: skip

# name -> list of (args, kwargs); arrays are NumPy so both libraries get identical inputs
CASES = {
    "elu": [((r(3, 4) * 3,), {"alpha": 0.5})],
    "celu": [((r(3, 4) * 3,), {"alpha": 2.0})],
    "gelu": [((r(3, 4) * 3,), {"approximate": False})],
    "leaky_relu": [((r(3, 4),), {"negative_slope": 0.1})],
    "soft_shrink": [((r(3, 4),), {"threshold": 0.3})],
    "hard_shrink": [((r(3, 4),), {"threshold": 0.3})],
    "squareplus": [((r(3, 4),), {"b": 2})],
    "threshold": [((r(3, 4), 0.1, -2.0), {}), ((ints(3, 4), 2, 7), {})],
    "softmax": [((r(2, 3, 4),), {"axis": 1}), ((r(2, 3, 4),), {"axis": (0, 2)}), ((r(2, 3),), {"axis": None})],
    "log_softmax": [((r(2, 3, 4),), {"axis": 0}), ((r(2, 3, 4),), {"axis": (1, 2)})],
    "sparsemax": [((r(3, 5) * 2,), {"axis": 0})],
    "glu": [((r(4, 3),), {"axis": 0})],
    "max_pool": [
        ((r(2, 9, 3),), {"pool_size": 3, "strides": 2}),
        ((r(2, 7, 8, 3),), {"pool_size": 2, "padding": "same"}),
        ((r(2, 3, 7, 8),), {"pool_size": (3, 2), "strides": 1, "data_format": "channels_first"}),
        ((r(1, 5, 6, 4, 2),), {"pool_size": 2, "strides": (1, 2, 1)}),
    ],
    "average_pool": [
        ((r(2, 9, 3),), {"pool_size": 3, "strides": 2}),
        ((r(2, 6, 8, 3),), {"pool_size": 3, "strides": 1, "padding": "same"}),
        ((r(2, 3, 7, 8),), {"pool_size": (3, 2), "data_format": "channels_first"}),
        ((r(1, 5, 6, 4, 2),), {"pool_size": 2}),
        ((r(2, 6, 7, 3),), {"pool_size": 3, "strides": 2, "padding": "same"}),
        ((r(1, 5, 6, 4, 2),), {"pool_size": (2, 3, 2), "strides": (2, 1, 3), "padding": "same"}),
    ],
    "adaptive_max_pool": [
        ((r(2, 9, 3),), {"output_size": 4}),
        ((r(2, 7, 9, 3),), {"output_size": (3, 4)}),
        ((r(1, 2, 5, 6, 7),), {"output_size": 2, "data_format": "channels_first"}),
    ],
    "adaptive_average_pool": [
        ((r(2, 9, 3),), {"output_size": 4}),
        ((r(2, 7, 9, 3),), {"output_size": (3, 4)}),
        ((r(1, 2, 5, 6, 7),), {"output_size": 2, "data_format": "channels_first"}),
    ],
    "conv": [
        ((r(2, 10, 3), r(3, 3, 4)), {"strides": 2, "padding": "same"}),
        ((r(2, 8, 9, 3), r(3, 2, 3, 5)), {"padding": "same", "dilation_rate": 2}),
        ((r(2, 8, 9, 4), r(3, 3, 2, 6)), {"strides": (2, 1)}),  # grouped
        ((r(2, 3, 8, 9), r(3, 3, 3, 5)), {"strides": 2, "padding": "same", "data_format": "channels_first"}),
        ((r(1, 5, 6, 7, 2), r(2, 3, 2, 2, 3)), {"padding": "same"}),
        ((r(2, 11, 12, 2), r(3, 3, 2, 3)), {"strides": 2, "dilation_rate": 2, "padding": "same"}),
        ((r(2, 11, 2).astype("float64"), r(3, 2, 3).astype("float64")), {"strides": 3}),
    ],
    "depthwise_conv": [
        ((r(2, 8, 9, 3), r(3, 3, 3, 2)), {"padding": "same", "strides": 2}),
        ((r(2, 10, 3), r(3, 3, 1)), {"dilation_rate": 2}),
    ],
    "separable_conv": [((r(2, 8, 9, 3), r(3, 3, 3, 2), r(1, 1, 6, 4)), {"padding": "same"})],
    "conv_transpose": [
        ((r(2, 5, 3), r(3, 4, 3)), {"strides": 2}),
        ((r(2, 5, 6, 3), r(3, 3, 4, 3)), {"strides": 2, "padding": "same"}),
        ((r(2, 5, 6, 3), r(3, 2, 4, 3)), {"strides": (2, 3), "padding": "valid", "output_padding": 1}),
        ((r(2, 5, 6, 3), r(4, 4, 4, 3)), {"strides": 2, "padding": "same"}),
        ((r(2, 3, 5, 6), r(3, 3, 2, 3)), {"dilation_rate": 2, "data_format": "channels_first"}),
    ],
    "one_hot": [
        ((ints(3, 4),), {"num_classes": 5}),
        ((np.array([[1, -1, 2]], "int32"),), {"num_classes": 3, "axis": 0, "dtype": "int32"}),
    ],
    "multi_hot": [((ints(3, 4),), {"num_classes": 6}), ((ints(4),), {"num_classes": 5})],
    "binary_crossentropy": [
        ((r(3, 4, lo=0, hi=1), r(3, 4, lo=0, hi=1)), {}),
        ((r(3, 4, lo=0, hi=1), r(3, 4)), {"from_logits": True}),
    ],
    "categorical_crossentropy": [
        ((np.eye(4, dtype="float32")[ints(3, hi=4)], r(3, 4, lo=0.1, hi=1)), {}),
        ((np.eye(4, dtype="float32")[ints(3, 2, hi=4)], r(3, 2, 4)), {"from_logits": True}),
        ((np.eye(4, dtype="float32")[ints(3, hi=4)].T.copy(), r(4, 3)), {"from_logits": True, "axis": 0}),
    ],
    "sparse_categorical_crossentropy": [
        ((ints(3, hi=4), r(3, 4, lo=0.1, hi=1)), {}),
        ((ints(3, 2, hi=4), r(3, 2, 4)), {"from_logits": True}),
        ((ints(3, 1, hi=4), r(3, 4)), {"from_logits": True}),
    ],
    "moments": [((r(3, 4, 5),), {"axes": [0, 2]}), ((r(3, 4),), {"axes": 1, "keepdims": True})],
    "batch_normalization": [
        ((r(3, 4, 5), r(4), r(4, lo=0.5, hi=2)), {"axis": 1, "offset": r(4), "scale": r(4)}),
        ((r(3, 5), r(5), r(5, lo=0.5, hi=2)), {"axis": -1, "epsilon": 0.1}),
    ],
    "layer_normalization": [
        ((r(3, 5),), {}),
        ((r(3, 4, 5),), {"gamma": r(5), "beta": r(5), "epsilon": 1e-3}),
        ((r(3, 4, 5),), {"axis": [1, 2], "gamma": r(4, 5)}),
    ],
    "rms_normalization": [((r(3, 5),), {}), ((r(3, 4, 5),), {"scale": r(5), "epsilon": 1e-3})],
    "normalize": [((r(3, 5),), {}), ((r(3, 5),), {"axis": 0, "order": 1}), ((r(3, 5),), {"order": 3})],
    "psnr": [((r(3, 4, lo=0, hi=1), r(3, 4, lo=0, hi=1)), {"max_val": 1.0})],
    "polar": [((r(3, 4, lo=0, hi=2), r(3, 4)), {})],
    "dot_product_attention": [
        ((r(2, 5, 4, 8), r(2, 6, 4, 8), r(2, 6, 4, 8)), {}),
        ((r(2, 5, 4, 8), r(2, 5, 4, 8), r(2, 5, 4, 8)), {"is_causal": True, "scale": 0.2}),
        ((r(2, 5, 4, 8), r(2, 6, 2, 8), r(2, 6, 2, 8)), {"mask": rng.random((2, 1, 5, 6)) > 0.3}),
        ((r(2, 5, 4, 8), r(2, 6, 1, 8), r(2, 6, 1, 8)), {"bias": r(2, 4, 5, 6)}),
        ((r(2, 5, 2, 8), r(2, 5, 2, 8), r(2, 5, 2, 8)), {"is_causal": True, "mask": rng.random((5, 5)) > 0.3}),
    ],
    "unfold": [((r(2, 3, 6, 7),), {"kernel_size": 3}), ((r(2, 3, 6, 7),), dict(kernel_size=(2, 3), dilation=2,
                                                                              padding=1, stride=(2, 1)))],
    "fold": [((r(2, 12, 20),), {"output_size": (5, 6), "kernel_size": 2}),
             ((r(2, 12, 9),), dict(output_size=5, kernel_size=2, padding=1, stride=2))],
    "depth_to_space": [((r(2, 3, 4, 8),), {"block_size": 2}),
                       ((r(2, 18, 3, 4),), {"block_size": 3, "data_format": "channels_first"})],
    "space_to_depth": [((r(2, 6, 4, 3),), {"block_size": 2}),
                       ((r(2, 3, 6, 9),), {"block_size": 3, "data_format": "channels_first"})],
    "ctc_loss": [((np.array([[1, 2, 2], [3, 1, 0]], "int32"), r(2, 8, 5), np.array([3, 2], "int32"),
                   np.array([8, 6], "int32")), {}),
                 ((np.array([[1, 2, 0], [3, 1, 0]], "int32"), r(2, 8, 5), np.array([2, 2], "int32"),
                   np.array([7, 8], "int32")), {"mask_index": 4})],
    "ctc_decode": [
        ((r(3, 8, 5) * 3, np.array([8, 5, 7], "int32")), {}),
        ((r(3, 8, 5) * 3, np.array([8, 5, 7], "int32")), {"merge_repeated": False, "mask_index": 4}),
        ((r(2, 6, 4) * 2, np.array([6, 4], "int32")), {"strategy": "beam_search", "beam_width": 5,
                                                       "top_paths": 3}),
        ((r(2, 6, 4) * 2, np.array([6, 5], "int32")), {"strategy": "beam_search", "beam_width": 3,
                                                       "mask_index": None}),
    ],
}  # fmt: skip

for _n in UNARY:
    CASES.setdefault(_n, [])
    CASES[_n] = [((r(3, 4) * 3,), {}), ((r(2, 3, 2).astype("float64") * 3,), {})] + CASES[_n]
for _n in ("relu", "relu6", "hard_tanh", "sigmoid", "softsign", "sparse_sigmoid", "squareplus"):
    CASES[_n].append(((ints(3, 4, lo=-8, hi=8),), {}))

PARAMS = [pytest.param(n, i, id=f"{n}-{i}") for n in sorted(CASES) for i in range(len(CASES[n]))]


def test_every_name_has_cases():
    assert set(CASES) == set(tops.nn.__all__)


@pytest.mark.parametrize("name,i", PARAMS)
def test_matches_keras(real_keras, name, i):
    args, kwargs = CASES[name][i]
    kt = real_keras.ops.convert_to_tensor

    def conv(v):
        return kt(v) if isinstance(v, np.ndarray) else v

    theirs = getattr(real_keras.ops.nn, name)(*map(conv, args), **{k: conv(v) for k, v in kwargs.items()})
    ours = getattr(tops.nn, name)(*args, **kwargs)
    check(ours, theirs)


def _as_dtype(v, dtype):
    if not isinstance(v, np.ndarray) or v.dtype.kind != "f":
        return v
    return (v * 3).astype(dtype) if dtype == "int32" else v.astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32"])
@pytest.mark.parametrize(
    "name", sorted(set(CASES) - {"polar"})
)  # Keras makes complex32 there (no such dtype)
def test_dtypes_match_keras(real_keras, name, dtype):
    """The first case of each function with its float arrays in ``dtype``: same result dtype and values as
    Keras wherever Keras's torch backend computes it (it rejects many integer inputs)."""
    args, kwargs = CASES[name][0]
    args = [_as_dtype(a, dtype) for a in args]
    kwargs = {k: _as_dtype(v, dtype) for k, v in kwargs.items()}
    kt = real_keras.ops.convert_to_tensor

    def conv(v):
        return kt(v) if isinstance(v, np.ndarray) else v

    try:
        theirs = getattr(real_keras.ops.nn, name)(*map(conv, args), **{k: conv(v) for k, v in kwargs.items()})
    except (NotImplementedError, RuntimeError):
        pytest.skip(f"Keras's torch backend does not compute {name} on {dtype}")
    tol = 1e-2 if dtype == "float16" else 1e-5
    check(getattr(tops.nn, name)(*args, **kwargs), theirs, atol=tol, rtol=tol)


def test_top_level_reexport():
    for n in tops.nn.__all__:
        assert getattr(tops, n) is getattr(tops.nn, n)


def test_average_pool_same_padding():
    x = r(1, 5, 1)
    y = to_np(tops.average_pool(x, 3, strides=1, padding="same"))[0, :, 0]  # even padding: inside elements
    np.testing.assert_allclose(
        y[[0, 2, 4]], [x[0, :2, 0].mean(), x[0, 1:4, 0].mean(), x[0, 3:, 0].mean()], 1e-6
    )
    x = r(1, 6, 1)
    y = to_np(tops.average_pool(x, 3, strides=2, padding="same"))[0, :, 0]  # one extra: the edge repeated
    np.testing.assert_allclose(
        y, [x[0, :3, 0].mean(), x[0, 2:5, 0].mean(), (x[0, 4, 0] + 2 * x[0, 5, 0]) / 3], 1e-6
    )


# -- gradients -----------------------------------------------------------------------------------------------
def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


GRAD_CASES = [
    ("gelu", lambda x: tops.gelu(x), (2, 3)),
    ("sparsemax", lambda x: tops.sparsemax(x * 2), (2, 4)),
    ("softmax_tuple", lambda x: tops.softmax(x, axis=(0, 1)), (2, 3)),
    ("conv_same", lambda x: tops.conv(x, ts.tensor(np.linspace(-1, 1, 18).reshape(3, 2, 3)), 2, "same"), (1, 5, 2)),
    ("conv_transpose", lambda x: tops.conv_transpose(x, ts.tensor(np.linspace(-1, 1, 12).reshape(3, 2, 2)), 2,
                                                     "same"), (1, 3, 2)),
    ("average_pool_same", lambda x: tops.average_pool(x, 3, 1, "same"), (1, 5, 2)),
    ("average_pool_same_odd", lambda x: tops.average_pool(x, 2, 2, "same"), (1, 5, 2)),
    ("layer_normalization", lambda x: tops.layer_normalization(x), (2, 4)),
    ("rms_normalization", lambda x: tops.rms_normalization(x), (2, 4)),
    ("normalize", lambda x: tops.normalize(x, order=3), (2, 4)),
    ("categorical_crossentropy", lambda x: tops.categorical_crossentropy(
        ts.tensor(np.eye(3)[[0, 2]]), x, from_logits=True), (2, 3)),
]  # fmt: skip


@pytest.mark.parametrize("name,f,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_finite_differences(name, f, shape):
    x0 = np.random.default_rng(1).standard_normal(shape)
    w = np.random.default_rng(2).standard_normal(to_np(f(ts.tensor(x0))).shape)

    def scalar(v):
        return float((to_np(f(ts.tensor(v))) * w).sum())

    x = ts.tensor(x0, requires_grad=True)
    (f(x) * ts.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), _numeric_grad(scalar, x0), rtol=1e-5, atol=1e-6)


def test_attention_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    q, k, v = (r(2, 4, 3, 5) for _ in range(3))
    bias = r(2, 3, 4, 4)
    w = r(2, 4, 3, 5)
    ts_args = [ts.tensor(a, requires_grad=True) for a in (q, k, v)]
    (tops.dot_product_attention(*ts_args, bias=bias, scale=0.4) * ts.tensor(w)).sum().backward()
    th = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = torch.nn.functional.scaled_dot_product_attention(
        *(a.transpose(1, 2) for a in th), attn_mask=torch.tensor(bias), scale=0.4
    ).transpose(1, 2)
    (out * torch.tensor(w)).sum().backward()
    for a, b in zip(ts_args, th):
        np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_ctc_loss_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    target, lengths, out_len = np.array([[1, 2, 2], [3, 1, 0]]), np.array([3, 2]), np.array([7, 6])
    logits = r(2, 7, 5)
    x = ts.tensor(logits, requires_grad=True)
    tops.ctc_loss(target, x, lengths, out_len).sum().backward()
    tx = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.ctc_loss(
        torch.log_softmax(tx.transpose(0, 1), -1), torch.tensor(target), torch.tensor(out_len),
        torch.tensor(lengths), reduction="none",
    )  # fmt: skip
    loss.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


# -- symbolic use --------------------------------------------------------------------------------------------
def test_symbolic_functional_model_matches_eager():
    keras = ts.keras
    inp = keras.Input((8, 8, 3))
    k = ts.tensor(r(3, 3, 3, 4))
    h = tops.conv(inp, k, padding="same")
    h = tops.gelu(h)
    h = tops.max_pool(h, 2)
    h = tops.layer_normalization(h, axis=-1)
    h = tops.depth_to_space(h, 2)
    m, v = tops.moments(h, axes=[1, 2])
    model = keras.Model(inp, [tops.sigmoid(m), v])
    assert tuple(h.shape) == (None, 8, 8, 1)
    x = r(2, 8, 8, 3)
    ours = model(ts.tensor(x))
    e = tops.depth_to_space(
        tops.layer_normalization(tops.max_pool(tops.gelu(tops.conv(x, k, padding="same")), 2)), 2
    )
    em, ev = tops.moments(e, axes=[1, 2])
    check(ours, [tops.sigmoid(em), ev], atol=1e-6)


def test_symbolic_shapes():
    keras = ts.keras
    q = keras.Input((5, 2, 4))
    assert tuple(tops.dot_product_attention(q, q, q).shape) == (None, 5, 2, 4)
    x = keras.Input((7, 3))
    assert tuple(tops.one_hot(keras.Input((4,), dtype="int32"), 6).shape) == (None, 4, 6)
    assert tuple(tops.average_pool(x, 2, padding="same").shape) == (None, 4, 3)


SYMBOLIC = [p for p in PARAMS if isinstance(CASES[p.values[0]][p.values[1]][0][0], np.ndarray)]


@pytest.mark.parametrize("name,i", SYMBOLIC)
def test_every_case_symbolically(name, i):
    """Each case with its first argument a (fully shaped) KerasTensor: the recorded model agrees with eager
    and the inferred shapes and dtypes with the real outputs."""
    args, kwargs = CASES[name][i]
    fn = getattr(tops.nn, name)
    inp = ts.keras.Input(batch_shape=args[0].shape, dtype=str(args[0].dtype))
    sym = fn(inp, *args[1:], **kwargs)
    got = ts.keras.Model(inp, sym)(ts.tensor(args[0]))
    want = fn(*args, **kwargs)
    check(got, want, atol=1e-6)
    for s, w in zip(
        sym if isinstance(sym, (list, tuple)) else [sym], want if isinstance(want, (list, tuple)) else [want]
    ):
        assert tuple(s.shape) == tuple(w.shape) and s.dtype == w.dtype


# -- errors --------------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: tops.conv(r(1, 5, 3), r(3, 2, 4)), ValueError, "conv.*input channels"),
    (lambda: tops.conv(r(1, 5, 3), r(3, 3, 4), padding="full"), ValueError, "conv: padding"),
    (lambda: tops.conv(r(5, 3), r(3, 3, 4)), ValueError, "conv.*rank 3, 4 or 5"),
    (lambda: tops.max_pool(r(1, 5, 3), 0), ValueError, "max_pool.*pool_size"),
    (lambda: tops.average_pool(r(1, 5, 3), 2, data_format="nhwc"), ValueError, "average_pool: data_format"),
    (lambda: tops.softmax(r(2, 3), axis=2), ValueError, "softmax.*axis"),
    (lambda: tops.glu(r(2, 3)), ValueError, "glu.*even"),
    (lambda: tops.binary_crossentropy(r(2, 3), r(3, 2)), ValueError, "binary_crossentropy.*same shape"),
    (lambda: tops.sparse_categorical_crossentropy(ints(3), r(2, 4)), ValueError, "sparse_categorical.*target"),
    (lambda: tops.batch_normalization(r(2, 3), r(2), r(3), axis=-1), ValueError, "batch_normalization.*mean"),
    (lambda: tops.normalize(r(2, 3), order=0), ValueError, "normalize.*order"),
    (lambda: tops.psnr(r(2, 3), r(3, 2), 1.0), ValueError, "psnr.*same shape"),
    (lambda: tops.dot_product_attention(r(2, 3, 4), r(2, 3, 4), r(2, 3, 4)), ValueError, "attention.*4-D"),
    (lambda: tops.dot_product_attention(r(1, 2, 3, 4), r(1, 2, 2, 4), r(1, 2, 2, 4)), ValueError, "multiple"),
    (lambda: tops.depth_to_space(r(1, 2, 2, 6), 2), ValueError, "depth_to_space.*divisible"),
    (lambda: tops.one_hot(ints(3), 0), ValueError, "one_hot.*num_classes"),
    (lambda: tops.multi_hot(ints(3)), ValueError, "multi_hot.*num_classes"),
    (lambda: tops.ctc_decode(r(2, 5, 3), np.array([5, 5]), strategy="best"), ValueError, "ctc_decode.*strategy"),
    (lambda: tops.fold(r(1, 12, 5), 4, 2), ValueError, "fold.*blocks"),
    (lambda: tops.unfold(r(1, 2, 4), 2), ValueError, "unfold.*4-D"),
    (lambda: tops.conv_transpose(r(1, 5, 3), r(3, 2, 4)), ValueError, "conv_transpose.*channels"),
]  # fmt: skip


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    f, exc, pattern = ERRORS[i]
    with pytest.raises(exc, match=pattern):
        f()
