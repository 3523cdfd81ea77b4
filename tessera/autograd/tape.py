"""TensorFlow-style ``GradientTape`` on top of the define-by-run engine."""

from __future__ import annotations

import numpy as np

from ..core.dispatch import REGISTRY, apply
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor
from .engine import grad as _grad

__all__ = ["GradientTape"]


def _flatten(structure, out):
    if isinstance(structure, Tensor):
        out.append(structure)
    elif isinstance(structure, dict):
        for k in structure:
            _flatten(structure[k], out)
    elif isinstance(structure, (list, tuple)):
        for s in structure:
            _flatten(s, out)
    elif structure is not None:
        raise TypeError(
            f"GradientTape: sources must be tensors or nested lists/tuples/dicts of tensors, got "
            f"{type(structure).__name__}"
        )
    return out


def _unflatten(structure, flat):
    if isinstance(structure, Tensor):
        return next(flat)
    if isinstance(structure, dict):
        return {k: _unflatten(v, flat) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        items = [_unflatten(s, flat) for s in structure]
        return type(structure)(items) if not hasattr(structure, "_fields") else type(structure)(*items)
    return None


class GradientTape:
    """Record operations for differentiation, TensorFlow style.

    Tensors that require grad are recorded automatically; others are recorded once passed to ``watch``.
    A non-persistent tape allows one ``gradient`` call.

    Example:
        >>> x = ts.tensor(2.0)
        >>> with ts.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x**2 + 3*x + 1
        >>> tape.gradient(y, x)
        tensor(7.)
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched: list[Tensor] = []
        self._recording = False
        self._used = False

    def __enter__(self):
        self._recording = True
        self._prev_enabled = _GRAD.enabled
        _GRAD.enabled = True
        return self

    def __exit__(self, *exc):
        self._recording = False
        _GRAD.enabled = self._prev_enabled
        return False

    def watch(self, tensor) -> None:
        """Start recording operations on ``tensor`` (or a nested structure of tensors)."""
        for t in _flatten(tensor, []):
            if not t.is_floating_point():
                raise TypeError(f"GradientTape.watch: only floating tensors can be watched, got {t.dtype}")
            if not t._requires_grad:
                if t.grad_fn is None:
                    t._requires_grad = True  # leaf: becomes a differentiable source for this tape
                self._watched.append(t)

    def watched_variables(self) -> tuple:
        return tuple(self._watched)

    def stop_recording(self):
        """Context manager that pauses recording: ``with tape.stop_recording(): ...``."""
        tape = self

        class _Pause:
            def __enter__(self_inner):
                self_inner.prev = _GRAD.enabled
                _GRAD.enabled = False
                return tape

            def __exit__(self_inner, *exc):
                _GRAD.enabled = self_inner.prev
                return False

        return _Pause()

    def reset(self) -> None:
        for t in self._watched:
            if t.grad_fn is None:
                t._requires_grad = False
        self._watched.clear()

    def _check_use(self, name):
        if self._used and not self.persistent:
            raise RuntimeError(
                f"GradientTape.{name}: a non-persistent GradientTape can only be used to compute one set of "
                "gradients (or jacobians); use GradientTape(persistent=True)."
            )
        self._used = True

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients: str = "none"):
        """d(sum of target)/d(sources), returned in the structure of ``sources``.

        Sources not connected to the target give ``None`` (or zeros with ``unconnected_gradients="zero"``).
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(
                f"GradientTape.gradient: unconnected_gradients must be 'none' or 'zero', got "
                f"{unconnected_gradients!r}"
            )
        self._check_use("gradient")
        targets = _flatten(target, [])
        flat_sources = _flatten(sources, [])
        if not flat_sources:
            raise ValueError("GradientTape.gradient: sources must contain at least one tensor")
        live = [t for t in targets if t._requires_grad]
        if output_gradients is not None:
            ogs = _flatten(output_gradients, [])
            ogs = [g for t, g in zip(targets, ogs) if t._requires_grad]
        else:
            ogs = [Tensor._wrap(np.ones(t._data.shape, dtype=t._data.dtype)) for t in live]
        usable = [s for s in flat_sources if s._requires_grad]
        grads = {}
        if live and usable:
            res = _grad(
                live,
                usable,
                ogs,
                retain_graph=self.persistent,
                allow_unused=True,
                create_graph=_GRAD.enabled and self._recording,
            )
            grads = {id(s): g for s, g in zip(usable, res)}
        out = []
        for s in flat_sources:
            g = grads.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = Tensor._wrap(np.zeros(s._data.shape, dtype=s._data.dtype))
            out.append(g)
        if not self.persistent:
            self.reset()
        return _unflatten(sources, iter(out))

    def jacobian(self, target, sources, unconnected_gradients: str = "none"):
        """The Jacobian of ``target`` w.r.t. each source: shape ``target.shape + source.shape``."""
        self._check_use("jacobian")
        flat_sources = _flatten(sources, [])
        n = target.numel()
        rows = [[] for _ in flat_sources]
        for k in range(n):
            onehot = np.zeros(n, dtype=target._data.dtype)
            onehot[k] = 1
            og = Tensor._wrap(onehot.reshape(target._data.shape))
            usable = [s for s in flat_sources if s._requires_grad]
            res = (
                _grad(target, usable, og, retain_graph=True, allow_unused=True)
                if target._requires_grad
                else [None] * len(usable)
            )
            got = {id(s): g for s, g in zip(usable, res)}
            for j, s in enumerate(flat_sources):
                g = got.get(id(s))
                rows[j].append(
                    Tensor._wrap(np.zeros(s._data.shape, s._data.dtype)) if g is None else g.detach()
                )
        out = []
        for j, s in enumerate(flat_sources):
            if not s._requires_grad and unconnected_gradients == "none":
                out.append(None)
            else:
                # Stacked with the registry's op (autograd sits below tessera.ops), so a trace records it.
                stacked = apply(REGISTRY["stack"], tuple(rows[j]), {"dim": 0})
                out.append(stacked.reshape(tuple(target.shape) + tuple(s.shape)))
        if not self.persistent:
            self.reset()
        return _unflatten(sources, iter(out))
