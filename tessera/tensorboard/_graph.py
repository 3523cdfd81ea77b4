"""``add_graph``: trace one forward pass through the op dispatcher into a TensorBoard ``GraphDef``.

Every ``apply`` is recorded (via ``tessera.core.dispatch.intercept``) as a node named by the op,
scoped by the module that ran it (``Net/Linear[fc1]/matmul_0``), with edges from the nodes that produced
its tensor inputs (model inputs, parameters, buffers, constants or earlier ops) and its output shape and
dtype as attributes.
"""

from __future__ import annotations

from ..core import dispatch
from ..core.tensor import Tensor

__all__ = ["trace_graph"]

_DT = {
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "float16": "DT_HALF",
    "bfloat16": "DT_BFLOAT16",
    "int64": "DT_INT64",
    "int32": "DT_INT32",
    "int16": "DT_INT16",
    "int8": "DT_INT8",
    "uint8": "DT_UINT8",
    "bool": "DT_BOOL",
}


def _tensors_in(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _tensors_in(v, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _tensors_in(v, out)
    return out


def _describe_attr(v) -> str:
    if isinstance(v, Tensor):
        return f"Tensor{tuple(v.shape)}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_describe_attr(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    return repr(v)


class _Tracer:
    def __init__(self, model, verbose: bool = False):
        self.model = model
        self.verbose = verbose
        self.nodes = []  # NodeDef protos
        self.names: dict[int, str] = {}  # id(tensor) -> producing node name
        self.keep: list = []  # tensors kept alive so that their ids stay unique during the trace
        self.counts: dict[str, int] = {}
        self.root = type(model).__name__
        self.scope_of: dict[int, str] = {}
        self.stack: list[str] = [self.root]
        self.state_names: dict[int, str] = {}
        self._index_modules()

    # -- naming -----------------------------------------------------------------------------------------
    def _index_modules(self):
        scopes = {"": self.root}
        for path, m in self.model.named_modules():
            if path:
                parent, _, leaf = path.rpartition(".")
                scopes[path] = f"{scopes[parent]}/{type(m).__name__}[{leaf}]"
            self.scope_of.setdefault(id(m), scopes[path])
        self.module_scopes = scopes
        for kind in ("named_parameters", "named_buffers"):
            for name, t in getattr(self.model, kind)():
                if id(t) not in self.state_names:
                    path, _, leaf = name.rpartition(".")
                    self.state_names[id(t)] = f"{scopes.get(path, self.root)}/{leaf}"

    def unique(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return f"{base}_{n}"

    def _shape_attrs(self, t: Tensor) -> dict:
        from tensorboard.compat.proto.attr_value_pb2 import AttrValue
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

        shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in t.shape])
        attrs = {"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=[shape]))}
        dt = _DT.get(t.dtype.name)
        if dt is not None:
            attrs["dtype"] = AttrValue(type=dt)
        return attrs

    def add_node(self, name: str, op: str, inputs: list[str], out: Tensor | None, extra: dict | None = None):
        from tensorboard.compat.proto.attr_value_pb2 import AttrValue
        from tensorboard.compat.proto.node_def_pb2 import NodeDef

        attr = self._shape_attrs(out) if out is not None else {}
        for k, v in (extra or {}).items():
            attr[k] = AttrValue(s=v.encode("utf-8"))
        self.nodes.append(NodeDef(name=name, op=op, input=inputs, device="/device:CPU:0", attr=attr))
        if out is not None:
            self.names[id(out)] = name
            self.keep.append(out)
        if self.verbose:
            print(f"{name} = {op}({', '.join(inputs)})")

    def source(self, t: Tensor) -> str:
        """The node producing ``t``: an earlier op, an input, a parameter/buffer, or a new constant."""
        name = self.names.get(id(t))
        if name is not None:
            return name
        if id(t) not in self.state_names:
            self._index_modules()  # Keras-style layers create their weights during the first call
        state = self.state_names.get(id(t))
        if state is not None:
            self.add_node(state, "Parameter", [], t)
            return state
        name = self.unique(f"{self.stack[-1]}/constant")
        self.add_node(name, "Constant", [], t)
        return name

    # -- tracing ----------------------------------------------------------------------------------------
    def record(self, call):
        """Interceptor: add one node per op application."""
        op, args, attrs = call.op, call.args, call.attrs
        inputs = [self.source(t) for t in _tensors_in(args, [])]
        out = call.proceed()
        extra = {}
        consts = [_describe_attr(a) for a in args if not isinstance(a, Tensor)]
        if consts:
            extra["args"] = ", ".join(consts)
        if attrs:
            extra["attrs"] = ", ".join(f"{k}={_describe_attr(v)}" for k, v in attrs.items())
        self.add_node(self.unique(f"{self.stack[-1]}/{op.name}"), op.name, inputs, out, extra)
        return out

    def run(self, inputs: tuple):
        from ..core.grad_mode import no_grad

        for i, t in enumerate(_tensors_in(inputs, [])):
            if id(t) not in self.names:
                self.add_node(f"input/input.{i}", "IO Node", [], t)
        handles = []

        def pre(module, args):
            self.stack.append(self.scope_of.get(id(module)) or f"{self.stack[-1]}/{type(module).__name__}")

        def post(module, args, out):
            if len(self.stack) > 1:
                self.stack.pop()

        for m in self.model.modules():
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post))
        try:
            with no_grad(), dispatch.intercept(self.record, tracing=False):
                out = self.model(*inputs)
        finally:
            for h in handles:
                h.remove()
        for i, t in enumerate(_tensors_in(out, [])):
            self.add_node(f"output/output.{i}", "IO Node", [self.source(t)], t)
        return out


def trace_graph(model, input_to_model, verbose: bool = False):
    """Run ``model`` once on ``input_to_model`` (a tensor or a tuple/list of tensors) and return the
    ``GraphDef`` of the ops it applied."""
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.versions_pb2 import VersionDef

    if not callable(model):
        raise TypeError(f"add_graph: model must be a callable Module, got {type(model).__name__}")
    if input_to_model is None:
        raise ValueError("add_graph: input_to_model is required (the graph is traced from one forward pass)")
    inputs = tuple(input_to_model) if isinstance(input_to_model, (list, tuple)) else (input_to_model,)
    if not hasattr(model, "named_modules"):
        raise TypeError(f"add_graph: model must be a ts.nn.Module, got {type(model).__name__}")
    if getattr(model, "built", True) is False and hasattr(model, "build"):
        # Keras-style models create their weights on the first call: build first, so that the trace shows
        # one clean forward pass rather than the build.
        shapes = [tuple(t.shape) for t in inputs]
        model.build(shapes[0] if len(shapes) == 1 else shapes)
    tracer = _Tracer(model, verbose)
    tracer.run(inputs)
    return GraphDef(node=tracer.nodes, versions=VersionDef(producer=22))
