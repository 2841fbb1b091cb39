"""Native recurrent cells (hpnn.kernels.rnn_cells) against hpnn.reference.rnn_cells in float64,
forward (with what it saves) and every gradient, on every ISA and at 1 and 2 threads; then the
drop-in contract: None arguments, the reference's saved arrays, the same errors.

Tolerance: 5e-6 relative to the largest magnitude of each result for the forward, 1e-5 for the
gradients (one step: float32 products of depth up to 4H and the ~2 ulp vectorised gates; the
worst seen is 6e-7)."""
import numpy as np
import pytest

from hpnn import kernels, reference
from hpnn.backend import backend, kernel
from hpnn.kernels import rnn_cells as native

from support import as32, assert_close

GATES = {"rnn": 1, "lstm": 4, "gru": 3}

# (kind, N, F, H, bias, nonlinearity)
CASES = [
    ("lstm", 3, 7, 10, True, "tanh"),
    ("lstm", 1, 3, 17, False, "tanh"),     # N = 1, no bias
    ("lstm", 14, 5, 33, True, "tanh"),     # H past a panel, N past a tile
    ("gru", 3, 7, 10, True, "tanh"),
    ("gru", 1, 3, 17, False, "tanh"),
    ("gru", 13, 6, 35, True, "tanh"),
    ("rnn", 3, 7, 10, True, "tanh"),
    ("rnn", 4, 5, 19, True, "relu"),
    ("rnn", 1, 3, 17, False, "relu"),
    # big enough for the step to run on 2 threads
    ("lstm", 64, 16, 128, True, "tanh"),
    ("gru", 64, 16, 128, True, "tanh"),
    ("rnn", 128, 16, 256, True, "tanh"),
]


def make_inputs(rng, kind, N, F, H, bias):
    G, scale = GATES[kind], 1 / np.sqrt(H)
    states = [rng.standard_normal((N, H)) * 0.5 for _ in range(2 if kind == "lstm" else 1)]
    return [
        rng.standard_normal((N, F)), *states,
        rng.uniform(-scale, scale, (G * H, F)), rng.uniform(-scale, scale, (G * H, H)),
        rng.uniform(-scale, scale, G * H) if bias else None,
        rng.uniform(-scale, scale, G * H) if bias else None,
    ]


def options(kind, nonlinearity):
    return {"nonlinearity": nonlinearity} if kind == "rnn" else {}


def as_list(result):
    return list(result) if isinstance(result, tuple) else [result]


def saved_of(kind, forward_result):
    """What the backward takes after the weights: h_new, (c_new, gates) or saved."""
    return {"rnn": lambda r: [r], "lstm": lambda r: list(r[1:]), "gru": lambda r: [r[1]]}[kind](
        forward_result)


