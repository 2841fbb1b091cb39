"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional) and their cells.

Each (layer, direction) runs as one autograd node over the whole sequence on the
``<kind>_forward`` / ``<kind>_backward`` kernels (time-major, one layer, one direction)."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Function
from ..backend import kernel
from ..tensor import Tensor, cat, stack
from . import init
from .module import Module, Parameter

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class Recurrence(Function):
    """One layer and direction over a sequence. Inputs: x (T, N, F), the initial state(s)
    (N, H) (h, plus c for the LSTM), w_ih, w_hh[, b_ih, b_hh]. Returns the hidden sequence
    (T, N, H); for the LSTM the cell sequence is appended on the last axis (T, N, 2H), whose
    only gradient-carrying part is the final cell state (all the caller exposes of it)."""

    def forward(self, x, *arrays, kind, reverse, nonlinearity="tanh"):
        n_states = 2 if kind == "lstm" else 1
        weights = list(arrays[n_states:]) + [None] * (4 - len(arrays[n_states:]))
        self.kind, self.reverse = kind, reverse
        self.options = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.inputs = (x, *arrays[:n_states], *weights)
        *_, self.saved = kernel(f"{kind}_forward")(*self.inputs, reverse=reverse, **self.options)
        output = self.saved[0]
        return np.concatenate([output, self.saved[1]], axis=-1) if kind == "lstm" else output

    def backward(self, grad):
        final_grads = [None]
        if self.kind == "lstm":
            hidden = grad.shape[-1] // 2
            final_grads.append(np.ascontiguousarray(grad[0 if self.reverse else -1, :, hidden:]))
            grad = grad[..., :hidden]
        grads = kernel(f"{self.kind}_backward")(
            np.ascontiguousarray(grad), *final_grads, *self.inputs, self.saved,
            reverse=self.reverse, **self.options)
        return tuple(grads[:len(self.needs_input_grad)])


class CellStep(Recurrence):
    """One time step of a cell on x (N, F): the recurrence over a length-1 sequence, without
    the sequence axis (one graph node instead of three with the unsqueeze and the indexing)."""

    def forward(self, x, *arrays, kind, nonlinearity="tanh"):
        return super().forward(x[None], *arrays, kind=kind, reverse=False,
                               nonlinearity=nonlinearity)[0]

    def backward(self, grad):
        grads = super().backward(grad[None])
        return (None if grads[0] is None else grads[0][0],) + grads[1:]


def _make_weights(module, kind, input_size, hidden_size, bias, suffix=""):
    gates = _GATES[kind] * hidden_size
    names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
    module.register_parameter(names[0], Parameter(np.empty((gates, input_size), np.float32)))
    module.register_parameter(names[1], Parameter(np.empty((gates, hidden_size), np.float32)))
    if bias:
        names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
        for name in names[2:]:
            module.register_parameter(name, Parameter(np.empty(gates, np.float32)))
    bound = 1.0 / math.sqrt(hidden_size)
    for name in names:
        init.uniform_(getattr(module, name), -bound, bound)
    return names


def _check_sizes(owner, input_size, hidden_size):
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{owner}: argument '{name}' must be a positive int, got {value!r}")


