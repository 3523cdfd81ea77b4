"""The ``Tensor`` class: an n-d array on a device plus its autograd state.

Math, reduction and shape methods are not written here: each op in ``tessera.ops`` binds its own method
names onto ``Tensor`` when it is registered, so an op's behaviour lives in exactly one place.
"""

from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import dtypes as _dt
from .device import CPU, as_device
from .grad_mode import STATE as _GRAD

__all__ = ["Tensor", "Size"]

_FROM_NP = _dt._FROM_NP


class Size(tuple):
    """A tensor's shape: a tuple of ints, as ``torch.Size``."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"tessera.Size([{', '.join(map(str, self))}])"


class Tensor:
    """An n-dimensional array with autograd support. Create one with ``ts.tensor``, ``ts.zeros``, ...

    Example:
        >>> x = ts.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """

    # _base/_view_ops: for a view, the tensor owning the memory and the chain of view ops leading from it.
    __slots__ = (
        "_data",
        "_requires_grad",
        "grad",
        "grad_fn",
        "_version_counter",
        "_base",
        "_view_ops",
        "_hooks",
        "__weakref__",
    )
    __array_priority__ = 1000  # NumPy arrays defer binary operators to Tensor's reflected methods

    def __init__(self, data=None, *, requires_grad: bool = False):
        # Direct construction mirrors torch.Tensor(data): a float tensor of the default dtype.
        arr = np.asarray([] if data is None else data)
        if arr.dtype.kind in "iub" or arr.dtype.kind == "f":
            arr = arr.astype(_dt._default_float.np)
        self._init(np.array(arr, copy=True))
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, arr, requires_grad=False):
        # The one place a tensor's fields are set: every constructor (``_wrap``, ``apply``, ``Parameter``)
        # comes through here.
        self._data = arr
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._version_counter = [0]
        self._base = None
        self._view_ops = ()
        self._hooks = None

    @classmethod
    def _wrap(cls, arr, requires_grad=False):
        """A new leaf tensor holding ``arr`` (not copied)."""
        t = cls.__new__(cls)
        t._init(arr, requires_grad)
        return t

    # -- metadata ---------------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_canonical_dim("size", dim, self._data.ndim)]

    @property
    def dtype(self) -> _dt.dtype:
        return _FROM_NP[self._data.dtype]

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"

    def is_complex(self) -> bool:
        return False

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_canonical_dim("stride", dim, self._data.ndim)]

    def data_ptr(self) -> int:
        return self._data.ctypes.data

    @property
    def _version(self) -> int:
        return self._version_counter[0]

    # -- autograd state ---------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this tensor (in place); returns ``self``."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad_: expected a bool, got {type(requires_grad).__name__}")
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf variables. If you want to "
                "use a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self._data.dtype.kind not in "fV":
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new tensor that shares memory and is cut off from autograd."""
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._version_counter[0] += 1

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory (and version counter) with no autograd history."""
        return _dispatch(_DETACH, (self,), _NO_ATTRS)

    def detach_(self) -> Tensor:
        """Cut this tensor off from the graph in place, making it a leaf."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever this tensor's gradient is computed; a non-None return replaces it.

        Returns a handle with ``remove()``.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        from .graph import _RemovableHandle

        return _RemovableHandle(self._hooks, hook)

    def retain_grad(self) -> None:
        """Make this non-leaf tensor keep its ``.grad`` after ``backward``."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        ref = weakref.ref(self)

        def _retain(grad):
            t = ref()
            if t is not None:
                g = grad.detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
            return None

        _retain._tessera_retain = True
        self.grad_fn.register_hook(_retain)

    @property
    def retains_grad(self) -> bool:
        hooks = self.grad_fn.hooks if self.grad_fn is not None else None
        return bool(hooks) and any(getattr(h, "_tessera_retain", False) for h in hooks)

    def backward(
        self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``. ``self`` must be a scalar unless
        ``gradient`` (of self's shape) is given."""
        _OPS.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # -- conversion -------------------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array sharing memory (like ``torch.Tensor.numpy``)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "numpy: can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if _hooks_active():
            _observe("read", self, "Tensor.numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if _hooks_active():
            _observe("read", self, "conversion to a NumPy array")
        arr = self._data
        if dtype is not None and arr.dtype != np.dtype(dtype):
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if _hooks_active():
            _observe("read", self, "Tensor.item()")
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        v = self._data.reshape(()).item() if self._data.dtype.kind != "V" else float(self._data.reshape(()))
        return v

    def tolist(self):
        """The values as (nested) Python lists of numbers."""
        if _hooks_active():
            _observe("read", self, "Tensor.tolist()")
        if self._data.dtype.kind == "V":
            return self._data.astype(np.float32).tolist()
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if _hooks_active():
            _observe("read", self, "Python control flow on a tensor value (bool())")
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if _hooks_active():
            _observe("read", self, "use of a tensor value as a Python index")
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()))

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __reduce_ex__(self, protocol):
        # Deliberately no pickle support for files (use ts.save); copy/deepcopy and multiprocessing still work.
        return (_rebuild_tensor, (np.array(self._data), self._requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol"
            )
        t = type(self).__new__(type(self))
        t._init(self._data.copy(), self._requires_grad)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device: ``t.to(ts.float64)``, ``t.to("cpu")``, ``t.to(other)``.

        Returns ``self`` when nothing changes (unless ``copy=True``).
        """
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, _dt.dtype) or (a in (float, int, bool)) or isinstance(a, np.dtype):
                dtype = a
            elif isinstance(a, str) or hasattr(a, "type"):
                device = a
            elif a is not None:
                raise TypeError(f"to: unexpected argument {a!r}")
        as_device(device)
        if dtype is None or _dt.as_dtype(dtype).np == self._data.dtype:
            return self.clone() if copy else self
        return _OPS.cast(self, _dt.as_dtype(dtype))

    def type(self, dtype=None):
        """With no argument, the type name (``'tessera.FloatTensor'``); otherwise ``to(dtype)``."""
        if dtype is None:
            names = {
                "float32": "Float",
                "float64": "Double",
                "float16": "Half",
                "bfloat16": "BFloat16",
                "int64": "Long",
                "int32": "Int",
                "int16": "Short",
                "int8": "Char",
                "uint8": "Byte",
                "bool": "Bool",
            }
            return f"tessera.{names[self.dtype.name]}Tensor"
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def bfloat16(self):
        return self.to(_dt.bfloat16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def short(self):
        return self.to(_dt.int16)

    def char(self):
        return self.to(_dt.int8)

    def byte(self):
        return self.to(_dt.uint8)

    def bool(self):
        return self.to(_dt.bool)

    def cpu(self):
        return self

    def cuda(self, device=None):
        as_device("cuda")

    def contiguous(self) -> Tensor:
        """This tensor if already C-contiguous, else a contiguous copy (differentiable)."""
        return self if self._data.flags.c_contiguous else self.clone()

    # -- factories sharing dtype ------------------------------------------------------------------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor

        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import zeros

        return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import ones

        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import empty

        return empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full

        return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    # -- printing ---------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if _hooks_active():
            _observe("read", self, "printing a tensor")
        return _format_tensor(self)

    __str__ = __repr__


class _OpsNamespace:
    """Filled at import by the layers above core (``tessera.ops``, ``tessera.autograd``): the few functions
    the core class calls itself (``cast``, ``clone``, ``copy``, ``backward``...)."""

    cast = None
    clone = None
    copy = None
    copy_slices = None
    replay = None
    backward = None  # set by tessera.autograd.engine, which sits above core


_OPS = _OpsNamespace()


def _detach_forward(x):
    return x.view()


# Bound by core.dispatch, which imports this module: the ``detach`` op and ``apply`` itself.
_DETACH = None
_dispatch = None
_observe = None  # core.dispatch.observe: tells tracers that Python reads a tensor's values
_hooks_active = None  # whether any interceptor is installed (so eager reads pay one call)
_NO_ATTRS: dict = {}


def _rebuild_tensor(arr, requires_grad):
    return Tensor._wrap(arr, requires_grad)


def _canonical_dim(opname: str, dim, ndim: int) -> int:
    if dim.__class__ is int and -ndim <= dim < ndim:
        return dim + ndim if dim < 0 else dim
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{opname}: dim must be an int, got {type(dim).__name__}")
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not lo <= dim <= hi:
        raise IndexError(
            f"{opname}: dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim + ndim if dim < 0 else dim


def _format_tensor(t: Tensor) -> str:
    arr = t._data
    dt = t.dtype
    if dt is _dt.bfloat16 or dt is _dt.float16:
        arr = arr.astype(np.float32)
    kw = {"separator": ", ", "prefix": "tensor(", "threshold": 1000, "edgeitems": 3, "max_line_width": 80}
    if dt.is_floating_point:
        finite = arr[np.isfinite(arr)] if arr.size else arr
        big = finite.size and np.abs(finite).max() >= 1e8
        if finite.size and not big and np.all(finite == np.round(finite)):
            fmt = lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)  # noqa: E731
        elif finite.size and (big or np.abs(finite[finite != 0]).min(initial=1) < 1e-4):
            fmt = lambda v: f"{v:.4e}" if np.isfinite(v) else str(v)  # noqa: E731
        else:
            fmt = lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)  # noqa: E731
        shown = arr if arr.size <= 1000 else np.concatenate([arr.reshape(-1)[:3], arr.reshape(-1)[-3:]])
        width = max((len(fmt(v)) for v in shown.reshape(-1)), default=0)
        kw["formatter"] = {"float_kind": lambda v: fmt(v).rjust(width)}
    body = np.array2string(arr, **kw)
    extras = []
    if arr.size == 0 and arr.ndim != 1:
        body = "[]"
        extras.append(f"size={tuple(arr.shape)}")
    default = _dt.get_default_dtype()
    if dt not in (default, _dt.int64, _dt.bool):
        extras.append(f"dtype=tessera.{dt.name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def check_tensor(opname: str, argname: str, value) -> Tensor:
    """The one "argument must be a Tensor" check: a TypeError naming the op and the argument."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{opname}: argument '{argname}' must be a Tensor, not {type(value).__name__}")
    return value


