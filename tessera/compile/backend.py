"""From a finished trace to a runnable version: outputs and ``.grad`` bindings, the checks that make
replay safe, the optimization passes, fusion into native kernels, and the plan."""

from __future__ import annotations

import os
import time

from ..core.tensor import Tensor
from . import logs, passes
from .plan import build_plan
from .trace import Tracer

__all__ = ["Capture", "capture_of", "build_entry", "finish_entry", "backend_name"]


def backend_name(requested: str = "auto") -> str:
    """``"c"`` when a C compiler is usable (and not switched off by ``TESSERA_COMPILER=numpy``), else
    ``"numpy"``."""
    env = os.environ.get("TESSERA_COMPILER", "").strip().lower()
    if requested == "numpy" or env == "numpy":
        return "numpy"
    from . import codegen_c

    if codegen_c.compiler() is None:
        if requested == "c":
            raise RuntimeError(
                "ts.compile: backend='c' needs a C compiler (cc, gcc or clang), none was found"
            )
        return "numpy"
    return "c"


def _autograd_reachable(tensors) -> set:
    """ids of every tensor the autograd graphs of ``tensors`` hold."""
    seen_nodes, held = set(), set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for t in getattr(node, "_inputs", None) or ():
            if isinstance(t, Tensor):
                held.add(id(t))
        for e in node.edges:
            if e is not None and not isinstance(e, Tensor):
                stack.append(e)
    return held


class Capture:
    """What one trace leaves for building runnable versions: the unoptimized graph (inputs ordered as replay
    gathers them: arguments, state, constants; outputs: the function's, then rebound ``.grad``, then values
    the backward keeps), the state accessors and constant arrays behind its inputs, and the same for the
    captured backward. ``dynamic.unify`` merges two captures into one with symbolic sizes."""

    __slots__ = ("graph", "n_args", "state", "consts", "backward")

    def __init__(self, graph, n_args, state, consts, backward=None):
        self.graph, self.n_args, self.state, self.consts, self.backward = (
            graph,
            n_args,
            state,
            consts,
            backward,
        )


def capture_of(tracer, backward=None) -> Capture:
    """The ``Capture`` of a finished trace (whose graph's outputs are set), its inputs in the order replay
    gathers them: arguments, state, constants."""
    g = tracer.graph
    args = [v for v in g.inputs if v.kind == "arg"]
    g.inputs = args + [v for _, v in tracer.state] + [v for _, v in tracer.consts]
    return Capture(
        g, len(args), [acc for acc, _ in tracer.state], [arr for arr, _ in tracer.consts], backward
    )


def build_entry(entry, tracer, out_leaves, out_spec, uni, prologue, epilogue, cf):
    """Fill ``entry`` from ``tracer``; returns None, or the reason this version must run eagerly."""
    t0 = time.perf_counter()
    g = tracer.graph
    live = [t for t in out_leaves if t._requires_grad and not _consumed(t)] if _GRAD_ENABLED() else []
    backward = None
    if len(live) > 1:
        return ("more than one output requires grad (a compiled region's backward is captured for one "
                "differentiable output; return the others detached, or compile the whole training step)")  # fmt: skip
    if live:
        backward = _capture_backward(tracer, live[0], out_leaves, cf)
        if isinstance(backward, str):
            return backward
    out_values = [tracer.value(t) for t in out_leaves]
    # .grad as the traced call left it
    bindings = []
    bound_objects = []
    for p in uni.params:
        final = p.grad
        if final is None:
            bindings.append((p, None))
            continue
        e = tracer.vals.get(id(final))
        if e is None or e[0] is not final:
            continue  # untouched
        root = _root(g, e[1])
        if any(acc[0] == "grad" and acc[1] is p and sv.id == root for acc, sv in tracer.state):
            continue  # the gradient that was there, possibly accumulated or zeroed in place
        v = e[1]
        bindings.append((p, v))
        bound_objects.append(final)
    # Python that kept a tensor made inside the function would not see it again on replay.
    keep = {id(t) for t in _with_bases(out_leaves)} | {id(t) for t in _with_bases(bound_objects)}
    keep |= _autograd_reachable(out_leaves)
    keep |= {id(t) for t in getattr(tracer, "_backward_keep", ())}
    tracer.vals, tracer.by_array = {}, {}  # the tracer's own references must not count
    for ref, node in zip(tracer.produced, _produced_nodes(g)):
        t = ref()
        if t is not None and id(t) not in keep:
            return (f"a tensor made at {node.loc or '<unknown>'} ({node.op}) is kept by Python after the call "
                    "(stored on an object or in a global); replaying the graph would not update it")  # fmt: skip
    g.outputs = out_values + [v for _, v in bindings if v is not None]
    if backward is not None:
        backward["first_saved"] = len(g.outputs)
        g.outputs += backward.pop("saved_values")
    cap = capture_of(tracer, backward)
    entry.n_user_out = len(out_values)
    k = len(out_values)
    entry.grad_bindings = []
    for p, v in bindings:
        if v is None:
            entry.grad_bindings.append((p, None))
        else:
            entry.grad_bindings.append((p, k))
            k += 1
    entry.prologue = list(prologue)
    entry.epilogue = list(epilogue)
    entry.out_spec = out_spec
    entry.out_freed = [t._requires_grad for t in out_leaves]
    tracer.release()
    entry.capture = None
    if cf.dynamic is not False:  # kept unoptimized, to be unified with a trace at other sizes
        from .dynamic import instantiate_capture

        entry.capture, cap = cap, instantiate_capture(cap, {})
    finish_entry(entry, cap, cf, t0)
    return None


