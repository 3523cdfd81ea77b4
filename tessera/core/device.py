"""Devices: where a tensor's memory lives and which array library computes on it.

Only ``cpu`` (NumPy) exists today. The design leaves room for ``cuda`` through CuPy, which implements
NumPy's ``__array_ufunc__``/``__array_function__`` protocols, so op implementations written against NumPy
dispatch to it unchanged.
"""

from __future__ import annotations

import numpy as np

__all__ = ["device", "cuda_is_available"]


class device:
    """A device such as ``ts.device("cpu")`` or ``ts.device("cuda", 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type(spec).__name__}")
        name, _, idx = spec.partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device type {name!r}; expected 'cpu' or 'cuda'")
        if idx:
            if index is not None:
                raise ValueError(f"device: index given twice in {spec!r} and index={index}")
            index = int(idx)
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return (
            isinstance(other, device) and self.type == other.type and (self.index or 0) == (other.index or 0)
        )

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def cuda_is_available() -> bool:
    """True when a CUDA backend (CuPy with a visible GPU) can be used."""
    try:
        import cupy  # noqa: F401

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def as_device(d) -> device:
    """Normalise a device argument; raise a clear error for devices Tessera cannot use here."""
    if d is None or d is CPU or d == "cpu":
        return CPU
    d = device(d)
    if d.type == "cuda":
        raise RuntimeError(
            f"device {d}: the CUDA backend is not available in this build (only 'cpu' is supported)"
        )
    return CPU


def array_module(device_: device):
    """The array library that computes on ``device_`` (NumPy for the CPU)."""
    return np
