"""Global autograd switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode``."""

from __future__ import annotations

import functools

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
]


class _State:
    __slots__ = ("enabled", "inference")

    def __init__(self):
        self.enabled = True
        self.inference = False


STATE = _State()


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for autograd."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _GradModeContext:
    """Base for the grad-mode context managers; each also works as a function decorator."""

    def _target(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = self._target()
        return self

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._init_args()):
                return fn(*args, **kwargs)

        return wrapper

    def _init_args(self):
        return ()


class no_grad(_GradModeContext):
    """Disable gradient recording: ``with ts.no_grad(): y = model(x)``; also usable as ``@ts.no_grad()``."""

    def _target(self):
        return False


class enable_grad(_GradModeContext):
    """Re-enable gradient recording inside a ``no_grad`` block."""

    def _target(self):
        return True


class set_grad_enabled(_GradModeContext):
    """Set gradient recording on or off: ``with ts.set_grad_enabled(is_train): ...``.

    Like PyTorch's, it also takes effect immediately when called as a plain function.
    """

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self.mode = mode
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = mode

    def __enter__(self):
        return self

    def _target(self):
        return self.mode

    def _init_args(self):
        return (self.mode,)


class inference_mode(_GradModeContext):
    """Like ``no_grad``, for pure inference: ``with ts.inference_mode(): preds = model(x)``."""

    def __init__(self, mode: bool = True):
        self.mode = mode

    def __enter__(self):
        super().__enter__()
        STATE.inference = self.mode
        return self

    def _target(self):
        return not self.mode and STATE.enabled

    def _init_args(self):
        return (self.mode,)