def finish_entry(entry, cap, cf, t0=None):
    """Optimize, fuse and plan ``cap``'s graphs (which this consumes) into ``entry``."""
    t0 = time.perf_counter() if t0 is None else t0
    g = cap.graph
    before = g.op_counts()
    graph = passes.optimize(g)
    after = graph.op_counts()
    written_roots = set()
    for node in graph.nodes:
        for w in node.writes:
            r = _root(graph, node.inputs[w])
            written_roots.add(r if r is not None else node.inputs[w].id)
    backend = backend_name(cf.backend)
    kernels, kinfo = {}, []
    if backend == "c":
        from . import fusion

        kernels, kinfo = fusion.fuse_and_compile(graph)
    entry.graph = graph
    entry.plan = build_plan(graph, kernels)
    if cf.mode == "check":
        entry.check = (build_plan(graph, kernels, return_all=True), build_plan(graph, return_all=True))
    n_args, n_state = cap.n_args, len(cap.state)
    args = graph.inputs[:n_args]
    state_vals = graph.inputs[n_args : n_args + n_state]
    const_vals = graph.inputs[n_args + n_state :]
    entry.state = [(acc, tuple(v.shape), v.dtype.np, _rg(acc)) for acc, v in zip(cap.state, state_vals)]
    entry.consts = [(arr, v.id in written_roots) for arr, v in zip(cap.consts, const_vals)]
    arg_pos = {v.id: i for i, v in enumerate(args)}
    state_obj = {v.id: acc for acc, v in zip(cap.state, state_vals)}
    entry.out_tensors = []
    for i, v in enumerate(graph.outputs[: entry.n_user_out]):
        r = _root(graph, v)
        r = v.id if r is None else r
        if r in arg_pos:
            entry.out_tensors.append((i, arg_pos[r]))
        elif r in state_obj and state_obj[r][0] == "ref":
            entry.out_tensors.append((i, state_obj[r][1]))
        else:
            entry.out_tensors.append((i, None))
    entry.bumps = _bumps(graph, written_roots, state_obj, arg_pos)
    entry.backward = None if cap.backward is None else _finish_backward(cap.backward, cf)
    entry.stats = {"ops_before": before, "ops_after": after, "kernels": kinfo, "backend": backend,
                   "compile_s": time.perf_counter() - t0}  # fmt: skip
    logs.log("graph", f"graph of {cf.__name__} ({len(graph.nodes)} nodes):\n{graph.text()}")


class _CompiledBackward:
    """The op of the one autograd node a compiled region's output gets: its gradient rule runs the
    region's captured backward plan."""

    __slots__ = ("grad", "name", "backward_name")

    def __init__(self, fn, name):
        self.grad = fn
        self.name = name
        self.backward_name = "CompiledFunctionBackward"


