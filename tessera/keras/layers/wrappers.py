"""Layer wrappers as in ``keras.layers``: ``Wrapper``, ``Bidirectional`` and ``TimeDistributed``."""

from __future__ import annotations

import copy

from ... import ops
from ...core.tensor import Tensor
from .base import Layer, _call_accepts, flatten, get_keras_mask

__all__ = ["Wrapper", "Bidirectional", "TimeDistributed", "TorchModuleWrapper"]


def _serialize(layer):
    from . import serialize

    return serialize(layer)


def _deserialize(config, custom_objects=None):
    from . import deserialize

    return deserialize(config, custom_objects)


def _custom_objects_of(layer) -> dict:
    """The classes a copy of ``layer`` made from its config needs (user layers and cells included)."""
    objs = {type(layer).__name__: type(layer)}
    for cell in [getattr(layer, "cell", None)] + list(
        getattr(getattr(layer, "cell", None), "cells", ()) or ()
    ):
        if cell is not None:
            objs[type(cell).__name__] = type(cell)
    return objs


class Wrapper(Layer):
    """Base class of layers that wrap another ``layer`` (built with the wrapper; weights are the layer's).

    Example:
        >>> class Twice(ts.keras.layers.Wrapper):
        ...     def call(self, x):
        ...         return self.layer(self.layer(x))
        >>> Twice(ts.keras.layers.Dense(3))(ts.randn(2, 3)).shape
        tessera.Size([2, 3])
    """

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"{type(self).__name__}: the wrapped `layer` must be a keras Layer instance. Received: {layer!r}"
            )
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None) -> None:
        if not self.layer.built:
            self.layer._do_build(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every time slice ``inputs[:, t]`` of (batch, time, ...) inputs and stacks the
    results on axis 1; the mask (batch, time) passes through and each slice's mask goes to the layer.

    Example:
        >>> td = ts.keras.layers.TimeDistributed(ts.keras.layers.Dense(8))
        >>> td(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 10, 8])
    """

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed '{self.name}': the layer should be passed an `input_shape` with at least 3 "
                f"dimensions, received: {input_shape}"
            )
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape) -> None:
        super().build(self._child_shape(input_shape))

    def compute_mask(self, inputs, mask=None):
        return mask

    def call(self, inputs: Tensor, training=None, mask=None):
        self._child_shape(tuple(inputs.shape))
        if mask is not None:
            ms = tuple(mask.shape)
            if len(ms) < 2:
                raise ValueError(
                    f"TimeDistributed '{self.name}': the `mask` must be at least 2D (batch_size, timesteps), but "
                    f"it has {len(ms)} dimension(s) with shape {ms}"
                )
            if ms[:2] != tuple(inputs.shape[:2]):
                raise ValueError(
                    f"TimeDistributed '{self.name}': the `mask` has a shape {ms} that is incompatible with the "
                    f"input shape {tuple(inputs.shape)}: its first two dimensions must be "
                    f"({inputs.shape[0]}, {inputs.shape[1]})"
                )
        kwargs = {}
        if training is not None and _call_accepts(self.layer, "training"):
            kwargs["training"] = training
        pass_mask = mask is not None and "mask" in _arg_names(self.layer)
        outs = []
        for t in range(inputs.shape[1]):
            if pass_mask:
                kwargs["mask"] = mask[:, t]
            outs.append(self.layer.call(inputs[:, t], **kwargs))
        return ops.stack(outs, 1)


def _arg_names(layer) -> tuple:
    from .base import _call_arg_names

    return _call_arg_names(layer)


_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


class Bidirectional(Layer):
    """Runs a recurrent ``layer`` forwards and a copy of it (or ``backward_layer``) backwards over the
    sequence and merges the two outputs with ``merge_mode`` (``'concat'`` (default), ``'sum'``, ``'mul'``,
    ``'ave'``, or None for the list of both). The backward outputs are flipped back into time order when
    ``return_sequences``; ``return_state`` appends the forward then the backward states; ``initial_state`` is
    the forward states followed by the backward ones. Weights: the forward layer's, then the backward one's.

    Example:
        >>> bi = ts.keras.layers.Bidirectional(ts.keras.layers.LSTM(8, return_sequences=True))
        >>> bi(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 10, 16])
    """

    def __init__(
        self, layer: Layer, merge_mode="concat", weights=None, backward_layer: Layer | None = None, **kwargs
    ):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Bidirectional: please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                f"Received: {layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                f"Bidirectional: `backward_layer` need to be a `keras.layers.Layer` instance. "
                f"Received: {backward_layer!r}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional: invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        for attr in ("go_backwards", "return_sequences", "return_state", "stateful"):
            if not hasattr(layer, attr):
                raise ValueError(
                    f"Bidirectional: the wrapped layer must be a recurrent layer (with `{attr}`), got "
                    f"{type(layer).__name__}"
                )
        super().__init__(**kwargs)
        objs = _custom_objects_of(layer)
        cfg = _serialize(layer)
        cfg["config"]["name"] = "forward_" + _removeprefix(layer.name, "forward_")
        forward = _deserialize(cfg, objs)
        if backward_layer is None:
            cfg = _serialize(layer)
            cfg["config"]["go_backwards"] = not layer.go_backwards
            cfg["config"]["name"] = "backward_" + _removeprefix(layer.name, "backward_")
            backward_layer = _deserialize(cfg, objs)
        if hasattr(layer, "use_cudnn"):
            forward.use_cudnn = layer.use_cudnn
            backward_layer.use_cudnn = layer.use_cudnn
        if forward.go_backwards == backward_layer.go_backwards:
            raise ValueError(
                "Bidirectional: forward layer and backward layer should have different `go_backwards` value. "
                f"Received: forward_layer.go_backwards={forward.go_backwards}, "
                f"backward_layer.go_backwards={backward_layer.go_backwards}"
            )
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, a) != getattr(backward_layer, a):
                raise ValueError(
                    f"Bidirectional: forward layer and backward layer are expected to have the same value for "
                    f'attribute "{a}", got "{getattr(forward, a)}" for forward layer and '
                    f'"{getattr(backward_layer, a)}" for backward layer'
                )
        # Keras: padded steps of each direction give zeros, so the merged outputs of masked steps are zeros
        for lay in (forward, backward_layer):
            if getattr(lay, "zero_output_for_mask", None) is not None:
                lay.zero_output_for_mask = lay.return_sequences
        self.forward_layer = forward
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.__dict__["_initial_weights"] = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    @property
    def states(self):
        f, b = self.forward_layer.states, self.backward_layer.states
        if f and b:
            return tuple(list(f) + list(b))
        return None

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError(f"Bidirectional '{self.name}': layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        self.reset_state()

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        for lay in (self.forward_layer, self.backward_layer):
            if not lay.built:
                lay._do_build(tuple(sequences_shape))
        w = self._initial_weights
        if w:
            self.set_weights(w)
            self.__dict__["_initial_weights"] = None

    def call(self, sequences: Tensor, initial_state=None, mask=None, training=None):
        if mask is None:
            mask = get_keras_mask(sequences)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        kwargs = {}
        if training is not None:
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) % 2:
                raise ValueError(
                    f"Bidirectional '{self.name}': initial_state must hold the forward states then the "
                    f"backward states (an even number of tensors), got {len(states)}"
                )
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=fwd_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, [1])
        mode = self.merge_mode
        if mode == "concat":
            output = ops.cat([y, y_rev], -1)
        elif mode == "sum":
            output = y + y_rev
        elif mode == "ave":
            output = (y + y_rev) / 2
        elif mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if mode is None else [output]) + list(states)
        return output

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            out_mask = [mask, mask] if not self.merge_mode else mask
        else:
            out_mask = [None, None] if not self.merge_mode else None
        if self.return_state:
            n = len(flatten(self.forward_layer.state_size)) * 2
            return (out_mask if isinstance(out_mask, list) else [out_mask]) + [None] * n
        return out_mask

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": _serialize(self.forward_layer),
            "backward_layer": _serialize(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = _deserialize(backward, custom_objects)
        return cls(**config)


def _removeprefix(s: str, prefix: str) -> str:
    return s[len(prefix) :] if s.startswith(prefix) else s


class TorchModuleWrapper(Layer):
    """A PyTorch-style ``ts.nn.Module`` as a Keras layer (Keras's ``TorchModuleWrapper`` for the torch
    backend): its parameters become the layer's weights, trained by ``fit`` and saved with ``save_weights``;
    calls run the module (channels-first layouts, as in PyTorch). ``output_shape`` (without the batch axis)
    skips the symbolic shape inference.

    Example:
        >>> layer = ts.keras.layers.TorchModuleWrapper(ts.nn.Linear(3, 2))
        >>> layer(ts.ones(4, 3)).shape, len(layer.trainable_weights)
        (tessera.Size([4, 2]), 2)
    """

    def __init__(self, module, name: str | None = None, output_shape=None, **kwargs):
        from ...nn.module import Module

        if not isinstance(module, Module) or isinstance(module, Layer):
            raise ValueError(
                "TorchModuleWrapper: `module` must be a ts.nn.Module (a PyTorch-style module) that is not a Keras "
                f"layer. Received: {module!r}"
            )
        super().__init__(name=name, **kwargs)
        self.module = module
        self.output_shape_hint = None if output_shape is None else tuple(output_shape)
        self.__dict__["built"] = True

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)
        return self.module(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        if self.output_shape_hint is not None:
            return (input_shape[0],) + self.output_shape_hint if input_shape else self.output_shape_hint
        return super().compute_output_shape(input_shape)

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"TorchModuleWrapper '{self.name}': a wrapped module has no safe serialized form (Keras pickles it); "
            "rebuild the model in code and restore its weights with load_weights"
        )
