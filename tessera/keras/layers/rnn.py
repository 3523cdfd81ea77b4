"""Recurrent layers as in ``keras.layers``: the generic ``RNN`` layer over a cell, the cells ``SimpleRNNCell``,
``LSTMCell``, ``GRUCell`` and ``StackedRNNCells``, the layers ``SimpleRNN``, ``LSTM`` and ``GRU``, and ``Masking``.

Inputs are (batch, timesteps, features). A cell owns Keras's weights, ``kernel`` (features, gates * units),
``recurrent_kernel`` (units, gates * units) and ``bias``, so ``set_weights(keras_layer.get_weights())``
reproduces Keras's outputs: LSTM gates are ordered i, f, c, o, GRU gates z, r, h, and GRU's ``reset_after=True``
(the default) has a ``bias`` of shape (2, 3 * units), the input bias then the recurrent bias.

The built-in cells project the whole sequence with one GEMM before the time loop (their dropout masks are the
same at every step, as in Keras); each step then costs one small matmul with the recurrent kernel. Masked
steps keep the previous states and repeat the previous output (zeros with ``zero_output_for_mask``), as
Keras's ``backend.rnn`` does.
"""

from __future__ import annotations

import numbers

import numpy as np

from ... import ops
from ...core import creation
from ...core.tensor import Tensor
from ...nn import functional as F
from ...nn.modules.rnn import _lstm_step, _time_steps
from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import random as _random
from .. import regularizers as _regularizers
from .base import (
    _PROBING,
    InputSpec,
    Layer,
    flatten,
    get_keras_mask,
    in_symbolic_call,
    set_keras_mask,
    unique_name,
)
from .core import _get_constraint, _ser_init

__all__ = [
    "RNN",
    "SimpleRNNCell",
    "LSTMCell",
    "GRUCell",
    "StackedRNNCells",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Masking",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
]


# -- helpers -------------------------------------------------------------------------------------------------
def _pack_as(struct, flat: list):
    """``flat``'s leaves in the nested list structure of ``struct``."""
    it = iter(flat)

    def build(s):
        if isinstance(s, (list, tuple)):
            return [build(v) for v in s]
        return next(it)

    return build(struct)


