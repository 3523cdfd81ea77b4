"""The compiler's IR: a small typed graph of registry ops, with a stable text form and a JSON form.

A ``Graph`` has inputs (the function's tensor arguments, captured state such as parameters and optimizer
buffers, and constants made from host data), nodes in program order, and outputs. A node is an op name from
the registry, its input values (or Python scalar constants), its static attributes and its output values.
Every value carries its shape and dtype.

State changes stay explicit: a node's ``writes`` lists the inputs whose memory it updates; its outputs are
the new versions of those inputs (an in-place ``add_`` has ``into=True``: its first input is the tensor
written, the rest are the op's arguments). Program order is kept, so a backend may run such nodes in place.
"""

from __future__ import annotations

import json
import keyword
import math

from ..core import dtypes as _dt
from ..core.dispatch import REGISTRY

__all__ = ["Value", "Node", "Graph", "IRError"]

FORMAT_VERSION = 1


class IRError(ValueError):
    """A graph that is malformed: unknown op, dangling value, bad attribute, unreadable JSON."""


class Value:
    """One tensor value: an input (``kind`` "arg", "state" or "const") or the output of ``node``."""

    __slots__ = ("id", "shape", "dtype", "kind", "node", "name")

    def __init__(self, id, shape, dtype, kind=None, node=None, name=None):
        self.id, self.shape, self.dtype, self.kind, self.node, self.name = (
            id,
            tuple(shape),
            dtype,
            kind,
            node,
            name,
        )

    def type_str(self) -> str:
        dims = ",".join(str(d) for d in self.shape)
        return f"{_SHORT.get(self.dtype.name, self.dtype.name)}[{dims}]"

    def __repr__(self):
        return f"%{self.id}:{self.type_str()}"


class Node:
    """One op application. ``inputs`` holds ``Value``s and Python scalars/None; ``loc`` is the user's
    ``file:line`` that made the call (for dumps and error messages)."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "writes", "into", "loc")

    def __init__(self, op, inputs, attrs, outputs, writes=(), into=False, loc=None):
        self.op, self.inputs, self.attrs, self.outputs = op, list(inputs), dict(attrs), list(outputs)
        self.writes, self.into, self.loc = tuple(writes), bool(into), loc

    @property
    def opdef(self):
        return REGISTRY[self.op]

    def values_in(self):
        return [v for v in self.inputs if isinstance(v, Value)]

    def text(self) -> str:
        outs = ", ".join(f"%{v.id}:{v.type_str()}" for v in self.outputs)
        args = ", ".join(_arg_text(a) for a in self.inputs)
        name = self.op + ("_into" if self.into else "")
        line = f"{outs} = {name}({args})"
        if self.attrs:
            line += " {" + ", ".join(f"{k}={_attr_text(v)}" for k, v in self.attrs.items()) + "}"
        if self.writes:
            line += " writes " + ",".join(f"%{self.inputs[i].id}" for i in self.writes)
        if self.loc:
            line += f"  # {self.loc}"
        return line


class Graph:
    """Inputs, nodes in program order, outputs. ``text()`` and ``to_json()`` are stable across runs."""

    def __init__(self):
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []
        self._next = 0

    def new_value(self, shape, dtype, kind=None, node=None, name=None) -> Value:
        v = Value(self._next, shape, dtype, kind, node, name)
        self._next += 1
        return v

    def add_input(self, shape, dtype, kind, name=None) -> Value:
        v = self.new_value(shape, dtype, kind, name=name)
        self.inputs.append(v)
        return v

    def add_node(self, op, inputs, attrs, out_metas, writes=(), into=False, loc=None) -> Node:
        node = Node(op, inputs, attrs, [], writes, into, loc)
        node.outputs = [self.new_value(m.shape, m.dtype, node=node) for m in out_metas]
        self.nodes.append(node)
        return node

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return dict(sorted(counts.items()))

    # -- text form ---------------------------------------------------------------------------------------
    def text(self) -> str:
        lines = []
        for v in self.inputs:
            label = f" {v.name}" if v.name else ""
            lines.append(f"%{v.id}:{v.type_str()} = {v.kind}{label}")
        lines += [n.text() for n in self.nodes]
        lines.append("return " + ", ".join(f"%{v.id}" for v in self.outputs))
        return "\n".join(lines)

    __str__ = text

    # -- JSON form ---------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        """A JSON-serializable dict (ops by registry name, dtypes by name, attributes tagged by type)."""
        return {
            "format": FORMAT_VERSION,
            "inputs": [_value_json(v) | {"kind": v.kind, "name": v.name} for v in self.inputs],
            "nodes": [
                {
                    "op": n.op,
                    "inputs": [{"v": a.id} if isinstance(a, Value) else {"c": _enc(a)} for a in n.inputs],
                    "attrs": {k: _enc(v) for k, v in n.attrs.items()},
                    "outputs": [_value_json(v) for v in n.outputs],
                    "writes": list(n.writes),
                    "into": n.into,
                    "loc": n.loc,
                }
                for n in self.nodes
            ],
            "outputs": [v.id for v in self.outputs],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: dict) -> Graph:
        """Rebuild a graph from ``to_json``'s dict, checking ops, value references and attributes."""
        try:
            return _from_json(cls, data)
        except IRError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise IRError(f"malformed graph JSON: {e}") from None

    @classmethod
    def loads(cls, text: str) -> Graph:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise IRError(f"malformed graph JSON: {e}") from None
        return cls.from_json(data)


