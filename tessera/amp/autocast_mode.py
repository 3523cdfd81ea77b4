"""``ts.autocast``: the context manager / decorator turning autocast on for a region (as ``torch.autocast``).

The casts themselves happen at the dispatch point (``tessera.core.dispatch.apply``), driven by the table
``AUTOCAST_POLICY`` of registry op names; this module only switches the per-thread state.
"""

from __future__ import annotations

import functools
import warnings

from ..core import dispatch as _dispatch
from ..core import dtypes as _dt
from ..core.tensor import Tensor

__all__ = ["autocast", "custom_fwd", "custom_bwd", "is_autocast_available"]

_SUPPORTED = {"cpu": (_dt.bfloat16, _dt.float16)}


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can run on ``device_type``: only ``"cpu"`` in this build."""
    return device_type == "cpu"


class autocast:
    """Run a region in mixed precision: listed ops cast their inputs to ``dtype`` (matmul, conv,
    attention) or to float32 (losses, ``prod``), as PyTorch's CPU autocast does.

    ``device_type``: ``"cpu"`` (``"cuda"`` is accepted and, without a GPU, disabled with PyTorch's
    warning). ``dtype``: ``ts.bfloat16`` (default) or ``ts.float16``. ``cache_enabled``: reuse a
    parameter's cast within the region (default True). Usable as a decorator too.

    Example:
        >>> with ts.autocast(device_type="cpu", dtype=ts.bfloat16):
        ...     ts.is_autocast_enabled("cpu"), ts.prod(ts.ones(3).bfloat16()).dtype   # prod runs in float32
        (True, tessera.float32)
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be a bool, got {type(enabled).__name__}")
        self.device = device_type
        dev = _dispatch._autocast_device(device_type)
        self.fast_dtype = _dispatch.autocast_state(dev)[1] if dtype is None else _dt.as_dtype(dtype)
        self._cache_enabled = (
            _dispatch.autocast_cache_enabled() if cache_enabled is None else bool(cache_enabled)
        )
        if enabled and dev != "cpu":
            warnings.warn(
                f"User provided device_type of '{dev}', but {dev.upper()} is not available. Disabling",
                stacklevel=2,
            )
            enabled = False
        if enabled and dev == "cpu" and self.fast_dtype not in _SUPPORTED["cpu"]:
            warnings.warn(
                "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                "CPU Autocast only supports dtype of tessera.bfloat16, tessera.float16 currently.",
                stacklevel=2,
            )
            enabled = False
        self._enabled = enabled
        self._saved: list = []

    def __enter__(self):
        saved = (*_dispatch.autocast_state(self.device), _dispatch.autocast_cache_enabled())
        self._saved.append(saved)
        _dispatch.set_autocast_state(self.device, enabled=self._enabled, dtype=self.fast_dtype)
        _dispatch.set_autocast_cache_enabled(self._cache_enabled)
        _dispatch._autocast_local()["depth"] += 1  # per thread; the cast cache is dropped at depth 0
        return self

    def __exit__(self, *exc):
        enabled, dtype, cache = self._saved.pop()
        st = _dispatch._autocast_local()
        st["depth"] -= 1
        if st["depth"] == 0:
            _dispatch.clear_autocast_cache()
        _dispatch.set_autocast_state(self.device, enabled=enabled, dtype=dtype)
        _dispatch.set_autocast_cache_enabled(cache)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast

    def __repr__(self) -> str:
        return f"autocast(device_type={self.device!r}, dtype={self.fast_dtype}, enabled={self._enabled})"


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorator for a custom autograd function's ``forward``: with ``cast_inputs`` (a dtype) the floating
    tensor arguments are cast to it and the forward runs with autocast off; otherwise it runs as called."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        if cast_inputs is None or not _dispatch.autocast_state(device_type)[0]:
            return fwd(*args, **kwargs)
        target = _dt.as_dtype(cast_inputs)

        def cast(v):
            if isinstance(v, Tensor) and v.dtype.is_floating_point and v.dtype is not _dt.float64:
                return v.to(target)
            return v

        with autocast(device_type, enabled=False):
            return fwd(*(cast(a) for a in args), **{k: cast(v) for k, v in kwargs.items()})

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorator for a custom autograd function's ``backward`` (runs it as called)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        return bwd(*args, **kwargs)

    return decorate_bwd