class _RNNBase(Module):
    kind = "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, nonlinearity="tanh"):
        super().__init__()
        owner = type(self).__name__
        _check_sizes(owner, input_size, hidden_size)
        if num_layers < 1:
            raise ValueError(f"{owner}: argument 'num_layers' must be >= 1, got {num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{owner}: argument 'dropout' must be in [0, 1], got {dropout}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{owner}: argument 'nonlinearity' must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.nonlinearity = bidirectional, nonlinearity
        self.num_directions = 2 if bidirectional else 1
        self._weight_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                self._weight_names.append(
                    _make_weights(self, self.kind, layer_input, hidden_size, bias, suffix))

    def _initial_states(self, hx, batch, batched):
        count = 2 if self.kind == "lstm" else 1
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return [Tensor(np.zeros(shape, np.float32))] * count
        states = list(hx) if count == 2 else [hx]
        if len(states) != count:
            raise ValueError(f"{type(self).__name__}: argument 'hx' must be (h0, c0)")
        states = [s if batched else s.unsqueeze(1) for s in states]
        for state in states:
            if tuple(state.shape) != shape:
                raise ValueError(f"{type(self).__name__}: initial state has shape "
                                 f"{tuple(state.shape)}, expected {shape}")
        return states

    def forward(self, input, hx=None):
        batched = input.ndim == 3
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: argument 'input' must be (T, N, "
                             f"{self.input_size}) (or batch_first / unbatched), got shape "
                             f"{tuple(input.shape)}")
        x = input if batched else input.unsqueeze(1)
        x = x.transpose(0, 1) if self.batch_first and batched else x
        states = self._initial_states(hx, x.shape[1], batched)
        finals = [[] for _ in states]
        options = {"nonlinearity": self.nonlinearity} if self.kind == "rnn" else {}
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                weights = [getattr(self, name) for name in self._weight_names[k]]
                y = Recurrence.apply(x, *[s[k] for s in states], *weights, kind=self.kind,
                                     reverse=direction == 1, **options)
                last = 0 if direction == 1 else -1
                hidden = self.hidden_size
                outputs.append(y[..., :hidden] if self.kind == "lstm" else y)
                finals[0].append(y[last, :, :hidden] if self.kind == "lstm" else y[last])
                if self.kind == "lstm":
                    finals[1].append(y[last, :, hidden:])
            x = outputs[0] if len(outputs) == 1 else cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first and batched else x
        final = [stack(f) if batched else stack(f).squeeze(1) for f in finals]
        output = output if batched else output.squeeze(1)
        return output, (tuple(final) if self.kind == "lstm" else final[0])

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        text += f", num_layers={self.num_layers}" if self.num_layers != 1 else ""
        text += f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else ""
        text += ", bias=False" if not self.bias else ""
        text += ", batch_first=True" if self.batch_first else ""
        text += f", dropout={self.dropout}" if self.dropout else ""
        return text + (", bidirectional=True" if self.bidirectional else "")


class RNN(_RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    kind = "rnn"


class _GatedRNNBase(_RNNBase):
    """LSTM and GRU: PyTorch's signature, which has no ``nonlinearity``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)


class LSTM(_GatedRNNBase):
    kind = "lstm"


class GRU(_GatedRNNBase):
    kind = "gru"


class _CellBase(Module):
    """One time step: runs the sequence kernels on a length-1 sequence (CellStep)."""

    kind = "rnn"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.nonlinearity = nonlinearity
        self._names = _make_weights(self, self.kind, input_size, hidden_size, bias)

    def forward(self, input, hx=None):
        batched = input.ndim == 2
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: argument 'input' must be (N, "
                             f"{self.input_size}), got shape {tuple(input.shape)}")
        x = input if batched else input.unsqueeze(0)
        count = 2 if self.kind == "lstm" else 1
        if hx is None:
            states = [Tensor(np.zeros((x.shape[0], self.hidden_size), np.float32))] * count
        else:
            states = list(hx) if count == 2 else [hx]
            states = [s if batched else s.unsqueeze(0) for s in states]
        options = {"nonlinearity": self.nonlinearity} if self.kind == "rnn" else {}
        y = CellStep.apply(x, *states, *[getattr(self, n) for n in self._names], kind=self.kind,
                           **options)
        outputs = [y[:, :self.hidden_size], y[:, self.hidden_size:]] if count == 2 else [y]
        outputs = outputs if batched else [o.squeeze(0) for o in outputs]
        return tuple(outputs) if count == 2 else outputs[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    kind = "rnn"


class LSTMCell(_CellBase):
    kind = "lstm"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(input_size, hidden_size, bias)


class GRUCell(_CellBase):
    kind = "gru"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(input_size, hidden_size, bias)
