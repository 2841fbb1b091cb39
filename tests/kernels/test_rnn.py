"""Native recurrent layers (hpnn.kernels.rnn) against hpnn.reference.rnn in float64, forward and
every gradient, on every ISA and at 1 and 2 threads.

Tolerance: 2e-5 relative to the largest magnitude of each result for the forward; the gradients
2e-4, since backpropagation through time sums T products of float32 GEMMs (depth up to 4H) and
the vectorised tanh/sigmoid (~2 ulp) enter every step's derivative, so rounding accumulates
along the sequence (the longest case here has T = 12)."""
import numpy as np
import pytest

from hpnn import reference
from hpnn.kernels import rnn as native

from support import as32, assert_close

KINDS = {"rnn": 1, "lstm": 4, "gru": 3}
SAVED_FIELDS = {"rnn": 1, "lstm": 3, "gru": 2}

# (kind, T, N, F, H, bias, reverse, nonlinearity)
CASES = [
    ("lstm", 5, 3, 7, 10, True, False, "tanh"),
    ("lstm", 1, 1, 3, 17, False, True, "tanh"),     # T = 1, N = 1, no bias
    ("lstm", 12, 9, 8, 64, True, True, "tanh"),     # several panels, reverse
    ("lstm", 3, 14, 5, 33, True, False, "tanh"),    # H past a panel, N past a tile
    ("gru", 5, 3, 7, 10, True, False, "tanh"),
    ("gru", 1, 1, 3, 17, False, True, "tanh"),
    ("gru", 12, 9, 8, 64, True, True, "tanh"),
    ("gru", 4, 13, 6, 35, True, False, "tanh"),
    ("rnn", 5, 3, 7, 10, True, False, "tanh"),
    ("rnn", 6, 4, 5, 19, True, True, "relu"),
    ("rnn", 1, 1, 3, 17, False, False, "relu"),
    ("rnn", 12, 9, 8, 64, True, True, "tanh"),
    # big enough for the time loop to run on 2 threads (uneven panel split)
    ("lstm", 4, 40, 16, 96, True, False, "tanh"),
    ("gru", 4, 40, 16, 96, True, True, "tanh"),
    ("rnn", 8, 64, 16, 96, True, False, "relu"),
    # 4H past the GEMM depth block (several passes of the backward's step product); at 2
    # threads the time loop splits the hidden units (too few rows to split the batch)
    ("lstm", 3, 5, 40, 136, True, True, "tanh"),
    ("gru", 3, 6, 20, 130, True, False, "tanh"),
    ("rnn", 4, 7, 9, 260, True, True, "tanh"),
    # 2 threads splitting an odd batch (13 + 12 rows), F + H past no SIMD width
    ("lstm", 2, 25, 3, 40, True, True, "tanh"),
    ("gru", 3, 25, 5, 70, True, False, "tanh"),
    # T * N past the GEMM depth block: the weight gradients' h0 rows straddle two blocks; a
    # panel of [x | h_prev] straddles x and h
    ("lstm", 9, 60, 40, 36, True, True, "tanh"),
    ("gru", 9, 60, 40, 36, True, False, "tanh"),
    # rows of [x | h] or of the gate gradients 2 KiB apart alias in L1 on AVX-512 (MR = 12),
    # 4 KiB apart on every ISA (the GRU's gate gradients, the RNN's [x | h]), so the step
    # products pack every tile of A (a partial one too; at 2 threads a split batch)
    ("lstm", 3, 13, 384, 128, True, False, "tanh"),
    ("gru", 2, 30, 256, 256, True, True, "tanh"),
    ("rnn", 2, 7, 512, 512, True, False, "tanh"),
]


def make_inputs(rng, kind, T, N, F, H, bias):
    G = KINDS[kind]
    scale = 1 / np.sqrt(H)
    arrays = {
        "x": rng.standard_normal((T, N, F)),
        "h0": rng.standard_normal((N, H)) * 0.5,
        "w_ih": rng.uniform(-scale, scale, (G * H, F)),
        "w_hh": rng.uniform(-scale, scale, (G * H, H)),
        "b_ih": rng.uniform(-scale, scale, G * H) if bias else None,
        "b_hh": rng.uniform(-scale, scale, G * H) if bias else None,
    }
    if kind == "lstm":
        arrays["c0"] = rng.standard_normal((N, H)) * 0.5
    return arrays


