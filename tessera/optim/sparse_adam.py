"""SparseAdam: Adam's moments and update masked to the entries of a sparse (COO) gradient."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..core.creation import zeros_like
from ..core.dispatch import apply
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ._ops_more import SPARSE_ADAM_STEP, _sparse_adam_shape
from .optimizer import Optimizer, _check_betas

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """A masked Adam for parameters whose gradients are sparse COO tensors (``grad.is_sparse``, as
    ``nn.Embedding(sparse=True)`` produces in PyTorch): only the moments and parameter entries at the
    gradient's indices change. A dense gradient raises, as in PyTorch.

    The gradient may be any COO tensor object with ``is_sparse``, ``coalesce()``, ``indices()`` (a
    ``(sparse_dim, nnz)`` integer tensor) and ``values()`` (``(nnz, *dense_shape)``), as ``ts.sparse``'s
    COO tensors provide.

    Args:
        params: tensors or parameter-group dicts to optimize (dense, real).
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> emb = ts.nn.Parameter(ts.zeros(10, 3))
        >>> opt = ts.optim.SparseAdam([emb], lr=1e-2)
        >>> emb.grad = ts.zeros(10, 3)
        >>> opt.step()
        Traceback (most recent call last):
        ...
        RuntimeError: SparseAdam does not support dense gradients, please consider Adam instead
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        self._check_hparams(defaults)
        super().__init__(params, defaults)
        sparse_params, complex_params = [], []
        for index, group in enumerate(self.param_groups):
            for d_index, p in enumerate(group["params"]):
                if getattr(p, "is_sparse", False):
                    sparse_params.append([index, d_index])
                if p.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(
                f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors"
            )
        if complex_params:
            raise ValueError(
                f"Complex params at indices {complex_params}: SparseAdam does not support complex parameters"
            )

    def _check_hparams(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        if isinstance(lr, Tensor):
            raise TypeError("SparseAdam: lr must be a Python number, got a Tensor")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < group["eps"]:
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        _check_betas("SparseAdam", group["betas"])

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one SparseAdam step; returns ``closure()``'s loss when a closure is given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                hyper = self._hyper(group, "lr", "betas[0]", "betas[1]", "eps")
                attrs = {"maximize": bool(group.get("maximize", False))}
                work = []
                for p in group["params"]:  # check every gradient before changing anything
                    g = p.grad
                    if g is None:
                        continue
                    if not getattr(g, "is_sparse", False):
                        raise RuntimeError(
                            "SparseAdam does not support dense gradients, please consider Adam instead"
                        )
                    if tuple(g.shape) != tuple(p.shape):
                        raise RuntimeError(
                            f"SparseAdam.step: a gradient of shape {tuple(g.shape)} for a parameter of shape "
                            f"{tuple(p.shape)}"
                        )
                    g = g.coalesce()  # the update is non-linear, so indices must be unique
                    indices, values = g.indices(), g.values()
                    _sparse_adam_shape(p, indices, values)
                    work.append((p, indices, values))
                for p, indices, values in work:
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = zeros_like(p)
                        state["exp_avg_sq"] = zeros_like(p)
                    state["step"] += 1
                    step = Tensor._wrap(np.array(float(state["step"])))
                    args = (p, indices, values, state["exp_avg"], state["exp_avg_sq"], step) + hyper
                    apply(SPARSE_ADAM_STEP, args, attrs)
        return loss
