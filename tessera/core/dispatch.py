"""The op registry and the single dispatch point through which every tensor computation runs.

An ``OpDef`` holds everything about one primitive: its name, its NumPy forward, its shape/dtype rule
(used for error messages, symbolic shape inference and by the compiler), its gradient rule written with
Tessera ops, an optional reference decomposition, and slots for its lowerings (C, ONNX).

``apply`` runs an op eagerly and records a graph node when autograd needs one. State changes go through it
too: ``apply(op, args, out=t)`` writes an op's result into ``t`` (the in-place variants ``add_``...), and ops
declared with ``mutates=`` update some of their inputs in place (optimizer steps, running statistics,
random-key advances). Interceptors installed with ``intercept`` see every call, in place or not.
"""

from __future__ import annotations

import threading

import numpy as np

from . import dtypes as _dt
from .allocator import out_of_memory
from .grad_mode import STATE as _GRAD
from .graph import Node

__all__ = [
    "OpDef",
    "defop",
    "apply",
    "REGISTRY",
    "intercept",
    "is_tracing",
    "OpCall",
    "OpError",
    "TensorMeta",
    "infer_meta",
    "observe",
    "untraced",
    "promotion_target",
    "AUTOCAST_POLICY",
    "autocast_inputs",
]

REGISTRY: dict[str, OpDef] = {}
_NOATTRS: dict = {}
_FROM_NP = _dt._FROM_NP
_FLOAT = _dt._FLOAT

# Interceptor stacks are per thread; ``_ACTIVE`` counts installed interceptors over all threads so that the
# eager hot path pays one global load when none is installed anywhere.
_LOCAL = threading.local()
_ACTIVE = 0
_ACTIVE_LOCK = threading.Lock()


class OpError(RuntimeError):
    """Raised when an op is called with arguments it cannot handle (shape, dtype, value)."""


class OpDef:
    """One primitive op: forward (NumPy), shape/dtype rule and gradient rule, side by side.

    ``promote``: inputs are cast to their common dtype (PyTorch promotion) before the forward runs.
    ``to_float``: integer/bool results of promotion are computed in the default float dtype (``div``,
    ``exp``...). ``save_output``: the gradient rule reads ``ctx.out``. ``view``: the output may share the
    first input's memory, so it shares its version counter too (in-place checks see through views).
    ``inplace_forward(out, *arrays, **attrs)``: writes the result into ``out`` (``apply(..., out=t)``).
    ``mutates``: indices of the inputs the forward writes into (a state update such as ``adam_step``; an
    optional one may be None); the op returns the first, bumps their versions and records no autograd history.
    ``data_dependent``: the output shape depends on input values (``nonzero``), so no static rule exists.
    ``decompose``: a reference implementation in other Tessera ops (a test oracle for fused kernels, and
    what a compiler may lower instead). ``lowerings``: backend name -> lowering, filled by later work.
    """

    __slots__ = (
        "name",
        "forward",
        "grad",
        "shape_rule",
        "promote",
        "to_float",
        "save_output",
        "backward_name",
        "inplace_forward",
        "differentiable",
        "view",
        "mutates",
        "data_dependent",
        "decompose",
        "lowerings",
    )

    def __init__(
        self,
        name,
        forward,
        *,
        promote=False,
        to_float=False,
        save_output=False,
        differentiable=True,
        shape_rule=None,
        inplace_forward=None,
        view=False,
        mutates=(),
        data_dependent=False,
        decompose=None,
    ):
        if name in REGISTRY:
            raise ValueError(f"op {name!r} is already registered")
        self.name = name
        self.forward = forward
        self.grad = None
        self.shape_rule = shape_rule
        self.promote = promote
        self.to_float = to_float
        self.save_output = save_output
        self.differentiable = differentiable and not mutates
        self.inplace_forward = inplace_forward
        self.view = view
        self.mutates = tuple(mutates)
        self.data_dependent = data_dependent
        self.decompose = decompose
        self.lowerings = {}
        self.backward_name = "".join(p.capitalize() for p in name.split("_")) + "Backward0"
        REGISTRY[name] = self

    def defgrad(self, fn):
        """Decorator: register ``fn(ctx, grad_output) -> grads`` (one per input, ``None`` if not needed)."""
        self.grad = fn
        return fn

    def defshape(self, fn):
        """Decorator: register ``fn(*args, **attrs)`` that raises ``OpError`` for invalid inputs and returns
        the output's ``TensorMeta`` (args are tensors, ``TensorMeta``s or scalars; no data is read)."""
        self.shape_rule = fn
        return fn

    def defdecompose(self, fn):
        """Decorator: register a reference implementation ``fn(*args, **attrs)`` written in Tessera ops."""
        self.decompose = fn
        return fn

    def deflowering(self, backend: str):
        """Decorator: register the lowering of this op for ``backend`` (``"c"``, ``"onnx"``...)."""

        def deco(fn):
            self.lowerings[backend] = fn
            return fn

        return deco

    def defonnx(self, fn):
        """Decorator: register the ONNX lowering ``fn(g, *inputs, **attrs)`` (``g``: the exporter's graph
        builder, ``inputs``: ONNX value names or Python scalars) returning the output's ONNX name."""
        self.lowerings["onnx"] = fn
        return fn

    def __call__(self, *args, **attrs):
        return apply(self, args, attrs)

    def __repr__(self):
        return f"<op {self.name}>"


