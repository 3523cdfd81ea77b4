"""Adam and AdamW (Kingma & Ba, 2014; Loshchilov & Hutter, 2017), with PyTorch's exact update."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.dispatch import apply
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ._ops import ADAM_STEP
from .optimizer import Optimizer, _check_adam_like, _check_not_differentiable, _new_step

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam with PyTorch's update rule (``amsgrad`` and ``maximize`` options, L2 or decoupled decay):

    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g * g``,
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``
    (``v`` replaced by its running maximum with ``amsgrad``).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients for the running averages of the gradient and its square (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient, or decoupled decay ``p *= 1 - lr * weight_decay``
            when ``decoupled_weight_decay`` (default 0).
        amsgrad: use the AMSGrad variant.
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: apply AdamW-style decay (what ``AdamW`` sets).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility (no effect;
            ``differentiable=True`` is not supported).

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.Adam(model.parameters(), lr=1e-2)
        >>> model(ts.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> float(opt.state[model.weight]["step"])
        1.0
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        self._check_hparams(defaults)
        defaults["betas"] = tuple(float(b) for b in betas)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        _check_adam_like(name, group)
        _check_not_differentiable(name, group)

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Adam step; returns ``closure()``'s loss when a closure is given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                hyper = self._hyper(group, "lr", "betas[0]", "betas[1]", "eps", "weight_decay")
                attrs = {
                    "amsgrad": bool(group["amsgrad"]),
                    "maximize": bool(group["maximize"]),
                    "decoupled": bool(group.get("decoupled_weight_decay", False)),
                }
                for p, g, state in self._params_with_grad(group):
                    vmax = state.get("max_exp_avg_sq") if attrs["amsgrad"] else None
                    args = (p, g, state["exp_avg"], state["exp_avg_sq"], vmax, state["step"]) + hyper
                    apply(ADAM_STEP, args, attrs)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam update), default
    ``weight_decay=1e-2``; otherwise the same arguments and update as ``Adam``.

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> opt = ts.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
        >>> opt.param_groups[0]["decoupled_weight_decay"]
        True
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def _fill_group(self, group: dict[str, Any]) -> None:
        super()._fill_group(group)
        group["decoupled_weight_decay"] = True
