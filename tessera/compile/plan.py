"""Execution plans: a graph (after the passes) turned into one generated Python function.

Each node becomes one line that calls the op's NumPy forward (with the dtype promotion ``apply`` would do,
resolved once here), or a fused native kernel from ``codegen_c``. Values are local variables, so running a
plan costs one Python call per step and no dictionary traffic. In-place nodes run in place on the very
buffers they write (parameters, gradients, optimizer state): those are the writebacks.

The NumPy rendering of every node is also the oracle for the native kernels (``TESSERA_COMPILER=numpy``).
"""

from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import REGISTRY, TensorMeta, convert_scalar, promotion_target
from .ir import Graph, Value

__all__ = ["build_plan"]


def _node_args(node, names, consts):
    """Argument expressions of ``node`` for its forward: promoted as ``apply`` promotes them."""
    op = REGISTRY[node.op]
    ins = node.inputs[1:] if node.into else node.inputs
    exprs = []
    if node.into or op.mutates:  # these forwards receive their arrays exactly as given
        for a in ins:
            exprs.append(names[a.id] if isinstance(a, Value) else _const(a, consts))
        return exprs
    if op.promote:
        target = promotion_target(
            op, tuple(TensorMeta(a.shape, a.dtype) if isinstance(a, Value) else a for a in ins)
        )
        for a in ins:
            if isinstance(a, Value):
                e = names[a.id]
                if a.dtype is not target:
                    e = f"{e}.astype({_const(target.np, consts)})"
                exprs.append(e)
            elif a.__class__ in (float, int, bool):
                exprs.append(_const(convert_scalar(op, a, target), consts))
            else:
                exprs.append(_const(a, consts))
        return exprs
    for k, a in enumerate(ins):
        if isinstance(a, Value):
            e = names[a.id]
            if k == 0 and op.to_float and a.dtype.np.kind not in "fV":
                e = f"{e}.astype({_const(_dt._default_float.np, consts)})"
            exprs.append(e)
        else:
            exprs.append(_const(a, consts))
    return exprs


def _const(value, consts) -> str:
    """A name for ``value`` in the generated function's globals (no value is ever rendered as source)."""
    if value is None or value is True or value is False:
        return repr(value)
    name = f"_c{len(consts)}"
    consts[name] = value
    return name


def build_plan(graph: Graph, kernels=None, *, name="compiled", return_all=False):
    """A Python function ``run(inputs: list[np.ndarray]) -> list[np.ndarray]`` that executes ``graph``.

    ``kernels`` maps the index of a node that starts a fused group to ``(callable, [node indices],
    input values, output values)``: the group runs as one native call; its other nodes emit nothing.
    ``return_all``: return ``{value id: array}`` of every value instead of the outputs.
    """
    kernels = kernels or {}
    consts: dict = {"_np": np, "_asarray": np.asarray, "_copyto": np.copyto}
    names: dict[int, str] = {}
    lines = [f"def {name}(_inputs):"]
    if graph.inputs:
        in_names = [f"v{v.id}" for v in graph.inputs]
        for v, n in zip(graph.inputs, in_names):
            names[v.id] = n
        lines.append(f"    {', '.join(in_names)}{',' if len(in_names) == 1 else ''} = _inputs")
    # a group's other members emit nothing, including one placed before the node that starts it (the
    # transpose a vector-matrix kernel reads through)
    skip = {m for _, members, _, _ in kernels.values() for m in members[1:]}
    for i, node in enumerate(graph.nodes):
        if i in skip:
            continue
        if i in kernels:
            fn, members, k_in, k_out = kernels[i]
            kname = _const(fn, consts)
            for v in k_out:
                names[v.id] = f"v{v.id}"
            outs = ", ".join(names[v.id] for v in k_out)
            args = ", ".join(names[v.id] for v in k_in)
            lines.append(f"    {outs}{',' if len(k_out) == 1 else ''} = {kname}({args})")
            continue
        lines += _node_lines(node, names, consts)
    if return_all:  # every value that exists as an array (mode="check" compares them node by node)
        lines.append("    return {" + ", ".join(f"{vid}: {n}" for vid, n in names.items()) + "}")
    else:
        lines.append(f"    return [{', '.join(names[v.id] for v in graph.outputs)}]")
    src = "\n".join(lines) + "\n"
    env = dict(consts)
    exec(compile(src, f"<tessera plan {name}>", "exec"), env)  # noqa: S102 - source built here from a graph
    fn = env[name]
    fn.source = src
    return fn


def _node_lines(node, names, consts) -> list[str]:
    op = REGISTRY[node.op]
    args = _node_args(node, names, consts)
    for k in node.attrs:  # rendered as keyword names: never anything but an identifier
        if not (isinstance(k, str) and k.isidentifier()):
            raise ValueError(f"{node.op}: attribute name {k!r} is not an identifier")
    kw = "".join(f", {k}={_const(v, consts)}" for k, v in node.attrs.items())
    call_args = ", ".join(args)
    if node.into:
        dst = names[node.inputs[0].id]
        out = node.outputs[0]
        names[out.id] = dst
        if op.inplace_forward is not None:
            f = _const(op.inplace_forward, consts)
            return [f"    {f}({dst}{', ' if call_args else ''}{call_args}{kw})"]
        # computed out of place, then written in place (the cast PyTorch's in-place ops do)
        promoted = _node_args(_as_plain(node), names, consts)
        f = _const(op.forward, consts)
        return [f"    _copyto({dst}, {f}({', '.join(promoted)}{kw}), casting='unsafe')"]
    if op.mutates:
        f = _const(op.forward, consts)
        for k, v in zip(node.writes, node.outputs):
            names[v.id] = names[node.inputs[k].id]
        return [f"    {f}({call_args}{kw})"]
    out = node.outputs[0]
    names[out.id] = f"v{out.id}"
    f = _const(op.forward, consts)
    return [f"    v{out.id} = _asarray({f}({call_args}{kw}))"]


class _PlainView:
    """A node seen without its destination (the out-of-place computation of an in-place call)."""

    __slots__ = ("op", "inputs", "into")

    def __init__(self, node):
        self.op, self.inputs, self.into = node.op, node.inputs[1:], False


def _as_plain(node):
    return _PlainView(node)
