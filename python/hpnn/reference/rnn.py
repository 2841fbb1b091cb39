"""Reference recurrent layers over a whole sequence: one layer, one direction, forward and
backward through time, for the Elman RNN, the LSTM and the GRU.

Conventions are those of :mod:`hpnn.reference.rnn_cells` (PyTorch's weight layout and gate
order), plus:

* ``x`` is (T, N, F), time-major, T >= 1; ``output`` is (T, N, H); the initial and final states
  ``h0``, ``c0``, ``h_n``, ``c_n`` are (N, H) (one layer and direction: PyTorch's h0[k]).
* ``reverse=True`` runs time backwards, from x[T-1] to x[0], as the backward direction of a
  bidirectional layer does: output[t] is still the state after consuming x[t], and h_n is the
  state after x[0]. The backward must be called with the same ``reverse`` (and nonlinearity).
* ``saved`` is a named tuple of arrays indexed like ``output`` (by time, not by processing
  order). It does not alias ``output``. A native kernel returns a plain tuple in the same field
  order, and the backward accepts either.
* The backward returns (grad_x, grad_h0[, grad_c0], grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh),
  with None for an absent bias; grad_h0 is returned (as an array) even when h0 was None.

The loops below are deliberately plain: one cell call per time step.
"""
from typing import NamedTuple

import numpy as np

from .rnn_cells import (
    _gru_step, _gru_step_backward, _lstm_step, _lstm_step_backward, _rnn_step,
    _rnn_step_backward, check_activation, check_inputs, check_optional, check_shape,
)

__all__ = [
    "RNNSaved", "LSTMSaved", "GRUSaved",
    "rnn_forward", "rnn_backward",
    "lstm_forward", "lstm_backward",
    "gru_forward", "gru_backward",
]


class RNNSaved(NamedTuple):
    hidden: np.ndarray  # (T, N, H) hidden state after consuming x[t]


class LSTMSaved(NamedTuple):
    hidden: np.ndarray  # (T, N, H) hidden state after consuming x[t]
    cell: np.ndarray  # (T, N, H) cell state after consuming x[t]
    gates: np.ndarray  # (T, N, 4H) activated gates i, f, g, o of step t


class GRUSaved(NamedTuple):
    hidden: np.ndarray  # (T, N, H) hidden state after consuming x[t]
    gates: np.ndarray  # (T, N, 4H) r, z, n and h W_hn^T + b_hn of step t


# ---------------------------------------------------------------------------- shared time loops

def _time_order(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


def _scan_forward(step, x, states, reverse):
    """Runs ``step(x[t], *states) -> recorded`` over time, where recorded is a tuple of arrays
    whose first len(states) entries are the new states. Returns the final states and each
    recorded entry stacked over time (indexed by t)."""
    recorded = [None] * x.shape[0]
    for t in _time_order(x.shape[0], reverse):
        recorded[t] = step(x[t], *states)
        states = recorded[t][:len(states)]
    return states, [np.stack(column) for column in zip(*recorded)]


def _scan_backward(step_backward, grad_output, grad_final_states, initial_states, history, reverse):
    """Backpropagation through time, visiting steps in the opposite order of the forward.

    history holds the states recorded by the forward, stacked over time;
    ``step_backward(t, grad_states, previous_states) -> (grad_x_t, grad_previous_states,
    grad_params)``. Returns grad_x, the gradients of the initial states and the summed
    gradients of the parameters (None entries stay None).
    """
    order = _time_order(grad_output.shape[0], reverse)
    grad_x_steps = [None] * len(order)
    grad_states = list(grad_final_states)
    grad_params = None
    for position in reversed(range(len(order))):
        t = order[position]
        if position == 0:
            previous_states = initial_states
        else:
            previous_states = [states[order[position - 1]] for states in history]
        grad_states[0] = grad_states[0] + grad_output[t]  # h_t feeds both output[t] and step t+1
        grad_x_steps[t], grad_states, step_grads = step_backward(t, grad_states, previous_states)
        grad_params = step_grads if grad_params is None else [
            None if total is None else total + step for total, step in zip(grad_params, step_grads)]
    return np.stack(grad_x_steps), grad_states, grad_params


def _check_saved(saved, fields, dtype):
    """saved must be a tuple of len(fields) arrays; fields is a list of (name, shape)."""
    if not isinstance(saved, tuple) or len(saved) != len(fields):
        names = ", ".join(name for name, _ in fields)
        raise TypeError(f"saved must be the tuple ({names}) returned by the forward")
    return [check_shape(f"saved.{name}", array, shape, dtype)
            for array, (name, shape) in zip(saved, fields)]


def _check_backward_inputs(grad_output, grad_final_states, x, initial_states, weights, n_gates,
                           saved, saved_widths):
    """Checks everything a backward gets; returns (grad_output, grad_final_states,
    initial_states, saved arrays) with None replaced by zeros. The named states and saved
    fields are given as (name, value) pairs; saved_widths are their last dims in units of H."""
    states = check_inputs(x, initial_states, *weights, n_gates=n_gates, sequence=True)
    (length, batch, _), hidden = x.shape, states[0].shape[1]
    grad_output = check_optional("grad_output", grad_output, (length, batch, hidden), x.dtype)
    grads = [check_optional(name, g, (batch, hidden), x.dtype) for name, g in grad_final_states]
    fields = [(name, (length, batch, width * hidden)) for name, width in saved_widths]
    return grad_output, grads, states, _check_saved(saved, fields, x.dtype)


# ---------------------------------------------------------------------------- Elman RNN

def rnn_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False):
    """Elman RNN over a sequence: returns (output, h_n, saved) with saved an RNNSaved."""
    check_activation(nonlinearity)
    (h0,) = check_inputs(x, [("h0", h0)], w_ih, w_hh, b_ih, b_hh, n_gates=1, sequence=True)

    def step(x_t, h):
        return (_rnn_step(x_t, h, w_ih, w_hh, b_ih, b_hh, nonlinearity),)

    (h_n,), (hidden,) = _scan_forward(step, x, [h0], reverse)
    return hidden.copy(), h_n, RNNSaved(hidden)


