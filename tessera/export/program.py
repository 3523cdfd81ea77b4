"""``export``, ``load``, ``ExportedProgram`` and ``Signature``: capture, the file format, and running.

Capture reuses the compiler's tracer (``compile.trace.Tracer``) with ``fullgraph=True`` under ``no_grad``
and eval mode. A dynamic dimension is made symbolic as ``ts.compile(dynamic=True)`` does it: the function
is traced again with the declared dimensions at other sizes and the traces are unified
(``compile.dynamic.unify``) into one graph whose sizes are expressions of the symbols; when a size was
fitted as ``s + c`` a third trace confirms it. Running instantiates that graph for the sizes of the call
(checked against the registry's shape rules), optimizes, fuses and plans it with the compiler's passes,
kernels and executor, and keeps the plan per size tuple.

File (``model.tessera``): one safetensors file. Tensors: ``weights/<name>`` (parameters and buffers, stored
once even when several signatures read them) and ``consts/<signature>/<k>`` (arrays the function made from
host data). ``__metadata__``: ``format`` = ``"tessera.export"``, ``format_version`` (an integer as text) and
``program``, a JSON object with ``tessera_version``, ``opset`` (``{"version", "ops"}``) and ``signatures``:
name -> ``{"inputs": [{"name", "dtype", "shape"}], "outputs": [...], "symbols": [names],
"example_sizes": [ints], "structure": output nesting, "graph": the graph's JSON (``_codec``),
"state": [weight names], "consts": [{"tensor": key} | {"fill": v, "dtype", "shape"} | {"arange": ...}]}``.
"""

from __future__ import annotations

import inspect
import json
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from ..core import dtypes as _dt
from ..core.tensor import Tensor

__all__ = ["export", "load", "ExportedProgram", "Signature", "ExportError", "FORMAT_VERSION", "OPSET_VERSION"]

FORMAT_VERSION = 1  # the file layout; loaders read every version up to their own
OPSET_VERSION = 1  # the semantics of the registry's ops as programs record them; bumped when one changes
_FORMAT_TAG = "tessera.export"
_DEFAULT = "serving_default"
_MAX_STRUCTURE_DEPTH = 64
_BACKENDS = ("auto", "c", "numpy")


class ExportError(ValueError):
    """A function that cannot be exported, or a file that is not a valid exported program."""


# -- capture ----------------------------------------------------------------------------------------------
def _input_names(fn, n: int) -> list[str]:
    target = fn.forward if hasattr(fn, "forward") and not inspect.isfunction(fn) else fn
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and len(names) < n:
            names.append(p.name)
    names += [f"arg{i}" for i in range(len(names), n)]
    if len(set(names)) != n:
        names = [f"arg{i}" for i in range(n)]
    return names


def _as_args(where: str, example_args) -> list[Tensor]:
    if isinstance(example_args, (Tensor, np.ndarray)):
        example_args = (example_args,)
    if not isinstance(example_args, (tuple, list)):
        raise TypeError(
            f"{where}: example_args must be a tuple of tensors, got {type(example_args).__name__}"
        )
    out = []
    for i, a in enumerate(example_args):
        if isinstance(a, np.ndarray):
            a = Tensor._wrap(np.ascontiguousarray(a))
        if not isinstance(a, Tensor):
            raise TypeError(
                f"{where}: example_args[{i}] must be a Tensor or a NumPy array, got {type(a).__name__}"
            )
        out.append(a)
    return out


def _dynamic_spec(where: str, dynamic_shapes, names: list[str], args: list[Tensor]) -> list[dict]:
    """Per argument ``{dim: symbol name}`` from ``dynamic_shapes`` (a dict by input name, or a sequence)."""
    per = [{} for _ in names]
    if dynamic_shapes is None:
        return per
    if isinstance(dynamic_shapes, dict):
        unknown = [k for k in dynamic_shapes if k not in names]
        if unknown:
            raise ValueError(f"{where}: dynamic_shapes names {unknown[0]!r}, which is not an input ({names})")
        items = [(names.index(k), v) for k, v in dynamic_shapes.items()]
    elif isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(names):
            raise ValueError(
                f"{where}: dynamic_shapes has {len(dynamic_shapes)} entries for {len(names)} inputs"
            )
        items = list(enumerate(dynamic_shapes))
    else:
        raise TypeError(
            f"{where}: dynamic_shapes must be a dict or a sequence, got {type(dynamic_shapes).__name__}"
        )
    for i, dims in items:
        if dims is None:
            continue
        if not isinstance(dims, dict):
            raise TypeError(
                f"{where}: dynamic_shapes[{names[i]!r}] must be a dict {{dim: name}}, got {dims!r}"
            )
        nd = args[i].ndim
        for d, sym in dims.items():
            if not isinstance(d, int) or not -nd <= d < nd:
                raise ValueError(f"{where}: dynamic_shapes[{names[i]!r}]: dim {d!r} is out of range for an input "
                                 f"of shape {tuple(args[i].shape)}")  # fmt: skip
            if not isinstance(sym, str) or not sym.isidentifier():
                raise ValueError(f"{where}: dynamic_shapes[{names[i]!r}][{d}]: the name must be an identifier, "
                                 f"got {sym!r}")  # fmt: skip
            per[i][d % nd] = sym
    return per