def call_args(kind, a):
    states = [a["h0"], a["c0"]] if kind == "lstm" else [a["h0"]]
    return [a["x"], *states, a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"]]


def options(kind, nonlinearity, reverse):
    return {"nonlinearity": nonlinearity, "reverse": reverse} if kind == "rnn" else {"reverse": reverse}


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_matches_reference(isa, threads, case):
    kind, T, N, F, H, bias, reverse, nonlinearity = case
    rng = np.random.default_rng(T * 1000 + H)
    a = make_inputs(rng, kind, T, N, F, H, bias)
    opts = options(kind, nonlinearity, reverse)
    args64 = call_args(kind, a)
    fwd = getattr(reference, f"{kind}_forward")
    bwd = getattr(reference, f"{kind}_backward")
    expected = fwd(*args64, **opts)
    actual = getattr(native, f"{kind}_forward")(*as32(args64), **opts)
    assert len(actual) == len(expected)
    for got, want in zip(actual[:-1], expected[:-1]):
        assert_close(got, want, 2e-5)
    assert isinstance(actual[-1], tuple) and len(actual[-1]) == SAVED_FIELDS[kind]
    for got, want in zip(actual[-1], expected[-1]):
        assert_close(got, want, 2e-5)
    assert not np.shares_memory(actual[0], actual[-1][0])

    n_states = 2 if kind == "lstm" else 1
    grads_in = [rng.standard_normal((T, N, H))] + [rng.standard_normal((N, H))] * n_states
    expected_grads = bwd(*grads_in, *args64, expected[-1], **opts)
    actual_grads = getattr(native, f"{kind}_backward")(*as32(grads_in), *as32(args64),
                                                       actual[-1], **opts)
    assert len(actual_grads) == len(expected_grads)
    for got, want in zip(actual_grads, expected_grads):
        assert_close(got, want, 2e-4)


@pytest.mark.parametrize("kind", list(KINDS))
def test_optional_arguments(kind):
    """None states and upstream gradients mean zeros; the backward takes the reference's
    named-tuple saved as well as its own plain tuple."""
    rng = np.random.default_rng(7)
    a = make_inputs(rng, kind, 4, 3, 5, 6, True)
    args = as32(call_args(kind, a))
    n_states = 2 if kind == "lstm" else 1
    with_none = [args[0], *[None] * n_states, *args[1 + n_states:]]
    zeros = [args[0], *[np.zeros_like(args[1])] * n_states, *args[1 + n_states:]]
    out_none = getattr(native, f"{kind}_forward")(*with_none)
    out_zero = getattr(native, f"{kind}_forward")(*zeros)
    np.testing.assert_array_equal(out_none[0], out_zero[0])
    grad_output = rng.standard_normal((4, 3, 6)).astype(np.float32)
    ref_saved = getattr(reference, f"{kind}_forward")(*zeros)[-1]
    bwd = getattr(native, f"{kind}_backward")
    got = bwd(grad_output, *[None] * n_states, *with_none, out_none[-1])
    via_ref = bwd(grad_output, *[None] * n_states, *zeros, ref_saved)
    for g, r in zip(got, via_ref):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_errors():
    rng = np.random.default_rng(0)
    a = make_inputs(rng, "lstm", 3, 2, 4, 5, True)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = as32(call_args("lstm", a))
    with pytest.raises(ValueError, match="x has 3 features"):
        native.lstm_forward(x[..., :3], h0, c0, w_ih, w_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="h0"):
        native.lstm_forward(x, h0[:, :4], c0, w_ih, w_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="c0"):
        native.lstm_forward(x, h0, c0[:1], w_ih, w_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="T == 0"):
        native.lstm_forward(x[:0], h0, c0, w_ih, w_hh, b_ih, b_hh)
    with pytest.raises(TypeError, match="float32"):
        native.gru_forward(x.astype(np.float64), None, *[w.astype(np.float64) for w in
                           as32(call_args("gru", make_inputs(rng, "gru", 3, 2, 4, 5, True)))[2:]])
    with pytest.raises(ValueError, match="b_hh"):
        native.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh[:-1])
    with pytest.raises(ValueError, match="nonlinearity"):
        native.rnn_forward(x, None, w_ih[:5], w_hh[:5], nonlinearity="sigmoid")
    saved = native.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)[-1]
    with pytest.raises(ValueError, match="saved.gates"):
        native.lstm_backward(None, None, None, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
                             (saved[0], saved[1], saved[2][..., :-1]))
    with pytest.raises(TypeError, match="saved"):
        native.lstm_backward(None, None, None, x, h0, c0, w_ih, w_hh, b_ih, b_hh, saved[:2])
    with pytest.raises(ValueError, match="grad_output"):
        native.lstm_backward(x, None, None, x, h0, c0, w_ih, w_hh, b_ih, b_hh, saved)


def test_empty_batch_falls_back():
    rng = np.random.default_rng(1)
    a = as32(call_args("gru", make_inputs(rng, "gru", 2, 0, 3, 4, True)))
    out, h_n, saved = native.gru_forward(*a)
    assert out.shape == (2, 0, 4) and out.dtype == np.float32
