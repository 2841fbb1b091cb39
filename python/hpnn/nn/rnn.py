"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional) and their cells.

Each (layer, direction) runs as one autograd node over the whole sequence on the
``<kind>_forward`` / ``<kind>_backward`` kernels (time-major, one layer, one direction)."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Function
from ..errors import ShapeError
from ..backend import kernel
from ..kernels import rnn as native_rnn
from ..tensor import cat, stack
from . import init
from ._checks import affordable_parameters, choice, positive_int, real
from .module import Module, Parameter

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class Recurrence(Function):
    """One layer and direction over a sequence. Inputs: x (T, N, F), the initial state(s)
    (N, H) (h, plus c for the LSTM) unless ``has_states`` is False (zeros then), w_ih, w_hh[,
    b_ih, b_hh]. Returns the hidden sequence (T, N, H), the kernel's own array; h_n is its last
    step. The LSTM's final cell state is exposed by FinalCell, which needs this node: pass a
    list as ``handle`` and the node is appended to it. ``batch_first_in`` / ``batch_first_out``:
    x is (N, T, F) / the output is returned as (N, T, H) (a view), sparing two graph nodes."""

    def forward(self, x, *arrays, kind, reverse, has_states=True, nonlinearity="tanh",
                handle=None, batch_first_in=False, batch_first_out=False):
        self.batch_first = batch_first_in, batch_first_out
        x = x.transpose(1, 0, 2) if batch_first_in else x
        n_states = (2 if kind == "lstm" else 1) if has_states else 0
        states = list(arrays[:n_states]) + [None] * (2 - n_states)
        weights = list(arrays[n_states:]) + [None] * (4 - len(arrays[n_states:]))
        self.kind, self.reverse, self.has_states = kind, reverse, has_states
        self.options = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.native = _takes_native(kind, x, weights[1])
        if self.native:
            x = np.ascontiguousarray(x)  # once, not once per kernel call
        run = native_rnn.sequence_forward if self.native else _checked_forward
        output, self.c_n, self.saved = run(kind, x, *states, weights, reverse, **self.options)
        self.x, self.states, self.weights = x, states, weights
        output = output.transpose(1, 0, 2) if batch_first_out else output
        self.grad_c_n, self.output_shape = None, output.shape
        if handle is not None:
            handle.append(self)
        return output

    def backward(self, grad):
        grad_c_n, self.grad_c_n = self.grad_c_n, None  # set by FinalCell, which ran first
        batch_first_in, batch_first_out = self.batch_first
        grad = grad.transpose(1, 0, 2) if batch_first_out else grad
        run = native_rnn.sequence_backward if self.native else _checked_backward
        grads = run(self.kind, np.ascontiguousarray(grad), grad_c_n, self.x, *self.states,
                    self.weights, self.saved, self.reverse, **self.options)
        grad_x = grads[0].transpose(1, 0, 2) if batch_first_in else grads[0]
        n_states = (2 if self.kind == "lstm" else 1) if self.has_states else 0
        return (grad_x, *grads[1:1 + n_states], *grads[3:])[:len(self.needs_input_grad)]


class FinalCell(Function):
    """The LSTM's final cell state c_n (N, H), or (1, N, H) with ``keepdim``, as a node on the
    Recurrence's output. Being a consumer of that output, its backward runs before the
    recurrence's: it hands the gradient of c_n over, and returns a zero gradient (a broadcast
    view, no allocation) for the output so that the recurrence runs even when only c_n
    carries one."""

    def forward(self, output, recurrence, keepdim=False):
        self.recurrence, self.keepdim = recurrence, keepdim
        return recurrence.c_n[None] if keepdim else recurrence.c_n

    def backward(self, grad):
        self.recurrence.grad_c_n = grad[0] if self.keepdim else grad
        return np.broadcast_to(_ZERO, self.recurrence.output_shape)


class CellStep(Recurrence):
    """One time step of a cell on x (N, F): the recurrence over a length-1 sequence, without
    the sequence axis (one graph node instead of three with the unsqueeze and the indexing)."""

    def forward(self, x, *arrays, **options):
        output = super().forward(x[None], *arrays, reverse=False, **options)[0]
        self.output_shape = output.shape
        return output

    def backward(self, grad):
        grads = super().backward(grad[None])
        return (None if grads[0] is None else grads[0][0],) + grads[1:]


