"""Host-memory tuning: keep freed NumPy buffers in the process heap for reuse.

glibc serves large allocations (a training step's activations and gradients are megabytes each) with
fresh ``mmap`` pages and returns them to the OS on free, so every large temporary pays page faults on
first touch; in a CNN training step that doubled the time. Raising the mmap and trim thresholds makes
freed blocks reusable, as a caching allocator would. Set ``TESSERA_MALLOC_TUNING=0`` to opt out.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

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