class OpCall:
    """One ``apply`` as an interceptor sees it: the op, its arguments and attributes, and the tensor an
    in-place call writes into (``out``; for ``mutates`` ops, the mutated inputs are ``op.mutates``).

    ``proceed()`` runs the call through the interceptors installed below this one, then eagerly, and
    returns the result (a new tensor, or the tensor written in place). ``meta()`` is the result's shape and
    dtype from the op's rule, without running it.
    """

    __slots__ = ("op", "args", "attrs", "out", "_level")

    def __init__(self, op, args, attrs, out, level):
        self.op, self.args, self.attrs, self.out, self._level = op, args, attrs, out, level

    @property
    def mutated(self) -> tuple:
        """The tensors this call writes into (``out``, or the inputs a ``mutates`` op updates)."""
        if self.out is not None:
            return (self.out,)
        return tuple(self.args[i] for i in self.op.mutates if self.args[i] is not None)

    def proceed(self):
        if self._level > 0:
            return _run_level(self._level - 1, self.op, self.args, self.attrs, self.out)
        saved = _LOCAL.level
        _LOCAL.level = 0
        try:
            return _eager(self.op, self.args, self.attrs, self.out)
        finally:
            _LOCAL.level = saved

    def meta(self) -> TensorMeta:
        return infer_meta(self.op, self.args, self.attrs)

    def __repr__(self):
        return f"OpCall({self.op.name}, attrs={self.attrs!r}{', in place' if self.mutated else ''})"


class intercept:
    """Context manager: route every ``apply`` on this thread through ``fn(call: OpCall) -> Tensor``.

    Interceptors stack: the innermost sees a call first and reaches the outer ones (and finally eager
    execution) through ``call.proceed()``. Calls made inside the interceptor itself, outside ``proceed``,
    bypass it and go to the interceptors below.

    ``tracing=True`` (the default) says the interceptor records a program that may run on other values:
    every op's attributes must then be static (hashable; a TypeError names the op), and ``is_tracing()``
    is true, so checks that read values are skipped. An observer that only watches real eager values (a
    logger, a shape checker) passes ``tracing=False``.

    Example:
        >>> seen = []
        >>> def log(call):
        ...     seen.append(call.op.name)
        ...     return call.proceed()
        >>> with ts.core.intercept(log):
        ...     y = ts.ones(2) * 3
        >>> "mul" in seen
        True
    """

    def __init__(self, fn, *, tracing: bool = True, on_event=None):
        if not callable(fn):
            raise TypeError(f"intercept: fn must be callable, got {type(fn).__name__}")
        if on_event is not None and not callable(on_event):
            raise TypeError(f"intercept: on_event must be callable, got {type(on_event).__name__}")
        self.fn = fn
        self.tracing = bool(tracing)
        self.on_event = on_event

    def __enter__(self):
        global _ACTIVE
        stack = getattr(_LOCAL, "stack", None)
        if stack is None:
            stack = _LOCAL.stack = []
            _LOCAL.tracing = []
            _LOCAL.events = []
            _LOCAL.level = 0
        stack.append(self.fn)
        _LOCAL.tracing.append(self.tracing)
        _LOCAL.events.append(self.on_event)
        _LOCAL.level = len(stack)
        with _ACTIVE_LOCK:
            _ACTIVE += 1
        return self

    def __exit__(self, *exc):
        global _ACTIVE
        stack = _LOCAL.stack
        if not stack or stack[-1] is not self.fn:
            raise RuntimeError("intercept: interceptors must be removed in the reverse order of installation")
        stack.pop()
        _LOCAL.tracing.pop()
        _LOCAL.events.pop()
        _LOCAL.level = len(stack)
        with _ACTIVE_LOCK:
            _ACTIVE -= 1
        return False


