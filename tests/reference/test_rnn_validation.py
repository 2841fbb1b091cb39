"""Bad arguments to the recurrent references raise, naming the argument."""
import numpy as np
import pytest

from hpnn import reference as ref

T, N, F, H = 3, 2, 4, 5


def lstm_args(rng, dtype=np.float64):
    """Valid lstm_forward arguments by name."""
    def randn(*shape):
        return rng.standard_normal(shape).astype(dtype)
    return {"x": randn(T, N, F), "h0": randn(N, H), "c0": randn(N, H), "w_ih": randn(4 * H, F),
            "w_hh": randn(4 * H, H), "b_ih": randn(4 * H), "b_hh": randn(4 * H)}


BAD_LSTM_FORWARD = [  # (argument, replacement, error)
    ("x", np.zeros((T, N, F + 1)), ValueError),
    ("x", np.zeros((0, N, F)), ValueError),
    ("x", np.zeros((N, F)), ValueError),
    ("x", np.zeros((T, N, F), dtype=np.int64), TypeError),
    ("x", [[[0.0] * F] * N] * T, TypeError),
    ("h0", np.zeros((N, H + 1)), ValueError),
    ("h0", np.zeros((N + 1, H)), ValueError),
    ("h0", np.zeros((1, N, H)), ValueError),
    ("h0", np.zeros((N, H), dtype=np.float32), TypeError),
    ("c0", np.zeros((N, H - 1)), ValueError),
    ("w_ih", np.zeros((3 * H, F)), ValueError),
    ("w_ih", np.zeros(4 * H * F), ValueError),
    ("w_hh", np.zeros((4 * H, H + 1)), ValueError),
    ("w_hh", np.zeros((3 * H, H)), ValueError),
    ("b_ih", np.zeros(4 * H + 1), ValueError),
    ("b_hh", np.zeros((4 * H, 1)), ValueError),
    ("b_hh", np.zeros(4 * H, dtype=np.float32), TypeError),
]


@pytest.mark.parametrize("name, value, error", BAD_LSTM_FORWARD)
def test_lstm_forward_rejects_bad_argument(name, value, error):
    args = lstm_args(np.random.default_rng(0))
    ref.lstm_forward(**args)  # the unmodified arguments are fine
    args[name] = value
    with pytest.raises(error, match=rf"\b{name}\b"):
        ref.lstm_forward(**args)


def rnn_and_gru_calls():
    """(description, call(x, h0, w_ih, w_hh, b_ih, b_hh), gates) for every single-state forward,
    cells given x[0]."""
    return [
        ("rnn_forward", ref.rnn_forward, 1),
        ("gru_forward", ref.gru_forward, 3),
        ("rnn_cell_forward", lambda x, *rest: ref.rnn_cell_forward(x[0], *rest), 1),
        ("gru_cell_forward", lambda x, *rest: ref.gru_cell_forward(x[0], *rest), 3),
    ]


@pytest.mark.parametrize("call, gates", [c[1:] for c in rnn_and_gru_calls()],
                         ids=[c[0] for c in rnn_and_gru_calls()])
@pytest.mark.parametrize("name", ["x", "h", "w_ih", "w_hh", "b_ih"])
def test_single_state_forwards_reject_wrong_shapes(call, gates, name):
    rng = np.random.default_rng(1)
    args = {"x": rng.standard_normal((T, N, F)), "h": rng.standard_normal((N, H)),
            "w_ih": rng.standard_normal((gates * H, F)),
            "w_hh": rng.standard_normal((gates * H, H)),
            "b_ih": rng.standard_normal(gates * H), "b_hh": rng.standard_normal(gates * H)}
    call(*args.values())
    args[name] = np.zeros(args[name].shape[:-1] + (args[name].shape[-1] + 1,))
    with pytest.raises(ValueError, match=rf"\b{name}0?\b"):  # h is called h0 in sequences
        call(*args.values())


