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
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import optim as _optim
from ..core.creation import as_tensor, zeros_like
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor

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
    """Base class of Keras optimizers. Each update (``apply`` / ``apply_gradients`` / ``step``) runs Keras 3's
    pipeline: loss-scale division, gradient accumulation, clipping, decoupled weight decay, the update
    rule, the moving average of the weights (EMA), the weights' constraints, then ``iterations += 1``.

    Subclasses set ``_make(params, lr)`` returning a ``ts.optim`` optimizer and ``_hparams()`` (their
    config without the common keys).

    Args:
        learning_rate: a float or a schedule (a callable ``schedule(step) -> lr``, e.g. from
            ``ts.keras.optimizers.schedules``), read before each update.
        weight_decay: decoupled weight decay ``w -= lr * weight_decay * w`` (``None``: off).
        clipnorm / clipvalue / global_clipnorm: gradient clipping per weight / by value / by global norm
            (at most one).
        use_ema / ema_momentum / ema_overwrite_frequency: keep an exponential moving average of the
            weights (written into the weights every ``ema_overwrite_frequency`` steps and at the end of
            ``fit``).
        loss_scale_factor: ``scale_loss`` multiplies the loss by it and the gradients are divided by it.
        gradient_accumulation_steps: update every that many steps with the mean of the gradients.
        name: the optimizer's name.

    Example:
        >>> opt = ts.keras.optimizers.SGD(learning_rate=0.1, gradient_accumulation_steps=2)
        >>> w = ts.nn.Parameter(ts.ones(1))
        >>> opt.apply([ts.ones(1)], [w]); w.tolist()
        [1.0]
        >>> opt.apply([ts.ones(1) * 3], [w]); [round(v, 4) for v in w.tolist()]
        [0.8]
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
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs,
    ) -> None:
        who = type(self).__name__
        kwargs.pop("jit_compile", None)
        kwargs.pop("decay", None)
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ValueError(f"{who}: argument(s) not recognized: {kwargs}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{who}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        for arg, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"{who}: {arg} must be positive, got {value!r}")
        if weight_decay is not None and weight_decay < 0:
            raise ValueError(f"{who}: weight_decay must be >= 0, got {weight_decay!r}")
        if gradient_accumulation_steps and (
            not isinstance(gradient_accumulation_steps, int) or gradient_accumulation_steps < 2
        ):
            raise ValueError(
                f"{who}: `gradient_accumulation_steps` must be an integer >= 2. Received: "
                f"gradient_accumulation_steps={gradient_accumulation_steps!r}"
            )
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(
                    f"{who}: `ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}"
                )
            if ema_overwrite_frequency and (
                not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1
            ):
                raise ValueError(
                    f"{who}: `ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                    f"ema_overwrite_frequency={ema_overwrite_frequency!r}"
                )
        if loss_scale_factor is not None and not loss_scale_factor > 0:
            raise ValueError(f"{who}: loss_scale_factor must be positive, got {loss_scale_factor!r}")
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
        self.use_ema = bool(use_ema)
        self.ema_momentum = float(ema_momentum)
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.name = name or _default_name(type(self).__name__)
        self.iterations = 0
        self.optimizer: _optim.Optimizer | None = None
        self._params: list[Tensor] = []
        self._pending_state: dict | None = None
        self._model_variables_moving_average: list[Tensor] = []
        self._accumulated_gradients: list[Tensor] = []
        self._exclude_ids: set[int] = set()
        self._exclude_names: list[str] = []

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

    @property
    def variables(self) -> list[Tensor]:
        """The optimizer's state tensors (slots, EMA, accumulators)."""
        out = []
        if self.optimizer is not None:
            for p in self._params:
                out.extend(v for v in self.optimizer.state.get(p, {}).values() if isinstance(v, Tensor))
        return out + self._model_variables_moving_average + self._accumulated_gradients

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
        with no_grad():
            if self.use_ema:
                self._model_variables_moving_average = [p.detach().clone() for p in params]
            if self.gradient_accumulation_steps:
                self._accumulated_gradients = [zeros_like(p.detach()) for p in params]
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    def _make(self, params, lr) -> _optim.Optimizer:  # pragma: no cover - abstract
        raise NotImplementedError

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exclude weights (given as objects, or by substrings of their names) from the weight decay.

        Example:
            >>> ts.keras.optimizers.AdamW().exclude_from_weight_decay(var_names=["bias"])
        """
        if self.built:
            raise ValueError(
                f"{type(self).__name__}.exclude_from_weight_decay: call it before the optimizer is built"
            )
        self._exclude_ids |= {id(v) for v in var_list or ()}
        self._exclude_names += list(var_names or ())

    def _use_weight_decay(self, p) -> bool:
        if id(p) in self._exclude_ids:
            return False
        name = getattr(p, "path", None) or getattr(p, "name", None) or ""
        return not any(s in name for s in self._exclude_names)

    # -- updates --------------------------------------------------------------------------------------------
    def scale_loss(self, loss):
        """The loss multiplied by ``loss_scale_factor`` (unchanged without one), before ``backward``.

        Example:
            >>> float(ts.keras.optimizers.SGD(loss_scale_factor=4.0).scale_loss(ts.tensor(0.5)))
            2.0
        """
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    def _clipped(self, grads: list[Tensor]) -> list[Tensor]:
        # Keras's clip_by_norm / clip_by_global_norm, as ops (no host read of the norms).
        if self.clipnorm:
            c = float(self.clipnorm)
            return [g * (c / g.pow(2).sum().sqrt().clamp(min=c)) for g in grads]
        if self.global_clipnorm:
            c = float(self.global_clipnorm)
            total = grads[0].pow(2).sum()
            for g in grads[1:]:
                total = total + g.pow(2).sum()
            scale = c / total.sqrt().clamp(min=c)
            return [g * scale for g in grads]
        if self.clipvalue:
            v = float(self.clipvalue)
            return [g.clamp(-v, v) for g in grads]
        return grads

    def step(self) -> None:
        """Apply one update from the weights' ``.grad`` (built beforehand)."""
        if self.optimizer is None:
            raise RuntimeError(f"{type(self).__name__}.step: the optimizer is not built; call build(params)")
        pairs = [(p.grad, p) for p in self._params if p.grad is not None]
        with no_grad():
            self._apply_pairs(pairs)

    def _apply_pairs(self, pairs) -> None:
        if not pairs:
            self.iterations += 1
            return
        grads = [g.detach() for g, _ in pairs]
        variables = [v for _, v in pairs]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        if self._schedule is not None:
            lr = float(self._schedule(self.iterations))
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        update = True
        if self.gradient_accumulation_steps:
            n = self.gradient_accumulation_steps
            acc = [self._accumulated_gradients[self._index(v)] for v in variables]
            if (self.iterations + 1) % n == 0:
                grads = [(g + a) / n for g, a in zip(grads, acc)]
                for a in acc:
                    a.zero_()
            else:
                for g, a in zip(grads, acc):
                    a.add_(g)
                update = False
        if update:
            grads = self._clipped(grads)
            if self.weight_decay and not self._decay_in_optimizer:
                lr = self.learning_rate
                for v in variables:
                    if self._use_weight_decay(v):
                        v.mul_(1.0 - lr * self.weight_decay)
            self._update(grads, variables)
        if self.use_ema:
            self._update_ema()
        for v in variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.copy_(constraint(v))
        self.iterations += 1

    def _update(self, grads: list[Tensor], variables: list[Tensor]) -> None:
        """The update rule for the (processed) gradients: by default the ``ts.optim`` optimizer's step."""
        own = {id(p) for p in self._params}
        saved = [(p, p.grad) for p in self._params]
        try:
            for p in self._params:
                p.grad = None
            for g, v in zip(grads, variables):
                if id(v) in own:
                    v.grad = g
            self.optimizer.step()
        finally:
            for p, g in saved:
                p.grad = g

    def _index(self, v) -> int:
        for i, p in enumerate(self._params):
            if p is v:
                return i
        raise ValueError(
            f"{type(self).__name__}: unknown variable of shape {tuple(v.shape)}: the optimizer was built for "
            f"{len(self._params)} other weights"
        )

    def _update_ema(self) -> None:
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        for p, avg in zip(self._params, self._model_variables_moving_average):
            avg.mul_(momentum).add_(p.detach() * (1.0 - momentum))
        freq = self.ema_overwrite_frequency
        if freq and (self.iterations + 1) % freq == 0:
            self._overwrite_model_variables_with_average_value(self._params)

    def _overwrite_model_variables_with_average_value(self, var_list) -> None:
        var_list = list(var_list)
        if len(var_list) != len(self._model_variables_moving_average):
            raise ValueError(
                f"{type(self).__name__}: the length of model variables ({len(var_list)}) to override does not "
                f"match the length of model variables stored in the optimizer "
                f"({len(self._model_variables_moving_average)}). Please check if the optimizer was called on "
                "your model."
            )
        with no_grad():
            for v, avg in zip(var_list, self._model_variables_moving_average):
                v.copy_(avg)

    def finalize_variable_values(self, var_list) -> None:
        """End of training: with ``use_ema``, write the moving averages into the weights (``fit`` calls it).

        Example:
            >>> ts.keras.optimizers.SGD().finalize_variable_values([])
        """
        if self.use_ema and self._model_variables_moving_average:
            self._overwrite_model_variables_with_average_value(var_list)

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=set_to_none)

    def apply(self, grads, trainable_variables=None) -> None:
        """Keras 3's ``apply(grads, trainable_variables=None)``: update the weights from the gradients
        (paired by position; ``None`` gradients are skipped). Without ``trainable_variables``, the weights
        the optimizer was built for.

        Example:
            >>> w = ts.nn.Parameter(ts.ones(2))
            >>> opt = ts.keras.optimizers.SGD(learning_rate=0.5)
            >>> opt.apply([ts.ones(2)], [w]); w.tolist()
            [0.5, 0.5]
        """
        grads = list(grads)
        who = f"{type(self).__name__}.apply"
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{who}: when passing `grads` without `variables`, the optimizer must already be built on "
                    "a list of variables. Call `optimizer.build(trainable_variables)` first."
                )
            variables = list(self._params)
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"{who}: got {len(grads)} gradients for {len(variables)} variables; they must match one-to-one"
            )
        known = {id(p) for p in self._params}
        for v in variables:
            if id(v) not in known:
                raise ValueError(
                    f"{who}: unknown variable of shape {tuple(v.shape)}: this optimizer was built for "
                    f"{len(self._params)} other weights; create a separate optimizer for it"
                )
        pairs = []
        for g, v in zip(grads, variables):
            if g is None:
                continue
            if not isinstance(g, Tensor):
                g = as_tensor(np.asarray(g, dtype=v.dtype.np if hasattr(v.dtype, "np") else None))
            if tuple(g.shape) != tuple(v.shape):
                raise ValueError(
                    f"{who}: a gradient of shape {tuple(g.shape)} was given for a variable of shape "
                    f"{tuple(v.shape)}"
                )
            pairs.append((g, v))
        if not pairs and variables:
            warnings.warn(f"{who}: gradients do not exist for any variable", UserWarning, stacklevel=2)
        with no_grad():
            self._apply_pairs(pairs)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor, Tensor]]) -> None:
        """Keras's ``apply_gradients([(grad, weight), ...])``: ``apply`` with the pairs unzipped.

        Example:
            >>> w = ts.nn.Parameter(ts.ones(2))
            >>> opt = ts.keras.optimizers.SGD(learning_rate=0.5)
            >>> opt.apply_gradients([(ts.ones(2), w)])
            >>> w
            Parameter containing:
            tensor([0.5000, 0.5000], requires_grad=True)
        """
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    # -- state ----------------------------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        extra = {}
        if self._model_variables_moving_average:
            extra["ema"] = [np.array(a.numpy(), copy=True) for a in self._model_variables_moving_average]
        if self._accumulated_gradients:
            extra["accumulated"] = [np.array(a.numpy(), copy=True) for a in self._accumulated_gradients]
        return extra

    def _load_extra_state(self, sd: dict[str, Any]) -> None:
        with no_grad():
            for key, tensors in (
                ("ema", self._model_variables_moving_average),
                ("accumulated", self._accumulated_gradients),
            ):
                for t, a in zip(tensors, sd.get(key) or ()):
                    t.copy_(as_tensor(np.asarray(a)))

    def state_dict(self) -> dict[str, Any]:
        """The ``ts.optim`` state dict (plus ``"iterations"`` and any EMA / accumulator state); before the
        build, the state waiting to be applied (or an empty state)."""
        if self.optimizer is None:
            if self._pending_state is not None:
                return self._pending_state
            return {"state": {}, "param_groups": [], "iterations": self.iterations}
        sd = self.optimizer.state_dict()
        sd["iterations"] = self.iterations
        sd.update(self._extra_state())
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
        extra = {k: sd.pop(k) for k in list(sd) if k not in ("state", "param_groups")}
        self._load_extra_state(extra)
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
                "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps,
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
    """Adam with decoupled weight decay: Keras's ``AdamW(learning_rate=0.001, weight_decay=0.004, ...)``: the
    base class's ``w -= lr * weight_decay * w`` (honouring ``exclude_from_weight_decay``), then Adam's step.

    Example:
        >>> ts.keras.optimizers.AdamW().weight_decay
        0.004
    """

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


# Keras's other optimizers (optimizers_more builds on the base class above).
from . import optimizers_more as _more  # noqa: E402
from .optimizers_more import *  # noqa: E402, F403

__all__ += list(_more.__all__)
_CLASSES.update({name: getattr(_more, name) for name in _more.__all__})
_LOWER.update({name.lower(): getattr(_more, name) for name in _more.__all__})
