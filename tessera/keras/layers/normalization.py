"""``BatchNormalization`` and ``LayerNormalization`` with Keras semantics, on ``F.batch_norm`` /
``F.layer_norm``."""

from __future__ import annotations

import numbers

from ... import ops
from ...core.tensor import Tensor
from ...nn import functional as F
from ...ops.nn_ops import update_running_stats
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer
from .core import _no_constraint, _ser_init

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axes(layer: str, axis) -> tuple:
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
        raise ValueError(f"{layer}: axis must be an int or a non-empty list of ints, got {axis!r}")
    return tuple(int(a) for a in axes)


def _canon(layer: Layer, axes, ndim: int) -> tuple:
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': axis {a} is out of range for an input of rank {ndim}"
            )
        out.append(a % ndim)
    if 0 in out:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': cannot normalize along the batch axis 0")
    return tuple(out)


class BatchNormalization(Layer):
    """Batch normalization along the feature ``axis`` (default -1, channels last), with Keras's semantics:
    ``moving = moving * momentum + batch_stat * (1 - momentum)`` (momentum 0.99; the batch variance is the
    biased one), ``epsilon`` 1e-3, weights ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``.

    ``call(inputs, training=None)``: training uses and updates batch statistics; None follows the module's
    mode (``model.train()``/``model.eval()``). A layer with ``trainable=False`` always runs in inference mode,
    as in Keras.

    Example:
        >>> bn = ts.keras.layers.BatchNormalization()
        >>> bn(ts.randn(8, 4, 4, 16), training=True).shape
        tessera.Size([8, 4, 4, 16])
    """

    def __init__(
        self,
        axis=-1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _no_constraint(
            "BatchNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint
        )
        self.axis = _axes("BatchNormalization", axis)
        if len(self.axis) != 1:
            raise NotImplementedError("BatchNormalization: only a single feature axis is supported")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive, got {epsilon!r}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        (axis,) = _canon(self, self.axis, ndim)
        c = input_shape[axis]
        if c is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': axis {axis} of the input must be defined, got {input_shape}"
            )
        if self.scale:
            self.add_weight(
                "gamma", (c,), initializer=self.gamma_initializer, regularizer=self.gamma_regularizer
            )
        if self.center:
            self.add_weight(
                "beta", (c,), initializer=self.beta_initializer, regularizer=self.beta_regularizer
            )
        self.add_weight("moving_mean", (c,), initializer=self.moving_mean_initializer, trainable=False)
        self.add_weight(
            "moving_variance", (c,), initializer=self.moving_variance_initializer, trainable=False
        )
        self.input_spec = InputSpec(ndim=ndim, axes={axis: c})

    def call(self, inputs: Tensor, training=None) -> Tensor:
        training = self.training if training is None else bool(training)
        if not self.trainable:
            training = False
        (axis,) = _canon(self, self.axis, inputs.ndim)
        x = inputs if axis == 1 else ops.movedim(inputs, axis, 1)
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if training:
            y = F.batch_norm(x, None, None, gamma, beta, True, 0.0, self.epsilon)
            # Keras's convention: moving = moving * momentum + batch_stat * (1 - momentum), biased variance;
            # the same update op as nn's BatchNorm (factors rounded in the buffers' dtype, as before)
            m = self.moving_mean.dtype.np.type(self.momentum)
            dims = (0,) + tuple(range(2, x.ndim))
            update_running_stats(
                self.moving_mean,
                self.moving_variance,
                x,
                dims,
                self.epsilon,
                float(1 - m),
                keep=float(m),
                unbiased=False,
            )
        else:
            y = F.batch_norm(x, self.moving_mean, self.moving_variance, gamma, beta, False, 0.0, self.epsilon)
        return y if axis == 1 else ops.movedim(y, 1, axis)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis[0],
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _ser_init(self.beta_initializer),
            "gamma_initializer": _ser_init(self.gamma_initializer),
            "moving_mean_initializer": _ser_init(self.moving_mean_initializer),
            "moving_variance_initializer": _ser_init(self.moving_variance_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
        }


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (default -1; an int or a list), then scales by ``gamma`` and
    shifts by ``beta`` (shape: the sizes of those axes). Keras's ``epsilon`` default is 1e-3.

    Example:
        >>> ln = ts.keras.layers.LayerNormalization()
        >>> ln(ts.randn(2, 5, 16)).shape
        tessera.Size([2, 5, 16])
    """

    def __init__(
        self,
        axis=-1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _no_constraint(
            "LayerNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint
        )
        self.axis = _axes("LayerNormalization", axis)
        if epsilon <= 0:
            raise ValueError(f"LayerNormalization: epsilon must be positive, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        axes = _canon(self, self.axis, ndim)
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(
                f"LayerNormalization '{self.name}': the normalized axes {axes} of the input must be defined, "
                f"got {input_shape}"
            )
        if self.scale:
            self.add_weight(
                "gamma", shape, initializer=self.gamma_initializer, regularizer=self.gamma_regularizer
            )
        if self.center:
            self.add_weight(
                "beta", shape, initializer=self.beta_initializer, regularizer=self.beta_regularizer
            )
        self.input_spec = InputSpec(ndim=ndim, axes=dict(zip(axes, shape)))

    def call(self, inputs: Tensor) -> Tensor:
        ndim = inputs.ndim
        axes = _canon(self, self.axis, ndim)
        k = len(axes)
        trailing = tuple(range(ndim - k, ndim))
        x = inputs if axes == trailing else ops.movedim(inputs, axes, trailing)
        shape = tuple(x.shape[ndim - k :])
        y = F.layer_norm(
            x, shape, self.gamma if self.scale else None, self.beta if self.center else None, self.epsilon
        )
        return y if axes == trailing else ops.movedim(y, trailing, axes)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis[0] if len(self.axis) == 1 else list(self.axis),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _ser_init(self.beta_initializer),
            "gamma_initializer": _ser_init(self.gamma_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
        }
