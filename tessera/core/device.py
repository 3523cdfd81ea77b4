"""Devices: where a tensor's memory lives and which array library computes on it.

Only ``cpu`` (NumPy) exists today. ``ts.device`` parses every device type PyTorch knows (so code that
merely names ``"cuda"`` or ``"mps"`` runs), but a tensor can only be placed on the CPU; asking for another
device raises PyTorch's error for a build without that backend. The design leaves room for ``cuda``
through CuPy, which implements NumPy's ``__array_ufunc__``/``__array_function__`` protocols, so op
implementations written against NumPy dispatch to it unchanged.
"""

from __future__ import annotations

import numpy as np

__all__ = ["device", "cuda_is_available", "set_default_device", "get_default_device", "CudaUnavailableError"]

# PyTorch's device types, in its error message's order.
DEVICE_TYPES = (
    "cpu cuda ipu xpu mkldnn opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu mtia "
    "privateuseone"
).split()
_DEVICE_TYPES = frozenset(DEVICE_TYPES)

NO_ACCELERATOR = "Cannot access accelerator device when none is available."
NO_CUDA = "Torch not compiled with CUDA enabled"


class device:
    """A device such as ``ts.device("cpu")``, ``ts.device("cuda", 0)`` or ``ts.device("cuda:1")``.

    Any device type PyTorch knows can be named; only ``cpu`` can hold tensors in this build.

    Example:
        >>> ts.device("cuda:1")
        device(type='cuda', index=1)
    """

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if isinstance(spec, int) and not isinstance(spec, bool):
            # torch.device(0) means "accelerator 0"; this build has none
            raise RuntimeError(NO_ACCELERATOR)
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type(spec).__name__}")
        name, _, idx = spec.partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {spec}"
            )
        if idx:
            if index is not None:
                raise ValueError(f"device: index given twice in {spec!r} and index={index}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            index = int(idx)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self):
        # ``with ts.device("cpu"):`` makes it the default device for factories inside, as in PyTorch
        global _DEFAULT
        _STACK.append(_DEFAULT)
        _DEFAULT = self
        return self

    def __exit__(self, *exc):
        global _DEFAULT
        _DEFAULT = _STACK.pop()
        return False

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")
_DEFAULT = CPU
_STACK: list = []


def cuda_is_available() -> bool:
    """Whether a CUDA backend can be used: always False, as ``torch.cuda.is_available()`` on a CPU build.

    Example:
        >>> ts.cuda_is_available()
        False
    """
    return False


class CudaUnavailableError(AssertionError, RuntimeError):
    """Raised for a CUDA request: PyTorch raises ``AssertionError("Torch not compiled with CUDA enabled")``
    on a CPU build; Tessera's device errors are RuntimeErrors. This is both, so either ``except`` works."""


def _unavailable(d: device) -> Exception:
    """PyTorch's error for placing a tensor on a device this build lacks."""
    if d.type == "cuda":
        return CudaUnavailableError(NO_CUDA)
    if d.type == "meta":
        return NotImplementedError("device 'meta': meta tensors are not supported by Tessera (only 'cpu')")
    return RuntimeError(f"PyTorch is not linked with support for {d.type} devices")


def as_device(d) -> device:
    """Normalise a device argument (None means the default device); raise PyTorch's error for a device
    this build lacks."""
    if d is None:
        d = _DEFAULT
        if d is CPU:
            return CPU
    if d is CPU or d == "cpu":
        return CPU
    d = device(d)
    if d.type != "cpu":
        raise _unavailable(d)
    return CPU  # as in PyTorch, a CPU index is accepted and the tensor is on "cpu"


def set_default_device(device_) -> None:
    """Set the device that factories such as ``ts.zeros`` use when no ``device`` is given (None: ``cpu``).

    As in PyTorch on a CPU build, naming ``"cuda"`` is allowed; creating a tensor then raises.

    Example:
        >>> ts.set_default_device("cpu")
        >>> ts.get_default_device()
        device(type='cpu')
    """
    global _DEFAULT
    _DEFAULT = CPU if device_ is None else device(device_)
    if _DEFAULT == CPU:
        _DEFAULT = CPU


def get_default_device() -> device:
    """The device factories use by default (``device(type='cpu')`` unless changed)."""
    return _DEFAULT


def array_module(device_: device):
    """The array library that computes on ``device_`` (NumPy for the CPU)."""
    return np