def _check_rate(owner: str, name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:
        raise ValueError(f"{owner}: {name} must be a number in [0, 1], got {v!r}")
    return float(v)


def _check_units(owner: str, units) -> int:
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
        raise ValueError(
            f"{owner}: received an invalid value for argument `units`, expected a positive integer, got {units!r}"
        )
    return int(units)


class _ForgetBiasInit(_initializers.Initializer):
    """Keras's ``unit_forget_bias``: ``bias_initializer`` for the i, c, o blocks and ones for f."""

    def __init__(self, base, units):
        self.base, self.units = base, units

    def __call__(self, shape, dtype=None):
        u = self.units
        # Keras's initializers give host arrays here (see ``Layer.add_weight``); a custom one may give a tensor
        a, b = (
            p.detach().numpy() if isinstance(p, Tensor) else np.asarray(p)
            for p in (self.base((u,), dtype), self.base((2 * u,), dtype))
        )
        return np.concatenate([a, np.ones((u,), a.dtype), b])


# -- cells ---------------------------------------------------------------------------------------------------
class _DropoutCell(Layer):
    """Keras's ``DropoutRNNCell``: a cell's input and recurrent dropout masks are drawn once per sequence
    (cached by ``get_dropout_mask``) and reused at every step; the ``RNN`` layer resets them after a call."""

    gates = 1
    dropout_mask_count = None

    def _init_common(
        self,
        units,
        activation,
        use_bias,
        kernel_initializer,
        recurrent_initializer,
        bias_initializer,
        kernel_regularizer,
        recurrent_regularizer,
        bias_regularizer,
        kernel_constraint,
        recurrent_constraint,
        bias_constraint,
        dropout,
        recurrent_dropout,
        seed,
    ):
        cls = type(self).__name__
        self.kernel_constraint = _get_constraint(cls, "kernel_constraint", kernel_constraint)
        self.recurrent_constraint = _get_constraint(cls, "recurrent_constraint", recurrent_constraint)
        self.bias_constraint = _get_constraint(cls, "bias_constraint", bias_constraint)
        self.units = _check_units(cls, units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.recurrent_initializer = _initializers.get(recurrent_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.dropout = _check_rate(cls, "dropout", dropout)
        self.recurrent_dropout = _check_rate(cls, "recurrent_dropout", recurrent_dropout)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"{cls}: seed must be an int or None, got {seed!r}")
        self.seed = seed
        # a seeded cell draws its masks from its own stream (reproducible); unseeded ones from the global RNG
        self.__dict__["seed_generator"] = None if seed is None else _random.SeedGenerator(int(seed))
        self.output_size = self.units
        self.__dict__["_dropout_mask"] = None
        self.__dict__["_recurrent_dropout_mask"] = None

    # -- dropout masks (DropoutRNNCell) -------------------------------------------------------------------
    def _create_dropout_mask(self, step_input: Tensor, rate: float):
        ones = creation.ones(*step_input.shape, dtype=step_input.dtype)
        gen = self.seed_generator

        def draw():
            return F.dropout(ones, rate, True) if gen is None else _random.dropout(ones, rate, seed=gen)

        if self.dropout_mask_count is None:
            return draw()
        return [draw() for _ in range(self.dropout_mask_count)]

    def _active(self, rate: float) -> bool:
        # Keras's gated cells apply dropout only for 0 < rate < 1 (rate 1 is no dropout there); SimpleRNNCell
        # applies any positive rate
        return rate > 0 and (self.gates == 1 or rate < 1)

    def get_dropout_mask(self, step_input: Tensor):
        """The input dropout mask for this sequence (drawn on first use, like ``step_input``), or None."""
        if self._dropout_mask is None and self._active(self.dropout):
            self.__dict__["_dropout_mask"] = self._create_dropout_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input: Tensor):
        """The recurrent dropout mask for this sequence (shaped like the state ``step_input``), or None."""
        if self._recurrent_dropout_mask is None and self._active(self.recurrent_dropout):
            self.__dict__["_recurrent_dropout_mask"] = self._create_dropout_mask(
                step_input, self.recurrent_dropout
            )
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        self.__dict__["_dropout_mask"] = None

    def reset_recurrent_dropout_mask(self) -> None:
        self.__dict__["_recurrent_dropout_mask"] = None

    # -- weights ------------------------------------------------------------------------------------------
    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the feature dimension of the inputs must be defined, "
                f"got {input_shape}"
            )
        gu = self.gates * self.units
        self.add_weight(
            "kernel",
            (features, gu),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.add_weight(
            "recurrent_kernel",
            (self.units, gu),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.add_weight(
                "bias",
                self._bias_shape(),
                initializer=self._bias_init(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.__dict__["bias"] = None

    def _check_step_input(self, inputs, states, n_states: int):
        if not isinstance(inputs, Tensor) or inputs.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected a step input of shape (batch, features), got "
                f"{tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__}"
            )
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != n_states:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected {n_states} state tensor(s), got {len(states)}"
            )
        for s in states:
            if not isinstance(s, Tensor) or tuple(s.shape) != (inputs.shape[0], self.units):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': states must have shape "
                    f"({inputs.shape[0]}, {self.units}), got "
                    f"{tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__}"
                )
        return states

    # -- the step, split in the input projection (whole sequence at once) and the recurrence ---------------
    def _project(self, inputs: Tensor, training: bool):
        """``inputs @ kernel + bias`` with the input dropout mask; ``inputs`` is one step (batch, features)
        or a whole sequence (batch, time, features), whose mask is that of one step."""
        dp = self.get_dropout_mask(inputs if inputs.ndim == 2 else inputs[:, 0]) if training else None
        k = self.kernel
        if isinstance(dp, list):  # one mask per gate (Keras's implementation 1)
            u = self.units
            if inputs.ndim == 3:
                dp = [m.unsqueeze(1) for m in dp]
            xw = ops.cat([ops.matmul(inputs * m, k[:, g * u : (g + 1) * u]) for g, m in enumerate(dp)], -1)
        else:
            if dp is not None:
                inputs = inputs * (dp if inputs.ndim == 2 else dp.unsqueeze(1))
            xw = ops.matmul(inputs, k)
        if self.use_bias:
            xw = xw + self._input_bias()
        return xw

    def _input_bias(self):
        return self.bias

    def _get_common_config(self) -> dict:
        return dict(
            units=self.units,
            activation=_activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=_ser_init(self.kernel_initializer),
            recurrent_initializer=_ser_init(self.recurrent_initializer),
            bias_initializer=_ser_init(self.bias_initializer),
            kernel_regularizer=_regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=_regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=_regularizers.serialize(self.bias_regularizer),
            kernel_constraint=_constraints.serialize(self.kernel_constraint),
            recurrent_constraint=_constraints.serialize(self.recurrent_constraint),
            bias_constraint=_constraints.serialize(self.bias_constraint),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )

    def get_initial_state(self, batch_size=None) -> list:
        """Zero states, one (batch_size, size) tensor per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [creation.zeros(batch_size, d, dtype=self._compute_dtype()) for d in sizes]

    def call(self, inputs: Tensor, states, training: bool = False):
        nested = isinstance(states, (list, tuple))
        states = self._check_step_input(inputs, states, len(self._state_list()))
        out, new = self._recur(self._project(inputs, bool(training)), states, bool(training))
        return out, (new if nested or len(new) > 1 else new[0])

    def _state_list(self) -> list:
        return self.state_size if isinstance(self.state_size, list) else [self.state_size]


class SimpleRNNCell(_DropoutCell):
    """One step of ``SimpleRNN``: ``output = activation(x @ kernel + bias + h @ recurrent_kernel)``;
    ``call(inputs, states, training=False)`` returns ``(output, [output])``.

    Example:
        >>> cell = ts.keras.layers.SimpleRNNCell(4)
        >>> out, [h] = cell(ts.randn(2, 3), [ts.zeros(2, 4)])
        >>> out.shape
        tessera.Size([2, 4])
    """

    def __init__(
        self,
        units: int,
        activation="tanh",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._init_common(
            units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
        )  # fmt: skip
        self.state_size = self.units

    def _recur(self, xw, states, training):
        h = states[0]
        rdp = self.get_recurrent_dropout_mask(h) if training else None
        if rdp is not None:
            h = h * rdp
        out = self.activation(xw + ops.matmul(h, self.recurrent_kernel))
        return out, [out]

    def get_config(self) -> dict:
        return {**super().get_config(), **self._get_common_config()}


class LSTMCell(_DropoutCell):
    """One step of ``LSTM`` (gates i, f, c, o); states ``[h, c]``; ``unit_forget_bias`` starts the forget
    bias at one. With ``recurrent_dropout`` each gate gets its own dropout masks (Keras's implementation 1).

    Example:
        >>> cell = ts.keras.layers.LSTMCell(4)
        >>> h, [h, c] = cell(ts.randn(2, 3), [ts.zeros(2, 4), ts.zeros(2, 4)])
        >>> c.shape
        tessera.Size([2, 4])
    """

    gates = 4

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed=None,
        **kwargs,
    ):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self._init_common(
            units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
        )  # fmt: skip
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 4
        self.state_size = [self.units, self.units]

    def _bias_init(self):
        if self.unit_forget_bias:
            return _ForgetBiasInit(self.bias_initializer, self.units)
        return self.bias_initializer

    def _recur(self, xw, states, training):
        h, c = states
        u = self.units
        U = self.recurrent_kernel
        rdp = self.get_recurrent_dropout_mask(h) if training else None
        act, ract = self.activation, self.recurrent_activation
        if rdp is None and act is _activations.tanh and ract is _activations.sigmoid:
            h, c = _lstm_step(xw, h, c, U, u)
            return h, [h, c]
        if rdp is not None:
            z = ops.cat([ops.matmul(h * m, U[:, g * u : (g + 1) * u]) for g, m in enumerate(rdp)], -1)
            z = xw + z
        else:
            z = xw + ops.matmul(h, U)
        i, f = ract(z[..., :u]), ract(z[..., u : 2 * u])
        c = f * c + i * act(z[..., 2 * u : 3 * u])
        h = ract(z[..., 3 * u :]) * act(c)
        return h, [h, c]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **self._get_common_config(),
            "recurrent_activation": _activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class GRUCell(_DropoutCell):
    """One step of ``GRU`` (gates z, r, h): ``h = z * h_prev + (1 - z) * hh``. ``reset_after=True`` (default)
    applies the reset gate after the recurrent matmul (bias of shape (2, 3 * units)); ``reset_after=False``
    is the original formulation (bias (3 * units,)).

    Example:
        >>> cell = ts.keras.layers.GRUCell(4)
        >>> h, [h] = cell(ts.randn(2, 3), [ts.zeros(2, 4)])
        >>> h.shape
        tessera.Size([2, 4])
    """

    gates = 3

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reset_after: bool = True,
        seed=None,
        **kwargs,
    ):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self._init_common(
            units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
        )  # fmt: skip
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 3
        self.state_size = self.units

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def _recur(self, xw, states, training):
        h_prev = states[0]
        u = self.units
        U = self.recurrent_kernel
        rdp = self.get_recurrent_dropout_mask(h_prev) if training else None
        hz, hr, hh_in = (h_prev * rdp[0], h_prev * rdp[1], h_prev * rdp[2]) if rdp else (h_prev,) * 3
        act, ract = self.activation, self.recurrent_activation
        b_rec = self.bias[1] if self.use_bias and self.reset_after else None
        if rdp is None and self.reset_after:
            inner = ops.matmul(h_prev, U)
            if b_rec is not None:
                inner = inner + b_rec
            rec_z, rec_r, rec_h = inner[..., :u], inner[..., u : 2 * u], inner[..., 2 * u :]
        else:
            rec_z = ops.matmul(hz, U[:, :u])
            rec_r = ops.matmul(hr, U[:, u : 2 * u])
            if b_rec is not None:
                rec_z, rec_r = rec_z + b_rec[:u], rec_r + b_rec[u : 2 * u]
            rec_h = None
        z = ract(xw[..., :u] + rec_z)
        r = ract(xw[..., u : 2 * u] + rec_r)
        if self.reset_after:
            if rec_h is None:
                rec_h = ops.matmul(hh_in, U[:, 2 * u :])
                if b_rec is not None:
                    rec_h = rec_h + b_rec[2 * u :]
            rec_h = r * rec_h
        else:
            rec_h = ops.matmul(r * hh_in, U[:, 2 * u :])
        hh = act(xw[..., 2 * u :] + rec_h)
        h = z * h_prev + (1 - z) * hh
        return h, [h]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **self._get_common_config(),
            "recurrent_activation": _activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


def _is_cell(cell) -> bool:
    return callable(getattr(cell, "call", None)) and hasattr(cell, "state_size")


def _call_cell(cell, inputs, states, training):
    kwargs = {}
    if isinstance(cell, Layer):
        from .base import _call_accepts

        if _call_accepts(cell, "training"):
            kwargs["training"] = training
        return cell(inputs, states, **kwargs)
    return cell.call(inputs, states)


def _build_cell(cell, step_shape) -> None:
    if isinstance(cell, Layer) and not cell.built:
        cell._do_build(step_shape)


def _initial_state_of(cell, batch_size: int, dtype) -> list:
    fn = getattr(cell, "get_initial_state", None)
    if fn is not None:
        state = fn(batch_size=batch_size)
        return list(state) if isinstance(state, (list, tuple)) else [state]
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [creation.zeros(batch_size, int(d), dtype=dtype) for d in sizes]


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    s = cell.state_size
    return s[0] if isinstance(s, (list, tuple)) else s


def _reset_dropout(cell) -> None:
    if isinstance(cell, _DropoutCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    for c in getattr(cell, "cells", None) or ():
        _reset_dropout(c)


class StackedRNNCells(Layer):
    """Cells called one after the other at each step: a cell's output is the next cell's input; the state
    is the list of the cells' states (``RNN([cell1, cell2])`` builds one).

    Example:
        >>> cells = ts.keras.layers.StackedRNNCells([ts.keras.layers.LSTMCell(4), ts.keras.layers.GRUCell(3)])
        >>> ts.keras.layers.RNN(cells)(ts.randn(2, 5, 6)).shape
        tessera.Size([2, 3])
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells: cells must be a non-empty list of cells, got {cells!r}")
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(
                    f"StackedRNNCells: all cells must have a `call` method. Received cell without a `call` "
                    f"method: {cell}"
                )
            if not hasattr(cell, "state_size"):
                raise ValueError(
                    f"StackedRNNCells: all cells must have a `state_size` attribute. Received cell without a "
                    f"`state_size`: {cell}"
                )
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None) -> list:
        out = []
        for cell in self.cells:
            states = _initial_state_of(cell, batch_size, self._dtype)
            out.append(states if isinstance(cell.state_size, (list, tuple)) else states[0])
        return out

    def build(self, input_shape) -> None:
        for cell in self.cells:
            _build_cell(cell, input_shape)
            input_shape = (input_shape[0], _output_size(cell))

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != len(self.cells):
            raise ValueError(
                f"StackedRNNCells '{self.name}': expected {len(self.cells)} states (one per cell), "
                f"got {len(states)}"
            )
        new_states = []
        for cell, s in zip(self.cells, states):
            is_list = isinstance(s, (list, tuple))
            inputs, s = _call_cell(cell, inputs, list(s) if is_list else [s], training)
            s = list(s) if isinstance(s, (list, tuple)) else [s]
            new_states.append(s if is_list or len(s) > 1 else s[0])
        return inputs, new_states

    def get_config(self) -> dict:
        from . import serialize

        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        from . import deserialize

        config = dict(config)
        cells = [deserialize(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


# -- the RNN layer -------------------------------------------------------------------------------------------
class RNN(Layer):
    """Runs a cell over the time axis of (batch, timesteps, ...) inputs.

    ``cell`` is a Layer (or object) with ``state_size`` (an int or a list, one entry per state) and
    ``call(inputs, states)`` returning ``(output, new_states)``, or a list of cells (``StackedRNNCells``).
    ``call(sequences, initial_state=None, mask=None, training=None)``: masked steps keep the states and
    repeat the previous output (zeros with ``zero_output_for_mask=True``); ``go_backwards`` runs the sequence
    in reverse and returns the outputs in that order; ``return_state`` returns ``[output, *states]``;
    ``stateful=True`` starts each batch from the last states of the previous one (``reset_state()`` zeroes
    them; the batch size must be static). ``unroll`` is accepted (the loop is always a Python loop).

    Example:
        >>> rnn = ts.keras.layers.RNN(ts.keras.layers.LSTMCell(8), return_sequences=True)
        >>> rnn(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 10, 8])
    """

    def __init__(
        self,
        cell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs,
    ):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        cls = type(self).__name__
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"{cls}: argument `cell` should have a `call` method. Received: cell={cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError(
                f"{cls}: the RNN cell should have a `state_size` attribute (single integer or list of "
                f"integers, one integer per RNN state). Received: cell={cell}"
            )
        state_size = cell.state_size
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError(
                f"{cls}: state_size must be an integer, or a list/tuple of integers (one for each state "
                f"tensor), got {state_size!r}"
            )
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.__dict__["states"] = None
        self.__dict__["_expected_batch_size"] = None

    @property
    def state_size(self) -> list:
        s = self.cell.state_size
        return [s] if isinstance(s, int) else list(s)

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        if isinstance(sequences_shape, list):
            sequences_shape = tuple(sequences_shape)
        if sequences_shape is None or len(sequences_shape) < 3:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected inputs of shape (batch, timesteps, ...), "
                f"got {sequences_shape}"
            )
        if self.unroll and sequences_shape[1] is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': cannot unroll a RNN if the time dimension is undefined "
                f"(input shape {sequences_shape}); pass a `shape` with the number of timesteps to `Input()`"
            )
        _build_cell(self.cell, (sequences_shape[0],) + tuple(sequences_shape[2:]))
        if self.stateful:
            if sequences_shape[0] is None:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': when using `stateful=True` in a RNN, the batch size "
                    f"must be static. Found dynamic batch size: sequence.shape={sequences_shape}"
                )
            self.__dict__["_expected_batch_size"] = int(sequences_shape[0])
            self.__dict__["states"] = self.get_initial_state(int(sequences_shape[0]))

    def get_initial_state(self, batch_size: int) -> list:
        """Zero states for ``batch_size`` sequences (the cell's ``get_initial_state`` if it has one)."""
        return _initial_state_of(self.cell, batch_size, self._dtype)

    def reset_state(self) -> None:
        """Zero the states of a stateful RNN."""
        if self.states is not None:
            self.__dict__["states"] = _pack_as(self.states, [ops.zeros_like(s) for s in flatten(self.states)])

    def reset_states(self) -> None:
        """Alias of ``reset_state``."""
        self.reset_state()

    def _check_initial_state(self, initial_state, batch: int) -> list:
        name = f"{type(self).__name__} '{self.name}'"
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        want = [tuple(s.shape) for s in flatten(self.get_initial_state(batch))]
        flat = flatten(states)
        if len(flat) != len(want):
            raise ValueError(
                f"{name}: expected {len(want)} initial state tensor(s) (state_size={self.cell.state_size}), "
                f"got {len(flat)}"
            )
        conv = []
        for s, shape in zip(flat, want):
            if isinstance(s, np.ndarray):
                s = creation.as_tensor(s)
            if not isinstance(s, Tensor) or tuple(s.shape) != shape:
                raise ValueError(
                    f"{name}: initial states must have shape {shape}, got "
                    f"{tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__}"
                )
            conv.append(s.to(self._dtype) if s.dtype is not self._dtype and s.dtype.is_floating_point else s)
        return _pack_as(states, conv)

    def call(self, sequences: Tensor, initial_state=None, mask=None, training=None):
        name = f"{type(self).__name__} '{self.name}'"
        training = self.training if training is None else bool(training)
        if not isinstance(sequences, Tensor) or sequences.ndim < 3:
            raise ValueError(
                f"{name}: expected inputs of shape (batch, timesteps, ...), got "
                f"{tuple(sequences.shape) if isinstance(sequences, Tensor) else type(sequences).__name__}"
            )
        batch, steps = sequences.shape[0], sequences.shape[1]
        if mask is None:
            mask = get_keras_mask(sequences)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = mask if isinstance(mask, Tensor) else creation.as_tensor(np.asarray(mask))
            if tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(
                    f"{name}: the mask must have shape (batch, timesteps) = ({batch}, {steps}), got "
                    f"{tuple(mask.shape)}"
                )
            mask = mask.bool()
            if mask.ndim > 2:
                mask = mask.reshape(batch, steps)
        if self.stateful:
            if self._expected_batch_size is not None and batch != self._expected_batch_size:
                raise ValueError(
                    f"{name}: if an RNN is stateful, the batch size of the input sequences must be the same as "
                    f"the batch size of the initial state. Expected batch size: {self._expected_batch_size}, "
                    f"received batch size: {batch}"
                )
        if initial_state is None:
            initial_state = self.states if self.stateful else self.get_initial_state(batch)
        else:
            initial_state = self._check_initial_state(initial_state, batch)
        self._check_cudnn(mask)
        try:
            last, outs, states = self._loop(sequences, list(initial_state), mask, training)
        finally:
            _reset_dropout(self.cell)
        if self.stateful and not in_symbolic_call() and not _PROBING[0]:
            self.__dict__["states"] = _pack_as(states, [s.detach() for s in flatten(states)])
        output = ops.stack(outs, 1) if self.return_sequences else last
        self.__dict__["_n_states"] = len(flatten(states))
        if self.return_state:
            return [output] + list(states)
        return output

    def _check_cudnn(self, mask) -> None:
        """``use_cudnn=True`` configurations Keras's fused kernels cannot run raise (see ``LSTM``/``GRU``)."""

    def _loop(self, sequences, states, mask, training):
        cell = self.cell
        steps = sequences.shape[1]
        symbolic = in_symbolic_call() and steps > 2
        if symbolic:
            # Shapes only: the first step and one recurrent step show every output shape.
            sequences = sequences[:, :2]
        fast = isinstance(cell, _DropoutCell)
        if fast:
            xs = _time_steps(cell._project(sequences, training), 1)
        else:
            xs = _time_steps(sequences, 1)
        ms = None if mask is None else list(ops.unbind(mask[:, : len(xs)], 1))
        if self.go_backwards:
            xs.reverse()
            if ms is not None:
                ms.reverse()
        outs, prev = [], None
        for t, xt in enumerate(xs):
            if fast:
                out, new = cell._recur(xt, states, training)
            else:
                out, new = _call_cell(cell, xt, states, training)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
            if ms is not None:
                m = ms[t]
                if prev is None:
                    prev = ops.zeros_like(out)
                keep = prev if not self.zero_output_for_mask else ops.zeros_like(out)
                out = ops.where(_expand(m, out), out, keep)
                flat_new = [ops.where(_expand(m, s), s, o) for s, o in zip(flatten(new), flatten(states))]
                new = _pack_as(new, flat_new)
                prev = out
            states = new
            if self.return_sequences or t == len(xs) - 1:
                outs.append(out)
        if symbolic and self.return_sequences:
            outs = outs + [outs[-1]] * (steps - len(outs))
        return outs[-1], outs, states

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            n = self.__dict__.get("_n_states") or len(flatten(self.state_size))
            return [output_mask] + [None] * n
        return output_mask

    def _rnn_config(self) -> dict:
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_config(self) -> dict:
        from . import serialize

        cfg = {**super().get_config(), **self._rnn_config()}
        cfg["cell"] = serialize(self.cell)
        return cfg

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        from . import deserialize

        config = dict(config)
        cell = deserialize(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _expand(mask_t: Tensor, like: Tensor) -> Tensor:
    """The (batch,) step mask broadcastable against ``like`` (batch, ...)."""
    return mask_t.reshape((mask_t.shape[0],) + (1,) * (like.ndim - 1))


# -- SimpleRNN / LSTM / GRU ----------------------------------------------------------------------------------
_CELL_PROPS = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "dropout", "recurrent_dropout",
    "kernel_constraint", "recurrent_constraint", "bias_constraint",
)  # fmt: skip


