"""A strict tracer for tests: it records every op application seen by ``apply`` and forbids reading or
writing a traced tensor's values anywhere but inside an op's forward.

This is the contract the compiler and the exporters rely on: a function's whole effect (forward, backward,
optimizer step, buffer updates, random draws) is the list of ops the dispatcher saw. ``StrictTracer.replay``
re-runs that list on other input values, so a test can check that it reproduces eager execution.

Traced tensors get a subclass whose ``_data`` is guarded: outside an op's forward it yields only metadata
(shape, dtype, strides, flags); any value access or assignment raises ``StrictTraceError``.
"""

from __future__ import annotations

import numpy as np

import tessera as ts
from tessera.core.dispatch import apply, intercept
from tessera.core.tensor import Tensor

__all__ = ["StrictTraceError", "StrictTracer", "Node"]

_RAW = Tensor._data  # the slot descriptor: the tracer's own access to values
_META_ATTRS = frozenset({"shape", "dtype", "ndim", "size", "itemsize", "nbytes", "strides", "flags"})


class StrictTraceError(AssertionError):
    """A traced tensor's values were read or written outside an op's forward."""


class _MetaArray:
    """What a traced tensor's ``_data`` looks like outside an op: metadata only."""

    __slots__ = ("_arr",)

    def __init__(self, arr):
        object.__setattr__(self, "_arr", arr)

    def __getattr__(self, name):
        if name in _META_ATTRS:
            return getattr(object.__getattribute__(self, "_arr"), name)
        raise StrictTraceError(f"read of a traced tensor's values outside an op (ndarray.{name})")

    def __setattr__(self, name, value):
        raise StrictTraceError(f"write to a traced tensor's array outside an op (ndarray.{name})")

    def __len__(self):
        return object.__getattribute__(self, "_arr").shape[0]

    def _deny(self, *args, **kwargs):
        raise StrictTraceError("read or write of a traced tensor's values outside an op")

    __array__ = __getitem__ = __setitem__ = __iter__ = __bool__ = __float__ = __int__ = __index__ = _deny
    __add__ = __radd__ = __iadd__ = __sub__ = __rsub__ = __isub__ = __mul__ = __rmul__ = __imul__ = _deny
    __truediv__ = __itruediv__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __neg__ = _deny
    __hash__ = None


_GUARDED: dict[type, type] = {}
_ACTIVE: list[StrictTracer] = []


def _guarded_class(cls):
    g = _GUARDED.get(cls)
    if g is None:

        def get(self):
            arr = _RAW.__get__(self, cls)
            if _ACTIVE and _ACTIVE[-1].inside == 0:
                return _MetaArray(arr)
            return arr

        def set_(self, value):
            if _ACTIVE and _ACTIVE[-1].inside == 0:
                raise StrictTraceError("assignment to a traced tensor's ._data outside an op")
            _RAW.__set__(self, value)

        g = _GUARDED[cls] = type(
            f"Strict{cls.__name__}", (cls,), {"__slots__": (), "_data": property(get, set_)}
        )
    return g


class Ref:
    """A tensor in the recorded program: an external input (``snapshot`` holds its value at first sight) or
    the result of a recorded op."""

    __slots__ = ("index", "snapshot")

    def __init__(self, index, snapshot=None):
        self.index, self.snapshot = index, snapshot

    def __repr__(self):
        return f"%{self.index}{' (input)' if self.snapshot is not None else ''}"


class Node:
    """One recorded op application."""

    __slots__ = ("op", "args", "attrs", "out", "result")

    def __init__(self, op, args, attrs, out, result):
        self.op, self.args, self.attrs, self.out, self.result = op, args, attrs, out, result

    def __repr__(self):
        dest = f" -> into {self.out}" if self.out is not None else ""
        return f"{self.result} = {self.op.name}{self.args}{dest} {self.attrs or ''}"


