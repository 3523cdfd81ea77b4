"""The JSON form of an exported graph, which may hold symbolic sizes, and its strict reader.

It is the compiler IR's JSON form (``Graph.to_json``) extended with one tag: a size expression of the
program's symbolic dimensions, ``{"sym": [coef, [symbol indices], const, recip]}`` (``dynamic.Sym``),
wherever the IR allows an integer (a value's dimension, an attribute, a scalar input). Reading checks every
op against the registry, every value reference, every attribute tag and every symbol index; nothing read
is ever executed or unpickled.
"""

from __future__ import annotations

import keyword
import math
import re

from ..compile import ir
from ..compile.dynamic import Sym
from ..compile.ir import Graph, IRError, Node, Value
from ..core import dtypes as _dt
from ..core.dispatch import REGISTRY

__all__ = ["graph_to_json", "graph_from_json", "enc", "dec"]

# What a string attribute or scalar input of an op may hold (modes such as "floor", "tanh", "same"; einsum
# equations). The compiler renders attribute names into the plan's Python and lowers string inputs into C
# expressions, so a file must not be able to smuggle code through either.
_SAFE_STR = re.compile(r"[A-Za-z0-9_.,>\s-]*\Z")


def enc(v):
    """An attribute, scalar input or size as JSON (``ir``'s tags plus ``sym``)."""
    if isinstance(v, Sym):
        coef = v.coef if not isinstance(v.coef, float) or math.isfinite(v.coef) else None
        if coef is None:
            raise IRError("a size expression with a non-finite coefficient cannot be serialized")
        return {"sym": [coef, list(v.syms), v.const, bool(v.recip)]}
    if isinstance(v, tuple):
        return {"tuple": [enc(x) for x in v]}
    if isinstance(v, slice):
        return {"slice": [enc(v.start), enc(v.stop), enc(v.step)]}
    return ir._enc(v)


def dec(v, n_symbols: int):
    """The inverse of ``enc``; symbol indices must be below ``n_symbols``."""
    if isinstance(v, dict) and "sym" in v:
        body = v["sym"]
        if not (isinstance(body, list) and len(body) == 4):
            raise IRError("malformed graph JSON: bad size expression")
        coef, syms, const, recip = body
        ok = (
            isinstance(coef, (int, float))
            and not isinstance(coef, bool)
            and isinstance(syms, list)
            and syms
            and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < n_symbols for s in syms)
            and isinstance(const, int)
            and not isinstance(const, bool)
            and isinstance(recip, bool)
        )
        if not ok:
            raise IRError(f"malformed graph JSON: bad size expression {body!r}")
        return Sym(coef, syms, const, recip)
    if isinstance(v, dict) and "tuple" in v:
        if not isinstance(v["tuple"], list):
            raise IRError("malformed graph JSON: bad tuple")
        return tuple(dec(x, n_symbols) for x in v["tuple"])
    if isinstance(v, dict) and "slice" in v:
        parts = v["slice"]
        if not (isinstance(parts, list) and len(parts) == 3):
            raise IRError("malformed graph JSON: bad slice")
        return slice(*(dec(x, n_symbols) for x in parts))
    if isinstance(v, str) and not _SAFE_STR.match(v):
        raise IRError(f"malformed graph JSON: the string {v[:40]!r} is not one an op takes")
    return ir._dec(v)


def _attr_name(k) -> str:
    if not isinstance(k, str) or not k.isidentifier() or keyword.iskeyword(k):
        raise IRError(f"malformed graph JSON: bad attribute name {str(k)[:40]!r}")
    return k


def _shape_json(shape):
    return [d if isinstance(d, int) else enc(d) for d in shape]


def _value_json(v: Value) -> dict:
    return {"id": v.id, "shape": _shape_json(v.shape), "dtype": v.dtype.name}


def graph_to_json(g: Graph) -> dict:
    """``g`` (inputs, nodes, outputs; sizes may be symbolic) as a JSON-serializable dict."""
    return {
        "format": ir.FORMAT_VERSION,
        "inputs": [_value_json(v) | {"kind": v.kind, "name": v.name} for v in g.inputs],
        "nodes": [
            {
                "op": n.op,
                "inputs": [{"v": a.id} if isinstance(a, Value) else {"c": enc(a)} for a in n.inputs],
                "attrs": {k: enc(v) for k, v in n.attrs.items()},
                "outputs": [_value_json(v) for v in n.outputs],
                "writes": list(n.writes),
                "into": n.into,
            }
            for n in g.nodes
        ],
        "outputs": [v.id for v in g.outputs],
    }


