"""Recurrent layers ``SimpleRNN``, ``LSTM`` and ``GRU`` with Keras's weights and gate layouts.

Inputs are (batch, timesteps, features). Weights: ``kernel`` (features, gates * units), ``recurrent_kernel``
(units, gates * units) and ``bias``; LSTM gates are ordered i, f, c, o (PyTorch's i, f, g, o), GRU gates
z, r, h (PyTorch's are r, z, n) with ``reset_after=True`` (the default, PyTorch's formulation) giving a
``bias`` of shape (2, 3 * units): the input bias then the recurrent bias. The time steps run through the
same step functions as ``ts.nn.RNN``/``LSTM``/``GRU``: one input projection GEMM for the whole sequence,
then one small matmul per step.
"""

from __future__ import annotations

import numbers

import numpy as np

from ... import ops
from ...core import creation
from ...core.tensor import Tensor
from ...nn import functional as F
from ...nn.modules.rnn import _gru_step, _lstm_step, _rnn_step, _time_steps
from .. import activations as _activations
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer, in_symbolic_call
from .core import _no_constraint, _ser_init

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _ForgetBiasInit(_initializers.Initializer):
    """Keras's ``unit_forget_bias``: ``bias_initializer`` for the i, c, o blocks and ones for f."""

    def __init__(self, base, units):
        self.base, self.units = base, units

    def __call__(self, shape, dtype=None):
        u = self.units
        b = self.base((u,), dtype)
        return np.concatenate([b, np.ones((u,), b.dtype), self.base((2 * u,), dtype)])


class _RNN(Layer):
    gates = 1
    _has_recurrent_activation = True

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
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        _no_constraint(
            cls,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
        )
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError(f"{cls}: units must be a positive int, got {units!r}")
        for name, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(v, numbers.Real) or not 0 <= v < 1:
                raise ValueError(f"{cls}: {name} must be in [0, 1), got {v!r}")
        if recurrent_dropout:
            raise NotImplementedError(f"{cls}: recurrent_dropout is not supported")
        if stateful:
            raise NotImplementedError(f"{cls}: stateful=True is not supported")
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.recurrent_initializer = _initializers.get(recurrent_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.input_spec = InputSpec(ndim=3)

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
            "kernel", (features, gu), initializer=self.kernel_initializer, regularizer=self.kernel_regularizer
        )
        self.add_weight(
            "recurrent_kernel",
            (self.units, gu),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        if self.use_bias:
            self.add_weight(
                "bias", self._bias_shape(), initializer=self._bias_init(), regularizer=self.bias_regularizer
            )
        self.input_spec = InputSpec(ndim=3, axes={-1: features})

    def _states(self, initial_state, n):
        k = 2 if isinstance(self, LSTM) else 1
        if initial_state is None:
            return [None] * k
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != k:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected {k} initial state tensor(s), got {len(states)}"
            )
        for s in states:
            if not isinstance(s, Tensor) or tuple(s.shape) != (n, self.units):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': initial states must have shape ({n}, {self.units}), "
                    f"got {tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__}"
                )
        return states

    def call(self, inputs: Tensor, initial_state=None, training=None, mask=None):
        if mask is not None:
            raise NotImplementedError(f"{type(self).__name__} '{self.name}': masks are not supported")
        training = self.training if training is None else bool(training)
        x = inputs
        if self.dropout and training:
            keep = F.dropout(creation.ones(x.shape[0], 1, x.shape[2], dtype=x.dtype), self.dropout, True)
            x = x * keep
        states = self._states(initial_state, x.shape[0])
        steps = x.shape[1]
        symbolic = in_symbolic_call() and steps > 2
        if symbolic:
            # Shapes only: the first step (no state yet) and one recurrent step show every output shape.
            x = x[:, :2]
        outs, states = self._run(x, states)
        if symbolic:
            outs = outs + [outs[-1]] * (steps - len(outs))
        if self.return_sequences:
            output = ops.stack(outs, 1)
        else:
            output = outs[-1]
        if self.return_state:
            return [output] + list(states)
        return output

    def _steps(self, xw):
        steps = _time_steps(xw, 1)
        if self.go_backwards:
            steps.reverse()
        return steps

    def get_config(self) -> dict:
        cfg = {
            **super().get_config(),
            "units": self.units,
            "activation": _activations.serialize(self.activation),
        }
        if self._has_recurrent_activation:
            cfg["recurrent_activation"] = _activations.serialize(self.recurrent_activation)
        cfg.update(
            use_bias=self.use_bias,
            kernel_initializer=_ser_init(self.kernel_initializer),
            recurrent_initializer=_ser_init(self.recurrent_initializer),
            bias_initializer=_ser_init(self.bias_initializer),
            kernel_regularizer=_regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=_regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=_regularizers.serialize(self.bias_regularizer),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
        )
        return cfg