def is_tracing() -> bool:
    """True while a tracing interceptor is installed on this thread (a program is being recorded).

    Checks that read tensor values (index bounds, target ranges) are skipped then: a trace must not
    depend on the values it was recorded with.
    """
    level = getattr(_LOCAL, "level", 0) if _ACTIVE else 0
    return level > 0 and any(_LOCAL.tracing[:level])


def observe(event: str, tensor, what: str = "") -> None:
    """Tell the installed interceptors about something that is not an op: ``"read"`` (Python looks at a
    tensor's values: ``item()``, ``bool()``, ``numpy()``, printing; ``what`` names it) or ``"create"`` (a
    tensor was made from host data by a factory such as ``ts.tensor`` or ``ts.zeros``). A tracer turns a
    read into a graph break and a creation into a constant of its program. ``"prologue"``/``"epilogue"``
    (``tensor`` is the owner, ``what`` a callable): Python bookkeeping a replayed program must redo before
    or after each run (an optimizer syncing its hyperparameters, a scheduler's step)."""
    level = getattr(_LOCAL, "level", 0) if _ACTIVE else 0
    for handler in reversed(_LOCAL.events[:level] if level else ()):
        if handler is not None:
            handler(event, tensor, what)


# Bumped whenever Python rebinds the tensors a program may have captured: a module's parameters, buffers or
# submodules, or an optimizer's state and groups. A compiled function guards on it (one integer compare).
STRUCTURE_EPOCH = [0]


def bump_structure() -> None:
    """Note that module/optimizer structure changed (captured programs must re-check what they hold)."""
    STRUCTURE_EPOCH[0] += 1


class untraced:
    """Context manager: ops run eagerly past every interceptor on this thread (host-side bookkeeping
    that a captured program redoes itself, such as syncing an optimizer's hyperparameter tensors from its
    Python numbers before each run)."""

    def __enter__(self):
        self._saved = getattr(_LOCAL, "level", 0)
        if self._saved:
            _LOCAL.level = 0
        return self

    def __exit__(self, *exc):
        if self._saved:
            _LOCAL.level = self._saved
        return False


def _intercepted(op, args, attrs, out):
    if attrs and any(_LOCAL.tracing[: _LOCAL.level]):
        bad = [k for k, v in attrs.items() if not _static(v)]
        if bad:
            raise TypeError(
                f"{op.name}: attribute(s) {bad} are not static hashable values; arrays must be passed as tensor "
                "inputs, not attributes"
            )
    return _run_level(_LOCAL.level - 1, op, args, attrs, out)


def _static(v) -> bool:
    """Whether an attribute value is static: hashable, or a slice or tuple of static values (slices are
    immutable but only hashable from Python 3.12)."""
    c = v.__class__
    if c is slice:
        return _static(v.start) and _static(v.stop) and _static(v.step)
    if c is tuple:
        return all(_static(x) for x in v)
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _run_level(level, op, args, attrs, out):
    # While interceptor ``level`` runs, the calls it makes itself go to the interceptors below it.
    saved = _LOCAL.level
    _LOCAL.level = level
    try:
        return _LOCAL.stack[level](OpCall(op, args, attrs, out, level))
    finally:
        _LOCAL.level = saved


