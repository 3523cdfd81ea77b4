"""Graph capture: run a function eagerly once under an interceptor and record every op call as an IR node.

Tracing by running keeps eager semantics for the traced call itself (its results are eager's), sees through
Python control flow that does not depend on tensor values, and records the whole effect of the call:
forward ops, the gradient rules the autograd engine runs, ``.grad`` accumulation, optimizer updates, buffer
updates and random draws, because all of them go through ``apply``. Tensors the function reaches that it did
not create (parameters, gradients, optimizer state, the random generator) become ``state`` inputs; tensors
made from host data inside it become ``const`` inputs. Python reading a tensor's value (``item()``,
``bool()``, printing) is a graph break: the program would depend on values the trace cannot see.
"""

from __future__ import annotations

import os
import sys
import weakref

import numpy as np

from ..core.dispatch import TensorMeta, intercept
from ..core.tensor import Tensor
from .ir import Graph

__all__ = ["Tracer", "GraphBreak", "user_location"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class GraphBreak(RuntimeError):
    """Raised (with ``fullgraph=True``) when a compiled function does something a graph cannot hold."""

    def __init__(self, reason: str, loc: str | None):
        self.reason, self.loc = reason, loc
        super().__init__(f"{loc or '<unknown>'}: graph break: {reason}")


def user_location(skip_dirs: tuple = ()) -> str | None:
    """``file:line`` of the innermost frame outside the Tessera package (the user's call)."""
    f = sys._getframe(1)
    while f is not None:
        fname = f.f_code.co_filename
        if not fname.startswith(_PKG_DIR) and not fname.startswith("<frozen"):
            return f"{fname}:{f.f_lineno}"
        f = f.f_back
    return None


class Tracer:
    """Records one eager run as a ``Graph``.

    ``args`` are the function's tensor arguments (graph inputs of kind ``arg``, in order). ``grad_owner``
    maps ``id(gradient tensor)`` to its parameter for gradients that exist when tracing starts: those are
    read through the parameter at replay (``param.grad`` may be another object then), so they are inputs of
    kind ``state`` with ``accessor=("grad", param)``.
    """

    def __init__(self, args=(), *, grad_owner=None, fullgraph=False, forward=None):
        self.graph = Graph()
        self.vals: dict[int, tuple] = {}  # id(tensor) -> (tensor, current Value); strong refs stop id reuse
        self.state: list[tuple] = []  # (accessor, Value): ("ref", tensor) or ("grad", param)
        self.consts: list[tuple] = []  # (array snapshot, Value)
        self.arrays: dict[
            int, np.ndarray
        ] = {}  # value id -> the array seen while tracing (layouts, aliasing)
        self.by_array: dict[int, tuple] = {}  # id(array) -> (array, latest Value living in it)
        self.breaks: list[tuple] = []  # (loc, reason)
        # From the first break on nothing is recorded; what the rest of the call still reads of the values
        # recorded before it is noted (a split version must give Python those values).
        self.break_at = None
        self.used_after: set[int] = set()
        self.fullgraph = fullgraph
        self.grad_owner = grad_owner or {}
        self.produced: list = []  # weakrefs to every tensor a node produced (escape analysis)
        # A backward trace reads the forward's values: those become inputs ("saved", forward Value).
        self.forward = forward
        self.args = list(args)
        for i, t in enumerate(args):
            v = self.graph.add_input(t.shape, t.dtype, "arg", name=f"arg{i}")
            self._bind(t, v)

    def _bind(self, t, v):
        self.vals[id(t)] = (t, v)
        self.arrays[v.id] = t._data
        self.by_array[id(t._data)] = (t._data, v)

    def lookup(self, t):
        """The current Value of ``t`` if this trace has seen it (or its buffer), else None."""
        e = self.vals.get(id(t))
        if e is not None and e[0] is t:
            return e[1]
        e = self.by_array.get(id(t._data))
        if e is not None and e[0] is t._data:  # another tensor over a traced buffer (a node's saved output)
            self.vals[id(t)] = (t, e[1])
            return e[1]
        return None

    def value(self, t):
        """The current Value of tensor ``t``, capturing it as a state input on first sight."""
        v = self.lookup(t)
        if v is not None:
            return v
        fv = self.forward.lookup(t) if self.forward is not None else None
        if fv is not None:
            v = self.graph.add_input(t.shape, t.dtype, "state")
            self.state.append((("saved", fv), v))
            self._bind(t, v)
            return v
        owner = self.grad_owner.get(id(t))
        accessor = ("grad", owner) if owner is not None and owner.grad is t else ("ref", t)
        v = self.graph.add_input(t.shape, t.dtype, "state")
        self.state.append((accessor, v))
        self._bind(t, v)
        return v

    def install(self):
        return intercept(self._record, tracing=True, on_event=self._event)

    # -- interceptor ---------------------------------------------------------------------------------------
    def _record(self, call):
        res = call.proceed()
        if self.breaks:  # the rest of this call runs eagerly
            for a in (*call.args, call.out):
                if isinstance(a, Tensor):
                    self._note_use(a)
            return res
        op, args = call.op, call.args
        ins = [self.value(a) if isinstance(a, Tensor) else a for a in args]
        loc = user_location()
        g = self.graph
        if call.out is not None:
            out = call.out
            node = g.add_node(op.name, [self.value(out)] + ins, call.attrs, [_meta(out)], (0,), True, loc)
            self._bind(out, node.outputs[0])
        elif op.mutates:
            idx = [i for i in op.mutates if args[i] is not None]
            node = g.add_node(op.name, ins, call.attrs, [_meta(args[i]) for i in idx], idx, False, loc)
            for i, v in zip(idx, node.outputs):
                self._bind(args[i], v)
        else:
            node = g.add_node(op.name, ins, call.attrs, [_meta(res)], (), False, loc)
            self._bind(res, node.outputs[0])
            self.produced.append(weakref.ref(res))
        return res

    def _event(self, event, tensor, what):
        if event == "create":
            v = self.graph.add_input(tensor.shape, tensor.dtype, "const")
            self.consts.append((np.array(tensor._data), v))
            self._bind(tensor, v)
            return
        e = self.vals.get(id(tensor))
        if e is not None and e[0] is tensor and e[1].kind == "const":
            return  # host data made inside the function: its value is part of the program
        self.graph_break(what)
        if isinstance(tensor, Tensor):
            self._note_use(tensor)

    def graph_break(self, reason: str):
        loc = user_location()
        if self.fullgraph:
            raise GraphBreak(reason, loc)
        if not self.breaks:
            self.break_at = len(self.graph.nodes)
        self.breaks.append((loc, reason))

    def _note_use(self, t):
        v = self.lookup(t)
        if v is not None:
            self.used_after.add(v.id)

    def release(self):
        """Drop the strong references held while tracing (the trace keeps only what replay needs)."""
        self.vals = {}
        self.arrays = {}
        self.by_array = {}


def _meta(t) -> TensorMeta:
    return TensorMeta(t._data.shape, t.dtype)