_SHORT = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "bfloat16": "bf16",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint8": "u8",
    "bool": "b8",
}


def _arg_text(a) -> str:
    return f"%{a.id}" if isinstance(a, Value) else _attr_text(a)


def _attr_text(v) -> str:
    if isinstance(v, _dt.dtype):
        return v.name
    if isinstance(v, slice):
        return f"{_attr_text(v.start)}:{_attr_text(v.stop)}:{_attr_text(v.step)}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_attr_text(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def _value_json(v: Value) -> dict:
    return {"id": v.id, "shape": list(v.shape), "dtype": v.dtype.name}


def _enc(v):
    """An attribute or scalar constant as JSON, tagged where JSON has no type of its own."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(v, _dt.dtype):
        return {"dtype": v.name}
    if isinstance(v, tuple):
        return {"tuple": [_enc(x) for x in v]}
    if isinstance(v, slice):
        return {"slice": [_enc(v.start), _enc(v.stop), _enc(v.step)]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if hasattr(v, "item") and not hasattr(v, "__len__"):  # NumPy scalar
        return _enc(v.item())
    raise IRError(f"attribute value of type {type(v).__name__} cannot be serialized")


def _dec(v):
    if isinstance(v, list):
        raise IRError("malformed graph JSON: untagged list in an attribute")
    if not isinstance(v, dict):
        return v
    if "float" in v:
        return float(v["float"])
    if "dtype" in v:
        return _dt.as_dtype(v["dtype"])
    if "tuple" in v:
        return tuple(_dec(x) for x in v["tuple"])
    if "slice" in v:
        return slice(*(_dec(x) for x in v["slice"]))
    if "ellipsis" in v:
        return Ellipsis
    raise IRError(f"malformed graph JSON: unknown attribute tag {sorted(v)}")


def _is_attr_name(k) -> bool:
    return isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k)


def _from_json(cls, data):
    if not isinstance(data, dict):
        raise IRError("malformed graph JSON: not an object")
    fmt = data.get("format")
    if not isinstance(fmt, int):
        raise IRError("malformed graph JSON: missing format version")
    if fmt > FORMAT_VERSION:
        raise IRError(
            f"this graph uses IR format {fmt}, newer than this Tessera understands ({FORMAT_VERSION}); "
            "upgrade Tessera"
        )
    g = cls()
    values: dict[int, Value] = {}

    def make(spec, kind=None, node=None, name=None):
        vid = spec["id"]
        if not isinstance(vid, int) or vid in values:
            raise IRError(f"malformed graph JSON: duplicate or invalid value id {vid!r}")
        shape = tuple(spec["shape"])
        if not all((isinstance(d, int) and d >= 0) or isinstance(d, str) for d in shape):
            raise IRError(f"malformed graph JSON: bad shape {list(shape)} for %{vid}")
        v = Value(vid, shape, _dt.as_dtype(spec["dtype"]), kind, node, name)
        values[vid] = v
        g._next = max(g._next, vid + 1)
        return v

    for spec in data["inputs"]:
        if spec.get("kind") not in ("arg", "state", "const", "grad"):
            raise IRError(f"malformed graph JSON: unknown input kind {spec.get('kind')!r}")
        g.inputs.append(make(spec, spec["kind"], name=spec.get("name")))
    for nd in data["nodes"]:
        op = nd["op"]
        if op not in REGISTRY:
            raise IRError(f"graph uses the op {op!r}, which this Tessera does not have")
        ins = []
        for a in nd["inputs"]:
            if "v" in a:
                if a["v"] not in values:
                    raise IRError(f"node {op}: input %{a['v']} is not defined before use")
                ins.append(values[a["v"]])
            else:
                ins.append(_dec(a["c"]))
        writes = tuple(nd.get("writes", ()))
        if any(
            not isinstance(i, int) or not 0 <= i < len(ins) or not isinstance(ins[i], Value) for i in writes
        ):
            raise IRError(f"node {op}: bad writes {list(writes)}")
        attrs = nd["attrs"]
        if not isinstance(attrs, dict) or not all(_is_attr_name(k) for k in attrs):
            # attribute names become keyword arguments of the generated plan: only identifiers are names
            raise IRError(f"node {op}: malformed attribute names {sorted(map(repr, attrs))}")
        loc = nd.get("loc")
        if loc is not None and (not isinstance(loc, str) or not loc.isprintable()):
            raise IRError(f"node {op}: malformed source location {loc!r}")
        node = Node(
            op,
            ins,
            {k: _dec(v) for k, v in attrs.items()},
            [],
            writes,
            nd.get("into", False),
            loc,
        )
        node.outputs = [make(s, node=node) for s in nd["outputs"]]
        g.nodes.append(node)
    for vid in data["outputs"]:
        if vid not in values:
            raise IRError(f"graph output %{vid} is not defined")
        g.outputs.append(values[vid])
    return g
