"""ONNX import: ``load(path_or_model)`` turns an ONNX model into a Tessera ``nn.Module``.

The module runs the ONNX graph node by node with Tessera's registry ops (the handler table lives in
``tessera.onnx._import_ops``), so it runs eagerly, under ``ts.compile`` and differentiably. Float
initializers become trainable ``Parameter``s; integer, boolean and shape constants stay constants.

Example:
    >>> import onnx
    >>> from onnx import TensorProto, helper
    >>> g = helper.make_graph(
    ...     [helper.make_node("Relu", ["x"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    >>> m = load(helper.make_model(g))
    >>> m(ts.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

from __future__ import annotations

import os
import re
import weakref
from typing import Any

import numpy as np

import tessera as ts
from tessera import nn

__all__ = ["OnnxModule", "load"]

_DEFAULT_OPSET = 21

# Host values of tensors known before the graph runs (constant initializers, Constant nodes, Shape
# outputs and what is folded from them): shape arguments are read from here, not from the device, so
# that shape computations stay static (no host read) under ts.compile.
_HOST: dict = {}  # id(tensor) -> (weak reference, array)
_NO_FOLD = {
    "If", "Loop", "Scan", "SequenceMap", "Dropout", "RandomNormal", "RandomUniform", "RandomNormalLike",
    "RandomUniformLike", "Bernoulli", "Multinomial", "Optional", "OptionalHasElement", "OptionalGetElement",
    "SequenceConstruct", "SequenceEmpty", "SequenceInsert", "SequenceAt", "SequenceErase",
    "SequenceLength", "ConcatFromSequence", "SplitToSequence",
}  # fmt: skip
# Inputs read on the host as static arguments (shapes, axes, pads, scales, ...): initializers feeding
# them stay constants even when they are floats (they are not weights).
_R = (1,)
_STATIC_INPUTS = {
    "Reshape": _R, "Expand": _R, "Tile": _R, "Slice": (1, 2, 3, 4), "Pad": (1, 2, 3), "Resize": (1, 2, 3),
    "Upsample": _R, "Squeeze": _R, "Unsqueeze": _R, "TopK": _R, "Split": _R, "CumSum": _R, "CumProd": _R,
    "ConstantOfShape": (0,), "Range": (0, 1, 2), "OneHot": _R, "Trilu": _R, "DFT": (1, 2), "CenterCropPad": _R,
    "Compress": _R, "NonMaxSuppression": (2, 3, 4), "Col2Im": (1, 2), "AffineGrid": _R, "SplitToSequence": _R,
    "MaxUnpool": (2,), "RNN": (4,), "GRU": (4,), "LSTM": (4,), "Dropout": (1, 2), "HannWindow": (0,),
    "HammingWindow": (0,), "BlackmanWindow": (0,), "ReduceSum": _R, "ReduceMean": _R, "ReduceMax": _R,
    "ReduceMin": _R, "ReduceProd": _R, "ReduceSumSquare": _R, "ReduceL1": _R, "ReduceL2": _R,
    "ReduceLogSum": _R, "ReduceLogSumExp": _R, "TensorScatter": (2,), "Loop": (0, 1), "If": (0,),
}  # fmt: skip


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - exercised only without onnx
        raise ImportError("ts.onnx.load: the 'onnx' package is required (pip install onnx)") from exc
    return onnx


def to_tensor(value: Any) -> ts.Tensor:
    """A Tessera tensor holding a NumPy value (a constant: host data entering the graph).

    Types Tessera lacks travel widened (uint16/32/64 as int64; float8/int4 formats as float32).

    Example:
        >>> to_tensor(np.arange(3, dtype=np.uint16)).dtype
        tessera.int64
    """
    if isinstance(value, ts.Tensor):
        return value
    arr = np.asarray(value)
    if arr.dtype == np.uint16 or arr.dtype == np.uint32:
        arr = arr.astype(np.int64)
    elif arr.dtype == np.uint64:
        arr = arr.astype(np.int64)
    elif arr.dtype.name != "bfloat16" and (
        arr.dtype.kind == "V"
        or arr.dtype.name.startswith(("float8", "float4", "int4", "uint4", "int2", "uint2"))
    ):
        arr = arr.astype(np.float32)  # narrow formats (ml_dtypes) travel as float32 values
    elif arr.dtype.kind in "OUS":
        raise TypeError(f"ts.onnx.load: string tensors are not supported (dtype {arr.dtype})")
    return ts.from_numpy(arr if arr.flags.c_contiguous else arr.copy(order="C"))


def host_constant(arr: np.ndarray) -> ts.Tensor:
    """A constant tensor whose host value is remembered (for shape arguments; see ``_HOST``).

    Example:
        >>> host_value(host_constant(np.array([2, 3]))).tolist()
        [2, 3]
    """
    t = to_tensor(arr)
    key = id(t)
    _HOST[key] = (weakref.ref(t, lambda r, k=key: _HOST.pop(k) if _HOST.get(k, (None,))[0] is r else None),
                  np.asarray(arr))  # fmt: skip
    return t


def host_value(t) -> np.ndarray | None:
    """The remembered host value of a constant tensor, or None.

    Example:
        >>> host_value(ts.ones(2)) is None
        True
    """
    entry = _HOST.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def _attr_value(onnx, attr) -> Any:
    v = onnx.helper.get_attribute_value(attr)
    if attr.type == onnx.AttributeProto.TENSOR:
        return onnx.numpy_helper.to_array(v)
    if attr.type == onnx.AttributeProto.STRING:
        return v.decode("utf-8")
    if attr.type == onnx.AttributeProto.STRINGS:
        return [s.decode("utf-8") for s in v]
    return v


class Context:
    """What a handler may consult: the opset, the node, and the graph runner (for subgraphs)."""

    def __init__(self, module: OnnxModule, node, opset: int):
        self.module = module
        self.node = node
        self.opset = opset

    def where(self) -> str:
        name = self.node.name or (self.node.output[0] if self.node.output else "?")
        return f"node {name!r} ({self.node.op_type}, opset {self.opset})"

    def error(self, msg: str) -> ValueError:
        return ValueError(f"ts.onnx.load: {self.where()}: {msg}")

    def run_subgraph(self, graph, env: dict, inputs: list) -> list:
        return self.module._run_graph(graph, env, inputs)


class OnnxModule(nn.Module):
    """A Tessera module running an ONNX graph (built by :func:`load`).

    Call it with the graph inputs (positionally, in graph order, or by name); it returns the one output,
    or a tuple of outputs. ``onnx_params`` maps ONNX initializer names to the module's parameters.

    Example:
        >>> m = load("model.onnx")  # doctest: +SKIP
        >>> y = m(ts.randn(1, 3))  # doctest: +SKIP
    """

    def __init__(self, model, *, trainable: bool = True):
        super().__init__()
        onnx = _onnx()
        from . import _import_ops2  # noqa: F401  (registers its handlers)
        from ._import_ops import HANDLERS

        self._handlers = HANDLERS
        self._model = model
        graph = model.graph
        self._opsets = {(o.domain or "ai.onnx"): o.version for o in model.opset_import}
        self.opset = self._opsets.get("ai.onnx", _DEFAULT_OPSET)
        self._constants: dict[str, ts.Tensor] = {}
        self._fold_cache: dict = {}
        self._attrs: dict = {}  # (op_type, outputs) -> decoded attributes
        self._param_names: dict[str, str] = {}
        static = set()
        for node in _all_nodes(graph):
            for i in _STATIC_INPUTS.get(node.op_type, ()):
                if i < len(node.input) and node.input[i]:
                    static.add(node.input[i])
        for init in graph.initializer:
            arr = onnx.numpy_helper.to_array(init)
            self._add_initializer(init.name, arr, trainable and init.name not in static)
        for sp in graph.sparse_initializer:
            arr = onnx.numpy_helper.to_array(sp)
            self._add_initializer(sp.values.name, arr, trainable and sp.values.name not in static)
        init_names = {i.name for i in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in init_names]
        self.output_names = [o.name for o in graph.output]
        self._input_ranks: dict = {}
        self._input_shapes: dict = {}
        for vi in graph.input:
            tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
            if vi.name in self.input_names and tt is not None and tt.HasField("shape"):
                dims = [
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim
                ]
                self._input_ranks[vi.name] = len(dims)
                self._input_shapes[vi.name] = dims
        known = {"", *self.input_names, *(i.name for i in graph.initializer)}
        known |= {sp.values.name for sp in graph.sparse_initializer}
        for node in graph.node:
            for name in node.input:
                if name not in known:
                    raise ValueError(
                        f"ts.onnx.load: node {node.name or node.output[0]!r} ({node.op_type}): input {name!r} is "
                        "neither a graph input, an initializer nor an earlier node's output"
                    )
            known.update(node.output)
        for node in _all_nodes(graph):
            domain = node.domain or "ai.onnx"
            if domain not in ("ai.onnx", "ai.onnx.ml") or node.op_type not in HANDLERS:
                raise NotImplementedError(
                    f"ts.onnx.load: node {node.name or '?'!r}: op {domain}::{node.op_type} is not supported"
                )

    def output_types(self) -> list:
        """The NumPy element type each graph output declares (None where it is not a plain tensor)."""
        onnx = _onnx()
        out = []
        for o in self._model.graph.output:
            et = o.type.tensor_type.elem_type if o.type.HasField("tensor_type") else 0
            out.append(onnx.helper.tensor_dtype_to_np_dtype(et) if et else None)
        return out

    @property
    def onnx_params(self) -> dict:
        return {k: getattr(self, v) for k, v in self._param_names.items()}

    def _add_initializer(self, name: str, arr: np.ndarray, trainable: bool) -> None:
        if trainable and arr.size and (arr.dtype.kind == "f" or arr.dtype.name == "bfloat16"):
            attr = "p_" + re.sub(r"\W", "_", name)
            while hasattr(self, attr):
                attr += "_"
            self.register_parameter(attr, nn.Parameter(to_tensor(arr.copy())))
            self._param_names[name] = attr
        else:
            self._constants[name] = (host_constant(arr.copy()), arr)

    def _initial_env(self) -> dict:
        env: dict = {"": None}
        for name, (t, _arr) in self._constants.items():
            env[name] = t
        for name, attr in self._param_names.items():
            env[name] = getattr(self, attr)
        return env

    def forward(self, *args, **kwargs):
        graph = self._model.graph
        if len(args) > len(self.input_names):
            raise TypeError(
                f"OnnxModule.forward: the graph has {len(self.input_names)} inputs "
                f"({self.input_names}), got {len(args)} positional arguments"
            )
        feeds = dict(zip(self.input_names, args))
        for k, v in kwargs.items():
            if k not in self.input_names:
                raise TypeError(f"OnnxModule.forward: unknown input {k!r}; inputs are {self.input_names}")
            feeds[k] = v
        missing = [n for n in self.input_names if n not in feeds]
        env = self._initial_env()
        optional_ok = {i.name for i in graph.input if i.name in env}
        missing = [n for n in missing if n not in optional_ok]
        if missing:
            raise TypeError(f"OnnxModule.forward: missing inputs {missing}")
        for k, v in feeds.items():
            if isinstance(v, (list, tuple)):  # an ONNX sequence
                v = [e if isinstance(e, ts.Tensor) else to_tensor(e) for e in v]
            elif not (isinstance(v, ts.Tensor) or v is None):
                v = to_tensor(v)
            rank = self._input_ranks.get(k)
            if isinstance(v, ts.Tensor) and rank is not None and v.ndim != rank:
                raise ValueError(
                    f"OnnxModule.forward: input {k!r} must have rank {rank} "
                    f"(declared shape {self._input_shapes[k]}), got shape {tuple(v.shape)}"
                )
            env[k] = v
        outs = self._exec(graph, env)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _run_graph(self, graph, env: dict, inputs: list) -> list:
        sub = dict(env)
        onnx = _onnx()
        for init in graph.initializer:
            sub[init.name] = host_constant(onnx.numpy_helper.to_array(init))
        for vi, v in zip(graph.input, inputs):
            sub[vi.name] = v
        return self._exec(graph, sub)

    def _exec(self, graph, env: dict) -> list:
        onnx = _onnx()
        for node in graph.node:
            ins = []
            for name in node.input:
                if name not in env:
                    raise ValueError(
                        f"OnnxModule.forward: node {node.name or node.output[0]!r} ({node.op_type}): "
                        f"input {name!r} is undefined"
                    )
                ins.append(env[name])
            key = (node.op_type, tuple(node.output))
            attrs = self._attrs.get(key)
            if attrs is None:
                attrs = self._attrs[key] = {a.name: _attr_value(onnx, a) for a in node.attribute}
            ctx = Context(self, node, self.opset)
            ctx.env = env
            outs = self._fold(node, ins)
            if outs is None:
                try:
                    outs = self._handlers[node.op_type](ins, attrs, ctx)
                except Exception as exc:
                    if str(exc).startswith("OnnxModule.forward:"):
                        raise
                    shapes = [tuple(t.shape) if isinstance(t, ts.Tensor) else type(t).__name__ for t in ins]
                    msg = f"OnnxModule.forward: {ctx.where()}, input shapes {shapes}: {exc}"
                    try:
                        new = type(exc)(msg)
                    except Exception:  # noqa: BLE001 - exception types with other constructors
                        new = RuntimeError(msg)
                    raise new from exc
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            for name, val in zip(node.output, outs):
                if name:
                    env[name] = val
        result = []
        for o in graph.output:
            if o.name not in env:
                raise ValueError(f"ts.onnx.load: graph output {o.name!r} is never produced")
            result.append(env[o.name])
        return result

    def _fold(self, node, ins):
        """Evaluate a node whose inputs are all host constants on the host (onnx's reference
        evaluator): shape arithmetic (Shape -> Gather -> Concat -> Reshape) then stays static."""
        if node.op_type in _NO_FOLD or not ins or any(a.type == 5 or a.type == 10 for a in node.attribute):
            return None
        vals = []
        for t in ins:
            v = None if t is None else host_value(t)
            if t is not None and v is None:
                return None
            vals.append(v)
        if sum(v.size for v in vals if v is not None) > 4096:
            return None
        key = (
            node.op_type,
            tuple(node.output),
            tuple(None if v is None else (v.dtype.str, v.shape, v.tobytes()) for v in vals),
        )
        cached = self._fold_cache.get(key)
        if cached is not None:
            return [host_constant(r) for r in cached]
        onnx = _onnx()
        try:
            from onnx.reference import ReferenceEvaluator

            names = [n for n in node.input]
            inputs = [
                onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                for n, v in zip(names, vals)
                if n and v is not None
            ]
            outputs = [onnx.helper.make_empty_tensor_value_info(o) for o in node.output if o]
            g = onnx.helper.make_graph([node], "fold", inputs, outputs)
            m = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", self.opset)])
            feeds = {n: v for n, v in zip(names, vals) if n and v is not None}
            res = ReferenceEvaluator(m).run(None, feeds)
        except Exception:  # noqa: BLE001 - anything the reference cannot fold runs as usual
            return None
        res = [np.asarray(r) for r in res]
        if len(self._fold_cache) > 4096:
            self._fold_cache.clear()
        self._fold_cache[key] = res
        return [host_constant(r) for r in res]


def _all_nodes(graph):
    onnx = _onnx()
    for node in graph.node:
        yield node
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from _all_nodes(g)


def load(path_or_model, *, trainable: bool = True) -> OnnxModule:
    """Import an ONNX model as a Tessera module that runs its graph with registry ops.

    ``path_or_model``: a file path, serialized bytes, or an ``onnx.ModelProto``. ``trainable``: float
    initializers become ``Parameter``s (default) rather than constants. Loading never executes code.

    Example:
        >>> m = ts.onnx.load("mlp.onnx")  # doctest: +SKIP
        >>> out = m(ts.randn(8, 4))  # doctest: +SKIP
    """
    onnx = _onnx()
    if isinstance(path_or_model, (str, os.PathLike)):
        if not os.path.exists(path_or_model):
            raise FileNotFoundError(f"ts.onnx.load: path_or_model {str(path_or_model)!r} does not exist")
        model = onnx.load(os.fspath(path_or_model))
    elif isinstance(path_or_model, (bytes, bytearray)):
        model = onnx.load_model_from_string(bytes(path_or_model))
    elif isinstance(path_or_model, onnx.ModelProto):
        model = path_or_model
    else:
        raise TypeError(
            "ts.onnx.load: path_or_model must be a path, bytes or onnx.ModelProto, "
            f"got {type(path_or_model).__name__}"
        )
    return OnnxModule(model, trainable=trainable)
