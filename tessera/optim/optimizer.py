"""``Optimizer``: the base class of every optimizer, with PyTorch's parameter-group, state and state_dict
semantics.

Optimizers update parameters in place with NumPy ufuncs on the parameters' arrays (``out=`` everywhere,
per-parameter preallocated work arrays), outside autograd; each update bumps the parameter's version
counter once so that autograd notices a parameter modified after it was saved for backward.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

import numpy as np

from ..core import dispatch as _dispatch
from ..core import dtypes as _dt
from ..core.grad_mode import enable_grad, no_grad
from ..core.hooks import RemovableHandle
from ..core.tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that every parameter group must give (``defaults[name] = required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _wrap_step(step):
    """Wrap a subclass's ``step``: note that it was called (for the schedulers' order check) and run hooks."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        if _dispatch._ACTIVE:
            _dispatch.observe("prologue", self, self._sync_hyper)
        hooked = self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks
        if not hooked or self.__dict__.get("_in_hooked_step"):
            return step(self, *args, **kwargs)
        self._in_hooked_step = True  # a subclass's step calling super().step() runs the hooks once
        try:
            return _run_hooked(self, step, args, kwargs)
        finally:
            self._in_hooked_step = False

    wrapper._tessera_step_wrapper = True
    return wrapper


def _run_hooked(self, step, args, kwargs):
    for hook in list(self._optimizer_step_pre_hooks.values()):
        res = hook(self, args, kwargs)
        if res is not None:
            if not (isinstance(res, tuple) and len(res) == 2):
                raise RuntimeError(
                    f"{type(self).__name__}.step: a step pre-hook must return None or a tuple "
                    f"(new_args, new_kwargs), got {res!r}"
                )
            args, kwargs = res
    out = step(self, *args, **kwargs)
    for hook in list(self._optimizer_step_post_hooks.values()):
        hook(self, args, kwargs)
    return out


def _to_state_tensor(value, dtype=None) -> Tensor:
    """A fresh Tessera tensor holding a copy of ``value`` (a Tessera tensor, NumPy array or any array-like
    such as a torch tensor), cast to ``dtype`` (a NumPy dtype) when given."""
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype not in _dt._FROM_NP:
        raise TypeError(f"load_state_dict: unsupported dtype {arr.dtype} in optimizer state")
    arr = np.array(arr, dtype=dtype, copy=True)
    return Tensor._wrap(arr)


def _is_array_like(value) -> bool:
    if isinstance(value, (Tensor, np.ndarray)):
        return True
    # Tensors of other frameworks (a torch state dict loaded into Tessera): anything with __array__ + shape.
    return hasattr(value, "__array__") and hasattr(value, "shape") and not isinstance(value, (int, float))