class TensorMeta:
    """Shape and dtype of a tensor that need not exist: what the compiler propagates through a graph."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype

    @property
    def ndim(self):
        return len(self.shape)

    def __eq__(self, other):
        return isinstance(other, TensorMeta) and self.shape == other.shape and self.dtype is other.dtype

    def __repr__(self):
        return f"TensorMeta({self.shape}, {self.dtype.name})"


def infer_meta(op: OpDef, args: tuple, attrs: dict = _NOATTRS) -> TensorMeta:
    """The output shape and dtype of ``op`` on ``args`` (tensors, ``TensorMeta`` or scalars), from the
    op's shape rule alone: no data is read and nothing is computed.

    Example:
        >>> m = ts.core.TensorMeta
        >>> ts.core.infer_meta(ts.core.REGISTRY["add"], (m((3, 1), ts.int32), m((4,), ts.float16)))
        TensorMeta((3, 4), float16)
    """
    if op.shape_rule is None:
        raise OpError(f"{op.name}: the op has no shape rule")
    res = op.shape_rule(*args, **attrs)
    if not isinstance(res, TensorMeta):
        raise TypeError(f"{op.name}: the shape rule returned {type(res).__name__}, not a TensorMeta")
    return res


def defop(name, **kw):
    """Decorator form: ``@defop("exp", to_float=True, save_output=True) def exp(x): return np.exp(x)``."""

    def deco(fn):
        return OpDef(name, fn, **kw)

    return deco


def promotion_target(op: OpDef, args: tuple):
    """The dtype ``op`` computes in for ``args`` (tensors, arrays, ``TensorMeta``s or Python scalars):
    PyTorch's promotion over the inputs, widened to the default float for ``to_float`` ops."""
    key = []
    for a in args:
        if isinstance(a, np.ndarray):
            key.append((0 if a.ndim else 1, _FROM_NP[a.dtype]))
        elif isinstance(a, (Tensor, TensorMeta)):
            key.append((0 if len(a.shape) else 1, a.dtype))
        elif a is not None:
            sd = _dt._scalar_dtype(a)
            if sd is not None:
                key.append((2, sd))
    target = _dt.result_type_key(tuple(key))
    if op.to_float and target.category != _FLOAT:
        target = _dt._default_float
    return target


def convert_scalar(op: OpDef, a, target):
    """A Python scalar argument as the NumPy scalar ``op`` computes with when promoting to ``target``."""
    if target.category == _FLOAT:
        return target.np.type(a)  # keeps bfloat16 from widening to float32
    if a.__class__ is int and target.category != _dt._BOOL:
        try:
            return np.int64(a).astype(target.np)  # wraps out-of-range ints, as PyTorch does
        except OverflowError:
            raise OpError(
                f"{op.name}: value {a} cannot be converted to type {target.name} without overflow"
            ) from None
    if a.__class__ is float:
        raise OpError(f"{op.name}: cannot combine a float scalar with a {target} result")
    return a


def _promote(op, args, arrays):
    target = promotion_target(op, args)
    npd = target.np
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            if a.dtype is not npd:
                arrays[i] = a.astype(npd)
        elif a.__class__ is float or a.__class__ is int or a.__class__ is bool:
            arrays[i] = convert_scalar(op, a, target)
    return arrays


def _explain(op, exc, args, attrs):
    """Turn a backend failure into an error naming the op and the argument shapes."""
    if isinstance(exc, OpError):
        return exc
    if isinstance(exc, MemoryError) or (isinstance(exc, ValueError) and "array is too big" in str(exc)):
        try:
            meta = infer_meta(op, args, attrs)
            return out_of_memory(op.name, meta.shape, meta.dtype.np)
        except Exception:  # noqa: BLE001 - no rule for this op: fall through to the generic message
            pass
    if op.shape_rule is not None:
        try:
            op.shape_rule(*args, **attrs)
        except OpError as e:
            return e
    shapes = ", ".join(f"{tuple(a.shape)} {a.dtype.name}" if isinstance(a, Tensor) else repr(a) for a in args)
    # The plain builtin class: NumPy's subclasses (e.g. _UFuncOutputCastingError) take other constructor args.
    cls = next((c for c in (TypeError, IndexError, ValueError) if isinstance(exc, c)), OpError)
    return cls(f"{op.name}: invalid arguments ({shapes}): {exc}")


