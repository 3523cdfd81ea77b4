"""Split versions: a function with a graph break runs the part before its first break compiled and the rest
eagerly.

The traced call recorded every op up to the break (Python reading a tensor's value: ``item()``, ``bool()``,
printing). Later calls with the same guards run the Python again, but its ops up to the break are served
rather than computed: at the first op, that recorded prefix runs as one optimized, fused plan (writing
parameters, gradients and optimizer state in place as it goes), and each op call then gets its precomputed
result, wrapped as eager would wrap it (autograd history, views and versions), so the Python after the break,
a later ``backward()`` included, sees eager's tensors. Only the values the rest of the call, or Python after
it, still uses are materialized; the others stay inside the fused loops. As with any replay, the Python
before the break must issue the same ops for the same guards; a call that does not is stopped with an error
naming the op.
"""

from __future__ import annotations

import numpy as np

from ..core import dispatch
from ..core.dispatch import OpDef
from .backend import _produced_nodes, _root, capture_of, finish_entry

__all__ = ["build_split", "run_split"]

_VIEW, _WRITE, _VALUE = 0, 1, 2


def build_split(entry, tracer, prologue, cf):
    """Make ``entry`` a split version from ``tracer`` (stopped at its first break); returns None, or why the
    signature must run wholly eagerly."""
    g = tracer.graph
    nodes = g.nodes[: tracer.break_at]
    if not nodes:
        return "nothing is computed before it"
    needed = set(tracer.used_after)
    for n in nodes:
        if n.opdef.view and not n.writes:  # redone eagerly on replay, over a real base
            needed.update(a.id for a in n.values_in())
        if n.writes:  # an in-place write into a value made in the call needs that value and its result
            for k, w in enumerate(n.writes):
                if _made_here(g, n.inputs[w]):
                    needed.add(n.inputs[w].id)
                    needed.add(n.outputs[k].id)
    # what Python still holds after the call, and the arrays its autograd graph saved
    array_value = {id(arr): v.id for arr, v in tracer.by_array.values()}
    refs = [(ref, node.outputs[0].id) for ref, node in zip(tracer.produced, _produced_nodes(g))]
    tracer.release()  # the tracer's own references must not count
    held = []
    for ref, vid in refs:
        t = ref()
        if t is not None:
            needed.add(vid)
            held.append(t)
    needed.update(array_value[i] for i in _saved_arrays(held) if i in array_value)
    del held

    steps, outputs = [], []
    for n in nodes:
        if n.opdef.view and not n.writes:
            steps.append((_VIEW, n.op, n.attrs, None, n.loc))
            continue
        slots = []
        for k, v in enumerate(n.outputs):
            keep = v.id in needed and (not n.writes or _made_here(g, n.inputs[n.writes[k]]))
            slots.append(len(outputs) if keep else None)
            if keep:
                outputs.append(v)
        if n.writes:
            steps.append((_WRITE, n.op, n.attrs, slots, n.loc))
        else:
            out = n.outputs[0]
            steps.append(
                (_VALUE, n.op, n.attrs, (slots[0], tuple(out.shape), out.dtype.np, _proxy(n.opdef)), n.loc)
            )
    g.nodes = nodes
    g.outputs = outputs
    cap = capture_of(tracer)
    entry.n_user_out = len(outputs)
    entry.grad_bindings, entry.prologue, entry.epilogue = [], list(prologue), []
    entry.out_spec, entry.out_freed = None, []
    finish_entry(entry, cap, cf)
    entry.split = (steps, tracer.breaks[0][0])
    return None


def _made_here(g, v) -> bool:
    """Whether ``v`` lives in memory the call made (an op's result, or a tensor made from host data, which
    the plan writes as a copy), not in an argument's or a state tensor's."""
    root = _root(g, v)
    return root is None or next(x for x in g.inputs if x.id == root).kind == "const"


def _saved_arrays(tensors) -> set:
    """ids of the arrays the autograd graphs of ``tensors`` saved (gradient rules that read their output)."""
    seen, out = set(), set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        data = getattr(node, "_out_data", None)
        if data is not None:
            out.add(id(data))
        for e in getattr(node, "edges", ()):
            if e is not None and hasattr(e, "edges"):
                stack.append(e)
    return out


