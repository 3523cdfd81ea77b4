"""Stochastic gradient descent (optionally with momentum, Nesterov momentum and weight decay)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.dispatch import apply
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ._ops import SGD_STEP
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's update rule:

    ``g = grad (+ weight_decay * p)``; with momentum ``buf = momentum * buf + (1 - dampening) * g``
    (``buf = g`` on the first step) and ``g = g + momentum * buf`` (Nesterov) or ``g = buf``;
    then ``p -= lr * g`` (``+=`` when ``maximize``).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, fused: accepted for PyTorch compatibility; Tessera always runs its fused
            NumPy path and does not support ``differentiable=True``.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> loss = model(ts.ones(2, 3)).pow(2).mean()
        >>> opt.zero_grad()
        >>> loss.backward()
        >>> opt.step()
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        self._check_hparams(defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if isinstance(lr, Tensor):
            raise TypeError("SGD: lr must be a Python number, got a Tensor")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if wd < 0.0:
            raise ValueError(f"Invalid weight_decay value: {wd}")
        if group["nesterov"] and (momentum <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        if group.get("differentiable"):
            raise NotImplementedError("SGD: differentiable=True is not supported by Tessera optimizers")

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one SGD step; returns ``closure()``'s loss when a closure is given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                hyper = self._hyper(group, "lr", "momentum", "dampening", "weight_decay")
                nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
                use_momentum = group["momentum"] != 0
                for p, g, state in self._params_with_grad(group):
                    buf = state.get("momentum_buffer") if use_momentum else None
                    first = use_momentum and buf is None
                    if first:
                        buf = self.state[p]["momentum_buffer"] = zeros_like(p)
                    attrs = {"nesterov": nesterov, "maximize": maximize, "first": first}
                    apply(SGD_STEP, (p, g, buf) + hyper, attrs)
        return loss
