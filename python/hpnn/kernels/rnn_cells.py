"""One time step of an Elman RNN, an LSTM and a GRU: drop-ins for their twins in
``hpnn.reference.rnn_cells`` -- same signatures, checks (the reference's helpers, in its order,
so the same messages), return values and saved layouts. A step runs as a length-1 sequence
through the native sequence kernels, whose per-step saved arrays are exactly the cells' (the
LSTM's gates i, f, g, o; the GRU's r, z, n, h W_hn^T + b_hn). The arrays must be float32; empty
sizes (N, F or H == 0) fall back to the reference."""
from .._C import kernels as _native
from ..reference import rnn_cells as _reference
from ..reference.rnn_cells import check_activation, check_inputs, check_optional, check_shape
from .rnn import _GRU, _LSTM, _RELU, _TANH, _native_ok

__all__ = ["rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
           "gru_cell_forward", "gru_cell_backward"]


def _elman(nonlinearity):
    return _TANH if nonlinearity == "tanh" else _RELU


def _step_forward(cell, x, states, w_ih, w_hh, b_ih, b_hh):
    """[h_new, c_new or None, gates or None] of one step, each (N, width)."""
    c = states[1] if len(states) == 2 else None
    saved = _native.recurrent_forward(cell, x[None], states[0], c, w_ih, w_hh, b_ih, b_hh, False)
    return [None if a is None else a[0] for a in saved]


def _step_backward(cell, grad_h_new, grad_c_new, x, states, w_ih, w_hh, b_ih, b_hh, h_new=None,
                   c_new=None, gates=None):
    """(grad_x, grad_h, grad_c or None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh).

    grad_h_new is the step's output gradient, grad_c_new the final cell state's. At T = 1 only
    the Elman cell reads saved.hidden (its derivative comes from its output); the LSTM and GRU
    read h0 instead, so they pass h, which has the right shape, for it."""
    h, c = states[0], states[1] if len(states) == 2 else None
    hidden = h if h_new is None else h_new
    grads = _native.recurrent_backward(
        cell, grad_h_new[None], None, grad_c_new, x[None], h, c, w_ih, w_hh, b_ih, b_hh,
        hidden[None], None if c_new is None else c_new[None],
        None if gates is None else gates[None], False)
    return (grads[0][0], *grads[1:])


def rnn_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman RNN step: returns h_new (N, H), which is also what the backward needs."""
    check_activation(nonlinearity)
    states = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=1, sequence=False)
    if not _native_ok(x[None], w_hh):
        return _reference.rnn_cell_forward(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)
    return _step_forward(_elman(nonlinearity), x, states, w_ih, w_hh, b_ih, b_hh)[0]


def rnn_cell_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, h_new, nonlinearity="tanh"):
    """Backward of rnn_cell_forward given its output h_new:
    (grad_x, grad_h, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    check_activation(nonlinearity)
    (h,) = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=1, sequence=False)
    h_new = check_shape("h_new", h_new, h.shape, x.dtype)
    grad_h_new = check_optional("grad_h_new", grad_h_new, h.shape, x.dtype)
    if not _native_ok(x[None], w_hh):
        return _reference.rnn_cell_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, h_new,
                                            nonlinearity)
    grads = _step_backward(_elman(nonlinearity), grad_h_new, None, x, [h], w_ih, w_hh, b_ih,
                           b_hh, h_new=h_new)
    return grads[:2] + grads[3:]


def lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: returns (h_new, c_new, gates), gates (N, 4H) the activated i, f, g, o."""
    states = check_inputs(x, [("h", h), ("c", c)], w_ih, w_hh, b_ih, b_hh, n_gates=4,
                          sequence=False)
    if not _native_ok(x[None], w_hh):
        return _reference.lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return tuple(_step_forward(_LSTM, x, states, w_ih, w_hh, b_ih, b_hh))


def lstm_cell_backward(grad_h_new, grad_c_new, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new, gates):
    """Backward of lstm_cell_forward given its c_new and gates:
    (grad_x, grad_h, grad_c, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    h, c = check_inputs(x, [("h", h), ("c", c)], w_ih, w_hh, b_ih, b_hh, n_gates=4, sequence=False)
    c_new = check_shape("c_new", c_new, h.shape, x.dtype)
    gates = check_shape("gates", gates, (h.shape[0], 4 * h.shape[1]), x.dtype)
    grad_h_new = check_optional("grad_h_new", grad_h_new, h.shape, x.dtype)
    grad_c_new = check_optional("grad_c_new", grad_c_new, h.shape, x.dtype)
    if not _native_ok(x[None], w_hh):
        return _reference.lstm_cell_backward(grad_h_new, grad_c_new, x, h, c, w_ih, w_hh, b_ih,
                                             b_hh, c_new, gates)
    return _step_backward(_LSTM, grad_h_new, grad_c_new, x, [h, c], w_ih, w_hh, b_ih, b_hh,
                          c_new=c_new, gates=gates)


def gru_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: returns (h_new, saved), saved (N, 4H) holding r, z, n, h W_hn^T + b_hn."""
    states = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=3, sequence=False)
    if not _native_ok(x[None], w_hh):
        return _reference.gru_cell_forward(x, h, w_ih, w_hh, b_ih, b_hh)
    h_new, _, saved = _step_forward(_GRU, x, states, w_ih, w_hh, b_ih, b_hh)
    return h_new, saved


def gru_cell_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, saved):
    """Backward of gru_cell_forward given its saved array:
    (grad_x, grad_h, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    (h,) = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=3, sequence=False)
    saved = check_shape("saved", saved, (h.shape[0], 4 * h.shape[1]), x.dtype)
    grad_h_new = check_optional("grad_h_new", grad_h_new, h.shape, x.dtype)
    if not _native_ok(x[None], w_hh):
        return _reference.gru_cell_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, saved)
    grads = _step_backward(_GRU, grad_h_new, None, x, [h], w_ih, w_hh, b_ih, b_hh, gates=saved)
    return grads[:2] + grads[3:]