class _CellLayer(RNN):
    """An ``RNN`` over one built-in cell, whose arguments it takes and whose attributes it shows."""

    _cell_class = None
    _cell_name = ""

    def __init__(self, cell_kwargs: dict, rnn_kwargs: dict, kwargs: dict):
        kwargs = dict(kwargs)
        # SimpleRNN has no cuDNN kernel in Keras: there the argument stays unknown (a TypeError)
        use_cudnn = "auto" if self._cell_class is SimpleRNNCell else kwargs.pop("use_cudnn", "auto")
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                f"{type(self).__name__}: invalid value received for argument `use_cudnn`. Expected one of "
                f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn}"
            )
        cell_kwargs = dict(cell_kwargs, units=_check_units(type(self).__name__, cell_kwargs["units"]))
        implementation = kwargs.pop("implementation", None)
        if implementation is not None and self._cell_class is not SimpleRNNCell:
            cell_kwargs["implementation"] = implementation
        cell = self._cell_class(
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=self._cell_name,
            **cell_kwargs,
        )
        super().__init__(cell, **rnn_kwargs, **kwargs)
        self.use_cudnn = use_cudnn
        self.input_spec = InputSpec(ndim=3)

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        super().build(sequences_shape, initial_state_shape)
        self.input_spec = InputSpec(ndim=3, axes={-1: sequences_shape[-1]})

    def _check_cudnn(self, mask) -> None:
        # Keras's fused LSTM/GRU (the torch backend's, on any device) take no mask, no recurrent dropout and
        # only GRU's reset_after=True; with use_cudnn=True (not 'auto') those configurations are errors
        if self.use_cudnn is not True:
            return
        if mask is not None or self.cell.recurrent_dropout or not getattr(self.cell, "reset_after", True):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': use_cudnn=True was specified, but cuDNN is not supported "
                "for this layer configuration with this backend (a mask, recurrent_dropout or "
                "reset_after=False). Pass use_cudnn='auto' to fallback to a non-cuDNN implementation."
            )

    @property
    def seed(self):
        return self.cell.seed

    def get_config(self) -> dict:
        cfg = {**Layer.get_config(self), **self._rnn_config()}
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cell_cfg.pop(k, None)
        cfg.update(cell_cfg)
        cfg["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
        if self.use_cudnn != "auto":
            cfg["use_cudnn"] = self.use_cudnn
        return cfg

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        return cls(**config)


for _p in _CELL_PROPS + ("recurrent_activation", "unit_forget_bias", "reset_after"):
    setattr(_CellLayer, _p, property(lambda self, _p=_p: getattr(self.cell, _p)))


class SimpleRNN(_CellLayer):
    """Fully connected recurrence ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``
    (an ``RNN`` over a ``SimpleRNNCell``); ``dropout``/``recurrent_dropout`` drop inputs / states in training.

    Example:
        >>> rnn = ts.keras.layers.SimpleRNN(8, return_sequences=True)
        >>> rnn(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 10, 8])
    """

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def get_config(self) -> dict:
        cfg = super().get_config()
        del cfg["seed"]  # Keras's SimpleRNN leaves its cell's seed out of the config
        return cfg

    def __init__(
        self,
        units: int,
        activation="tanh",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed=None,
        **kwargs,
    ):
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed,
        )  # fmt: skip
        rnn_kwargs = dict(
            return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer,
        )  # fmt: skip
        super().__init__(cell_kwargs, rnn_kwargs, kwargs)


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter 1997), an ``RNN`` over an ``LSTMCell`` (gates i, f, c, o);
    ``unit_forget_bias`` (default) starts the forget-gate bias at one. With ``return_state`` the call returns
    ``[output, h, c]``.

    Example:
        >>> lstm = ts.keras.layers.LSTM(16, return_state=True)
        >>> out, h, c = lstm(ts.randn(4, 10, 3))
        >>> out.shape, c.shape
        (tessera.Size([4, 16]), tessera.Size([4, 16]))
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed=None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        use_cudnn="auto",
        **kwargs,
    ):
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed,
        )  # fmt: skip
        rnn_kwargs = dict(
            return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer,
        )  # fmt: skip
        super().__init__(cell_kwargs, rnn_kwargs, {**kwargs, "use_cudnn": use_cudnn})


