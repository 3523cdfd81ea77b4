"""``ts.mps``: PyTorch's Apple-GPU queries, answered for a build without that backend.

Example:
    >>> ts.mps.is_available(), ts.mps.device_count()
    (False, 0)
"""

from __future__ import annotations

__all__ = [
    "is_available",
    "device_count",
    "manual_seed",
    "seed",
    "synchronize",
    "empty_cache",
    "get_rng_state",
    "set_rng_state",
    "current_allocated_memory",
    "driver_allocated_memory",
    "recommended_max_memory",
    "set_per_process_memory_fraction",
]


def is_available() -> bool:
    """Whether an Apple GPU can be used: always False in this build."""
    return False


def device_count() -> int:
    """The number of MPS devices: 0."""
    return 0


def manual_seed(seed: int) -> None:
    """Seed the MPS generator: a no-op without MPS (as in PyTorch)."""


def _no_mps(what: str):
    def call(*args, **kwargs):
        raise RuntimeError(f"Cannot execute {what}() without MPS backend.")

    call.__name__ = what
    call.__doc__ = f"Raises: this build has no MPS backend (PyTorch's ``{what}``)."
    return call


seed = _no_mps("getDefaultGenerator")
get_rng_state = set_rng_state = _no_mps("getDefaultGenerator")
synchronize = _no_mps("deviceSynchronize")
empty_cache = _no_mps("emptyCache")
current_allocated_memory = _no_mps("getCurrentAllocatedMemory")
driver_allocated_memory = _no_mps("getDriverAllocatedMemory")
recommended_max_memory = _no_mps("getRecommendedMaxMemory")
set_per_process_memory_fraction = _no_mps("setMemoryFraction")
