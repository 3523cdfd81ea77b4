"""PyTorch's process-level switches and legacy spellings (``set_num_threads``, ``FloatTensor``...).

Everything in ``__all__`` is re-exported as ``ts.<name>``. The switches change what Tessera does where it
has the corresponding behaviour (thread counts, printing, the default device) and are recorded otherwise
(Tessera's CPU ops are deterministic and compute float32 matmuls in full precision whatever is asked).
"""

from __future__ import annotations

import builtins
import math
import numbers
import os
import warnings

import numpy as np

from . import dtypes as _dt
from . import tensor as _tensor
from .device import get_default_device, set_default_device
from .tensor import (
    PRINT_DEFAULTS,
    PRINT_OPTIONS,
    Tensor,
    channels_last,
    channels_last_3d,
    contiguous_format,
    empty_strided,
    layout,
    memory_format,
    preserve_format,
    strided,
)

__all__ = [
    # legacy tensor types
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
    # threads
    "set_num_threads",
    "get_num_threads",
    "set_num_interop_threads",
    "get_num_interop_threads",
    # printing, devices, numerics switches
    "set_printoptions",
    "set_default_device",
    "get_default_device",
    "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_deterministic_debug_mode",
    "get_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
    "set_flush_denormal",
    "set_warn_always",
    "is_warn_always_enabled",
    # predicates
    "is_storage",
    "is_floating_point",
    "is_complex",
    "is_nonzero",
    "is_same_size",
    "is_signed",
    "typename",
    # constants, layouts, memory formats
    "pi",
    "e",
    "inf",
    "nan",
    "newaxis",
    "layout",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "memory_format",
    "contiguous_format",
    "preserve_format",
    "channels_last",
    "channels_last_3d",
    "empty_strided",
    # interchange
    "from_dlpack",
    "asarray",
    "frombuffer",
    # autocast state (the context manager is ``ts.autocast``, in tessera.amp)
    "is_autocast_enabled",
    "set_autocast_enabled",
    "get_autocast_dtype",
    "set_autocast_dtype",
    "is_autocast_cpu_enabled",
    "set_autocast_cpu_enabled",
    "get_autocast_cpu_dtype",
    "set_autocast_cpu_dtype",
    "is_autocast_cache_enabled",
    "set_autocast_cache_enabled",
    "clear_autocast_cache",
]

pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None

# Sparse layouts (the sparse tensors themselves live in tessera.sparse)
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")


# -- legacy tensor types ------------------------------------------------------------------------------------
class _LegacyTensorType(type):
    """Metaclass of ``ts.FloatTensor``...: calling one builds a ``ts.Tensor`` of its dtype, and
    ``isinstance(t, ts.FloatTensor)`` asks whether ``t`` is a float32 tensor, as in PyTorch."""

    def __instancecheck__(cls, obj) -> builtins.bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        return _legacy_new(cls.__name__, cls.dtype, args, device)

    def __repr__(cls) -> str:
        return f"<class 'tessera.{cls.__name__}'>"


def _legacy_new(name: str, dtype, args: tuple, device) -> Tensor:
    from .creation import empty, tensor
    from .device import as_device

    as_device(device)
    if not args:
        return empty(0, dtype=dtype)
    if builtins.all(isinstance(a, numbers.Integral) and not isinstance(a, builtins.bool) for a in args):
        if builtins.any(a < 0 for a in args):
            raise RuntimeError(f"{name}: negative dimension in size {list(args)}")
        return empty(*(builtins.int(a) for a in args), dtype=dtype)
    if len(args) == 1 and isinstance(args[0], _tensor.Size):
        return empty(*args[0], dtype=dtype)
    if len(args) > 1:
        bad = next(a for a in args if not isinstance(a, numbers.Integral) or isinstance(a, builtins.bool))
        raise TypeError(
            f"{name}(): argument 'size' must be a tuple of ints, but found element of type {type(bad).__name__}"
        )
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype is not dtype:
            raise TypeError(f"{name}(): expected a tensor of dtype {dtype.name}, got {data.dtype.name}")
        return data.detach()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{name}(): invalid data type '{type(data).__name__}'")
    arr = np.asarray(data)
    if arr.dtype.kind == "f" and dtype.category == _dt._INT:
        # LongTensor([1.5]) is tensor([1]), as in PyTorch; Python numbers out of range raise
        arr = np.trunc(arr)
        info = np.iinfo(dtype.np)
        if (
            not isinstance(data, np.ndarray)
            and ((arr < info.min) | (arr > info.max) | ~np.isfinite(arr)).any()
        ):
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
    return tensor(arr, dtype=dtype)