def _zeros_state(x: Tensor, units: int) -> Tensor:
    return creation.zeros(x.shape[0], units, dtype=x.dtype)


class SimpleRNN(_RNN):
    """Fully connected recurrence ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Example:
        >>> rnn = ts.keras.layers.SimpleRNN(8, return_sequences=True)
        >>> rnn(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 10, 8])
    """

    gates = 1
    _has_recurrent_activation = False

    def __init__(self, units: int, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def _run(self, x, states):
        xw = ops.matmul(x, self.kernel)
        if self.use_bias:
            xw = xw + self.bias
        h = states[0]
        outs = []
        for xt in self._steps(xw):
            h = _rnn_step(self.activation, xt, h, self.recurrent_kernel)
            outs.append(h)
        return outs, [h]


class LSTM(_RNN):
    """Long short-term memory (Hochreiter 1997), Keras gate order i, f, c, o; ``unit_forget_bias`` (default)
    initialises the forget-gate bias to one. With ``return_state`` the call returns ``[output, h, c]``.

    Example:
        >>> lstm = ts.keras.layers.LSTM(16, return_state=True)
        >>> out, h, c = lstm(ts.randn(4, 10, 3))
        >>> out.shape, c.shape
        (tessera.Size([4, 16]), tessera.Size([4, 16]))
    """

    gates = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        if self.unit_forget_bias:
            return _ForgetBiasInit(self.bias_initializer, self.units)
        return self.bias_initializer

    def _run(self, x, states):
        u = self.units
        xw = ops.matmul(x, self.kernel)
        if self.use_bias:
            xw = xw + self.bias
        h, c = states
        U = self.recurrent_kernel
        fast = self.activation is _activations.tanh and self.recurrent_activation is _activations.sigmoid
        act, ract = self.activation, self.recurrent_activation
        outs = []
        for xt in self._steps(xw):
            if fast:
                h, c = _lstm_step(xt, h, c, U, u)
            else:
                z = xt if h is None else xt + ops.matmul(h, U)
                i, f, g, o = (
                    ract(z[..., :u]),
                    ract(z[..., u : 2 * u]),
                    act(z[..., 2 * u : 3 * u]),
                    ract(z[..., 3 * u :]),
                )
                c = i * g if c is None else f * c + i * g
                h = o * act(c)
            outs.append(h)
        return outs, [h, c]

    def get_config(self) -> dict:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit, Keras gate order z, r, h. ``reset_after=True`` (default) applies the reset gate
    after the recurrent matmul (PyTorch's GRU, bias shape (2, 3 * units)); ``reset_after=False`` is the
    original formulation (bias shape (3 * units,)).

    Example:
        >>> ts.keras.layers.GRU(8)(ts.randn(4, 10, 3)).shape
        tessera.Size([4, 8])
    """

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, x, states):
        u = self.units
        U = self.recurrent_kernel
        xw = ops.matmul(x, self.kernel)
        b_in = b_rec = None
        if self.use_bias:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
            xw = xw + b_in
        h = states[0]
        act, ract = self.activation, self.recurrent_activation
        outs = []
        if self.reset_after and act is _activations.tanh and ract is _activations.sigmoid:
            # PyTorch's step wants gates ordered r, z, n: reorder the blocks once per call
            xw_rz = ops.cat([xw[..., u : 2 * u], xw[..., :u]], -1)
            xw_n = xw[..., 2 * u :]
            w_hh_t = ops.cat([U[:, u : 2 * u], U[:, :u], U[:, 2 * u :]], -1)
            b_hh = None if b_rec is None else ops.cat([b_rec[u : 2 * u], b_rec[:u], b_rec[2 * u :]], -1)
            pairs = list(zip(_time_steps(xw_rz, 1), _time_steps(xw_n, 1)))
            if self.go_backwards:
                pairs.reverse()
            for a, b in pairs:
                h = _gru_step(a, b, h, w_hh_t, b_hh, u)
                outs.append(h)
            return outs, [h]
        for xt in self._steps(xw):
            hp = _zeros_state(x, u) if h is None else h
            if self.reset_after:
                gh = ops.matmul(hp, U)
                if b_rec is not None:
                    gh = gh + b_rec
                z = ract(xt[..., :u] + gh[..., :u])
                r = ract(xt[..., u : 2 * u] + gh[..., u : 2 * u])
                hh = act(xt[..., 2 * u :] + r * gh[..., 2 * u :])
            else:
                gh = ops.matmul(hp, U[:, : 2 * u])
                z = ract(xt[..., :u] + gh[..., :u])
                r = ract(xt[..., u : 2 * u] + gh[..., u:])
                hh = act(xt[..., 2 * u :] + ops.matmul(r * hp, U[:, 2 * u :]))
            h = z * hp + (1 - z) * hh
            outs.append(h)
        return outs, [h]

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}
