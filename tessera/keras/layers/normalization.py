"""Normalization layers with Keras semantics: ``BatchNormalization`` and ``LayerNormalization`` (on
``F.batch_norm`` / ``F.layer_norm``), ``GroupNormalization``, ``RMSNormalization``, ``UnitNormalization`` and
the ``SpectralNormalization`` wrapper."""

from __future__ import annotations

import numbers

from ... import ops
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ...nn import functional as F
from ...ops.nn_ops import update_running_stats
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer
from .core import _get_constraint, _ser_init
from .wrappers import Wrapper

__all__ = [
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "RMSNormalization",
    "UnitNormalization",
    "SpectralNormalization",
]


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
        synchronized: bool = False,
        renorm: bool = False,
        renorm_clipping=None,
        renorm_momentum: float = 0.99,
        **kwargs,
    ):
        if renorm:
            raise NotImplementedError(
                "BatchNormalization: renorm=True (batch renormalization) is not supported"
            )
        super().__init__(**kwargs)
        # one device: synchronizing the batch statistics across replicas changes nothing
        self.synchronized = bool(synchronized)
        self.renorm, self.renorm_clipping, self.renorm_momentum = (
            False,
            renorm_clipping,
            float(renorm_momentum),
        )
        self.beta_constraint = _get_constraint("BatchNormalization", "beta_constraint", beta_constraint)
        self.gamma_constraint = _get_constraint("BatchNormalization", "gamma_constraint", gamma_constraint)
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
                "gamma",
                (c,),
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center:
            self.add_weight(
                "beta",
                (c,),
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
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
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
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
        # Keras 3 still accepts the deprecated rms_scaling keyword: scale by gamma / sqrt(var + eps), no beta
        self.rms_scaling = bool(kwargs.pop("rms_scaling", False))
        super().__init__(**kwargs)
        self.beta_constraint = _get_constraint("LayerNormalization", "beta_constraint", beta_constraint)
        self.gamma_constraint = _get_constraint("LayerNormalization", "gamma_constraint", gamma_constraint)
        self.axis = tuple(sorted(_axes("LayerNormalization", axis)))  # Keras sorts the axes
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
        if self.scale or self.rms_scaling:
            self.add_weight(
                "gamma",
                shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center and not self.rms_scaling:
            self.add_weight(
                "beta",
                shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
            )
        self.input_spec = InputSpec(ndim=ndim, axes=dict(zip(axes, shape)))

    def call(self, inputs: Tensor) -> Tensor:
        ndim = inputs.ndim
        axes = _canon(self, self.axis, ndim)
        if self.rms_scaling:
            mean = ops.mean(inputs, axes, keepdim=True)
            centered = inputs - mean
            out = inputs * ops.rsqrt(ops.mean(centered * centered, axes, keepdim=True) + self.epsilon)
            return out * self.gamma.reshape([inputs.shape[i] if i in axes else 1 for i in range(ndim)])
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
            # Keras writes the axis as a list once built
            "axis": list(self.axis) if self.built or len(self.axis) > 1 else self.axis[0],
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": _ser_init(self.beta_initializer),
            "gamma_initializer": _ser_init(self.gamma_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
        }


def _check_axes_in_range(layer: Layer, axes, ndim: int) -> tuple:
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': axis {a} is out of bounds for an input of rank {ndim}"
            )
        out.append(a % ndim)
    return tuple(out)


class GroupNormalization(Layer):
    """Group normalization: the ``axis`` channels (default -1) are split in ``groups`` groups (default 32;
    -1 gives one group per channel, i.e. instance normalization) and each sample is normalized over every
    non-batch axis within a group; then per-channel ``gamma``/``beta``. ``epsilon`` 1e-3, as Keras.

    Example:
        >>> gn = ts.keras.layers.GroupNormalization(groups=2)
        >>> gn(ts.randn(4, 5, 6)).shape
        tessera.Size([4, 5, 6])
    """

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
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
        if (
            isinstance(groups, bool)
            or not isinstance(groups, numbers.Integral)
            or (groups <= 0 and groups != -1)
        ):
            raise ValueError(
                "GroupNormalization: received an invalid value for argument `groups`, expected a positive "
                f"integer (or `-1` for instance normalization). Received: groups={groups!r}"
            )
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"GroupNormalization: axis must be an int, got {axis!r}")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.groups, self.axis, self.epsilon = int(groups), int(axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _get_constraint("GroupNormalization", "beta_constraint", beta_constraint)
        self.gamma_constraint = _get_constraint("GroupNormalization", "gamma_constraint", gamma_constraint)

    def build(self, input_shape) -> None:
        (axis,) = _check_axes_in_range(self, (self.axis,), len(input_shape))
        if axis == 0:
            raise ValueError(f"GroupNormalization '{self.name}': cannot normalize along the batch axis 0")
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(
                f"GroupNormalization '{self.name}': axis {self.axis} of input tensor should have a defined "
                f"dimension but the layer received an input with shape {input_shape}."
            )
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': number of groups ({self.groups}) cannot be more than the "
                f"number of channels ({dim})."
            )
        if dim % self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': number of groups ({self.groups}) must be a multiple of the "
                f"number of channels ({dim})."
            )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        if self.scale:
            self.add_weight(
                "gamma",
                (dim,),
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center:
            self.add_weight(
                "beta",
                (dim,),
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
            )

    def call(self, inputs: Tensor) -> Tensor:
        ndim = inputs.ndim
        (axis,) = _check_axes_in_range(self, (self.axis,), ndim)
        shape = tuple(inputs.shape)
        g = self.groups
        grouped_shape = shape[:axis] + (g, shape[axis] // g) + shape[axis + 1 :]
        x = inputs.reshape(grouped_shape)
        # reduce over every axis but the batch and the group axes
        red = tuple(i for i in range(1, ndim + 1) if i != axis)
        mean = ops.mean(x, red, keepdim=True)
        centered = x - mean
        var = ops.mean(centered * centered, red, keepdim=True)
        bshape = [1] * (ndim + 1)
        bshape[axis], bshape[axis + 1] = g, shape[axis] // g
        inv = ops.rsqrt(var + self.epsilon)
        if self.scale:
            inv = inv * self.gamma.reshape(bshape)
        y = x * inv - mean * inv
        if self.center:
            y = y + self.beta.reshape(bshape)
        return y.reshape(shape)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        _check_axes_in_range(self, axes, len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _ser_init(self.beta_initializer),
            "gamma_initializer": _ser_init(self.gamma_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
        }


class RMSNormalization(Layer):
    """Root-mean-square normalization: ``x * rsqrt(mean(x**2, axis) + epsilon) * scale`` with a learned
    ``scale`` over ``axis`` (default -1; an int or a list); Keras's ``epsilon`` default is 1e-6.

    Example:
        >>> ts.keras.layers.RMSNormalization()(ts.ones(2, 4)).shape
        tessera.Size([2, 4])
    """

    def __init__(self, axis=-1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes("RMSNormalization", axis) if isinstance(axis, (list, tuple)) else axis
        if not isinstance(self.axis, tuple) and (
            isinstance(axis, bool) or not isinstance(axis, numbers.Integral)
        ):
            raise ValueError(f"RMSNormalization: axis must be an int or a list of ints, got {axis!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or epsilon < 0:
            raise ValueError(f"RMSNormalization: epsilon must be a non-negative number, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def _axes_list(self) -> list:
        return sorted(self.axis) if isinstance(self.axis, tuple) else [self.axis]

    def build(self, input_shape) -> None:
        axes = _check_axes_in_range(self, self._axes_list(), len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(
                f"RMSNormalization '{self.name}': the normalized axes of the input must be defined, got "
                f"{input_shape}"
            )
        self.add_weight("scale", shape, initializer="ones")

    def call(self, x: Tensor) -> Tensor:
        axes = _check_axes_in_range(self, self._axes_list(), x.ndim)
        rrms = ops.rsqrt(ops.mean(x * x, axes, keepdim=True) + self.epsilon)
        # the scale spans the normalized axes: lay it out along them, with ones elsewhere
        shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
        return x * rrms * self.scale.reshape(shape)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        _check_axes_in_range(self, axes, len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        if self.built and not isinstance(axis, list):
            axis = [axis]  # Keras writes the axis as a list once built
        return {**super().get_config(), "axis": axis, "epsilon": self.epsilon}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along ``axis`` (default -1; an int or a list):
    ``x * min(rsqrt(sum(x**2)), 1e12)``.

    Example:
        >>> ts.keras.layers.UnitNormalization()(ts.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(_axes("UnitNormalization", axis))
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(
                f"UnitNormalization: invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                f"Received: axis={axis!r}"
            )
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = _check_axes_in_range(self, axes, inputs.ndim)
        inv = ops.rsqrt(ops.sum(inputs * inputs, axes, keepdim=True))
        return inputs * ops.clamp(inv, None, 1e12)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        _check_axes_in_range(self, axes, len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(v: Tensor) -> Tensor:
    return v * ops.clamp(ops.rsqrt(ops.sum(v * v)), None, 1e12)


class SpectralNormalization(Wrapper):
    """Wraps a layer with a ``kernel`` (or ``embeddings``) and, in training, divides that weight by its
    largest singular value, estimated by ``power_iterations`` steps of the power method on the kept vector
    ``vector_u`` (shape (1, units), non-trainable), as Keras does: the normalized kernel is written back
    into the wrapped layer's weight, then the layer runs.

    Example:
        >>> sn = ts.keras.layers.SpectralNormalization(ts.keras.layers.Dense(3))
        >>> sn(ts.randn(2, 4), training=True).shape
        tessera.Size([2, 3])
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs):
        super().__init__(layer, **kwargs)
        if (
            isinstance(power_iterations, bool)
            or not isinstance(power_iterations, numbers.Integral)
            or (power_iterations <= 0)
        ):
            raise ValueError(
                "SpectralNormalization: `power_iterations` should be greater than zero. Received: "
                f"`power_iterations={power_iterations!r}`"
            )
        self.power_iterations = int(power_iterations)

    def _kernel(self) -> Tensor:
        for name in ("kernel", "embeddings"):
            w = getattr(self.layer, name, None)
            if isinstance(w, Tensor):
                return w
        raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = self._kernel()
        self.add_weight(
            "vector_u",
            (1, kernel.shape[-1]),
            initializer=_initializers.TruncatedNormal(stddev=0.02),
            trainable=False,
        )

    @property
    def weights(self) -> list:
        """Keras's order: the wrapped kernel, ``vector_u``, then the wrapped layer's other weights."""
        ws = super().weights
        if not self.built:
            return ws
        kernel = self._kernel()
        return [kernel] + [w for w in ws if w is not kernel]

    def normalized_weights(self):
        """The updated ``(vector_u, kernel)``: the power-method estimate and the kernel divided by it."""
        kernel = self._kernel()
        w = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u
        v = None
        for _ in range(self.power_iterations):
            v = _l2_normalize(ops.matmul(u, w.T))
            u = _l2_normalize(ops.matmul(v, w))
        u, v = u.detach(), v.detach()
        sigma = ops.matmul(ops.matmul(v, w), u.T)
        return u, (kernel / sigma).reshape(tuple(kernel.shape))

    def call(self, inputs: Tensor, training=None) -> Tensor:
        training = self.training if training is None else bool(training)
        if training:
            kernel = self._kernel()
            with no_grad():
                if bool(ops.any(kernel != 0)):
                    u, k = self.normalized_weights()
                    self.vector_u.copy_(u)
                    kernel.copy_(k)
        out = self.layer(inputs)
        # Keras casts the output to the inputs' dtype (so integer ids give integer embeddings there too)
        return out if out.dtype == inputs.dtype else out.to(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}