def graph_from_json(data, n_symbols: int) -> Graph:
    """Rebuild a graph from ``graph_to_json``'s dict; ``IRError`` for anything malformed."""
    try:
        return _from_json(data, n_symbols)
    except IRError:
        raise
    except RecursionError:
        raise IRError("malformed graph JSON: nested too deeply") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise IRError(f"malformed graph JSON: {type(e).__name__}: {e}") from None


def _from_json(data, n_symbols):
    if not isinstance(data, dict):
        raise IRError("malformed graph JSON: not an object")
    fmt = data.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise IRError("malformed graph JSON: missing format version")
    if fmt > ir.FORMAT_VERSION:
        raise IRError(
            f"this graph uses IR format {fmt}, newer than this Tessera understands ({ir.FORMAT_VERSION}); "
            "upgrade Tessera"
        )
    g = Graph()
    values: dict[int, Value] = {}

    def make(spec, kind=None, node=None, name=None):
        vid = spec["id"]
        if not isinstance(vid, int) or isinstance(vid, bool) or vid < 0 or vid in values:
            raise IRError(f"malformed graph JSON: duplicate or invalid value id {vid!r}")
        if not isinstance(spec["shape"], list):
            raise IRError(f"malformed graph JSON: bad shape for %{vid}")
        shape = []
        for d in spec["shape"]:
            if isinstance(d, int) and not isinstance(d, bool) and d >= 0:
                shape.append(d)
            elif isinstance(d, dict) and "sym" in d:
                s = dec(d, n_symbols)
                if s.recip:
                    raise IRError(f"malformed graph JSON: a reciprocal size in the shape of %{vid}")
                shape.append(s)
            else:
                raise IRError(f"malformed graph JSON: bad shape {spec['shape']!r} for %{vid}")
        if not isinstance(spec["dtype"], str):
            raise IRError(f"malformed graph JSON: bad dtype for %{vid}")
        v = Value(vid, tuple(shape), _dt.as_dtype(spec["dtype"]), kind, node, name)
        values[vid] = v
        g._next = max(g._next, vid + 1)
        return v

    for spec in data["inputs"]:
        if spec.get("kind") not in ("arg", "state", "const"):
            raise IRError(f"malformed graph JSON: unknown input kind {spec.get('kind')!r}")
        name = spec.get("name")
        if name is not None and not isinstance(name, str):
            raise IRError("malformed graph JSON: bad input name")
        g.inputs.append(make(spec, spec["kind"], name=name))
    for nd in data["nodes"]:
        op = nd["op"]
        if not isinstance(op, str) or op not in REGISTRY:
            raise IRError(f"the program uses the op {op!r}, which this Tessera does not have")
        ins = []
        for a in nd["inputs"]:
            if "v" in a:
                if not isinstance(a["v"], int) or a["v"] not in values:
                    raise IRError(f"node {op}: input %{a['v']} is not defined before use")
                ins.append(values[a["v"]])
            else:
                ins.append(dec(a["c"], n_symbols))
        writes = tuple(nd.get("writes", ()))
        if any(
            not isinstance(i, int) or not 0 <= i < len(ins) or not isinstance(ins[i], Value) for i in writes
        ):
            raise IRError(f"node {op}: bad writes {list(writes)}")
        into = nd.get("into", False)
        if not isinstance(into, bool) or (into and not ins):
            raise IRError(f"node {op}: bad 'into' flag")
        if not isinstance(nd["attrs"], dict):
            raise IRError(f"node {op}: attributes are not an object")
        node = Node(
            op, ins, {_attr_name(k): dec(v, n_symbols) for k, v in nd["attrs"].items()}, [], writes, into
        )
        node.outputs = [make(s, node=node) for s in nd["outputs"]]
        if not node.outputs:
            raise IRError(f"node {op}: no outputs")
        g.nodes.append(node)
    for vid in data["outputs"]:
        if not isinstance(vid, int) or vid not in values:
            raise IRError(f"graph output %{vid} is not defined")
        g.outputs.append(values[vid])
    return g