def _proxy(op):
    """A stand-in for ``op`` whose forward returns a precomputed array (``cell[0]``): ``apply`` on it wraps
    the array exactly as eager wraps ``op``'s result, and its autograd node runs ``op``'s gradient rule."""
    p = OpDef.__new__(OpDef)
    for name in OpDef.__slots__:
        setattr(p, name, getattr(op, name))
    cell = [None]
    p.forward = lambda *arrays, **attrs: cell[0]
    return p, cell


class _Server:
    """The interceptor of a split call: serves the recorded ops from the plan, then lets the rest run."""

    __slots__ = ("cf", "entry", "leaves", "steps", "k", "outs", "done", "inputs")

    def __init__(self, cf, entry, leaves):
        self.cf, self.entry, self.leaves = cf, entry, leaves
        self.steps = entry.split[0]
        self.k, self.outs, self.done, self.inputs = 0, None, False, ()

    def __call__(self, call):
        if self.done:
            return call.proceed()
        k = self.k
        if k == len(self.steps):
            self.done = True
            return call.proceed()
        kind, name, attrs, info, loc = self.steps[k]
        if call.op.name != name or call.attrs != attrs:
            self._deviated(f"{call.op.name} where the trace had {name} (at {loc})")
        if self.outs is None:
            self._run()
        self.k = k + 1
        if kind == _VIEW:
            return call.proceed()
        if kind == _WRITE:
            targets = call.mutated
            bumped = []
            for t, slot in zip(targets, info):
                if slot is not None and self.outs[slot] is not t._data:
                    np.copyto(t._data, self.outs[slot])
                vc = t._version_counter
                if not any(vc is b for b in bumped):
                    vc[0] += 1
                    bumped.append(vc)
            return call.out if call.out is not None else targets[0]
        slot, shape, dtype, (proxy, cell) = info
        if slot is None:
            arr = _placeholder(shape, dtype)
        else:
            arr = self.outs[slot]
            if any(arr is a or arr.base is a for a in self.inputs):
                arr = arr.copy()  # eager's result is a fresh tensor, never an input's memory
        cell[0] = arr
        try:
            return dispatch._eager(proxy, call.args, call.attrs, None)
        finally:
            cell[0] = None

    def _run(self):
        from .api import _gather

        entry = self.entry
        for f in entry.prologue:
            f()
        arrays = _gather(entry, self.leaves)
        if arrays is None:
            self._deviated("a captured state tensor changed shape, dtype or requires_grad")
        self.inputs = arrays
        self.outs = entry.plan(arrays)

    def on_event(self, event, tensor, what):
        if event != "read" or self.done:
            return
        if self.k < len(self.steps):
            self._deviated(f"a read of a tensor's value ({what}) before the traced break")
        self.done = True

    def _deviated(self, what):
        self.done = True
        raise RuntimeError(
            f"ts.compile: {self.cf.__name__}: before its graph break at {self.entry.split[1]}, this call issued "
            f"{what}: the Python before a graph break must issue the same ops for the same guards "
            f"(compile it with backend='eager', or make the branch depend on a static argument)"
        )


_PLACEHOLDERS: dict = {}


def _placeholder(shape, dtype):
    """A read-only stand-in for a value nothing reads after the call (NaN where it can be, so a misuse
    shows)."""
    key = (shape, dtype)
    arr = _PLACEHOLDERS.get(key)
    if arr is None:
        fill = np.nan if np.dtype(dtype).kind in "fc" else 0
        arr = np.broadcast_to(np.full((), fill, dtype), shape)
        if len(_PLACEHOLDERS) < 1024:
            _PLACEHOLDERS[key] = arr
    return arr


def run_split(cf, entry, args, kwargs, leaves):
    """Call the function of a split version, serving its ops up to the break from the compiled plan."""
    server = _Server(cf, entry, leaves)
    # tracing=True, as when the prefix was traced: Python that asks is_tracing() takes the same path
    with dispatch.intercept(server, tracing=True, on_event=server.on_event):
        result = cf._fn(*args, **kwargs)
    if not server.done and server.outs is not None and server.k < len(server.steps):
        raise RuntimeError(
            f"ts.compile: {cf.__name__}: the call returned before reaching its graph break at {entry.split[1]}"
        )
    return result
