"""Graph-to-graph optimizations: dead-code elimination, common-subexpression elimination, constant
folding over host constants, and algebraic simplification. Each keeps program order and never moves a
node across one that writes memory (in-place ops and state updates are barriers)."""

from __future__ import annotations

from .ir import Graph, Value

__all__ = ["optimize", "dce", "cse", "simplify"]


def optimize(graph: Graph) -> Graph:
    simplify(graph)
    cse(graph)
    dce(graph)
    drop_clones(graph)
    dce(graph)
    return graph


# Ops whose NumPy forward always returns a fresh array of its own (never an input or a view of one).
_FRESH = frozenset({"matmul", "add", "sub", "mul", "div", "neg", "exp", "threshold_backward", "convolution"})


def drop_clones(graph: Graph) -> int:
    """``clone(x)`` is ``x`` itself when ``x`` is a fresh buffer used by nothing else (the autograd engine
    clones every new ``.grad`` while tracing, since it cannot know who else holds the buffer)."""
    uses: dict[int, int] = {}
    for node in graph.nodes:
        for a in node.inputs:
            if isinstance(a, Value):
                uses[a.id] = uses.get(a.id, 0) + 1
    pinned = _pinned(graph)
    mapping, n = {}, 0
    for node in graph.nodes:
        node.inputs = [mapping.get(a.id, a) if isinstance(a, Value) else a for a in node.inputs]
        if node.op != "clone" or node.writes or not isinstance(node.inputs[0], Value):
            continue
        src = node.inputs[0]
        out = node.outputs[0]
        if (src.node is not None and src.node.op in _FRESH and not src.node.writes and uses.get(src.id) == 1
                and src.id not in pinned and src.shape == out.shape and src.dtype is out.dtype):  # fmt: skip
            mapping[out.id] = src
            n += 1
    graph.outputs = [mapping.get(v.id, v) for v in graph.outputs]
    return n


def _replace_uses(graph: Graph, mapping: dict) -> None:
    if not mapping:
        return
    for node in graph.nodes:
        node.inputs = [mapping.get(a.id, a) if isinstance(a, Value) else a for a in node.inputs]
    graph.outputs = [mapping.get(v.id, v) for v in graph.outputs]


def dce(graph: Graph) -> int:
    """Drop nodes whose outputs nobody uses (nodes that write memory always stay)."""
    live = {v.id for v in graph.outputs}
    kept = []
    for node in reversed(graph.nodes):
        if node.writes or any(v.id in live for v in node.outputs):
            kept.append(node)
            live.update(a.id for a in node.inputs if isinstance(a, Value))
    removed = len(graph.nodes) - len(kept)
    graph.nodes = kept[::-1]
    return removed


def _key(node):
    return (
        node.op,
        tuple(("v", a.id) if isinstance(a, Value) else ("c", type(a).__name__, a) for a in node.inputs),
        tuple(sorted((k, repr(v)) for k, v in node.attrs.items())),
    )


def _pinned(graph: Graph) -> set:
    """ids of values that must keep their own buffer: graph outputs (the caller gets a fresh tensor) and
    values written in place, directly or through a view."""
    from ..core.dispatch import REGISTRY

    pinned = {v.id for v in graph.outputs}
    for node in graph.nodes:
        for w in node.writes:
            v = node.inputs[w]
            while isinstance(v, Value):
                pinned.add(v.id)
                src = v.node
                if src is None or src.writes or not REGISTRY[src.op].view or not src.inputs:
                    break
                v = src.inputs[0]
    return pinned


def cse(graph: Graph) -> int:
    """Reuse the first of two identical computations on the same values; a write clears the table (the
    memory a value lives in may have changed)."""
    from ..core.dispatch import REGISTRY

    pinned = _pinned(graph)
    table: dict = {}
    mapping: dict = {}
    kept = []
    for node in graph.nodes:
        node.inputs = [mapping.get(a.id, a) if isinstance(a, Value) else a for a in node.inputs]
        if node.writes:
            table.clear()
            kept.append(node)
            continue
        op = REGISTRY[node.op]
        if op.name in _IMPURE or len(node.outputs) != 1 or node.outputs[0].id in pinned:
            kept.append(node)
            continue
        try:
            key = _key(node)
            hash(key)
        except TypeError:
            kept.append(node)
            continue
        prev = table.get(key)
        if prev is not None and prev.outputs[0].shape == node.outputs[0].shape:
            mapping[node.outputs[0].id] = prev.outputs[0]
            continue
        table[key] = node
        kept.append(node)
    graph.outputs = [mapping.get(v.id, v) for v in graph.outputs]
    removed = len(graph.nodes) - len(kept)
    graph.nodes = kept
    return removed


# Ops whose result is a fresh buffer that callers may write into: never merged.
_IMPURE = frozenset({"clone", "copy", "empty_like"})

_IDENTITY = {  # op -> (position of the kept input, position and value of the neutral operand)
    "mul": ((0, 1, 1), (1, 0, 1)),
    "add": ((0, 1, 0), (1, 0, 0)),
    "sub": ((0, 1, 0),),
    "div": ((0, 1, 1),),
}


def simplify(graph: Graph) -> int:
    """``x * 1``, ``x + 0``, ``x - 0``, ``x / 1``, ``neg(neg(x))`` and casts to the same dtype become ``x``
    when the result has exactly ``x``'s shape and dtype."""
    pinned = _pinned(graph)
    mapping: dict = {}
    n = 0
    for node in graph.nodes:
        node.inputs = [mapping.get(a.id, a) if isinstance(a, Value) else a for a in node.inputs]
        if node.writes or len(node.outputs) != 1 or node.outputs[0].id in pinned:
            continue
        out = node.outputs[0]
        keep = None
        for kept, pos, neutral in _IDENTITY.get(node.op, ()):
            if (
                len(node.inputs) == 2
                and node.inputs[pos].__class__ in (int, float)
                and node.inputs[pos] == neutral
            ):
                if node.inputs[pos].__class__ is float and node.op in ("add", "sub"):
                    continue  # x + 0.0 turns -0.0 into 0.0
                cand = node.inputs[kept]
                if isinstance(cand, Value) and cand.shape == out.shape and cand.dtype is out.dtype:
                    keep = cand
            if keep is not None:
                break
        if node.op == "cast" and isinstance(node.inputs[0], Value) and node.inputs[0].dtype is out.dtype:
            keep = node.inputs[0] if node.inputs[0].shape == out.shape else None
        if node.op == "transpose" and isinstance(node.inputs[0], Value):
            src = node.inputs[0].node
            same = src is not None and src.op == "transpose" and not src.writes
            if same and {src.attrs.get("dim0"), src.attrs.get("dim1")} == {
                node.attrs.get("dim0"),
                node.attrs.get("dim1"),
            }:
                keep = src.inputs[0] if isinstance(src.inputs[0], Value) else None
        if node.op == "neg" and isinstance(node.inputs[0], Value):
            src = node.inputs[0].node
            if src is not None and src.op == "neg" and not src.writes and isinstance(src.inputs[0], Value):
                keep = src.inputs[0]
        if keep is not None and keep.id not in pinned:
            mapping[out.id] = keep
            n += 1
    graph.outputs = [mapping.get(v.id, v) for v in graph.outputs]
    return n
