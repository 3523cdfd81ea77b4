"""``ts.accelerator``: PyTorch's device-agnostic accelerator queries, answered for a CPU-only build.

Tessera computes on the CPU only, so there is no accelerator: the queries say so and the calls that need
one raise PyTorch's error.

Example:
    >>> ts.accelerator.is_available(), ts.accelerator.current_accelerator(), ts.accelerator.device_count()
    (False, None, 0)
"""

from __future__ import annotations

from .core.device import NO_ACCELERATOR, device

__all__ = [
    "is_available",
    "current_accelerator",
    "device_count",
    "current_device_index",
    "current_device_idx",
    "set_device_index",
    "set_device_idx",
    "current_stream",
    "set_stream",
    "synchronize",
    "device_index",
]


def is_available() -> bool:
    """Whether an accelerator can be used: always False here."""
    return False


def current_accelerator(check_available: bool = False) -> device | None:
    """The accelerator device type, or None when there is none (always None here)."""
    return None


def device_count() -> int:
    """The number of accelerator devices: 0."""
    return 0


def _none(*args, **kwargs):
    raise RuntimeError(NO_ACCELERATOR)


def current_device_index() -> int:
    """The current accelerator's index; raises, as PyTorch does with no accelerator."""
    _none()


def set_device_index(device, /) -> None:  # noqa: A002 - PyTorch's name
    """Select an accelerator by index; raises, as PyTorch does with no accelerator."""
    _none()


def current_stream(device=None):  # noqa: A002
    """The current accelerator stream; raises, as PyTorch does with no accelerator."""
    _none()


def set_stream(stream) -> None:
    """Set the current accelerator stream; raises, as PyTorch does with no accelerator."""
    _none()


def synchronize(device=None) -> None:  # noqa: A002
    """Wait for the accelerator's work; raises, as PyTorch does with no accelerator."""
    _none()


current_device_idx = current_device_index
set_device_idx = set_device_index


class device_index:
    """Context manager selecting an accelerator by index; ``None`` is a no-op, anything else raises."""

    def __init__(self, device, /):  # noqa: A002
        self.idx = device

    def __enter__(self):
        if self.idx is not None:
            _none()
        return self

    def __exit__(self, *exc):
        return False