# -- autocast (mixed precision) -----------------------------------------------------------------------------
# PyTorch's CPU autocast lists, by registry op name: "lower" ops run in the autocast dtype (bfloat16 by
# default), "fp32" ops in float32, "promote" ops in the widest floating dtype among their inputs. Only
# floating tensors other than float64 are cast; the casts are ``cast`` ops, so gradients flow back to the
# float32 originals. Ops not listed run in their inputs' dtypes. (The public functions built from several
# ops, such as ``mse_loss``, follow the ops they are built from.)
AUTOCAST_POLICY: dict[str, str] = {
    **dict.fromkeys(("matmul", "einsum", "convolution", "scaled_dot_product_attention"), "lower"),
    **dict.fromkeys(("prod", "binary_cross_entropy", "cross_entropy", "nll_loss"), "fp32"),
    **dict.fromkeys(("cat", "stack"), "promote"),
}
AUTOCAST_DEFAULT_DTYPES = {"cpu": "bfloat16", "cuda": "float16", "xpu": "bfloat16", "mps": "float16"}
_AUTOCAST_THREADS = 0  # threads with CPU autocast on: the hot path checks this one global first
_AUTOCAST_LOCK = threading.Lock()


def _autocast_local():
    st = getattr(_LOCAL, "autocast", None)
    if st is None:
        st = _LOCAL.autocast = {
            "enabled": dict.fromkeys(AUTOCAST_DEFAULT_DTYPES, False),
            "dtype": {k: getattr(_dt, v) for k, v in AUTOCAST_DEFAULT_DTYPES.items()},
            "cache_enabled": True,
            "cache": {},
            "depth": 0,
        }
    return st


def _autocast_device(device_type) -> str:
    if not isinstance(device_type, str):
        raise TypeError(
            f"autocast: device_type must be a string such as 'cpu', got {type(device_type).__name__}"
        )
    if device_type not in AUTOCAST_DEFAULT_DTYPES:
        raise RuntimeError(
            f"User specified an unsupported autocast device_type '{device_type}'; expected one of "
            f"{', '.join(AUTOCAST_DEFAULT_DTYPES)}"
        )
    return device_type


def autocast_state(device_type: str) -> tuple:
    """``(enabled, dtype)`` of autocast for ``device_type`` on this thread."""
    st = _autocast_local()
    d = _autocast_device(device_type)
    return st["enabled"][d], st["dtype"][d]


def set_autocast_state(device_type: str, *, enabled=None, dtype=None) -> None:
    """Change autocast for ``device_type`` on this thread (what ``ts.autocast`` enters and exits with)."""
    global _AUTOCAST_THREADS
    st = _autocast_local()
    d = _autocast_device(device_type)
    if dtype is not None:
        st["dtype"][d] = dtype
    if enabled is not None and bool(enabled) != st["enabled"][d]:
        st["enabled"][d] = bool(enabled)
        if d == "cpu":
            with _AUTOCAST_LOCK:
                _AUTOCAST_THREADS += 1 if enabled else -1


def autocast_cache_enabled() -> bool:
    return _autocast_local()["cache_enabled"]


def set_autocast_cache_enabled(enabled: bool) -> None:
    _autocast_local()["cache_enabled"] = bool(enabled)


def clear_autocast_cache() -> None:
    _autocast_local()["cache"].clear()


def _autocast_args(policy: str, args: tuple) -> tuple:
    """``args`` with their eligible floating tensors cast as the op's autocast ``policy`` says."""
    st = _LOCAL.autocast
    if policy == "lower":
        target = st["dtype"]["cpu"]
    elif policy == "fp32":
        target = _dt.float32
    else:
        target = st["dtype"]["cpu"]
        for a in args:
            if isinstance(a, Tensor) and a.dtype.is_floating_point:
                target = _dt.promote_types(target, a.dtype)
    cache = st["cache"] if st["cache_enabled"] and not is_tracing() else None
    cast = _tensor_module._OPS.cast
    out = []
    for a in args:
        if isinstance(a, Tensor):
            d = a.dtype
            if d is not target and d.is_floating_point and d is not _dt.float64:
                if cache is not None and a._requires_grad and a.grad_fn is None:
                    # a parameter: cast once per autocast region (the cache is dropped on exit)
                    key = (id(a), target)
                    hit = cache.get(key)
                    if hit is None or hit[0] is not a or hit[1] != a._version_counter[0]:
                        hit = cache[key] = (a, a._version_counter[0], cast(a, target))
                    a = hit[2]
                else:
                    a = cast(a, target)
        out.append(a)
    return tuple(out)


