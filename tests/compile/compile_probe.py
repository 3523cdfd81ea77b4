"""A pytest plugin (``-p compile_probe``) for ``test_compile_registry``: like ``registry_probe``, it watches
every op application of the op test files, but it keeps samples of *every* op (not only those with a
decomposition), in-place (``out=``) and state-updating (``mutates``) calls included, as they were before
the call ran: argument values, which tensors are the same object, which require grad, which one is the
default random generator's state, and the grad mode. Written (pickled) to ``$TESSERA_COMPILE_PROBE``.

A sample is ``{"tensors": [(array, requires_grad, is_rng_state), ...], "args": encoded args,
"attrs": dict, "out": tensor index or None, "grad": grad mode}``; an encoded argument is ``("T", i)`` for
tensor ``i``, ``("tuple", [...])``/``("list", [...])`` for sequences, ``("C", value)`` for anything else.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

_CANDIDATES_PER_OP = 12  # distinct call signatures kept per op
_MAX_ELEMENTS = 20_000  # samples holding more elements in all are not kept (runtime of the compiled tests)


class _Skip(Exception):
    pass


@pytest.fixture(autouse=True, scope="session")
def _compile_probe():
    target = os.environ.get("TESSERA_COMPILE_PROBE")
    if not target:
        yield
        return
    from tessera.core import dispatch, random
    from tessera.core.grad_mode import STATE
    from tessera.core.tensor import Tensor

    samples: dict[str, list] = {}
    sigs: dict[str, set] = {}
    seen: set[str] = set()

    def encode(a, tensors, ids):
        if isinstance(a, Tensor):
            k = ids.get(id(a))
            if k is None:
                k = ids[id(a)] = len(tensors)
                tensors.append((np.array(a._data, copy=True), bool(a._requires_grad),
                                a is random.default_generator._state))  # fmt: skip
            return ("T", k)
        if isinstance(a, (tuple, list)):
            return (type(a).__name__, [encode(x, tensors, ids) for x in a])
        if isinstance(a, np.ndarray):
            raise _Skip
        return ("C", a)

    def signature(op, tensors, args, attrs, out):
        return (
            tuple((t[0].shape, t[0].dtype.str, t[1], t[2]) for t in tensors),
            repr(args),
            repr(sorted(attrs.items(), key=lambda kv: kv[0])),
            out,
            STATE.enabled,
        )

    def probe(call):
        op = call.op
        seen.add(op.name)
        have = samples.setdefault(op.name, [])
        if len(have) < _CANDIDATES_PER_OP:
            try:
                tensors, ids = [], {}
                args = [encode(a, tensors, ids) for a in call.args]
                out = encode(call.out, tensors, ids)[1] if call.out is not None else None
                if sum(t[0].size for t in tensors) > _MAX_ELEMENTS:
                    raise _Skip
                sample = {"tensors": tensors, "args": args, "attrs": dict(call.attrs), "out": out,
                          "grad": STATE.enabled}  # fmt: skip
                sig = signature(op, tensors, args, call.attrs, out)
                if sig not in sigs.setdefault(op.name, set()):
                    pickle.dumps(sample)
                    sigs[op.name].add(sig)
                    have.append(sample)
            except Exception:  # noqa: BLE001 - an unpicklable or huge sample is simply not kept
                pass
        return call.proceed()

    with dispatch.intercept(probe, tracing=False):
        yield
    with open(target + ".tmp", "wb") as f:
        pickle.dump({"seen": seen, "samples": samples}, f)
    os.replace(target + ".tmp", target)
