"""The op registry and the single dispatch point through which every tensor computation runs.

An ``OpDef`` holds everything about one primitive: its name, its NumPy forward, its shape/dtype rule
(used for error messages and, later, by the compiler), and its gradient rule written with Tessera ops.
``apply`` runs an op eagerly and records a graph node when autograd needs one; the compiler will swap in
a tracing interceptor through ``set_interceptor``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE as _GRAD
from ..autograd.graph import Node
from . import dtypes as _dt

__all__ = ["OpDef", "defop", "apply", "REGISTRY", "set_interceptor", "OpError", "TensorMeta", "infer_meta"]

REGISTRY: dict[str, OpDef] = {}
_NOATTRS: dict = {}
_interceptor = None
_FROM_NP = _dt._FROM_NP
_FLOAT = _dt._FLOAT


class OpError(RuntimeError):
    """Raised when an op is called with arguments it cannot handle (shape, dtype, value)."""


def set_interceptor(fn):
    """Route every ``apply`` through ``fn(op, args, attrs)`` (``None`` restores eager execution)."""
    global _interceptor
    prev, _interceptor = _interceptor, fn
    return prev


class OpDef:
    """One primitive op: forward (NumPy), shape/dtype rule and gradient rule, side by side.

    ``promote``: inputs are cast to their common dtype (PyTorch promotion) before the forward runs.
    ``to_float``: integer/bool results of promotion are computed in the default float dtype (``div``,
    ``exp``...). ``save_output``: the gradient rule reads ``ctx.out``. ``view``: the output may share the
    first input's memory, so it shares its version counter too (in-place checks see through views).
    ``inplace_forward(out, *arrays, **attrs)``: writes the result into ``out`` when no graph is recorded.
    ``data_dependent``: the output shape depends on input values (``nonzero``), so no static rule exists.
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
        "__dict__",
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
        data_dependent=False,
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
        self.differentiable = differentiable
        self.inplace_forward = inplace_forward
        self.view = view
        self.data_dependent = data_dependent
        self.backward_name = "".join(p.capitalize() for p in name.split("_")) + "Backward0"
        REGISTRY[name] = self

    def defgrad(self, fn):
        """Decorator: register ``fn(ctx, grad_output) -> grads`` (one per input, ``None`` if not needed)."""
        self.grad = fn
        return fn

    def defshape(self, fn):
        """Decorator: register ``fn(*args, **attrs)`` that raises ``OpError`` for invalid inputs and returns
        the output's (shape, dtype)."""
        self.shape_rule = fn
        return fn

    def __call__(self, *args, **attrs):
        return apply(self, args, attrs)

    def __repr__(self):
        return f"<op {self.name}>"


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
    """The output shape and dtype of ``op`` on ``args`` (tensors, ``TensorMeta`` or scalars), without
    computing on real data.

    An op's own ``shape_rule`` answers when it returns a ``TensorMeta``; otherwise the forward runs on
    zero-strided stand-ins (one element of memory whatever the shape), through the same promotion as eager.
    """
    if op.shape_rule is not None:
        res = op.shape_rule(*args, **attrs)
        if isinstance(res, TensorMeta):
            return res
    fakes = tuple(
        Tensor._wrap(np.broadcast_to(np.zeros((), a.dtype.np), a.shape)) if isinstance(a, TensorMeta) else a
        for a in args
    )
    prev = set_interceptor(None)
    try:
        with _no_grad_ctx():
            out = apply(op, fakes, attrs)
    finally:
        set_interceptor(prev)
    return TensorMeta(out._data.shape, _FROM_NP[out._data.dtype])


def _no_grad_ctx():
    from ..autograd.grad_mode import no_grad

    return no_grad()


def defop(name, **kw):
    """Decorator form: ``@defop("exp", to_float=True, save_output=True) def exp(x): return np.exp(x)``."""

    def deco(fn):
        return OpDef(name, fn, **kw)

    return deco


def _promote(op, args, arrays):
    key = []
    for a in args:
        if isinstance(a, (Tensor, np.ndarray)):
            d = a._data if isinstance(a, Tensor) else a
            key.append((0 if d.ndim else 1, _FROM_NP[d.dtype]))
        elif a is not None:
            sd = _dt._scalar_dtype(a)
            if sd is not None:
                key.append((2, sd))
    target = _dt.result_type_key(tuple(key))
    if op.to_float and target.category != _FLOAT:
        target = _dt._default_float
    npd = target.np
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            if a.dtype is not npd:
                arrays[i] = a.astype(npd)
        elif a.__class__ is float or a.__class__ is int or a.__class__ is bool:
            if target.category == _FLOAT:
                arrays[i] = npd.type(a)  # keeps bfloat16 from widening to float32
            elif a.__class__ is int and target.category != _dt._BOOL:
                try:
                    arrays[i] = np.int64(a).astype(npd)  # wraps out-of-range ints, as PyTorch does
                except OverflowError:
                    raise OpError(
                        f"{op.name}: value {a} cannot be converted to type {target.name} without overflow"
                    ) from None
            elif a.__class__ is float:
                raise OpError(f"{op.name}: cannot combine a float scalar with a {target} result")
    return arrays


def _explain(op, exc, args, attrs):
    """Turn a backend failure into an error naming the op and the argument shapes."""
    if isinstance(exc, OpError):
        return exc
    if op.shape_rule is not None:
        try:
            op.shape_rule(*args, **attrs)
        except OpError as e:
            return e
    shapes = ", ".join(f"{tuple(a.shape)} {a.dtype.name}" if isinstance(a, Tensor) else repr(a) for a in args)
    # The plain builtin class: NumPy's subclasses (e.g. _UFuncOutputCastingError) take other constructor args.
    cls = next((c for c in (TypeError, IndexError, ValueError) if isinstance(exc, c)), OpError)
    return cls(f"{op.name}: invalid arguments ({shapes}): {exc}")


def apply(op: OpDef, args: tuple, attrs: dict = _NOATTRS):
    """Run ``op`` on ``args`` (tensors and scalars) with keyword ``attrs``; the one dispatch point."""
    if _interceptor is not None:
        return _interceptor(op, args, attrs)
    arrays = []
    needs = False
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._data)
            if a._rg:
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
    t = Tensor.__new__(Tensor)
    t._data = out
    t._rg = False
    t.grad = None
    t.grad_fn = None
    t._vc = [0]
    t._base = None
    t._hooks = None
    if op.view and out.base is not None:
        src = args[0]
        t._vc = src._vc
        if src._base is not None:
            t._base = src._base
            t._vfn = src._vfn + ((op, attrs),)
        else:
            t._base = src
            t._vfn = ((op, attrs),)
    if needs and _GRAD.enabled and op.grad is not None and _FROM_NP[out.dtype].category == _FLOAT:
        edges = []
        needs_grad = []
        for a in args:
            if isinstance(a, Tensor) and a._rg:
                edges.append(a.grad_fn if a.grad_fn is not None else a)
                needs_grad.append(True)
            else:
                edges.append(None)
                needs_grad.append(False)
        node = t.grad_fn = Node(op, args, attrs, edges, needs_grad, out if op.save_output else None)
        if op.save_output:
            node._out_vc, node._out_version = t._vc, t._vc[0]
        t._rg = True
    return t


from .tensor import Tensor  # noqa: E402  (Tensor's methods are bound to ops defined through this module)
