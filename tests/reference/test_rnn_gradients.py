"""Finite-difference checks (float64) of every recurrent backward in hpnn.reference, plus the
properties of the forward that the gradient checks cannot see (reverse, None, dtypes)."""
import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import numeric_grad

MODELS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
N_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
SIZES = [  # (T, N, F, H)
    (1, 1, 1, 1),
    (3, 2, 4, 3),
    (4, 1, 2, 5),
]


def make_inputs(rng, model, length, batch, features, hidden, bias, sequence=True, dtype=np.float64):
    """Named forward inputs in signature order; the states are called h and c for cells and
    sequences alike. Weights are scaled up a little so the gates are not all near 0.5."""
    rows = N_GATES[model] * hidden
    x_shape = (length, batch, features) if sequence else (batch, features)
    inputs = {"x": rng.standard_normal(x_shape), "h": rng.standard_normal((batch, hidden))}
    if model == "lstm":
        inputs["c"] = rng.standard_normal((batch, hidden))
    inputs["w_ih"] = rng.standard_normal((rows, features))
    inputs["w_hh"] = 0.7 * rng.standard_normal((rows, hidden))
    inputs["b_ih"] = rng.standard_normal(rows) if bias else None
    inputs["b_hh"] = rng.standard_normal(rows) if bias else None
    return {k: None if v is None else v.astype(dtype) for k, v in inputs.items()}


def activation_kwargs(model):
    return {"nonlinearity": model[4:]} if model.startswith("rnn") else {}


def sequence_forward(model, inputs, reverse):
    """(differentiable outputs, saved) of the sequence forward."""
    args = list(inputs.values())
    kwargs = dict(activation_kwargs(model), reverse=reverse)
    if model == "lstm":
        output, h_n, c_n, saved = ref.lstm_forward(*args, **kwargs)
        return (output, h_n, c_n), saved
    forward = ref.gru_forward if model == "gru" else ref.rnn_forward
    output, h_n, saved = forward(*args, **kwargs)
    return (output, h_n), saved


def sequence_backward(model, inputs, upstream, saved, reverse):
    backward = {"lstm": ref.lstm_backward, "gru": ref.gru_backward}.get(model, ref.rnn_backward)
    kwargs = dict(activation_kwargs(model), reverse=reverse)
    return backward(*upstream, *inputs.values(), saved, **kwargs)


def cell_forward(model, inputs):
    args = list(inputs.values())
    if model == "lstm":
        h_new, c_new, gates = ref.lstm_cell_forward(*args)
        return (h_new, c_new), (c_new, gates)
    if model == "gru":
        h_new, saved = ref.gru_cell_forward(*args)
        return (h_new,), (saved,)
    h_new = ref.rnn_cell_forward(*args, **activation_kwargs(model))
    return (h_new,), (h_new,)


def cell_backward(model, inputs, upstream, saved):
    backward = {"lstm": ref.lstm_cell_backward, "gru": ref.gru_cell_backward}.get(
        model, ref.rnn_cell_backward)
    return backward(*upstream, *inputs.values(), *saved, **activation_kwargs(model))


def check_all_gradients(forward, backward, inputs, rng):
    """forward(inputs) -> (outputs, saved); backward(upstream, saved) -> gradients of all inputs
    in signature order. Checks each against central differences of sum_k <output_k, upstream_k>."""
    outputs, saved = forward(inputs)
    upstream = [rng.standard_normal(output.shape) for output in outputs]
    gradients = backward(upstream, saved)
    assert len(gradients) == len(inputs)

    def loss():
        return sum(np.vdot(output, grad) for output, grad in zip(forward(inputs)[0], upstream))

    for (name, value), gradient in zip(inputs.items(), gradients):
        if value is None:
            assert gradient is None, name
            continue
        expected = numeric_grad(loss, value)
        assert gradient.shape == value.shape, name
        np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("model", MODELS)