def _modules_of(fn, args=()) -> list:
    """The modules ``fn`` reaches (itself, ``self`` of a bound method, its closure and globals: the
    compiler's guard analysis), top-level ones first."""
    from ..compile.api import _Universe
    from ..nn.module import Module

    owner = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
    found = list(owner.modules()) if isinstance(owner, Module) else []
    seen = {id(m) for m in found}
    try:
        found += [m for m in _Universe(fn, args).modules if id(m) not in seen]
    except Exception:  # noqa: BLE001 - the analysis is best effort; a bound module is enough
        pass
    return found


def _trace(where: str, fn, args: list[Tensor]):
    """One trace of ``fn(*args)``: (Capture, output leaves' Values are its graph's outputs, structure)."""
    from ..autograd.grad_mode import no_grad
    from ..compile.backend import capture_of
    from ..compile.trace import GraphBreak, Tracer
    from ..core.dispatch import intercept

    tracer = Tracer(args, fullgraph=True)
    host = []

    def hooks(event, tensor, what):
        if event in ("prologue", "epilogue"):
            host.append(what)
        else:
            tracer._event(event, tensor, what)

    try:
        with no_grad(), intercept(tracer._record, tracing=True, on_event=hooks):
            result = fn(*args)
    except GraphBreak as e:
        raise ExportError(f"{where}: the function cannot be captured as one graph: {e.loc or '<unknown>'}: "
                          f"{e.reason}") from None  # fmt: skip
    if host:
        raise ExportError(f"{where}: the function runs Python bookkeeping (an optimizer or a scheduler), "
                          "which an inference program cannot hold")  # fmt: skip
    leaves: list[Tensor] = []
    structure = _structure(where, result, leaves, 0)
    if not leaves:
        raise ExportError(f"{where}: the function returned no tensor")
    tracer.graph.outputs = [tracer.value(t) for t in leaves]
    for acc, _ in tracer.state:
        if acc[0] != "ref":
            raise ExportError(f"{where}: the function reads a gradient; export an inference function")
    cap = capture_of(tracer)
    tracer.release()
    return cap, structure


def _structure(where, obj, leaves, depth):
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return "T"
    if depth > _MAX_STRUCTURE_DEPTH:
        raise ExportError(f"{where}: the outputs are nested too deeply")
    if isinstance(obj, (tuple, list)):
        return {"seq": [_structure(where, x, leaves, depth + 1) for x in obj]}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise ExportError(f"{where}: output dicts must have string keys")
        return {"keys": list(obj), "values": [_structure(where, v, leaves, depth + 1) for v in obj.values()]}
    raise ExportError(f"{where}: the function returned a {type(obj).__name__}; outputs must be tensors "
                      "(or tuples, lists and dicts of tensors)")  # fmt: skip


def _resized(args: list[Tensor], per: list[dict], sizes: dict[str, int]) -> list[Tensor]:
    from ..core.creation import arange

    out = []
    for a, dims in zip(args, per):
        for d, sym in dims.items():  # rows repeated cyclically: the new example stays in the data's range
            a = a.index_select(d, arange(sizes[sym]) % a.shape[d])
        out.append(a)
    return out


