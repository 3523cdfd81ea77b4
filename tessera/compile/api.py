"""``ts.compile``: trace a function (or a module's forward, or a whole training step) once, optimize the
graph, and replay it on later calls whose guards hold.

A call is keyed by its guards: the shapes, dtypes and ``requires_grad`` of its tensor arguments, its other
(static) arguments, grad mode, the training flags of the modules it reaches, which parameters hold a
``.grad`` and how much optimizer state exists. A new key traces again (up to ``cache_size_limit``
versions; past that it warns, naming the guard that failed, and runs eagerly). Two versions that differ
only in argument sizes become one symbolic version (``dynamic``). Replay runs no Python: it
reads the state tensors, runs the plan, writes in place where the function wrote, rebinds ``.grad`` as the
traced call left it and redoes the recorded host bookkeeping (optimizer hyperparameter sync, scheduler
steps). A trace that stops at a graph break becomes a split version (``split.py``): the ops before the
break replay compiled, the rest of the function runs eagerly.
"""

from __future__ import annotations

import functools
import itertools
import operator
import types
import warnings
import weakref

from ..core.dispatch import STRUCTURE_EPOCH as _STRUCTURE
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor
from . import logs
from .trace import Tracer

__all__ = ["compile", "CompiledFunction", "cache_size_limit", "reset"]

cache_size_limit = 8
_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs", "check")
_BACKENDS = ("auto", "c", "numpy", "inductor", "eager")
_ALL: weakref.WeakSet = weakref.WeakSet()


class _Entry:
    """One traced version: the guard key it serves and what replay needs."""

    __slots__ = (
        "key", "graph", "plan", "eager", "reason", "state", "consts", "const_written", "out_spec",
        "grad_bindings", "bumps", "prologue", "epilogue", "n_user_out", "out_tensors", "out_freed", "stats", "check",
        "backward", "capture", "split",
    )  # fmt: skip

    def __init__(self, key):
        self.key = key
        self.eager = False
        self.reason = None
        self.capture = None
        self.split = None  # (served steps, location of the break) of a version split at a graph break


# what a symbolic version's specializations share with the two traces it was unified from
_TEMPLATE = ("n_user_out", "grad_bindings", "prologue", "epilogue", "out_spec", "out_freed")
_MAX_SIZES = 64  # specializations a symbolic version keeps (least recently used dropped)


class _Dynamic:
    """A symbolic version: one unified graph for every call whose key equals ``masked`` once the
    dimensions at ``places`` (per symbol, ``(argument, dim)`` pairs) are blanked out. Each size tuple seen
    gets a specialization: the graph instantiated, optimized and planned for those sizes."""

    __slots__ = ("masked", "places", "capture", "template", "versions", "confirmed")

    def __init__(self, masked, places, capture, template, confirmed):
        self.masked, self.places, self.capture, self.template = masked, places, capture, template
        self.versions: dict = {}
        self.confirmed = confirmed  # False: a third size traces once more, to confirm the fit

    def sizes_for(self, key):
        """The symbol sizes of a call with guard key ``key``, or None if this version does not serve it."""
        shapes = [m[0] for m in key[0]]
        sizes = []
        for places in self.places:
            (i0, d0) = places[0]
            if i0 >= len(shapes) or d0 >= len(shapes[i0]):
                return None
            n = shapes[i0][d0]
            if n < 2 or any(i >= len(shapes) or d >= len(shapes[i]) or shapes[i][d] != n for i, d in places):
                return None
            sizes.append(n)
        return tuple(sizes) if _masked(key, self.places) == self.masked else None


def _masked(key, places):
    """``key`` with the argument dimensions at ``places`` replaced by None."""
    blank = {p for ps in places for p in ps}
    args = tuple(
        (tuple(None if (i, d) in blank else n for d, n in enumerate(shape)), dtype, rg)
        for i, (shape, dtype, rg) in enumerate(key[0])
    )
    return (args,) + tuple(key[1:])


