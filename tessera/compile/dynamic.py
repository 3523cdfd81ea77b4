"""Symbolic sizes: one graph for every size of a dimension that varies between calls.

Tracing records concrete sizes. When a second call traces the same program with other sizes along some
argument dimensions, the two captures are unified node by node: every integer that differs (a value's
dimension, a reshape target, a slice bound, a scalar such as ``1/n`` of a mean's gradient) is fitted as an
expression of the varying dimensions (``s0``, ``4*s0``, ``s0*s1``, ``s0-1``, ``1/s0``), and every constant
made from host data that differs must be a fill or an ``arange`` of such a size. If anything else differs,
the program is not size-generic and the versions stay concrete. Sizes 0 and 1 are never symbolic (as in
PyTorch: broadcasting treats them differently). A symbolic capture is instantiated for each size seen, which
only evaluates the expressions (checked against the registry's shape rules) before the usual passes.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.dispatch import REGISTRY, TensorMeta, infer_meta
from .ir import Graph, Value

__all__ = [
    "Sym",
    "NoUnify",
    "unify",
    "instantiate",
    "instantiate_capture",
    "symbols_of",
    "is_offset",
    "same_capture",
]


class NoUnify(Exception):
    """Two traces that are not one program over different sizes (the message says where they differ)."""


class Sym:
    """``coef * s_a * s_b ... + const`` (an integer size), or ``coef / (s_a ...)`` when ``recip`` (a
    float such as a mean's ``1/n``), over the symbolic dimensions ``s0, s1, ...``."""

    __slots__ = ("coef", "syms", "const", "recip")

    def __init__(self, coef, syms, const=0, recip=False):
        self.coef, self.syms, self.const, self.recip = coef, tuple(syms), const, recip

    def eval(self, sizes):
        p = 1
        for s in self.syms:
            p *= sizes[s]
        if self.recip:
            return self.coef / p
        return self.coef * p + self.const

    def __eq__(self, other):
        return isinstance(other, Sym) and (self.coef, self.syms, self.const, self.recip) == (
            other.coef, other.syms, other.const, other.recip)  # fmt: skip

    def __hash__(self):
        return hash((self.coef, self.syms, self.const, self.recip))

    def __repr__(self):
        prod = "*".join(f"s{s}" for s in self.syms)
        if self.recip:
            return f"{self.coef!r}/{prod if len(self.syms) == 1 else '(' + prod + ')'}"
        text = prod if self.coef == 1 else f"{self.coef}*{prod}"
        if self.const:
            text += f"{'+' if self.const > 0 else '-'}{abs(self.const)}"
        return text


def symbols_of(shapes1, shapes2):
    """The symbolic dimensions between two calls' argument shapes: ``[(n1, n2)]`` per symbol and, per
    symbol, the ``(argument, dim)`` places that carry it. Places with the same pair of sizes share a
    symbol (replay checks that they still agree)."""
    pairs, places = [], []
    for i, (a, b) in enumerate(zip(shapes1, shapes2)):
        if len(a) != len(b):
            raise NoUnify(f"argument {i} changed rank ({len(a)} -> {len(b)})")
        for d, (x, y) in enumerate(zip(a, b)):
            if x == y:
                continue
            if min(x, y) < 2:
                raise NoUnify(f"argument {i} dim {d} went {x} -> {y} (sizes 0 and 1 stay specialized)")
            if (x, y) in pairs:
                places[pairs.index((x, y))].append((i, d))
            else:
                pairs.append((x, y))
                places.append([(i, d)])
    if not pairs:
        raise NoUnify("no argument dimension changed")
    return pairs, places


def _fit_int(a, b, pairs):
    cands = []
    for s, (n1, n2) in enumerate(pairs):
        da, dn = b - a, n2 - n1
        if da % dn == 0:
            k = da // dn
            if k != 0 and a == k * n1:
                cands.append(Sym(k, (s,)))
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        raise NoUnify(f"{a} -> {b} fits more than one varying dimension")
    for s in range(len(pairs)):
        for t in range(s, len(pairs)):
            p1, p2 = pairs[s][0] * pairs[t][0], pairs[s][1] * pairs[t][1]
            if a % p1 == 0 and b % p2 == 0 and a // p1 == b // p2:
                cands.append(Sym(a // p1, (s, t)))
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        raise NoUnify(f"{a} -> {b} fits more than one product of varying dimensions")
    for s, (n1, n2) in enumerate(pairs):
        if b - a == n2 - n1:
            cands.append(Sym(1, (s,), a - n1))
    if len(cands) == 1:
        return cands[0]
    raise NoUnify(f"{a} -> {b} is not a size expression of the varying dimensions")


def _fit_float(a, b, pairs):
    if not pairs and math.isclose(a, b, rel_tol=1e-12):
        return a  # comparing an instance with a trace: equal up to rounding
    for s, (n1, n2) in enumerate(pairs):
        c1, c2 = a * n1, b * n2
        if math.isclose(c1, c2, rel_tol=1e-12):
            r = round(c1)
            return Sym(r if math.isclose(r, c1, rel_tol=1e-12) else c1, (s,), recip=True)
    raise NoUnify(f"{a!r} -> {b!r} is not (constant / a varying dimension)")


def _fit(a, b, pairs):
    """``a`` (first trace) and ``b`` (second) as one static value or size expression."""
    if type(a) is not type(b):
        raise NoUnify(f"{a!r} -> {b!r}")
    if isinstance(a, (tuple, list)):
        if len(a) != len(b):
            raise NoUnify(f"{a!r} -> {b!r}")
        return type(a)(_fit(x, y, pairs) for x, y in zip(a, b))
    if isinstance(a, slice):
        return slice(_fit(a.start, b.start, pairs), _fit(a.stop, b.stop, pairs), _fit(a.step, b.step, pairs))
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return a
    try:
        if a == b:
            return a
    except (TypeError, ValueError):
        pass
    if type(a) is int:
        return _fit_int(a, b, pairs)
    if type(a) is float:
        return _fit_float(a, b, pairs)
    raise NoUnify(f"{a!r} -> {b!r}")


def _eval(x, sizes):
    if isinstance(x, Sym):
        return x.eval(sizes)
    if isinstance(x, (tuple, list)):
        return type(x)(_eval(y, sizes) for y in x)
    if isinstance(x, slice):
        return slice(_eval(x.start, sizes), _eval(x.stop, sizes), _eval(x.step, sizes))
    return x


class _Const:
    """A constant made from host data whose size varies: ``np.full`` or ``np.arange`` of a fitted shape."""

    __slots__ = ("kind", "value", "dtype", "shape")

    def __init__(self, kind, value, dtype, shape):
        self.kind, self.value, self.dtype, self.shape = kind, value, dtype, shape

    def make(self, sizes):
        shape = _eval(self.shape, sizes)
        if self.kind == "full":
            return np.full(shape, self.value, self.dtype)
        return np.arange(shape[0], dtype=self.dtype)


def _fit_const(a, b, pairs, where):
    if a.dtype != b.dtype:
        raise NoUnify(f"{where}: dtype {a.dtype} -> {b.dtype}")
    if a.shape == b.shape:
        if np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            return a
        raise NoUnify(f"{where}: its values changed")
    shape = _fit(tuple(a.shape), tuple(b.shape), pairs)
    if a.size and b.size and (a == a.flat[0]).all() and (b == b.flat[0]).all() and a.flat[0] == b.flat[0]:
        return _Const("full", a.flat[0], a.dtype, shape)
    if a.ndim == 1 and np.array_equal(a, np.arange(a.size)) and np.array_equal(b, np.arange(b.size)):
        return _Const("arange", None, a.dtype, shape)
    raise NoUnify(
        f"{where}: a tensor made from host data changes with the size, and is not a fill or an arange"
    )


def _unify_graphs(g1: Graph, g2: Graph, pairs, what) -> Graph:
    if (
        len(g1.nodes) != len(g2.nodes)
        or len(g1.inputs) != len(g2.inputs)
        or len(g1.outputs) != len(g2.outputs)
    ):
        raise NoUnify(f"the {what} graphs differ in size ({len(g1.nodes)} and {len(g2.nodes)} nodes)")
    g = Graph()
    g._next = g1._next
    vmap: dict[int, Value] = {}

    def value(v1, v2, **kw):
        if v1.dtype is not v2.dtype or v1.kind != v2.kind:
            raise NoUnify(f"%{v1.id}: {v1.type_str()} -> {v2.type_str()}")
        shape = _fit(tuple(v1.shape), tuple(v2.shape), pairs)
        v = Value(v1.id, shape, v1.dtype, v1.kind, name=v1.name, **kw)
        vmap[v1.id] = v
        return v

    def ref(a1, a2, where):
        if isinstance(a1, Value) != isinstance(a2, Value):
            raise NoUnify(f"{where}: {a1!r} -> {a2!r}")
        if isinstance(a1, Value):
            v = vmap.get(a1.id)
            if v is None or g2_pos.get(a2.id) != g1_pos.get(a1.id):
                raise NoUnify(f"{where}: its inputs come from other values")
            return v
        return _fit(a1, a2, pairs)

    g1_pos, g2_pos = {}, {}
    for k, (v1, v2) in enumerate(zip(g1.inputs, g2.inputs)):
        g1_pos[v1.id] = g2_pos[v2.id] = ("in", k)
        g.inputs.append(value(v1, v2))
    for j, (n1, n2) in enumerate(zip(g1.nodes, g2.nodes)):
        where = f"node {j} ({n1.op} at {n1.loc or '<unknown>'})"
        if (n1.op, n1.writes, n1.into, len(n1.inputs), len(n1.outputs), tuple(n1.attrs)) != (
            n2.op, n2.writes, n2.into, len(n2.inputs), len(n2.outputs), tuple(n2.attrs)):  # fmt: skip
            raise NoUnify(f"{where}: {n2.op} in the other trace")
        try:
            inputs = [ref(a1, a2, where) for a1, a2 in zip(n1.inputs, n2.inputs)]
            attrs = {k: _fit(n1.attrs[k], n2.attrs[k], pairs) for k in n1.attrs}
        except NoUnify as e:
            raise NoUnify(f"{where}: {e}") from None
        node = _node_like(n1, inputs, attrs)
        for o, (o1, o2) in enumerate(zip(n1.outputs, n2.outputs)):
            g1_pos[o1.id] = g2_pos[o2.id] = ("node", j, o)
            node.outputs.append(value(o1, o2, node=node))
        g.nodes.append(node)
    for o1, o2 in zip(g1.outputs, g2.outputs):
        g.outputs.append(ref(o1, o2, f"the {what} graph's outputs"))
    return g


def _node_like(n, inputs, attrs):
    from .ir import Node

    return Node(n.op, inputs, attrs, [], n.writes, n.into, n.loc)


def _same_state(s1, s2) -> bool:
    return len(s1) == len(s2) and all(a[0] == b[0] and a[1] is b[1] for a, b in zip(s1, s2))


def unify(cap1, cap2, pairs):
    """The symbolic ``Capture`` of which ``cap1`` and ``cap2`` are instances, or ``NoUnify``."""
    from .backend import Capture

    if cap1.n_args != cap2.n_args or not _same_state(cap1.state, cap2.state):
        raise NoUnify("the traces read other state")
    if len(cap1.consts) != len(cap2.consts) or (cap1.backward is None) != (cap2.backward is None):
        raise NoUnify("the traces differ in constants or in whether a backward is captured")
    graph = _unify_graphs(cap1.graph, cap2.graph, pairs, "forward")
    consts = [
        _fit_const(a, b, pairs, f"constant {k}") for k, (a, b) in enumerate(zip(cap1.consts, cap2.consts))
    ]
    backward = None
    if cap1.backward is not None:
        b1, b2 = cap1.backward, cap2.backward
        for k in ("n_args", "n_saved", "state", "diff", "grad_slots", "out_index", "first_saved"):
            if k in ("state", "diff"):
                same = _same_state(b1[k], b2[k])
            else:
                same = b1[k] == b2[k]
            if not same:
                raise NoUnify(f"the backward graphs differ ({k})")
        if len(b1["consts"]) != len(b2["consts"]):
            raise NoUnify("the backward graphs differ in constants")
        backward = dict(b1, graph=_unify_graphs(b1["graph"], b2["graph"], pairs, "backward"),
                        consts=[_fit_const(a, b, pairs, f"backward constant {k}")
                                for k, (a, b) in enumerate(zip(b1["consts"], b2["consts"]))])  # fmt: skip
    return Capture(graph, cap1.n_args, cap1.state, consts, backward)


def instantiate(graph: Graph, sizes: dict, *, check: bool = False) -> Graph:
    """A concrete copy of ``graph`` with its size expressions evaluated for ``sizes`` (``{}`` copies a
    concrete graph). ``check``: verify every output shape with the op's shape rule."""
    g = Graph()
    g._next = graph._next
    vmap: dict[int, Value] = {}

    def value(v, node=None):
        nv = Value(v.id, _eval(v.shape, sizes), v.dtype, v.kind, node, v.name)
        vmap[v.id] = nv
        return nv

    g.inputs = [value(v) for v in graph.inputs]
    for n in graph.nodes:
        inputs = [vmap[a.id] if isinstance(a, Value) else _eval(a, sizes) for a in n.inputs]
        node = _node_like(n, inputs, {k: _eval(v, sizes) for k, v in n.attrs.items()})
        node.outputs = [value(o, node) for o in n.outputs]
        if check:
            _check_shapes(node)
        g.nodes.append(node)
    g.outputs = [vmap[v.id] for v in graph.outputs]
    return g


def _check_shapes(node):
    op = REGISTRY[node.op]
    if op.shape_rule is None or node.writes or node.into or len(node.outputs) != 1:
        return
    args = tuple(TensorMeta(a.shape, a.dtype) if isinstance(a, Value) else a for a in node.inputs)
    meta = infer_meta(op, args, node.attrs)
    if tuple(meta.shape) != tuple(node.outputs[0].shape):
        raise NoUnify(f"{node.op} at {node.loc}: the shape rule gives {tuple(meta.shape)}, "
                      f"the symbolic graph {tuple(node.outputs[0].shape)}")  # fmt: skip


def instantiate_capture(cap, sizes: dict, *, check: bool = False):
    """A concrete copy of a ``Capture`` (graphs and constants) for ``sizes``."""
    from .backend import Capture

    consts = [c.make(sizes) if isinstance(c, _Const) else c for c in cap.consts]
    backward = None
    if cap.backward is not None:
        b = cap.backward
        backward = dict(b, graph=instantiate(b["graph"], sizes, check=check),
                        consts=[c.make(sizes) if isinstance(c, _Const) else c for c in b["consts"]])  # fmt: skip
    return Capture(instantiate(cap.graph, sizes, check=check), cap.n_args, cap.state, consts, backward)


def _walk(x):
    if isinstance(x, Sym):
        yield x
    elif isinstance(x, (tuple, list)):
        for y in x:
            yield from _walk(y)
    elif isinstance(x, slice):
        yield from _walk((x.start, x.stop, x.step))
    elif isinstance(x, _Const):
        yield from _walk(x.shape)


def is_offset(cap) -> bool:
    """Whether ``cap`` has a size fitted as ``s + c``: two points fit such a line by chance more easily than
    a multiple or a product, so the caller confirms it against a third trace."""
    graphs = [cap.graph] + ([cap.backward["graph"]] if cap.backward is not None else [])
    consts = list(cap.consts) + (list(cap.backward["consts"]) if cap.backward is not None else [])
    items = list(consts)
    for g in graphs:
        items += [v.shape for v in g.inputs]
        for n in g.nodes:
            items += [n.inputs, list(n.attrs.values()), [o.shape for o in n.outputs]]
    return any(s.const for s in _walk(items))


def same_capture(cap1, cap2) -> bool:
    """Whether two concrete captures are the same program (a symbolic instance against a trace)."""
    try:
        unify(cap1, cap2, [])
    except NoUnify:
        return False
    return True
