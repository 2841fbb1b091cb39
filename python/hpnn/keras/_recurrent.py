"""Keras' SimpleRNN, LSTM and GRU (batch-major (N, T, F) input) on hpnn's recurrent kernels,
and SimpleRNNCell.

The sequence layers hold an hpnn.nn RNN/LSTM/GRU (PyTorch's weight layout and equations):
Keras' LSTM and GRU (reset_after=True, Keras' default) compute the same functions. The
initial weights follow Keras: glorot_uniform input kernels, orthogonal recurrent kernels,
zero biases, and for the LSTM a forget-gate bias of 1 (unit_forget_bias). Keras has one
bias where PyTorch has two for SimpleRNN and LSTM: the second (bias_hh) is kept at zero and
frozen, so training sees Keras' single bias."""
from __future__ import annotations

from .. import nn
from ._base import Layer, initial_value
from ._base import activation as get_activation


class _Recurrent(Layer):
    kind = ""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, dropout=0.0, recurrent_dropout=0.0, unroll=False,
                 reset_after=True, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        unsupported = {"go_backwards": go_backwards, "stateful": stateful, "dropout": dropout,
                       "recurrent_dropout": recurrent_dropout, "reset_after": not reset_after}
        for name, value in unsupported.items():
            if value:
                raise NotImplementedError(f"{owner}: argument {name!r} is not supported")
        allowed = ("tanh", "relu") if self.kind == "rnn" else ("tanh",)
        if activation not in allowed or (self.kind != "rnn" and recurrent_activation != "sigmoid"):
            raise NotImplementedError(f"{owner}: activation must be one of {allowed} (and "
                                      "recurrent_activation 'sigmoid'), as hpnn's kernels")
        self.units, self.activation = int(units), activation
        self.use_bias = use_bias
        self.return_sequences, self.return_state = return_sequences, return_state
        self.build_from_hint()

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__}: expected (batch, timesteps, features), "
                             f"got shape {tuple(input_shape)}")
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[self.kind]
        options = {"nonlinearity": self.activation} if self.kind == "rnn" else {}
        self.cell = cls(input_shape[-1], self.units, bias=self.use_bias, batch_first=True,
                        **options)
        self._keras_init()

    def _keras_init(self):
        cell, owner = self.cell, type(self).__name__
        w_ih, w_hh = cell.weight_ih_l0, cell.weight_hh_l0
        # Keras' kernels are (in, gates * units): PyTorch's weights are their transposes
        w_ih.numpy()[...] = initial_value("glorot_uniform", w_ih.shape[::-1], owner).T
        w_hh.numpy()[...] = initial_value("orthogonal", w_hh.shape[::-1], owner).T
        if not self.use_bias:
            return
        cell.bias_ih_l0.numpy()[...] = 0.0
        cell.bias_hh_l0.numpy()[...] = 0.0
        if self.kind == "lstm":  # unit_forget_bias: gates are i, f, g, o
            cell.bias_ih_l0.numpy()[self.units:2 * self.units] = 1.0
        if self.kind != "gru":
            cell.bias_hh_l0.requires_grad_(False)

    def call(self, inputs, initial_state=None):
        if inputs.ndim != 3:
            raise ValueError(f"{type(self).__name__}: expected (batch, timesteps, features), "
                             f"got shape {tuple(inputs.shape)}")
        hx = None
        if initial_state is not None:
            states = [s.unsqueeze(0) for s in initial_state]
            hx = tuple(states) if self.kind == "lstm" else states[0]
        outputs, final = self.cell(inputs, hx)
        finals = list(final) if self.kind == "lstm" else [final]
        finals = [f.squeeze(0) for f in finals]  # (1, N, units) -> (N, units)
        output = outputs if self.return_sequences else finals[0]
        return [output, *finals] if self.return_state else output


class SimpleRNN(_Recurrent):
    kind = "rnn"


class LSTM(_Recurrent):
    kind = "lstm"


class GRU(_Recurrent):
    kind = "gru"


class SimpleRNNCell(Layer):
    """One step, Keras' way: ``output, [h] = cell(inputs, [h_prev])`` with
    h = activation(inputs @ kernel + h_prev @ recurrent_kernel + bias)."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = int(units), use_bias
        self.activation = get_activation(activation, "SimpleRNNCell")
        self.initializers = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.state_size = self.output_size = self.units

    def build(self, input_shape):
        kernel, recurrent, bias = self.initializers
        self.add_weight("kernel", (input_shape[-1], self.units), kernel)
        self.add_weight("recurrent_kernel", (self.units, self.units), recurrent)
        if self.use_bias:
            self.add_weight("bias", (self.units,), bias)

    def call(self, inputs, states):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        h = inputs @ self.kernel + h_prev @ self.recurrent_kernel
        if self.use_bias:
            h = h + self.bias
        h = self.activation(h)
        return h, [h]


