"""``ts.cuda``: PyTorch's CUDA queries and no-op controls, answered for a build without a GPU backend.

The queries say there is no GPU (``is_available()`` False, ``device_count()`` 0, memory counters 0),
seeding and cache controls do nothing, and the calls that need a GPU raise PyTorch's
``AssertionError: Torch not compiled with CUDA enabled``.

Example:
    >>> ts.cuda.is_available(), ts.cuda.device_count(), ts.cuda.memory_allocated()
    (False, 0, 0)
"""

from __future__ import annotations

import collections
import sys
import types

from .core.device import NO_CUDA, CudaUnavailableError

__all__ = [
    "is_available",
    "is_initialized",
    "device_count",
    "init",
    "current_device",
    "set_device",
    "get_device_name",
    "get_device_capability",
    "get_device_properties",
    "get_arch_list",
    "is_bf16_supported",
    "synchronize",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "initial_seed",
    "get_rng_state",
    "get_rng_state_all",
    "set_rng_state",
    "set_rng_state_all",
    "empty_cache",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "memory_cached",
    "max_memory_cached",
    "reset_peak_memory_stats",
    "reset_max_memory_allocated",
    "memory_stats",
    "memory_summary",
    "mem_get_info",
    "ipc_collect",
    "current_stream",
    "default_stream",
    "stream",
    "Stream",
    "Event",
    "device",
    "device_of",
    "amp",
]


def _not_compiled(*args, **kwargs):
    raise CudaUnavailableError(NO_CUDA)


def is_available() -> bool:
    """Whether a CUDA GPU can be used: always False in this build."""
    return False


def is_initialized() -> bool:
    """Whether CUDA has been initialised: always False."""
    return False


def device_count() -> int:
    """The number of CUDA devices: 0."""
    return 0


def get_arch_list() -> list[str]:
    """The CUDA architectures this build supports: none."""
    return []


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether the current CUDA device supports bfloat16: False (there is none)."""
    return False


# Calls that need a GPU: PyTorch asserts it was compiled with CUDA.
init = current_device = get_device_name = get_device_capability = get_device_properties = _not_compiled
synchronize = initial_seed = get_rng_state = set_rng_state = mem_get_info = ipc_collect = _not_compiled
current_stream = default_stream = _not_compiled


def set_device(device) -> None:  # noqa: A002 - PyTorch's name
    """Select a CUDA device; raises (this build has none). A negative index is a no-op, as in PyTorch."""
    if isinstance(device, int) and device < 0:
        return
    _not_compiled()


def get_rng_state_all() -> list:
    """The RNG states of all CUDA devices: an empty list (there are none)."""
    return []


def set_rng_state_all(new_states) -> None:
    """Set the RNG states of all CUDA devices: nothing to set."""


def manual_seed(seed: int) -> None:
    """Seed the current CUDA device's generator: a no-op without CUDA (as in PyTorch)."""


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA device's generator: a no-op without CUDA."""


def seed() -> None:
    """Seed the current CUDA generator randomly: a no-op without CUDA."""


def seed_all() -> None:
    """Seed every CUDA generator randomly: a no-op without CUDA."""


def empty_cache() -> None:
    """Release cached GPU memory: nothing to release."""


def _zero(device=None) -> int:  # noqa: A002
    return 0


memory_allocated = max_memory_allocated = memory_reserved = max_memory_reserved = _zero
memory_cached = max_memory_cached = _zero
memory_allocated.__doc__ = "GPU memory held by tensors, in bytes: 0 (there is no GPU)."


def reset_peak_memory_stats(device=None) -> None:  # noqa: A002
    """Reset the peak memory counters: nothing to reset."""


reset_max_memory_allocated = reset_peak_memory_stats


def memory_stats(device=None) -> collections.OrderedDict:  # noqa: A002
    """The caching allocator's statistics: empty without CUDA (as in PyTorch)."""
    return collections.OrderedDict()


def memory_summary(device=None, abbreviated: bool = False) -> str:  # noqa: A002
    """A printable summary of GPU memory use."""
    return "No CUDA device: Tessera computes on the CPU.\n"


class Stream:
    """A CUDA stream; cannot be created without CUDA."""

    def __new__(cls, *args, **kwargs):
        raise RuntimeError("torch.cuda.Stream requires CUDA support")


class Event:
    """A CUDA event; cannot be created without CUDA."""

    def __new__(cls, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class Event")


class device:
    """Context manager selecting a CUDA device; a no-op for ``None``/negative indices, else it raises on
    entry (as PyTorch does without CUDA)."""

    def __init__(self, device):  # noqa: A002
        self.idx = device.index if hasattr(device, "index") else device

    def __enter__(self):
        if self.idx is not None and not (isinstance(self.idx, int) and self.idx < 0):
            _not_compiled()
        return self

    def __exit__(self, *exc):
        return False


class device_of(device):
    """Context manager selecting the device of a tensor: a no-op for CPU tensors."""

    def __init__(self, obj):
        super().__init__(None)


class stream:
    """Context manager selecting a stream: a no-op for ``None``."""

    def __init__(self, stream):
        if stream is not None:
            _not_compiled()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _make_amp() -> types.ModuleType:
    """``ts.cuda.amp``: the deprecated spellings ``autocast(...)``/``GradScaler(...)`` of ``ts.amp``'s,
    for device ``"cuda"`` (disabled, with PyTorch's warnings, since there is no GPU)."""
    mod = types.ModuleType(__name__ + ".amp", _make_amp.__doc__)

    def autocast(enabled: bool = True, dtype=None, cache_enabled: bool = True):
        from . import amp as _amp

        return _amp.autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    def GradScaler(
        init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True
    ):  # noqa: N802
        from . import amp as _amp

        return _amp.GradScaler(
            "cuda",
            init_scale=init_scale,
            growth_factor=growth_factor,
            backoff_factor=backoff_factor,
            growth_interval=growth_interval,
            enabled=enabled,
        )

    mod.autocast, mod.GradScaler = autocast, GradScaler
    mod.__all__ = ["autocast", "GradScaler"]
    sys.modules[mod.__name__] = mod
    return mod


amp = _make_amp()