def test_cells_reject_a_sequence():
    rng = np.random.default_rng(2)
    args = lstm_args(rng)
    with pytest.raises(ValueError, match=r"\bx\b.*2-D"):
        ref.lstm_cell_forward(args["x"], args["h0"], args["c0"], args["w_ih"], args["w_hh"])


@pytest.mark.parametrize("nonlinearity", ["sigmoid", "TANH", None])
def test_rnn_rejects_unknown_nonlinearity(nonlinearity):
    rng = np.random.default_rng(3)
    x, h0 = rng.standard_normal((T, N, F)), rng.standard_normal((N, H))
    w_ih, w_hh = rng.standard_normal((H, F)), rng.standard_normal((H, H))
    calls = [
        lambda: ref.rnn_forward(x, h0, w_ih, w_hh, nonlinearity=nonlinearity),
        lambda: ref.rnn_cell_forward(x[0], h0, w_ih, w_hh, nonlinearity=nonlinearity),
        lambda: ref.rnn_backward(None, None, x, h0, w_ih, w_hh, None, None,
                                 ref.RNNSaved(np.zeros((T, N, H))), nonlinearity=nonlinearity),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="nonlinearity"):
            call()


def lstm_backward_args():
    args = lstm_args(np.random.default_rng(4))
    *_, saved = ref.lstm_forward(**args)
    return dict(grad_output=np.ones((T, N, H)), grad_h_n=np.ones((N, H)), grad_c_n=None,
                **args, saved=saved)


@pytest.mark.parametrize("name, value, error", [
    ("grad_output", np.ones((T, N, H + 1)), ValueError),
    ("grad_output", np.ones((T - 1, N, H)), ValueError),
    ("grad_h_n", np.ones((N, 1)), ValueError),
    ("grad_c_n", np.ones((N,)), ValueError),
    ("grad_c_n", np.ones((N, H), dtype=np.float32), TypeError),
    ("x", np.ones((T, N, F + 1)), ValueError),
    ("c0", np.ones((N, H + 2)), ValueError),
    ("saved", None, TypeError),
    ("saved", (np.ones((T, N, H)),), TypeError),
    ("saved.gates", np.ones((T, N, 3 * H)), ValueError),
    ("saved.cell", np.ones((T + 1, N, H)), ValueError),
])
def test_lstm_backward_rejects_bad_argument(name, value, error):
    args = lstm_backward_args()
    ref.lstm_backward(**args)
    if name.startswith("saved."):
        args["saved"] = args["saved"]._replace(**{name[6:]: value})
    else:
        args[name] = value
    with pytest.raises(error, match=rf"\b{name}\b"):
        ref.lstm_backward(**args)


def test_cell_backwards_reject_wrong_saved_activations():
    rng = np.random.default_rng(5)
    x, h = rng.standard_normal((N, F)), rng.standard_normal((N, H))
    w_ih4, w_hh4 = rng.standard_normal((4 * H, F)), rng.standard_normal((4 * H, H))
    w_ih3, w_hh3 = rng.standard_normal((3 * H, F)), rng.standard_normal((3 * H, H))
    with pytest.raises(ValueError, match=r"\bgates\b"):
        ref.lstm_cell_backward(h, None, x, h, h, w_ih4, w_hh4, None, None, h, np.ones((N, 3 * H)))
    with pytest.raises(ValueError, match=r"\bc_new\b"):
        ref.lstm_cell_backward(h, None, x, h, h, w_ih4, w_hh4, None, None, h[:1],
                               np.ones((N, 4 * H)))
    with pytest.raises(ValueError, match=r"\bsaved\b"):
        ref.gru_cell_backward(h, x, h, w_ih3, w_hh3, None, None, np.ones((N, 3 * H)))
    with pytest.raises(ValueError, match=r"\bh_new\b"):
        ref.rnn_cell_backward(h, x, h, w_ih3[:H], w_hh3[:H], None, None, h.T)
    with pytest.raises(ValueError, match=r"\bgrad_h_new\b"):
        ref.gru_cell_backward(h[:1], x, h, w_ih3, w_hh3, None, None, np.ones((N, 4 * H)))
