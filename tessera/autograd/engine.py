"""The backward engine: walks the recorded graph in reverse topological order, calling each op's gradient
rule, reducing gradients over broadcast dimensions and accumulating them into leaves.

With ``create_graph=True`` the gradient rules run with recording on, so the gradients are themselves
differentiable (higher-order derivatives).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.creation import ones_like, zeros_like
from ..core.dispatch import REGISTRY, apply, is_tracing
from ..core.grad_mode import STATE as _GRAD
from ..core.graph import Node
from ..core.tensor import _OPS, Tensor

__all__ = ["backward", "grad"]


def _sum_to_size(g, shape):
    # Looked up in the registry: the op modules sit above autograd in the layering.
    return apply(REGISTRY["sum_to_size"], (g,), {"shape": tuple(shape)})


def _cast(g, dtype):
    return apply(REGISTRY["cast"], (g,), {"dtype": dtype})


def _clone(g):
    return apply(REGISTRY["clone"], (g,))


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    if x is None:
        return ()
    return tuple(x)


def _make_root_grads(outputs, grad_outputs, opname):
    grads = []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{opname}: outputs must be tensors, got {type(out).__name__} at position {i}")
        if not out._requires_grad:
            raise RuntimeError(
                f"{opname}: element {i} of tensors does not require grad and does not have a grad_fn"
            )
        g = grad_outputs[i] if grad_outputs is not None and i < len(grad_outputs) else None
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"{opname}: grad can be implicitly created only for scalar outputs, but output {i} has "
                    f"shape {tuple(out.shape)}"
                )
            g = ones_like(out)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"{opname}: gradient must be a Tensor, got {type(g).__name__}")
            if g.shape != out.shape:
                raise RuntimeError(
                    f"{opname}: mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                    f"output[{i}] has a shape of {tuple(out.shape)}"
                )
        grads.append(g)
    return grads


def _fit(g, inp):
    """Reduce ``g`` over dimensions ``inp`` was broadcast along, and cast it to ``inp``'s dtype."""
    if g._data.shape != inp._data.shape:
        g = _sum_to_size(g, inp._data.shape)
    if g._data.dtype != inp._data.dtype:
        g = _cast(g, inp.dtype)
    return g


def _collect(roots):
    """Count, for each node, how many edges point at it (Kahn's algorithm needs in-degrees)."""
    deps: dict[Node, int] = {}
    stack = [r for r in roots if r is not None]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for e in node.edges:
            if e.__class__ is Node:
                deps[e] = deps.get(e, 0) + 1
                if e not in seen:
                    seen.add(e)
                    stack.append(e)
    return deps, seen


def _needed(nodes, targets_nodes, target_leaves):
    """Nodes from which some target is reachable; others are skipped (autograd.grad with inputs=)."""
    needed: dict[Node, bool] = {}

    def visit(root):
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                needed[node] = node in targets_nodes or any(
                    (
                        needed.get(e, False)
                        if e.__class__ is Node
                        else (e is not None and id(e) in target_leaves)
                    )
                    for e in node.edges
                )
                continue
            if node in needed:
                continue
            needed[node] = False  # provisional, breaks revisits
            stack.append((node, True))
            for e in node.edges:
                if e.__class__ is Node and e not in needed:
                    stack.append((e, False))

    for n in nodes:
        visit(n)
    return needed


def _run(outputs, root_grads, *, retain_graph, create_graph, inputs=None, accumulate=True):
    root_nodes = []
    pending: dict = {}
    leaf_grads: dict[int, list] = {}
    for out, g in zip(outputs, root_grads):
        if out.grad_fn is None:
            entry = leaf_grads.setdefault(id(out), [out, None])
            entry[1] = g if entry[1] is None else entry[1] + g
        else:
            n = out.grad_fn
            pending[n] = g if n not in pending else pending[n] + g
            root_nodes.append(n)
    deps, allnodes = _collect(root_nodes)
    target_nodes = set()
    target_leaves = None
    if inputs is not None:
        target_leaves = {id(t) for t in inputs if t.grad_fn is None}
        target_nodes = {t.grad_fn for t in inputs if t.grad_fn is not None}
        needed = _needed(set(root_nodes), target_nodes, target_leaves)
    else:
        needed = None
    captured: dict[Node, Tensor] = {}
    ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n, 0) == 0]
    prev_enabled = _GRAD.enabled
    _GRAD.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            g = pending.pop(node, None)
            if g is None:  # every gradient flowing here was None or pruned
                _release(node, deps, ready, not retain_graph)
                continue
            if node.hooks:
                for h in node.hooks:
                    r = h(g)
                    if r is not None:
                        g = r
            if node in target_nodes:
                captured[node] = g
            if needed is not None and not needed.get(node, False):
                _release(node, deps, ready, retain_graph)
                continue
            inputs_ = node._inputs
            if inputs_ is None:
                node.check_alive()
            gin = node.op.grad(node, g)
            if gin.__class__ is not tuple and gin.__class__ is not list:
                gin = (gin,)
            for edge, gi, inp in zip(node.edges, gin, inputs_):
                if edge is None or gi is None:
                    continue
                gi = _fit(gi, inp)
                if edge.__class__ is Node:
                    if edge in pending:
                        pending[edge] = pending[edge] + gi
                    else:
                        pending[edge] = gi
                else:
                    entry = leaf_grads.get(id(edge))
                    if entry is None:
                        leaf_grads[id(edge)] = [edge, gi]
                    else:
                        entry[1] = entry[1] + gi
            if not retain_graph:
                node.free()
            _release(node, deps, ready, False)
    finally:
        _GRAD.enabled = prev_enabled
    if accumulate:
        _accumulate(leaf_grads, create_graph, target_leaves, root_grads)
    return leaf_grads, captured


