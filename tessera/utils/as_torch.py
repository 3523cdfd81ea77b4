"""Run a PyTorch program on Tessera without editing it: ``import torch`` (and ``torch.nn``,
``torch.nn.functional``, ``torch.utils.data``...) resolve to the Tessera modules of the same path.

    python -m tessera.utils.as_torch train.py --epochs 3

or, inside a process that has not imported the real torch, ``install()`` / ``uninstall()``. Only the
``torch`` package is aliased (``torchvision`` and friends are not); a submodule Tessera does not have
raises ``ModuleNotFoundError`` naming both paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys

__all__ = ["install", "uninstall", "main"]


class _ExistingModule(importlib.abc.Loader):
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass  # already imported under its Tessera name


class _TorchAlias(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        target_name = "tessera" + fullname[len("torch") :]
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as e:
            if e.name != target_name:
                raise
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: Tessera has no {target_name!r} (running with torch aliased to "
                "tessera)",
                name=fullname,
            ) from None
        return importlib.util.spec_from_loader(fullname, _ExistingModule(module))


_FINDER = _TorchAlias()


def install() -> None:
    """Make ``import torch...`` import Tessera from now on in this process.

    Example:
        >>> from tessera.utils import as_torch
        >>> as_torch.install()  # doctest: +SKIP
        >>> import torch.nn as nn  # doctest: +SKIP
        >>> nn.Linear  # doctest: +SKIP
        <class 'tessera.nn.modules.linear.Linear'>
    """
    real = sys.modules.get("torch")
    if real is not None and not real.__name__.startswith("tessera"):
        raise RuntimeError("as_torch.install: the real torch is already imported in this process")
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Undo ``install``: drop the finder and the ``torch*`` aliases from ``sys.modules``."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        if getattr(sys.modules[name], "__name__", "").startswith("tessera"):
            del sys.modules[name]


def main(argv: list[str] | None = None) -> None:
    """``python -m tessera.utils.as_torch script.py [args...]``: run the script as ``__main__`` with torch
    aliased to Tessera."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m tessera.utils.as_torch script.py [args...]")
        raise SystemExit(0 if argv else 2)
    install()
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
