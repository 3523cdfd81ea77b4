"""``Parameter``: a tensor that a ``Module`` registers as trainable state."""

from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered when assigned to a ``Module``.

    Example:
        >>> w = ts.nn.Parameter(ts.randn(3, 4))
        >>> w.requires_grad
        True
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        self._init(arr)
        if isinstance(data, Tensor):
            self._version_counter = data._version_counter
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        if self.grad is not None:
            p.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (np.array(self._data), self._requires_grad))


def _rebuild_parameter(arr, requires_grad):
    return Parameter(Tensor._wrap(arr), requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a module: ``self.b = nn.Buffer(t)``."""

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor, *, persistent: bool = True):
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer: data must be a Tensor, got {type(data).__name__}")
        self._init(data._data)
        self.persistent = persistent