_ZERO = np.float32(0)


def _takes_native(kind, x, w_hh):
    """True when the active backend runs this layer natively and the sizes are not empty."""
    forward = kernel(f"{kind}_forward")
    return (forward is getattr(native_rnn, f"{kind}_forward")
            and x.shape[1] > 0 and x.shape[2] > 0 and w_hh.shape[-1] > 0)


def _checked_forward(kind, x, h0, c0, weights, reverse, **options):
    """sequence_forward's contract through the backend's public kernel (the numpy twin on the
    numpy backend, the checked wrapper for empty sizes)."""
    states = (h0, c0) if kind == "lstm" else (h0,)
    output, *finals, saved = kernel(f"{kind}_forward")(x, *states, *weights, reverse=reverse,
                                                       **options)
    return output, (finals[1] if kind == "lstm" else None), saved


def _checked_backward(kind, grad_output, grad_c_n, x, h0, c0, weights, saved, reverse,
                      **options):
    states, final_grads = ((h0, c0), (None, grad_c_n)) if kind == "lstm" else ((h0,), (None,))
    grads = kernel(f"{kind}_backward")(grad_output, *final_grads, x, *states, *weights, saved,
                                       reverse=reverse, **options)
    return tuple(grads) if kind == "lstm" else (*grads[:2], None, *grads[2:])


def _run(x, states, weights, kind, reverse, options):
    """One Recurrence: (output tensor, node) (states may be empty: zeros)."""
    handle = []
    output = Recurrence.apply(x, *states, *weights, kind=kind, reverse=reverse,
                              has_states=bool(states), handle=handle, **options)
    return output, handle[0]


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
    return positive_int(input_size, "input_size", owner), positive_int(hidden_size,
                                                                       "hidden_size", owner)


def _state_list(hx, count, owner):
    """hx as a list of ``count`` tensors: a Tensor h for RNN/GRU, a pair (h, c) for LSTM."""
    if count == 1:
        if isinstance(hx, (tuple, list)):
            raise TypeError(f"{owner}: argument 'hx' must be a Tensor (h0), got "
                            f"{type(hx).__name__}")
        return [hx]
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"{owner}: argument 'hx' must be a tuple of two Tensors (h0, c0), got "
                        f"{type(hx).__name__}")
    if len(hx) != 2:
        raise ShapeError(f"{owner}: argument 'hx' must be a tuple of two Tensors (h0, c0), got "
                         f"{len(hx)} of them")
    return list(hx)


def _check_state_shapes(states, shape, owner):
    for state, name in zip(states, ("h0", "c0")):
        if tuple(state.shape) != shape:
            raise ShapeError(f"{owner}: argument 'hx' ({name}) has shape {tuple(state.shape)}, "
                             f"expected {shape}")