def _symbolic_capture(where: str, fn, args, per):
    """The capture of ``fn`` (symbolic along the dimensions ``per`` declares), its structure and symbols."""
    from ..compile.dynamic import NoUnify, instantiate_capture, is_offset, same_capture, symbols_of, unify

    cap, structure = _trace(where, fn, args)
    symbols = list(dict.fromkeys(s for dims in per for s in dims.values()))
    if not symbols:
        return cap, structure, [], []
    example = {}
    for i, dims in enumerate(per):
        for d, sym in dims.items():
            n = int(args[i].shape[d])
            if example.setdefault(sym, n) != n:
                raise ValueError(f"{where}: the dimension {sym!r} has size {example[sym]} in one input and {n} "
                                 "in another example input")  # fmt: skip
            if n < 2:
                raise ValueError(f"{where}: the dynamic dimension {sym!r} has size {n} in the example inputs; "
                                 "give examples of size 2 or more (sizes 0 and 1 behave specially under "
                                 "broadcasting)")  # fmt: skip
    # other sizes, one distinct pair per symbol so that the unifier cannot merge two of them
    second = {s: example[s] + 1 + k for k, s in enumerate(symbols)}
    args2 = _resized(args, per, second)
    try:
        cap2, structure2 = _trace(where, fn, args2)
        if structure2 != structure:
            raise NoUnify("the output structure changed")
        pairs, places = symbols_of([tuple(a.shape) for a in args], [tuple(a.shape) for a in args2])
        order = []
        for ps in places:
            i, d = ps[0]
            order.append(per[i][d])
        cap = unify(cap, cap2, pairs)
        if is_offset(cap):
            third = {s: example[s] + 3 + 2 * k for k, s in enumerate(symbols)}
            cap3, _ = _trace(where, fn, _resized(args, per, third))
            inst = instantiate_capture(cap, {k: third[s] for k, s in enumerate(order)}, check=True)
            if not same_capture(inst, cap3):
                raise NoUnify("a size fitted from two traces did not hold for a third")
    except NoUnify as e:
        raise ExportError(f"{where}: the program is not the same for every size of the dynamic dimensions "
                          f"{symbols}: {e}") from None  # fmt: skip
    return cap, structure, order, [example[s] for s in order]


def _check_no_writes(where: str, graph) -> list[bool]:
    """Raise if the graph writes an argument or a weight; which constants it writes (copied per run)."""
    from ..compile.backend import _root

    written = set()
    for node in graph.nodes:
        for w in node.writes:
            r = _root(graph, node.inputs[w])
            written.add(r if r is not None else node.inputs[w].id)
    for v in graph.inputs:
        if v.id in written and v.kind in ("arg", "state"):
            what = "an input" if v.kind == "arg" else "a weight or buffer (a random draw, or a buffer update)"
            raise ExportError(f"{where}: the function writes {what} in place; an exported program is "
                              "stateless (call model.eval(), avoid in-place updates of inputs)")  # fmt: skip
    return [v.id in written for v in graph.inputs if v.kind == "const"]


def _sym_text(x, symbols) -> str | int:
    from ..compile.dynamic import Sym

    if not isinstance(x, Sym):
        return x
    prod = "*".join(symbols[s] for s in x.syms)
    text = prod if x.coef == 1 else f"{x.coef}*{prod}"
    if x.const:
        text += f"{'+' if x.const > 0 else '-'}{abs(x.const)}"
    return text


