"""Adagrad (Duchi et al., 2011), with PyTorch's exact update."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import full_like
from ..core.tensor import Tensor
from ._ops import ADAGRAD_STEP
from .optimizer import Optimizer, _check_lr, _check_nonneg, _new_step

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad with PyTorch's update rule:

    ``clr = lr / (1 + (t - 1) * lr_decay)``, ``sum += g * g``, ``p -= clr * g / (sqrt(sum) + eps)``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the squared-gradient sums (default 0).
        eps: term added to the denominator (default 1e-10).
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, fused: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.Adagrad(model.parameters(), lr=0.1, initial_accumulator_value=0.1)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        self._check_hparams(defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        _check_lr("Adagrad", lr)
        if not 0.0 <= group["lr_decay"]:
            raise ValueError(f"Invalid lr_decay value: {group['lr_decay']}")
        _check_nonneg("weight_decay", group["weight_decay"])
        iav = group["initial_accumulator_value"]
        if not 0.0 <= iav:
            raise ValueError(f"Invalid initial_accumulator_value value: {iav}")
        _check_nonneg("epsilon", group["eps"])
        if group.get("differentiable"):
            raise NotImplementedError("Adagrad: differentiable=True is not supported by Tessera optimizers")

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict | None = None) -> dict:
        state = self.state[p] if state is None else state
        if "sum" not in state:  # at construction, or a parameter added with add_param_group
            state["step"] = _new_step()
            state["sum"] = full_like(p, group["initial_accumulator_value"])
        return state

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Adagrad step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure, ADAGRAD_STEP, ("sum", "step"), ("lr", "lr_decay", "eps", "weight_decay")
        )