class StrictTracer:
    """Context manager: record every op on this thread, guarding traced tensors' values.

    Example:
        >>> with StrictTracer() as tr:
        ...     tr.guard(w)
        ...     loss = (w * 2).sum()
        >>> env = tr.replay({w: new_w_values})
        >>> tr.value(env, loss)
    """

    def __init__(self):
        self.nodes: list[Node] = []
        self.refs: dict[int, Ref] = {}  # id(tensor) -> Ref
        self.by_array: dict[int, Ref] = {}  # id(ndarray) -> Ref: tensors wrapping a known array alias it
        self.inputs: dict[int, tuple[Ref, Tensor]] = {}
        self._alive: list = []  # keeps traced tensors and arrays alive so their ids stay unique
        self._swapped: list[tuple[Tensor, type]] = []
        self.inside = 0
        self._ctx = None

    # -- guarding -----------------------------------------------------------------------------------------
    def guard(self, *tensors) -> None:
        """Guard tensors (parameters, buffers, inputs, optimizer state) before the traced code first uses
        them, so that a bypass that reads them directly is caught too."""
        for t in _flatten(tensors):
            self._guard(t)
            self._ref(t)

    def _guard(self, t):
        cls = type(t)
        if cls.__name__.startswith("Strict") and cls in _GUARDED.values():
            return
        self._swapped.append((t, cls))
        t.__class__ = _guarded_class(cls)

    def __enter__(self):
        _ACTIVE.append(self)
        self._ctx = intercept(self._record)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        _ACTIVE.remove(self)
        for t, cls in reversed(self._swapped):
            t.__class__ = cls
        self._swapped.clear()
        return False

    # -- recording ----------------------------------------------------------------------------------------
    def _ref(self, t: Tensor) -> Ref:
        r = self.refs.get(id(t))
        if r is not None:
            return r
        arr = _RAW.__get__(t, Tensor)
        r = self.by_array.get(id(arr))
        if r is None:
            r = Ref(len(self.refs), snapshot=np.array(arr, copy=True))
            self.inputs[r.index] = (r, t)
            self.by_array[id(arr)] = r
        self.refs[id(t)] = r
        self._alive.append((t, arr))
        self._guard(t)
        return r

    def _map_args(self, args):
        return tuple(
            self._ref(a)
            if isinstance(a, Tensor)
            else self._map_args(a)
            if isinstance(a, (tuple, list))
            else a
            for a in args
        )

    def _record(self, call):
        args = self._map_args(call.args)
        out = self._ref(call.out) if call.out is not None else None
        self.inside += 1
        try:
            result = call.proceed()
        finally:
            self.inside -= 1
        known = self.refs.get(id(result))
        if known is None:
            known = Ref(len(self.refs))
            arr = _RAW.__get__(result, Tensor)
            self.refs[id(result)] = known
            self.by_array.setdefault(id(arr), known)
            self._alive.append((result, arr))
            self._guard(result)
        self.nodes.append(Node(call.op, args, call.attrs, out, known))
        return result

    # -- replay -------------------------------------------------------------------------------------------
    def replay(self, new_values: dict | None = None) -> dict[int, Tensor]:
        """Run the recorded ops again, eagerly and without autograd, with the inputs in ``new_values``
        (tensor -> array or tensor) replaced; the other inputs keep their recorded values. Returns the
        environment (``value(env, t)`` reads a tensor of the trace from it)."""
        subs = {}
        for t, v in (new_values or {}).items():
            ref = self.refs.get(id(t))
            if ref is None or ref.index not in self.inputs:
                raise KeyError(f"replay: {tuple(t.shape)} tensor is not an input of the trace")
            subs[ref.index] = v
        env: dict[int, Tensor] = {}
        for index, (ref, _) in self.inputs.items():
            v = subs.get(index, ref.snapshot)
            arr = np.array(_RAW.__get__(v, Tensor) if isinstance(v, Tensor) else v, copy=True)
            if arr.shape != ref.snapshot.shape or arr.dtype != ref.snapshot.dtype:
                raise ValueError(
                    f"replay: input %{index} expects {ref.snapshot.shape} {ref.snapshot.dtype}, got "
                    f"{arr.shape} {arr.dtype}"
                )
            env[index] = Tensor._wrap(arr)
        with ts.no_grad():
            for node in self.nodes:
                args = _resolve(node.args, env)
                out = env[node.out.index] if node.out is not None else None
                res = apply(node.op, args, node.attrs, out=out)
                env.setdefault(node.result.index, res)
        return env

    def value(self, env: dict[int, Tensor], t: Tensor) -> np.ndarray:
        """The array that tensor ``t`` of the trace holds in a replay's environment."""
        ref = self.refs.get(id(t))
        if ref is None:
            raise KeyError(f"value: this {tuple(t.shape)} tensor never appeared in the trace")
        return _RAW.__get__(env[ref.index], Tensor)

    def op_names(self) -> list[str]:
        return [n.op.name for n in self.nodes]


def _resolve(args, env):
    return tuple(
        env[a.index] if isinstance(a, Ref) else _resolve(a, env) if isinstance(a, tuple) else a for a in args
    )


def _flatten(obj, out=None):
    out = [] if out is None else out
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple, set)):
        for v in obj:
            _flatten(v, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _flatten(v, out)
    return out


def raw(t: Tensor) -> np.ndarray:
    """A tensor's array, read the way only the tracer may (for test assertions after tracing)."""
    return _RAW.__get__(t, Tensor)