def _legacy_type(name: str, dtype) -> type:
    doc = f"""Legacy constructor of {dtype.name} tensors, as ``torch.{name}``.

    ``{name}(data)`` copies a sequence or array, ``{name}(*sizes)`` is uninitialised, ``{name}()`` is
    empty; ``isinstance(t, ts.{name})`` is true for {dtype.name} tensors.

    Example:
        >>> ts.{name}(2, 3).shape
        tessera.Size([2, 3])
    """
    return _LegacyTensorType(
        name, (), {"__slots__": (), "dtype": dtype, "__doc__": doc, "__module__": "tessera"}
    )


FloatTensor = _legacy_type("FloatTensor", _dt.float32)
DoubleTensor = _legacy_type("DoubleTensor", _dt.float64)
HalfTensor = _legacy_type("HalfTensor", _dt.float16)
BFloat16Tensor = _legacy_type("BFloat16Tensor", _dt.bfloat16)
LongTensor = _legacy_type("LongTensor", _dt.int64)
IntTensor = _legacy_type("IntTensor", _dt.int32)
ShortTensor = _legacy_type("ShortTensor", _dt.int16)
CharTensor = _legacy_type("CharTensor", _dt.int8)
ByteTensor = _legacy_type("ByteTensor", _dt.uint8)
BoolTensor = _legacy_type("BoolTensor", _dt.bool)


# -- threads ------------------------------------------------------------------------------------------------
_THREADS: dict = {"intra": None, "interop": None}


def _check_threads(opname: str, n) -> builtins.int:
    if not isinstance(n, numbers.Integral) or isinstance(n, builtins.bool):
        raise RuntimeError(f"{opname} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{opname} expects a positive integer")
    return builtins.int(n)


