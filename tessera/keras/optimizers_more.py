"""Keras 3 optimizers whose update rules Tessera's ``ts.optim`` does not have in Keras's exact form:
``Adadelta``, ``Adamax``, ``Nadam``, ``Ftrl``, ``Lamb``, ``Lion``, ``Adafactor``, plus the dynamic
``LossScaleOptimizer`` wrapper. Each rule is Keras's update written in Tessera tensor ops on per-weight
slot tensors (in-place, under ``no_grad``), so updates go through the dispatcher like every other state
change; the learning rate is read from a hyperparameter tensor that follows schedules.

Example:
    >>> w = ts.nn.Parameter(ts.ones(2))
    >>> opt = ts.keras.optimizers.Lion(learning_rate=0.1)
    >>> opt.apply([ts.tensor([1.0, -1.0])], [w]); w.tolist()
    [0.8999999761581543, 1.100000023841858]
"""

from __future__ import annotations

import math
import re
from collections.abc import MutableMapping
from typing import Any

from .. import ops as _ops
from .. import optim as _optim
from ..core.creation import full_like, zeros_like
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ..optim.optimizer import _new_step
from .optimizers import Optimizer, get

__all__ = [
    "Adadelta",
    "Adamax",
    "Nadam",
    "Ftrl",
    "Lamb",
    "Lion",
    "Adafactor",
    "Muon",
    "LossScaleOptimizer",
    "OptimizerMap",
    "MultiOptimizer",
]


def _pow(base: float, t: Tensor) -> Tensor:
    """``base ** t`` for a step tensor ``t >= 1`` (``base`` may be 0)."""
    if base == 0.0:
        return t * 0.0
    return (t * math.log(base)).exp()


class _RuleOptimizer(_optim.Optimizer):
    """A ``ts.optim`` optimizer running its Keras owner's ``_slots``/``_rule`` for every weight."""

    def __init__(self, params, lr: float, owner: _KerasRule) -> None:
        super().__init__(params, {"lr": lr})
        self._owner = owner

    def _init_state(self, p: Tensor, group: dict[str, Any], state: dict) -> None:
        if not state:
            state["step"] = _new_step()
            state.update(self._owner._slots(p))

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                (lr,) = self._hyper(group, "lr")
                for p, g, state in self._params_with_grad(group):
                    state["step"].add_(1.0)
                    self._owner._rule(p, g.to(p.dtype), state, lr.to(p.dtype), state["step"].to(p.dtype))
        return loss


class _KerasRule(Optimizer):
    """Base of the optimizers defined here: ``_slots(p)`` creates a weight's state tensors, ``_rule(p, g,
    state, lr, t)`` updates it in place (``t``: the 1-based step)."""

    def _make(self, params, lr):
        return _RuleOptimizer(params, lr, self)

    def _slots(self, p: Tensor) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rule(self, p, g, state, lr, t) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _check_unit(who: str, **values) -> None:
    for name, v in values.items():
        if not 0.0 <= v < 1.0:
            raise ValueError(f"{who}: {name} must be in [0, 1), got {v!r}")


