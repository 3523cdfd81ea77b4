"""The op registry as a whole: every op has a shape/dtype rule that predicts what eager execution produces
(``infer_meta``), static attributes, and a reference decomposition (where it has one) that agrees with the
fused kernel, forward and gradient.

Ops in the modules listed in ``RULED_MODULES`` are held to all of it now; the rest of the registry is
reported (printed) until ``STRICT`` is switched on.
"""

import itertools
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tessera as ts
from tessera.core.dispatch import REGISTRY, OpDef, OpError, TensorMeta, apply, infer_meta
from tessera.ops import elementwise, linalg, reduction, shape, state

OP_TEST_FILES = [
    "nn/test_normalization.py",
    "nn/test_loss.py",
    "nn/test_embedding.py",
    "nn/test_conv.py",
    "nn/test_pooling.py",
    "nn/test_attention.py",
    "nn/test_transformer.py",
    "nn/test_rnn.py",
    "test_arith.py",
    "test_elementwise.py",
    "test_reduction.py",
    "test_shape.py",
    "test_indexing.py",
    "test_linalg.py",
    "test_autograd.py",
    "test_random.py",
    "test_indexing_trace.py",
    "test_optim.py",
    "keras/test_metrics.py",
    "keras/test_ops_core.py",  # keras.ops.custom_gradient's op
    # op tests of the PyTorch-coverage work (issue 9), one file per slice
    "nn/test_conv3d_pool_pad.py",
    "nn/test_more_layers.py",
    "nn/test_structure.py",
    "test_math_ops.py",
    "test_sort_index_ops.py",
    "test_linalg_fft_sparse.py",
    "test_optim_more.py",
    "test_amp_interop.py",
    "test_distributions.py",
]

# Ops of these modules must pass every check here; the others are printed until STRICT is True.
RULED_MODULES = (elementwise, linalg, reduction, shape, state)
NOT_YET: set[str] = set()
STRICT = True


def _ops_of(module):
    return {v.name for v in vars(module).values() if isinstance(v, OpDef)}


RULED = set().union(*(_ops_of(m) for m in RULED_MODULES)) - NOT_YET


def _split(names):
    """(names in RULED, the others)."""
    names = set(names)
    return sorted(names & RULED), sorted(names - RULED)


def _report(what, others):
    if others:
        print(f"\n[registry] {what} (outside the ruled modules): {others}")
        if STRICT:
            pytest.fail(f"{what}: {others}")


def test_ruled_ops_are_found():
    # the unary table, the comparison/bitwise helpers and the reductions all bind their ops to module names
    for name in ("exp", "isfinite", "bitwise_not", "eq", "logical_xor", "bitwise_and", "max_dim", "cumprod"):
        assert name in RULED
    assert RULED <= set(REGISTRY)


def test_every_op_has_a_shape_rule():
    mine, others = _split(n for n, op in REGISTRY.items() if op.shape_rule is None)
    assert not mine, f"ops without a shape rule: {mine}"
    _report("ops without a shape rule", others)


def test_infer_meta_examples():
    m = TensorMeta
    assert infer_meta(REGISTRY["add"], (m((3, 1), ts.int32), m((4,), ts.float16))) == m((3, 4), ts.float16)
    assert infer_meta(REGISTRY["matmul"], (m((2, 3, 4), ts.float32), m((4, 5), ts.float32))) == m(
        (2, 3, 5), ts.float32
    )
    assert infer_meta(REGISTRY["sum"], (m((2, 3), ts.int8),), {"dims": (1,), "keepdim": False}) == m(
        (2,), ts.int64
    )
    with pytest.raises(OpError, match=r"matmul: shapes \(3, 4\) and \(5, 2\)"):
        infer_meta(REGISTRY["matmul"], (m((3, 4), ts.float32), m((5, 2), ts.float32)))
    # scalars are weak, 0-d tensors are a tier of their own, to_float ops give the default float dtype
    assert infer_meta(REGISTRY["mul"], (m((2,), ts.int8), 2.5)) == m((2,), ts.float32)
    assert infer_meta(REGISTRY["mul"], (m((2,), ts.int8), m((), ts.int64))) == m((2,), ts.int8)
    assert infer_meta(REGISTRY["div"], (m((2,), ts.int8), 2)) == m((2,), ts.float32)
    assert infer_meta(REGISTRY["exp"], (m((2, 2), ts.int64),)) == m((2, 2), ts.float32)
    assert infer_meta(REGISTRY["lt"], (m((5, 1), ts.float64), m((3,), ts.int8))) == m((5, 3), ts.bool)
    assert infer_meta(
        REGISTRY["einsum"],
        (m((2, 3), ts.float32), m((3, 4), ts.float64)),
        {"subs": ("ij", "jk"), "out": "ik"},
    ) == m((2, 4), ts.float64)
    assert infer_meta(REGISTRY["argmax"], (m((2, 3), ts.float32),), {"dim": None, "keepdim": True}) == m(
        (1, 1), ts.int64
    )


