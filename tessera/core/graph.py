"""The recorded graph: one ``Node`` per differentiable op application (the ``grad_fn`` of its output).

A node is also the ``ctx`` that an op's gradient rule receives: it holds the op's inputs, attributes and,
when the rule needs it, the output, and checks on access that saved tensors were not modified in place.
"""

from __future__ import annotations

__all__ = ["Node"]


class Node:
    """Backward function of one op application; ``tensor.grad_fn`` is one of these."""

    __slots__ = (
        "op",
        "_inputs",
        "_versions",
        "_out_data",
        "_out_vc",
        "_out_version",
        "attrs",
        "edges",
        "needs_grad",
        "hooks",
        "__weakref__",
    )

    def __init__(self, op, inputs, attrs, edges, needs_grad, out_data):
        self.op = op
        self._inputs = inputs
        self._versions = tuple(
            t._version_counter[0] if getattr(t, "_version_counter", None) is not None else 0 for t in inputs
        )
        self.attrs = attrs
        self.edges = edges
        self.needs_grad = needs_grad
        self._out_data = out_data
        self.hooks = None

    # -- what gradient rules read -------------------------------------------------------------------
    def check_alive(self) -> None:
        """Raise the freed-graph error if this node's saved values were released by an earlier backward."""
        if self._inputs is None:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or directly access "
                "saved tensors after they have already been freed). Specify retain_graph=True if you need "
                "to backward through the graph a second time."
            )

    @property
    def saved(self) -> tuple:
        """The op's inputs (tensors and scalars), checked against in-place modification since recording."""
        inputs = self._inputs
        if inputs is None:
            self.check_alive()
        for i, t in enumerate(inputs):
            vc = getattr(t, "_version_counter", None)
            if vc is not None and vc[0] != self._versions[i]:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: input {i} of {self.name()}, a tensor of shape {tuple(t.shape)}, is at version "
                    f"{vc[0]}; expected version {self._versions[i]} instead."
                )
        return inputs

    def input_shape(self, i: int = 0) -> tuple:
        """Shape of input ``i``, for rules that need no values: an in-place change of the input's values
        after recording cannot affect such a gradient, so it is not version-checked."""
        self.check_alive()
        return self._inputs[i]._data.shape

    @property
    def out(self):
        """The op's output as a tensor connected to this node (so double backward works)."""
        from ..core.tensor import Tensor

        if self._out_data is None:
            self.check_alive()
            raise RuntimeError(f"{self.name()}: the op did not save its output")
        if self._out_vc[0] != self._out_version:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: the output 0 of {self.name()}, a tensor of shape {self._out_data.shape}, is at "
                f"version {self._out_vc[0]}; expected version {self._out_version} instead."
            )
        t = Tensor._wrap(self._out_data)
        t._requires_grad = True
        t.grad_fn = self
        return t

    def name(self) -> str:
        return f"{self.op.backward_name}"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        return tuple((e if e is None or isinstance(e, Node) else _AccumulateGrad(e), 0) for e in self.edges)

    def register_hook(self, fn):
        """Hook called with the gradient of this node's output; may return a replacement."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return _RemovableHandle(self.hooks, fn)

    def free(self):
        self._inputs = None
        self._out_data = None


class _AccumulateGrad:
    """Stand-in shown in ``next_functions`` for a leaf tensor's gradient accumulation."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


class _RemovableHandle:
    __slots__ = ("_list", "_fn")

    def __init__(self, lst, fn):
        self._list, self._fn = lst, fn

    def remove(self):
        if self._fn in self._list:
            self._list.remove(self._fn)
