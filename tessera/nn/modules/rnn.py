"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells, with PyTorch's parameter names,
layouts, gate orders (LSTM i, f, g, o; GRU r, z, n) and initialisation.

The input projection of every time step is one GEMM before the time loop; each step then costs one small
matmul with the recurrent weights and a handful of elementwise ops, all recorded by autograd.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ... import ops
from ...core import creation
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_matmul = ops.matmul
_sigmoid = ops.sigmoid
_tanh = ops.tanh
_relu = ops.relu


# -- one time step, shared by the layers and the cells -------------------------------------------------------
def _rnn_step(act, xw, h, w_hh_t):
    """``act(x W_ih^T + b_ih + b_hh + h W_hh^T)``; ``h`` None means a zero state."""
    return act(xw if h is None else xw + _matmul(h, w_hh_t))


def _lstm_step(xw, h, c, w_hh_t, H, w_hr_t=None):
    """One LSTM step from the projected input ``xw`` (N, 4H); None states mean zeros. Returns (h, c)."""
    gates = xw if h is None else xw + _matmul(h, w_hh_t)
    s = _sigmoid(gates)  # i, f, o (the g block is recomputed with tanh below: one op instead of four)
    i = s[..., :H]
    o = s[..., 3 * H :]
    g = _tanh(gates[..., 2 * H : 3 * H])
    c = i * g if c is None else s[..., H : 2 * H] * c + i * g
    h = o * _tanh(c)
    if w_hr_t is not None:
        h = _matmul(h, w_hr_t)
    return h, c


def _gru_step(xw_rz, xw_n, h, w_hh_t, b_hh, H):
    """One GRU step from the projected input split as ``xw_rz`` (N, 2H) and ``xw_n`` (N, H)."""
    if h is None:
        gh = b_hh
        if gh is None:
            rz = _sigmoid(xw_rz)
            z = rz[..., H:]
            n = _tanh(xw_n)
            return n - z * n
    else:
        gh = _matmul(h, w_hh_t)
        if b_hh is not None:
            gh = gh + b_hh
    rz = _sigmoid(xw_rz + gh[..., : 2 * H])
    r = rz[..., :H]
    z = rz[..., H:]
    n = _tanh(xw_n + r * gh[..., 2 * H :])
    return n - z * n if h is None else n + z * (h - n)


def _time_steps(x: Tensor, dim: int) -> list:
    """The slices of ``x`` along ``dim``. For long sequences needing gradients the slicing goes through
    ~sqrt(T) chunks, so the backward pass scatters each step's gradient into a chunk-sized buffer rather
    than a buffer of the whole sequence (O(T^1.5) memory traffic instead of O(T^2))."""
    T = x.shape[dim]
    if T <= 16 or not x.requires_grad:
        return list(ops.unbind(x, dim))
    size = math.isqrt(T)
    return [s for chunk in ops.split(x, size, dim) for s in ops.unbind(chunk, dim)]


def _check_size(name: str, what: str, t: Tensor, expected: tuple) -> None:
    if tuple(t.shape) != expected:
        raise RuntimeError(f"{name}: expected {what} of shape {expected}, got {tuple(t.shape)}")


def _check_dtype(name: str, t: Tensor, ref: Tensor, what: str) -> None:
    if t.dtype is not ref.dtype:
        raise RuntimeError(
            f"{name}: expected {what} with dtype {ref.dtype.name} (the parameters' dtype), got {t.dtype.name}"
        )