def autocast_inputs(policy: str, *tensors) -> tuple:
    """``tensors`` cast as autocast ``policy`` (``"lower"``, ``"fp32"``, ``"promote"``) says when CPU
    autocast is on, else unchanged: for a public function built from several ops that PyTorch autocasts as
    one (``linear``'s bias add, ``mse_loss``), called before its first op."""
    if policy not in ("lower", "fp32", "promote"):
        raise ValueError(f"autocast_inputs: unknown policy {policy!r}; expected 'lower', 'fp32' or 'promote'")
    st = getattr(_LOCAL, "autocast", None) if _AUTOCAST_THREADS else None
    if st is None or not st["enabled"]["cpu"]:
        return tensors
    return _autocast_args(policy, tensors)


def apply(op: OpDef, args: tuple, attrs: dict = _NOATTRS, out=None):
    """Run ``op`` on ``args`` (tensors and scalars) with keyword ``attrs``; the one dispatch point.

    With ``out=t`` the result is written into ``t`` in place (no autograd history is recorded; ``t``'s
    version is bumped). Ops declared with ``mutates`` write into those inputs and return the first.
    Under ``ts.autocast`` the ops of ``AUTOCAST_POLICY`` first cast their inputs.
    """
    if _AUTOCAST_THREADS and out is None and op.name in AUTOCAST_POLICY:
        st = getattr(_LOCAL, "autocast", None)
        if st is not None and st["enabled"]["cpu"]:
            args = _autocast_args(AUTOCAST_POLICY[op.name], args)
    if _ACTIVE and getattr(_LOCAL, "level", 0):
        return _intercepted(op, args, attrs, out)
    if out is not None:
        return _eager_into(op, args, attrs, out)
    if op.mutates:
        return _eager_mutating(op, args, attrs)
    arrays = []
    needs = False
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._data)
            if a._requires_grad:
                needs = True
        else:
            arrays.append(a)
    if op.promote:
        t0 = arrays[0]
        if len(arrays) == 2 and t0.__class__ is np.ndarray:
            t1 = arrays[1]
            c1 = t1.__class__
            if c1 is np.ndarray:
                fast = t0.dtype is t1.dtype and t0.dtype.kind == "f"
            else:
                fast = (c1 is float or c1 is int) and t0.dtype.kind == "f"
            if not fast:
                arrays = _promote(op, args, arrays)
        else:
            arrays = _promote(op, args, arrays)
    elif op.to_float and arrays[0].dtype.kind not in "fV":
        arrays[0] = arrays[0].astype(_dt._default_float.np)
    try:
        out = op.forward(*arrays, **attrs)
    except Exception as e:  # noqa: BLE001 - re-raised with the op's context
        raise _explain(op, e, args, attrs) from None
    if out.__class__ is not np.ndarray:
        out = np.asarray(out)
    # Tensor._init, inlined: this is the hottest line of the eager path
    t = _new_tensor(Tensor)
    t._data = out
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._version_counter = [0]
    t._base = None
    t._view_ops = ()
    t._hooks = None
    if op.view and out.base is not None:
        src = args[0]
        t._version_counter = src._version_counter
        if not op.differentiable:
            pass  # an alias such as ``detach``: shared memory and version, no view history
        elif src._base is not None:
            t._base = src._base
            t._view_ops = src._view_ops + ((op.name, tuple(attrs.items())),)
        else:
            t._base = src
            t._view_ops = ((op.name, tuple(attrs.items())),)
    if needs and _GRAD.enabled and op.grad is not None and _FROM_NP[out.dtype].category == _FLOAT:
        edges = []
        needs_grad = []
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad:
                edges.append(a.grad_fn if a.grad_fn is not None else a)
                needs_grad.append(True)
            else:
                edges.append(None)
                needs_grad.append(False)
        node = t.grad_fn = Node(op, args, attrs, edges, needs_grad, out if op.save_output else None)
        if op.save_output:
            node._out_vc, node._out_version = t._version_counter, t._version_counter[0]
        t._requires_grad = True
    return t


def _eager(op, args, attrs, out):
    """``apply`` past the interceptors (which ``OpCall.proceed`` and ``infer_meta`` have already passed)."""
    saved = getattr(_LOCAL, "level", 0)
    if not saved:
        return apply(op, args, attrs, out)
    _LOCAL.level = 0
    try:
        return apply(op, args, attrs, out)
    finally:
        _LOCAL.level = saved


