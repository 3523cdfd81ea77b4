"""Keras optimizers (``ts.keras.optimizers``): Keras names, arguments and defaults on top of ``ts.optim``.

A Keras optimizer is created without parameters (``Adam(learning_rate=1e-3)``) and builds its ``ts.optim``
optimizer on the first ``build(params)`` / ``apply_gradients``: ``fit`` builds it once the model's weights
exist (Keras layers build on their first call). ``learning_rate`` can be read and set at any time
(callbacks such as ``ReduceLROnPlateau`` do); ``state_dict()`` / ``load_state_dict()`` delegate to the
``ts.optim`` optimizer, and a state loaded before the build is applied when it happens.

Mapping: ``Adam``/``AdamW`` -> ``ts.optim.Adam``/``AdamW`` (``beta_1``, ``beta_2`` -> ``betas``),
``SGD`` -> ``ts.optim.SGD``, ``RMSprop`` -> ``ts.optim.RMSprop`` (``rho`` -> ``alpha``), ``Adagrad`` ->
``ts.optim.Adagrad``. As in Keras 3, ``weight_decay`` is decoupled (``w -= lr * weight_decay * w``) for
every optimizer; ``clipnorm``, ``clipvalue`` and ``global_clipnorm`` clip gradients before the update.

Example:
    >>> opt = ts.keras.optimizers.get("adam")
    >>> opt.learning_rate
    0.001
    >>> layer = ts.nn.Linear(2, 1)
    >>> opt.build(list(layer.parameters()))
    >>> type(opt.optimizer).__name__
    'Adam'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import optim as _optim
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ..nn.utils import clip_grad_norm_, clip_grad_value_

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "TorchOptimizer",
    "schedules",
    "get",
    "serialize",
    "deserialize",
]


class Optimizer:
    """Base class of Keras optimizers: subclasses set ``_make(params, lr)`` returning a ``ts.optim``
    optimizer and ``_hparams()`` (their config without the common keys).

    Args:
        learning_rate: a float or a schedule (a callable ``schedule(step) -> lr``, e.g. from
            ``ts.keras.optimizers.schedules``), read before each update.
        weight_decay: decoupled weight decay (``None``: off).
        clipnorm / clipvalue / global_clipnorm: gradient clipping per weight / by value / by global norm.
        name: the optimizer's name.
    """

    _decay_in_optimizer = False

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        name: str | None = None,
        **kwargs,
    ) -> None:
        who = type(self).__name__
        unknown = set(kwargs) - {
            "ema_momentum",
            "ema_overwrite_frequency",
            "loss_scale_factor",
            "gradient_accumulation_steps",
            "jit_compile",
            "decay",
            "lr",
        }
        if unknown:
            raise TypeError(f"{who}() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        if "lr" in kwargs:
            learning_rate = kwargs["lr"]
        if use_ema:
            raise NotImplementedError(f"{who}: use_ema=True is not supported")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{who}: only one of clipnorm and global_clipnorm can be set")
        for arg, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"{who}: {arg} must be positive, got {value!r}")
        if weight_decay is not None and weight_decay < 0:
            raise ValueError(f"{who}: weight_decay must be >= 0, got {weight_decay!r}")
        self._schedule: Callable | None = None
        if callable(learning_rate):
            self._schedule = learning_rate
            lr = float(learning_rate(0))
        else:
            lr = float(learning_rate)
        if not lr >= 0:
            raise ValueError(f"{who}: learning_rate must be >= 0, got {learning_rate!r}")
        self._lr = lr
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.name = name or _default_name(type(self).__name__)
        self.iterations = 0
        self.optimizer: _optim.Optimizer | None = None
        self._params: list[Tensor] = []
        self._pending_state: dict | None = None

    # -- learning rate --------------------------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The current learning rate (settable; a schedule's value at the current step)."""
        if self.optimizer is not None:
            return float(self.optimizer.param_groups[0]["lr"])
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if callable(value):
            self._schedule = value
            value = value(self.iterations)
        else:
            self._schedule = None
        value = float(value)
        if not value >= 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0, got {value!r}")
        self._lr = value
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = value

    lr = learning_rate

    # -- building -------------------------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.optimizer is not None

    def build(self, var_list: Iterable[Tensor]) -> None:
        """Create the ``ts.optim`` optimizer for ``var_list`` (the trainable weights), applying any state
        loaded before. Building again with the same weights does nothing."""
        params = [p for p in var_list]
        if not params:
            raise ValueError(f"{type(self).__name__}.build: the model has no trainable weights")
        if self.optimizer is not None:
            if len(params) == len(self._params) and all(a is b for a, b in zip(params, self._params)):
                return
            raise RuntimeError(
                f"{type(self).__name__}.build: already built for {len(self._params)} weights; create a new "
                "optimizer (or compile again) to optimize other weights"
            )
        self._params = params
        self.optimizer = self._make(params, self._lr)
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    def _make(self, params, lr) -> _optim.Optimizer:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- updates --------------------------------------------------------------------------------------------
    def _clip(self) -> None:
        if self.clipvalue is not None:
            clip_grad_value_(self._params, self.clipvalue)
        if self.clipnorm is not None:
            for p in self._params:
                if p.grad is not None:
                    clip_grad_norm_([p], self.clipnorm)
        if self.global_clipnorm is not None:
            clip_grad_norm_(self._params, self.global_clipnorm)

    def step(self) -> None:
        """Apply one update from the weights' ``.grad`` (built beforehand)."""
        if self.optimizer is None:
            raise RuntimeError(f"{type(self).__name__}.step: the optimizer is not built; call build(params)")
        if self._schedule is not None:
            lr = float(self._schedule(self.iterations))
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        if self.clipnorm is not None or self.clipvalue is not None or self.global_clipnorm is not None:
            self._clip()
        if self.weight_decay and not self._decay_in_optimizer:
            lr = self.learning_rate
            with no_grad():
                for p in self._params:
                    if p.grad is not None:
                        p.mul_(1.0 - lr * self.weight_decay)
        self.optimizer.step()
        self.iterations += 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=set_to_none)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor, Tensor]]) -> None:
        """Keras's ``apply_gradients([(grad, weight), ...])``: set each weight's gradient and update.

        Example:
            >>> w = ts.nn.Parameter(ts.ones(2))
            >>> opt = ts.keras.optimizers.SGD(learning_rate=0.5)
            >>> opt.apply_gradients([(ts.ones(2), w)])
            >>> w
            Parameter containing:
            tensor([0.5000, 0.5000], requires_grad=True)
        """
        pairs = list(grads_and_vars)
        if not self.built:
            self.build([v for _, v in pairs])
        for g, v in pairs:
            v.grad = None if g is None else (g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g)))
        self.step()

    # -- state ----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The ``ts.optim`` state dict (plus ``"iterations"``); before the build, the state waiting to be
        applied (or an empty state)."""
        if self.optimizer is None:
            if self._pending_state is not None:
                return self._pending_state
            return {"state": {}, "param_groups": [], "iterations": self.iterations}
        sd = self.optimizer.state_dict()
        sd["iterations"] = self.iterations
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from ``state_dict()``; before the build it is kept and applied on ``build``."""
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: expected a dict, got {type(state_dict).__name__}"
            )
        if self.optimizer is None:
            self._pending_state = state_dict
            self.iterations = int(state_dict.get("iterations", 0))
            return
        sd = dict(state_dict)
        self.iterations = int(sd.pop("iterations", self.iterations))
        if not sd.get("param_groups"):
            return
        self.optimizer.load_state_dict(sd)
        self._lr = float(self.optimizer.param_groups[0]["lr"])

    # -- config ---------------------------------------------------------------------------------------------
    def _hparams(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> dict[str, Any]:
        lr = self._schedule if self._schedule is not None else self.learning_rate
        if self._schedule is not None and hasattr(self._schedule, "get_config"):
            lr = {"class_name": type(self._schedule).__name__, "config": self._schedule.get_config()}
        config = {"name": self.name, "learning_rate": lr}
        config.update(self._hparams())
        config.update(
            {
                "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr, custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<keras.optimizers.{type(self).__name__} learning_rate={self.learning_rate:g}>"


def _default_name(cls_name: str) -> str:
    return cls_name.lower()


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: Keras's ``SGD(learning_rate=0.01,
    momentum=0.0, nesterov=False)`` on ``ts.optim.SGD`` (equivalent updates for a constant learning rate).

    Example:
        >>> ts.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9).get_config()["momentum"]
        0.9
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs) -> None:
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}")
        super().__init__(learning_rate, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _make(self, params, lr):
        return _optim.SGD(params, lr=lr, momentum=self.momentum, nesterov=self.nesterov and self.momentum > 0)

    def _hparams(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam: Keras's ``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`` on
    ``ts.optim.Adam``.

    Example:
        >>> ts.keras.optimizers.Adam(learning_rate=1e-2).learning_rate
        0.01
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ) -> None:
        who = type(self).__name__
        for arg, v in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{who}: {arg} must be in [0, 1), got {v!r}")
        if not epsilon >= 0:
            raise ValueError(f"{who}: epsilon must be >= 0, got {epsilon!r}")
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = (
            float(beta_1),
            float(beta_2),
            float(epsilon),
            amsgrad,
        )

    def _make(self, params, lr):
        return _optim.Adam(
            params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon, amsgrad=self.amsgrad
        )

    def _hparams(self):
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay: Keras's ``AdamW(learning_rate=0.001, weight_decay=0.004, ...)`` on
    ``ts.optim.AdamW``.

    Example:
        >>> ts.keras.optimizers.AdamW().weight_decay
        0.004
    """

    _decay_in_optimizer = True

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay cannot be None (use Adam for no decay)")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)

    def _make(self, params, lr):
        return _optim.AdamW(
            params,
            lr=lr,
            betas=(self.beta_1, self.beta_2),
            eps=self.epsilon,
            weight_decay=self.weight_decay,
            amsgrad=self.amsgrad,
        )


class RMSprop(Optimizer):
    """RMSprop: Keras's ``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)``
    on ``ts.optim.RMSprop`` (``rho`` is its ``alpha``).

    Example:
        >>> ts.keras.optimizers.RMSprop().get_config()["rho"]
        0.9
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs,
    ) -> None:
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop: rho must be in [0, 1), got {rho!r}")
        if not momentum >= 0:
            raise ValueError(f"RMSprop: momentum must be >= 0, got {momentum!r}")
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = (
            float(rho),
            float(momentum),
            float(epsilon),
            centered,
        )

    def _make(self, params, lr):
        return _optim.RMSprop(
            params, lr=lr, alpha=self.rho, eps=self.epsilon, momentum=self.momentum, centered=self.centered
        )

    def _hparams(self):
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Adagrad: Keras's ``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`` on
    ``ts.optim.Adagrad``.

    Example:
        >>> ts.keras.optimizers.Adagrad().get_config()["initial_accumulator_value"]
        0.1
    """

    def __init__(
        self, learning_rate=0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7, **kwargs
    ) -> None:
        if not initial_accumulator_value >= 0:
            raise ValueError(
                f"Adagrad: initial_accumulator_value must be >= 0, got {initial_accumulator_value!r}"
            )
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _make(self, params, lr):
        return _optim.Adagrad(
            params, lr=lr, initial_accumulator_value=self.initial_accumulator_value, eps=self.epsilon
        )

    def _hparams(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}


def _json_value(v):
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    raise TypeError(type(v).__name__)


class TorchOptimizer(Optimizer):
    """Wraps a ``ts.optim`` optimizer (an instance, or a class and its keyword arguments for a lazy build)
    so that ``compile`` accepts PyTorch-style optimizers.

    Example:
        >>> model = ts.nn.Linear(2, 1)
        >>> opt = ts.keras.optimizers.get(ts.optim.SGD(model.parameters(), lr=0.1))
        >>> opt.learning_rate
        0.1
    """

    def __init__(
        self, optimizer=None, optimizer_class: str | type | None = None, defaults=None, name=None, **kw
    ):
        if optimizer is not None:
            if not isinstance(optimizer, _optim.Optimizer):
                raise TypeError(
                    f"TorchOptimizer: expected a ts.optim.Optimizer, got {type(optimizer).__name__}"
                )
            super().__init__(
                float(optimizer.param_groups[0]["lr"]), name=name or type(optimizer).__name__.lower()
            )
            self.optimizer = optimizer
            self._params = [p for g in optimizer.param_groups for p in g["params"]]
            self._cls = type(optimizer)
            self._defaults = {k: v for k, v in optimizer.defaults.items() if k != "params"}
            return
        if isinstance(optimizer_class, str):
            cls = getattr(_optim, optimizer_class, None)
            if not (isinstance(cls, type) and issubclass(cls, _optim.Optimizer)):
                raise ValueError(f"TorchOptimizer: unknown ts.optim optimizer {optimizer_class!r}")
        elif isinstance(optimizer_class, type) and issubclass(optimizer_class, _optim.Optimizer):
            cls = optimizer_class
        else:
            raise TypeError("TorchOptimizer: pass an optimizer instance or optimizer_class")
        self._cls = cls
        self._defaults = dict(defaults or {})
        if isinstance(self._defaults.get("betas"), list):
            self._defaults["betas"] = tuple(self._defaults["betas"])
        super().__init__(float(self._defaults.get("lr", 1e-3)), name=name or cls.__name__.lower(), **kw)

    def build(self, var_list) -> None:
        params = list(var_list)
        if self.optimizer is not None:
            mine = {id(p) for p in self._params}
            missing = [p for p in params if id(p) not in mine]
            if missing:
                raise RuntimeError(
                    f"compile: the {self._cls.__name__} optimizer given to compile does not hold "
                    f"{len(missing)} of the model's {len(params)} trainable weights; create it from "
                    "model.parameters()"
                )
            return
        super().build(params)

    def _make(self, params, lr):
        kwargs = {k: v for k, v in self._defaults.items() if k != "lr"}
        return self._cls(params, lr=lr, **kwargs)

    def get_config(self) -> dict[str, Any]:
        defaults = {}
        for k, v in self._defaults.items():
            try:
                defaults[k] = _json_value(v)
            except TypeError:
                continue
        defaults["lr"] = self.learning_rate
        return {"name": self.name, "optimizer_class": self._cls.__name__, "defaults": defaults}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(
            optimizer_class=config["optimizer_class"],
            defaults=config.get("defaults"),
            name=config.get("name"),
        )


class _Schedules:
    """``ts.keras.optimizers.schedules``: learning-rate schedules ``schedule(step) -> lr``."""

    class LearningRateSchedule:
        """Base class: implement ``__call__(step)`` and ``get_config()``."""

        def __call__(self, step):  # pragma: no cover - abstract
            raise NotImplementedError

        def get_config(self) -> dict[str, Any]:
            return {}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    class ExponentialDecay(LearningRateSchedule):
        """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored with ``staircase``).

        Example:
            >>> s = ts.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
            >>> s(10)
            0.05
        """

        def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
            if decay_steps <= 0:
                raise ValueError(f"ExponentialDecay: decay_steps must be positive, got {decay_steps!r}")
            self.initial_learning_rate = float(initial_learning_rate)
            self.decay_steps, self.decay_rate, self.staircase, self.name = (
                decay_steps,
                decay_rate,
                staircase,
                name,
            )

        def __call__(self, step):
            p = step / self.decay_steps
            if self.staircase:
                p = math.floor(p)
            return self.initial_learning_rate * self.decay_rate**p

        def get_config(self):
            return {
                "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate,
                "staircase": self.staircase,
                "name": self.name,
            }

    class PiecewiseConstantDecay(LearningRateSchedule):
        """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

        Example:
            >>> s = ts.keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
            >>> s(10), s(11)
            (0.1, 0.01)
        """

        def __init__(self, boundaries, values, name=None):
            if len(values) != len(boundaries) + 1:
                raise ValueError(
                    f"PiecewiseConstantDecay: expected len(values) == len(boundaries) + 1, got {len(values)} "
                    f"and {len(boundaries)}"
                )
            self.boundaries, self.values, self.name = list(boundaries), list(values), name

        def __call__(self, step):
            for b, v in zip(self.boundaries, self.values):
                if step <= b:
                    return v
            return self.values[-1]

        def get_config(self):
            return {"boundaries": self.boundaries, "values": self.values, "name": self.name}

    class CosineDecay(LearningRateSchedule):
        """Cosine decay from ``initial_learning_rate`` to ``alpha * initial_learning_rate`` over
        ``decay_steps``.

        Example:
            >>> s = ts.keras.optimizers.schedules.CosineDecay(0.1, decay_steps=10)
            >>> round(s(5), 6)
            0.05
        """

        def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None):
            if decay_steps <= 0:
                raise ValueError(f"CosineDecay: decay_steps must be positive, got {decay_steps!r}")
            self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (
                float(initial_learning_rate),
                decay_steps,
                alpha,
                name,
            )

        def __call__(self, step):
            p = min(step, self.decay_steps) / self.decay_steps
            cos = 0.5 * (1 + math.cos(math.pi * p))
            return self.initial_learning_rate * ((1 - self.alpha) * cos + self.alpha)

        def get_config(self):
            return {
                "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "alpha": self.alpha,
                "name": self.name,
            }

    def deserialize(self, config, custom_objects=None):
        name = config["class_name"]
        cls = (custom_objects or {}).get(name) or getattr(self, name, None)
        if cls is None:
            raise ValueError(f"schedules.deserialize: unknown schedule {name!r}; pass it in custom_objects")
        return cls.from_config(config.get("config") or {})

    def serialize(self, schedule):
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


schedules = _Schedules()

_CLASSES = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, TorchOptimizer)}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a Keras optimizer (JSON-serialisable).

    Example:
        >>> ts.keras.optimizers.serialize(ts.keras.optimizers.SGD(0.1))["class_name"]
        'SGD'
    """
    if not isinstance(optimizer, Optimizer):
        optimizer = get(optimizer)
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """Rebuild an optimizer from ``serialize``'s output (or a name).

    Example:
        >>> ts.keras.optimizers.deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}}).learning_rate
        0.01
    """
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(config, custom_objects)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"optimizers.deserialize: expected a dict with 'class_name' and 'config', got {config!r}"
        )
    name = config["class_name"]
    cls = custom_objects.get(name) or _CLASSES.get(name) or _LOWER.get(str(name).lower())
    if cls is None:
        raise ValueError(
            f"optimizers.deserialize: unknown optimizer {name!r}; known: {', '.join(sorted(_CLASSES))}"
        )
    return (
        cls.from_config(dict(config.get("config") or {}), custom_objects)
        if issubclass(cls, Optimizer)
        else cls(**(config.get("config") or {}))
    )


_LOWER = {k.lower(): v for k, v in _CLASSES.items()}


def get(identifier, custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """Resolve an optimizer: a name (``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"adagrad"``, ``"adamw"``), a
    serialized dict, a Keras optimizer (returned as is) or class, or a ``ts.optim`` optimizer (wrapped).

    Example:
        >>> type(ts.keras.optimizers.get("rmsprop")).__name__
        'RMSprop'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, _optim.Optimizer):
        return TorchOptimizer(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        cls = (custom_objects or {}).get(identifier) or _LOWER.get(identifier.lower())
        if cls is None or cls is TorchOptimizer:
            raise ValueError(
                f"optimizers.get: unknown optimizer {identifier!r}; expected one of "
                "'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad'"
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    raise ValueError(f"optimizers.get: could not interpret optimizer identifier {identifier!r}")