def rnn_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, b_ih, b_hh, saved,
                 nonlinearity="tanh", reverse=False):
    """Backward of rnn_forward: (grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    check_activation(nonlinearity)
    grad_output, grad_states, (h0,), (hidden,) = _check_backward_inputs(
        grad_output, [("grad_h_n", grad_h_n)], x, [("h0", h0)], (w_ih, w_hh, b_ih, b_hh), 1,
        saved, [("hidden", 1)])

    def step_backward(t, grad_states, previous_states):
        grad_x, grad_h, *grad_params = _rnn_step_backward(
            grad_states[0], x[t], previous_states[0], w_ih, w_hh, b_ih, b_hh, hidden[t],
            nonlinearity)
        return grad_x, [grad_h], grad_params

    grad_x, (grad_h0,), grad_params = _scan_backward(
        step_backward, grad_output, grad_states, [h0], [hidden], reverse)
    return (grad_x, grad_h0, *grad_params)


# ---------------------------------------------------------------------------- LSTM

def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """LSTM over a sequence: returns (output, h_n, c_n, saved) with saved an LSTMSaved."""
    h0, c0 = check_inputs(x, [("h0", h0), ("c0", c0)], w_ih, w_hh, b_ih, b_hh, n_gates=4,
                          sequence=True)

    def step(x_t, h, c):
        return _lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh)

    (h_n, c_n), (hidden, cell, gates) = _scan_forward(step, x, [h0, c0], reverse)
    return hidden.copy(), h_n, c_n, LSTMSaved(hidden, cell, gates)


def lstm_backward(grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh, b_ih, b_hh, saved,
                  reverse=False):
    """Backward of lstm_forward:
    (grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    grad_output, grad_states, (h0, c0), (hidden, cell, gates) = _check_backward_inputs(
        grad_output, [("grad_h_n", grad_h_n), ("grad_c_n", grad_c_n)], x, [("h0", h0), ("c0", c0)],
        (w_ih, w_hh, b_ih, b_hh), 4, saved, [("hidden", 1), ("cell", 1), ("gates", 4)])

    def step_backward(t, grad_states, previous_states):
        grad_x, grad_h, grad_c, *grad_params = _lstm_step_backward(
            *grad_states, x[t], *previous_states, w_ih, w_hh, b_ih, b_hh, cell[t], gates[t])
        return grad_x, [grad_h, grad_c], grad_params

    grad_x, (grad_h0, grad_c0), grad_params = _scan_backward(
        step_backward, grad_output, grad_states, [h0, c0], [hidden, cell], reverse)
    return (grad_x, grad_h0, grad_c0, *grad_params)


# ---------------------------------------------------------------------------- GRU

def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """GRU over a sequence: returns (output, h_n, saved) with saved a GRUSaved."""
    (h0,) = check_inputs(x, [("h0", h0)], w_ih, w_hh, b_ih, b_hh, n_gates=3, sequence=True)

    def step(x_t, h):
        return _gru_step(x_t, h, w_ih, w_hh, b_ih, b_hh)

    (h_n,), (hidden, gates) = _scan_forward(step, x, [h0], reverse)
    return hidden.copy(), h_n, GRUSaved(hidden, gates)


def gru_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, b_ih, b_hh, saved, reverse=False):
    """Backward of gru_forward: (grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    grad_output, grad_states, (h0,), (hidden, gates) = _check_backward_inputs(
        grad_output, [("grad_h_n", grad_h_n)], x, [("h0", h0)], (w_ih, w_hh, b_ih, b_hh), 3,
        saved, [("hidden", 1), ("gates", 4)])

    def step_backward(t, grad_states, previous_states):
        grad_x, grad_h, *grad_params = _gru_step_backward(
            grad_states[0], x[t], previous_states[0], w_ih, w_hh, b_ih, b_hh, gates[t])
        return grad_x, [grad_h], grad_params

    grad_x, (grad_h0,), grad_params = _scan_backward(
        step_backward, grad_output, grad_states, [h0], [hidden], reverse)
    return (grad_x, grad_h0, *grad_params)
