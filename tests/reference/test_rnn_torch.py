"""The recurrent references against PyTorch: torch.nn.RNN/LSTM/GRU (a bidirectional module's
backward direction for reverse=True) and RNNCell/LSTMCell/GRUCell, with PyTorch's weights copied
in, comparing outputs, final states and every gradient from autograd."""
import numpy as np
import pytest

from hpnn import reference as ref

torch = pytest.importorskip("torch")

MODELS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def assert_close(actual, expected, dtype, name):
    """Max error relative to the largest expected magnitude (elementwise rtol is meaningless for
    entries that are ~0 only by cancellation)."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.dtype == dtype, name
    assert actual.shape == expected.shape, name
    scale = max(np.abs(expected).max(), 1e-30)
    error = np.abs(actual.astype(np.float64) - expected).max() / scale
    assert error <= TOLERANCE[dtype], f"{name}: relative error {error:.2e}"


def torch_module(model, cell, features, hidden, bias, bidirectional=False):
    kind = {"lstm": "LSTM", "gru": "GRU"}.get(model, "RNN")
    kwargs = {"nonlinearity": model[4:]} if kind == "RNN" else {}
    if cell:
        return getattr(torch.nn, kind + "Cell")(features, hidden, bias=bias, **kwargs)
    return getattr(torch.nn, kind)(features, hidden, bias=bias, bidirectional=bidirectional,
                                   **kwargs)


def parameters(module, suffix):
    """PyTorch's weights as numpy, in the reference's argument order; None for absent biases."""
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    tensors = [getattr(module, name + suffix, None) for name in names]
    return [None if t is None else t.detach().numpy().copy() for t in tensors]


def parameter_grads(module, suffix):
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    tensors = [getattr(module, name + suffix, None) for name in names]
    return [None if t is None else t.grad for t in tensors]


def reference_sequence(model, x, states, weights, upstream, reverse):
    """(outputs, gradients) of the reference, outputs = (output, h_n[, c_n])."""
    kwargs = {"reverse": reverse}
    if model.startswith("rnn"):
        kwargs["nonlinearity"] = model[4:]
    forward, backward = {"lstm": (ref.lstm_forward, ref.lstm_backward),
                         "gru": (ref.gru_forward, ref.gru_backward)}.get(
        model, (ref.rnn_forward, ref.rnn_backward))
    *outputs, saved = forward(x, *states, *weights, **kwargs)
    return outputs, backward(*upstream, x, *states, *weights, saved, **kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("model", MODELS)
def test_sequence_matches_torch(model, bias, reverse, dtype):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    length, batch, features, hidden = 5, 3, 4, 6
    direction = 1 if reverse else 0
    n_states = 2 if model == "lstm" else 1
    module = torch_module(model, False, features, hidden, bias, bidirectional=reverse)
    module = module.to(TORCH_DTYPE[dtype])

    x = rng.standard_normal((length, batch, features)).astype(dtype)
    directions = 2 if reverse else 1
    torch_states = [torch.tensor(rng.standard_normal((directions, batch, hidden)).astype(dtype),
                                 requires_grad=True) for _ in range(n_states)]
    x_torch = torch.tensor(x, requires_grad=True)
    output, final = module(x_torch, tuple(torch_states) if n_states == 2 else torch_states[0])
    final = final if n_states == 2 else (final,)

    # upstream gradients reach only the direction under test, so grad_x is that direction's
    grad_output = rng.standard_normal((length, batch, hidden)).astype(dtype)
    grad_finals = [rng.standard_normal((batch, hidden)).astype(dtype) for _ in range(n_states)]
    torch_grad_output = torch.zeros_like(output)
    torch_grad_output[..., direction * hidden:(direction + 1) * hidden] = torch.tensor(grad_output)
    loss = (output * torch_grad_output).sum()
    for state, grad in zip(final, grad_finals):
        loss = loss + (state[direction] * torch.tensor(grad)).sum()
    loss.backward()

    suffix = "_l0_reverse" if reverse else "_l0"
    states = [s[direction].detach().numpy().copy() for s in torch_states]
    outputs, grads = reference_sequence(model, x, states, parameters(module, suffix),
                                        [grad_output, *grad_finals], reverse)
    assert_close(outputs[0], output[..., direction * hidden:(direction + 1) * hidden], dtype,
                 "output")
    for name, ours, theirs in zip(["h_n", "c_n"], outputs[1:], final):
        assert_close(ours, theirs[direction], dtype, name)
    expected_grads = [x_torch.grad, *[s.grad[direction] for s in torch_states],
                      *parameter_grads(module, suffix)]
    names = ["x", "h0", "c0"][:1 + n_states] + ["w_ih", "w_hh", "b_ih", "b_hh"]
    assert len(grads) == len(expected_grads)
    for name, ours, theirs in zip(names, grads, expected_grads):
        if theirs is None:
            assert ours is None, name
        else:
            assert_close(ours, theirs, dtype, "grad_" + name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("model", MODELS)
def test_cell_matches_torch(model, bias, dtype):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    batch, features, hidden = 4, 3, 5
    n_states = 2 if model == "lstm" else 1
    module = torch_module(model, True, features, hidden, bias).to(TORCH_DTYPE[dtype])
    x = rng.standard_normal((batch, features)).astype(dtype)
    states = [rng.standard_normal((batch, hidden)).astype(dtype) for _ in range(n_states)]
    x_torch = torch.tensor(x, requires_grad=True)
    torch_states = [torch.tensor(s, requires_grad=True) for s in states]
    new_states = module(x_torch, tuple(torch_states) if n_states == 2 else torch_states[0])
    new_states = new_states if n_states == 2 else (new_states,)
    upstream = [rng.standard_normal((batch, hidden)).astype(dtype) for _ in range(n_states)]
    sum((s * torch.tensor(u)).sum() for s, u in zip(new_states, upstream)).backward()

    weights = parameters(module, "")
    if model == "lstm":
        h_new, c_new, gates = ref.lstm_cell_forward(x, *states, *weights)
        ours, saved = (h_new, c_new), (c_new, gates)
        grads = ref.lstm_cell_backward(*upstream, x, *states, *weights, *saved)
    elif model == "gru":
        h_new, saved = ref.gru_cell_forward(x, *states, *weights)
        ours = (h_new,)
        grads = ref.gru_cell_backward(*upstream, x, *states, *weights, saved)
    else:
        h_new = ref.rnn_cell_forward(x, *states, *weights, nonlinearity=model[4:])
        ours = (h_new,)
        grads = ref.rnn_cell_backward(*upstream, x, *states, *weights, h_new,
                                      nonlinearity=model[4:])
    for name, a, b in zip(["h_new", "c_new"], ours, new_states):
        assert_close(a, b, dtype, name)
    expected_grads = [x_torch.grad, *[s.grad for s in torch_states], *parameter_grads(module, "")]
    assert len(grads) == len(expected_grads)
    for index, (a, b) in enumerate(zip(grads, expected_grads)):
        if b is None:
            assert a is None, index
        else:
            assert_close(a, b, dtype, f"gradient {index}")