def upstream(rng, kind, N, H):
    return [rng.standard_normal((N, H)) for _ in range(2 if kind == "lstm" else 1)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_matches_reference(isa, threads, case):
    kind, N, F, H, bias, nonlinearity = case
    rng = np.random.default_rng(N * 1000 + H)
    args = make_inputs(rng, kind, N, F, H, bias)
    opts = options(kind, nonlinearity)
    forward, backward = f"{kind}_cell_forward", f"{kind}_cell_backward"
    expected = getattr(reference, forward)(*args, **opts)
    actual = getattr(native, forward)(*as32(args), **opts)
    assert type(actual) is type(expected)
    for got, want in zip(as_list(actual), as_list(expected)):
        assert_close(got, want, 5e-6)

    grads = upstream(rng, kind, N, H)
    expected_grads = getattr(reference, backward)(*grads, *args, *saved_of(kind, expected), **opts)
    actual_grads = getattr(native, backward)(*as32(grads), *as32(args), *saved_of(kind, actual),
                                             **opts)
    assert isinstance(actual_grads, tuple) and len(actual_grads) == len(expected_grads)
    for got, want in zip(actual_grads, expected_grads):
        assert_close(got, want, 1e-5)


@pytest.mark.parametrize("kind", list(GATES))
def test_optional_arguments_and_reference_saved(kind):
    """None states and upstream gradients mean zeros; the backward takes the saved arrays of the
    float32 reference forward."""
    rng = np.random.default_rng(7)
    args = as32(make_inputs(rng, kind, 5, 4, 6, True))
    n_states = 2 if kind == "lstm" else 1
    with_none = [args[0], *[None] * n_states, *args[1 + n_states:]]
    zeros = [args[0], *[np.zeros_like(args[1])] * n_states, *args[1 + n_states:]]
    forward = getattr(native, f"{kind}_cell_forward")
    out_none, out_zero = as_list(forward(*with_none)), as_list(forward(*zeros))
    for a, b in zip(out_none, out_zero):
        np.testing.assert_array_equal(a, b)
    ref_saved = saved_of(kind, getattr(reference, f"{kind}_cell_forward")(*zeros))
    backward = getattr(native, f"{kind}_cell_backward")
    grad_h = rng.standard_normal((5, 6)).astype(np.float32)
    got = backward(grad_h, *[None] * (n_states - 1), *with_none,
                   *saved_of(kind, forward(*with_none)))
    via_ref = backward(grad_h, *[np.zeros_like(grad_h)] * (n_states - 1), *zeros, *ref_saved)
    expected = getattr(reference, f"{kind}_cell_backward")(
        grad_h, *[None] * (n_states - 1), *zeros, *ref_saved)
    for g, r, e in zip(got, via_ref, expected):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def raised(fn, *args, **kwargs):
    with pytest.raises((TypeError, ValueError)) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


def test_errors_match_reference():
    rng = np.random.default_rng(0)
    x, h, c, w_ih, w_hh, b_ih, b_hh = as32(make_inputs(rng, "lstm", 3, 4, 5, True))
    h_new, c_new, gates = native.lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih, b_hh)
    gru = as32(make_inputs(rng, "gru", 3, 4, 5, True))
    gru_saved = native.gru_cell_forward(*gru)[1]
    bad_calls = [
        ("lstm_cell_forward", (x[:, :3], h, c, w_ih, w_hh, b_ih, b_hh), {}),
        ("lstm_cell_forward", (x, h[:, :4], c, w_ih, w_hh, b_ih, b_hh), {}),
        ("lstm_cell_forward", (x, h, c[:1], w_ih, w_hh, b_ih, b_hh), {}),
        ("lstm_cell_forward", (x, h, c, w_ih, w_hh[:-1], b_ih, b_hh), {}),
        ("lstm_cell_forward", (x, h, c, w_ih, w_hh, b_ih, b_hh[:-1]), {}),
        ("lstm_cell_forward", (x[None], h, c, w_ih, w_hh, b_ih, b_hh), {}),
        ("lstm_cell_forward", (x, h.astype(np.float64), c, w_ih, w_hh, b_ih, b_hh), {}),
        ("lstm_cell_backward", (None, None, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new,
                                gates[:, :-1]), {}),
        ("lstm_cell_backward", (None, None, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new[:1],
                                gates), {}),
        ("lstm_cell_backward", (x, None, x, h, c, w_ih, w_hh, b_ih, b_hh, c_new, gates), {}),
        ("lstm_cell_backward", (None, h.tolist(), x, h, c, w_ih, w_hh, b_ih, b_hh, c_new,
                                gates), {}),
        ("gru_cell_backward", (None, *gru, gru_saved[:, :-1]), {}),
        ("rnn_cell_forward", (x, None, w_ih[:5], w_hh[:5]), {"nonlinearity": "sigmoid"}),
        ("rnn_cell_backward", (None, x, None, w_ih[:5], w_hh[:5], None, None, h_new[:2]), {}),
    ]
    for name, args, kwargs in bad_calls:
        assert raised(getattr(native, name), *args, **kwargs) == \
            raised(getattr(reference, name), *args, **kwargs), name


def test_float64_is_a_type_error():
    args = make_inputs(np.random.default_rng(2), "gru", 3, 4, 5, True)
    with pytest.raises(TypeError, match="float32"):
        native.gru_cell_forward(*args)
    with pytest.raises(TypeError, match="float32"):
        native.gru_cell_backward(None, *args, np.zeros((3, 20)))


def test_empty_batch_falls_back():
    rng = np.random.default_rng(1)
    args = as32(make_inputs(rng, "lstm", 0, 3, 4, True))
    h_new, c_new, gates = native.lstm_cell_forward(*args)
    assert h_new.shape == (0, 4) and gates.shape == (0, 16) and gates.dtype == np.float32
    grads = native.lstm_cell_backward(None, None, *args, c_new, gates)
    assert grads[0].shape == (0, 3) and grads[3].shape == (16, 3)


def test_exported_and_resolved():
    for name in native.__all__:
        assert getattr(kernels, name) is getattr(native, name)
        with backend("native"):
            assert kernel(name) is getattr(native, name)