class _RNNBase(Module):
    kind = "rnn"
    _tensor_args = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, nonlinearity="tanh"):
        super().__init__()
        owner = type(self).__name__
        input_size, hidden_size = _check_sizes(owner, input_size, hidden_size)
        num_layers = positive_int(num_layers, "num_layers", owner)
        dropout = real(dropout, "dropout", owner, 0.0, 1.0)
        choice(nonlinearity, "nonlinearity", owner, ("tanh", "relu"))
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.nonlinearity = bidirectional, nonlinearity
        self.num_directions = 2 if bidirectional else 1
        affordable_parameters(self._parameter_count(), owner)
        self._weight_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                self._weight_names.append(
                    _make_weights(self, self.kind, layer_input, hidden_size, bias, suffix))

    def _parameter_count(self):
        gates = _GATES[self.kind] * self.hidden_size
        per_direction = gates * (self.hidden_size + (2 if self.bias else 0))
        first = gates * self.input_size + per_direction
        rest = gates * self.hidden_size * self.num_directions + per_direction
        return self.num_directions * (first + (self.num_layers - 1) * rest)

    def _initial_states(self, hx, batch, batched):
        """The (L*D, N, H) initial states as given, [] for zeros."""
        if hx is None:
            return []
        owner = type(self).__name__
        states = _state_list(hx, 2 if self.kind == "lstm" else 1, owner)
        layers = self.num_layers * self.num_directions
        _check_state_shapes(states, (layers, batch, self.hidden_size) if batched
                            else (layers, self.hidden_size), owner)
        return [s if batched else s.unsqueeze(1) for s in states]

    def forward(self, input, hx=None):
        batched = input.ndim == 3
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: argument 'input' must be (T, N, "
                             f"{self.input_size}) (or batch_first / unbatched), got shape "
                             f"{tuple(input.shape)}")
        x = input if batched else input.unsqueeze(1)
        batch_first = self.batch_first and batched  # the first and last nodes transpose
        states = self._initial_states(hx, x.shape[0 if batch_first else 1], batched)
        options = {"nonlinearity": self.nonlinearity} if self.kind == "rnn" else {}
        params, runs = self._parameters, []
        for layer in range(self.num_layers):
            outputs = []
            first, last = layer == 0, layer == self.num_layers - 1
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                weights = [params[name] for name in self._weight_names[k]]
                runs.append(_run(x, [s[k] for s in states], weights, self.kind, direction == 1,
                                 dict(options, batch_first_in=batch_first and first,
                                      batch_first_out=batch_first and last)))
                outputs.append(runs[-1][0])
            x = outputs[0] if len(outputs) == 1 else cat(outputs, dim=-1)
            if self.dropout and self.training and not last:
                x = F.dropout(x, self.dropout, True)
        finals = self._final_states(runs, batch_first)
        finals = finals if batched else [f.squeeze(1) for f in finals]
        output = x if batched else x.squeeze(1)
        return output, (tuple(finals) if self.kind == "lstm" else finals[0])

    def _final_states(self, runs, batch_first):
        """[h_n] or [h_n, c_n], each (L*D, N, H): views and one node each for one run. The
        last layer's outputs are (N, T, H) when batch_first."""
        one, last_layer = len(runs) == 1, len(runs) - self.num_directions
        h_parts = []
        for k, (y, node) in enumerate(runs):
            step = 0 if node.reverse else -1
            time_axis = 1 if batch_first and k >= last_layer else 0
            index = (slice(None),) * time_axis + (step,)
            h_parts.append(y[(None,) + index if one else index])
        finals = [h_parts]
        if self.kind == "lstm":
            finals.append([FinalCell.apply(y, recurrence=node, keepdim=one) for y, node in runs])
        return [parts[0] if one else stack(parts) for parts in finals]

    def flatten_parameters(self):
        """A no-op, as PyTorch's on the CPU: the weights are used where they are."""

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
    _tensor_args = 1

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        super().__init__()
        input_size, hidden_size = _check_sizes(type(self).__name__, input_size, hidden_size)
        choice(nonlinearity, "nonlinearity", type(self).__name__, ("tanh", "relu"))
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.nonlinearity = nonlinearity
        self._names = _make_weights(self, self.kind, input_size, hidden_size, bias)

    def forward(self, input, hx=None):
        batched = input.ndim == 2
        owner = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ShapeError(f"{owner}: argument 'input' must be (N, {self.input_size}) or "
                             f"({self.input_size},), got shape {tuple(input.shape)}")
        x = input if batched else input.unsqueeze(0)
        count = 2 if self.kind == "lstm" else 1
        states = [] if hx is None else _state_list(hx, count, owner)
        _check_state_shapes(states, tuple(x.shape[:1] if batched else ()) + (self.hidden_size,),
                            owner)
        states = [s if batched else s.unsqueeze(0) for s in states]
        options = {"nonlinearity": self.nonlinearity} if self.kind == "rnn" else {}
        handle = []
        h = CellStep.apply(x, *states, *[getattr(self, n) for n in self._names], kind=self.kind,
                           has_states=bool(states), handle=handle, **options)
        outputs = [h, FinalCell.apply(h, recurrence=handle[0])] if count == 2 else [h]
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