def _release(node, deps, ready, free):
    if free:
        node.free()
    for e in node.edges:
        if e.__class__ is Node:
            d = deps[e] - 1
            deps[e] = d
            if d == 0:
                ready.append(e)


def _root_buffer(d):
    while d.base is not None and isinstance(d.base, np.ndarray):
        d = d.base
    return id(d)


def _accumulate(leaf_grads, create_graph, only, root_grads):
    # A gradient is stored without copying unless its memory is shared with another stored gradient or a
    # caller's grad_output (so in-place updates of one .grad never show up in another), or its layout
    # differs from the leaf's. While tracing, buffers are not inspected: every new .grad is a clone.
    tracing = is_tracing()
    taken = set() if tracing else {_root_buffer(g._data) for g in root_grads}
    for key, (leaf, g) in leaf_grads.items():
        if only is not None and key not in only:
            continue
        if leaf._hooks:
            for h in leaf._hooks:
                r = h(g)
                if r is not None:
                    g = r
        if leaf.grad is None:
            if create_graph:
                leaf.grad = g
            elif tracing:
                leaf.grad = _clone(g)
            else:
                d = g._data
                buf = _root_buffer(d)
                if buf in taken or d.strides != leaf._data.strides or not d.flags.writeable:
                    d = (
                        d.copy(order="K")
                        if d.flags.writeable and d.strides == leaf._data.strides
                        else (np.array(d, order="C" if leaf._data.flags.c_contiguous else "K"))
                    )
                    buf = id(d)
                taken.add(buf)
                leaf.grad = Tensor._wrap(d)
        elif create_graph or leaf.grad._requires_grad:
            leaf.grad = leaf.grad + g
        else:
            apply(REGISTRY["add"], (leaf.grad, g), out=leaf.grad)


def backward(
    tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves of the graph.

    Example:
        >>> x = ts.tensor(2.0, requires_grad=True)
        >>> ts.autograd.backward(x ** 2)
        >>> x.grad
        tensor(4.)
    """
    outputs = _as_tuple(tensors)
    grad_outputs = _as_tuple(grad_tensors) if grad_tensors is not None else None
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_root_grads(outputs, grad_outputs, "backward")
    targets = None
    if inputs is not None:
        targets = _as_tuple(inputs)
        if not targets:
            raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
        for t in targets:
            if not t._requires_grad:
                raise RuntimeError("backward: one of the tensors in 'inputs' does not require grad")
    leaf_grads, captured = _run(
        outputs, roots, retain_graph=retain_graph, create_graph=create_graph, inputs=targets, accumulate=True
    )
    if targets is not None:
        # Non-leaf inputs get their gradient stored in .grad, as PyTorch does.
        for t in targets:
            if t.grad_fn is not None and t.grad_fn in captured:
                g = captured[t.grad_fn]
                t.grad = g if t.grad is None else t.grad + g


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (``.grad`` is untouched).

    Example:
        >>> x = ts.tensor(3.0, requires_grad=True)
        >>> (dx,) = ts.autograd.grad(x ** 3, x, create_graph=True)
        >>> ts.autograd.grad(dx, x)[0]     # second derivative 6x
        tensor(18.)
    """
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError("grad: requires at least one input tensor")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be tensors, got {type(t).__name__} at position {i}")
        if not t._requires_grad:
            raise RuntimeError(f"grad: one of the differentiated Tensors (input {i}) does not require grad")
    gouts = _as_tuple(grad_outputs) if grad_outputs is not None else None
    if isinstance(grad_outputs, Sequence) and gouts is not None and len(gouts) != len(outs):
        raise RuntimeError(f"grad: grad_outputs has {len(gouts)} elements but there are {len(outs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_root_grads(outs, gouts, "grad")
    leaf_grads, captured = _run(
        outs, roots, retain_graph=retain_graph, create_graph=create_graph, inputs=ins, accumulate=False
    )
    result = []
    for i, t in enumerate(ins):
        if t.grad_fn is not None:
            g = captured.get(t.grad_fn)
        else:
            entry = leaf_grads.get(id(t))
            g = entry[1] if entry is not None else None
            if g is not None and t._hooks:
                for h in t._hooks:
                    r = h(g)
                    if r is not None:
                        g = r
        if g is None:
            if materialize_grads:
                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated Tensors (input {i}) appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


_OPS.backward = backward
