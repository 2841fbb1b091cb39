"""Recurrent layers over whole sequences (one layer, one direction): each function is a drop-in
for its twin in ``hpnn.reference.rnn`` -- same signature, checks (the reference's helpers, so
the same messages), return values and ``saved`` field order (a plain tuple) -- running the
whole sequence in one native call. The arrays must be float32; empty sizes (N, F or H == 0)
fall back to the reference.

``sequence_forward`` / ``sequence_backward`` are hpnn.nn's entry points: no Python-side checks
(the binding checks every shape and dtype) and no copies."""
import functools

import numpy as np

from .._C import kernels as _native
from ..reference import rnn as _reference
from ..reference.rnn import _check_backward_inputs
from ..reference.rnn_cells import check_activation, check_inputs

__all__ = ["rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
           "gru_forward", "gru_backward"]

# Op codes of hpnn::RnnCell (csrc/core/kernel_table.h), exported by the extension.
_CELLS = _native.op_codes["rnn_cell"]
_TANH, _RELU, _LSTM, _GRU = _CELLS["tanh"], _CELLS["relu"], _CELLS["lstm"], _CELLS["gru"]
_KINDS = {"rnn": _TANH, "lstm": _LSTM, "gru": _GRU}


def _native_ok(x, w_hh):
    """True when the native kernel takes these (already validated) arrays."""
    if x.dtype != np.float32:
        raise TypeError(f"x must be float32 for the native kernels, got dtype {x.dtype}")
    return x.shape[1] > 0 and x.shape[2] > 0 and w_hh.shape[1] > 0


def _last(reverse):
    return 0 if reverse else -1


def _forward(cell, x, states, w_ih, w_hh, b_ih, b_hh, reverse):
    """(output, final states..., saved) from the native forward; states are [h0] or [h0, c0]."""
    c0 = states[1] if len(states) == 2 else None
    hidden, cell_seq, gates = _native.recurrent_forward(
        cell, x, states[0], c0, w_ih, w_hh, b_ih, b_hh, bool(reverse))
    saved = tuple(a for a in (hidden, cell_seq, gates) if a is not None)
    finals = [a[_last(reverse)].copy() for a in (hidden, cell_seq) if a is not None]
    return (hidden.copy(), *finals, saved)


def _backward(cell, grad_output, grad_states, x, states, w_ih, w_hh, b_ih, b_hh, saved, reverse):
    grad_c_n = grad_states[1] if len(grad_states) == 2 else None
    c0 = states[1] if len(states) == 2 else None
    hidden, cell_seq, gates = (
        saved if cell == _LSTM else (saved[0], None, saved[1]) if cell == _GRU
        else (saved[0], None, None))
    grads = _native.recurrent_backward(
        cell, grad_output, grad_states[0], grad_c_n, x, states[0], c0, w_ih, w_hh, b_ih, b_hh,
        hidden, cell_seq, gates, bool(reverse))
    return grads if cell == _LSTM else grads[:2] + grads[3:]


def rnn_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False):
    """Elman RNN over a sequence: returns (output, h_n, saved) with saved = (hidden,)."""
    check_activation(nonlinearity)
    states = check_inputs(x, [("h0", h0)], w_ih, w_hh, b_ih, b_hh, n_gates=1, sequence=True)
    if not _native_ok(x, w_hh):
        return _reference.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse)
    cell = _TANH if nonlinearity == "tanh" else _RELU
    return _forward(cell, x, states, w_ih, w_hh, b_ih, b_hh, reverse)


