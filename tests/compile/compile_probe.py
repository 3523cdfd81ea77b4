"""A pytest plugin (``-p compile_probe``) for ``test_compile_registry``: like ``registry_probe``, it watches
every op application of the op test files, but it keeps samples of *every* op (not only those with a
decomposition), in-place (``out=``) and state-updating (``mutates``) calls included, as they were before
the call ran: argument values, which tensors are the same object, which require grad, which one is the
default random generator's state, and the grad mode. Written (pickled) to ``$TESSERA_COMPILE_PROBE``.

Samples are kept by kind, up to ``_PER_KIND`` distinct call signatures each: ``samples[op][kind]`` with kind
"out" (an ``out=`` call: the in-place variants), "mutates" (a state-updating op), "grad" (grad mode on and
some tensor argument requires grad) and "plain" (the rest).

A sample is ``{"tensors": [(array, requires_grad, is_rng_state), ...], "args": encoded args,
"attrs": dict, "out": tensor index or None, "grad": grad mode}``; an encoded argument is ``("T", i)`` for
tensor ``i``, ``("tuple", [...])``/``("list", [...])`` for sequences, ``("C", value)`` for anything else.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

_PER_KIND = 6  # distinct call signatures kept per op and kind
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

    samples: dict[str, dict[str, list]] = {}
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
        if call.out is not None:
            kind = "out"
        elif op.mutates:
            kind = "mutates"
        elif STATE.enabled and any(_requires_grad(a) for a in call.args):
            kind = "grad"
        else:
            kind = "plain"
        have = samples.setdefault(op.name, {}).setdefault(kind, [])
        if len(have) < _PER_KIND:
            try:
                tensors, ids = [], {}
                args = [encode(a, tensors, ids) for a in call.args]
                out = encode(call.out, tensors, ids)[1] if call.out is not None else None
                if sum(t[0].size for t in tensors) > _MAX_ELEMENTS:
                    raise _Skip
                sample = {"tensors": tensors, "args": args, "attrs": dict(call.attrs), "out": out,
                          "grad": STATE.enabled}  # fmt: skip
                sig = signature(op, tensors, args, call.attrs, out)
                if sig in sigs.setdefault(op.name, set()):
                    raise _Skip
                pickle.dumps(sample)
            except Exception:  # noqa: BLE001 - an unpicklable or huge sample is simply not kept
                return call.proceed()
            res = call.proceed()  # a call that raises (an error-path test) is no sample
            sigs[op.name].add(sig)
            have.append(sample)
            return res
        return call.proceed()

    def _requires_grad(a):
        if isinstance(a, Tensor):
            return a._requires_grad
        return isinstance(a, (tuple, list)) and any(_requires_grad(x) for x in a)

    with dispatch.intercept(probe, tracing=False):
        yield
    with open(target + ".tmp", "wb") as f:
        pickle.dump({"seen": seen, "samples": samples}, f)
    os.replace(target + ".tmp", target)