def _check_writable(opname, t):
    if t._requires_grad and _GRAD.enabled:
        what = "a leaf Variable" if t.grad_fn is None else "a tensor"
        raise RuntimeError(
            f"{opname}: {what} that requires grad is being used in an in-place operation outside autograd; "
            "run it under ts.no_grad()"
        )


def _keeps_dtype(args, dtype) -> bool:
    """Whether promoting ``args`` surely gives ``dtype``: tensors all of it, and only Python numbers of its
    kind besides (the common ``p.add_(g)`` / ``x.mul_(0.5)``), so the castability check can be skipped."""
    kind = dtype.kind
    for a in args:
        c = a.__class__
        if c is float:
            if kind != "f":
                return False
        elif c is int:
            if kind not in "fiu":
                return False
        elif not isinstance(a, Tensor) or a._data.dtype is not dtype:
            return False
    return True


def _eager_into(op, args, attrs, out):
    """``apply(op, args, out=out)``: compute ``op`` and write the result into ``out``'s memory."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{op.name}: out must be a Tensor, got {type(out).__name__}")
    _check_writable(op.name, out)
    dst = out._data
    if op.inplace_forward is None:
        res = _eager(op, args, attrs, None)._data
        if res.shape != dst.shape:
            raise RuntimeError(
                f"{op.name}_: output with shape {list(dst.shape)} doesn't match the broadcast shape "
                f"{list(res.shape)}"
            )
        if res.dtype != dst.dtype and not _dt.can_cast(_FROM_NP[res.dtype], out.dtype):
            raise RuntimeError(
                f"{op.name}_: result type {_FROM_NP[res.dtype].name} can't be cast to the desired output type "
                f"{out.dtype.name}"
            )
        np.copyto(dst, res, casting="unsafe")
        out._version_counter[0] += 1
        return out
    arrays = [a._data if isinstance(a, Tensor) else a for a in args]
    if op.promote and not _keeps_dtype(args, dst.dtype):
        meta = op.shape_rule(*args, **attrs) if op.shape_rule is not None else None
        rt = getattr(meta, "dtype", None) or _dt.result_type(*args)
        if op.to_float and not rt.is_floating_point:
            rt = _dt._default_float
        if rt.np != dst.dtype and not _dt.can_cast(rt, out.dtype):
            raise RuntimeError(
                f"{op.name}_: result type {rt.name} can't be cast to the desired output type {out.dtype.name}"
            )
    try:
        op.inplace_forward(dst, *arrays, **attrs)
    except Exception as e:  # noqa: BLE001
        if "non-broadcastable output" in str(e):
            try:
                full = list(np.broadcast_shapes(*(np.shape(a) for a in arrays)))
            except ValueError:
                full = "incompatible"
            raise RuntimeError(
                f"{op.name}_: output with shape {list(dst.shape)} doesn't match the broadcast shape {full}"
            ) from None
        raise _explain(op, e, args, attrs) from None
    out._version_counter[0] += 1
    return out


def _eager_mutating(op, args, attrs):
    """An op declared with ``mutates``: its forward updates those inputs' memory in place."""
    targets = [args[i] for i in op.mutates if args[i] is not None]  # optional state may be absent (None)
    for t in targets:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op.name}: the tensor it updates must be a Tensor, got {type(t).__name__}")
        _check_writable(op.name, t)
    arrays = [a._data if isinstance(a, Tensor) else a for a in args]
    try:
        op.forward(*arrays, **attrs)
    except Exception as e:  # noqa: BLE001
        raise _explain(op, e, args, attrs) from None
    bumped = []
    for t in targets:
        vc = t._version_counter
        if not any(vc is b for b in bumped):
            vc[0] += 1
            bumped.append(vc)
    return targets[0]


from . import tensor as _tensor_module  # noqa: E402
from .tensor import Tensor, _detach_forward  # noqa: E402  (Tensor's methods are bound to these ops)

_new_tensor = object.__new__
_tensor_module._dispatch = apply
_tensor_module._observe = observe
_tensor_module._hooks_active = lambda: _ACTIVE
_tensor_module._DETACH = OpDef(
    "detach",
    _detach_forward,
    view=True,
    differentiable=False,
    shape_rule=lambda x: TensorMeta(x.shape, x.dtype),
)
_tensor_module._DETACH.defonnx(lambda g, x: g.op("Identity", x))  # its ONNX lowering (ts.onnx.export)