def rnn_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, b_ih, b_hh, saved,
                 nonlinearity="tanh", reverse=False):
    """Backward of rnn_forward: (grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    check_activation(nonlinearity)
    grad_output, grad_states, states, saved_arrays = _check_backward_inputs(
        grad_output, [("grad_h_n", grad_h_n)], x, [("h0", h0)], (w_ih, w_hh, b_ih, b_hh), 1,
        saved, [("hidden", 1)])
    if not _native_ok(x, w_hh):
        return _reference.rnn_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, b_ih, b_hh,
                                       saved, nonlinearity, reverse)
    cell = _TANH if nonlinearity == "tanh" else _RELU
    return _backward(cell, grad_output, grad_states, x, states, w_ih, w_hh, b_ih, b_hh,
                     saved_arrays, reverse)


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """LSTM over a sequence: returns (output, h_n, c_n, saved), saved = (hidden, cell, gates)."""
    states = check_inputs(x, [("h0", h0), ("c0", c0)], w_ih, w_hh, b_ih, b_hh, n_gates=4,
                          sequence=True)
    if not _native_ok(x, w_hh):
        return _reference.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
    return _forward(_LSTM, x, states, w_ih, w_hh, b_ih, b_hh, reverse)


def lstm_backward(grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh, b_ih, b_hh, saved,
                  reverse=False):
    """Backward of lstm_forward:
    (grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    grad_output, grad_states, states, saved_arrays = _check_backward_inputs(
        grad_output, [("grad_h_n", grad_h_n), ("grad_c_n", grad_c_n)], x, [("h0", h0), ("c0", c0)],
        (w_ih, w_hh, b_ih, b_hh), 4, saved, [("hidden", 1), ("cell", 1), ("gates", 4)])
    if not _native_ok(x, w_hh):
        return _reference.lstm_backward(grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh,
                                        b_ih, b_hh, saved, reverse)
    return _backward(_LSTM, grad_output, grad_states, x, states, w_ih, w_hh, b_ih, b_hh,
                     saved_arrays, reverse)


def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """GRU over a sequence: returns (output, h_n, saved) with saved = (hidden, gates)."""
    states = check_inputs(x, [("h0", h0)], w_ih, w_hh, b_ih, b_hh, n_gates=3, sequence=True)
    if not _native_ok(x, w_hh):
        return _reference.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, reverse)
    return _forward(_GRU, x, states, w_ih, w_hh, b_ih, b_hh, reverse)


def gru_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, b_ih, b_hh, saved, reverse=False):
    """Backward of gru_forward: (grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    grad_output, grad_states, states, saved_arrays = _check_backward_inputs(
        grad_output, [("grad_h_n", grad_h_n)], x, [("h0", h0)], (w_ih, w_hh, b_ih, b_hh), 3,
        saved, [("hidden", 1), ("gates", 4)])
    if not _native_ok(x, w_hh):
        return _reference.gru_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, b_ih, b_hh,
                                       saved, reverse)
    return _backward(_GRU, grad_output, grad_states, x, states, w_ih, w_hh, b_ih, b_hh,
                     saved_arrays, reverse)



@functools.lru_cache(maxsize=16)
def _zeros(batch, hidden):
    """A shared read-only zero state: a layer's default h0 / c0 costs no allocation."""
    zeros = np.zeros((batch, hidden), np.float32)
    zeros.setflags(write=False)
    return zeros


def _cell(kind, nonlinearity):
    return _RELU if kind == "rnn" and nonlinearity == "relu" else _KINDS[kind]


def sequence_forward(kind, x, h0, c0, weights, reverse, nonlinearity="tanh"):
    """One layer and direction of hpnn.nn's RNN / LSTM / GRU ('rnn', 'lstm' or 'gru'), for
    non-empty sizes: (output, c_n or None, saved). h0 / c0 may be None (zeros); weights is
    (w_ih, w_hh, b_ih or None, b_hh or None). output is saved's own hidden sequence (no copy),
    c_n a view of the saved cell sequence."""
    zeros = _zeros(x.shape[1], weights[1].shape[1])
    cell = _cell(kind, nonlinearity)
    c0 = (zeros if c0 is None else c0) if cell == _LSTM else None  # the binding wants None
    saved = _native.recurrent_forward(cell, x, zeros if h0 is None else h0, c0, *weights,
                                      bool(reverse))
    return saved[0], (saved[1][_last(reverse)] if cell == _LSTM else None), saved


def sequence_backward(kind, grad_output, grad_c_n, x, h0, c0, weights, saved, reverse,
                      nonlinearity="tanh"):
    """Backward of sequence_forward, the gradient of h_n being in grad_output's last step:
    (grad_x, grad_h0, grad_c0 or None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    zeros = _zeros(x.shape[1], weights[1].shape[1])
    cell = _cell(kind, nonlinearity)
    c0 = (zeros if c0 is None else c0) if cell == _LSTM else None  # the binding wants None
    return _native.recurrent_backward(
        cell, grad_output, None, grad_c_n, x, zeros if h0 is None else h0, c0, *weights, *saved,
        bool(reverse))