# -- full sequence layers ------------------------------------------------------------------------------------
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU``: parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` for a projected LSTM), with ``_reverse`` for
    the backward direction, all initialised uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}")
        for arg, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"{name}: {arg} should be of type int, got: {type(v).__name__}")
        if input_size < 0:
            raise ValueError(f"{name}: input_size must be non-negative, got {input_size}")
        if hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be greater than zero, got {num_layers}")
        if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{name}: dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        if not isinstance(proj_size, numbers.Integral) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a non-negative integer, got {proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})"
            )
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = int(proj_size)
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [
                    (f"weight_ih_l{layer}{suffix}", (gate_size, layer_input)),
                    (f"weight_hh_l{layer}{suffix}", (gate_size, real_hidden)),
                ]
                if bias:
                    shapes += [
                        (f"bias_ih_l{layer}{suffix}", (gate_size,)),
                        (f"bias_hh_l{layer}{suffix}", (gate_size,)),
                    ]
                if proj_size > 0:
                    shapes.append((f"weight_hr_l{layer}{suffix}", (proj_size, hidden_size)))
                for pname, shape in shapes:
                    setattr(self, pname, Parameter(creation.empty(*shape, dtype=dtype)))
                self._flat_weights_names.extend(n for n, _ in shapes)
                self._all_weights.append([n for n, _ in shapes])
        self.reset_parameters()

    @property
    def _name(self) -> str:
        return type(self).__name__

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op kept for API compatibility (PyTorch compacts cuDNN weights here)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters as a list (one entry per layer and direction) of lists."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- input checking --------------------------------------------------------------------------------------
    def _prepare(self, input, hx, is_lstm):
        """Validate ``input``/``hx``; return (batched input, [h0 per layer and direction] | None,
        [c0 ...] | None, batched)."""
        name = self._name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected input to be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        batched = input.ndim == 3
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{input.shape[-1]} (input shape {tuple(input.shape)})"
            )
        w0 = self.weight_ih_l0
        _check_dtype(name, input, w0, "input")
        if input._data.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating point input, got {input.dtype.name}")
        T = input.shape[1 if batched and self.batch_first else 0]
        if T == 0:
            raise RuntimeError(
                f"{name}: expected a non-empty sequence, got input of shape {tuple(input.shape)}"
            )
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        N = input.shape[0 if self.batch_first else 1]
        D = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        h0 = c0 = None
        if hx is not None:
            if is_lstm:
                if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                    raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0) of two tensors")
                h, c = hx
                states = (("h_0", h, real_hidden), ("c_0", c, self.hidden_size))
            else:
                if not isinstance(hx, Tensor):
                    raise TypeError(f"{name}: expected hx to be a Tensor, got {type(hx).__name__}")
                states = (("h_0", hx, real_hidden),)
            out = []
            for what, t, width in states:
                if not isinstance(t, Tensor):
                    raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(t).__name__}")
                want_nd = 3 if batched else 2
                if t.ndim != want_nd:
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    raise RuntimeError(
                        f"{name}: for {kind} input, {what} should also be {want_nd}-D but got {t.ndim}-D "
                        f"tensor "
                        f"of shape {tuple(t.shape)}"
                    )
                if not batched:
                    t = t.unsqueeze(1)
                _check_size(name, f"{what} (hidden size)", t, (self.num_layers * D, N, width))
                _check_dtype(name, t, w0, what)
                out.append(list(ops.unbind(t, 0)))
            h0 = out[0]
            c0 = out[1] if is_lstm else None
        return input, h0, c0, batched

    def _forward(self, input, hx, is_lstm):
        """(output, final states) for a padded tensor or a ``PackedSequence``. A packed batch runs padded,
        each sequence's state frozen past its length, so its final state is the one at its last step and
        a reverse direction starts at its last element; the output is packed again in the input's order."""
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            sequence = input
            input, lengths = pad_packed_sequence(sequence, batch_first=self.batch_first)
        x, h0, c0, batched = self._prepare(input, hx, is_lstm)
        out, h_last, c_last = self._run(x, h0, c0, lengths)
        out, states = self._finish(out, (h_last, c_last) if is_lstm else (h_last,), batched)
        if packed:
            repacked = pack_padded_sequence(out, lengths, self.batch_first, enforce_sorted=False)
            if sequence.sorted_indices is None:  # the input was sorted: the same order, no indices
                repacked = repacked._replace(sorted_indices=None, unsorted_indices=None)
            out = repacked
        return out, states

    def _finish(self, output, states, batched):
        h_n = tuple(ops.stack(s, 0) for s in states)
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n = tuple(h.squeeze(1) for h in h_n)
        return output, h_n

    # -- the recurrence ------------------------------------------------------------------------------------
    def _run(self, x, h0, c0, lengths=None):
        """All layers and directions over the batched (T, N, I) / (N, T, I) input ``x``; with ``lengths``
        (N,) a sequence's state stops changing after its last step."""
        mode = self.mode
        H = self.hidden_size
        tdim = 1 if self.batch_first else 0
        D = 2 if self.bidirectional else 1
        act = _relu if mode == "RNN_RELU" else _tanh
        h_last, c_last = [], []
        valid = zeros = None
        if lengths is not None:
            T, N = x.shape[tdim], x.shape[1 - tdim]
            valid = ops.unbind((creation.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).unsqueeze(-1), 0)
            zeros = creation.zeros(N, H, dtype=x.dtype)
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
            dir_outputs = []
            for direction in range(D):
                k = layer * D + direction
                sfx = f"l{layer}_reverse" if direction else f"l{layer}"
                w_ih = getattr(self, "weight_ih_" + sfx)
                w_hh_t = getattr(self, "weight_hh_" + sfx).mT
                b_ih = getattr(self, "bias_ih_" + sfx) if self.bias else None
                b_hh = getattr(self, "bias_hh_" + sfx) if self.bias else None
                h = None if h0 is None else h0[k]
                c = None if c0 is None else c0[k]
                outs = []
                if mode == "GRU":
                    xw_rz = F.linear(x, w_ih[: 2 * H], None if b_ih is None else b_ih[: 2 * H])
                    xw_n = F.linear(x, w_ih[2 * H :], None if b_ih is None else b_ih[2 * H :])
                    steps = list(enumerate(zip(_time_steps(xw_rz, tdim), _time_steps(xw_n, tdim))))
                    if direction:
                        steps.reverse()
                    for t, (a, b) in steps:
                        h_new = _gru_step(a, b, h, w_hh_t, b_hh, H)
                        h = h_new if valid is None else ops.where(valid[t], h_new, zeros if h is None else h)
                        outs.append(h)
                else:
                    b = None if b_ih is None else b_ih + b_hh
                    steps = list(enumerate(_time_steps(F.linear(x, w_ih, b), tdim)))
                    if direction:
                        steps.reverse()
                    if mode == "LSTM":
                        w_hr = getattr(self, "weight_hr_" + sfx).mT if self.proj_size > 0 else None
                        h_zeros = zeros if valid is None or w_hr is None else creation.zeros(
                            x.shape[1 - tdim], self.proj_size, dtype=x.dtype)  # fmt: skip
                        for t, xw in steps:
                            h_new, c_new = _lstm_step(xw, h, c, w_hh_t, H, w_hr)
                            if valid is None:
                                h, c = h_new, c_new
                            else:
                                h = ops.where(valid[t], h_new, h_zeros if h is None else h)
                                c = ops.where(valid[t], c_new, zeros if c is None else c)
                            outs.append(h)
                        c_last.append(c)
                    else:
                        for t, xw in steps:
                            h_new = _rnn_step(act, xw, h, w_hh_t)
                            h = (
                                h_new
                                if valid is None
                                else ops.where(valid[t], h_new, zeros if h is None else h)
                            )
                            outs.append(h)
                h_last.append(h)
                if direction:
                    outs.reverse()
                dir_outputs.append(ops.stack(outs, tdim))
            x = dir_outputs[0] if D == 1 else ops.cat(dir_outputs, -1)
        return x, h_last, c_last


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU), stacked over
    ``num_layers`` and optionally bidirectional.

    Input (L, N, input_size) ((N, L, input_size) with ``batch_first``, or (L, input_size) unbatched) and an
    optional ``h_0`` of shape (num_layers * num_directions, N, hidden_size). Returns ``(output, h_n)``.

    Example:
        >>> rnn = ts.nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(ts.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (tessera.Size([5, 3, 20]), tessera.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, (h_n,) = self._forward(input, hx, False)
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory, gates ordered (i, f, g, o) as in PyTorch:
    ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)`` (times ``weight_hr`` when ``proj_size > 0``).

    Input as for ``RNN``; the optional state is a tuple ``(h_0, c_0)``. Returns ``(output, (h_n, c_n))``.

    Example:
        >>> lstm = ts.nn.LSTM(10, 20, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(ts.randn(3, 5, 10))
        >>> output.shape, h_n.shape, c_n.shape
        (tessera.Size([3, 5, 40]), tessera.Size([2, 3, 20]), tessera.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        return self._forward(input, hx, True)


class GRU(RNNBase):
    """Gated recurrent unit, gates ordered (r, z, n) as in PyTorch:
    ``n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))``, ``h_t = (1 - z) * n + z * h_{t-1}``.

    Example:
        >>> gru = ts.nn.GRU(10, 20)
        >>> output, h_n = gru(ts.randn(5, 10))      # unbatched
        >>> output.shape, h_n.shape
        (tessera.Size([5, 20]), tessera.Size([1, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, (h_n,) = self._forward(input, hx, False)
        return out, h_n


# -- cells ---------------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Parameters ``weight_ih`` (num_chunks * hidden, input), ``weight_hh`` (num_chunks * hidden, hidden),
    ``bias_ih``, ``bias_hh``, initialised uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None
    ):
        super().__init__()
        name = type(self).__name__
        for arg, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name}: {arg} must be a non-negative int, got {v!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        self.weight_ih = Parameter(creation.empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def _prepare(self, input, states):
        """Validate; return (batched input, batched states (None where not given), batched)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected input to be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size} "
                f"(input shape {tuple(input.shape)})"
            )
        _check_dtype(name, input, self.weight_ih, "input")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        N = input.shape[0]
        out = []
        for what, t in states:
            if t is not None:
                if not isinstance(t, Tensor):
                    raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(t).__name__}")
                if t.ndim != (2 if batched else 1):
                    raise RuntimeError(
                        f"{name}: expected {what} to be {'2' if batched else '1'}-D like the "
                        f"{'batched' if batched else 'unbatched'} input, got shape {tuple(t.shape)}"
                    )
                if not batched:
                    t = t.unsqueeze(0)
                _check_size(name, f"{what} (hidden size)", t, (N, self.hidden_size))
                _check_dtype(name, t, self.weight_ih, what)
            else:  # zeros, as PyTorch: weight_hh then gets a (zero) gradient too
                t = creation.zeros(N, self.hidden_size, dtype=self.weight_ih.dtype)
            out.append(t)
        return input, out, batched

    def _xw(self, x):
        b = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        return F.linear(x, self.weight_ih, b)


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Example:
        >>> cell = ts.nn.RNNCell(10, 20)
        >>> cell(ts.randn(3, 10)).shape
        tessera.Size([3, 20])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, (("hx", hx),))
        act = _tanh if self.nonlinearity == "tanh" else _relu
        h = _rnn_step(act, self._xw(x), h, self.weight_hh.mT)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o); ``hx`` is an optional tuple ``(h, c)``; returns ``(h', c')``.

    Example:
        >>> cell = ts.nn.LSTMCell(10, 20)
        >>> h, c = cell(ts.randn(3, 10))
        >>> h.shape, c.shape
        (tessera.Size([3, 20]), tessera.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError("LSTMCell: expected hx to be a tuple (h, c) of two tensors")
        h, c = (None, None) if hx is None else hx
        x, (h, c), batched = self._prepare(input, (("h", h), ("c", c)))
        h, c = _lstm_step(self._xw(x), h, c, self.weight_hh.mT, self.hidden_size)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n).

    Example:
        >>> cell = ts.nn.GRUCell(10, 20)
        >>> cell(ts.randn(3, 10)).shape
        tessera.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, (("hx", hx),))
        H = self.hidden_size
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        h = _gru_step(xw[..., : 2 * H], xw[..., 2 * H :], h, self.weight_hh.mT, self.bias_hh, H)
        return h if batched else h.squeeze(0)
