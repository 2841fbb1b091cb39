"""Reference recurrent cells: one time step of an Elman RNN, an LSTM and a GRU, forward and
backward.

Conventions shared with :mod:`hpnn.reference.rnn` (they are PyTorch's, so its weights copy over):

* ``x`` is (N, F); the hidden state ``h`` and the LSTM cell state ``c`` are (N, H).
* ``w_ih`` is (G*H, F), ``w_hh`` is (G*H, H), ``b_ih`` and ``b_hh`` are (G*H,) or None (no bias).
  The G gate blocks are stacked along the first axis: G = 1 for the RNN, G = 4 for the LSTM in
  the order (i, f, g, o), G = 3 for the GRU in the order (r, z, n).
* Every array has the dtype of ``x`` (float32 or float64), and everything is computed in it.
* A missing (None) initial state or upstream gradient means zeros.
* Backward functions take the upstream gradients first, then the forward's inputs in the same
  order, then what the forward saved; they return the gradient of every forward input in the
  forward's order, with None for an absent bias.

Equations (sigma is the logistic sigmoid, * is elementwise)::

    RNN:  h' = act(x w_ih^T + b_ih + h w_hh^T + b_hh),  act = tanh or relu
    LSTM: i, f, g, o = sigma, sigma, tanh, sigma of the 4 blocks of
          x w_ih^T + b_ih + h w_hh^T + b_hh
          c' = f * c + i * g,  h' = o * tanh(c')
    GRU:  r, z = sigma of the first 2 blocks of x w_ih^T + b_ih + h w_hh^T + b_hh
          n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h' = (1 - z) * n + z * h
"""
import numpy as np

__all__ = [
    "rnn_cell_forward", "rnn_cell_backward",
    "lstm_cell_forward", "lstm_cell_backward",
    "gru_cell_forward", "gru_cell_backward",
]


# ---------------------------------------------------------------------------- argument checks
# Shared with rnn.py. Errors name the offending argument.

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_array(name, a, ndim, dtype=None):
    """a must be an ndim-D numpy array of dtype (or of a float dtype when dtype is None)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if dtype is None and a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but x has dtype {dtype}")
    return a


def check_shape(name, a, shape, dtype):
    check_array(name, a, len(shape), dtype)
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    return a


def check_optional(name, a, shape, dtype):
    """An optional initial state or upstream gradient; None means zeros."""
    return np.zeros(shape, dtype) if a is None else check_shape(name, a, shape, dtype)


def check_activation(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def _check_weights(w_ih, w_hh, b_ih, b_hh, n_gates, dtype):
    """Returns (F, H) as given by the weights' shapes."""
    check_array("w_hh", w_hh, 2, dtype)
    hidden = w_hh.shape[1]
    rows = n_gates * hidden
    if w_hh.shape[0] != rows:
        raise ValueError(f"w_hh must have shape ({n_gates}*H, H) = {(rows, hidden)}, "
                         f"got {w_hh.shape}")
    check_array("w_ih", w_ih, 2, dtype)
    if w_ih.shape[0] != rows:
        raise ValueError(f"w_ih must have {rows} rows ({n_gates}*H with H = {hidden} from w_hh), "
                         f"got shape {w_ih.shape}")
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None:
            check_shape(name, bias, (rows,), dtype)
    return w_ih.shape[1], hidden


def check_inputs(x, states, w_ih, w_hh, b_ih, b_hh, n_gates, sequence):
    """Checks x ((T, N, F) if sequence else (N, F)), the weights and the (name, array or None)
    states, each (N, H). Returns the states with None replaced by zeros."""
    check_array("x", x, 3 if sequence else 2)
    features, hidden = _check_weights(w_ih, w_hh, b_ih, b_hh, n_gates, x.dtype)
    if x.shape[-1] != features:
        raise ValueError(f"x has {x.shape[-1]} features but w_ih expects {features}")
    if sequence and x.shape[0] == 0:
        raise ValueError("x is an empty sequence (T == 0)")
    state_shape = (x.shape[-2], hidden)
    return [check_optional(name, state, state_shape, x.dtype) for name, state in states]