# -- the program ------------------------------------------------------------------------------------------
class Signature:
    """One entry point of an ``ExportedProgram``: ``sig(*inputs)`` (or by input name) runs its graph.

    ``inputs``/``outputs`` list ``{"name", "dtype", "shape"}`` (a symbolic dimension is its name).

    Example:
        >>> sig = prog.signatures["serving_default"]  # doctest: +SKIP
        >>> sig.inputs  # doctest: +SKIP
        [{'name': 'x', 'dtype': 'float32', 'shape': ['batch', 4]}]
    """

    def __init__(self, name, graph, symbols, example_sizes, inputs, structure, state, consts, consts_written,
                 program):  # fmt: skip
        self.name = name
        self.graph = graph  # symbolic: sizes are expressions of ``symbols``
        self.symbols = list(symbols)
        self.example_sizes = list(example_sizes)
        self.inputs = inputs
        self.structure = structure
        self.state = list(state)  # weight names, in graph-input order
        self.consts = list(consts)  # arrays or dynamic._Const
        self.consts_written = list(consts_written)
        self._program = program
        self._plans: dict = {}
        self._lock = threading.Lock()
        n_args = len(inputs)
        self.outputs = [
            {
                "name": f"output_{k}",
                "dtype": v.dtype.name,
                "shape": [_sym_text(d, self.symbols) for d in v.shape],
            }
            for k, v in enumerate(graph.outputs)
        ]
        self._places = [[] for _ in self.symbols]
        for i, spec in enumerate(inputs):
            for d, dim in enumerate(spec["shape"]):
                if isinstance(dim, str):
                    self._places[self.symbols.index(dim)].append((i, d))
        self._arg_np = [_dt.as_dtype(s["dtype"]).np for s in inputs[:n_args]]

    def __repr__(self):
        ins = ", ".join(f"{s['name']}: {_type_text(s)}" for s in self.inputs)
        outs = ", ".join(_type_text(s) for s in self.outputs)
        return f"Signature({self.name!r}, ({ins}) -> ({outs}))"

    # -- running ------------------------------------------------------------------------------------------
    def _bind(self, args, kwargs) -> tuple[list[np.ndarray], tuple]:
        where = f"ExportedProgram signature {self.name!r}"
        names = [s["name"] for s in self.inputs]
        if len(args) > len(names):
            raise TypeError(f"{where}: expected {len(names)} inputs ({', '.join(names)}), got {len(args)}")
        given = list(args) + [None] * (len(names) - len(args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{where}: unknown input {k!r} (inputs: {', '.join(names)})")
            if names.index(k) < len(args):
                raise TypeError(f"{where}: input {k!r} given twice")
            given[names.index(k)] = v
        missing = [n for n, v in zip(names, given) if v is None]
        if missing:
            raise TypeError(f"{where}: missing input {missing[0]!r} (inputs: {', '.join(names)})")
        arrays = []
        sizes: dict[str, int] = {}
        for spec, x, npd in zip(self.inputs, given, self._arg_np):
            if isinstance(x, Tensor):
                a = x.detach().numpy()
            elif isinstance(x, np.ndarray):
                a = x
            else:
                raise TypeError(f"{where}: input {spec['name']!r} must be a Tensor or a NumPy array, "
                                f"got {type(x).__name__}")  # fmt: skip
            want = spec["shape"]
            ok = a.dtype == npd and a.ndim == len(want)
            if ok:
                for d, n in zip(want, a.shape):
                    if isinstance(d, str):
                        if n < 1 or sizes.setdefault(d, n) != n:
                            ok = False
                    elif d != n:
                        ok = False
            if not ok:
                seen = f"{_dt.from_numpy_dtype(a.dtype).name if _known(a.dtype) else a.dtype}{list(a.shape)}"
                extra = ""
                if a.dtype == npd and a.ndim == len(want):
                    bad = [d for d, n in zip(want, a.shape) if isinstance(d, str) and sizes.get(d) != n]
                    if bad:
                        extra = (f" (the dimension {bad[0]!r} is {sizes[bad[0]]} in an earlier input)"
                                 if sizes.get(bad[0], 0) >= 1 else " (dynamic dimensions must be >= 1)")  # fmt: skip
                raise ValueError(
                    f"{where}: input {spec['name']!r}: expected {_type_text(spec)}, got {seen}{extra}"
                )
            arrays.append(np.ascontiguousarray(a))
        return arrays, tuple(sizes[s] for s in self.symbols)

    def _plan(self, sizes: tuple):
        with self._lock:
            plan = self._plans.get(sizes)
            if plan is None:
                plan = self._build(sizes)
                self._plans[sizes] = plan
            return plan

    def _build(self, sizes: tuple):
        from ..compile import passes
        from ..compile.backend import backend_name
        from ..compile.dynamic import NoUnify, _Const, instantiate
        from ..compile.plan import build_plan

        where = f"ExportedProgram signature {self.name!r}"
        env = dict(enumerate(sizes))
        try:
            g = instantiate(self.graph, env, check=True)
        except NoUnify as e:
            raise ValueError(f"{where}: the program does not hold for sizes "
                             f"{dict(zip(self.symbols, sizes))}: {e}") from None  # fmt: skip
        consts = [c.make(env) if isinstance(c, _Const) else c for c in self.consts]
        g = passes.optimize(g)
        kernels = {}
        if backend_name(self._program.backend) == "c":
            from ..compile import fusion

            kernels, _ = fusion.fuse_and_compile(g)
        return build_plan(g, kernels, name="exported"), consts

    def __call__(self, *args, **kwargs):
        arrays, sizes = self._bind(args, kwargs)
        (plan, consts), state = self._plan(sizes), self._program._weights
        ins = arrays + [state[n] for n in self.state]
        ins += [c.copy() if w else c for c, w in zip(consts, self.consts_written)]
        outs = plan(ins)
        leaves = []
        for o in outs:
            o = np.asarray(o)
            if not o.flags.owndata or any(o is x for x in ins):  # never hand out the program's own memory
                o = o.copy()
            leaves.append(Tensor._wrap(o))
        return _unflatten(self.structure, leaves, [0])


def _known(npd) -> bool:
    try:
        _dt.from_numpy_dtype(npd)
        return True
    except (TypeError, ValueError, KeyError):
        return False


def _type_text(spec) -> str:
    return f"{spec['dtype']}[{', '.join(str(d) for d in spec['shape'])}]"


def _unflatten(structure, leaves, pos):
    if structure == "T":
        pos[0] += 1
        return leaves[pos[0] - 1]
    if "seq" in structure:
        return tuple(_unflatten(s, leaves, pos) for s in structure["seq"])
    return {k: _unflatten(s, leaves, pos) for k, s in zip(structure["keys"], structure["values"])}


def _count_leaves(structure, depth=0) -> int:
    if structure == "T":
        return 1
    if depth > _MAX_STRUCTURE_DEPTH or not isinstance(structure, dict):
        raise ExportError("malformed output structure")
    if "seq" in structure and isinstance(structure["seq"], list):
        return sum(_count_leaves(s, depth + 1) for s in structure["seq"])
    keys, values = structure.get("keys"), structure.get("values")
    if isinstance(keys, list) and isinstance(values, list) and len(keys) == len(values):
        if all(isinstance(k, str) for k in keys):
            return sum(_count_leaves(s, depth + 1) for s in values)
    raise ExportError("malformed output structure")


class ExportedProgram:
    """An inference program with its weights: one or more named ``Signature``s (``"serving_default"`` is
    what calling the program runs). Made by ``ts.export.export`` or ``ts.export.load``.

    Example:
        >>> model = ts.nn.Linear(4, 2)
        >>> prog = ts.export.export(model, (ts.randn(3, 4),))
        >>> tuple(prog(ts.ones(3, 4)).shape)
        (3, 2)
        >>> sorted(prog.signatures)
        ['serving_default']
    """

    def __init__(self, signatures: dict, weights: dict, metadata: dict, backend: str = "auto"):
        self.signatures: dict[str, Signature] = {}
        self._weights = weights  # name -> array
        self.metadata = metadata
        self.backend = backend
        for name, sig in signatures.items():
            sig._program = self
            self.signatures[name] = sig

    @property
    def weights(self) -> dict[str, Tensor]:
        """The parameters and buffers (copies), by name."""
        return {k: Tensor._wrap(v.copy()) for k, v in self._weights.items()}

    def __call__(self, *args, **kwargs):
        if _DEFAULT not in self.signatures:
            raise TypeError(f"ExportedProgram: no {_DEFAULT!r} signature; call prog.signatures[name] "
                            f"({sorted(self.signatures)})")  # fmt: skip
        return self.signatures[_DEFAULT](*args, **kwargs)

    def __repr__(self):
        sigs = "\n".join(f"  {s!r}" for s in self.signatures.values())
        return f"ExportedProgram({len(self._weights)} weights,\n{sigs})"

    # -- saving -------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the program to one file (conventionally ``model.tessera``), atomically.

        Example:
            >>> prog.save("model.tessera")  # doctest: +SKIP
        """
        from .._atomic import atomic_write
        from ..compile.dynamic import _Const
        from ..serialization import to_safetensors
        from ._codec import enc, graph_to_json

        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"ExportedProgram.save: path must be a str or os.PathLike, got {type(path).__name__}"
            )
        tensors = {f"weights/{k}": v for k, v in self._weights.items()}
        sigs, ops = {}, set()
        for name, sig in self.signatures.items():
            consts = []
            for k, c in enumerate(sig.consts):
                if isinstance(c, _Const):
                    entry = {"dtype": _dt.from_numpy_dtype(c.dtype).name, "shape": enc(tuple(c.shape))}
                    entry[c.kind] = enc(c.value) if c.kind == "full" else True
                    consts.append(entry)
                else:
                    key = f"consts/{name}/{k}"
                    tensors[key] = c
                    consts.append({"tensor": key})
            ops.update(n.op for n in sig.graph.nodes)
            sigs[name] = {
                "inputs": sig.inputs,
                "symbols": sig.symbols,
                "example_sizes": sig.example_sizes,
                "structure": sig.structure,
                "graph": graph_to_json(sig.graph),
                "state": sig.state,
                "consts": consts,
                "outputs": sig.outputs,
            }
        program = {
            "tessera_version": self.metadata.get("tessera_version"),
            "opset": {"version": OPSET_VERSION, "ops": sorted(ops)},
            "signatures": sigs,
        }
        meta = {"format": _FORMAT_TAG, "format_version": str(FORMAT_VERSION), "program": json.dumps(program)}
        data = to_safetensors(tensors, meta)
        atomic_write(path, lambda f: f.write(data))


def _export_signature(where, name, fn, example_args, dynamic_shapes, input_names, tensor_names, weights):
    args = _as_args(where, example_args)
    names = list(input_names) if input_names is not None else _input_names(fn, len(args))
    if len(names) != len(args) or len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where}: input names {names!r} do not fit {len(args)} distinct inputs")
    per = _dynamic_spec(where, dynamic_shapes, names, args)
    modes = [(m, m.training) for m in _modules_of(fn, args)]
    try:
        for m, _ in modes:
            m.training = False
        cap, structure, symbols, example_sizes = _symbolic_capture(where, fn, args, per)
    finally:
        for m, t in modes:
            m.training = t
    consts_written = _check_no_writes(where, cap.graph)
    state = []
    for acc in cap.state:
        t = acc[1]
        key = tensor_names.get(id(t))
        if key is None or weights.get(key) is not None and weights[key][0] is not t:
            base = key or "state"
            key, k = base, 0
            while key in weights and weights[key][0] is not t:
                k += 1
                key = f"{base}.{k}"
        weights[key] = (t, np.array(t.detach().numpy()))
        state.append(key)
    inputs = []
    for n, a, dims in zip(names, args, per):
        inputs.append({"name": n, "dtype": a.dtype.name,
                       "shape": [dims.get(d, int(s)) for d, s in enumerate(a.shape)]})  # fmt: skip
    return Signature(name, cap.graph, symbols, example_sizes, inputs, structure, state, cap.consts,
                     consts_written, None)  # fmt: skip


def _tensor_names(fns) -> dict[int, str]:
    names: dict[int, str] = {}
    for fn in fns:
        for module in _modules_of(fn):
            for n, p in module.named_parameters():
                names.setdefault(id(p), n)
            for n, b in module.named_buffers():
                if b is not None:
                    names.setdefault(id(b), n)
    return names


def export(
    model_or_fn: Callable,
    example_args: Sequence | Tensor,
    *,
    dynamic_shapes: dict | Sequence | None = None,
    input_names: Sequence[str] | None = None,
    signatures: dict | None = None,
) -> ExportedProgram:
    """Capture an inference program (eval mode, no autograd) with its weights.

    ``dynamic_shapes``: per input (by name, or a sequence in argument order) ``{dim: "name"}``: those
    dimensions are symbolic (one name shared by several inputs is one size). ``signatures``: more entry
    points, ``{name: (fn, example_args)}`` or ``(fn, example_args, dynamic_shapes)``; weights they share
    with the default signature are stored once.

    Example:
        >>> model = ts.nn.Sequential(ts.nn.Linear(4, 8), ts.nn.Tanh(), ts.nn.Linear(8, 2))
        >>> prog = ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}})
        >>> prog.signatures["serving_default"].inputs
        [{'name': 'input', 'dtype': 'float32', 'shape': ['batch', 4]}]
        >>> tuple(prog(ts.randn(7, 4)).shape)
        (7, 2)
    """
    import tessera

    where = "ts.export.export"
    if not callable(model_or_fn):
        raise TypeError(f"{where}: expected a Module or a function, got {type(model_or_fn).__name__}")
    entries = [(_DEFAULT, model_or_fn, example_args, dynamic_shapes, input_names)]
    if signatures is not None:
        if not isinstance(signatures, dict):
            raise TypeError(f"{where}: signatures must be a dict {{name: (fn, example_args)}}, "
                            f"got {type(signatures).__name__}")  # fmt: skip
        for name, spec in signatures.items():
            if not isinstance(name, str) or not name or name == _DEFAULT:
                raise ValueError(f"{where}: bad signature name {name!r} (a non-empty string other than "
                                 f"{_DEFAULT!r})")  # fmt: skip
            if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3) or not callable(spec[0]):
                raise TypeError(f"{where}: signatures[{name!r}] must be (fn, example_args[, dynamic_shapes]), "
                                f"got {spec!r}")  # fmt: skip
            entries.append((name, spec[0], spec[1], spec[2] if len(spec) == 3 else None, None))
    tensor_names = _tensor_names([e[1] for e in entries])
    weights: dict[str, tuple] = {}
    sigs = {}
    for name, fn, ex, dyn, in_names in entries:
        w = where if name == _DEFAULT else f"{where} (signature {name!r})"
        sigs[name] = _export_signature(w, name, fn, ex, dyn, in_names, tensor_names, weights)
    meta = {
        "tessera_version": tessera.__version__,
        "opset_version": OPSET_VERSION,
        "format_version": FORMAT_VERSION,
    }
    return ExportedProgram(sigs, {k: a for k, (_, a) in weights.items()}, meta)


# -- loading ----------------------------------------------------------------------------------------------
def load(path: str | os.PathLike, *, backend: str = "auto") -> ExportedProgram:
    """Load a program written by ``ExportedProgram.save``: no model code needed, nothing in the file is
    executed or unpickled. ``backend``: ``"auto"`` (C kernels when a C compiler is present), ``"c"`` or
    ``"numpy"``.

    Example:
        >>> prog = ts.export.load("model.tessera")  # doctest: +SKIP
        >>> y = prog(ts.randn(5, 4))  # doctest: +SKIP
    """
    from ..serialization import from_safetensors

    if backend not in _BACKENDS:
        raise ValueError(f"ts.export.load: backend must be one of {list(_BACKENDS)}, got {backend!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"ts.export.load: path must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fspath(path)
    with open(name, "rb") as f:
        data = f.read()
    try:
        arrays, meta = from_safetensors(data, name)
    except ValueError as e:
        raise ExportError(f"ts.export.load: {e}") from None
    return _from_file(name, arrays, meta, backend)


def _from_file(name, arrays, meta, backend):
    from ..compile.dynamic import NoUnify, _Const, instantiate
    from ..compile.ir import IRError
    from ._codec import dec, graph_from_json

    def bad(msg):
        return ExportError(f"ts.export.load: {name}: {msg}")

    if meta.get("format") != _FORMAT_TAG:
        raise bad("not an exported Tessera program (no 'tessera.export' metadata); a plain checkpoint "
                  "loads with ts.load")  # fmt: skip
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise bad(f"bad format_version {meta.get('format_version')!r}") from None
    if version > FORMAT_VERSION:
        raise bad(f"the file uses export format {version}, newer than this Tessera reads ({FORMAT_VERSION}); "
                  "upgrade Tessera")  # fmt: skip
    if version < 1:
        raise bad(f"bad format_version {version}")
    try:
        program = json.loads(meta.get("program", ""))
    except (ValueError, RecursionError) as e:
        raise bad(f"unreadable program JSON ({e})") from None
    if not isinstance(program, dict) or not isinstance(program.get("signatures"), dict):
        raise bad("the program JSON has no signatures")
    opset = program.get("opset")
    if not isinstance(opset, dict) or not isinstance(opset.get("version"), int):
        raise bad("the program JSON has no opset version")
    if opset["version"] > OPSET_VERSION:
        raise bad(f"the program uses opset {opset['version']}, newer than this Tessera's ({OPSET_VERSION}); "
                  "upgrade Tessera")  # fmt: skip
    from ..core.dispatch import REGISTRY

    ops = opset.get("ops", [])
    if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
        raise bad("the program JSON has a malformed op list")
    missing = sorted(op for op in ops if op not in REGISTRY)
    if missing:
        raise bad(f"the program uses the ops {missing[:10]}, which this Tessera does not have (upgrade Tessera "
                  "if the file comes from a newer one)")  # fmt: skip
    weights = {}
    for k, a in arrays.items():
        if k.startswith("weights/"):
            weights[k[len("weights/") :]] = np.array(a)  # writable, owned by the program
    sigs = {}
    for sname, sd in program["signatures"].items():
        where = f"signature {sname!r}"
        try:
            sigs[sname] = _load_signature(sname, sd, arrays, weights, dec, graph_from_json, _Const)
            sig = sigs[sname]
            instantiate(sig.graph, dict(enumerate(sig.example_sizes)), check=True)
        except ExportError as e:
            raise bad(f"{where}: {e}") from None
        except (IRError, NoUnify) as e:
            raise bad(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
            raise bad(f"{where}: malformed ({type(e).__name__}: {e})") from None
    meta_out = {"tessera_version": program.get("tessera_version"), "opset_version": opset["version"],
                "format_version": version}  # fmt: skip
    return ExportedProgram(sigs, weights, meta_out, backend)


def _load_signature(sname, sd, arrays, weights, dec, graph_from_json, _Const):
    from ..compile.dynamic import Sym

    if not isinstance(sd, dict):
        raise ExportError("not an object")
    symbols = sd["symbols"]
    if not isinstance(symbols, list) or not all(isinstance(s, str) and s.isidentifier() for s in symbols):
        raise ExportError(f"bad symbols {symbols!r}")
    ex = sd["example_sizes"]
    if not isinstance(ex, list) or len(ex) != len(symbols) or not all(type(n) is int and n >= 1 for n in ex):
        raise ExportError(f"bad example sizes {ex!r}")
    graph = graph_from_json(sd["graph"], len(symbols))
    inputs = sd["inputs"]
    if not isinstance(inputs, list):
        raise ExportError("bad inputs")
    n_args = len(inputs)
    kinds = [v.kind for v in graph.inputs]
    state, consts_spec = sd["state"], sd["consts"]
    if not isinstance(state, list) or not isinstance(consts_spec, list):
        raise ExportError("bad state or consts")
    if kinds != ["arg"] * n_args + ["state"] * len(state) + ["const"] * len(consts_spec):
        raise ExportError("the graph's inputs do not match the signature's inputs, weights and constants")
    names = set()
    for spec, v in zip(inputs, graph.inputs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or spec["name"] in names:
            raise ExportError(f"bad input {spec!r}")
        names.add(spec["name"])
        if (
            spec["dtype"] != v.dtype.name
            or not isinstance(spec["shape"], list)
            or len(spec["shape"]) != len(v.shape)
        ):
            raise ExportError(f"input {spec['name']!r}: its spec does not match the graph ({v.type_str()})")
        for d, gd in zip(spec["shape"], v.shape):
            if isinstance(d, str):
                ok = d in symbols and gd == Sym(1, (symbols.index(d),))
            else:
                ok = type(d) is int and d == gd
            if not ok:
                raise ExportError(
                    f"input {spec['name']!r}: its shape {spec['shape']} does not match the graph"
                )
    for wname, v in zip(state, graph.inputs[n_args:]):
        if not isinstance(wname, str) or wname not in weights:
            raise ExportError(f"the graph reads the weight {wname!r}, which the file does not hold")
        a = weights[wname]
        if tuple(a.shape) != tuple(v.shape) or a.dtype != v.dtype.np:
            raise ExportError(f"the weight {wname!r} is {a.dtype}{list(a.shape)} in the file but the graph "
                              f"expects {v.type_str()}")  # fmt: skip
    consts = []
    for k, (c, v) in enumerate(zip(consts_spec, graph.inputs[n_args + len(state) :])):
        if not isinstance(c, dict):
            raise ExportError(f"bad constant {k}")
        if "tensor" in c:
            if c["tensor"] not in arrays:
                raise ExportError(f"constant {k}: the file has no tensor {c['tensor']!r}")
            a = np.array(arrays[c["tensor"]])
            if tuple(a.shape) != tuple(v.shape) or a.dtype != v.dtype.np:
                raise ExportError(
                    f"constant {k} is {a.dtype}{list(a.shape)}, the graph expects {v.type_str()}"
                )
            consts.append(a)
        elif "full" in c or "arange" in c:
            kind = "full" if "full" in c else "arange"
            npd = _dt.as_dtype(c["dtype"]).np
            shape = dec(c["shape"], len(symbols))
            if not isinstance(shape, tuple) or not all(isinstance(d, (int, Sym)) for d in shape):
                raise ExportError(f"constant {k}: bad shape")
            value = dec(c["full"], len(symbols)) if kind == "full" else None
            if kind == "full" and not isinstance(value, (int, float, bool)):
                raise ExportError(f"constant {k}: bad fill value")
            if kind == "arange" and len(shape) != 1:
                raise ExportError(f"constant {k}: an arange must be 1-D")
            consts.append(_Const(kind, value, npd, shape))
        else:
            raise ExportError(f"constant {k}: unknown kind {sorted(c)}")
    structure = sd["structure"]
    if _count_leaves(structure) != len(graph.outputs):
        raise ExportError("the output structure does not match the graph's outputs")
    consts_written = _check_no_writes(f"signature {sname!r}", graph)
    return Signature(sname, graph, symbols, ex, inputs, structure, state, consts, consts_written, None)
