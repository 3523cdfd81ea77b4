"""The graph builder that ONNX lowerings (registered beside each op with ``OpDef.defonnx``) write into.

A lowering is ``fn(g, *inputs, **attrs) -> name`` (or a tuple of names): ``inputs`` are ONNX value names
(``str``) for tensors and Python scalars/None otherwise, ``attrs`` the IR node's attributes. ``g`` emits ONNX
nodes (``g.op``), constants (``g.const``/``g.ints``), and knows each value's traced shape and dtype
(``g.shape``/``g.dtype``) and which of its dims are dynamic (``g.dyn``).
"""

from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import TensorMeta, promotion_target

__all__ = ["GraphBuilder", "UnsupportedOp", "onnx_dtype", "INT64_MAX"]

INT64_MAX = np.iinfo(np.int64).max


_OUT_DTYPE = {
    **dict.fromkeys(
        ("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Xor", "IsNaN"),
        _dt.bool,
    ),
    **dict.fromkeys(("Shape", "ArgMax", "ArgMin", "Size"), _dt.int64),
}


class UnsupportedOp(RuntimeError):
    """Raised when an op has no ONNX lowering (or one of its attribute values cannot be expressed)."""


def onnx_dtype(dtype) -> int:
    """The ``onnx.TensorProto`` element type of a Tessera dtype."""
    from onnx import helper

    npd = np.dtype(dtype.np) if dtype.name != "bfloat16" else None
    if npd is None:
        from onnx import TensorProto

        return TensorProto.BFLOAT16
    return helper.np_dtype_to_tensor_dtype(npd)


class GraphBuilder:
    """Collects ONNX nodes and initializers while the exporter walks an IR graph."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.metas: dict[str, TensorMeta] = {}
        self.dyns: dict[str, frozenset] = {}
        self._n = 0
        self._dtypes: dict = {}  # dtype of values made inside lowerings (their shapes are not tracked)
        self.node = None  # the IR node being lowered (its ``loc`` names the user's line)
        self.alt_attrs: dict = {}  # that node's attributes in the trace at other dynamic sizes
        self.alt_shapes: dict[str, tuple] = {}  # value name -> its shape in that trace

    # -- names and metadata --------------------------------------------------------------------------------
    def fresh(self, hint: str = "t") -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def shape(self, name: str) -> tuple:
        """The traced shape of value ``name``."""
        return self.metas[name].shape

    def dtype(self, name: str):
        """The Tessera dtype of value ``name`` (also known for the values lowerings made themselves)."""
        m = self.metas.get(name)
        return m.dtype if m is not None else self._dtypes[name]

    def ndim(self, name: str) -> int:
        return len(self.metas[name].shape)

    def dyn(self, name: str) -> frozenset:
        """The dims of ``name`` whose size follows a dynamic axis."""
        return self.dyns.get(name, frozenset())

    def set_meta(self, name: str, shape, dtype, dyn=frozenset()) -> None:
        self.metas[name] = TensorMeta(shape, dtype)
        self.dyns[name] = frozenset(dyn)

    def fail(self, why: str):
        """Raise ``UnsupportedOp`` for the node being lowered, naming it and the user's line."""
        op = self.node.op if self.node is not None else "?"
        loc = (self.node.loc if self.node is not None else None) or "<unknown location>"
        raise UnsupportedOp(f"ts.onnx.export: op {op!r} (called at {loc}) cannot be exported: {why}")

    # -- emitting --------------------------------------------------------------------------------------------
    def op(self, op_type: str, *inputs, outputs: int = 1, **attrs):
        """Emit one ONNX node; ``None`` inputs become empty (omitted optional) inputs. Returns the output
        name (or a tuple when ``outputs > 1``)."""
        from onnx import helper

        names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        ins = ["" if i is None else i for i in inputs]
        while ins and ins[-1] == "":
            ins.pop()
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, ins, names, **attrs))
        dt = _OUT_DTYPE.get(op_type)
        if dt is None and op_type == "Cast":
            dt = _dt._FROM_NP[helper.tensor_dtype_to_np_dtype(attrs["to"])]
        if dt is None:
            src = ins[1] if op_type == "Where" else (ins[0] if ins else "")
            dt = self.metas[src].dtype if src in self.metas else self._dtypes.get(src)
        if dt is not None:
            self._dtypes[names[0]] = dt
        return names[0] if outputs == 1 else tuple(names)

    def const(self, value, dtype=None) -> str:
        """An initializer holding ``value`` (array or scalar) as Tessera ``dtype`` (default: its own)."""
        from onnx import numpy_helper

        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype.np)
        name = self.fresh("const")
        self.initializers.append(numpy_helper.from_array(arr, name))
        self.set_meta(name, arr.shape, _dt._FROM_NP[arr.dtype])
        return name

    def ints(self, values) -> str:
        """A 1-D int64 initializer (shapes, axes, starts...)."""
        return self.const(np.asarray(list(values), dtype=np.int64))

    def cast(self, name: str, dtype) -> str:
        """``name`` converted to Tessera ``dtype`` (itself when it already is)."""
        if (name in self.metas or name in self._dtypes) and self.dtype(name) is dtype:
            return name
        return self.op("Cast", name, to=onnx_dtype(dtype))

    def tensor(self, x, dtype) -> str:
        """A tensor input as ``dtype``, or a Python scalar as a 0-d constant of ``dtype``."""
        if isinstance(x, str):
            return self.cast(x, dtype)
        if x is None:
            self.fail("a required input is None")
        return self.const(np.asarray(x).astype(dtype.np))

    def promoted(self, opname: str, *inputs) -> list:
        """``inputs`` cast to the dtype the registry op ``opname`` computes in (PyTorch promotion)."""
        from ..core.dispatch import REGISTRY

        metas = [self.metas[i] if isinstance(i, str) else i for i in inputs]
        target = promotion_target(REGISTRY[opname], tuple(metas))
        return [self.tensor(i, target) for i in inputs]

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """A ``Reduce*`` node over ``axes`` (None: all), as the opset takes them (attribute or input)."""
        if axes is None:
            return self.op(op_type, x, keepdims=int(keepdims))
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.ints(axes), keepdims=int(keepdims))
        return self.op(op_type, x, axes=axes, keepdims=int(keepdims))

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", x, self.ints(axes))

    def squeeze(self, x: str, axes) -> str:
        return self.op("Squeeze", x, self.ints(axes))

    def shape_target(self, x: str, shape, alt_shape) -> list:
        """A reshape/expand target for input ``x`` that holds for every size of the dynamic axes: dims that
        differ between the two traces become 0 (copy the input's dim) where the input has the same dynamic
        dim at that position, and at most one other becomes -1."""
        shape = list(shape)
        if alt_shape is None or tuple(alt_shape) == tuple(shape):
            return shape
        alt_in = self.alt_shapes.get(x)
        varying = [i for i, (a, b) in enumerate(zip(shape, alt_shape)) if a != b]
        rest = []
        xin = self.shape(x)
        for i in varying:
            if alt_in is not None and i < len(xin) and xin[i] == shape[i] and alt_in[i] == alt_shape[i]:
                shape[i] = 0
            else:
                rest.append(i)
        if len(rest) > 1 or (rest and -1 in shape):
            self.fail(f"the target shape {tuple(shape)} has several dims that follow the dynamic axes")
        for i in rest:
            shape[i] = -1
        return shape