def test_shape_rules_raise_op_errors_naming_the_op_and_shapes():
    m = TensorMeta
    with pytest.raises(OpError, match=r"add: the shapes \[3\] and \[2\] are not broadcastable"):
        infer_meta(REGISTRY["add"], (m((3,), ts.float32), m((2,), ts.float32)))
    with pytest.raises(ValueError):  # also a ValueError, as NumPy's broadcasting failure was
        infer_meta(REGISTRY["mul"], (m((3,), ts.float32), m((2,), ts.float32)))
    with pytest.raises(TypeError, match="abs.*Bool"):  # dtype errors are OpErrors and TypeErrors
        infer_meta(REGISTRY["abs"], (m((3,), ts.bool),))
    with pytest.raises(OpError, match=r"reshape: .*\[2, 2\].*\[5\]"):
        infer_meta(REGISTRY["reshape"], (m((5,), ts.float32),), {"shape": (2, 2)})
    with pytest.raises(OpError, match="einsum"):
        infer_meta(
            REGISTRY["einsum"],
            (m((2, 3), ts.float32), m((4, 5), ts.float32)),
            {"subs": ("ij", "jk"), "out": "ik"},
        )


# -- shape rules against eager on every dtype and scalar kind ----------------------------------------------
_DTYPES = (ts.bool, ts.uint8, ts.int8, ts.int32, ts.int64, ts.float16, ts.bfloat16, ts.float32, ts.float64)


def _tensor(dt, shape=(2, 3), seed=0):
    a = np.random.default_rng(seed).uniform(1, 3, shape)
    return ts.tensor(a.astype(np.float64)).to(dt)


def _agree(op, args, attrs=None):
    """infer_meta on metas agrees with eager: same shape and dtype, or both raise."""
    attrs = attrs or {}
    metas = tuple(TensorMeta(a.shape, a.dtype) if isinstance(a, ts.Tensor) else a for a in args)
    try:
        with np.errstate(all="ignore"):
            out = apply(op, args, attrs)
    except Exception as e:  # noqa: BLE001
        eager = e
    else:
        eager = TensorMeta(out.shape, out.dtype)
    try:
        meta = infer_meta(op, metas, attrs)
    except OpError as e:
        assert isinstance(eager, Exception), f"{op.name}{metas}: rule raised {e!r}, eager gave {eager}"
        return
    assert not isinstance(eager, Exception) or op.name in _EAGER_ONLY_ERRORS, (
        f"{op.name}{metas}: eager raised {eager!r}, the rule gave {meta}"
    )
    if not isinstance(eager, Exception):
        assert meta == eager, f"{op.name}{metas} {attrs}: rule {meta}, eager {eager}"


# eager raises for some values or dtype combinations that a shape rule does not see (negative integer
# powers, integer division by zero, bool pow)
_EAGER_ONLY_ERRORS = {"pow", "floor_divide", "remainder", "fmod", "div_trunc", "sub", "neg"}
_BINARY = [
    n
    for n, op in REGISTRY.items()
    if op.promote
    and n in RULED
    and n not in ("cat", "stack", "matmul", "einsum", "clamp", "addcmul", "addcdiv")
]


@pytest.mark.parametrize("name", _BINARY)
def test_binary_rules_follow_eager_promotion(name):
    op = REGISTRY[name]
    for d1, d2 in itertools.product(_DTYPES, repeat=2):
        _agree(op, (_tensor(d1), _tensor(d2, (3,), seed=1)))
        _agree(op, (_tensor(d1), _tensor(d2, (), seed=1)))
    for d1 in _DTYPES:
        for s in (True, 2, 2.5):
            _agree(op, (_tensor(d1), s))
            _agree(op, (s, _tensor(d1)))