# ---------------------------------------------------------------------------- shared pieces

def split_gates(a, n_gates):
    """The n_gates equal blocks of a's last axis, in PyTorch's gate order (views, not copies)."""
    return np.split(a, n_gates, axis=-1)


def _sigmoid(a):
    # exp of a non-positive number only, so no overflow warnings for large |a|
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def _input_and_hidden_parts(x, h, w_ih, w_hh, b_ih, b_hh):
    """gi = x w_ih^T + b_ih and gh = h w_hh^T + b_hh, both (N, G*H)."""
    gi = x @ w_ih.T
    gh = h @ w_hh.T
    if b_ih is not None:
        gi += b_ih
    if b_hh is not None:
        gh += b_hh
    return gi, gh


def _linear_backward(grad_gi, grad_gh, x, h, w_ih, w_hh, b_ih, b_hh):
    """Backward of _input_and_hidden_parts given the gradients of gi and gh:
    (grad_x, grad_h, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)."""
    return (
        grad_gi @ w_ih,
        grad_gh @ w_hh,
        grad_gi.T @ x,
        grad_gh.T @ h,
        None if b_ih is None else grad_gi.sum(axis=0),
        None if b_hh is None else grad_gh.sum(axis=0),
    )


# ---------------------------------------------------------------------------- unchecked steps
# The sequence functions in rnn.py validate once and then call these every time step.

def _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity):
    gi, gh = _input_and_hidden_parts(x, h, w_ih, w_hh, b_ih, b_hh)
    pre = gi + gh
    return np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)


def _rnn_step_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, h_new, nonlinearity):
    if nonlinearity == "tanh":
        grad_pre = grad_h_new * (1 - h_new * h_new)
    else:  # relu, with derivative 0 at 0 as in PyTorch
        grad_pre = grad_h_new * (h_new > 0)
    return _linear_backward(grad_pre, grad_pre, x, h, w_ih, w_hh, b_ih, b_hh)


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi, gh = _input_and_hidden_parts(x, h, w_ih, w_hh, b_ih, b_hh)
    pre_i, pre_f, pre_g, pre_o = split_gates(gi + gh, 4)
    gates = np.concatenate(
        [_sigmoid(pre_i), _sigmoid(pre_f), np.tanh(pre_g), _sigmoid(pre_o)], axis=-1)
    i, f, g, o = split_gates(gates, 4)
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new, gates


def _lstm_step_backward(grad_h_new, grad_c_new, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new, gates):
    i, f, g, o = split_gates(gates, 4)
    tanh_c_new = np.tanh(c_new)
    grad_c_total = grad_c_new + grad_h_new * o * (1 - tanh_c_new * tanh_c_new)
    grad_pre = np.concatenate([
        grad_c_total * g * i * (1 - i),
        grad_c_total * c * f * (1 - f),
        grad_c_total * i * (1 - g * g),
        grad_h_new * tanh_c_new * o * (1 - o),
    ], axis=-1)
    grad_x, grad_h, *grad_params = _linear_backward(
        grad_pre, grad_pre, x, h, w_ih, w_hh, b_ih, b_hh)
    return (grad_x, grad_h, grad_c_total * f, *grad_params)


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    gi, gh = _input_and_hidden_parts(x, h, w_ih, w_hh, b_ih, b_hh)
    gi_r, gi_z, gi_n = split_gates(gi, 3)
    gh_r, gh_z, gh_n = split_gates(gh, 3)
    r = _sigmoid(gi_r + gh_r)
    z = _sigmoid(gi_z + gh_z)
    n = np.tanh(gi_n + r * gh_n)
    h_new = n + z * (h - n)  # = (1 - z) * n + z * h, written as PyTorch computes it
    return h_new, np.concatenate([r, z, n, gh_n], axis=-1)


