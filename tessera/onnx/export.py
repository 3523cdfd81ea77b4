"""``ts.onnx.export``: a model's inference graph, captured with the compiler's tracer, as an ONNX model.

The function runs once in eval mode under ``no_grad`` while ``tessera.compile.trace.Tracer`` records every
registry op; each IR node is then lowered by the ONNX lowering registered beside its op
(``OpDef.defonnx``). Parameters and buffers become initializers. With ``dynamic_axes`` the function is
traced a second time at other sizes of those axes: shape attributes that change (reshape targets) are made
size-agnostic, and the graph's inputs and outputs get symbolic dims.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading

import numpy as np

from ..core.dispatch import REGISTRY
from ..core.tensor import Tensor
from ._lowering import GraphBuilder, UnsupportedOp, onnx_dtype

__all__ = ["export", "is_in_onnx_export", "default_opset", "UnsupportedOp", "MIN_OPSET"]

MIN_OPSET = 17
_STATE = threading.local()


def is_in_onnx_export() -> bool:
    """Whether ``ts.onnx.export`` is tracing a model on this thread right now.

    Example:
        >>> ts.onnx.is_in_onnx_export()
        False
    """
    return getattr(_STATE, "depth", 0) > 0


@contextlib.contextmanager
def _exporting():
    _STATE.depth = getattr(_STATE, "depth", 0) + 1
    try:
        yield
    finally:
        _STATE.depth -= 1


def _ir_for_opset(opset: int) -> int:
    """The smallest IR version that the ``onnx`` release introducing ``opset`` stamps."""
    from onnx import helper

    irs = [ir for _, ir, op, *_ in helper.VERSION_TABLE if op >= opset]
    return min(irs) if irs else helper.VERSION_TABLE[-1][1]


@functools.lru_cache(maxsize=1)
def default_opset() -> tuple[int, int]:
    """``(opset, ir_version)``: the newest default-domain opset that the installed onnxruntime runs (probed
    with a one-node model, newest first), with the IR version that goes with it; ``(17, 8)`` without
    onnxruntime.

    Example:
        >>> ts.onnx.default_opset()[0] >= 17
        True
    """
    import onnx
    from onnx import TensorProto, helper

    try:
        import onnxruntime as ort
    except ImportError:
        return MIN_OPSET, _ir_for_opset(MIN_OPSET)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    for opset in range(onnx.defs.onnx_opset_version(), MIN_OPSET - 1, -1):
        ir = _ir_for_opset(opset)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - this opset/IR is newer than onnxruntime accepts
            continue
        return opset, ir
    return MIN_OPSET, _ir_for_opset(MIN_OPSET)


def _flatten(obj, out: list) -> None:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flatten(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flatten(o, out)
    elif obj is not None:
        raise TypeError(f"ts.onnx.export: the model returned a {type(obj).__name__}; expected tensors")


def _trace(model, args: tuple, kwargs: dict):
    from .. import no_grad
    from ..compile.trace import GraphBreak, Tracer

    tracer = Tracer(args, fullgraph=True)
    try:
        with _exporting(), no_grad(), tracer.install():
            result = model(*args, **kwargs)
    except GraphBreak as e:
        raise UnsupportedOp(
            f"ts.onnx.export: {e.loc or '<unknown location>'}: graph break: {e.reason}; an exported graph cannot "
            "depend on tensor values that Python reads"
        ) from None
    outs: list = []
    _flatten(result, outs)
    values = []
    for t in outs:
        v = tracer.lookup(t)
        if v is None:
            v = tracer.value(t)
        values.append(v)
    tracer.graph.outputs = values
    return tracer


def _norm_dynamic_axes(dynamic_axes, names: set) -> dict:
    out: dict = {}
    if dynamic_axes is None:
        return out
    if not isinstance(dynamic_axes, dict):
        raise TypeError(
            f"ts.onnx.export: dynamic_axes must be a dict name -> dims, got {type(dynamic_axes).__name__}"
        )
    for name, axes in dynamic_axes.items():
        if name not in names:
            raise ValueError(
                f"ts.onnx.export: dynamic_axes names {name!r}, which is not an input or output name "
                f"({sorted(names)})"
            )
        if isinstance(axes, dict):
            out[name] = {int(k): str(v) for k, v in axes.items()}
        elif isinstance(axes, (list, tuple)):
            out[name] = {int(k): f"{name}_dynamic_axes_{int(k) + 1}" for k in axes}
        else:
            raise TypeError(
                f"ts.onnx.export: dynamic_axes[{name!r}] must be a list of dims or a dict dim -> name, "
                f"got {type(axes).__name__}"
            )
    return out


def _grow(t: Tensor, dims) -> Tensor:
    """``t`` with each dim in ``dims`` one larger (values repeated: indices stay in range)."""
    shape = list(t.shape)
    for d in dims:
        shape[d] += 1
    from ..core.creation import arange, zeros

    if not t.numel():
        return zeros(*shape, dtype=t.dtype)
    n = int(np.prod(shape))  # NumPy's resize: the flat values repeated cyclically
    return t.detach().reshape(-1).index_select(0, arange(n) % t.numel()).reshape(shape)


def export(
    model,
    args,
    f=None,
    *,
    kwargs: dict | None = None,
    export_params: bool = True,
    verbose: bool = False,
    input_names: list | None = None,
    output_names: list | None = None,
    opset_version: int | None = None,
    dynamic_axes: dict | None = None,
    keep_initializers_as_inputs: bool = False,
    do_constant_folding: bool = True,
):
    """Export ``model`` (a ``ts.nn.Module``, a Keras model or any function of tensors) called on ``args`` to
    ONNX, as ``torch.onnx.export`` does; returns the ``onnx.ModelProto`` (also written to ``f``, a path or
    a binary file object, when given).

    ``dynamic_axes`` maps input/output names to the dims that vary (a list, or a dict dim -> symbolic name).
    ``opset_version`` defaults to the newest opset the installed onnxruntime runs (17 at least).

    Example:
        >>> m = ts.nn.Linear(3, 2)
        >>> proto = ts.onnx.export(m, ts.randn(4, 3), None, input_names=["x"], dynamic_axes={"x": [0]})
        >>> proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param
        'x_dynamic_axes_1'
    """
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ImportError("ts.onnx.export needs the onnx package: pip install onnx") from None
    if not callable(model):
        raise TypeError(f"ts.onnx.export: model must be a module or callable, got {type(model).__name__}")
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    if not isinstance(args, tuple):
        raise TypeError(
            f"ts.onnx.export: args must be a tensor or a tuple of tensors, got {type(args).__name__}"
        )
    if args and isinstance(args[-1], dict) and kwargs is None:
        args, kwargs = args[:-1], args[-1]
    kwargs = dict(kwargs or {})
    bad = [i for i, a in enumerate(args) if not isinstance(a, Tensor)]
    if bad:
        raise TypeError(
            f"ts.onnx.export: args must be tensors; argument {bad[0]} is a {type(args[bad[0]]).__name__}"
        )
    best, _ = default_opset()
    if opset_version is None:
        opset = best
    else:
        if not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= best:
            raise ValueError(
                f"ts.onnx.export: opset_version must be an int from {MIN_OPSET} to {best} (the newest the "
                f"installed onnxruntime runs), got {opset_version!r}"
            )
        opset = opset_version
    ir_version = _ir_for_opset(opset)
    in_names = list(input_names) if input_names is not None else [f"input_{i}" for i in range(len(args))]
    if len(in_names) > len(args) or len(set(in_names)) != len(in_names):
        raise ValueError(
            f"ts.onnx.export: input_names {in_names} must be distinct and at most one per argument "
            f"({len(args)} given)"
        )
    in_names += [f"input_{i}" for i in range(len(in_names), len(args))]

    was_training = getattr(model, "training", None)
    if was_training is not None and hasattr(model, "eval") and hasattr(model, "train"):
        model.eval()
    try:
        tracer = _trace(model, args, kwargs)
        n_out = len(tracer.graph.outputs)
        out_names = list(output_names) if output_names is not None else []
        if len(out_names) > n_out or len(set(out_names)) != len(out_names):
            raise ValueError(
                f"ts.onnx.export: output_names {out_names} must be distinct and at most one per output "
                f"({n_out} returned)"
            )
        out_names += [f"output_{i}" for i in range(len(out_names), n_out)]
        dyn = _norm_dynamic_axes(dynamic_axes, set(in_names) | set(out_names))
        alt = None
        in_dyn = {i: dyn.get(n, {}) for i, n in enumerate(in_names)}
        for i, dims in in_dyn.items():
            for d in dims:
                if not -args[i].ndim <= d < args[i].ndim:
                    raise ValueError(
                        f"ts.onnx.export: dynamic_axes[{in_names[i]!r}] has dim {d}, but that input has shape "
                        f"{tuple(args[i].shape)}"
                    )
        if any(in_dyn.values()):
            grown: dict = {}  # the same tensor passed twice stays one tensor (self-attention's q is k is v)
            alt_args = tuple(
                grown.setdefault(id(a), _grow(a, [d % a.ndim for d in in_dyn[i]])) if in_dyn[i] else a
                for i, a in enumerate(args)
            )
            alt = _trace(model, alt_args, kwargs)
            _check_same_structure(tracer.graph, alt.graph)
    finally:
        if was_training:
            model.train()
    proto = _build(tracer, alt, opset, ir_version, in_names, out_names, dyn)
    # accepted for compatibility: parameters are always initializers, and there is nothing to fold
    del export_params, keep_initializers_as_inputs, do_constant_folding
    onnx.checker.check_model(proto, full_check=True)
    if verbose:
        print(helper.printable_graph(proto.graph))
    if f is not None:
        data = proto.SerializeToString()
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as fh:
                fh.write(data)
        elif isinstance(f, io.IOBase) or hasattr(f, "write"):
            f.write(data)
        else:
            raise TypeError(
                f"ts.onnx.export: f must be a path or a binary file object, got {type(f).__name__}"
            )
    return proto


def _check_same_structure(g1, g2) -> None:
    if [n.op for n in g1.nodes] != [n.op for n in g2.nodes] or len(g1.inputs) != len(g2.inputs):
        raise UnsupportedOp(
            "ts.onnx.export: the traced program changes with the size of the dynamic axes (Python control "
            "flow on a shape?); export without dynamic_axes"
        )


def _sized_const(g, arr, v, alt_v, ins, alt_ins, in_names):
    """A constant made inside the model whose shape follows a dynamic axis (``zeros(batch, n)``, an RNN's
    initial state): one value expanded to a shape read from the graph input that has that axis."""
    flat = arr.reshape(-1)
    if flat.size == 0 or not (flat == flat[0]).all():
        g.node = None
        raise UnsupportedOp(
            f"ts.onnx.export: a constant of shape {tuple(v.shape)} made inside the model depends on a dynamic "
            "axis and is not one repeated value; compute it from the inputs instead"
        )
    pieces = []
    for n, m in zip(v.shape, alt_v.shape):
        if n == m:
            pieces.append(g.ints([n]))
            continue
        src = next(
            (
                (in_names[i], k)
                for i, (iv, ia) in enumerate(zip(ins, alt_ins))
                for k, (p, q) in enumerate(zip(iv.shape, ia.shape))
                if p == n and q == m
            ),
            None,
        )
        if src is None:
            raise UnsupportedOp(
                f"ts.onnx.export: a constant of shape {tuple(v.shape)} made inside the model has a dim that "
                "follows no input's dynamic axis"
            )
        pieces.append(g.op("Gather", g.op("Shape", src[0]), g.ints([src[1]])))
    scalar = g.const(flat[:1].reshape(()))
    return g.op("Expand", scalar, g.op("Concat", *pieces, axis=0))


def _build(tracer, alt, opset, ir_version, in_names, out_names, dyn):
    from onnx import helper

    g = GraphBuilder(opset)
    graph = tracer.graph
    names: dict[int, str] = {}
    alt_vals = {}
    if alt is not None:
        for v1, v2 in zip(graph.inputs, alt.graph.inputs):
            alt_vals[v1.id] = v2
        for n1, n2 in zip(graph.nodes, alt.graph.nodes):
            for v1, v2 in zip(n1.outputs, n2.outputs):
                alt_vals[v1.id] = v2

    def bind(v, name):
        names[v.id] = name
        a = alt_vals.get(v.id)
        dyn_dims = {i for i, (x, y) in enumerate(zip(v.shape, a.shape)) if x != y} if a is not None else ()
        g.set_meta(name, v.shape, v.dtype, dyn_dims)
        if a is not None:
            g.alt_shapes[name] = a.shape

    inputs = []
    for i, v in enumerate(graph.inputs[: len(in_names)]):
        bind(v, in_names[i])
        dims = dyn.get(in_names[i], {})
        shape = [dims.get(d, dims.get(d - len(v.shape), s)) for d, s in enumerate(v.shape)]
        inputs.append(helper.make_tensor_value_info(in_names[i], onnx_dtype(v.dtype), shape))
    state = {id(v): acc for acc, v in tracer.state}
    consts = {id(v): arr for arr, v in tracer.consts}
    for v in graph.inputs[len(in_names) :]:
        if id(v) in state:
            acc = state[id(v)]
            arr = (acc[1] if acc[0] == "ref" else acc[1].grad).detach().numpy()
        else:
            arr = consts[id(v)]
            a = alt_vals.get(v.id)
            if a is not None and a.shape != v.shape:
                bind(v, _sized_const(g, arr, v, a, graph.inputs[: len(in_names)], alt.graph.inputs, in_names))
                continue
        bind(v, g.const(np.ascontiguousarray(arr)))
    for idx, node in enumerate(graph.nodes):
        opdef = REGISTRY[node.op]
        fn = opdef.lowerings.get("onnx")
        g.node = node
        if fn is None:
            g.fail("the op has no ONNX lowering (register one beside the op with OpDef.defonnx)")
        if node.writes and not node.into:
            g.fail("it updates its inputs in place, which an inference graph cannot hold")
        ins = [names[a.id] if hasattr(a, "id") and a.id in names else a for a in node.inputs]
        if node.into:
            ins = ins[1:]
        g.alt_attrs = alt.graph.nodes[idx].attrs if alt is not None else {}
        try:
            res = fn(g, *ins, **node.attrs)
        except UnsupportedOp:
            raise
        except Exception as e:  # noqa: BLE001 - name the op and the user's line
            g.fail(f"{type(e).__name__}: {e}")
        res = (res,) if isinstance(res, str) else tuple(res)
        for v, r in zip(node.outputs, res):
            r = g.cast(r, v.dtype) if r in g.metas and g.dtype(r) is not v.dtype else r
            bind(v, r)
    outputs = []
    for v, name in zip(graph.outputs, out_names):
        g.nodes.append(helper.make_node("Identity", [names[v.id]], [name]))
        dims = dyn.get(name, {})
        dyn_here = g.dyn(names[v.id])
        shape = []
        for d, s in enumerate(v.shape):
            sym = dims.get(d, dims.get(d - len(v.shape)))
            shape.append(sym if sym is not None else (f"{name}_dim_{d}" if d in dyn_here else s))
        outputs.append(helper.make_tensor_value_info(name, onnx_dtype(v.dtype), shape))
    gp = helper.make_graph(g.nodes, "tessera", inputs, outputs, initializer=g.initializers)
    return helper.make_model(
        gp,
        opset_imports=[helper.make_opsetid("", opset)],
        ir_version=ir_version,
        producer_name="tessera",
    )
