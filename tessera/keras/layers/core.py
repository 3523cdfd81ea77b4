"""Core Keras layers: ``Dense``, ``EinsumDense``, ``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``PReLU``,
``Softmax``, ``Dropout``, ``Flatten``, ``Reshape``, ``Permute``, ``Embedding``, ``ReversibleEmbedding``,
``Identity`` and ``Lambda``."""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
import re
import types

from ... import ops
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer, _OutSpec, set_keras_mask
from .regularization import _noise_shape, dropout_with_noise_shape, seed_generator

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
    "Identity",
    "Lambda",
    "ELU",
    "PReLU",
    "EinsumDense",
    "ReversibleEmbedding",
]


def _positive_int(layer: str, name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")
    return int(v)


def _get_constraint(layer: str, name: str, v):
    """``constraints.get`` with the layer and argument named in the error."""
    try:
        return _constraints.get(v)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{layer}: invalid {name} {v!r}: {e}") from None


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
        self.kernel_constraint = _get_constraint("Dense", "kernel_constraint", kernel_constraint)
        self.bias_constraint = _get_constraint("Dense", "bias_constraint", bias_constraint)
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
            constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.add_weight(
                "bias",
                (self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
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
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
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
        if noise_shape is not None and not isinstance(noise_shape, (list, tuple)):
            raise ValueError(f"Dropout: noise_shape must be a list or tuple, got {noise_shape!r}")
        self.noise_shape = None if noise_shape is None else list(noise_shape)
        self.rate, self.seed, self.seed_generator = float(rate), seed, seed_generator(seed)

    def call(self, inputs: Tensor, training=None) -> Tensor:
        training = self.training if training is None else bool(training)
        if not training or self.rate == 0.0:
            return inputs
        if self.noise_shape is not None or self.seed_generator is not None:
            shape = None if self.noise_shape is None else _noise_shape(self, inputs, self.noise_shape)
            return dropout_with_noise_shape(inputs, self.rate, shape, self.seed_generator)
        return F.dropout(inputs, self.rate, True)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


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
        self.embeddings_constraint = _get_constraint(
            "Embedding", "embeddings_constraint", embeddings_constraint
        )
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
            constraint=self.embeddings_constraint,
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
            "embeddings_constraint": _constraints.serialize(self.embeddings_constraint),
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


class Identity(Layer):
    """Returns its input unchanged (masks pass through).

    Example:
        >>> ts.keras.layers.Identity()(ts.ones(2, 3)).shape
        tessera.Size([2, 3])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs


class ELU(Layer):
    """Exponential linear unit: ``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise (Keras's alpha 1.0).

    Example:
        >>> ts.keras.layers.ELU()(ts.tensor([0.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU: alpha must be a number, got {alpha!r}")
        self.alpha = float(alpha)

    def call(self, inputs: Tensor) -> Tensor:
        return _activations.elu(inputs, self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric ReLU: ``x`` for x >= 0, ``alpha * x`` otherwise, with a learned ``alpha`` of the input's
    shape without the batch axis; ``shared_axes`` (1-based, as Keras) share it along those axes.

    Example:
        >>> layer = ts.keras.layers.PReLU(shared_axes=[1])
        >>> layer(ts.randn(2, 5, 3)).shape, tuple(layer.alpha.shape)
        (tessera.Size([2, 5, 3]), (1, 3))
    """

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = _initializers.get(alpha_initializer)
        self.alpha_regularizer = _regularizers.get(alpha_regularizer)
        self.alpha_constraint = _get_constraint("PReLU", "alpha_constraint", alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < 1 for a in axes):
                raise ValueError(f"PReLU: shared_axes must be positive ints (1-based), got {shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape) -> None:
        param_shape = list(input_shape[1:])
        for i in self.shared_axes or ():
            if i >= len(input_shape):
                raise ValueError(
                    f"PReLU '{self.name}': shared axis {i} is out of range for inputs of shape {input_shape}"
                )
            param_shape[i - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(
                f"PReLU '{self.name}': the non-shared dimensions must be defined, got shape {input_shape}"
            )
        self.add_weight(
            "alpha",
            tuple(param_shape),
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs: Tensor) -> Tensor:
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha_initializer": _ser_init(self.alpha_initializer),
            "alpha_regularizer": _regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": _constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


def _serialize_function(fn) -> dict:
    """A function as Keras 3 writes it in a config: a Python lambda as marshalled bytecode
    (``"__lambda__"``), a named function by module and name."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        import codecs
        import marshal

        code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {
            "class_name": "__lambda__",
            "config": {"code": code, "defaults": fn.__defaults__, "closure": closure},
        }
    name = getattr(fn, "__name__", None)
    if not callable(fn) or name is None:
        raise ValueError(f"Lambda: cannot serialize {fn!r} of type {type(fn).__name__}")
    return {
        "module": getattr(fn, "__module__", None),
        "class_name": "function",
        "config": name,
        "registered_name": name,
    }


_LAMBDA_UNSAFE = (
    "Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda. This carries a "
    "potential risk of arbitrary code execution and thus it is disallowed by default. If you trust the "
    "source of the artifact, you can override this error by passing `safe_mode=False`."
)


def _deserialize_function(cfg, custom_objects, safe_mode: bool):
    if not isinstance(cfg, dict):
        return cfg
    if cfg.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError(_LAMBDA_UNSAFE)
        import codecs
        import marshal

        inner = cfg["config"]
        code = marshal.loads(codecs.decode(inner["code"].encode("ascii"), "base64"))
        closure = inner.get("closure")
        cells = tuple(types.CellType(c) for c in closure) if closure else None
        defaults = tuple(inner["defaults"]) if inner.get("defaults") is not None else None
        return types.FunctionType(code, globals(), code.co_name, defaults, cells)
    if cfg.get("class_name") == "function":
        name = cfg.get("config")
        custom = custom_objects or {}
        fn = custom.get(name) or custom.get(cfg.get("registered_name"))
        if fn is None:
            module = cfg.get("module") or ""
            # built-in functions only: importing an arbitrary module named in a file is not safe
            if module.startswith(("keras", "tessera")):
                target = module.replace("keras.src.", "tessera.keras.").replace("keras.", "tessera.keras.", 1)
                if module.startswith("tessera"):
                    target = module
                try:
                    fn = getattr(importlib.import_module(target), name, None)
                except ImportError:
                    fn = None
            if fn is None:
                fn = getattr(_activations, name, None) if isinstance(name, str) else None
        if fn is None:
            raise ValueError(
                f"Lambda: could not find the function {name!r} (module {cfg.get('module')!r}); pass it in "
                f"custom_objects={{'{name}': {name}}}"
            )
        return fn
    return cfg


class Lambda(Layer):
    """Wraps an arbitrary expression ``function(inputs, **arguments)`` as a layer.

    ``output_shape`` (without the batch axis, or a function of the input shape) is only needed where the
    shape cannot be inferred; ``mask`` is a mask to attach to the outputs or ``fn(inputs, mask)``. If the
    function takes ``mask`` or ``training`` arguments they are passed. ``get_config`` writes a Python lambda
    as bytecode, which ``from_config`` only loads with ``safe_mode=False``, as in Keras.

    Example:
        >>> ts.keras.layers.Lambda(lambda x: x * 2)(ts.ones(2)).tolist()
        [2.0, 2.0]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: arguments must be a dict, got {arguments!r}")
        self.arguments = dict(arguments or {})
        self.function = function
        self.supports_masking = mask is not None
        self.mask = mask
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def _infer_outputs(self, args, kwargs, inputs):
        try:
            return super()._infer_outputs(args, kwargs, inputs)
        except Exception:
            # a function that cannot run on placeholders: Keras then relies on the given output_shape
            if self._output_shape is None or not inputs:
                raise
            shapes = self.compute_output_shape(
                [kt.shape for kt in inputs] if len(inputs) > 1 else inputs[0].shape
            )
            dtype = inputs[0].dtype
            if isinstance(shapes, list):
                return [_OutSpec(tuple(sh), dtype) for sh in shapes]
            return _OutSpec(tuple(shapes), dtype)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        batch = first[0] if first else None
        if (
            isinstance(self._output_shape, list)
            and self._output_shape
            and isinstance(self._output_shape[0], (list, tuple))
        ):
            return [(batch,) + tuple(s) for s in self._output_shape]
        return (batch,) + tuple(self._output_shape)

    def get_config(self) -> dict:
        config = {"function": _serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (
                _serialize_function(self._output_shape)
                if callable(self._output_shape)
                else list(self._output_shape)
            )
        if self.mask is not None:
            if not callable(self.mask):
                raise ValueError(f"Lambda '{self.name}': a constant mask cannot be serialized")
            config["mask"] = _serialize_function(self.mask)
        config["arguments"] = dict(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None, safe_mode=None):
        """Rebuild from ``get_config``; a Python lambda needs ``safe_mode=False`` (arbitrary code)."""
        from .. import config as _keras_config

        config = dict(config)
        if safe_mode is None:  # keras.config.enable_unsafe_deserialization() turns the default off
            safe_mode = not _keras_config._STATE["unsafe_deserialization"]
        safe = safe_mode is not False
        config["function"] = _deserialize_function(config["function"], custom_objects, safe)
        if "output_shape" in config:
            shape = _deserialize_function(config["output_shape"], custom_objects, safe)
            if isinstance(shape, list) and all(isinstance(e, (int, type(None))) for e in shape):
                shape = tuple(shape)
            config["output_shape"] = shape
        if "mask" in config:
            config["mask"] = _deserialize_function(config["mask"], custom_objects, safe)
        return cls(**config)


_EINSUM_FORM = re.compile(
    r"[a-zA-Z]+,[a-zA-Z]+->[a-zA-Z]+|\.\.\.[a-zA-Z]+,[a-zA-Z]+->\.\.\.[a-zA-Z]+|"
    r"[a-zA-Z]{2,}\.\.\.,[a-zA-Z]+->[a-zA-Z]+\.\.\."
)


def _analyze_einsum(layer: str, equation: str, bias_axes, input_shape, output_shape) -> tuple:
    """(kernel_shape, bias_shape or None, full_output_shape, input_axes, output_axes) for an EinsumDense
    ``equation`` of the forms ``ab,bc->ac``, ``...ab,bc->...ac`` or ``ab...,bc->ac...``, as Keras
    derives them: kernel axes take their sizes from the output (``output_shape``) or the input."""
    eq = equation.replace("...", "0")
    left = False
    m = re.fullmatch("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", eq)
    if m is None:
        m = re.fullmatch("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", eq)
        left = m is not None
    if m is None:
        m = re.fullmatch("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", eq)
    if m is None:
        raise ValueError(
            f"{layer}: invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
            "...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
        )
    in_spec, w_spec, out_spec = m.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    if elided < 0:
        raise ValueError(
            f"{layer}: the equation '{equation}' needs inputs of rank >= {len(in_spec)}, got shape {input_shape}"
        )
    out = list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left:
        for i in range(1, elided):
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided :])
    if left:
        in_map = {d: i + elided - len(input_shape) for i, d in enumerate(in_spec)}
        out_map = {d: i + elided for i, d in enumerate(out_spec)}
    else:
        in_map = {d: i for i, d in enumerate(in_spec)}
        out_map = {d: i for i, d in enumerate(out_spec)}
    if len(out) != len(out_spec) + elided:
        raise ValueError(
            f"{layer}: output_shape {tuple(output_shape)} does not match the output spec '{out_spec}' of "
            f"'{equation}' (expected {len(out_spec) - 1} dimensions besides the batch one)"
        )
    for d in in_spec:
        if d in out_map:
            o = out[out_map[d]]
            if o is not None and o != input_shape[in_map[d]]:
                raise ValueError(
                    f"{layer}: input shape and output shape do not match at shared dimension '{d}'. Input shape "
                    f"is {input_shape[in_map[d]]}, and output shape is {o}."
                )
    for d in out_spec:
        if d not in in_spec and d not in w_spec:
            raise ValueError(
                f"{layer}: dimension '{d}' was specified in the output '{out_spec}' but has no corresponding dim "
                f"in the input spec '{in_spec}' or weight spec '{w_spec}'"
            )
    kernel, input_axes, output_axes = [], [], []
    for i, d in enumerate(w_spec):
        if d in out_map:
            kernel.append(out[out_map[d]])
            output_axes.append(i)
        elif d in in_map:
            kernel.append(input_shape[in_map[d]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"{layer}: weight dimension '{d}' did not have a match in either the input spec '{in_spec}' or "
                f"the output spec '{out_spec}'. For this layer, the weight must be fully specified."
            )
    bias = None
    if bias_axes is not None:
        shift = elided if left else 0
        idx = {c: out[i + shift] for i, c in enumerate(out_spec)}
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(
                    f"{layer}: bias dimension '{c}' was requested, but is not part of the output spec '{out_spec}'"
                )
        first = min(out_spec.find(c) for c in bias_axes)
        bias = [idx[c] if c in bias_axes else 1 for c in out_spec[first:]]
        if not left:
            bias.extend([1] * max(elided, 0))
    return kernel, bias, out, input_axes, output_axes


class EinsumDense(Layer):
    """A dense layer of any shape, as an einsum ``equation`` between the inputs and a ``kernel``: e.g.
    ``'ab,bc->ac'`` is ``Dense``, ``'abc,cde->abde'`` projects the last axis to two. ``output_shape`` gives
    the output dimensions besides the batch (None: inferred from the input); ``bias_axes`` names the output
    axes that carry a bias (e.g. ``'de'``).

    Example:
        >>> layer = ts.keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 4, 8), bias_axes="de")
        >>> layer(ts.randn(2, 5, 16)).shape, tuple(layer.kernel.shape), tuple(layer.bias.shape)
        (tessera.Size([2, 5, 4, 8]), (16, 4, 8), (4, 8))
    """

    def __init__(
        self,
        equation: str,
        output_shape,
        activation=None,
        bias_axes: str | None = None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        # Keras's LoRA/quantization options are not supported; their "off" values are accepted
        for k in ("lora_rank", "lora_alpha", "quantization_config"):
            if k in kwargs and kwargs[k] is None:
                del kwargs[k]
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense: equation must be a string, got {equation!r}")
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"EinsumDense: bias_axes must be a string or None, got {bias_axes!r}")
        self.equation = equation
        if isinstance(output_shape, numbers.Integral):
            self.partial_output_shape = (int(output_shape),)
        else:
            self.partial_output_shape = tuple(None if d is None else int(d) for d in output_shape)
        self.bias_axes = bias_axes
        self.activation = _activations.get(activation)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _get_constraint("EinsumDense", "kernel_constraint", kernel_constraint)
        self.bias_constraint = _get_constraint("EinsumDense", "bias_constraint", bias_constraint)
        if _EINSUM_FORM.fullmatch(equation) is None:
            raise ValueError(
                f"EinsumDense: invalid einsum equation '{equation}'. Equations must be in the form "
                "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
            )

    def build(self, input_shape) -> None:
        kernel_shape, bias_shape, _, input_axes, output_axes = _analyze_einsum(
            f"EinsumDense '{self.name}'",
            self.equation,
            self.bias_axes,
            input_shape,
            self.partial_output_shape,
        )
        if any(d is None for d in kernel_shape) or (bias_shape and any(d is None for d in bias_shape)):
            raise ValueError(
                f"EinsumDense '{self.name}': the kernel shape {kernel_shape} is not fully defined for inputs of "
                f"shape {input_shape} and output_shape {self.partial_output_shape}"
            )
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = self.kernel_initializer
        if isinstance(init, _initializers.VarianceScaling) and (
            init.input_axes is None or init.output_axes is None
        ):
            # Keras computes the fans of an einsum kernel from its input and output axes
            init = type(init).from_config(
                {**init.get_config(), "input_axes": input_axes, "output_axes": output_axes}
            )
        self.add_weight(
            "kernel",
            tuple(kernel_shape),
            initializer=init,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if bias_shape is not None:
            self.add_weight(
                "bias",
                tuple(bias_shape),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None

    def call(self, inputs: Tensor) -> Tensor:
        x = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(
            _analyze_einsum(
                "EinsumDense", self.equation, self.bias_axes, input_shape, self.partial_output_shape
            )[2]
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "output_shape": list(self.partial_output_shape),
            "equation": self.equation,
            "activation": _activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": _ser_init(self.kernel_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
        }


class ReversibleEmbedding(Embedding):
    """An ``Embedding`` that can also map back: ``call(inputs, reverse=True)`` projects (..., output_dim)
    vectors to (..., input_dim) logits with the transposed ``embeddings`` (``tie_weights=True``) or a separate
    ``reverse_embeddings`` (output_dim, input_dim) weight. ``reverse_dtype`` casts both operands first;
    ``logit_soft_cap`` gives ``tanh(logits / cap) * cap``.

    Example:
        >>> emb = ts.keras.layers.ReversibleEmbedding(100, 8)
        >>> h = emb(ts.tensor([[1, 2, 3]]))
        >>> emb(h, reverse=True).shape
        tessera.Size([1, 3, 100])
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero: bool = False,
        reverse_dtype=None,
        logit_soft_cap: float | None = None,
        **kwargs,
    ):
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            **kwargs,
        )
        if logit_soft_cap is not None and (
            isinstance(logit_soft_cap, bool)
            or not isinstance(logit_soft_cap, numbers.Real)
            or logit_soft_cap <= 0
        ):
            raise ValueError(
                f"ReversibleEmbedding: logit_soft_cap must be a positive number or None, got {logit_soft_cap!r}"
            )
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.add_weight(
                "reverse_embeddings",
                (self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer,
            )

    def call(self, inputs: Tensor, reverse: bool = False) -> Tensor:
        if not reverse:
            out = super().call(inputs)
            if self.mask_zero:
                set_keras_mask(out, ops.ne(inputs, 0))
            return out
        if inputs.shape[-1] != self.output_dim:
            raise ValueError(
                f"ReversibleEmbedding '{self.name}': reverse=True expects inputs with a last dimension of "
                f"{self.output_dim}, got shape {tuple(inputs.shape)}"
            )
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        if not inputs.dtype.is_floating_point:
            inputs = inputs.to(kernel.dtype)
        if self.reverse_dtype is not None:
            from ..ops._convert import standardize_dtype

            dt = standardize_dtype(self.reverse_dtype)
            inputs, kernel = inputs.to(dt), kernel.to(dt)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = ops.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def compute_output_shape(self, input_shape, reverse: bool = False):
        shape = list(input_shape)
        if reverse:
            shape[-1] = self.input_dim
        else:
            shape.append(self.output_dim)
        return tuple(shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "tie_weights": self.tie_weights,
            "reverse_dtype": self.reverse_dtype,
            "logit_soft_cap": self.logit_soft_cap,
        }
