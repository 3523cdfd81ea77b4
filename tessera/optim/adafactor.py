"""Adafactor (Shazeer & Stern, 2018), as ``torch.optim.Adafactor`` implements it: factored second moments
for matrices (row and column variances), relative step sizes and update clipping."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..core.creation import zeros, zeros_like
from ..core.dispatch import apply
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ._ops_more import ADAFACTOR_STEP
from .optimizer import Optimizer, _new_step

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor with PyTorch's update rule. At step ``t``, with ``beta2_t = 1 - t ** beta2_decay``,
    ``rho = min(lr, 1 / sqrt(t))`` and ``alpha = max(eps2, rms(p)) * rho``: a matrix (or batch of
    matrices) keeps running means of its gradient's squared rows and columns (``row_var``, ``col_var``)
    whose outer product over the mean row variance estimates the second moment; a vector keeps it in
    full (``variance``). The update ``g / sqrt(max(v, eps1**2))`` is scaled down when its RMS exceeds
    ``d``, then ``p -= alpha * update`` (after ``p *= 1 - lr * weight_decay``).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: the relative step size's upper bound (default 1e-2).
        beta2_decay: the decay rate of beta2 (default -0.8).
        eps: ``(eps1, eps2)``: eps1 (default None: the machine epsilon of the parameter's dtype) keeps the
            denominator positive, eps2 (default 1e-3) bounds the parameter's RMS from below.
        d: the clipping threshold of the update's RMS (default 1.0).
        weight_decay: decoupled weight decay (default 0).
        foreach: accepted for PyTorch compatibility (no effect).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> model = ts.nn.Linear(3, 2)
        >>> opt = ts.optim.Adafactor(model.parameters(), lr=1e-2)
        >>> model(ts.ones(4, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> tuple(opt.state[model.weight]["row_var"].shape), tuple(opt.state[model.weight]["col_var"].shape)
        ((2, 1), (1, 3))
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr, eps = group["lr"], group["eps"]
        if isinstance(lr, Tensor):
            raise TypeError("Adafactor: lr must be a Python number, got a Tensor")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= group["beta2_decay"]:
            raise ValueError(f"beta2_decay should be <= 0 but is: {group['beta2_decay']}")
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1, eps2), got {eps!r}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= group["d"]:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {group['d']}")
        if not 0.0 <= group["weight_decay"]:
            raise ValueError(f"weight_decay should be >= 0 but is: {group['weight_decay']}")

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if len(state) == 0:
            state["step"] = _new_step()
            if p.dim() > 1:
                shape = list(p.shape)
                state["row_var"] = zeros(*shape[:-1], 1, dtype=p.dtype)
                state["col_var"] = zeros(*shape[:-2], 1, shape[-1], dtype=p.dtype)
            else:
                state["variance"] = zeros_like(p)

    def _check_state_shape(self, param: Tensor, key, shape: tuple) -> None:
        pshape = tuple(param.shape)
        if key == "row_var" and len(pshape) > 1:
            want = pshape[:-1] + (1,)
        elif key == "col_var" and len(pshape) > 1:
            want = pshape[:-2] + (1, pshape[-1])
        else:
            return super()._check_state_shape(param, key, shape)
        if shape != want:
            raise ValueError(
                f"load_state_dict: state '{key}' has shape {shape} but a parameter of shape {pshape} needs "
                f"{want}"
            )

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Adafactor step; returns ``closure()``'s loss when a closure is given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                eps1_default = group["eps"][0] is None
                lr, decay, eps2, d, wd = self._hyper(
                    group, "lr", "beta2_decay", "eps[1]", "d", "weight_decay"
                )
                eps1 = self._zero if eps1_default else self._hyper(group, "eps[0]")[0]
                attrs = {"maximize": bool(group["maximize"]), "eps1_default": eps1_default}
                for p, g, state in self._params_with_grad(group):
                    if p.is_complex():
                        raise RuntimeError("Adafactor does not support complex parameters")
                    var = (state.get("row_var"), state.get("col_var"), state.get("variance"))
                    apply(ADAFACTOR_STEP, (p, g, *var, state["step"], lr, decay, eps1, eps2, d, wd), attrs)
        return loss

    @property
    def _zero(self) -> Tensor:
        z = self.__dict__.get("_zero_tensor")
        if z is None:
            z = self.__dict__["_zero_tensor"] = Tensor._wrap(np.zeros(()))
        return z