def test_cell_backward_matches_finite_differences(model, sizes, bias):
    rng = np.random.default_rng(1)
    _, batch, features, hidden = sizes
    inputs = make_inputs(rng, model, 0, batch, features, hidden, bias, sequence=False)
    check_all_gradients(lambda p: cell_forward(model, p),
                        lambda up, saved: cell_backward(model, inputs, up, saved), inputs, rng)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("model", MODELS)
def test_sequence_backward_matches_finite_differences(model, sizes, bias, reverse):
    rng = np.random.default_rng(2)
    inputs = make_inputs(rng, model, *sizes, bias)
    check_all_gradients(lambda p: sequence_forward(model, p, reverse),
                        lambda up, saved: sequence_backward(model, inputs, up, saved, reverse),
                        inputs, rng)


@pytest.mark.parametrize("model", MODELS)
def test_reverse_is_forward_on_the_time_flipped_sequence(model):
    rng = np.random.default_rng(3)
    inputs = make_inputs(rng, model, 5, 2, 3, 4, bias=True)
    flipped = dict(inputs, x=inputs["x"][::-1].copy())
    reversed_outputs, _ = sequence_forward(model, inputs, reverse=True)
    flipped_outputs, _ = sequence_forward(model, flipped, reverse=False)
    np.testing.assert_allclose(reversed_outputs[0], flipped_outputs[0][::-1], rtol=1e-13)
    for reversed_state, flipped_state in zip(reversed_outputs[1:], flipped_outputs[1:]):
        np.testing.assert_allclose(reversed_state, flipped_state, rtol=1e-13)


@pytest.mark.parametrize("model", MODELS)
def test_none_initial_states_and_upstream_gradients_are_zeros(model):
    rng = np.random.default_rng(4)
    inputs = make_inputs(rng, model, 3, 2, 3, 4, bias=True)
    explicit = dict(inputs, h=np.zeros_like(inputs["h"]))
    implicit = dict(inputs, h=None)
    if model == "lstm":
        explicit["c"], implicit["c"] = np.zeros_like(inputs["c"]), None
    explicit_outputs, saved = sequence_forward(model, explicit, reverse=False)
    implicit_outputs, _ = sequence_forward(model, implicit, reverse=False)
    for a, b in zip(implicit_outputs, explicit_outputs):
        np.testing.assert_array_equal(a, b)
    grad_output = rng.standard_normal(explicit_outputs[0].shape)
    zero_states = [np.zeros_like(state) for state in explicit_outputs[1:]]
    explicit_grads = sequence_backward(model, explicit, [grad_output, *zero_states], saved, False)
    implicit_grads = sequence_backward(model, implicit, [grad_output] + [None] * len(zero_states),
                                       saved, False)
    assert np.abs(explicit_grads[0]).max() > 0
    for a, b in zip(implicit_grads, explicit_grads):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("model", MODELS)
def test_float32_is_computed_in_float32(model):
    rng = np.random.default_rng(5)
    inputs64 = make_inputs(rng, model, 3, 2, 3, 4, bias=True)
    inputs32 = {k: v.astype(np.float32) for k, v in inputs64.items()}
    outputs32, saved32 = sequence_forward(model, inputs32, reverse=False)
    outputs64, saved64 = sequence_forward(model, inputs64, reverse=False)
    upstream = [rng.standard_normal(o.shape) for o in outputs64]
    grads32 = sequence_backward(model, inputs32, [u.astype(np.float32) for u in upstream],
                                saved32, False)
    grads64 = sequence_backward(model, inputs64, upstream, saved64, False)
    for a32, a64 in zip([*outputs32, *saved32, *grads32], [*outputs64, *saved64, *grads64]):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_saved_does_not_alias_output(model):
    rng = np.random.default_rng(6)
    inputs = make_inputs(rng, model, 2, 1, 2, 3, bias=False)
    (output, *_), saved = sequence_forward(model, inputs, reverse=False)
    assert not any(np.shares_memory(output, array) for array in saved)