def _default_threads() -> builtins.int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and builtins.int(env) > 0:
        return builtins.int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _set_openmp_threads(n: builtins.int) -> None:
    """The OpenMP runtime of compiled kernels (libgomp): ``OMP_NUM_THREADS`` for a runtime loaded later,
    ``omp_set_num_threads`` (this thread's parallel regions) for one already loaded."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    import ctypes

    try:
        lib = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except (OSError, AttributeError):
        return
    lib.omp_set_num_threads(ctypes.c_int(n))


def _set_blas_threads(n: builtins.int) -> None:
    """NumPy's BLAS (matmul, linalg): through threadpoolctl when it is installed; without it the BLAS keeps
    the count it started with (``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` set before NumPy loads)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=n, user_api="blas")


def set_num_threads(int: builtins.int) -> None:  # noqa: A002 - PyTorch's parameter name
    """Set the number of threads Tessera computes with: NumPy's BLAS (through threadpoolctl, if installed)
    and the OpenMP threads of compiled kernels.

    Example:
        >>> n = ts.get_num_threads()
        >>> ts.set_num_threads(1)
        >>> ts.get_num_threads()
        1
        >>> ts.set_num_threads(n)
    """
    n = _check_threads("set_num_threads", int)
    _set_blas_threads(n)
    _set_openmp_threads(n)
    _THREADS["intra"] = n


def get_num_threads() -> builtins.int:
    """The number of threads used for intra-op parallelism (by default the CPUs this process may use, or
    ``OMP_NUM_THREADS``)."""
    n = _THREADS["intra"]
    return _default_threads() if n is None else n


def set_num_interop_threads(int: builtins.int) -> None:  # noqa: A002
    """Set the number of inter-op threads. Tessera runs ops one after another, so this is recorded only;
    as in PyTorch it can be set once."""
    n = _check_threads("set_num_interop_threads", int)
    if _THREADS["interop"] is not None:
        raise RuntimeError(
            "Error: cannot set number of interop threads after parallel work has started or "
            "set_num_interop_threads called"
        )
    _THREADS["interop"] = n


def get_num_interop_threads() -> builtins.int:
    """The number of inter-op threads (see ``set_num_interop_threads``)."""
    n = _THREADS["interop"]
    return _default_threads() if n is None else n


# -- printing -----------------------------------------------------------------------------------------------
_PROFILES = {
    "default": dict(PRINT_DEFAULTS),
    "short": dict(PRINT_DEFAULTS, precision=2, edgeitems=2),
    "full": dict(PRINT_DEFAULTS, threshold=2**62),
}


def set_printoptions(
    precision: builtins.int | None = None,
    threshold: builtins.int | None = None,
    edgeitems: builtins.int | None = None,
    linewidth: builtins.int | None = None,
    profile: str | None = None,
    sci_mode: builtins.bool | None = None,
) -> None:
    """Set how tensors print: digits after the point, the element count above which a tensor is summarised
    (``threshold``) and the items shown at each end then (``edgeitems``), the line width, a ``profile``
    (``"default"``, ``"short"``, ``"full"``), and ``sci_mode`` (None: chosen from the values).

    Example:
        >>> ts.set_printoptions(precision=2)
        >>> ts.tensor([1.23456])
        tensor([1.23])
        >>> ts.set_printoptions(profile="default")
    """
    new = dict(PRINT_OPTIONS)
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: unknown profile {profile!r}; expected one of {list(_PROFILES)}"
            )
        new.update(_PROFILES[profile])
    for name, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                    ("linewidth", linewidth)):  # fmt: skip
        if v is None:
            continue
        if name == "threshold" and v == math.inf:
            v = 2**62
        if not isinstance(v, numbers.Integral) or isinstance(v, builtins.bool) or v < 0:
            raise TypeError(f"set_printoptions: {name} must be a non-negative int, got {v!r}")
        new[name] = builtins.int(v)
    if sci_mode is not None and not isinstance(sci_mode, builtins.bool):
        raise TypeError(f"set_printoptions: sci_mode must be a bool or None, got {sci_mode!r}")
    new["sci_mode"] = sci_mode  # as in PyTorch, every call sets it (None: automatic)
    PRINT_OPTIONS.update(new)


# -- determinism, precision, warnings -----------------------------------------------------------------------
_FLAGS = {"deterministic": False, "warn_only": False, "matmul_precision": "highest", "warn_always": False}


def use_deterministic_algorithms(mode: builtins.bool, *, warn_only: builtins.bool = False) -> None:
    """Ask for deterministic algorithms. Tessera's CPU ops are deterministic already, so this records the
    setting (read back by ``are_deterministic_algorithms_enabled``).

    Example:
        >>> ts.use_deterministic_algorithms(True)
        >>> ts.are_deterministic_algorithms_enabled()
        True
        >>> ts.use_deterministic_algorithms(False)
    """
    if not isinstance(mode, builtins.bool):
        raise TypeError(
            f"use_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not {type(mode).__name__}"
        )
    if not isinstance(warn_only, builtins.bool):
        raise TypeError(
            f"use_deterministic_algorithms(): argument 'warn_only' must be bool, not {type(warn_only).__name__}"
        )
    _FLAGS["deterministic"], _FLAGS["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> builtins.bool:
    """Whether ``use_deterministic_algorithms(True)`` is in effect."""
    return _FLAGS["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> builtins.bool:
    """Whether deterministic mode only warns (``warn_only=True``)."""
    return _FLAGS["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: str | builtins.int) -> None:
    """``"default"``/0: off, ``"warn"``/1: deterministic with warnings, ``"error"``/2: deterministic."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                + debug_mode
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, builtins.int) or isinstance(debug_mode, builtins.bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    elif debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> builtins.int:
    """0 (off), 1 (warn) or 2 (error), as set by ``set_deterministic_debug_mode``."""
    if not _FLAGS["deterministic"]:
        return 0
    return 1 if _FLAGS["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """Record the float32 matmul precision (``"highest"``, ``"high"``, ``"medium"``). Tessera's CPU
    matmuls always compute in full float32; ``ts.backends.cuda.matmul.allow_tf32`` reads this back."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "setFloat32MatmulPrecision call has no effect.",
            stacklevel=2,
        )
        return
    _FLAGS["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision set by ``set_float32_matmul_precision`` (``"highest"`` by default)."""
    return _FLAGS["matmul_precision"]


def set_flush_denormal(mode: builtins.bool) -> builtins.bool:
    """Flushing denormals to zero is not supported by NumPy: returns False and changes nothing (PyTorch
    returns False too where unsupported)."""
    return False


def set_warn_always(b: builtins.bool) -> None:
    """Make warnings that PyTorch shows once show every time (recorded; read by ``is_warn_always_enabled``)."""
    _FLAGS["warn_always"] = builtins.bool(b)


def is_warn_always_enabled() -> builtins.bool:
    """Whether ``set_warn_always(True)`` is in effect."""
    return _FLAGS["warn_always"]


# -- predicates ---------------------------------------------------------------------------------------------
def _tensor_arg(opname: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{opname}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x


def is_storage(obj) -> builtins.bool:
    """Whether ``obj`` is a storage object: Tessera has none, so False."""
    return False


def is_floating_point(input: Tensor) -> builtins.bool:  # noqa: A002
    """Whether ``input``'s dtype is a floating dtype. ``ts.is_floating_point(ts.ones(1))`` is True."""
    return _tensor_arg("is_floating_point", input).dtype.is_floating_point


def is_complex(input: Tensor) -> builtins.bool:  # noqa: A002
    """Whether ``input``'s dtype is complex."""
    return _tensor_arg("is_complex", input).dtype.is_complex


def is_signed(input: Tensor) -> builtins.bool:  # noqa: A002
    """Whether ``input``'s dtype is signed (floats and signed integers)."""
    return _tensor_arg("is_signed", input).dtype.is_signed


def is_nonzero(input: Tensor) -> builtins.bool:  # noqa: A002
    """Whether a one-element tensor is nonzero. ``ts.is_nonzero(ts.tensor([0.]))`` is False."""
    n = _tensor_arg("is_nonzero", input).numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input)


def is_same_size(input: Tensor, other: Tensor) -> builtins.bool:  # noqa: A002
    """Whether two tensors have the same shape."""
    _tensor_arg("is_same_size", input)
    if not isinstance(other, Tensor):
        raise TypeError(
            f"is_same_size(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}"
        )
    return input.shape == other.shape


def typename(obj) -> str:
    """The type name of ``obj``: ``'tessera.FloatTensor'`` for a float32 tensor, else its class's name.

    Example:
        >>> ts.typename(ts.ones(1)), ts.typename(3)
        ('tessera.FloatTensor', 'int')
    """
    if isinstance(obj, Tensor):
        return obj.type()
    cls = obj if isinstance(obj, type) else type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


# -- interchange: DLPack, asarray, frombuffer ---------------------------------------------------------------
class _Capsule:
    """A legacy DLPack capsule (``to_dlpack``'s result) presented through the ``__dlpack__`` protocol."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, stream=None, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``: anything with ``__dlpack__`` (a NumPy array, a torch
    tensor, another Tessera tensor) or a DLPack capsule. Writes through either are seen by both.

    Example:
        >>> import numpy as np
        >>> a = np.zeros(2, np.float32)
        >>> t = ts.from_dlpack(a)
        >>> a[0] = 5
        >>> t
        tensor([5., 0.])
    """
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    if not hasattr(ext_tensor, "__dlpack__"):
        if type(ext_tensor).__name__ != "PyCapsule":
            raise TypeError(
                f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got {type(ext_tensor).__name__}"
            )
        ext_tensor = _Capsule(ext_tensor)
    device = ext_tensor.__dlpack_device__()
    if builtins.int(device[0]) not in (1, 3):  # kDLCPU, kDLCUDAHost
        raise RuntimeError(
            f"from_dlpack: only CPU tensors can be imported, got DLPack device {tuple(device)}"
        )
    try:
        arr = np.from_dlpack(ext_tensor)
    except (BufferError, TypeError, RuntimeError) as exc:
        raise RuntimeError(f"from_dlpack: cannot import {type(ext_tensor).__name__}: {exc}") from None
    if arr.dtype not in _dt._FROM_NP:
        raise TypeError(f"from_dlpack: dtype {arr.dtype} has no Tessera equivalent")
    return Tensor._wrap(arr)


def asarray(obj, *, dtype=None, device=None, copy: builtins.bool | None = None,
            requires_grad: builtins.bool = False) -> Tensor:  # fmt: skip
    """``obj`` as a tensor, sharing its memory when possible (a tensor, a NumPy array, a DLPack or buffer
    object) and copying otherwise (sequences, scalars) or when ``copy=True``; ``copy=False`` forbids
    copies.

    Example:
        >>> import numpy as np
        >>> a = np.ones(2, np.float32)
        >>> t = ts.asarray(a)
        >>> a[0] = 3
        >>> t
        tensor([3., 1.])
    """
    from .creation import tensor
    from .device import as_device

    as_device(device)
    want = _dt.as_dtype(dtype) if dtype is not None else None
    if isinstance(obj, Tensor):
        t = obj
    elif isinstance(obj, np.ndarray) and obj.dtype in _dt._FROM_NP:
        t = Tensor._wrap(obj)
    elif hasattr(obj, "__dlpack__") and not isinstance(obj, np.generic):
        t = from_dlpack(obj)
    elif isinstance(obj, (bytearray, memoryview)) or type(obj).__name__ == "array":
        arr = np.asarray(memoryview(obj))
        if arr.dtype not in _dt._FROM_NP:
            raise TypeError(f"asarray: buffer of format {memoryview(obj).format!r} has no Tessera dtype")
        t = Tensor._wrap(arr)
    else:
        if copy is False:
            raise ValueError(f"asarray: can't alias Python object of type {type(obj).__name__} (copy=False)")
        return tensor(obj, dtype=want, requires_grad=requires_grad)
    if want is not None and want is not t.dtype:
        if copy is False:
            raise ValueError(
                f"can't alias tensor with dtype '{_tensor.LEGACY_NAMES[t.dtype.name]}' into dtype "
                f"'{_tensor.LEGACY_NAMES[want.name]}'."
            )
        t = t.to(want)
    elif copy:
        t = t.clone()
    if requires_grad:
        t = t.detach().requires_grad_(True) if t is obj else t.requires_grad_(True)
    return t


def frombuffer(buffer, *, dtype, count: builtins.int = -1, offset: builtins.int = 0,
               requires_grad: builtins.bool = False) -> Tensor:  # fmt: skip
    """A 1-d tensor viewing the bytes of a Python buffer (``bytearray``, ``array.array``, ``memoryview``),
    ``count`` elements of ``dtype`` from byte ``offset`` (-1: all). Memory is shared, not copied.

    Example:
        >>> ts.frombuffer(bytearray(8), dtype=ts.int32)
        tensor([0, 0], dtype=tessera.int32)
    """
    d = _dt.as_dtype(dtype)
    nbytes = memoryview(buffer).nbytes
    if nbytes == 0 or count == 0:
        raise ValueError(f"both buffer length ({nbytes}) and count ({count}) must not be 0")
    if not 0 <= offset < nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({nbytes} bytes) minus 1")  # fmt: skip
    if count < 0 and (nbytes - offset) % d.itemsize:
        raise ValueError(
            f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be a multiple of "
            f"element size ({d.itemsize})"
        )
    if count > 0 and count * d.itemsize > nbytes - offset:
        raise ValueError(
            f"requested buffer length ({count} * {d.itemsize} bytes) after offset ({offset} bytes) must not be "
            f"greater than actual buffer length ({nbytes} bytes)"
        )
    arr = np.frombuffer(buffer, dtype=d.np, count=count, offset=offset)
    if not arr.flags.writeable:
        warnings.warn(
            "frombuffer: the given buffer is not writable; writing to the tensor is not supported",
            UserWarning,
            stacklevel=2,
        )
    return Tensor._wrap(arr, builtins.bool(requires_grad))


# -- autocast state (the dispatch hook is in core.dispatch; the context manager in tessera.amp) -------------
def _ac():
    from . import dispatch

    return dispatch


def is_autocast_enabled(device_type: str | None = None) -> builtins.bool:
    """Whether autocast is on for ``device_type`` on this thread (no argument: ``"cuda"``, as in PyTorch)."""
    return _ac().autocast_state(device_type or "cuda")[0]


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for ``device_type`` on this thread (prefer the ``ts.autocast`` context)."""
    if enabled is None:  # the old one-argument form meant CUDA
        device_type, enabled = "cuda", device_type
    _ac().set_autocast_state(device_type, enabled=builtins.bool(enabled))


def get_autocast_dtype(device_type: str) -> _dt.dtype:
    """The lower-precision dtype autocast uses for ``device_type`` (``bfloat16`` for the CPU by default)."""
    return _ac().autocast_state(device_type)[1]


def set_autocast_dtype(device_type: str, dtype) -> None:
    """Set the dtype autocast casts to for ``device_type`` on this thread."""
    _ac().set_autocast_state(device_type, dtype=_dt.as_dtype(dtype))


def is_autocast_cpu_enabled() -> builtins.bool:
    """Whether CPU autocast is on (``is_autocast_enabled("cpu")``)."""
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: builtins.bool) -> None:
    """``set_autocast_enabled("cpu", enabled)``."""
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> _dt.dtype:
    """``get_autocast_dtype("cpu")``."""
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cpu", dtype)``."""
    set_autocast_dtype("cpu", dtype)


def is_autocast_cache_enabled() -> builtins.bool:
    """Whether autocast caches the casts of parameters within a region."""
    return _ac().autocast_cache_enabled()


def set_autocast_cache_enabled(enabled: builtins.bool) -> None:
    """Turn the autocast cast cache on or off on this thread."""
    _ac().set_autocast_cache_enabled(builtins.bool(enabled))


def clear_autocast_cache() -> None:
    """Drop the casts autocast has cached on this thread."""
    _ac().clear_autocast_cache()