_UNARY = [r.name for r in elementwise._UNARY_TABLE] + ["neg", "relu", "clone", "nan_to_num", "round"]


@pytest.mark.parametrize("name", _UNARY)
def test_unary_rules_follow_eager(name):
    for d in _DTYPES:
        _agree(REGISTRY[name], (_tensor(d),))


@pytest.mark.parametrize(
    "name,attrs",
    [
        ("sum", {"dims": (1,), "keepdim": False}),
        ("sum", {"dims": None, "keepdim": True, "dtype": ts.float64}),
        ("prod", {"dims": (0,), "keepdim": True}),
        ("nansum", {"dims": None, "keepdim": False}),
        ("mean", {"dims": (0,), "keepdim": False, "dtype": ts.float64}),
        ("amax", {"dims": (1,), "keepdim": True}),
        ("argmin", {"dim": 1, "keepdim": False}),
        ("argmax", {"dim": None, "keepdim": False}),
        ("all", {"dims": (1,), "keepdim": False}),
        ("any", {"dims": None, "keepdim": True}),
        ("count_nonzero", {"dims": (0,)}),
        ("cumsum", {"dim": 1, "dtype": None}),
        ("cumprod", {"dim": 0, "dtype": ts.float32}),
        ("logsumexp", {"dims": (1,), "keepdim": False}),
        ("sum_to_size", {"shape": (1, 3)}),
        ("median_indices", {"dim": 0, "keepdim": True}),
    ],
)
def test_reduction_rules_follow_eager(name, attrs):
    for d in _DTYPES:
        _agree(REGISTRY[name], (_tensor(d),), attrs)


def test_unary_table_keeps_the_public_api():
    for row in elementwise._UNARY_TABLE:
        op, fn = elementwise._UNARY[row.name]
        assert REGISTRY[row.name] is op and getattr(elementwise, row.name) is fn
        assert getattr(ts, row.name) is fn and fn.__doc__
        for m in row.methods or (row.name,):
            assert getattr(ts.Tensor, m) is fn
        for m in (row.name + "_",) if row.inplace is None else row.inplace:
            assert callable(getattr(ts.Tensor, m))
        assert op.to_float == bool(row.flags & elementwise.F)
        assert op.save_output == bool(row.flags & elementwise.S)
        assert (op.grad is None) == (row.grad is None)
    assert ts.absolute is ts.abs and ts.sgn is ts.sign and ts.fix is ts.trunc
    x = ts.tensor([0.25, -1.5])
    y = x.clone().exp_()
    np.testing.assert_allclose(y.numpy(), np.exp(x.numpy()))
    with pytest.raises(RuntimeError, match="can't be cast"):
        ts.tensor([1, 2]).sqrt_()


# -- reference decompositions -----------------------------------------------------------------------------
def _x(*shape, seed=0, low=-2.0, high=2.0):
    return ts.tensor(np.random.default_rng(seed).uniform(low, high, shape))


# inputs (float64) for every op of the ruled modules that has a decomposition
_DECOMP_SAMPLES = {
    "sigmoid_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1, low=0, high=1)), {}),
    "tanh_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1, low=-1, high=1)), {}),
    "threshold_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1)), {}),
    "gelu": lambda: ((_x(3, 4),), {}),
    "gelu_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1)), {"approximate": "tanh"}),
    "silu": lambda: ((_x(3, 4),), {}),
    "silu_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1)), {}),
    "softplus": lambda: ((_x(3, 4, low=-30, high=30),), {"beta": 2.0, "threshold": 10.0}),
    "softplus_backward": lambda: (
        (_x(3, 4), _x(3, 4, seed=1, low=-8, high=8)),
        {"beta": 0.5, "threshold": 3.0},
    ),
    "maximum_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1).round(), _x(4, seed=2).round()), {}),
    "clamp_backward": lambda: ((_x(3, 4), _x(3, 4, seed=1), -0.5, _x(4, seed=2)), {}),
    "softmax": lambda: ((_x(3, 4),), {"dims": (1,)}),
    "log_softmax": lambda: ((_x(3, 4),), {"dims": (0,)}),
    "logsumexp": lambda: ((_x(3, 4),), {"dims": (1,), "keepdim": False}),
    "var": lambda: ((_x(3, 4),), {"dims": (0,), "correction": 1, "keepdim": True}),
    "std": lambda: ((_x(3, 4),), {"dims": None, "correction": 0, "keepdim": False}),
    "sum_to_size": lambda: ((_x(2, 3, 4),), {"shape": (3, 1)}),
}


