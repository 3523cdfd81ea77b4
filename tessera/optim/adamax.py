"""Adamax (Kingma & Ba, 2014: Adam with the infinity norm), with PyTorch's exact update."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.tensor import Tensor
from ._ops_more import ADAMAX_STEP
from .optimizer import (
    Optimizer,
    _check_adam_like,
    _check_not_differentiable,
    _new_step,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax with PyTorch's update rule:

    ``m = lerp(m, g, 1 - beta1)``, ``u = max(beta2 * u, |g| + eps)``, ``p -= lr / (1 - beta1**t) * m / u``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running average and of the infinity norm (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.Adamax(model.parameters(), lr=2e-3)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['exp_avg', 'exp_inf', 'step']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        _check_adam_like("Adamax", group)
        _check_not_differentiable("Adamax", group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["exp_avg"] = zeros_like(p)
            state["exp_inf"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Adamax step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure,
            ADAMAX_STEP,
            ("exp_avg", "exp_inf", "step"),
            ("lr", "betas[0]", "betas[1]", "eps", "weight_decay"),
        )
