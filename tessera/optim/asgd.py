"""ASGD (averaged SGD; Polyak & Juditsky, 1992) and Rprop (resilient backpropagation; Riedmiller & Braun,
1993), with PyTorch's exact updates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import full_like, zeros_like
from ..core.tensor import Tensor
from ._ops_more import ASGD_STEP, RPROP_STEP
from .optimizer import (
    Optimizer,
    _check_lr,
    _check_nonneg,
    _check_not_differentiable,
    _new_step,
    _scalar_state,
)

__all__ = ["ASGD", "Rprop"]


class ASGD(Optimizer):
    """Averaged SGD with PyTorch's update rule: ``p *= 1 - lambd * eta``, ``p -= eta * g``; the average
    ``ax`` follows ``p`` (``ax += mu * (p - ax)``); then ``eta = lr / (1 + lambd * lr * t) ** alpha`` and
    ``mu = 1 / max(1, t - t0)``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power of the eta update (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.ASGD(model.parameters(), lr=1e-2, t0=5)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['ax', 'eta', 'mu', 'step']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        _check_lr("ASGD", group["lr"])
        _check_nonneg("weight_decay", group["weight_decay"])
        _check_not_differentiable("ASGD", group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["eta"] = _scalar_state(group["lr"])
            state["mu"] = _scalar_state(1.0)
            state["ax"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one ASGD step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure, ASGD_STEP, ("ax", "eta", "mu", "step"), ("lr", "lambd", "alpha", "t0", "weight_decay")
        )


class Rprop(Optimizer):
    """Rprop with PyTorch's update rule: each element's step size is multiplied by ``etaplus`` when the
    gradient kept its sign, by ``etaminus`` when it flipped (and that gradient is then zeroed), clamped to
    ``step_sizes``; then ``p -= sign(g) * step_size``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: the initial step size (default 1e-2).
        etas: the (etaminus, etaplus) factors (default (0.5, 1.2)).
        step_sizes: the minimal and maximal step sizes (default (1e-6, 50)).
        capturable, foreach, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.Rprop(model.parameters(), lr=1e-2, etas=(0.5, 1.2))
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['prev', 'step', 'step_size']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        _check_lr("Rprop", group["lr"])
        etas, sizes = group["etas"], group["step_sizes"]
        if not isinstance(etas, (tuple, list)) or len(etas) != 2:
            raise ValueError(f"Rprop: etas must be a pair (etaminus, etaplus), got {etas!r}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
            raise ValueError(f"Rprop: step_sizes must be a pair (min, max), got {sizes!r}")
        _check_not_differentiable("Rprop", group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["prev"] = zeros_like(p)
            state["step_size"] = full_like(p, group["lr"])

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Rprop step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure,
            RPROP_STEP,
            ("prev", "step_size", "step"),
            ("etas[0]", "etas[1]", "step_sizes[0]", "step_sizes[1]"),
        )
