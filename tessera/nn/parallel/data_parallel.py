"""``DataParallel`` and ``data_parallel`` on Tessera's single CPU device: the wrapped module runs as is (as
PyTorch's ``DataParallel`` does when no accelerator is present), with PyTorch's ``module.`` state_dict
prefix, so checkpoints of wrapped models load into either framework."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ...core.device import as_device
from ...core.device import device as _device
from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


def _check(fn: str, module, device_ids, output_device, dim) -> list:
    if not isinstance(module, Module):
        raise TypeError(f"{fn}: module must be an nn.Module, got {type(module).__name__}")
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{fn}: dim must be an int, got {dim!r}")
    ids = [] if device_ids is None else device_ids
    if not isinstance(ids, Sequence) or isinstance(ids, str):
        raise TypeError(f"{fn}: device_ids must be a sequence of ints or devices, got {device_ids!r}")
    for d in [*ids, *([] if output_device is None else [output_device])]:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, _device, str)):
            raise TypeError(f"{fn}: device ids must be ints or devices, got {d!r}")
        if isinstance(d, (str, _device)):
            as_device(d)  # an unknown device type raises here
    return list(ids)


class DataParallel(Module):
    """Wraps ``module`` for data-parallel training. Tessera has one (CPU) device, so ``forward`` runs
    ``module`` on the whole batch, exactly as PyTorch's ``DataParallel`` does without GPUs; the wrapped
    module is ``.module`` and state_dict keys start with ``module.``.

    Example:
        >>> model = ts.nn.parallel.DataParallel(ts.nn.Linear(4, 2))
        >>> model(ts.randn(8, 4)).shape
        tessera.Size([8, 2])
        >>> list(model.state_dict())
        ['module.weight', 'module.bias']
    """

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[int | _device] | None = None,
        output_device: int | _device | None = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        _check("DataParallel", module, device_ids, output_device, dim)
        self.module = module
        self.device_ids: list = []  # no accelerator: the module runs on the CPU, as torch without GPUs
        self.dim = int(dim)
        self.output_device = None
        self.src_device_obj = _device("cpu")

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(
    module: Module,
    inputs: Any,
    device_ids: Sequence[int | _device] | None = None,
    output_device: int | _device | None = None,
    dim: int = 0,
    module_kwargs: dict | None = None,
) -> Any:
    """Evaluate ``module(*inputs, **module_kwargs)`` in parallel over ``device_ids``: on Tessera's single
    CPU device, one call on the whole batch. ``inputs`` may be one value or a tuple of positional arguments.

    Example:
        >>> ts.nn.parallel.data_parallel(ts.nn.Linear(4, 2), ts.randn(8, 4)).shape
        tessera.Size([8, 2])
    """
    _check("data_parallel", module, device_ids, output_device, dim)
    if module_kwargs is not None and not isinstance(module_kwargs, dict):
        raise TypeError(f"data_parallel: module_kwargs must be a dict, got {type(module_kwargs).__name__}")
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