def is_tensor(obj) -> bool:
    """True if ``obj`` is a Tessera tensor."""
    return isinstance(obj, Tensor)


def _inplace(self: Tensor, op, args: tuple, attrs: dict) -> Tensor:
    """Write ``op(self, *args)`` into ``self`` and, when autograd records it, rebind ``self``'s history.

    Validation happens before any memory is touched, so a failing in-place op leaves ``self`` unchanged.
    Every write goes through ``apply`` (``out=``), so an interceptor sees it.
    """
    recording = _GRAD.enabled and (
        self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
    )
    if not recording:
        return _dispatch(op, (self,) + args, attrs, out=self)
    if self._requires_grad and self.grad_fn is None:
        raise RuntimeError(
            f"{op.name}_: a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = self._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError(
            f"{op.name}_: a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    # The op sees a snapshot of self's old values with self's old history, so its gradient rule can use
    # them after self is overwritten below.
    alias = _OPS.clone(self.detach())
    alias._requires_grad, alias.grad_fn = self._requires_grad, self.grad_fn
    out = _dispatch(op, (alias,) + args, attrs)
    od = out._data
    if od.shape != self._data.shape:
        raise RuntimeError(
            f"{op.name}_: output with shape {list(self._data.shape)} doesn't match the broadcast shape "
            f"{list(od.shape)}"
        )
    if od.dtype != self._data.dtype and not _dt.can_cast(_FROM_NP[od.dtype], self.dtype):
        raise RuntimeError(
            f"{op.name}_: result type {_FROM_NP[od.dtype].name} can't be cast to the desired output type "
            f"{self.dtype.name}"
        )
    if base is not None and out._requires_grad:
        # Writing through a view: the base gets the new history, and this view is re-derived from it.
        snapshot = _OPS.clone(base.detach())
        snapshot._requires_grad, snapshot.grad_fn = base._requires_grad, base.grad_fn
        _write(self, out)
        new_base = _OPS.copy_slices(snapshot, out, self._view_ops)
        base.grad_fn, base._requires_grad = new_base.grad_fn, True
        self.grad_fn, self._requires_grad = _OPS.replay(base, self._view_ops).grad_fn, True
        return self
    _write(self, out)
    if out._requires_grad:
        self.grad_fn = out.grad_fn if od.dtype == self._data.dtype else _OPS.cast(out, self.dtype).grad_fn
        self._requires_grad = True
    return self


def _write(dst: Tensor, src: Tensor) -> None:
    """Copy ``src``'s values into ``dst``'s memory through the ``copy`` op (no history; bumps the version,
    which a detached alias shares)."""
    target = dst.detach()
    _dispatch(_OPS.copy, (target, src.detach()), _NO_ATTRS, out=target)