class Optimizer:
    """Base class for optimizers. Subclasses pass their hyperparameter ``defaults`` and implement ``step``.

    Args:
        params: an iterable of tensors to optimize, or of dicts defining parameter groups (each with a
            ``"params"`` entry and optional per-group hyperparameters overriding ``defaults``).
        defaults: default hyperparameter values for every group.

    Attributes:
        param_groups: list of dicts, each holding ``"params"`` (a list of tensors) and every hyperparameter.
        state: per-parameter state dicts (e.g. momentum buffers), keyed by parameter.

    Example:
        >>> model = ts.nn.Linear(4, 2)
        >>> opt = ts.optim.SGD(
        ...     [{"params": [model.weight]}, {"params": [model.bias], "lr": 0.1}], lr=0.01, momentum=0.9
        ... )
        >>> [g["lr"] for g in opt.param_groups]
        [0.01, 0.1]
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._hyper_tensors: dict[int, tuple] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                f"{_typename(params)}"
            )
        if isinstance(params, dict):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a "
                "single dict; wrap it in a list"
            )
        if isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_tessera_step_wrapper", False):
            cls.step = _wrap_step(step)

    # -- pickling / copying -----------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d.pop("_hyper_tensors", None)
        return d

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_optimizer_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_optimizer_step_post_hooks", OrderedDict())
        self._hyper_tensors = {}

    def __repr__(self) -> str:
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    # -- hyperparameter checks (overridden by subclasses) -------------------------------------------------
    def _check_hparams(self, group: dict[str, Any]) -> None:
        """Raise ``ValueError`` for invalid hyperparameters in ``group`` (defaults or a parameter group)."""

    def _fill_group(self, group: dict[str, Any]) -> None:
        """Give a loaded parameter group any hyperparameter it lacks (an older or foreign state dict)."""
        for name, default in self.defaults.items():
            if default is not required:
                group.setdefault(name, default)

    def _check_state_shape(self, param: Tensor, key, shape: tuple) -> None:
        """Raise ``ValueError`` when a loaded state tensor ``key`` of ``shape`` cannot belong to ``param``
        (by default every non-scalar state tensor has its parameter's shape)."""
        if len(shape) > 0 and shape != tuple(param.shape):
            raise ValueError(
                f"load_state_dict: state '{key}' has shape {shape} but its parameter "
                f"has shape {tuple(param.shape)}"
            )

    # -- parameter groups ---------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``"params"`` and optional hyperparameters) to ``param_groups``.

        Useful when fine-tuning: frozen layers can be made trainable and handed to the optimizer later.

        Example:
            >>> opt = ts.optim.SGD(ts.nn.Linear(2, 2).parameters(), lr=0.1)
            >>> opt.add_param_group({"params": [ts.zeros(3, requires_grad=True)], "lr": 0.01})
            >>> len(opt.param_groups)
            2
        """
        _dispatch.bump_structure()  # compiled steps re-check the state tensors they captured
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)

        tensors, names = [], []
        for param in params:
            if isinstance(param, tuple) and len(param) == 2 and isinstance(param[0], str):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are missing"
                )
            group["param_names"] = names
        group["params"] = tensors

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(param)
                )
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not param.is_floating_point():
                raise ValueError(
                    "optimizer can only optimize Tensors of floating point dtype, but one of the params has "
                    f"dtype {param.dtype} and shape {tuple(param.shape)}"
                )

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            group.setdefault(name, default)
        self._check_hparams(group)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                "an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        seen: set[int] = set()
        for other in self.param_groups:
            seen.update(id(p) for p in other["params"])
            if ("param_names" in group) != ("param_names" in other):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -- gradients ----------------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to ``None`` (default) or to zeros in place.

        Example:
            >>> w = ts.ones(2, requires_grad=True)
            >>> opt = ts.optim.SGD([w], lr=0.1)
            >>> (w * w).sum().backward()
            >>> opt.zero_grad()
            >>> w.grad is None
            True
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._requires_grad = False
                    with no_grad():
                        g.zero_()

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; ``closure`` (optional) re-evaluates the model and returns the loss."""
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group: dict[str, Any]):
        """The step skeleton every optimizer shares: ``(param, grad, state)`` for each parameter of ``group``
        that has a gradient, its state initialised on first use by ``_init_state``."""
        state_of = self.state
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = state_of.get(p)
            if state is None:  # stored only once it holds something, as PyTorch's state dicts show
                state = {}
                self._init_state(p, group, state)
                if state:
                    state_of[p] = state
                    _dispatch.bump_structure()
            else:
                self._init_state(p, group, state)
            yield p, g, state

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        """Create the missing entries of ``state`` for ``p`` (overridden by optimizers that keep state)."""

    def _hyper(self, group: dict[str, Any], *names: str) -> tuple:
        """The 0-d float64 tensors that the update ops read for ``group``'s hyperparameters ``names``.

        ``group`` keeps Python numbers, as in PyTorch (schedulers and users assign ``group["lr"]``); the
        tensors follow them through a ``fill_`` op whenever a value changed, so a captured step reads the
        tensors and the current values reach it without re-capture.
        """
        cache = self._hyper_tensors.get(id(group))
        if cache is None or cache[0] is not group:
            cache = self._hyper_tensors[id(group)] = (group, {})
        tensors = cache[1]
        out = []
        for name in names:
            key, _, index = name.partition("[")  # "betas[0]": an element of a tuple hyperparameter
            value = group[key][int(index[:-1])] if index else group[key]
            entry = tensors.get(name)
            if entry is None:
                entry = tensors[name] = [float(value), Tensor._wrap(np.array(float(value)))]
            elif entry[0] != value:
                # Untraced: a captured step reads the tensor and syncs it before each run (_sync_hyper).
                with no_grad(), _dispatch.untraced():
                    entry[1].fill_(float(value))
                entry[0] = float(value)
            out.append(entry[1])
        return tuple(out)

    def _per_param_step(
        self,
        closure: Callable[[], Any] | None,
        op,
        state_keys: tuple[str, ...],
        hyper_names: tuple[str, ...],
        flags: dict[str, str] | None = None,
    ):
        """The common ``step`` loop: per group, read ``hyper_names`` (see ``_hyper``) and the boolean
        attributes ``flags`` (attribute -> group key; default ``{"maximize": "maximize"}``), then run ``op``
        on ``(p, grad, *state[k] for k in state_keys, *hyper)`` for each parameter with a gradient.
        Returns ``closure()``'s loss when a closure is given."""
        flags = {"maximize": "maximize"} if flags is None else flags
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                hyper = self._hyper(group, *hyper_names)
                attrs = {attr: bool(group[key]) for attr, key in flags.items()}
                for p, g, state in self._params_with_grad(group):
                    _dispatch.apply(op, (p, g, *(state[k] for k in state_keys)) + hyper, attrs)
        return loss

    def _sync_hyper(self) -> None:
        """Bring every hyperparameter tensor up to its group's current Python number."""
        for group, tensors in list(self._hyper_tensors.values()):
            if tensors:
                self._hyper(group, *tensors)

    # -- hooks --------------------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; it may return new ``(args, kwargs)``."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # -- state dict ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are replaced by integer indices (in ``param_groups`` order), exactly as in PyTorch, so
        state dicts move between Tessera and PyTorch. State tensors are copies (later steps don't change
        a saved state dict).

        Example:
            >>> w = ts.ones(2, requires_grad=True)
            >>> opt = ts.optim.SGD([w], lr=0.1, momentum=0.9)
            >>> (w * w).sum().backward()
            >>> opt.step()
            >>> sd = opt.state_dict()
            >>> sd["state"][0]["momentum_buffer"]
            tensor([2., 2.])
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {}
        for k, v in self.state.items():
            key = mapping[id(k)] if isinstance(k, Tensor) else k
            packed_state[key] = _copy_state(v)
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict from ``state_dict()`` (Tessera's or PyTorch's, tensors or arrays).

        Checks that the number of groups and each group's size match; state tensors are copied and cast to
        their parameter's dtype (except ``step``). Nothing changes if a check fails.

        Example:
            >>> w = ts.ones(2, requires_grad=True)
            >>> opt = ts.optim.Adam([w], lr=0.1)
            >>> opt2 = ts.optim.Adam([ts.ones(2, requires_grad=True)], lr=0.5)
            >>> opt2.load_state_dict(opt.state_dict())
            >>> opt2.param_groups[0]["lr"]
            0.1
        """
        _dispatch.bump_structure()  # compiled steps re-check the state tensors they captured
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise TypeError(
                "load_state_dict: expected a dict with 'state' and 'param_groups' entries, got "
                f"{type(state_dict).__name__}"
            )
        groups = self.param_groups
        saved_groups = deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)} saved, {len(groups)} in the optimizer)"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                    f"group (group {i}: {len(s['params'])} saved, {len(g['params'])} in the optimizer)"
                )
        id_map = dict(
            zip(
                itertools.chain.from_iterable(g["params"] for g in saved_groups),
                itertools.chain.from_iterable(g["params"] for g in groups),
            )
        )

        def cast(param, value, key=None):
            if _is_array_like(value):
                if key == "step":
                    return _to_state_tensor(value)
                t = _to_state_tensor(value, param._data.dtype)
                self._check_state_shape(param, key, tuple(t.shape))
                return t
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return deepcopy(value)

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = deepcopy(v)

        new_groups = []
        for g, ng in zip(groups, saved_groups):
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            self._fill_group(ng)
            new_groups.append(ng)
        self.state = state
        self.param_groups = new_groups


def _copy_state(value):
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _copy_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v) for v in value)
    return value


def _typename(obj) -> str:
    t = type(obj)
    if isinstance(obj, Tensor):
        return "tessera." + t.__name__
    return t.__module__ + "." + t.__qualname__ if t.__module__ != "builtins" else t.__qualname__


# -- shared update helpers ---------------------------------------------------------------------------------
def _new_step() -> Tensor:
    """The per-parameter step counter PyTorch keeps in ``state["step"]``: a float scalar tensor."""
    return _scalar_state(0.0)


def _scalar_state(value: float) -> Tensor:
    """A 0-d state tensor of PyTorch's scalar dtype (float32; float64 under a float64 default dtype)."""
    dt = np.float64 if _dt.get_default_dtype() == _dt.float64 else np.float32
    return Tensor._wrap(np.full((), value, dtype=dt))


def _check_nonneg(name: str, value, what: str | None = None) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what or name} value: {value}")


def _check_lr(name: str, lr) -> None:
    if isinstance(lr, Tensor):
        raise TypeError(f"{name}: lr must be a Python number, got a Tensor")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_not_differentiable(name: str, group: dict[str, Any]) -> None:
    if group.get("differentiable"):
        raise NotImplementedError(f"{name}: differentiable=True is not supported by Tessera optimizers")


def _check_betas(name: str, betas) -> None:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_adam_like(name: str, group: dict[str, Any]) -> None:
    """Adam-family hyper-parameter checks, in PyTorch's order: lr, eps, betas, weight_decay."""
    _check_lr(name, group["lr"])
    _check_nonneg("epsilon", group["eps"])
    _check_betas(name, group["betas"])
    _check_nonneg("weight_decay", group["weight_decay"])
