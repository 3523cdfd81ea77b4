"""``Module``: the base class of every layer and model, with PyTorch's registration, traversal,
state_dict and hook semantics."""

from __future__ import annotations

import copy
import functools
import types
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator

import numpy as np

from ..core import dtypes as _dt
from ..core.device import as_device
from ..core.device import device as _device
from ..core.dispatch import STRUCTURE_EPOCH as _STRUCTURE
from ..core.grad_mode import no_grad
from ..core.hooks import RemovableHandle
from ..core.tensor import Tensor
from .parameter import Buffer, Parameter, is_lazy

__all__ = ["Module", "IncompatibleKeys"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

# -- constructor arguments ---------------------------------------------------------------------------------
# ``ts.save(model)`` stores a module as its class, the arguments it was constructed with and its state (never
# a pickle). Every subclass's ``__init__`` is wrapped (``Module.__init_subclass__``) so that the outermost
# call records ``ModuleSpec(cls, args, kwargs)`` in ``module.__dict__["_init_spec"]``. Only describable
# arguments are kept: plain Python values, tensors, dtypes, devices, modules, importable functions and
# classes, ``functools.partial`` of those, and lists/tuples/dicts of them; a module argument that does not
# end up as a child is kept as its own spec (not the object), so no prototype's weights stay alive.

_CAPTURE_BUDGET = 10_000  # arguments (counting nested items) above which a spec is not recorded


class ModuleSpec:
    """How a module was constructed: ``cls(*args, **kwargs)``; ``args`` is None (and ``why`` says why)
    when an argument could not be described."""

    __slots__ = ("cls", "args", "kwargs", "why")

    def __init__(self, cls, args, kwargs, why=None):
        self.cls, self.args, self.kwargs, self.why = cls, args, kwargs, why

    def __repr__(self) -> str:
        return f"ModuleSpec({self.cls.__qualname__}, args={self.args!r}, kwargs={self.kwargs!r})"


class _NotDescribable(Exception):
    pass


class ChildArg:
    """A constructor argument that became a child of the module: a weak reference to it (a child replaced
    later is not kept alive by the spec) plus its own spec, used once the child is gone or replaced."""

    __slots__ = ("ref", "spec")

    def __init__(self, module: Module):
        self.ref = weakref.ref(module)
        self.spec = _detached_spec(module)

    def __repr__(self) -> str:
        m = self.ref()
        return repr(m) if m is not None else repr(self.spec)

    def __reduce__(self):
        return (_spec_only, (self.spec,))

    def __deepcopy__(self, memo):
        m = self.ref()
        return _spec_only(self.spec) if m is None else ChildArg(copy.deepcopy(m, memo))


def _spec_only(spec):
    return spec


_LEAVES = (type(None), bool, int, float, complex, str, _dt.dtype, _device, np.ndarray, np.generic)


def _capture(value, children: set, budget: list, where: str):
    """A frozen copy of ``value`` for a spec (containers copied, modules replaced by child references or
    their own specs), or ``_NotDescribable``."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _NotDescribable(f"the arguments hold more than {_CAPTURE_BUDGET} items")
    if isinstance(value, _LEAVES) or isinstance(value, Tensor):
        return value
    if isinstance(value, Module):
        if id(value) in children:
            return ChildArg(value)
        return _detached_spec(value)
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        return value
    if isinstance(value, functools.partial):
        return functools.partial(
            _capture(value.func, children, budget, where),
            *_capture(value.args, children, budget, where),
            **_capture(value.keywords, children, budget, where),
        )
    if isinstance(value, (list, tuple)):
        items = [_capture(v, children, budget, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        out = OrderedDict() if isinstance(value, OrderedDict) else {}
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool, type(None))):
                raise _NotDescribable(f"{where} has a key of type {type(k).__name__}")
            out[k] = _capture(v, children, budget, f"{where}[{k!r}]")
        return out
    raise _NotDescribable(f"{where} is a {type(value).__module__}.{type(value).__qualname__}")


def _detached_spec(m: Module) -> ModuleSpec:
    """``m``'s spec with every module argument replaced by its own spec (keeps no module alive)."""
    spec = m.__dict__.get("_init_spec")
    if spec is None:
        return ModuleSpec(type(m), None, None, f"{type(m).__qualname__} did not record its arguments")
    if spec.args is None:
        return spec

    def detach(v):
        if isinstance(v, ChildArg):
            return v.spec
        if isinstance(v, Module):
            return _detached_spec(v)
        if isinstance(v, (list, tuple)):
            items = [detach(x) for x in v]
            return items if isinstance(v, list) else tuple(items)
        if isinstance(v, dict):
            return type(v)((k, detach(x)) for k, x in v.items())
        return v

    return ModuleSpec(spec.cls, detach(spec.args), detach(spec.kwargs))


def _record_spec(module: Module, cls: type, args: tuple, kwargs: dict) -> None:
    children = {id(m) for m in module.__dict__.get("_modules", {}).values() if m is not None}
    budget = [_CAPTURE_BUDGET]
    try:
        spec = ModuleSpec(
            cls,
            tuple(_capture(a, children, budget, f"argument {i}") for i, a in enumerate(args)),
            {k: _capture(v, children, budget, f"argument {k!r}") for k, v in kwargs.items()},
        )
    except _NotDescribable as e:
        spec = ModuleSpec(cls, None, None, str(e))
    module.__dict__["_init_spec"] = spec


def _recording_init(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        d = self.__dict__
        if "_init_spec" in d:  # a super().__init__ call inside the outermost constructor
            return init(self, *args, **kwargs)
        d["_init_spec"] = None
        try:
            init(self, *args, **kwargs)
        except BaseException:
            d.pop("_init_spec", None)
            raise
        _record_spec(self, type(self), args, kwargs)

    __init__._records_spec = True
    return __init__


class Module:
    """Base class for neural-network modules. Subclasses assign parameters and submodules as attributes in
    ``__init__`` and implement ``forward``; calling the module runs ``forward`` with its hooks.

    Example:
        >>> class Net(ts.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = ts.nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
        >>> Net()(ts.randn(3, 4)).shape
        tessera.Size([3, 2])
    """

    training: bool

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_records_spec", False):
            cls.__init__ = _recording_init(init)

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments")
        d = self.__dict__
        if "_init_spec" not in d:  # a plain ``Module()``
            d["_init_spec"] = ModuleSpec(type(self), (), {})
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()

    forward: Callable

    def forward(self, *args, **kwargs):  # noqa: F811 - documented placeholder, overridden by subclasses
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        compiled = self.__dict__.get("_compiled_call")
        if compiled is not None:
            return compiled(*args, **kwargs)
        return self._call_impl(*args, **kwargs)

    def compile(self, *args, **kwargs) -> None:
        """Compile this module's call in place with ``ts.compile(..., *args, **kwargs)``: ``module(x)`` then
        runs the compiled version (as ``torch.nn.Module.compile``).

        Example:
            >>> m = ts.nn.Linear(4, 2)
            >>> m.compile()
            >>> with ts.no_grad():
            ...     y = m(ts.ones(3, 4))
        """
        import functools

        from ..compile import compile as _compile

        object.__setattr__(
            self, "_compiled_call", _compile(functools.partial(Module._call_impl, self), *args, **kwargs)
        )

    def _call_impl(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks:
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    # -- registration ---------------------------------------------------------------------------------------
    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def __setattr__(self, name: str, value) -> None:
        # As PyTorch: re-assigning a registered name keeps its position in ``_parameters`` / ``_buffers`` /
        # ``_modules`` (so ``children()``, ``state_dict()`` keep their order); a value of another kind moves
        # the name to that registry.
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, (Tensor, Module)) or (
            params is not None and (name in params or name in d["_buffers"] or name in d["_modules"])
        ):
            _STRUCTURE[0] += 1  # compiled functions re-check the tensors they captured
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._drop(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (nn.Parameter or None expected)"
                )
            self.register_parameter(name, None)
        elif isinstance(value, Module):
            self._check_init("module")
            self._drop(name, keep="_modules")
            d["_modules"][name] = value
            d[name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None "
                    "expected)"
                )
            d["_modules"][name] = None
            d[name] = None
        elif isinstance(value, Buffer) or (params is not None and name in d["_buffers"]):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (nn.Buffer, Tensor or None "
                    "expected)"
                )
            if isinstance(value, Buffer):
                persistent = value.persistent
            else:
                persistent = name not in d["_non_persistent_buffers"]
            self.register_buffer(name, value, persistent=persistent)
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name, keep):
        """Remove ``name`` from the registries other than ``keep`` and from the plain attributes."""
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg != keep:
                d[reg].pop(name, None)
        if keep != "_buffers":
            d["_non_persistent_buffers"].discard(name)
        d.pop(name, None)

    def _forget(self, name):
        _STRUCTURE[0] += 1
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            d[reg].pop(name, None)
        d["_non_persistent_buffers"].discard(name)
        d.pop(name, None)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d.get("_parameters", ()) or name in d.get("_buffers", ()) or name in d.get("_modules", ()):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def _exists(self, name: str, registry: str) -> bool:
        """Whether ``name`` is already taken by something other than an entry of ``registry``."""
        d = self.__dict__
        if name in d[registry]:
            return False
        return name in d or hasattr(type(self), name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder) under ``name``; re-registering a name keeps its place.

        Example:
            >>> m = ts.nn.Module()
            >>> m.register_parameter("scale", ts.nn.Parameter(ts.ones(3)))
            >>> [n for n, _ in m.named_parameters()]
            ['scale']
        """
        self._check_init("parameters")
        self._check_name("register_parameter", name)
        if self._exists(name, "_parameters"):
            raise KeyError(f"register_parameter: attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"register_parameter: cannot assign non-leaf Tensor to parameter '{name}'. Model parameters "
                f"must be created explicitly. To express '{name}' as a function of another Tensor, compute "
                "the value in the forward() method."
            )
        _STRUCTURE[0] += 1
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not trained (running statistics...); non-persistent buffers stay out of
        ``state_dict``. Re-registering a buffer keeps its place.

        Example:
            >>> m = ts.nn.Module()
            >>> m.register_buffer("steps", ts.zeros(()))
            >>> list(m.state_dict())
            ['steps']
        """
        self._check_init("buffers")
        self._check_name("register_buffer", name)
        if self._exists(name, "_buffers"):
            raise KeyError(f"register_buffer: attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(Tensor or None required)"
            )
        if isinstance(tensor, Buffer):  # the marker goes; the memory and version counter are shared (an op)
            tensor = tensor.detach()
        _STRUCTURE[0] += 1
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (re-adding a name keeps its place among the children).

        Example:
            >>> m = ts.nn.Module()
            >>> m.add_module("fc", ts.nn.Linear(2, 3))
            >>> [n for n, _ in m.named_children()]
            ['fc']
        """
        self._check_init("module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        self._check_name("add_module", name)
        if self._exists(name, "_modules"):
            raise KeyError(f"add_module: attribute '{name}' already exists")
        _STRUCTURE[0] += 1
        self._modules[name] = module
        self.__dict__[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias for :meth:`add_module`."""
        self.add_module(name, module)

    def _check_name(self, fn, name):
        if not isinstance(name, str):
            raise TypeError(f"{fn}: name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'{fn}: name can\'t contain "." or be empty, got {name!r}')

    # -- traversal ------------------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(name, module)`` for this module and all descendants, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, getter, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mprefix, m in mods:
            for name, v in getter(m):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mprefix + ("." if mprefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(name, parameter)`` pairs, e.g. ``("fc.weight", Parameter)``; shared ones once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """All parameters (each once), in registration order: what an optimizer takes."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path ``target`` (``""`` is this module)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(
                    f"{type(mod).__name__} has no attribute `{item}` (looking up {target!r})"
                )
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer `{name}`")
        return mod._buffers[name]

    # -- modes and bulk updates -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError("train: training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, else to zeros in place)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = p.grad.detach()
                with no_grad():
                    p.grad.zero_()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module; returns ``self``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _convert(self, fn) -> Module:
        with no_grad():
            for m in self.modules():
                for store in (m._parameters, m._buffers):
                    for t in store.values():
                        if is_lazy(t):  # a placeholder keeps the dtype it will be materialized with
                            t._convert_placeholder(fn)
                        elif t is not None:
                            new = fn(t._data)
                            if new is not t._data:
                                t._data = new
                                if t.grad is not None:
                                    t.grad._data = fn(t.grad._data)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move/cast parameters and buffers in place: ``model.to(ts.float64)``, ``model.to("cpu")``.

        Only floating point tensors change dtype; parameters keep their identity (optimizers stay valid).
        """
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, _dt.dtype) or a in (float, int):
                dtype = a
            else:
                device = a
        as_device(device)
        if dtype is None:
            return self
        d = _dt.as_dtype(dtype)
        if not d.is_floating_point:
            raise TypeError(f"to: nn.Module.to only accepts floating point dtypes, but got desired dtype={d}")
        return self._convert(lambda a: a.astype(d.np) if a.dtype.kind in "fV" and a.dtype != d.np else a)

    def float(self) -> Module:
        return self.to(_dt.float32)

    def double(self) -> Module:
        return self.to(_dt.float64)

    def half(self) -> Module:
        return self.to(_dt.float16)

    def bfloat16(self) -> Module:
        return self.to(_dt.bfloat16)

    def cpu(self) -> Module:
        return self

    def cuda(self, device=None) -> Module:
        as_device("cuda")
        return self

    # -- state dict -----------------------------------------------------------------------------------------
    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name (tensors share memory with the module's)."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars or is_lazy(p) else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars or is_lazy(b) else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _state_entries(self):
        """(key, module, kind, name) for everything ``state_dict`` contains."""
        out = []
        for mprefix, m in self.named_modules(remove_duplicate=False):
            base = mprefix + "." if mprefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out.append((base + name, m, "_parameters", name))
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent_buffers:
                    out.append((base + name, m, "_buffers", name))
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values (tensors or NumPy arrays) into parameters and buffers by name.

        Every problem (missing or unexpected keys with ``strict``, shape mismatches) is collected and raised
        together before anything is copied, so a failed load leaves the module unchanged.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping, got {type(state_dict).__name__}")
        entries = self._state_entries()
        expected = {key for key, *_ in entries}
        missing = [key for key, *_ in entries if key not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in expected]
        errors = []
        if strict:
            if unexpected:
                errors.append(
                    "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". "
                )
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        plan = []
        for key, m, kind, name in entries:
            if key not in state_dict:
                continue
            value = state_dict[key]
            if is_lazy(value):
                continue  # an uninitialized entry (a lazy module's state_dict) loads nothing
            arr = value._data if isinstance(value, Tensor) else value
            if not isinstance(arr, np.ndarray):
                try:
                    arr = np.asarray(arr)
                except Exception:  # noqa: BLE001
                    errors.append(
                        f'While copying "{key}": expected a tensor or array, got {type(value).__name__}.'
                    )
                    continue
            target = getattr(m, kind)[name]
            if is_lazy(target):  # a lazy module takes the checkpoint's shape
                if arr.dtype not in _dt._FROM_NP:
                    errors.append(f'While copying "{key}": unsupported dtype {arr.dtype}.')
                    continue
                plan.append((target, arr, m, kind, name))
                continue
            if arr.shape != target._data.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(arr.shape)} from checkpoint, the "
                    f"shape in current model is {tuple(target._data.shape)}."
                )
                continue
            if arr.dtype not in _dt._FROM_NP:
                errors.append(f'While copying "{key}": unsupported dtype {arr.dtype}.')
                continue
            plan.append((target, arr, m, kind, name))
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for target, arr, m, kind, name in plan:
                if is_lazy(target):
                    target.materialize(arr.shape)
                if assign:
                    new = Tensor._wrap(np.array(arr, copy=True))
                    if kind == "_parameters":
                        new = Parameter(new, target.requires_grad)
                    getattr(m, kind)[name] = new
                    m.__dict__[name] = new
                else:
                    with no_grad():  # through the copy op: a state change the dispatcher sees
                        target.copy_(Tensor._wrap(arr))
        return IncompatibleKeys(missing, unexpected)

    # -- hooks ----------------------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; a non-None return replaces the arguments."""
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        return h

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; a non-None return replaces the output."""
        h = RemovableHandle(self._forward_hooks)
        self._forward_hooks[h.id] = hook
        return h

    # -- printing -------------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Extra information shown in ``repr`` (override in layers: ``in_features=3, ...``)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return sorted(set(super().__dir__()))

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)
