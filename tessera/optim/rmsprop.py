"""RMSprop (Hinton), with PyTorch's exact update (centered and momentum variants)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.dispatch import apply
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ._ops import RMSPROP_STEP
from .optimizer import Optimizer, _check_lr, _check_nonneg, _new_step

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop with PyTorch's update rule:

    ``v = alpha * v + (1 - alpha) * g * g``; ``avg = sqrt(v - ga * ga) + eps`` with ``centered`` (``ga`` the
    running mean of ``g``) else ``sqrt(v) + eps``; then ``buf = momentum * buf + g / avg`` and
    ``p -= lr * buf`` when ``momentum > 0``, else ``p -= lr * g / avg``.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance.
        maximize: maximize the objective instead of minimizing it.
        capturable, foreach, differentiable: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9, centered=True)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['grad_avg', 'momentum_buffer', 'square_avg', 'step']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        _check_lr("RMSprop", lr)
        _check_nonneg("epsilon", group["eps"])
        if not 0.0 <= group["momentum"]:
            raise ValueError(f"Invalid momentum value: {group['momentum']}")
        _check_nonneg("weight_decay", group["weight_decay"])
        if not 0.0 <= group["alpha"]:
            raise ValueError(f"Invalid alpha value: {group['alpha']}")
        if group.get("differentiable"):
            raise NotImplementedError("RMSprop: differentiable=True is not supported by Tessera optimizers")

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["square_avg"] = zeros_like(p)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one RMSprop step; returns ``closure()``'s loss when a closure is given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                hyper = self._hyper(group, "lr", "alpha", "eps", "weight_decay", "momentum")
                centered, maximize = bool(group["centered"]), bool(group["maximize"])
                use_momentum = group["momentum"] > 0
                for p, g, state in self._params_with_grad(group):
                    buf = state["momentum_buffer"] if use_momentum else None
                    ga = state["grad_avg"] if centered else None
                    args = (p, g, state["square_avg"], buf, ga, state["step"]) + hyper
                    apply(RMSPROP_STEP, args, {"centered": centered, "maximize": maximize})
        return loss
