"""Muon (Jordan et al., 2024): momentum SGD whose update is orthogonalised by a Newton-Schulz iteration, for
the 2-d parameters of hidden layers; PyTorch's ``torch.optim.Muon``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.creation import zeros_like
from ..core.dispatch import apply
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ._ops_more import MUON_STEP
from .optimizer import Optimizer

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


class Muon(Optimizer):
    """Muon with PyTorch's update rule: ``B = lerp(B, g, 1 - momentum)``; ``U = lerp(g, B, momentum)``
    (Nesterov) or ``B``; ``O = NS(U)``, ``ns_steps`` quintic Newton-Schulz iterations with coefficients
    ``(a, b, c)`` run in bfloat16 as PyTorch does; ``p *= 1 - lr * weight_decay``; ``p -= lr' * O`` with
    ``lr' = lr * sqrt(max(1, A / B))`` (``adjust_lr_fn="original"``, the default) or
    ``lr * 0.2 * sqrt(max(A, B))`` (``"match_rms_adamw"``) for an ``A x B`` parameter.

    Args:
        params: 2-d tensors or parameter-group dicts to optimize (use e.g. AdamW for the others).
        lr: learning rate (default 1e-3).
        weight_decay: decoupled weight decay (default 0.1).
        momentum: momentum factor (default 0.95).
        nesterov: use Nesterov momentum (default True).
        ns_coefficients: the Newton-Schulz polynomial's coefficients (default (3.4445, -4.775, 2.0315)).
        eps: floor of the update's norm before orthogonalisation (default 1e-7).
        ns_steps: Newton-Schulz iterations (default 5, at most 99).
        adjust_lr_fn: ``None``/``"original"`` or ``"match_rms_adamw"``.

    Example:
        >>> layer = ts.nn.Linear(4, 3, bias=False)
        >>> opt = ts.optim.Muon(layer.parameters(), lr=0.02)
        >>> layer(ts.ones(2, 4)).pow(2).mean().backward()
        >>> opt.step()
        >>> list(opt.state[layer.weight])
        ['momentum_buffer']
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int = DEFAULT_NS_STEPS,
        adjust_lr_fn: str | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": ns_coefficients,
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        self._check_hparams(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}"
                    )

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        if isinstance(lr, Tensor):
            raise TypeError("Muon: lr must be a Python number, got a Tensor")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= group["momentum"]:
            raise ValueError(f"momentum should be >= 0 but is: {group['momentum']}")
        if not 0.0 <= group["weight_decay"]:
            raise ValueError(f"weight decay should be >= 0 but is: {group['weight_decay']}")
        fn = group["adjust_lr_fn"]
        if fn is not None and fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {fn} is not supported")

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros_like(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one Muon step; returns ``closure()``'s loss when a closure is given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                coefficients = tuple(float(c) for c in group["ns_coefficients"])
                if group["ns_steps"] >= 100:
                    raise ValueError("Number of steps must be less than 100 for computational efficiency")
                if len(coefficients) != 3:
                    raise ValueError("Coefficients must be a tuple of exactly 3 values")
                for p in group["params"]:
                    if p.grad is not None and p.grad.ndim != 2:
                        raise ValueError("Param gradient must be a 2D matrix")
                hyper = self._hyper(group, "lr", "weight_decay", "momentum")
                attrs = {
                    "nesterov": bool(group["nesterov"]),
                    "coefficients": coefficients,
                    "ns_steps": int(group["ns_steps"]),
                    "eps": float(group["eps"]),
                    "adjust_lr_fn": group["adjust_lr_fn"],
                }
                for p, g, state in self._params_with_grad(group):
                    if p.is_complex():
                        raise RuntimeError("Muon does not support complex parameters")
                    apply(MUON_STEP, (p, g, state["momentum_buffer"]) + hyper, attrs)
        return loss
