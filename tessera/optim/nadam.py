"""NAdam (Dozat, 2016: Adam with Nesterov momentum) and RAdam (Liu et al., 2019: rectified Adam), with
PyTorch's exact updates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.tensor import Tensor
from ._ops_more import NADAM_STEP, RADAM_STEP
from .optimizer import (
    Optimizer,
    _check_adam_like,
    _check_not_differentiable,
    _new_step,
    _scalar_state,
)

__all__ = ["NAdam", "RAdam"]

# step attribute -> group key
_ADAM_FLAGS = {"maximize": "maximize", "decoupled": "decoupled_weight_decay"}


class NAdam(Optimizer):
    """NAdam with PyTorch's update rule: with ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``
    and ``prod_t = mu_1 * ... * mu_t`` (``state["mu_product"]``),
    ``p -= lr * (1 - mu_t) / (1 - prod_t) * g / denom + lr * mu_{t+1} / (1 - prod_{t+1}) * m / denom``
    where ``m``, ``v`` are Adam's moments and ``denom = sqrt(v / (1 - beta2**t)) + eps``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default 0).
        momentum_decay: the momentum decay psi (default 4e-3).
        decoupled_weight_decay: decay the parameter as AdamW does (NAdamW).
        foreach, capturable, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.NAdam(model.parameters(), lr=2e-3, momentum_decay=4e-3)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['exp_avg', 'exp_avg_sq', 'mu_product', 'step']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        _check_adam_like("NAdam", group)
        if not 0.0 <= group["momentum_decay"]:
            raise ValueError(f"Invalid momentum_decay value: {group['momentum_decay']}")
        _check_not_differentiable("NAdam", group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["mu_product"] = _scalar_state(1.0)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one NAdam step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure,
            NADAM_STEP,
            ("exp_avg", "exp_avg_sq", "mu_product", "step"),
            ("lr", "betas[0]", "betas[1]", "eps", "weight_decay", "momentum_decay"),
            flags=_ADAM_FLAGS,
        )


class RAdam(Optimizer):
    """RAdam with PyTorch's update rule: Adam's moments, and with ``rho_inf = 2 / (1 - beta2) - 1``,
    ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``: when ``rho_t > 5`` the bias-corrected Adam step
    scaled by the variance rectification ``sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2)
    rho_t))``, otherwise ``p -= lr * m / (1 - beta1**t)``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default 0).
        decoupled_weight_decay: decay the parameter as AdamW does (RAdamW).
        foreach, capturable, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.RAdam(model.parameters(), lr=1e-3, weight_decay=0.01, decoupled_weight_decay=True)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        _check_adam_like("RAdam", group)
        _check_not_differentiable("RAdam", group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one RAdam step; returns ``closure()``'s loss when a closure is given."""
        return self._per_param_step(
            closure,
            RADAM_STEP,
            ("exp_avg", "exp_avg_sq", "step"),
            ("lr", "betas[0]", "betas[1]", "eps", "weight_decay"),
            flags=_ADAM_FLAGS,
        )
