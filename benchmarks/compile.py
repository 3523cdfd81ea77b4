"""Compiler benchmarks: ``ts.compile`` next to Tessera eager, PyTorch eager and ``torch.compile``.

Every case has four columns measured in the same run (``tessera``, ``tessera.compile``, ``torch``,
``torch.compile``); see ``harness.run_compile``. Cases:

* an elementwise expression on a 4096x4096 float32 tensor (fusion),
* the training steps of ``benchmarks/nn.py``, the whole step function compiled,
* batch-1 inference of the 784-512-512-10 MLP under no_grad (per-call overhead),
* first-call time of a fresh compile of the MLP training step, measured in new processes: once with empty
  kernel caches, once more with the caches the first process left on disk.

``python -m benchmarks.compile --first-call tessera|torch`` is the script those processes run.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import nn as train_cases
from .harness import Case

ELEMENTWISE_SHAPE = (4096, 4096)


class _Compiled:
    """A zero-argument callable over a ``ts.compile`` object, with ``bench_note()`` for the harness: did it
    fall back to eager, how many versions did it trace, does it agree with eager (``check``)."""

    def __init__(self, compiled, call, check=None):
        self.compiled, self._call, self._check = compiled, call, check

    def __call__(self):
        return self._call()

    def bench_note(self) -> str | None:
        return _fallback_note(self.compiled, self._check)


def _fallback_note(cf, check=None) -> str | None:
    parts = []
    entries = getattr(cf, "_entries", None)
    if isinstance(entries, dict) and entries:
        eager = [e for e in entries.values() if getattr(e, "eager", False)]
        if eager:
            which = "every" if len(eager) == len(entries) else f"{len(eager)} of {len(entries)}"
            parts.append(f"EAGER FALLBACK ({which} traced signature): {getattr(eager[0], 'reason', '?')}")
        if len(entries) > 1:
            why = "; ".join(dict.fromkeys(r.split(": ", 1)[-1] for r in getattr(cf, "recompiles", [])))
            parts.append(f"{len(entries)} versions traced" + (f" ({why})" if why else ""))
    if check is not None:
        try:
            msg = check()
        except Exception as e:  # noqa: BLE001
            msg = f"check failed: {type(e).__name__}: {e}"
        if msg:
            parts.append(msg)
    return "; ".join(parts) or None


def _compare(got, want) -> str | None:
    """None when the compiled result matches eager to float32 tolerance, else a message."""
    a, b = np.asarray(got.detach().numpy()), np.asarray(want.detach().numpy())
    if a.shape != b.shape:
        return f"MISMATCH: compiled shape {a.shape} vs eager {b.shape}"
    if not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        return f"MISMATCH vs eager: max abs difference {float(np.max(np.abs(a.astype(np.float64) - b))):.3g}"
    return None


def _torch_compile(fn):
    """``torch.compile(fn)`` with dynamo's caches cleared first: the step functions of different cases share
    one code object, and its recompile limit must not be reached across cases."""
    import torch

    torch._dynamo.reset()
    return torch.compile(fn)


# -- (a) elementwise ----------------------------------------------------------------------------------------
def _elementwise(lib):
    F = lib.nn.functional

    def f(x):
        return F.gelu(x * 1.5 + 0.1) * lib.sigmoid(x)  # exact (erf) GELU

    return f


def _variant(lib, lib_name, compiled, f, x):
    """The timed callable of one column: ``f(x)`` eagerly, through torch.compile, or through ts.compile."""
    if not compiled:
        return lambda: f(x)
    if lib_name == "torch":
        g = _torch_compile(f)
        return lambda: g(x)
    cf = lib.compile(f)
    return _Compiled(cf, lambda: cf(x), check=lambda: _compare(cf(x), f(x)))


def _elementwise_case():
    x_np = np.random.default_rng(0).standard_normal(ELEMENTWISE_SHAPE).astype(np.float32)

    def make(lib_name, compiled):
        def maker():
            lib = importlib.import_module(lib_name)
            return _variant(lib, lib_name, compiled, _elementwise(lib), lib.tensor(x_np))

        return maker

    return Case(
        "compile: gelu(x*1.5+0.1)*sigmoid(x) 4096^2",
        _four(make),
        target={"tessera": 0.25, "torch.compile": 0.6},
    )


def _graph_break_case():
    """The same chain, then Python reads one value (a graph break): the part before it stays compiled."""
    x_np = np.random.default_rng(0).standard_normal(ELEMENTWISE_SHAPE).astype(np.float32)

    def make(lib_name, compiled):
        def maker():
            lib = importlib.import_module(lib_name)
            chain = _elementwise(lib)

            def f(x):
                y = chain(x)
                if y[0, 0].item() > 100.0:  # never true; torch.compile also breaks here
                    y = y * 0.0
                return y

            return _variant(lib, lib_name, compiled, f, lib.tensor(x_np))

        return maker

    return Case("compile: the gelu chain, then .item() (graph break)", _four(make))


# -- (b) training steps --------------------------------------------------------------------------------------
def _train_cases():
    short = {
        "MLP": ("compile: train MLP b128, SGD momentum", {"torch": 0.9}),
        "CNN": ("compile: train CNN b64, Adam", {"torch": 1.0}),
        "Transformer": ("compile: train Transformer enc b16 s128, AdamW", {"torch": 1.0}),
    }
    out = []
    for case in train_cases.cases():
        key = next(k for k in short if k in case.name)
        name, target = short[key]

        def make(lib_name, compiled, _makers=case.makers):
            def maker():
                # a fresh model, optimizer and batch, built as benchmarks/nn.py does
                step = _makers[lib_name]()
                if not compiled:
                    return step
                if lib_name == "torch":
                    return _torch_compile(step)
                import tessera as ts

                cf = ts.compile(step)
                return _Compiled(cf, cf)

            return maker

        out.append(Case(name, _four(make), target=target))
    return out


# -- (c) batch-1 inference -------------------------------------------------------------------------------------
def _inference_case():
    x_np = np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32)

    def make(lib_name, compiled):
        def maker():
            lib = importlib.import_module(lib_name)
            lib.manual_seed(0)
            model = train_cases._mlp(lib)
            model.eval()
            x = lib.tensor(x_np)

            def infer(x):
                with lib.no_grad():
                    return model(x)

            return _variant(lib, lib_name, compiled, infer, x)

        return maker

    return Case("compile: MLP 784-512-512-10 infer b1 no_grad", _four(make), target={"torch": 0.7})


# -- (d) compile time ---------------------------------------------------------------------------------------------
def _first_call_main(lib_name: str) -> None:
    """In a fresh process: first call of the eager MLP step, then first call of a fresh compile of another."""
    import warnings

    lib = importlib.import_module(lib_name)
    make = train_cases.cases()[0].makers[lib_name]  # MLP 784-512-512-10 b128, SGD momentum
    out = {}
    eager = make()
    t0 = time.perf_counter()
    eager()
    out["eager"] = time.perf_counter() - t0
    step = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compiled = lib.compile(step)
            t0 = time.perf_counter()
            compiled()
            out["compiled"] = time.perf_counter() - t0
            if lib_name == "tessera":
                out["note"] = _fallback_note(compiled)
        except Exception as e:  # noqa: BLE001
            out["error"] = f"{type(e).__name__}: {e}"
    if lib_name == "tessera" and caught:
        out["warnings"] = sorted({str(w.message) for w in caught})
    print("FIRST_CALL_JSON " + json.dumps(out))


def _run_first_call(lib_name: str, env: dict) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run(
        [sys.executable, "-m", "benchmarks.compile", "--first-call", lib_name],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    for line in r.stdout.splitlines():
        if line.startswith("FIRST_CALL_JSON "):
            return json.loads(line[len("FIRST_CALL_JSON ") :])
    raise RuntimeError(
        f"first-call script for {lib_name} exited {r.returncode}: {(r.stderr or r.stdout)[-400:]}"
    )


@functools.lru_cache(maxsize=1)
def _first_calls() -> dict:
    """``{lib: [run with empty caches, run with the caches the first run left]}`` (a dict, or the exception)."""
    results = {}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for lib_name in ("tessera", "torch"):
        if importlib.util.find_spec(lib_name) is None:
            continue
        tmp = tempfile.mkdtemp(prefix=f"benchmarks-compile-{lib_name}-")
        env = dict(os.environ)
        env["TESSERA_CACHE_DIR"] = os.path.join(tmp, "tessera-kernels")
        env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(tmp, "torchinductor")
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        runs = []
        try:
            for _ in range(2):
                try:
                    runs.append(_run_first_call(lib_name, env))
                except Exception as e:  # noqa: BLE001
                    runs.append(e)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results[lib_name] = runs
    return results


def _first_call_cases():
    def make(run_index):
        def four(lib_name, compiled):
            def maker():
                run = _first_calls()[lib_name][run_index]
                if isinstance(run, Exception):
                    raise run
                if compiled and "error" in run:
                    raise RuntimeError(run["error"])
                if compiled and (run.get("note") or run.get("warnings")):
                    # the harness prints warnings raised by a maker under the table
                    import warnings

                    for msg in [run.get("note")] + run.get("warnings", []):
                        if msg:
                            warnings.warn(f"in the subprocess: {msg}", stacklevel=1)
                return run["compiled" if compiled else "eager"]

            return maker

        return four

    return [
        Case("compile: 1st call MLP train step, empty cache", _four(make(0)), target={"seconds": 1.0}),
        Case("compile: 1st call, new process, warm cache", _four(make(1)), target={"seconds": 0.1}),
    ]


def _four(make) -> dict:
    """The four makers of a compile case from ``make(lib_name, compiled)``."""
    return {
        "tessera": make("tessera", False),
        "tessera.compile": make("tessera", True),
        "torch": make("torch", False),
        "torch.compile": make("torch", True),
    }


def cases() -> list[Case]:
    return [
        _elementwise_case(),
        _graph_break_case(),
        *_train_cases(),
        _inference_case(),
        *_first_call_cases(),
    ]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile")
    parser.add_argument("--first-call", choices=("tessera", "torch"), required=True)
    _first_call_main(parser.parse_args().first_call)