class Adadelta(_KerasRule):
    """Adadelta (Keras: ``learning_rate=0.001, rho=0.95, epsilon=1e-7``).

    Example:
        >>> ts.keras.optimizers.Adadelta().rho
        0.95
    """

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs) -> None:
        _check_unit("Adadelta", rho=rho)
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _slots(self, p):
        return {"accumulated_grad": zeros_like(p), "accumulated_delta_var": zeros_like(p)}

    def _rule(self, p, g, state, lr, t):
        rho, eps = self.rho, self.epsilon
        acc, acc_delta = state["accumulated_grad"], state["accumulated_delta_var"]
        acc.mul_(rho).add_(g.square() * (1 - rho))
        delta = -((acc_delta + eps).sqrt() * g) / (acc + eps).sqrt()
        acc_delta.mul_(rho).add_(delta.square() * (1 - rho))
        p.add_(delta * lr)

    def _hparams(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adamax(_KerasRule):
    """Adamax, Adam with the infinity norm (Keras: ``learning_rate=0.001, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7``).

    Example:
        >>> ts.keras.optimizers.Adamax(beta_2=0.99).beta_2
        0.99
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs) -> None:
        _check_unit("Adamax", beta_1=beta_1, beta_2=beta_2)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _slots(self, p):
        return {"momentum": zeros_like(p), "norm": zeros_like(p)}

    def _rule(self, p, g, state, lr, t):
        m, u = state["momentum"], state["norm"]
        m.add_((g - m) * (1 - self.beta_1))
        u.copy_((u * self.beta_2).maximum(g.abs()))
        p.sub_(lr * m / ((1 - _pow(self.beta_1, t)) * (u + self.epsilon)))

    def _hparams(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(_KerasRule):
    """Nadam, Adam with Nesterov momentum and Keras's momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96 ** t)``.

    Example:
        >>> ts.keras.optimizers.Nadam().beta_1
        0.9
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs) -> None:
        _check_unit("Nadam", beta_1=beta_1, beta_2=beta_2)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _slots(self, p):
        return {"momentum": zeros_like(p), "velocity": zeros_like(p), "u_product": full_like(p.sum(), 1.0)}

    def _rule(self, p, g, state, lr, t):
        b1, b2 = self.beta_1, self.beta_2
        m, v, u_prod = state["momentum"], state["velocity"], state["u_product"]
        u_t = (1.0 - 0.5 * _pow(0.96, t)) * b1
        u_next = (1.0 - 0.5 * _pow(0.96, t + 1.0)) * b1
        u_prod.mul_(u_t)
        m.add_((g - m) * (1 - b1))
        v.add_((g.square() - v) * (1 - b2))
        m_hat = u_next * m / (1 - u_prod * u_next) + (1 - u_t) * g / (1 - u_prod)
        v_hat = v / (1 - _pow(b2, t))
        p.sub_(m_hat * lr / (v_hat.sqrt() + self.epsilon))

    def _hparams(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Ftrl(_KerasRule):
    """FTRL-proximal (Keras's arguments: ``learning_rate_power=-0.5``, ``initial_accumulator_value=0.1``,
    L1/L2/L2-shrinkage strengths and ``beta``).

    Example:
        >>> ts.keras.optimizers.Ftrl(l1_regularization_strength=0.01).l1_regularization_strength
        0.01
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs) -> None:  # fmt: skip
        who = "Ftrl"
        if initial_accumulator_value < 0.0:
            raise ValueError(
                f"{who}: `initial_accumulator_value` must be >= 0, got {initial_accumulator_value}"
            )
        if learning_rate_power > 0.0:
            raise ValueError(f"{who}: `learning_rate_power` must be <= 0, got {learning_rate_power}")
        for name, v in (("l1_regularization_strength", l1_regularization_strength),
                        ("l2_regularization_strength", l2_regularization_strength),
                        ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):  # fmt: skip
            if v < 0.0:
                raise ValueError(f"{who}: `{name}` must be >= 0, got {v}")
        super().__init__(learning_rate, **kwargs)
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _slots(self, p):
        return {"accumulator": full_like(p, self.initial_accumulator_value), "linear": zeros_like(p)}

    def _rule(self, p, g, state, lr, t):
        accum, linear = state["accumulator"], state["linear"]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        grad = g + p * (2 * self.l2_shrinkage_regularization_strength)
        new_accum = accum + g.square()
        linear.add_(grad - (new_accum.pow(power) - accum.pow(power)) / lr * p)
        quadratic = new_accum.pow(power) / lr + l2 * 2
        l1 = self.l1_regularization_strength
        p.copy_((linear.clamp(-l1, l1) - linear) / quadratic)
        accum.copy_(new_accum)

    def _hparams(self):
        return {k: getattr(self, k) for k in ("learning_rate_power", "initial_accumulator_value",
                "l1_regularization_strength", "l2_regularization_strength",
                "l2_shrinkage_regularization_strength", "beta")}  # fmt: skip


class Lamb(_KerasRule):
    """LAMB: Adam's step rescaled per weight by ``||w|| / ||update||`` (layer-wise trust ratio).

    Example:
        >>> ts.keras.optimizers.Lamb(learning_rate=0.01).learning_rate
        0.01
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs) -> None:
        _check_unit("Lamb", beta_1=beta_1, beta_2=beta_2)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _slots(self, p):
        return {"momentum": zeros_like(p), "velocity": zeros_like(p)}

    def _rule(self, p, g, state, lr, t):
        m, v = state["momentum"], state["velocity"]
        m.add_((g - m) * (1 - self.beta_1))
        v.add_((g.square() - v) * (1 - self.beta_2))
        update = (m / (1.0 - _pow(self.beta_1, t))) / (
            (v / (1.0 - _pow(self.beta_2, t))).sqrt() + self.epsilon
        )
        w_norm = p.square().sum().sqrt()
        g_norm = update.square().sum().sqrt()
        ratio = _ops.where((w_norm > 0) & (g_norm > 0), w_norm / g_norm.clamp(min=1e-38), 1.0)
        p.sub_(ratio * lr * update)

    def _hparams(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Lion(_KerasRule):
    """Lion: ``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then ``m = beta_2 * m + (1 - beta_2) * g``.

    Example:
        >>> ts.keras.optimizers.Lion().beta_2
        0.99
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs) -> None:
        if not 0.0 < beta_1 <= 1.0:
            raise ValueError(f"Lion: beta_1 must be in (0, 1], got {beta_1!r}")
        if not 0.0 <= beta_2 <= 1.0:
            raise ValueError(f"Lion: beta_2 must be in [0, 1], got {beta_2!r}")
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def _slots(self, p):
        return {"momentum": zeros_like(p)}

    def _rule(self, p, g, state, lr, t):
        m = state["momentum"]
        p.sub_(lr * (m * self.beta_1 + g * (1.0 - self.beta_1)).sign())
        m.copy_(m * self.beta_2 + g * (1.0 - self.beta_2))

    def _hparams(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}


class Adafactor(_KerasRule):
    """Adafactor: factored second moments (row and column means for matrices) and update clipping
    (Keras: ``beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0, relative_step=True``).

    Example:
        >>> ts.keras.optimizers.Adafactor().clip_threshold
        1.0
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, **kwargs) -> None:  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = (
            float(beta_2_decay),
            float(epsilon_1),
            float(epsilon_2),
        )
        self.clip_threshold, self.relative_step = float(clip_threshold), bool(relative_step)

    def _slots(self, p):
        slots = {"velocity": zeros_like(p)}
        if p.ndim >= 2:
            slots["r"] = zeros_like(p.sum(-1))
            slots["c"] = zeros_like(p.sum(-2))
        return slots

    @staticmethod
    def _rms(x):
        return x.square().mean().sqrt()

    def _rule(self, p, g, state, lr, t):
        inv_sqrt_t = t.rsqrt()
        if self._schedule is None and self.relative_step:
            lr = lr.minimum(inv_sqrt_t)
        rho = lr.minimum(inv_sqrt_t)
        alpha = self._rms(p).clamp(min=self.epsilon_2) * rho
        g2 = g.square() + self.epsilon_1
        beta_2 = 1.0 - (t.log() * self.beta_2_decay).exp()
        v = state["velocity"]
        if p.ndim >= 2:
            r, c = state["r"], state["c"]
            r.copy_(beta_2 * r + (1.0 - beta_2) * g2.mean(-1))
            c.copy_(beta_2 * c + (1.0 - beta_2) * g2.mean(-2))
            v.copy_((r / r.mean(-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        else:
            v.copy_(beta_2 * v + (1.0 - beta_2) * g2)
        u = g / v.sqrt()
        u_hat = u / (self._rms(u) / self.clip_threshold).clamp(min=1.0)
        p.sub_(alpha * u_hat)

    def _hparams(self):
        return {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}  # fmt: skip


class Muon(_KerasRule):
    """Muon: momentum orthogonalized by a Newton-Schulz iteration for 2-D weights; AdamW for the others
    (1-D weights, embeddings with ``exclude_embeddings``, and paths matching ``exclude_layers``), as Keras.

    Example:
        >>> ts.keras.optimizers.Muon(learning_rate=0.02).ns_steps
        5
    """

    _decay_in_optimizer = True  # two decay rates: adam_weight_decay for the AdamW weights

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
                 epsilon=1e-7, weight_decay=0.004, exclude_layers=None, exclude_embeddings=True, muon_a=3.4445,
                 muon_b=-4.775, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs) -> None:  # fmt: skip
        _check_unit("Muon", adam_beta_1=adam_beta_1, adam_beta_2=adam_beta_2)
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1, self.adam_beta_2, self.epsilon = (
            float(adam_beta_1),
            float(adam_beta_2),
            float(epsilon),
        )
        self.adam_weight_decay = adam_weight_decay
        self.exclude_layers, self.exclude_embeddings = list(exclude_layers or []), bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, float(momentum), int(ns_steps)
        self.nesterov, self.rms_rate = bool(nesterov), rms_rate

    def _should_use_adamw(self, p) -> bool:
        if p.ndim != 2:
            return True
        path = getattr(p, "path", "") or ""
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(k, path) for k in self.exclude_layers)

    def _slots(self, p):
        slots = {"momentum": zeros_like(p)}
        if self._should_use_adamw(p):
            slots["velocity"] = zeros_like(p)
        return slots

    def _orthogonalize(self, x: Tensor) -> Tensor:
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = x.transpose(-2, -1)
        x = x / (x.square().sum((-2, -1), keepdim=True).sqrt() + 1e-7)
        for _ in range(self.ns_steps):
            gram = x @ x.transpose(-2, -1)
            x = a * x + (b * gram + c * gram @ gram) @ x
        return x.transpose(-2, -1) if tall else x

    def _rule(self, p, g, state, lr, t):
        m = state["momentum"]
        if "velocity" in state:
            decay = self.adam_weight_decay
            if decay and self._use_weight_decay(p):
                p.mul_(1.0 - lr * decay)
            v = state["velocity"]
            alpha = (
                lr
                * self.adam_lr_ratio
                * (1 - _pow(self.adam_beta_2, t)).sqrt()
                / (1 - _pow(self.adam_beta_1, t))
            )
            m.add_((g - m) * (1 - self.adam_beta_1))
            v.add_((g.square() - v) * (1 - self.adam_beta_2))
            p.sub_(m * alpha / (v.sqrt() + self.epsilon))
            return
        if self.weight_decay and self._use_weight_decay(p):
            p.mul_(1.0 - lr * self.weight_decay)
        m.add_(g + m * (self.momentum - 1))
        direction = g + self.momentum * m if self.nesterov else m
        update = lr * self._orthogonalize(direction)
        if self.rms_rate is not None:
            update = update * (math.sqrt(max(p.shape[0], p.shape[1])) * self.rms_rate)
        p.sub_(update)

    def _hparams(self):
        keys = ("adam_beta_1", "adam_beta_2", "epsilon", "exclude_layers", "muon_a", "muon_b", "muon_c",
                "adam_lr_ratio", "momentum", "ns_steps", "nesterov", "exclude_embeddings", "adam_weight_decay",
                "rms_rate")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around ``inner_optimizer`` (for low-precision training): ``scale_loss``
    multiplies the loss by the current scale; ``apply`` divides the gradients by it and, when they are all
    finite, updates with the inner optimizer (doubling the scale after ``dynamic_growth_steps`` clean
    steps); otherwise it skips the update and halves the scale.

    Example:
        >>> opt = ts.keras.optimizers.LossScaleOptimizer(ts.keras.optimizers.SGD(0.1), initial_scale=8.0)
        >>> float(opt.scale_loss(ts.tensor(1.0)))
        8.0
    """

    def __init__(self, inner_optimizer, initial_scale: float = 2.0**15, dynamic_growth_steps: int = 2000,
                 name=None, **kwargs) -> None:  # fmt: skip
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set `loss_scale_factor` "
                "directly on the `inner_optimizer`."
            )
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        inner = get(inner_optimizer)
        if (
            isinstance(dynamic_growth_steps, bool)
            or not isinstance(dynamic_growth_steps, int)
            or dynamic_growth_steps < 1
        ):
            raise ValueError(
                f"LossScaleOptimizer: dynamic_growth_steps must be a positive int, got {dynamic_growth_steps!r}"
            )
        super().__init__(0.0, name=name)
        self.inner_optimizer = inner
        inner.loss_scale_factor = None
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = dynamic_growth_steps
        self.dynamic_scale = self.initial_scale
        self.step_counter = 0

    # the learning rate and the step count are the inner optimizer's
    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if hasattr(self, "inner_optimizer"):
            self.inner_optimizer.learning_rate = value

    @property
    def iterations(self) -> int:
        inner = self.__dict__.get("inner_optimizer")
        return inner.iterations if inner is not None else 0

    @iterations.setter
    def iterations(self, value) -> None:
        pass  # the inner optimizer counts

    @property
    def built(self) -> bool:
        return self.inner_optimizer.built

    @property
    def variables(self) -> list:
        return self.inner_optimizer.variables

    def build(self, var_list) -> None:
        self.inner_optimizer.build(var_list)
        self._params = list(self.inner_optimizer._params)

    def scale_loss(self, loss):
        return loss * self.dynamic_scale

    def apply(self, grads, trainable_variables=None) -> None:
        grads = list(grads)
        variables = list(trainable_variables) if trainable_variables is not None else None
        if not self.built:
            self.build(variables or [])
        present = [g for g in grads if g is not None]
        finite = all(bool(g.isfinite().all()) for g in present)  # Keras's cond on the host
        if finite:
            scale = self.dynamic_scale
            self.inner_optimizer.apply([None if g is None else g / scale for g in grads], variables)
            if self.step_counter == self.dynamic_growth_steps - 1:
                self.step_counter = 0
                self.dynamic_scale *= 2.0
            else:
                self.step_counter += 1
        else:
            self.step_counter = 0
            self.dynamic_scale *= 0.5

    def step(self) -> None:
        params = self.inner_optimizer._params
        self.apply([p.grad for p in params], params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.inner_optimizer.zero_grad(set_to_none)

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def state_dict(self) -> dict[str, Any]:
        sd = dict(self.inner_optimizer.state_dict())
        sd["loss_scale"] = {"dynamic_scale": self.dynamic_scale, "step_counter": self.step_counter}
        return sd

    def load_state_dict(self, state_dict) -> None:
        sd = dict(state_dict)
        scale = sd.pop("loss_scale", None)
        if scale is not None:
            self.dynamic_scale = float(scale["dynamic_scale"])
            self.step_counter = int(scale["step_counter"])
        self.inner_optimizer.load_state_dict(sd)

    def get_config(self) -> dict[str, Any]:
        from .optimizers import serialize

        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}  # fmt: skip

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .optimizers import deserialize

        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)


class OptimizerMap(MutableMapping):
    """Which optimizer updates which weight: keys are weight paths or regular expressions matched in full
    against ``variable.path`` (``"dense/kernel"``), unmatched weights go to ``default_optimizer``.

    Example:
        >>> m = OptimizerMap(ts.keras.optimizers.SGD(), {"encoder/.*": ts.keras.optimizers.Adam()})
        >>> type(m["encoder/kernel"]).__name__, type(m["head/bias"]).__name__
        ('Adam', 'SGD')
    """

    def __init__(self, default_optimizer, optimizer_map: dict | None = None) -> None:
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                f"OptimizerMap: default_optimizer must be a Keras Optimizer instance. Received: {default_optimizer!r}"
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: optimizer_map must be a dictionary. Received: {optimizer_map!r}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict = {}
        for key, opt in (optimizer_map or {}).items():
            self[key] = opt

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key: str):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matching) > 1:
            raise ValueError(
                f"OptimizerMap: multiple optimizers assigned to variable {key!r}: patterns {matching}"
            )
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: key must be a string. Received: {key!r}")
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: {key!r} already exists with value {self._optimizer_map[key]!r}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(
                f"OptimizerMap: optimizer must be a Keras Optimizer instance. Received: {optimizer!r}"
            )
        if isinstance(optimizer, (LossScaleOptimizer, MultiOptimizer)):
            raise ValueError(f"OptimizerMap: optimizer cannot be a {type(optimizer).__name__}")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[getattr(variable, "path", None) or ""]

    def get_config(self) -> dict[str, Any]:
        from .optimizers import serialize

        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()}}  # fmt: skip

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .optimizers import deserialize

        default = deserialize(config["default_optimizer"], custom_objects)
        mapping = {k: deserialize(v, custom_objects) for k, v in (config.get("optimizer_map") or {}).items()}
        return cls(default, mapping)


class MultiOptimizer(Optimizer):
    """Different optimizers for different weights: ``optimizer_map`` is an ``OptimizerMap`` or a callable
    ``variable -> optimizer``. ``apply`` hands each optimizer its own weights' gradients.

    Example:
        >>> opt = MultiOptimizer(OptimizerMap(ts.keras.optimizers.SGD(0.1), {"a/.*": ts.keras.optimizers.Adam()}))
        >>> len(opt.optimizers)
        2
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None) -> None:
        if not callable(optimizer_map):
            raise TypeError(
                f"MultiOptimizer: optimizer_map must be an OptimizerMap or a callable, got {optimizer_map!r}"
            )
        super().__init__(0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner: list = []
        for opt in list(getattr(optimizer_map, "values", lambda: [])()) + [
            getattr(optimizer_map, "default_optimizer", None)
        ]:
            if opt is not None and all(opt is not o for o in self._inner):
                self._inner.append(opt)
        self._assignment: dict[int, Any] = {}
        self._built = False

    @property
    def optimizers(self) -> list:
        return list(self._inner)

    @property
    def learning_rate(self):
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on the individual "
            "sub-optimizers instead."
        )

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if "_optimizer_map" in self.__dict__:
            raise AttributeError(
                "Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the individual "
                "sub-optimizers instead."
            )

    @property
    def built(self) -> bool:
        return self.__dict__.get("_built", False)

    @property
    def variables(self) -> list:
        return [v for opt in self._inner for v in opt.variables]

    def build(self, var_list) -> None:
        if self.built:
            return
        groups: dict[int, list] = {}
        for var in var_list:
            opt = self._optimizer_map(var)
            if not isinstance(opt, Optimizer):
                raise ValueError(
                    f"MultiOptimizer: the optimizer for variable {getattr(var, 'path', var)!r} is not an "
                    "Optimizer instance"
                )
            if isinstance(opt, (LossScaleOptimizer, MultiOptimizer)):
                raise ValueError(
                    f"MultiOptimizer: a {type(opt).__name__} cannot be used inside a MultiOptimizer"
                )
            if all(opt is not o for o in self._inner):
                self._inner.append(opt)
            opt.loss_scale_factor = self.loss_scale_factor
            self._assignment[id(var)] = opt
            groups.setdefault(id(opt), []).append(var)
        for opt in self._inner:
            if groups.get(id(opt)):
                opt.build(groups[id(opt)])
        self._params = list(var_list)
        self._built = True

    def apply(self, grads, trainable_variables=None) -> None:
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "MultiOptimizer.apply: when passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` first."
                )
            trainable_variables = self._params
        variables = list(trainable_variables)
        if not self.built:
            self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"MultiOptimizer.apply: got {len(grads)} gradients for {len(variables)} variables"
            )
        parts: dict[int, tuple[Any, list, list]] = {}
        for g, v in zip(grads, variables):
            opt = self._assignment.get(id(v))
            if opt is None:
                raise ValueError(
                    f"MultiOptimizer.apply: variable {getattr(v, 'path', tuple(v.shape))!r} was not in build()"
                )
            entry = parts.setdefault(id(opt), (opt, [], []))
            entry[1].append(g)
            entry[2].append(v)
        for opt, gs, vs in parts.values():
            opt.apply(gs, vs)
        self.iterations += 1

    def step(self) -> None:
        self.apply([p.grad for p in self._params], self._params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self._inner:
            opt.zero_grad(set_to_none)

    def finalize_variable_values(self, var_list) -> None:
        for opt in self._inner:
            mine = [v for v in var_list if self._assignment.get(id(v)) is opt]
            if mine:
                opt.finalize_variable_values(mine)

    def state_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "optimizers": [opt.state_dict() for opt in self._inner]}

    def load_state_dict(self, state_dict) -> None:
        states = state_dict.get("optimizers", [])
        if len(states) != len(self._inner):
            raise ValueError(
                f"MultiOptimizer.load_state_dict: {len(states)} optimizer states for {len(self._inner)} optimizers"
            )
        self.iterations = int(state_dict.get("iterations", self.iterations))
        for opt, sd in zip(self._inner, states):
            opt.load_state_dict(sd)

    def get_config(self) -> dict[str, Any]:
        from .object_registration import serialize_keras_object

        mapping = self._optimizer_map
        if isinstance(mapping, OptimizerMap):
            mapping = {"class_name": "OptimizerMap", "config": mapping.get_config()}
        else:
            mapping = serialize_keras_object(mapping)
        return {"optimizer_map": mapping, "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .object_registration import deserialize_keras_object

        config = dict(config)
        mapping = config.pop("optimizer_map")
        if isinstance(mapping, dict) and mapping.get("class_name") == "OptimizerMap":
            mapping = OptimizerMap.from_config(mapping["config"], custom_objects)
        else:
            mapping = deserialize_keras_object(mapping, custom_objects)
        return cls(mapping, **config)

    def __repr__(self) -> str:
        return f"<keras.optimizers.MultiOptimizer optimizers={[type(o).__name__ for o in self._inner]}>"