class GRU(_CellLayer):
    """Gated recurrent unit (Cho 2014), an ``RNN`` over a ``GRUCell`` (gates z, r, h). ``reset_after=True``
    (default) applies the reset gate after the recurrent matmul (bias shape (2, 3 * units));
    ``reset_after=False`` is the original formulation (bias shape (3 * units,)).

    Example:
        >>> ts.keras.layers.GRU(8)(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 8])
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed=None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = True,
        use_cudnn="auto",
        **kwargs,
    ):
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
            reset_after=reset_after, seed=seed,
        )  # fmt: skip
        rnn_kwargs = dict(
            return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
            stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer,
        )  # fmt: skip
        super().__init__(cell_kwargs, rnn_kwargs, {**kwargs, "use_cudnn": use_cudnn})


# -- Masking -------------------------------------------------------------------------------------------------
class Masking(Layer):
    """Masks time steps whose features all equal ``mask_value``: those steps become zeros and the output
    carries the mask ``any(inputs != mask_value, axis=-1)`` for masking-aware layers (RNNs skip them).

    Example:
        >>> x = ts.tensor([[[1.0], [0.0], [2.0]]])
        >>> ts.keras.layers.Masking(0.0)(x)._keras_mask
        tensor([[ True, False,  True]])
    """

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real):
            raise TypeError(f"Masking: mask_value must be a number, got {mask_value!r}")
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.ne(inputs, self.mask_value), -1)

    def call(self, inputs: Tensor) -> Tensor:
        keep = ops.any(ops.ne(inputs, self.mask_value), -1, keepdim=True)
        out = inputs * keep.to(inputs.dtype)
        if not in_symbolic_call():
            set_keras_mask(out, keep.reshape(tuple(keep.shape[:-1])))
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}


# -- convolutional LSTM --------------------------------------------------------------------------------------
class _ConvLSTMCell(_DropoutCell):
    """One ConvLSTM step (Keras's ``ConvLSTMCell``): the four gates are convolutions of the input (``strides``,
    ``padding``, ``dilation_rate``) plus 'same' convolutions of the state; kernels are Keras's
    (*kernel_size, channels, 4 * filters) and (*kernel_size, filters, 4 * filters). Dropout uses one mask
    per gate, as Keras does."""

    gates = 4
    dropout_mask_count = 4

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed=None,
        owner: str = "ConvLSTM",
        **kwargs,
    ):
        from .conv import _padding, _tuple
        from .core import _data_format

        super().__init__(**kwargs)
        self._init_common(
            filters, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
        )  # fmt: skip
        self.rank = int(rank)
        self.filters = self.units
        self.kernel_size = _tuple(owner, "kernel_size", kernel_size, self.rank)
        self.strides = _tuple(owner, "strides", strides, self.rank)
        self.dilation_rate = _tuple(owner, "dilation_rate", dilation_rate, self.rank)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please provide "
                f"`strides=1` or `dilation_rate=1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}"
            )
        self.padding = _padding(owner, padding)
        self.data_format = _data_format(owner, data_format)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = -1  # as Keras: the states are feature maps, see get_initial_state
        self.__dict__["spatial_dims"] = None

    _bias_init = LSTMCell._bias_init

    def build(self, input_shape) -> None:
        cf = self.data_format == "channels_first"
        spatial = tuple(input_shape[2:] if cf else input_shape[1:-1])
        channels = input_shape[1 if cf else -1]
        if len(spatial) != self.rank or None in spatial:
            raise ValueError(
                f"ConvLSTM{self.rank}D: ConvLSTM layers only support static input shapes for the spatial "
                f"dimension. Received invalid input shape: input_shape={input_shape}"
            )
        if channels is None:
            raise ValueError(
                f"ConvLSTM{self.rank}D: the channel dimension of the inputs should be defined. Found None. "
                f"Full input shape received: input_shape={input_shape}"
            )
        self.__dict__["spatial_dims"] = spatial
        self.__dict__["input_dim"] = int(channels)
        f4 = 4 * self.filters
        self.add_weight(
            "kernel",
            self.kernel_size + (int(channels), f4),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.add_weight(
            "recurrent_kernel",
            self.kernel_size + (self.filters, f4),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.add_weight("bias", (f4,), initializer=self._bias_init(), regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)  # fmt: skip
        else:
            self.__dict__["bias"] = None

    def _out_spatial(self) -> tuple:
        out = []
        for n, k, s, d in zip(self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate):
            out.append(-(-n // s) if self.padding == "same" else (n - (k - 1) * d - 1) // s + 1)
        return tuple(out)

    def get_initial_state(self, batch_size=None) -> list:
        sp = self._out_spatial()
        shape = (
            (batch_size, self.filters) + sp
            if self.data_format == "channels_first"
            else ((batch_size,) + sp + (self.filters,))
        )
        return [creation.zeros(*shape, dtype=self._compute_dtype()) for _ in range(2)]

    # channels-first views for the F.conv ops
    def _cf(self, x):
        return ops.movedim(x, -1, 1) if self.data_format == "channels_last" else x

    def _back(self, y):
        return ops.movedim(y, 1, -1) if self.data_format == "channels_last" else y

    def _conv(self, x, kernel, strides, padding, dilation):
        from .conv import _CONV, _same_pads, _torch_pad

        r = self.rank
        w = kernel.permute((r + 1, r) + tuple(range(r)))
        x = self._cf(x)
        if padding == "same":
            pads = _same_pads(x.shape[2:], self.kernel_size, strides, dilation)
            if all(b == a for b, a in pads):
                pad = tuple(b for b, _ in pads)
            else:
                x, pad = ops.pad(x, _torch_pad(pads)), 0
        else:
            pad = 0
        return self._back(_CONV[r](x, w, None, strides, pad, dilation, 1))

    def _gate(self, z, g: int):
        f = self.filters
        return (
            z[..., g * f : (g + 1) * f] if self.data_format == "channels_last" else z[:, g * f : (g + 1) * f]
        )

    def _project(self, inputs: Tensor, training: bool):
        """The input convolutions of one step (batch, *spatial, channels) or of a whole sequence (folded
        into the batch) with the per-gate dropout masks."""
        seq = inputs.ndim == self.rank + 3
        x = inputs
        if seq:
            n, t = x.shape[0], x.shape[1]
            step = x[:, 0]
        else:
            step = x
        dp = self.get_dropout_mask(step) if training else None
        if dp is not None and seq:
            dp = [m.unsqueeze(1) for m in dp]

        def fold(v):
            return v.reshape((n * t,) + tuple(v.shape[2:])) if seq else v

        conv = lambda v, k: self._conv(fold(v), k, self.strides, self.padding, self.dilation_rate)  # noqa: E731
        if dp is None:
            z = conv(x, self.kernel)
        else:
            f = self.filters
            axis = -1 if self.data_format == "channels_last" else 1
            z = ops.cat([conv(x * m, self.kernel[..., g * f : (g + 1) * f]) for g, m in enumerate(dp)], axis)
        if self.use_bias:
            b = (
                self.bias
                if self.data_format == "channels_last"
                else self.bias.reshape((-1,) + (1,) * self.rank)
            )
            z = z + b
        if seq:
            z = z.reshape((n, t) + tuple(z.shape[1:]))
        return z

    def _recur(self, xw, states, training):
        h, c = states
        rdp = self.get_recurrent_dropout_mask(h) if training else None
        one = (1,) * self.rank
        rconv = lambda v, k: self._conv(v, k, one, "same", one)  # noqa: E731
        if rdp is None:
            rec = rconv(h, self.recurrent_kernel)
            parts = [self._gate(xw, g) + self._gate(rec, g) for g in range(4)]
        else:
            f = self.filters
            parts = [
                self._gate(xw, g) + rconv(h * m, self.recurrent_kernel[..., g * f : (g + 1) * f])
                for g, m in enumerate(rdp)
            ]
        act, ract = self.activation, self.recurrent_activation
        i, f_, o = ract(parts[0]), ract(parts[1]), ract(parts[3])
        c = f_ * c + i * act(parts[2])
        h = o * act(c)
        return h, [h, c]

    def call(self, inputs: Tensor, states, training: bool = False):
        states = list(states)
        return self._recur(self._project(inputs, bool(training)), states, bool(training))

    def get_config(self) -> dict:
        cfg = {**Layer.get_config(self), **self._get_common_config()}
        del cfg["units"]
        return {
            **cfg,
            "rank": self.rank,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "recurrent_activation": _activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class _ConvLSTM(RNN):
    """Keras's ``ConvLSTM`` base: an ``RNN`` over a convolutional LSTM cell on (batch, time, *spatial,
    channels) inputs (channels first with ``data_format='channels_first'``)."""

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed=None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        **kwargs,
    ):
        owner = type(self).__name__
        if kwargs.get("name") is None:  # Keras's snake case keeps "LSTM" whole: conv_lstm2d
            kwargs["name"] = unique_name(f"conv_lstm{self.rank}d")
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters <= 0:
            raise ValueError(f"{owner}: filters must be a positive int, got {filters!r}")
        cell = _ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            owner=owner, name="conv_lstm_cell", dtype=kwargs.get("dtype"),
        )  # fmt: skip
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = InputSpec(ndim=self.rank + 3)

    @property
    def seed(self):
        return self.cell.seed

    def get_config(self) -> dict:
        cfg = {**Layer.get_config(self), **self._rnn_config()}
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype", "rank"):
            cell_cfg.pop(k, None)
        cfg.update(cell_cfg)
        cfg["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
        return cfg

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        return cls(**config)


for _p in _CELL_PROPS[1:] + ("recurrent_activation", "unit_forget_bias", "filters", "kernel_size", "strides",
                             "padding", "data_format", "dilation_rate"):  # fmt: skip
    setattr(_ConvLSTM, _p, property(lambda self, _p=_p: getattr(self.cell, _p)))


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over (batch, time, steps, channels) inputs (Shi et al. 2015): LSTM gates are
    convolutions of the input and of the state.

    Example:
        >>> ts.keras.layers.ConvLSTM1D(4, 3, padding="same")(ts.randn(2, 5, 8, 3)).shape
        tessera.Size([2, 8, 4])
    """

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over (batch, time, rows, cols, channels) inputs (Shi et al. 2015).

    Example:
        >>> layer = ts.keras.layers.ConvLSTM2D(4, 3, return_sequences=True)
        >>> layer(ts.randn(2, 5, 8, 8, 3)).shape
        tessera.Size([2, 5, 6, 6, 4])
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM over (batch, time, dim1, dim2, dim3, channels) inputs (Shi et al. 2015).

    Example:
        >>> ts.keras.layers.ConvLSTM3D(2, 2)(ts.randn(1, 3, 4, 4, 4, 1)).shape
        tessera.Size([1, 3, 3, 3, 2])
    """

    rank = 3
