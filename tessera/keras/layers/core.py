"""Core Keras layers: ``Dense``, ``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax``, ``Dropout``,
``Flatten``, ``Reshape``, ``Permute`` and ``Embedding``."""

from __future__ import annotations

import math
import numbers

from ... import ops
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import activations as _activations
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer

__all__ = [
    "Dense",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Dropout",
    "Flatten",
    "Reshape",
    "Permute",
    "Embedding",
]


def _positive_int(layer: str, name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")
    return int(v)


def _no_constraint(layer: str, **constraints) -> None:
    for k, v in constraints.items():
        if v is not None:
            raise NotImplementedError(f"{layer}: {k} is not supported")


def _ser_init(x):
    return _initializers.serialize(x) if not isinstance(x, str) else x


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis, with a Keras-layout kernel (in, units).

    Example:
        >>> layer = ts.keras.layers.Dense(20, activation="relu")
        >>> layer(ts.randn(4, 10)).shape          # the kernel (10, 20) is created on this first call
        tessera.Size([4, 20])
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        _no_constraint("Dense", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.units = _positive_int("Dense", "units", units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape) -> None:
        last = input_shape[-1] if input_shape else None
        if last is None:
            raise ValueError(
                f"Dense '{self.name}': the last dimension of the inputs should be defined, got shape {input_shape}"
            )
        self.add_weight(
            "kernel",
            (last, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.add_weight(
                "bias", (self.units,), initializer=self.bias_initializer, regularizer=self.bias_regularizer
            )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last})

    def call(self, inputs: Tensor) -> Tensor:
        out = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            out = out + self.bias
        return self.activation(out)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
        }


class Activation(Layer):
    """Applies an activation function by Keras name (``'relu'``, ``'softmax'``...) or a callable.

    Example:
        >>> ts.keras.layers.Activation("tanh")(ts.zeros(2, 3)).sum().item()
        0.0
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = _activations.get(activation)

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class ReLU(Layer):
    """``max(x, 0)``, with Keras's ``max_value``, ``negative_slope`` and ``threshold`` options.

    Example:
        >>> ts.keras.layers.ReLU(max_value=6.0)(ts.tensor([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """

    def __init__(self, max_value=None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value!r}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope!r}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def call(self, inputs: Tensor) -> Tensor:
        return _activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """``x`` for x >= 0, ``negative_slope * x`` otherwise (Keras's default slope 0.3)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.negative_slope = float(negative_slope)

    def call(self, inputs: Tensor) -> Tensor:
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Softmax(Layer):
    """Softmax over ``axis`` (default -1); ``call(inputs, mask=None)`` hides positions where mask is False.

    Example:
        >>> ts.keras.layers.Softmax()(ts.zeros(1, 4)).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.axis = axis

    def call(self, inputs: Tensor, mask=None) -> Tensor:
        if mask is not None:
            mask = mask if isinstance(mask, Tensor) else ops.as_tensor(mask)
            inputs = ops.masked_fill(inputs, ~mask.bool(), -1e9)
        if isinstance(self.axis, (list, tuple)):
            return ops.exp(inputs - ops.logsumexp(inputs, tuple(self.axis), keepdim=True))
        return ops.softmax(inputs, self.axis)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
        }


class Dropout(Layer):
    """Zeroes inputs with probability ``rate`` and scales the rest by ``1 / (1 - rate)`` in training.

    ``call(inputs, training=None)``: None follows the module's mode (``model.train()`` / ``model.eval()``).

    Example:
        >>> ts.keras.layers.Dropout(0.5)(ts.ones(2, 3), training=False).sum().item()
        6.0
    """

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1], got {rate!r}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not supported")
        self.rate, self.seed = float(rate), seed

    def call(self, inputs: Tensor, training=None) -> Tensor:
        training = self.training if training is None else bool(training)
        if not training or self.rate == 0.0:
            return inputs
        return F.dropout(inputs, self.rate, True)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": None, "seed": self.seed}


class Flatten(Layer):
    """Flattens all dimensions but the batch one; ``data_format='channels_first'`` moves channels last first,
    as Keras does, so the flattened order matches a channels-last model.

    Example:
        >>> ts.keras.layers.Flatten()(ts.zeros(2, 3, 4)).shape
        tessera.Size([2, 12])
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format("Flatten", data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: Tensor) -> Tensor:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.movedim(inputs, 1, -1)
        if inputs.ndim == 1:
            return inputs.reshape(inputs.shape[0], 1)
        return ops.flatten(inputs, 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch dimension is kept; one entry may be -1).

    Example:
        >>> ts.keras.layers.Reshape((3, 4))(ts.zeros(2, 12)).shape
        tessera.Size([2, 3, 4])
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(target_shape)
        if sum(1 for d in target_shape if d == -1) > 1 or any(
            not isinstance(d, numbers.Integral) or (d < 1 and d != -1) for d in target_shape
        ):
            raise ValueError(
                f"Reshape: invalid target_shape {target_shape} (positive ints and at most one -1)"
            )
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs: Tensor) -> Tensor:
        n = inputs.shape[0]
        size = math.prod(inputs.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and (known == 0 or size % known)) or (
            -1 not in self.target_shape and known != size
        ):
            raise ValueError(
                f"Reshape '{self.name}': cannot reshape input of shape {tuple(inputs.shape)} ({size} values per "
                f"sample) to target shape {self.target_shape}"
            )
        return inputs.reshape((n,) + self.target_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permutes the non-batch dimensions: ``dims`` is 1-based, as in Keras (``Permute((2, 1))``)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(dims)}, got {dims}")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs: Tensor) -> Tensor:
        return inputs.permute((0,) + self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}


class Embedding(Layer):
    """Looks up rows of an ``(input_dim, output_dim)`` table (``embeddings``) for integer inputs.

    With ``mask_zero=True`` index 0 is padding: the output carries the mask ``inputs != 0``
    (``compute_mask``), which masking-aware layers (RNNs, ``GlobalAveragePooling1D``...) use to skip those
    steps; ``input_dim`` must then count the padding index.

    Example:
        >>> emb = ts.keras.layers.Embedding(1000, 64)
        >>> emb(ts.tensor([[1, 2, 3]])).shape
        tessera.Size([1, 3, 64])
    """

    _autocast = False

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        activity_regularizer=None,
        embeddings_constraint=None,
        mask_zero: bool = False,
        input_length=None,
        **kwargs,
    ):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _no_constraint("Embedding", embeddings_constraint=embeddings_constraint)
        self.input_dim = _positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = _positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = _initializers.get(embeddings_initializer)
        self.embeddings_regularizer = _regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape) -> None:
        self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
        )

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.dtype.is_floating_point:
            inputs = inputs.long()
        return F.embedding(inputs, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.ne(inputs, 0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _ser_init(self.embeddings_initializer),
            "embeddings_regularizer": _regularizers.serialize(self.embeddings_regularizer),
            "mask_zero": self.mask_zero,
        }


def _data_format(layer: str, data_format) -> str:
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{layer}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
        )
    return data_format
