"""``ts.compile`` against eager execution, op by op, for every op of the registry.

The inputs come from the op test suite itself: ``compile_probe`` (a pytest plugin, like ``registry_probe``)
watches the op test files of ``test_registry.OP_TEST_FILES`` run in a subprocess and keeps, for every op,
a few real calls: plain ones, ones whose inputs require grad, in-place (``out=``) calls and state updates
(``mutates`` ops), with their arguments' values as they were before the call. A new op is covered as soon
as an op test runs it. The probe's result is cached in the temp directory, keyed by the library's source
outside ``tessera/compile`` and by the op test files (so editing the compiler does not re-run it).

Each case compiles a function that applies the op (``ts.core.apply``) and calls it three times against an
eager run of the same function: the first call traces, the next two replay the graph, on the recorded
values and then on two permutations of them (the guards hold, the values differ). Outputs, returned
identities (an in-place call returns its target) and the state of every input tensor after the call must
agree; random ops draw from the default generator, seeded before the eager and the compiled run alike.
Differentiable ops also compare gradients, computed with ``ts.autograd.grad`` inside the compiled function.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import tessera as ts
from tessera.core import dtypes as _dt
from tessera.core import random as _random
from tessera.core.dispatch import REGISTRY, apply
from tessera.core.tensor import Tensor

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
ROOT = TESTS.parent
BACKENDS = ("numpy", "c")
SAMPLES_PER_CASE = 2  # the smallest recorded call, and the smallest one of other dtypes
_TOL = {"float16": (1e-3, 1e-3), "bfloat16": (1e-2, 1e-2), "float32": (1e-5, 1e-6), "float64": (1e-5, 1e-6)}


# -- the probe: samples of every op from the op test suite -------------------------------------------------
def _op_test_files():
    from test_registry import OP_TEST_FILES

    return [TESTS / f for f in OP_TEST_FILES if (TESTS / f).exists()]


def _cache_key(files) -> str:
    h = hashlib.sha256()
    h.update(f"{sys.version}|{np.__version__}".encode())
    lib = ROOT / "tessera"
    sources = sorted(p for p in lib.rglob("*.py") if (lib / "compile") not in p.parents)
    for p in [*sources, *files, HERE / "compile_probe.py", TESTS / "conftest.py"]:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:20]


def _run_probe():
    """``{"seen", "samples"}`` from the probe (cached), or ``{"error": text}`` if it produced nothing."""
    files = _op_test_files()
    cache_dir = Path(tempfile.gettempdir()) / "tessera-compile-probe"
    cache_dir.mkdir(exist_ok=True)
    target = cache_dir / f"{_cache_key(files)}.pkl"
    with open(cache_dir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one of them runs the probe
        if not target.exists():
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TESSERA_CHECK"))}
            env["TESSERA_COMPILE_PROBE"] = str(target)
            env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(TESTS), os.environ.get("PYTHONPATH", "")])
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-p",
                    "no:xdist",
                    "-p",
                    "compile_probe",
                    *map(str, files),
                ],  # fmt: skip
                cwd=TESTS,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if not target.exists():
                return {"error": f"the probe run wrote no samples (rc {proc.returncode}):\n{proc.stdout[-3000:]}"
                        f"\n{proc.stderr[-2000:]}"}  # fmt: skip
    with open(target, "rb") as f:
        return pickle.load(f)


PROBE = _run_probe()
SAMPLES = PROBE.get("samples", {})


def test_probe_ran_and_saw_the_registry():
    assert "error" not in PROBE, PROBE.get("error")
    unseen = sorted(n for n in _library_ops() if n not in PROBE["seen"])
    assert not unseen, f"ops the op tests never ran (no compile coverage): {unseen}"


# -- choosing samples ----------------------------------------------------------------------------------------
def _library_ops():
    """Ops of the library (not those a test module registers for itself)."""
    return sorted(
        n for n, op in REGISTRY.items() if getattr(op.forward, "__module__", "").startswith("tessera")
    )


def _size(s):
    return sum(t[0].size for t in s["tensors"])


def _dtypes(s):
    return tuple(t[0].dtype.str for t in s["tensors"])


def _pick(cands):
    cands = sorted(cands, key=_size)
    if not cands:
        return []
    chosen = [cands[0]]
    for c in cands[1:]:
        if len(chosen) >= SAMPLES_PER_CASE:
            break
        if all(_dtypes(c) != _dtypes(x) for x in chosen):
            chosen.append(c)
    return chosen


def _stripped(s):
    """A sample with no input requiring grad (a forward-only case)."""
    return dict(s, tensors=[(a, False, r) for a, _, r in s["tensors"]])


def _cases():
    cases = []
    for name in _library_ops():
        op, kinds = REGISTRY[name], SAMPLES.get(name, {})
        if op.mutates:
            fwd = _pick(kinds.get("mutates", []))
        else:
            fwd = _pick(kinds.get("plain", []) + [_stripped(s) for s in kinds.get("grad", [])])
        groups = [("forward", fwd)]
        if op.grad is not None and op.differentiable:
            groups.append(("grad", _pick(kinds.get("grad", []))))
        if kinds.get("out"):
            groups.append(("inplace", _pick(kinds["out"])))
        for kind, chosen in groups:
            for backend in BACKENDS:
                if not chosen:
                    reason = (f"the probe has no {kind} sample of {name}: the op tests never call it that way "
                              "with inputs it can record")  # fmt: skip
                    if "error" in PROBE:
                        reason = "the probe failed (see test_probe_ran_and_saw_the_registry)"
                    cases.append(pytest.param(name, kind, None, backend, id=f"{name}-{kind}-{backend}",
                                              marks=pytest.mark.skip(reason=reason)))  # fmt: skip
                for j, s in enumerate(chosen):
                    cases.append(pytest.param(name, kind, s, backend, id=f"{name}-{kind}{j}-{backend}"))
    return cases


# -- running a sample ------------------------------------------------------------------------------------
def _values(sample, call):
    """The arrays of call ``call``: the recorded ones, then permutations of them (same guards)."""
    rng = np.random.default_rng(call)
    out = []
    for arr, _, is_rng in sample["tensors"]:
        a = np.array(arr, copy=True)
        if call and not is_rng and a.size > 1:
            a = rng.permutation(a.reshape(-1)).reshape(a.shape)
        out.append(a)
    return out


def _rebuild(a, tensors):
    tag, v = a
    if tag == "T":
        return tensors[v]
    if tag == "tuple":
        return tuple(_rebuild(x, tensors) for x in v)
    if tag == "list":
        return [_rebuild(x, tensors) for x in v]
    return v


def _make_fn(op, sample, kind):
    """``fn(*tensors[, cotangent])``: the op applied to the sample's tensors (the default generator's state
    is not an argument: the function reaches it, as real code does)."""
    rng_pos = {i for i, t in enumerate(sample["tensors"]) if t[2]}
    n = len(sample["tensors"])
    rg = [i for i, t in enumerate(sample["tensors"]) if t[1]]
    args_spec, attrs, out = sample["args"], sample["attrs"], sample["out"]

    def full(given):
        it = iter(given)
        return [_random.default_generator._state if i in rng_pos else next(it) for i in range(n)]

    if kind == "grad":

        def fn(*given):
            *given, v = given
            tensors = full(given)
            y = apply(op, tuple(_rebuild(a, tensors) for a in args_spec), attrs)
            grads = ts.autograd.grad(y, [tensors[i] for i in rg], v, allow_unused=True)
            return y.detach(), grads

    elif kind == "inplace":

        def fn(*given):
            tensors = full(given)
            return apply(op, tuple(_rebuild(a, tensors) for a in args_spec), attrs, out=tensors[out])

    else:

        def fn(*given):
            tensors = full(given)
            return apply(op, tuple(_rebuild(a, tensors) for a in args_spec), attrs)

    fn.__name__ = f"apply_{op.name}_{kind}"
    return fn, rng_pos


def _inputs(sample, arrays, rng_pos):
    ts_in = []
    for i, ((_, rg, _), a) in enumerate(zip(sample["tensors"], arrays)):
        if i in rng_pos:
            continue
        t = Tensor._wrap(np.array(a, copy=True))
        if rg:
            t.requires_grad_(True)
        ts_in.append(t)
    return ts_in


def _leaves(obj, out):
    if isinstance(obj, (tuple, list)):
        for x in obj:
            _leaves(x, out)
    else:
        out.append(obj)
    return out


def _run(fn, sample, arrays, rng_pos, seed, cotangent):
    """Run ``fn`` (eager or compiled) on fresh tensors: (output leaves, identities, input states, rng)."""
    ins = _inputs(sample, arrays, rng_pos)
    extra = [Tensor._wrap(cotangent.copy())] if cotangent is not None else []
    ts.manual_seed(seed)
    with ts.set_grad_enabled(sample["grad"]), np.errstate(all="ignore"):
        res = fn(*ins, *extra)
    leaves = _leaves(res, [])
    idents = [next((i for i, t in enumerate(ins) if leaf is t), None) if isinstance(leaf, Tensor) else None
              for leaf in leaves]  # fmt: skip
    outs = [np.array(leaf._data) if isinstance(leaf, Tensor) else leaf for leaf in leaves]
    states = [np.array(t._data) for t in ins]
    return outs, idents, states, np.array(_random.default_generator._state._data)


def _assert_same(got, want, what):
    if not isinstance(want, np.ndarray):
        assert got is None if want is None else got == want, f"{what}: {got!r} != {want!r}"
        return
    assert isinstance(got, np.ndarray), f"{what}: got {type(got).__name__}, want an array"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    tol = _TOL.get(want.dtype.name)
    if tol is not None:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol[0], atol=tol[1],
                                   err_msg=what)  # fmt: skip
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("name,kind,sample,backend", _cases())
def test_compiled_op_matches_eager(name, kind, sample, backend):
    op = REGISTRY[name]
    if kind == "inplace" and sample["tensors"][sample["out"]][2]:
        pytest.skip("an in-place write into the generator's state")
    fn, rng_pos = _make_fn(op, sample, kind)
    cf = ts.compile(fn, backend=backend)
    cotangent = None
    for call in range(3):
        arrays = _values(sample, call)
        seed = 1000 + call
        try:
            if kind == "grad" and cotangent is None:
                probe_fn, _ = _make_fn(op, sample, "forward")
                (y,), _, _, _ = _run(probe_fn, dict(sample), arrays, rng_pos, seed, None)
                if not _dt._FROM_NP[y.dtype].is_floating_point:
                    pytest.skip(f"{name} gives {y.dtype} here: no gradient")
                cotangent = np.random.default_rng(7).standard_normal(y.shape).astype(y.dtype)
            want = _run(fn, sample, arrays, rng_pos, seed, cotangent)
        except pytest.skip.Exception:
            raise
        except Exception as e:  # noqa: BLE001
            if call == 0:
                pytest.skip(f"eager raises on the recorded sample: {type(e).__name__}: {e}"[:300])
            arrays = _values(sample, 0)  # a permutation broke a precondition of the op: recorded values
            want = _run(fn, sample, arrays, rng_pos, seed, cotangent)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = _run(cf, sample, arrays, rng_pos, seed, cotangent)
        fallbacks = [str(w.message) for w in caught if str(w.message).startswith("ts.compile")]
        assert not fallbacks, f"call {call}: the compiled function fell back to eager: {fallbacks}"
        if call == 0:  # count the replays: calls 1 and 2 must run the plan, not the function
            (entry,) = cf._entries.values()
            plan, runs = entry.plan, []
            entry.plan = lambda arrays, plan=plan, runs=runs: runs.append(1) or plan(arrays)
        where = f"{name} ({kind}, backend={backend}) call {call}"
        g_out, g_id, g_state, g_rng = got
        w_out, w_id, w_state, w_rng = want
        assert len(g_out) == len(w_out), f"{where}: {len(g_out)} outputs, eager gave {len(w_out)}"
        for k, (a, b) in enumerate(zip(g_out, w_out)):
            _assert_same(a, b, f"{where}: output {k}")
        assert g_id == w_id, f"{where}: outputs that are input tensors {g_id}, eager {w_id}"
        for k, (a, b) in enumerate(zip(g_state, w_state)):
            _assert_same(a, b, f"{where}: state of input tensor {k} after the call")
        _assert_same(g_rng, w_rng, f"{where}: the default generator's state after the call")
    assert not cf.recompiles, cf.recompiles
    assert len(cf.graphs) == 1, f"{len(cf.graphs)} graphs for one signature"
    assert len(runs) == 2, f"the plan ran {len(runs)} times in the two replays"
    assert name in cf.graphs[0].op_counts(), f"{name} is not in the graph:\n{cf.graphs[0].text()}"
