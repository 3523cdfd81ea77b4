"""Stochastic gradient descent (optionally with momentum, Nesterov momentum and weight decay)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..core.tensor import Tensor
from .optimizer import Optimizer, _effective_grad

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
        state_of = self.state
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            wd = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            neg_lr = -lr
            for p in group["params"]:
                gt = p.grad
                if gt is None:
                    continue
                d = p._data
                g = gt._data
                need = 1 if (wd != 0 or maximize) else 0
                if momentum != 0:
                    need += 1
                tmp = self._scratch(p, d, max(need, 1))
                g = _effective_grad(g, d, wd, maximize, tmp[0])
                if momentum != 0:
                    state = state_of[p]
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        buf_t = Tensor._wrap(np.array(g, copy=True))
                        state["momentum_buffer"] = buf_t
                        buf = buf_t._data
                    else:
                        buf = buf_t._data
                        np.multiply(buf, momentum, out=buf)
                        if dampening == 0:
                            np.add(buf, g, out=buf)
                        else:
                            t = tmp[-1]
                            np.multiply(g, 1 - dampening, out=t)
                            np.add(buf, t, out=buf)
                    if nesterov:
                        # g + momentum * buf, written over the scratch that held the effective gradient
                        t = tmp[-1]
                        np.multiply(buf, momentum, out=t)
                        np.add(g, t, out=t)
                        g = t
                    else:
                        g = buf
                t = tmp[-1]
                np.multiply(g, neg_lr, out=t)
                np.add(d, t, out=d)
                p._version_counter[0] += 1
        return loss
