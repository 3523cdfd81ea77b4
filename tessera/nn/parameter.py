"""``Parameter``: a tensor that a ``Module`` registers as trainable state."""

from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


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


# -- lazy placeholders ----------------------------------------------------------------------------------------
_UNINIT_MSG = (
    "Attempted to use an uninitialized parameter. This error happens when you are using a `LazyModule` or "
    "explicitly manipulating `ts.nn.{cls}` objects. When using LazyModules call `forward` with a dummy batch "
    "to initialize the parameters before calling tessera functions"
)
_ALLOWED = frozenset(
    (
        "__class__ __dict__ __slots__ __repr__ __hash__ __eq__ __ne__ __bool__ __deepcopy__ __reduce_ex__ "
        "__init__ __new__ __setattr__ __getattribute__ __init_subclass__ __sizeof__ __weakref__ _init "
        "_requires_grad requires_grad requires_grad_ grad grad_fn _version_counter _base _view_ops _hooks "
        "persistent materialize cls_to_become shape dtype size is_floating_point is_complex is_leaf device "
        "_placeholder _convert_placeholder to float double half bfloat16 cpu cuda"
    ).split()
)


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: a placeholder of unknown shape
    that lazy modules ``materialize`` on their first forward; any other use raises."""

    __slots__ = ()
    cls_to_become: type

    def __getattribute__(self, name):
        if name in _ALLOWED or (name.startswith("__") and name not in ("__array__", "__len__", "__iter__")):
            return object.__getattribute__(self, name)
        raise ValueError(_UNINIT_MSG.format(cls=type(self).__name__))

    def _placeholder(self) -> np.ndarray:
        return object.__getattribute__(self, "_data")

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the placeholder its ``shape`` (and ``dtype``); it becomes a plain ``Parameter`` /
        ``Tensor`` (zero-filled: lazy modules then run ``reset_parameters``).

        Example:
            >>> p = ts.nn.UninitializedParameter()
            >>> p.materialize((2, 3))
            >>> type(p).__name__, tuple(p.shape)
            ('Parameter', (2, 3))
        """
        from ..core.dispatch import STRUCTURE_EPOCH
        from ..core.dtypes import as_dtype

        np_dtype = self._placeholder().dtype if dtype is None else as_dtype(dtype).np
        if isinstance(shape, int):
            shape = (shape,)
        requires_grad = object.__getattribute__(self, "_requires_grad")
        self._init(np.zeros(tuple(int(s) for s in shape), dtype=np_dtype), requires_grad)
        object.__setattr__(self, "__class__", type(self).cls_to_become)
        STRUCTURE_EPOCH[0] += 1

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
            "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
            "`forward` to initialize the parameters before accessing their attributes."
        )

    @property
    def dtype(self):
        from ..core import dtypes as _dt

        return _dt._FROM_NP[self._placeholder().dtype]

    def size(self, dim=None):
        from ..core.tensor import Size

        return Size((0,)) if dim is None else (0,)[dim]

    def is_floating_point(self) -> bool:
        return self._placeholder().dtype.kind == "f" or self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self._placeholder().dtype.kind == "c"

    def _convert_placeholder(self, fn) -> None:
        object.__setattr__(self, "_data", fn(self._placeholder()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __bool__(self):
        raise ValueError(_UNINIT_MSG.format(cls=type(self).__name__))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(requires_grad=object.__getattribute__(self, "_requires_grad"), dtype=self.dtype)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (type(self), (object.__getattribute__(self, "_requires_grad"),))


def _placeholder_array(dtype) -> np.ndarray:
    from ..core import dtypes as _dt

    return np.empty((0,), dtype=(_dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()).np)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (lazy modules): ``materialize(shape)`` turns it into a
    ``Parameter``.

    Example:
        >>> p = ts.nn.UninitializedParameter()
        >>> p
        <UninitializedParameter>
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        self._init(_placeholder_array(dtype), bool(requires_grad))


_BUFFER_PERSISTENT: dict[int, bool] = {}


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (lazy modules): ``materialize(shape)`` turns it into a
    ``Tensor``.

    Example:
        >>> b = ts.nn.UninitializedBuffer()
        >>> b
        <UninitializedBuffer>
    """

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        self._init(_placeholder_array(dtype), bool(requires_grad))
        if not persistent:
            import weakref

            _BUFFER_PERSISTENT[id(self)] = False
            weakref.finalize(self, _BUFFER_PERSISTENT.pop, id(self), None)

    @property
    def persistent(self) -> bool:
        return _BUFFER_PERSISTENT.get(id(self), True)


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer``.

    Example:
        >>> is_lazy(ts.nn.UninitializedParameter())
        True
    """
    return isinstance(param, UninitializedTensorMixin)
