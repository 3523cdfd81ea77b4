"""``ts.amp.GradScaler``: loss scaling for mixed-precision training, with ``torch.amp.GradScaler``'s
semantics (scale, unscale_, step skipping on inf/nan, update with growth and backoff)."""

from __future__ import annotations

import enum
import numbers
import warnings
from typing import Any

from .. import ops
from ..core.creation import full, zeros
from ..core.dtypes import float32
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor

__all__ = ["GradScaler", "OptState"]


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


class GradScaler:
    """Scale the loss, unscale the gradients before stepping, skip steps whose gradients overflowed.

    ``scale(loss)`` multiplies by the current scale; ``step(optimizer)`` unscales the gradients (unless
    ``unscale_`` already did) and steps only if they are all finite; ``update()`` divides the scale by
    ``1/backoff_factor`` after an overflow, or multiplies it by ``growth_factor`` after
    ``growth_interval`` clean steps. ``device="cuda"`` is accepted but, without a GPU, disabled with
    PyTorch's warning; use ``GradScaler("cpu")``. A disabled scaler passes everything through.

    Example:
        >>> model = ts.nn.Linear(2, 1)
        >>> opt = ts.optim.SGD(model.parameters(), lr=0.1)
        >>> scaler = ts.amp.GradScaler("cpu", init_scale=1024.0)
        >>> scaler.scale(model(ts.ones(1, 2)).sum()).backward()
        >>> scaler.step(opt)
        >>> scaler.update()
        >>> scaler.get_scale()
        1024.0
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if not isinstance(device, str):
            raise TypeError(f"GradScaler: device must be a string such as 'cpu', got {type(device).__name__}")
        self._device = device
        if enabled and device != "cpu":
            warnings.warn(
                f"GradScaler is enabled, but {device.upper()} is not available.  Disabling.", stacklevel=2
            )
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if not growth_factor > 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if not backoff_factor < 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            if not isinstance(growth_interval, int) or growth_interval <= 0:
                raise AssertionError("growth_interval must be a positive int")
        self._init_scale = float(init_scale)
        self._scale: Tensor | None = None  # created on first use, as in PyTorch
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker = 0
        self._per_optimizer_states: dict[int, dict[str, Any]] = {}

    # -- scaling ----------------------------------------------------------------------------------------
    def _lazy_init(self) -> None:
        if self._scale is None:
            self._scale = full((), self._init_scale, dtype=float32)

    def scale(self, outputs):
        """``outputs`` (a tensor, or nested lists/tuples of tensors) multiplied by the current scale."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, dict):
            return {k: self.scale(v) for k, v in outputs.items()}
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state(self, optimizer) -> dict:
        return self._per_optimizer_states.setdefault(
            id(optimizer), {"stage": OptState.READY, "found_inf": None}
        )

    def _unscale_grads(self, optimizer, inv_scale: float) -> Tensor:
        found = zeros(())
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g.dtype.name == "float16":
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    found = ops.maximum(found, ops.logical_not(ops.isfinite(g)).any().to(found.dtype))
                    g.mul_(inv_scale)
        return found

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (e.g. before gradient clipping), and
        note whether any is inf/nan. At most once per optimizer between ``update`` calls."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        self._lazy_init()
        inv_scale = float(1.0 / float(self._scale.item()))
        state["found_inf"] = self._unscale_grads(optimizer, inv_scale)
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale ``optimizer``'s gradients if needed, then ``optimizer.step(*args, **kwargs)`` unless a
        gradient is inf/nan (the step is skipped). Returns the step's result (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if state["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not float(state["found_inf"].item()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Adjust the scale for the next iteration (or set it to ``new_scale``) and reset the per-step
        state of every optimizer."""
        if not self._enabled:
            return
        self._lazy_init()
        with no_grad():
            if new_scale is not None:
                if isinstance(new_scale, Tensor):
                    if new_scale.numel() != 1 or new_scale.requires_grad:
                        raise AssertionError(
                            "new_scale should be a float or a 1-element tessera.FloatTensor with requires_grad=False."
                        )
                    value = float(new_scale.item())
                elif isinstance(new_scale, numbers.Real):
                    value = float(new_scale)
                else:
                    raise TypeError(
                        f"update: new_scale must be a float or a tensor, got {type(new_scale).__name__}"
                    )
                self._scale.fill_(value)
            else:
                found = [
                    s["found_inf"] for s in self._per_optimizer_states.values() if s["found_inf"] is not None
                ]
                if not found:
                    raise AssertionError("No inf checks were recorded prior to update.")
                if any(float(f.item()) for f in found):
                    self._scale.mul_(self._backoff_factor)
                    self._growth_tracker = 0
                else:
                    self._growth_tracker += 1
                    if self._growth_tracker == self._growth_interval:
                        grown = float(self._scale.item()) * self._growth_factor
                        if grown != float("inf"):
                            self._scale.fill_(grown)
                        self._growth_tracker = 0
        self._per_optimizer_states = {}

    # -- queries and settings ---------------------------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self) -> int:
        return self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}``; empty
        when disabled."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict``."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            with no_grad():
                self._scale.fill_(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = self._growth_tracker = int(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_per_optimizer_states"] = {}
        return state
