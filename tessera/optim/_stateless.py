"""``swap_in_optimizer_params_and_state``: run an optimizer on other parameter and state tensors for the
duration of a ``with`` block (PyTorch's ``torch.optim.swap_in_optimizer_params_and_state``)."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..core import dispatch as _dispatch
from ..core.tensor import Tensor
from .optimizer import Optimizer

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _prepare_swap_in(optimizer: Optimizer, swapin_parameters: dict, swapin_optim_state: Any):
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = swapin_optim_state.get("state")
    if not isinstance(state, dict):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping packed parameter ids to "
            f"per-param state dicts, got {type(state).__name__}."
        )
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style state keyed by packed parameter ids."
        )
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be dictionaries.")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['param_groups'] to be a list of param-group dicts, got "
            f"{type(groups).__name__}."
        )
    if len(optimizer.param_groups) != len(groups):
        raise RuntimeError(
            "swapin_optim_state has a different number of parameter groups than the live optimizer."
        )
    flat = list(swapin_parameters.values())
    offset, seen, infos = 0, set(), []
    for idx, (group, swapin_group) in enumerate(zip(optimizer.param_groups, groups)):
        if not isinstance(swapin_group, dict):
            raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
        ids = swapin_group.get("params")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise RuntimeError(
                f"{_NAME} requires optimizer.state_dict()-style param_groups[*]['params'] entries keyed by packed "
                "parameter ids."
            )
        if len(group["params"]) != len(ids):
            raise RuntimeError(
                f"swapin_optim_state param group {idx} has a different number of params than the live optimizer "
                "param group."
            )
        swapin_only = [k for k in swapin_group if k not in group]
        live_only = [k for k in group if k not in swapin_group]
        if swapin_only or live_only:
            raise RuntimeError(
                f"{_NAME} requires optimizer.state_dict()-style param group keys to exactly match the live "
                f"optimizer group keys for group {idx}. Keys only in swap-in: {swapin_only}. Keys only in live: "
                f"{live_only}."
            )
        seen.update(ids)
        if offset + len(ids) > len(flat):
            raise RuntimeError(
                f"{_NAME} requires the explicit parameter state to match optimizer.param_groups ordering."
            )
        infos.append((group, swapin_group, flat[offset : offset + len(ids)]))
        offset += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be keyed only by packed parameter ids from "
            f"param_groups[*]['params']; got extra keys {extra!r}."
        )
    return state, infos


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(
    optimizer: Optimizer, swapin_parameters: dict[str, Tensor], swapin_optim_state: dict[str, Any]
) -> Iterator[None]:
    """Temporarily replace ``optimizer``'s parameters and state by ``swapin_parameters`` (in the order of
    the optimizer's parameters, e.g. ``model.named_parameters()``) and ``swapin_optim_state`` (a
    ``state_dict()``-shaped dict); the live ones are restored on exit. In-place updates of the swapped-in
    state tensors (what ``step`` does) reach ``swapin_optim_state``.

    Example:
        >>> model = ts.nn.Linear(2, 1)
        >>> opt = ts.optim.Adam(model.parameters(), lr=0.1)
        >>> model(ts.ones(1, 2)).sum().backward()
        >>> opt.step()
        >>> params = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters()}
        >>> for p, q in zip(params.values(), model.parameters()):
        ...     p.grad = q.grad.clone()
        >>> sd = opt.state_dict()
        >>> with ts.optim.swap_in_optimizer_params_and_state(opt, params, sd):
        ...     opt.step()
        >>> int(sd["state"][0]["step"]), int(opt.state[model.weight]["step"])
        (2, 1)
    """
    state, infos = _prepare_swap_in(optimizer, swapin_parameters, swapin_optim_state)
    original_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    _dispatch.bump_structure()  # compiled steps re-check the tensors they captured
    try:
        swapin_state: defaultdict = defaultdict(dict)
        for live_group, swapin_group, params in infos:
            live_group["params"] = params
            for key, value in swapin_group.items():
                if key != "params":
                    live_group[key] = value
            for param, pid in zip(params, swapin_group["params"]):
                swapin_state[param] = dict(state.get(pid, {}))
        optimizer.state = swapin_state
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = original_state
        _dispatch.bump_structure()