def _capture_backward(tracer, out, out_leaves, cf):
    """Trace d(out)/d(inputs that require grad) as a second graph whose inputs are the gradient of ``out``,
    forward values it needs (returned by the forward plan as extra outputs) and state. Returns the
    backward's part of a ``Capture`` (a dict), or the reason it cannot be captured."""
    from ..autograd import grad as autograd_grad
    from ..core.creation import ones_like

    diff = []  # (replay accessor, tensor)
    for i, t in enumerate(tracer.args):
        if t._requires_grad:
            diff.append((("arg", i), t))
    for acc, _ in tracer.state:
        if acc[0] == "ref" and acc[1]._requires_grad:
            diff.append((acc, acc[1]))
    if not diff:
        return None
    g0 = ones_like(out)
    btr = Tracer([g0], forward=tracer, fullgraph=cf.fullgraph)
    with btr.install():
        grads = autograd_grad(
            out, [t for _, t in diff], grad_outputs=g0, retain_graph=True, allow_unused=True
        )
    if btr.breaks:
        loc, reason = btr.breaks[0]
        return f"the backward of the compiled region has a graph break at {loc}: {reason}"
    bg = btr.graph
    grad_slots = []
    for gr in grads:
        grad_slots.append(None if gr is None else len(bg.outputs))
        if gr is not None:
            bg.outputs.append(btr.value(gr))
    tracer._backward_keep = list(grads) + [g0]
    args = [v for v in bg.inputs if v.kind == "arg"]
    bg.inputs = args + [v for _, v in btr.state] + [v for _, v in btr.consts]
    saved, saved_index, bstate = [], {}, []
    for acc, _ in btr.state:
        if acc[0] == "saved":
            fv = acc[1]
            if fv.id not in saved_index:
                saved_index[fv.id] = len(saved)
                saved.append(fv)
            bstate.append(("saved", saved_index[fv.id]))
        else:
            bstate.append(acc)
    bw = {"graph": bg, "n_args": len(args), "saved_values": saved, "n_saved": len(saved), "state": bstate,
          "consts": [a for a, _ in btr.consts], "diff": [acc for acc, _ in diff], "grad_slots": grad_slots,
          "out_index": next(i for i, t in enumerate(out_leaves) if t is out)}  # fmt: skip
    btr.release()
    return bw


def _finish_backward(bw, cf):
    """The replayable backward of a version from its captured part (whose graph this consumes)."""
    bgraph = passes.optimize(bw["graph"])
    kernels = {}
    if backend_name(cf.backend) == "c":
        from . import fusion

        kernels, _ = fusion.fuse_and_compile(bgraph)
    logs.log("graph", f"backward graph of {cf.__name__} ({len(bgraph.nodes)} nodes):\n{bgraph.text()}")
    return dict(bw, graph=bgraph, plan=build_plan(bgraph, kernels, name="compiled_backward"))


def make_backward_node(entry, outs, leaves):
    """The autograd node of a replayed region's differentiable output."""
    from ..core.grad_mode import STATE
    from ..core.graph import Node

    bw = entry.backward
    first = bw["first_saved"]
    saved = outs[first : first + bw["n_saved"]]
    state = []
    for acc in bw["state"]:
        kind, x = acc
        if kind == "saved":
            state.append(saved[x])
        elif kind == "grad":
            state.append(x.grad._data)
        else:
            state.append(x._data)
    consts = bw["consts"]
    diff = [leaves[x] if kind == "arg" else x for kind, x in bw["diff"]]
    plan, slots = bw["plan"], bw["grad_slots"]

    def grad_rule(ctx, g):
        if STATE.enabled:
            raise RuntimeError("a compiled region does not support double backward (create_graph=True); "
                               "run it eagerly (ts.compile(..., backend='eager'))")  # fmt: skip
        ctx.saved  # noqa: B018 - the version check: inputs modified in place since the forward
        res = plan([g._data] + state + list(consts))
        return tuple(None if k is None else Tensor._wrap(res[k]) for k in slots)

    edges = [t.grad_fn if t.grad_fn is not None else t for t in diff]
    return Node(_CompiledBackward(grad_rule, "compiled"), tuple(diff), {}, edges, [True] * len(diff), None)


def _with_bases(tensors):
    """``tensors`` and the tensors owning their memory: a returned view keeps its base alive."""
    for t in tensors:
        while t is not None:
            yield t
            t = t._base


def _consumed(t) -> bool:
    """Whether backward already ran through (and freed) ``t``'s graph: a loss returned by a training step.
    Replay gives such outputs a freed node, so a second backward fails as it would eagerly."""
    node = t.grad_fn
    return node is not None and getattr(node, "_inputs", ()) is None


def _rg(accessor):
    kind, t = accessor
    return (t.grad if kind == "grad" else t)._requires_grad


def _produced_nodes(g):
    return [n for n in g.nodes if not n.writes and not n.into]


def _root(g, v):
    """The graph input whose memory ``v`` lives in, following in-place writes back (None if none)."""
    while v.node is not None and v.node.writes:
        node = v.node
        k = node.outputs.index(v)
        v = node.inputs[node.writes[k]]
    return v.id if v.kind is not None else None


def _bumps(graph, written_roots, state, arg_pos):
    """The tensors whose version replay bumps (those written in place): ``("vc", counter)`` of a fixed
    state tensor, ``("arg", i)`` of an argument, ``("grad", param)`` of a gradient read through its param."""
    out = []
    for v in graph.inputs:
        if v.id not in written_roots:
            continue
        if v.id in arg_pos:
            out.append(("arg", arg_pos[v.id]))
        elif v.id in state:
            kind, t = state[v.id]
            out.append(("vc", t._version_counter) if kind == "ref" else ("grad", t))
    return out


def _GRAD_ENABLED():
    from ..core.grad_mode import STATE

    return STATE.enabled