def _check_decomposition(op, args, attrs, rtol=1e-7, atol=1e-9):
    """The decomposition's values and input gradients (for a random cotangent) equal the fused op's."""
    args = tuple(
        a.detach().requires_grad_(a.dtype.is_floating_point) if isinstance(a, ts.Tensor) else a for a in args
    )
    fused = apply(op, args, attrs)
    ref = op.decompose(*args, **attrs)
    assert tuple(ref.shape) == tuple(fused.shape) and ref.dtype is fused.dtype, (op.name, ref, fused)
    np.testing.assert_allclose(ref.detach().numpy(), fused.detach().numpy(), rtol=rtol, atol=atol)
    inputs = [a for a in args if isinstance(a, ts.Tensor) and a.requires_grad]
    if not inputs or not fused.requires_grad:
        return
    v = ts.tensor(np.random.default_rng(5).standard_normal(tuple(fused.shape))).to(fused.dtype)
    g1 = ts.autograd.grad(fused, inputs, v, allow_unused=True)
    g2 = ts.autograd.grad(ref, inputs, v, allow_unused=True)
    for a, b in zip(g1, g2):
        a = np.zeros(1) if a is None else a.numpy()
        b = np.zeros(1) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, rtol=rtol * 10, atol=atol * 10, err_msg=op.name)


def test_every_ruled_decomposition_has_a_sample():
    mine, _ = _split(n for n, op in REGISTRY.items() if op.decompose is not None)
    assert mine and set(mine) == set(_DECOMP_SAMPLES)


@pytest.mark.parametrize("name", sorted(_DECOMP_SAMPLES))
def test_decomposition_agrees_with_the_fused_kernel(name):
    args, attrs = _DECOMP_SAMPLES[name]()
    _check_decomposition(REGISTRY[name], args, attrs)


# -- the whole op test suite under a meta check and a probe --------------------------------------------------
def _restore(sample):
    args, attrs = sample
    return tuple(
        ts.tensor(a[1]) if isinstance(a, tuple) and a and a[0] == "tensor" else a for a in args
    ), attrs


@pytest.mark.slow
def test_suite_exercises_every_op_and_meta_rules_agree(tmp_path):
    report, probe = tmp_path / "meta.txt", tmp_path / "probe.pkl"
    here = Path(__file__).parent
    files = [str(here / f) for f in OP_TEST_FILES if (here / f).exists()]
    env = dict(
        os.environ,
        TESSERA_CHECK_META=str(report),
        TESSERA_REGISTRY_PROBE=str(probe),
        PYTHONPATH=os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "registry_probe", *files],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("FAILED"))
        _report("op tests failing under the meta check", tail or proc.stdout[-3000:])
    seen, _, mismatches = report.read_text().partition("\n--\n")
    bad = [line for line in mismatches.splitlines() if line.strip()]
    mine = [line for line in bad if line.split(":")[0] in RULED]
    assert not mine, "\n".join(mine[:50])
    _report("meta mismatches", [line for line in bad if line not in mine])

    mine, others = _split(set(REGISTRY) - set(seen.split()) - {"test_bad_square"})
    assert not mine, f"ops never run by the op tests: {mine}"
    _report("ops never run by the op tests", others)

    data = pickle.loads(probe.read_bytes())
    mine, others = _split(data["bad_attrs"])
    assert not mine, {n: data["bad_attrs"][n] for n in mine}
    _report("ops with non-static attributes", {n: sorted(data["bad_attrs"][n]) for n in others})

    failures = []
    for name, samples in sorted(data["samples"].items()):
        for sample in samples:
            args, attrs = _restore(sample)
            if not any(isinstance(a, ts.Tensor) and a.dtype in (ts.float32, ts.float64) for a in args):
                continue
            single = any(isinstance(a, ts.Tensor) and a.dtype is ts.float32 for a in args)
            try:
                _check_decomposition(REGISTRY[name], args, attrs, *((1e-4, 1e-5) if single else (1e-7, 1e-9)))
            except AssertionError as e:
                failures.append((name, str(e)[:500]))
    mine = [f for f in failures if f[0] in RULED]
    assert not mine, mine
    _report("decompositions that disagree with their op", [f[0] for f in failures if f not in mine])