_TENSOR_ARGS: dict[int, tuple] = {}  # number of tensor-only positional arguments -> their spec


def _flatten(obj, leaves):
    """Nested tuples/lists/dicts of tensors -> a spec; tensors appended to ``leaves``."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("T",)
    if isinstance(obj, (tuple, list)):
        return (type(obj), tuple(_flatten(x, leaves) for x in obj))
    if isinstance(obj, dict):
        return ("D", tuple(obj.keys()), tuple(_flatten(v, leaves) for v in obj.values()))
    return ("C", obj)


def _unflatten(spec, leaves, pos):
    kind = spec[0]
    if kind == "T":
        pos[0] += 1
        return leaves[pos[0] - 1]
    if kind == "C":
        return spec[1]
    if kind == "D":
        return dict(zip(spec[1], (_unflatten(s, leaves, pos) for s in spec[2])))
    items = [_unflatten(s, leaves, pos) for s in spec[1]]
    if kind is tuple or kind is list:
        return kind(items)
    if issubclass(kind, tuple) and hasattr(kind, "_fields"):  # a named tuple (torch.return_types-like)
        return kind(*items)
    return kind(items)


def _static_key(v):
    try:
        hash(v)
        return v
    except TypeError:
        return ("<unhashable>", type(v).__name__, id(v))


_TRAINING, _GRAD_OF = operator.attrgetter("training"), operator.attrgetter("grad")
_REQUIRES_GRAD, _STATE_OF = operator.attrgetter("_requires_grad"), operator.attrgetter("state")


class _Universe:
    """The modules, optimizers and parameters a function reaches (its closure, the globals its code names,
    ``self`` of a bound method): what the guards look at and whose ``.grad`` replay rebinds."""

    def __init__(self, fn, args):
        from ..nn.module import Module
        from ..optim.optimizer import Optimizer

        found_modules, found_opts, found_leaves = [], [], []
        named = []  # (name, where it is bound): the tensors the code reads by name, guarded by identity
        seen = set()

        def visit(obj, depth):
            if id(obj) in seen or depth > 2:
                return
            seen.add(id(obj))
            if isinstance(obj, Tensor):
                if obj._requires_grad and obj.grad_fn is None:  # a bare leaf, as in hand-written training
                    found_leaves.append(obj)
            elif isinstance(obj, Module):
                found_modules.append(obj)
            elif isinstance(obj, Optimizer):
                found_opts.append(obj)
            elif hasattr(obj, "optimizer") and isinstance(getattr(obj, "optimizer", None), Optimizer):
                visit(obj.optimizer, depth)  # an LR scheduler
            elif isinstance(obj, (list, tuple)):
                for x in obj[:64]:
                    visit(x, depth + 1)
            elif isinstance(obj, dict) and len(obj) < 64:
                for x in obj.values():
                    visit(x, depth + 1)
            elif isinstance(obj, types.FunctionType):
                visit_fn(obj, depth + 1)

        def visit_fn(f, depth):
            if isinstance(f, functools.partial):
                visit(f.func, depth)
                for a in f.args:
                    visit(a, depth)
                return
            self_obj = getattr(f, "__self__", None)
            if self_obj is not None:
                visit(self_obj, depth)
            f = getattr(f, "__func__", f)
            code = getattr(f, "__code__", None)
            if code is None:
                return
            for default in (f.__defaults__ or ()) + tuple((f.__kwdefaults__ or {}).values()):
                visit(default, depth)
            for name, cell in zip(code.co_freevars, f.__closure__ or ()):
                try:
                    value = cell.cell_contents
                except ValueError:
                    continue
                if isinstance(value, Tensor):
                    named.append((name, cell))
                visit(value, depth)
            g = getattr(f, "__globals__", {})
            for name in _code_names(code):
                if name in g:
                    if isinstance(g[name], Tensor):
                        named.append((name, g))
                    visit(g[name], depth)

        if isinstance(fn, Module):
            visit(fn, 0)
        else:
            visit_fn(fn, 0)
        for a in args:
            if not isinstance(a, Tensor):  # tensor arguments are the graph's inputs, not its state
                visit(a, 1)
        modules = _unique(sub for m in found_modules for sub in m.modules())
        params = _unique(
            found_leaves
            + [p for m in found_modules for p in m.parameters()]
            + [p for o in found_opts for group in o.param_groups for p in group["params"]]
        )
        self.modules, self.optimizers, self.params = modules, found_opts, params
        self.named = list({(name, id(where)): (name, where) for name, where in named}.values())

    def signature(self) -> tuple:
        """Which tensor objects the modules and optimizers hold (recomputed when their structure changes)."""
        sig = []
        for m in self.modules:
            sig.append(
                tuple(id(t) for t in m._parameters.values()) + tuple(id(t) for t in m._buffers.values())
            )
        for o in self.optimizers:
            sig.append(tuple(len(g["params"]) for g in o.param_groups))
            sig.append(tuple(id(v) for st in o.state.values() for v in st.values() if isinstance(v, Tensor)))
        return tuple(sig)

    def key(self):
        # map over attrgetters: this runs on every call, for every parameter
        return (
            tuple(map(_TRAINING, self.modules)),
            tuple(map(operator.is_, map(_GRAD_OF, self.params), itertools.repeat(None))),
            tuple(map(_REQUIRES_GRAD, self.params)),
            tuple(map(len, map(_STATE_OF, self.optimizers))),
            tuple(map(_bound_id, self.named)),
        )


def _bound_id(named) -> tuple:
    """(name, id of the object bound to it now): rebinding a global or closure variable to another tensor
    retraces instead of replaying against the tensor the trace read."""
    name, where = named
    if isinstance(where, dict):
        return name, id(where.get(name))
    try:
        return name, id(where.cell_contents)
    except ValueError:
        return name, None


def _unique(items) -> list:
    """``items`` without repeats (by identity), in order."""
    seen, out = set(), []
    for x in items:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def _code_names(code, depth=0):
    names = list(code.co_names)
    if depth < 2:
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                names += _code_names(c, depth + 1)
    return names


def _key_diff(old, new) -> str:
    """Which guard separates two keys (for the recompile messages)."""
    labels = ("arguments", "static arguments", "grad mode", "module training mode", "which .grad are set",
              "requires_grad of parameters", "optimizer state", "rebound names",
              "module or optimizer structure (parameters, buffers or state rebound)")  # fmt: skip
    parts_old = (old[0], old[1], old[2]) + old[3] + (old[4],)
    parts_new = (new[0], new[1], new[2]) + new[3] + (new[4],)
    for label, a, b in zip(labels, parts_old, parts_new):
        if a != b:
            if label == "arguments":
                for i, (x, y) in enumerate(zip(a, b)):
                    if x != y:
                        return f"tensor argument {i}: {_desc(x)} -> {_desc(y)}"
                return f"number of tensor arguments {len(a)} -> {len(b)}"
            if label == "rebound names":
                name = next((x[0] for x, y in zip(a, b) if x != y), "a name")
                return f"{name!r} was rebound to another tensor"
            return f"{label} changed"
    return "state tensors changed"


def _desc(k) -> str:
    shape, dtype, rg = k
    return f"{tuple(shape)} {dtype.name}{' requires_grad' if rg else ''}"


class CompiledFunction:
    """What ``ts.compile(fn)`` returns: call it as you would call ``fn``."""

    def __init__(self, fn, *, fullgraph=False, dynamic=None, mode="default", backend="auto"):
        self._fn = fn
        self.fullgraph = bool(fullgraph)
        self.dynamic = dynamic
        self.mode = mode
        self.backend = backend
        self._entries: dict = {}
        self._dynamic: list[_Dynamic] = []
        self._universe = None
        self._epoch = -1
        self._signature = ()
        self._last_key = None
        self._warned_limit = False
        self._warned_breaks: set = set()
        self.recompiles: list[str] = []
        self._breaks: list = []
        functools.update_wrapper(self, fn if not hasattr(fn, "forward") else fn.forward, updated=())
        inner = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        self.__name__ = getattr(inner, "__name__", None) or type(inner).__name__
        _ALL.add(self)

    # -- calling -------------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self.backend == "eager":
            return self._fn(*args, **kwargs)
        if not kwargs and all(isinstance(a, Tensor) for a in args):  # the common call, flattened quickly
            leaves = list(args)
            spec = _TENSOR_ARGS.get(len(args)) or _TENSOR_ARGS.setdefault(len(args), _flatten((args, {}), []))
        else:
            leaves = []
            spec = _flatten((args, kwargs), leaves)
        if self._universe is None or _STRUCTURE[0] != self._epoch:
            self._epoch = _STRUCTURE[0]
            self._universe = _Universe(self._fn, args)
            self._signature = self._universe.signature()
        key = (
            tuple((t._data.shape, t.dtype, t._requires_grad) for t in leaves),
            _static_key(spec),
            _GRAD.enabled,
            self._universe.key(),
            self._signature,
        )
        entry = self._entries.get(key)
        if entry is not None and entry.split is not None:
            from .split import run_split

            return run_split(self, entry, args, kwargs, leaves)
        if entry is not None and not entry.eager:
            arrays = _gather(entry, leaves)
            if arrays is not None:
                return self._replay(entry, arrays, leaves)
            del self._entries[key]
            self._note_recompile(key, "a captured state tensor changed shape, dtype or requires_grad")
        elif entry is not None:
            return self._fn(*args, **kwargs)
        why = None
        for dyn in list(self._dynamic):
            sizes = dyn.sizes_for(key)
            if sizes is not None and not (dyn.confirmed or sizes in dyn.versions):
                why = f"tracing sizes {sizes} once more, to confirm the symbolic graph fitted to two sizes"
            elif sizes is not None:
                entry = self._specialization(dyn, sizes, key)
                arrays = None if entry is None else _gather(entry, leaves)
                if arrays is not None:
                    return self._replay(entry, arrays, leaves)
                if dyn in self._dynamic:
                    self._dynamic.remove(dyn)
                    self._note_recompile(key, "a captured state tensor changed shape, dtype or requires_grad")
        if len(self._entries) + len(self._dynamic) >= cache_size_limit:
            if not self._warned_limit:
                self._warned_limit = True
                why = _key_diff(self._last_key, key) if self._last_key is not None else "new call signature"
                warnings.warn(
                    f"ts.compile: {self.__name__} hit the recompile limit ({cache_size_limit}); the last guard "
                    f"that failed: {why}. Running eagerly from now on for new signatures "
                    "(raise ts.compiler.cache_size_limit, or use dynamic=True for varying shapes).",
                    stacklevel=2,
                )
            return self._fn(*args, **kwargs)
        if self._entries or self._dynamic:
            self._note_recompile(key, why or _key_diff(self._last_key, key))
        self._last_key = key
        return self._trace_and_build(key, args, kwargs, leaves, spec)

    def _specialization(self, dyn, sizes, key):
        """``dyn``'s version for ``sizes`` (made on first use; None if the symbolic graph does not hold for
        them, which drops ``dyn``)."""
        from .backend import finish_entry
        from .dynamic import NoUnify, instantiate_capture

        entry = dyn.versions.pop(sizes, None)
        if entry is None:
            try:
                cap = instantiate_capture(dyn.capture, dict(enumerate(sizes)), check=True)
            except NoUnify as e:
                self._dynamic.remove(dyn)
                self._note_recompile(key, f"the symbolic graph does not hold for sizes {sizes}: {e}")
                return None
            entry = _Entry(key)
            for name, value in dyn.template.items():
                setattr(entry, name, value)
            finish_entry(entry, cap, self)
        dyn.versions[sizes] = entry  # most recently used last
        if len(dyn.versions) > _MAX_SIZES:
            del dyn.versions[next(iter(dyn.versions))]
        return entry

    def _generalize(self, new):
        """Unify the version just traced with an earlier one that differs only in argument sizes into one
        symbolic version (logged under "guards"; why not, under "recompiles")."""
        from .dynamic import NoUnify, instantiate_capture, is_offset, same_capture, symbols_of, unify

        for dyn in list(self._dynamic):
            sizes = dyn.sizes_for(new.key)
            if sizes is None or dyn.confirmed:
                continue
            first = next(iter(dyn.versions.values()))
            try:
                held = _same_program(first.key, first, new) and same_capture(
                    instantiate_capture(dyn.capture, dict(enumerate(sizes)), check=True), new.capture
                )
            except NoUnify:
                held = False
            if held:
                dyn.confirmed, new.capture = True, None
                del self._entries[new.key]
                dyn.versions[sizes] = new
                logs.log("guards", f"{self.__name__}: the symbolic graph held for a third size {sizes}")
                return
            self._dynamic.remove(dyn)
            for e in dyn.versions.values():
                self._entries[e.key] = e
            logs.log("recompiles", f"{self.__name__}: sizes stay specialized: the symbolic graph fitted to "
                     f"two sizes did not hold for {sizes}")  # fmt: skip
        for key, old in list(self._entries.items()):
            if old is new or old.capture is None or not _same_program(key, old, new):
                continue
            try:
                pairs, places = symbols_of([m[0] for m in key[0]], [m[0] for m in new.key[0]])
                cap = unify(old.capture, new.capture, pairs)
            except NoUnify as e:
                logs.log("recompiles", f"{self.__name__}: sizes stay specialized: {e}")
                continue
            template = {f: getattr(new, f) for f in _TEMPLATE}
            dyn = _Dynamic(_masked(new.key, places), places, cap, template, confirmed=not is_offset(cap))
            for k, e in ((key, old), (new.key, new)):
                e.capture = None
                del self._entries[k]
                dyn.versions[dyn.sizes_for(k)] = e
            self._dynamic.append(dyn)
            dims = ", ".join(
                f"s{s} = " + " = ".join(f"argument {i} dim {d}" for i, d in ps) for s, ps in enumerate(places)
            )
            logs.log("guards", f"{self.__name__}: one graph for all sizes >= 2 of {dims}")
            return

    def _note_recompile(self, key, why):
        msg = f"recompiling {self.__name__}: {why}"
        self.recompiles.append(msg)
        logs.log("recompiles", msg)

    def _trace_and_build(self, key, args, kwargs, leaves, spec):
        from .backend import build_entry

        uni = self._universe
        grad_owner = {id(p.grad): p for p in uni.params if p.grad is not None}
        tracer = Tracer(leaves, grad_owner=grad_owner, fullgraph=self.fullgraph)
        prologue, epilogue = [], []

        def hooks(event, tensor, what):
            if event == "prologue":
                if not any(f == what for f in prologue):
                    prologue.append(what)
            elif event == "epilogue":
                epilogue.append(what)
            else:
                tracer._event(event, tensor, what)

        fn = self._fn
        from ..core.dispatch import intercept

        with intercept(tracer._record, tracing=True, on_event=hooks):
            result = fn(*args, **kwargs)
        entry = _Entry(key)
        self._entries[key] = entry
        self._breaks = list(tracer.breaks)
        if tracer.breaks:
            from .split import build_split

            loc, reason = tracer.breaks[0]
            why = build_split(entry, tracer, prologue, self)
            entry.reason = f"graph break at {loc}: {reason}"
            if why is None:
                how = "the part before it runs compiled, the rest eagerly"
            else:
                entry.eager = True
                how = f"this signature runs eagerly ({why})"
            if (loc, reason) not in self._warned_breaks:
                self._warned_breaks.add((loc, reason))
                warnings.warn(f"ts.compile: {self.__name__}: {entry.reason}; {how}", stacklevel=3)
            logs.log("graph_breaks", f"{entry.reason}; {how}")
            return result
        out_leaves: list = []
        out_spec = _flatten(result, out_leaves)
        why = build_entry(entry, tracer, out_leaves, out_spec, uni, prologue, epilogue, self)
        if why is not None:
            if self.fullgraph:
                del self._entries[key]
                raise RuntimeError(f"ts.compile(fullgraph=True): {self.__name__}: {why}")
            entry.eager, entry.reason = True, why
            warnings.warn(f"ts.compile: {self.__name__}: {why}; this signature runs eagerly", stacklevel=3)
        elif entry.capture is not None:
            self._generalize(entry)
        return result

    def _replay(self, entry, arrays, leaves):
        for f in entry.prologue:
            f()
        outs = entry.plan(arrays) if self.mode != "check" else _checked_run(self, entry, arrays)
        for kind, x in entry.bumps:
            if kind == "vc":
                x[0] += 1
            elif kind == "arg":
                leaves[x]._version_counter[0] += 1
            else:
                x.grad._version_counter[0] += 1
        for p, k in entry.grad_bindings:
            p.grad = None if k is None else Tensor._wrap(outs[k])
        for f in entry.epilogue:
            f()
        res = []
        for (k, src), freed in zip(entry.out_tensors, entry.out_freed):
            if src is not None:
                res.append(src if not isinstance(src, int) else leaves[src])
            else:
                t = Tensor._wrap(outs[k])
                if freed:
                    t._requires_grad = True
                    t.grad_fn = _freed_node()
                res.append(t)
        if entry.backward is not None:
            from .backend import make_backward_node

            t = res[entry.backward["out_index"]]
            t._requires_grad = True
            t.grad_fn = make_backward_node(entry, outs, leaves)
        return _unflatten(entry.out_spec, res, [0])

    # -- inspection ---------------------------------------------------------------------------------------
    @property
    def graphs(self):
        """The optimized graph of each concrete version, then the symbolic graph of each version that serves
        many sizes (its dimensions named ``s0``, ``s1``, ...)."""
        return [e.graph for e in self._entries.values() if not e.eager] + [
            d.capture.graph for d in self._dynamic
        ]

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return types.MethodType(self, obj)


def _same_program(key, old, new) -> bool:
    """Whether two versions can be one program over other sizes: equal keys but for the argument sizes,
    and the same host callbacks and output structure."""
    if old.eager or key[1:] != new.key[1:] or len(key[0]) != len(new.key[0]):
        return False
    if any(a[1:] != b[1:] or len(a[0]) != len(b[0]) for a, b in zip(key[0], new.key[0])):
        return False
    same_bindings = len(old.grad_bindings) == len(new.grad_bindings) and all(
        p is q and j == k for (p, j), (q, k) in zip(old.grad_bindings, new.grad_bindings)
    )
    return (
        same_bindings
        and (old.n_user_out, old.out_spec, old.out_freed) == (new.n_user_out, new.out_spec, new.out_freed)
        and _same_callbacks(old.prologue, new.prologue)
        and _same_callbacks(old.epilogue, new.epilogue)
    )


def _same_callbacks(a, b) -> bool:
    def same(f, g):
        if isinstance(f, functools.partial) and isinstance(g, functools.partial):
            return f.func == g.func and f.args == g.args and f.keywords == g.keywords
        return f == g

    return len(a) == len(b) and all(same(f, g) for f, g in zip(a, b))


def _checked_run(cf, entry, arrays):
    """mode="check": run the compiled plan and, on copies of the inputs, the NumPy rendering of every
    node; warn about the first node whose output differs."""
    import numpy as np

    fused, oracle = entry.check
    ref = oracle([a.copy() for a in arrays])
    got = fused(arrays)
    for node in entry.graph.nodes:
        for v in node.outputs:
            if v.id in got and v.id in ref:
                a, b = np.asarray(got[v.id]), np.asarray(ref[v.id])
                close = a.shape == b.shape and (
                    np.array_equal(a, b)
                    if a.dtype.kind not in "fc"
                    else np.allclose(a, b, 1e-5, 1e-6, equal_nan=True)
                )
                if not close:
                    err = (
                        float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
                        if a.shape == b.shape
                        else None
                    )
                    warnings.warn(f"ts.compile(mode='check'): {cf.__name__}: first differing node: {node.text()} "
                                  f"(max abs difference {err})", stacklevel=4)  # fmt: skip
                    return [got[v.id] for v in entry.graph.outputs]
    return [got[v.id] for v in entry.graph.outputs]


def _freed_node():
    from ..core.dispatch import REGISTRY
    from ..core.graph import Node

    node = Node(REGISTRY["clone"], (), {}, (), (), None)
    node.free()
    return node


def _gather(entry, leaves):
    """The plan's input arrays for this call, or None if a captured state tensor no longer fits."""
    arrays = [t._data for t in leaves]
    for accessor, shape, dtype, rg in entry.state:
        kind, t = accessor
        if kind == "grad":
            t = t.grad
            if t is None:
                return None
        a = t._data
        if a.shape != shape or a.dtype != dtype or t._requires_grad != rg:
            return None
        arrays.append(a)
    for arr, written in entry.consts:
        arrays.append(arr.copy() if written else arr)
    return arrays


