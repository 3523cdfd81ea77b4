"""The ``Tensor`` class: an n-d array on a device plus its autograd state.

Math, reduction and shape methods are not written here: each op in ``tessera.ops`` binds its own method
names onto ``Tensor`` when it is registered, so an op's behaviour lives in exactly one place.
"""

from __future__ import annotations

import mmap
import numbers
import weakref

import numpy as np

from . import dtypes as _dt
from .device import CPU, NO_ACCELERATOR, NO_CUDA, CudaUnavailableError, as_device
from .grad_mode import STATE as _GRAD

__all__ = [
    "Tensor",
    "Size",
    "layout",
    "strided",
    "memory_format",
    "contiguous_format",
    "preserve_format",
    "channels_last",
    "channels_last_3d",
]

_FROM_NP = _dt._FROM_NP


class layout:
    """How a tensor's elements are stored: ``ts.strided`` (dense) or a sparse layout (``ts.sparse_coo``).

    Example:
        >>> ts.ones(2).layout
        tessera.strided
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"tessera.{self.name}"

    def __reduce__(self):
        return self.name


class memory_format:
    """The order in which a dense tensor's dimensions are laid out in memory: ``ts.contiguous_format``
    (row-major), ``ts.channels_last`` (NHWC strides for a 4-d NCHW tensor), ``ts.channels_last_3d``
    (NDHWC for 5-d) or ``ts.preserve_format`` (keep the input's).

    Example:
        >>> ts.ones(2, 3, 4, 5).contiguous(memory_format=ts.channels_last).stride()
        (60, 1, 15, 3)
    """

    __slots__ = ("name", "rank")

    def __init__(self, name: str, rank: int | None = None):
        self.name, self.rank = name, rank

    def __repr__(self) -> str:
        return f"tessera.{self.name}"

    def __reduce__(self):
        return self.name


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last", 4)
channels_last_3d = memory_format("channels_last_3d", 5)

# ``ts.set_printoptions`` changes these (precision: digits after the point; threshold: element count above
# which a tensor is summarised; edgeitems: items shown at each end then; linewidth; sci_mode: None = auto)
PRINT_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
PRINT_OPTIONS = dict(PRINT_DEFAULTS)

# Legacy type names (``'torch.FloatTensor'``) <-> dtypes
LEGACY_NAMES = {
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
_LEGACY_TO_DTYPE = {v + "Tensor": k for k, v in LEGACY_NAMES.items()}


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
        "_keras_mask",  # a Keras layer's output mask (tessera.keras masking); unset on every other tensor
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
    def layout(self) -> layout:
        """The storage layout: ``ts.strided`` for a dense tensor."""
        return strided

    @property
    def is_cuda(self) -> bool:
        return False

    # The device and storage kinds PyTorch tensors can have; a Tessera tensor is a dense CPU tensor.
    is_cpu = property(lambda self: True, doc="True: every Tessera tensor lives on the CPU.")
    is_mps = is_xpu = is_meta = is_quantized = is_mkldnn = is_vulkan = property(lambda self: False)
    is_xla = is_ipu = is_mtia = is_maia = is_nested = is_sparse = is_sparse_csr = property(lambda self: False)

    def get_device(self) -> int:
        """The CUDA device index holding this tensor, or -1 for a CPU tensor (always -1 here)."""
        return -1

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is (0: Tessera's ops have one output each)."""
        return 0

    def is_inference(self) -> bool:
        """Whether this is an inference tensor (made under ``ts.inference_mode``). Tessera does not mark
        tensors, so this is False."""
        return False

    def is_signed(self) -> bool:
        """Whether the dtype is signed (floats and signed integers)."""
        return self.dtype.is_signed

    def storage_offset(self) -> int:
        """The offset, in elements, of this tensor's first element in the memory it shares with its base.

        Example:
            >>> ts.arange(4)[1:].storage_offset()
            1
        """
        arr = self._data
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root is arr:
            return 0
        start = np.lib.array_utils.byte_bounds(root)[0]
        return (arr.__array_interface__["data"][0] - start) // arr.itemsize

    def dim_order(self, *, ambiguity_check: bool = False) -> tuple:
        """The dimensions from outermost to innermost in memory (sorted by decreasing stride).

        Example:
            >>> ts.ones(2, 3).t().dim_order()
            (1, 0)
        """
        strides = self.stride()
        return tuple(sorted(range(len(strides)), key=lambda i: -strides[i]))

    def is_pinned(self, device=None) -> bool:
        """Whether this tensor is in page-locked memory: False (there is no accelerator to pin for)."""
        return False

    def pin_memory(self, device=None) -> Tensor:
        """Copy into page-locked memory; raises, as PyTorch does without an accelerator."""
        raise RuntimeError(NO_ACCELERATOR)

    def is_shared(self) -> bool:
        """Whether this tensor's memory is shared between processes (see ``share_memory_``)."""
        a = self._data
        while isinstance(a, np.ndarray):
            a = a.base
        if isinstance(a, memoryview):
            a = a.obj
        return isinstance(a, mmap.mmap)

    def share_memory_(self) -> Tensor:
        """Move this tensor's values into memory shared with processes forked later (an anonymous shared
        mapping); returns ``self``. A no-op if already shared. Views taken before the move keep the old
        memory, so call it on a base tensor before making views (as for a model's parameters).

        Example:
            >>> t = ts.ones(3).share_memory_()
            >>> t.is_shared()
            True
        """
        if self.is_shared():
            return self
        if self._base is not None:
            raise RuntimeError("share_memory_: call it on the tensor owning the memory, not on a view of it")
        arr = self._data
        buf = mmap.mmap(-1, max(arr.nbytes, 1))
        shared = Tensor._wrap(np.frombuffer(buf, dtype=arr.dtype, count=arr.size).reshape(arr.shape))
        _dispatch(_OPS.copy, (shared, self.detach()), _NO_ATTRS, out=shared)
        self._data = shared._data  # same values, new memory: the version counter is unchanged
        return self

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export this tensor through the DLPack protocol (zero-copy): ``np.from_dlpack(t)``,
        ``torch.from_dlpack(t)``. A tensor that requires grad must be detached first.

        Example:
            >>> import numpy as np
            >>> np.from_dlpack(ts.ones(2))
            array([1., 1.], dtype=float32)
        """
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        if stream is not None and stream != -1:
            raise BufferError(f"__dlpack__: stream must be None for a CPU tensor, got {stream!r}")
        if self._data.dtype.kind == "V":
            raise BufferError(f"__dlpack__: {self.dtype} tensors cannot be exported through NumPy's DLPack")
        if _hooks_active():
            _observe("read", self, "DLPack export")
        kw = {}
        if max_version is not None:
            kw["max_version"] = max_version
        if dl_device is not None:
            kw["dl_device"] = dl_device
        if copy is not None:
            kw["copy"] = copy
        return self._data.__dlpack__(**kw)

    def __dlpack_device__(self) -> tuple:
        """``(device_type, device_id)`` of the DLPack protocol: ``(1, 0)``, the CPU."""
        return (1, 0)

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

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the memory is laid out densely in ``memory_format``'s order (row-major by default)."""
        fmt = _check_memory_format("is_contiguous", memory_format)
        if fmt is None or fmt is contiguous_format or fmt is preserve_format:
            return self._data.flags.c_contiguous
        if self._data.ndim != fmt.rank:
            return False
        order = (0,) + tuple(range(2, fmt.rank)) + (1,)
        return self._data.transpose(order).flags.c_contiguous

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
        fmt = _check_memory_format("to", kwargs.pop("memory_format", None))
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
            out = self.clone() if copy else self
        else:
            out = _OPS.cast(self, _dt.as_dtype(dtype))
        if fmt is not None and fmt is not preserve_format:
            out = out.contiguous(memory_format=fmt)
        return out

    def type(self, dtype=None, non_blocking: bool = False):
        """With no argument, the type name (``'tessera.FloatTensor'``); otherwise this tensor converted to
        ``dtype``: a dtype, a legacy type (``ts.LongTensor``) or its name (``'torch.LongTensor'``).

        Example:
            >>> ts.ones(2).type("torch.LongTensor")
            tensor([1, 1])
        """
        if dtype is None:
            return f"tessera.{LEGACY_NAMES[self.dtype.name]}Tensor"
        if isinstance(dtype, str):
            prefix, _, name = dtype.rpartition(".")
            if prefix not in ("torch", "tessera") or name not in _LEGACY_TO_DTYPE:
                raise ValueError(f"type: invalid type: '{dtype}'")
            dtype = _dt.as_dtype(_LEGACY_TO_DTYPE[name])
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), _dt.dtype):
            dtype = dtype.dtype  # a legacy type such as ts.FloatTensor
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

    def cpu(self, memory_format=None) -> Tensor:
        """This tensor (already on the CPU)."""
        return self if memory_format is None else self.contiguous(memory_format=memory_format)

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        """Copy to a CUDA GPU; raises, as PyTorch does without CUDA."""
        raise CudaUnavailableError(NO_CUDA)

    def contiguous(self, memory_format=contiguous_format) -> Tensor:
        """This tensor if already dense in ``memory_format``'s order (row-major by default), else a copy
        laid out so (differentiable). ``ts.channels_last`` gives a 4-d tensor NHWC strides.

        Example:
            >>> ts.ones(2, 3, 4, 5).contiguous(memory_format=ts.channels_last).stride()
            (60, 1, 15, 3)
        """
        fmt = _check_memory_format("contiguous", memory_format)
        if fmt is preserve_format:
            raise RuntimeError("contiguous: preserve memory format is unsupported by the contiguous operator")
        if fmt is contiguous_format or fmt is None:
            return self if self._data.flags.c_contiguous else _dense_copy(self, None)
        if self._data.ndim != fmt.rank:
            raise RuntimeError(f"required rank {fmt.rank} tensor to use {fmt.name} format")
        if self.is_contiguous(memory_format=fmt):
            return self
        # channels last: the channel dimension is the innermost in memory; the logical order is kept
        return _dense_copy(self, (0,) + tuple(range(2, fmt.rank)) + (1,))

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

    def new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False) -> Tensor:
        """An uninitialised tensor of ``size`` with element strides ``stride`` (this dtype by default).

        Example:
            >>> ts.ones(1).new_empty_strided((2, 3), (1, 2)).stride()
            (1, 2)
        """
        return empty_strided(
            size, stride, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
        )

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


