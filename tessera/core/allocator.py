"""Host memory: tuning glibc to keep freed NumPy buffers in the process heap for reuse, and the errors for
allocations that cannot be satisfied (``allocating``), which name the public op, the shape and the bytes.

glibc serves large allocations (a training step's activations and gradients are megabytes each) with
fresh ``mmap`` pages and returns them to the OS on free, so every large temporary pays page faults on
first touch; in a CNN training step that doubled the time. Raising the mmap and trim thresholds makes
freed blocks reusable, as a caching allocator would. Set ``TESSERA_MALLOC_TUNING=0`` to opt out.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import os
import sys
import threading

import numpy as np

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024 * 1024  # blocks above this still come from (and go back to) mmap
TRIM_THRESHOLD = 512 * 1024 * 1024  # free heap kept for reuse before trimming back to the OS


def tune_malloc() -> bool:
    """Apply the thresholds on Linux/glibc; returns whether they were applied."""
    if os.environ.get("TESSERA_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


# -- allocation failures ----------------------------------------------------------------------------------
def _format_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "bytes" else f"{n} bytes"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def _machine_bytes() -> int | None:
    """Physical memory plus swap, or None where it cannot be read."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    try:
        with open("/proc/meminfo") as f:
            swap = next((int(line.split()[1]) * 1024 for line in f if line.startswith("SwapTotal:")), 0)
    except OSError:
        swap = 0
    return total + swap


_MACHINE_BYTES = _machine_bytes()


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../tessera


def public_caller(default: str) -> str:
    """The name of the Tessera function (or layer class) the user's code called, found on the stack: the
    outermost frame inside the package. Used on error paths only, so that a failure deep inside (an
    ``empty`` under ``nn.Linear``, a ``mul`` under ``outer``) names what the user wrote."""
    frame, entry = sys._getframe(1), None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_PACKAGE):
            entry = frame
        elif entry is not None and filename != contextlib.__file__:  # ``with allocating(...)`` passes through
            break
        frame = frame.f_back
    if entry is None:
        return default
    name = entry.f_code.co_name
    owner = entry.f_locals.get("self")
    if name in ("__init__", "__call__", "_call_impl", "forward", "wrapper") and owner is not None:
        return type(owner).__name__
    return default if name.startswith("<") or name == "wrapper" else name


def out_of_memory(opname: str, shape, dtype) -> MemoryError:
    """The error for a tensor that cannot be allocated, naming the op the user called (``opname`` unless
    a public caller is found on the stack), the shape and the bytes asked for."""
    opname = public_caller(opname)
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    have = f" (this machine has {_format_bytes(_MACHINE_BYTES)} of memory and swap)" if _MACHINE_BYTES else ""
    return MemoryError(
        f"{opname}: cannot allocate {_format_bytes(nbytes)} ({nbytes} bytes) for a tensor of shape "
        f"{list(shape)} and dtype {np.dtype(dtype).name}{have}"
    )


def check_allocation(opname: str, shape, dtype) -> None:
    """Raise ``out_of_memory`` before allocating what can never fit: more bytes than the machine's memory
    and swap (with overcommit an uninitialised array that large may "succeed" and fail later on touch).
    Inside ``allocation_budget`` the bytes are also counted against the budget."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if _MACHINE_BYTES and nbytes > _MACHINE_BYTES:
        raise out_of_memory(opname, shape, dtype)
    budget = getattr(_BUDGET, "stack", None)
    if budget:
        left, message = budget[-1]
        if nbytes > left:
            raise ValueError(
                f"{message} it may ({opname} of shape {list(shape)} and dtype {np.dtype(dtype).name} needs "
                f"{nbytes} bytes, {left} are left of the budget)"
            )
        budget[-1] = (left - nbytes, message)


_BUDGET = threading.local()


@contextlib.contextmanager
def allocation_budget(nbytes: int, message: str):
    """Count the tensors that the creation ops allocate inside the block against ``nbytes``; one that does
    not fit raises ``ValueError(message + ...)`` before it is allocated. Used when rebuilding a model from a
    file, whose declared sizes must agree with the weights it stores."""
    stack = _BUDGET.__dict__.setdefault("stack", [])
    stack.append((int(nbytes), message))
    try:
        yield
    finally:
        stack.pop()


def allocate(opname: str, shape, dtype, make, /, *args, **kwargs):
    """``make(*args, **kwargs)``, the allocation of an array of ``shape``/``dtype`` for ``opname``, after
    ``check_allocation``; NumPy's ``MemoryError`` and "array is too big" become ``out_of_memory``'s error.
    A plain call rather than a context manager: creation ops are on the per-op hot path."""
    check_allocation(opname, shape, dtype)
    try:
        return make(*args, **kwargs)
    except MemoryError:
        raise out_of_memory(opname, shape, dtype) from None
    except ValueError as e:
        if "too big" in str(e) or "maximum supported" in str(e):
            raise out_of_memory(opname, shape, dtype) from None
        raise