def compile(
    model=None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    mode: str | None = "default",
    backend: str = "auto",
    options: dict | None = None,
    disable: bool = False,
):
    """Compile a function or module: the first call traces it into a graph, later calls replay the
    optimized graph as fused native kernels (C) or NumPy.

    ``dynamic``: None (the default, as in PyTorch) or True: when a call traces again only because some
    argument dimensions changed size, the two traces are unified into one symbolic graph that serves every
    later size of those dimensions without tracing (sizes 0 and 1 stay specialized); each new size only
    instantiates that graph and compiles its kernels (kept in the disk cache). False: every new shape traces.

    Example:
        >>> @ts.compile
        ... def f(x):
        ...     return ts.sigmoid(x * 1.5 + 0.1) * x
        >>> x = ts.randn(4, 4)
        >>> ts.allclose(f(x), ts.sigmoid(x * 1.5 + 0.1) * x)
        True
    """
    if mode is None:
        mode = "default"
    if mode not in _MODES:
        raise ValueError(f"compile: mode must be one of {list(_MODES)}, got {mode!r}")
    if backend not in _BACKENDS:
        raise ValueError(f"compile: backend must be one of {list(_BACKENDS)}, got {backend!r}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"compile: options must be a dict, got {type(options).__name__}")

    if dynamic not in (None, True, False):
        raise TypeError(f"compile: dynamic must be None, True or False, got {dynamic!r}")

    def wrap(fn):
        if not callable(fn):
            raise TypeError(f"compile: expected a function or a Module, got {type(fn).__name__}")
        if disable:
            return fn
        return CompiledFunction(fn, fullgraph=fullgraph, dynamic=dynamic, mode=mode, backend=backend)

    if model is None:
        return wrap
    return wrap(model)


def reset() -> None:
    """Forget every compiled version (``torch.compiler.reset``); kernels stay in the disk cache."""
    for cf in list(_ALL):
        cf._entries.clear()
        cf._dynamic.clear()
        cf._last_key = None
        cf._warned_limit = False