def _dense_copy(t: Tensor, order) -> Tensor:
    """A copy of ``t`` in new dense memory whose dimensions run in ``order`` from outermost to innermost
    (None: row-major). Written with ``copy_`` into an empty tensor, so gradients flow back to ``t``."""
    from .creation import empty

    shape = t._data.shape
    if order is None:
        return empty(shape, dtype=t.dtype).copy_(t)
    buf = empty(tuple(shape[i] for i in order), dtype=t.dtype)
    return buf.permute(*(order.index(i) for i in range(len(order)))).copy_(t)


def _check_memory_format(opname: str, fmt):
    if fmt is None or isinstance(fmt, memory_format):
        return fmt
    raise TypeError(
        f"{opname}(): argument 'memory_format' must be tessera.memory_format, not {type(fmt).__name__}"
    )


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:  # fmt: skip
    """An uninitialised tensor of ``size`` whose element strides are ``stride`` (as ``torch.empty_strided``).

    Example:
        >>> ts.empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(
            f"empty_strided: mismatch in length of strides and shape (size {list(size)}, stride {list(stride)})"
        )
    for name, vals in (("size", size), ("stride", stride)):
        if any(not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0 for v in vals):
            raise RuntimeError(f"empty_strided: {name} must be non-negative ints, got {list(vals)}")
    as_device(device)
    if layout not in (None, strided):
        raise RuntimeError(f"empty_strided: only the strided layout is supported, got {layout}")
    if pin_memory:
        raise RuntimeError(NO_ACCELERATOR)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    n = 0 if 0 in size else 1 + sum((s - 1) * st for s, st in zip(size, stride))
    storage = np.empty(n, d.np)
    arr = np.lib.stride_tricks.as_strided(storage, size, tuple(st * d.itemsize for st in stride))
    return Tensor._wrap(arr, bool(requires_grad))


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
    opts = PRINT_OPTIONS
    p, threshold, edge = opts["precision"], opts["threshold"], opts["edgeitems"]
    kw = {
        "separator": ", ",
        "prefix": "tensor(",
        "threshold": threshold,
        "edgeitems": edge,
        "max_line_width": opts["linewidth"],
    }
    if dt.is_floating_point:
        finite = arr[np.isfinite(arr)] if arr.size else arr
        big = finite.size and np.abs(finite).max() >= 1e8
        sci = opts["sci_mode"]
        if sci is None:
            sci = bool(finite.size and (big or np.abs(finite[finite != 0]).min(initial=1) < 1e-4))
        if finite.size and not big and opts["sci_mode"] is None and np.all(finite == np.round(finite)):
            fmt = lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)  # noqa: E731
        elif sci:
            fmt = lambda v: f"{v:.{p}e}" if np.isfinite(v) else str(v)  # noqa: E731
        else:
            fmt = lambda v: f"{v:.{p}f}" if np.isfinite(v) else str(v)  # noqa: E731
        flat = arr.reshape(-1)
        shown = arr if arr.size <= threshold else np.concatenate([flat[:edge], flat[-edge:]])
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
    check_no_internal_overlap(self)
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


def check_no_internal_overlap(t: Tensor) -> None:
    """PyTorch's error for writing into a tensor where several elements share one memory location (an
    ``expand``ed tensor: a stride 0 over a dimension longer than 1)."""
    arr = t._data
    if not arr.flags.writeable and any(st == 0 and n > 1 for st, n in zip(arr.strides, arr.shape)):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation."
        )


def _write(dst: Tensor, src: Tensor) -> None:
    """Copy ``src``'s values into ``dst``'s memory through the ``copy`` op (no history; bumps the version,
    which a detached alias shares)."""
    target = dst.detach()
    _dispatch(_OPS.copy, (target, src.detach()), _NO_ATTRS, out=target)