def _gru_step_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, saved):
    r, z, n, gh_n = split_gates(saved, 4)
    grad_n_pre = grad_h_new * (1 - z) * (1 - n * n)
    grad_r_pre = grad_n_pre * gh_n * r * (1 - r)
    grad_z_pre = grad_h_new * (h - n) * z * (1 - z)
    grad_gi = np.concatenate([grad_r_pre, grad_z_pre, grad_n_pre], axis=-1)
    grad_gh = np.concatenate([grad_r_pre, grad_z_pre, grad_n_pre * r], axis=-1)
    grad_x, grad_h, *grad_params = _linear_backward(grad_gi, grad_gh, x, h, w_ih, w_hh, b_ih, b_hh)
    return (grad_x, grad_h + grad_h_new * z, *grad_params)


# ---------------------------------------------------------------------------- public cells

def rnn_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman RNN step: returns h_new (N, H), which is also what the backward needs."""
    check_activation(nonlinearity)
    (h,) = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=1, sequence=False)
    return _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)


def rnn_cell_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, h_new, nonlinearity="tanh"):
    """Backward of rnn_cell_forward given its output h_new.

    Returns (grad_x, grad_h, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh); a bias gradient is
    None when that bias is None. The biases are only looked at for being None.
    """
    check_activation(nonlinearity)
    (h,) = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=1, sequence=False)
    h_new = check_shape("h_new", h_new, h.shape, x.dtype)
    grad_h_new = check_optional("grad_h_new", grad_h_new, h.shape, x.dtype)
    return _rnn_step_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, h_new, nonlinearity)


def lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: returns (h_new, c_new, gates).

    gates (N, 4H) holds the activated gates i, f, g, o (sigmoid, sigmoid, tanh, sigmoid) side by
    side; the backward needs it together with c_new.
    """
    h, c = check_inputs(x, [("h", h), ("c", c)], w_ih, w_hh, b_ih, b_hh, n_gates=4, sequence=False)
    return _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)


def lstm_cell_backward(grad_h_new, grad_c_new, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new, gates):
    """Backward of lstm_cell_forward given its c_new and gates.

    Returns (grad_x, grad_h, grad_c, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh).
    """
    h, c = check_inputs(x, [("h", h), ("c", c)], w_ih, w_hh, b_ih, b_hh, n_gates=4, sequence=False)
    c_new = check_shape("c_new", c_new, h.shape, x.dtype)
    gates = check_shape("gates", gates, (h.shape[0], 4 * h.shape[1]), x.dtype)
    grad_h_new = check_optional("grad_h_new", grad_h_new, h.shape, x.dtype)
    grad_c_new = check_optional("grad_c_new", grad_c_new, h.shape, x.dtype)
    return _lstm_step_backward(
        grad_h_new, grad_c_new, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new, gates)


def gru_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: returns (h_new, saved).

    saved (N, 4H) holds r, z, n and h W_hn^T + b_hn side by side (the last is needed because r
    multiplies it); the backward needs saved and the inputs, not h_new.
    """
    (h,) = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=3, sequence=False)
    return _gru_step(x, h, w_ih, w_hh, b_ih, b_hh)


def gru_cell_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, saved):
    """Backward of gru_cell_forward given its saved array.

    Returns (grad_x, grad_h, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh).
    """
    (h,) = check_inputs(x, [("h", h)], w_ih, w_hh, b_ih, b_hh, n_gates=3, sequence=False)
    saved = check_shape("saved", saved, (h.shape[0], 4 * h.shape[1]), x.dtype)
    grad_h_new = check_optional("grad_h_new", grad_h_new, h.shape, x.dtype)
    return _gru_step_backward(grad_h_new, x, h, w_ih, w_hh, b_ih, b_hh, saved)
