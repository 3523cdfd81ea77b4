"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict`` and the
deprecated ``Container``."""

from __future__ import annotations

import operator
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from ..core.tensor import Tensor
from .module import Module
from .parameter import Parameter

__all__ = ["Container", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(cls_name, idx, n):
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{cls_name}: index {idx} is out of range for length {n}")
    return idx + n if idx < 0 else idx


class Container(Module):
    """Deprecated: a module whose children are given as keyword arguments. Subclass ``Module`` instead.

    Example:
        >>> c = ts.nn.Container(fc=ts.nn.Linear(2, 3))  # doctest: +SKIP
        FutureWarning: `nn.Container` is deprecated...
    """

    def __init__(self, **kwargs: Module) -> None:
        warnings.warn(
            "`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
            "Subclass that instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)


class Sequential(Module):
    """Modules applied in order: ``Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 1))``.

    Also accepts an ``OrderedDict`` of named modules.

    Example:
        >>> net = ts.nn.Sequential(ts.nn.Linear(10, 20), ts.nn.ReLU(), ts.nn.Linear(20, 1))
        >>> net(ts.randn(4, 10)).shape
        tessera.Size([4, 1])
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is not a Module (got {type(m).__name__})")
                self.add_module(str(i), m)

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index("Sequential", idx, len(self))]

    def __setitem__(self, idx, module: Module) -> None:
        key = list(self._modules.keys())[_index("Sequential", idx, len(self))]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules.keys())
        for k in keys[idx] if isinstance(idx, slice) else [keys[_index("Sequential", idx, len(self))]]:
            self._forget(k)
        mods = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        mods = list(self._modules.values())
        mods.insert(index, module)
        for k in list(self._modules):
            self._forget(k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered: ``ModuleList([nn.Linear(4, 4) for _ in range(3)])``."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index("ModuleList", idx, len(self)))]

    def __setitem__(self, idx, module: Module) -> None:
        self.add_module(str(_index("ModuleList", idx, len(self))), module)

    def __delitem__(self, idx) -> None:
        mods = list(self._modules.values())
        del mods[idx]
        for k in list(self._modules):
            self._forget(k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if not isinstance(modules, Iterable):
            raise TypeError(
                f"ModuleList.extend: expected an iterable of modules, got {type(modules).__name__}"
            )
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        for k in list(self._modules):
            self._forget(k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container; iterate over it in your own forward")

    def __repr__(self) -> str:
        # Runs of identical children print once, as PyTorch does: "(0-2): 3 x Linear(...)".
        reprs = [repr(m).replace("\n", "\n  ") for m in self._modules.values()]
        if not reprs:
            return "ModuleList()"
        lines, start = [], 0
        for i in range(1, len(reprs) + 1):
            if i == len(reprs) or reprs[i] != reprs[start]:
                n = i - start
                label = f"({start})" if n == 1 else f"({start}-{i - 1}): {n} x"
                lines.append(f"{label}: {reprs[start]}" if n == 1 else f"{label} {reprs[start]}")
                start = i
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, keeping insertion order."""

    def __init__(self, modules: Mapping[str, Module] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self._forget(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        m = self._modules[key]
        self._forget(key)
        return m

    def clear(self) -> None:
        for k in list(self._modules):
            self._forget(k)

    def update(self, modules) -> None:
        items = modules.items() if isinstance(modules, Mapping) else modules
        for k, m in items:
            self.add_module(k, m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is a container; index it in your own forward")


class ParameterList(Module):
    """A list of parameters registered on the module (plain tensors are wrapped as ``Parameter``)."""

    def __init__(self, values: Iterable[Tensor] | None = None):
        super().__init__()
        if values is not None:
            self.extend(values)

    @staticmethod
    def _as_param(v):
        if isinstance(v, Parameter) or v is None:
            return v
        if isinstance(v, Tensor):
            return Parameter(v)
        raise TypeError(f"ParameterList: expected a Tensor, got {type(v).__name__}")

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index("ParameterList", idx, len(self)))]

    def __setitem__(self, idx, value) -> None:
        self.register_parameter(str(_index("ParameterList", idx, len(self))), self._as_param(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value) -> ParameterList:
        self.register_parameter(str(len(self)), self._as_param(value))
        return self

    def extend(self, values) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype.name} of size {'x'.join(map(str, p.shape))}]"
            for i, p in enumerate(self)
        )


class ParameterDict(Module):
    """A dict of parameters registered on the module."""

    def __init__(self, values: Mapping[str, Tensor] | None = None):
        super().__init__()
        if values is not None:
            for k, v in values.items():
                self[k] = v

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, ParameterList._as_param(value))

    def __delitem__(self, key: str) -> None:
        self._forget(key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()
