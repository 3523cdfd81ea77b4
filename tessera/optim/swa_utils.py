"""``ts.optim.swa_utils``: stochastic weight averaging and exponential moving averages of a model
(``AveragedModel``), the SWA learning-rate schedule (``SWALR``) and ``update_bn``, as in PyTorch."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from ..core.creation import tensor as _tensor
from ..core.dtypes import int64
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ..nn.module import Module
from .lr_scheduler import LRScheduler, _format_param

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An ``AveragedModel(multi_avg_fn=...)`` that keeps an exponential moving average:
    ``ema = lerp(ema, current, 1 - decay)`` for every tensor.

    Example:
        >>> model = ts.nn.Linear(2, 2)
        >>> ema = ts.optim.swa_utils.AveragedModel(model, multi_avg_fn=ts.optim.swa_utils.get_ema_multi_avg_fn(0.9))
        >>> ema.update_parameters(model)
    """
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged) -> None:
        with no_grad():
            if ema_param_list[0].is_floating_point() or ema_param_list[0].is_complex():
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """An ``AveragedModel(multi_avg_fn=...)`` that keeps the running (equal-weight) average:
    ``avg = lerp(avg, current, 1 / (n + 1))``.

    Example:
        >>> model = ts.nn.Linear(2, 2)
        >>> swa = ts.optim.swa_utils.AveragedModel(model, multi_avg_fn=ts.optim.swa_utils.get_swa_multi_avg_fn())
        >>> swa.update_parameters(model)
    """

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        with no_grad():
            if averaged_param_list[0].is_floating_point() or averaged_param_list[0].is_complex():
                weight = float(1 / (num_averaged + 1))
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.lerp_(p_model, weight)
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    diff = p_model - p_avg
                    if isinstance(num_averaged, Tensor):
                        p_avg.copy_(p_avg + diff / (num_averaged + 1))
                    else:
                        p_avg.add_(diff, alpha=1.0 / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """An ``AveragedModel(avg_fn=...)`` returning ``decay * ema + (1 - decay) * current``.

    Example:
        >>> fn = ts.optim.swa_utils.get_ema_avg_fn(0.5)
        >>> fn(ts.tensor([0.0]), ts.tensor([2.0]), 1)
        tensor([1.])
    """
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """An ``AveragedModel(avg_fn=...)`` returning ``avg + (current - avg) / (n + 1)``.

    Example:
        >>> fn = ts.optim.swa_utils.get_swa_avg_fn()
        >>> fn(ts.tensor([0.0]), ts.tensor([3.0]), 2)
        tensor([1.])
    """

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and, with ``use_buffers``, buffers) are averaged over the
    models passed to ``update_parameters``: the equal-weight SWA average by default, or ``avg_fn(avg,
    current, n)`` per tensor, or ``multi_avg_fn(avg_list, current_list, n)`` over all of them (e.g.
    ``get_ema_multi_avg_fn(decay)``). ``n_averaged`` (a buffer) counts the updates; the first copies.

    Args:
        model: the model to average (deep-copied).
        device: where to keep the average (only ``None``/``"cpu"`` exist in Tessera).
        avg_fn, multi_avg_fn: the averaging rule (at most one of them).
        use_buffers: average the buffers too (otherwise they are copied from the model on each update).

    Example:
        >>> model = ts.nn.Linear(3, 1)
        >>> swa = ts.optim.swa_utils.AveragedModel(model)
        >>> for _ in range(3):
        ...     swa.update_parameters(model)
        >>> int(swa.n_averaged)
        3
    """

    def __init__(
        self,
        model: Module,
        device=None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a Module, got {type(model).__name__}")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _tensor(0, dtype=int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy of the model."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers with ``use_buffers``) into the average."""
        if self.use_buffers:
            self_param = itertools.chain(self.module.parameters(), self.module.buffers())
            model_param = itertools.chain(model.parameters(), model.buffers())
        else:
            self_param, model_param = self.parameters(), model.parameters()
        averaged, current = [], []
        with no_grad():
            copy_param = bool(self.n_averaged == 0)
            for p_averaged, p_model in zip(self_param, model_param):
                averaged.append(p_averaged.detach())
                current.append(p_model.detach())
                if copy_param:
                    averaged[-1].copy_(current[-1])
            if self.n_averaged > 0:
                if self.multi_avg_fn is not None:
                    for group_avg, group_cur in _by_dtype(averaged, current):
                        self.multi_avg_fn(group_avg, group_cur, self.n_averaged)
                else:
                    avg_fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
                    for p_averaged, p_model in zip(averaged, current):
                        p_averaged.copy_(avg_fn(p_averaged, p_model, self.n_averaged))
            if not self.use_buffers:  # keep the buffers in sync with the model's (e.g. BatchNorm statistics)
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach())
            self.n_averaged.add_(1)


def _by_dtype(averaged: list[Tensor], current: list[Tensor]):
    """The (averaged, current) lists grouped by dtype, as PyTorch's foreach grouping hands them over."""
    groups: dict[Any, tuple[list, list]] = {}
    for a, c in zip(averaged, current):
        ga, gc = groups.setdefault(a.dtype, ([], []))
        ga.append(a)
        gc.append(c)
    return list(groups.values())


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the running statistics of ``model``'s BatchNorm layers with one pass over ``loader``
    (a cumulative average; the layers' momenta are restored afterwards). A batch that is a list or tuple
    contributes its first element.

    Example:
        >>> model = ts.nn.Sequential(ts.nn.Linear(3, 4), ts.nn.BatchNorm1d(4))
        >>> ts.optim.swa_utils.update_bn([ts.randn(8, 3) for _ in range(2)], model)
    """
    from ..nn.modules.normalization import _BatchNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs (``"cos"`` or
    ``"linear"``), then keeps it there, as PyTorch's SWALR.

    Example:
        >>> opt = ts.optim.SGD(ts.nn.Linear(2, 2).parameters(), lr=1.0)
        >>> sched = ts.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=2, anneal_strategy="linear")
        >>> for _ in range(3):
        ...     opt.step()
        ...     sched.step()
        >>> [round(lr, 6) for lr in sched.get_last_lr()]
        [0.1]
    """

    def __init__(
        self,
        optimizer,
        swa_lr: float,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        self._set_anneal_func(anneal_strategy)
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        """The learning rates of the current epoch (called by ``step``)."""
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
            for group in self.optimizer.param_groups
        ]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [
            group["swa_lr"] * alpha + lr * (1 - alpha)
            for group, lr in zip(self.optimizer.param_groups, prev_lrs)
        ]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer and the annealing function (as in PyTorch)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by ``state_dict``."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
