"""A pytest plugin for ``test_registry``'s run of the op test files (``-p registry_probe``): it watches every
op application and writes, to ``$TESSERA_REGISTRY_PROBE``, the attributes that are not static values, a few
input samples of every op with a reference decomposition, and the ops seen."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

_SAMPLES_PER_OP = 3


def _static(v) -> bool:
    """The attribute contract's own test (``dispatch._static``), minus hashable objects such as ops: an
    attribute must be a plain value that serialises."""
    from tessera.core.dtypes import dtype

    if isinstance(v, tuple):
        return all(_static(e) for e in v)
    if isinstance(v, slice):
        return _static(v.start) and _static(v.stop) and _static(v.step)
    return isinstance(v, (int, float, bool, str, type(None), dtype)) or v is Ellipsis


@pytest.fixture(autouse=True, scope="session")
def _registry_probe():
    target = os.environ.get("TESSERA_REGISTRY_PROBE")
    if not target:
        yield
        return
    from tessera.core import dispatch
    from tessera.core.tensor import Tensor

    bad_attrs: dict[str, set] = {}
    samples: dict[str, list] = {}
    seen: set[str] = set()

    def probe(call):
        op = call.op
        seen.add(op.name)
        for k, v in call.attrs.items():
            if not _static(v):
                bad_attrs.setdefault(op.name, set()).add(f"{k}: {type(v).__name__}")
        if op.decompose is not None and not call.mutated and len(samples.get(op.name, ())) < _SAMPLES_PER_OP:
            args = tuple(("tensor", np.array(a._data)) if isinstance(a, Tensor) else a for a in call.args)
            try:
                pickle.dumps((args, call.attrs))
            except Exception:  # noqa: BLE001 - an attribute that does not pickle is reported via bad_attrs
                pass
            else:
                samples.setdefault(op.name, []).append((args, dict(call.attrs)))
        return call.proceed()

    with dispatch.intercept(probe, tracing=False):  # an observer: eager value checks still run
        yield
    with open(target, "wb") as f:
        pickle.dump(
            {
                "seen": seen,
                "bad_attrs": bad_attrs,
                "samples": samples,
            },
            f,
        )
