"""How much of PyTorch's public API Tessera answers, per namespace, against the installed torch.

A name counts when it is public in torch (``dir()``, no leading underscore), is neither a module imported
from outside torch (``math``, ``np`` in ``torch.nn.functional``) nor a typing helper (``Optional``,
``TYPE_CHECKING``), and Tessera's attribute is not a stand-in that only explains why it is unsupported
(marked ``unsupported = True``, e.g. ``Tensor.t_``). The figures are printed (``pytest -s``); each must
stay at or above its floor, which only ever goes up: raise a floor when coverage grows. That a counted
name works is the job of the op and layer tests, which compare it against PyTorch.
"""

from __future__ import annotations

import importlib
import types
import typing

import pytest
from opcheck import needs_torch, torch

import tessera as ts

# namespace -> (Tessera counterpart, floor in percent)
FLOORS = {
    "torch": ("tessera", 61),
    "torch.Tensor": ("tessera.Tensor", 85),
    "torch.nn": ("tessera.nn", 95),
    "torch.nn.functional": ("tessera.nn.functional", 93),
    "torch.nn.init": ("tessera.nn.init", 100),
    "torch.optim": ("tessera.optim", 100),
    "torch.linalg": ("tessera.linalg", 86),
    "torch.fft": ("tessera.fft", 91),
    "torch.special": ("tessera.special", 60),
}


# namespaces whose target counts their functions only (not their constants, enums and notes)
FUNCTIONS_ONLY = {"torch.nn.functional"}


def _resolve(path: str):
    head, *rest = path.split(".")
    obj = importlib.import_module(head)
    for part in rest:
        obj = getattr(obj, part)
    return obj


_TYPING_MODULES = ("typing", "typing_extensions", "collections.abc", "torch._jit_internal")


def _counted(namespace, functions_only: bool = False) -> list[str]:
    import torch

    names = []
    for name in dir(namespace):
        if name.startswith("_"):
            continue
        value = getattr(namespace, name, None)
        if isinstance(value, types.ModuleType) and (not value.__name__.startswith("torch") or value is torch):
            continue  # math, np, warnings, the torch package itself... imported into the namespace
        if getattr(value, "__module__", None) in _TYPING_MODULES or value is typing.TYPE_CHECKING:
            continue
        if value is torch.Tensor and namespace is not torch:
            continue  # re-exported for annotations
        if functions_only and (isinstance(value, (type, types.ModuleType)) or not callable(value)):
            continue
        names.append(name)
    return names


def coverage(torch_path: str, tessera_path: str, functions_only: bool = False) -> tuple[int, int, list[str]]:
    """(names Tessera has, names counted, the missing ones) for one namespace."""
    names = _counted(_resolve(torch_path), functions_only)
    ours = _resolve(tessera_path)
    missing = [
        n for n in names if not hasattr(ours, n) or getattr(getattr(ours, n), "unsupported", False) is True
    ]
    return len(names) - len(missing), len(names), missing


@needs_torch
@pytest.mark.parametrize("torch_path", list(FLOORS))
def test_coverage_does_not_drop(torch_path):
    tessera_path, floor = FLOORS[torch_path]
    have, total, missing = coverage(torch_path, tessera_path, torch_path in FUNCTIONS_ONLY)
    percent = 100 * have / total
    print(
        f"\n{torch_path}: {have} of {total} ({percent:.1f} %), floor {floor} %; missing: {' '.join(missing)}"
    )
    assert percent >= floor, f"{torch_path} coverage fell to {percent:.1f} % (floor {floor} %)"


@needs_torch
def test_every_torch_optimizer_exists():
    optimizers = [
        n
        for n, v in vars(torch.optim).items()
        if isinstance(v, type) and issubclass(v, torch.optim.Optimizer)
    ]
    assert "Adam" in optimizers
    missing = [n for n in optimizers if not isinstance(getattr(ts.optim, n, None), type)]
    assert not missing, f"optimizers torch has and ts.optim lacks: {missing}"
