"""Adadelta (Zeiler, 2012), with PyTorch's exact update."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.tensor import Tensor
from ._ops_more import ADADELTA_STEP
from .optimizer import Optimizer, _check_lr, _check_nonneg, _check_not_differentiable, _new_step

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta with PyTorch's update rule:

    ``v = rho * v + (1 - rho) * g * g``, ``delta = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho * u + (1 - rho) * delta * delta``, ``p -= lr * delta``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: coefficient scaling delta before it is applied (default 1.0).
        rho: coefficient of the running averages (default 0.9).
        eps: term added to the denominator (default 1e-6).
        weight_decay: L2 penalty (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.Adadelta(model.parameters(), lr=1.0)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['acc_delta', 'square_avg', 'step']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        _check_lr("Adadelta", group["lr"])
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        _check_nonneg("epsilon", group["eps"])
        _check_nonneg("weight_decay", group["weight_decay"])
        _check_not_differentiable("Adadelta", group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["square_avg"] = zeros_like(p)
            state["acc_delta"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Adadelta step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure, ADADELTA_STEP, ("square_avg", "acc_delta", "step"), ("lr", "rho", "eps", "weight_decay")
        )
