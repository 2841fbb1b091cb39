"""Recurrent layers (RNN, LSTM, GRU; one layer, one direction, whole sequence) forward and
forward+backward: hpnn's kernels against torch.nn.RNN/LSTM/GRU on CPU (and the numpy reference
on the small case), same weights, same threads.

Run: python -m pytest bench/test_rnn.py
The closing table gives milliseconds and how many times longer each anchor takes than hpnn.
"""
import numpy as np
import pytest

from hpnn import kernels, reference

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# (name, T, N, F, H): the small case is the E3 training example's LSTM(8 -> 64) over 8 steps
SHAPES = [
    ("small", 8, 32, 8, 64),
    ("h128", 32, 64, 128, 128),
    ("h512", 32, 64, 512, 512),
]


def operands(kind, T, N, F, H):
    rng = np.random.default_rng(0)
    G, bound = GATES[kind], 1 / np.sqrt(H)
    x = rng.standard_normal((T, N, F), dtype=np.float32)
    states = [np.zeros((N, H), np.float32) for _ in range(2 if kind == "lstm" else 1)]
    weights = [rng.uniform(-bound, bound, shape).astype(np.float32)
               for shape in ((G * H, F), (G * H, H), (G * H,), (G * H,))]
    grad_y = rng.standard_normal((T, N, H), dtype=np.float32)
    return x, states, weights, grad_y


def hpnn_step(lib, kind, x, states, weights, grad_y, backward):
    forward, backward_fn = getattr(lib, f"{kind}_forward"), getattr(lib, f"{kind}_backward")
    no_final_grads = [None] * len(states)

    def run():
        *outputs, saved = forward(x, *states, *weights)
        if backward:
            backward_fn(grad_y, *no_final_grads, x, *states, *weights, saved)
        return outputs[0]
    return run


def torch_step(kind, x, states, weights, grad_y, backward):
    torch = pytest.importorskip("torch")
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
        x.shape[2], states[0].shape[1])
    with torch.no_grad():
        for param, value in zip((layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0,
                                 layer.bias_hh_l0), weights):
            param.copy_(torch.from_numpy(value))
    tx = torch.from_numpy(x).requires_grad_(backward)
    tstates = [torch.from_numpy(s)[None] for s in states]
    hx = tuple(tstates) if kind == "lstm" else tstates[0]
    tg = torch.from_numpy(grad_y)

    def run():
        if not backward:
            with torch.no_grad():
                return layer(tx, hx)[0]
        layer.zero_grad(set_to_none=True)
        tx.grad = None
        y = layer(tx, hx)[0]
        y.backward(tg)
        return y
    return run


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "torch", "reference"])
@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("case", SHAPES, ids=[s[0] for s in SHAPES])
@pytest.mark.parametrize("kind", list(GATES))
def test_recurrent(measure, kind, case, backward, impl, threads):
    name, T, N, F, H = case
    if impl == "reference" and name != "small":
        pytest.skip("the numpy reference is only timed on the small case")
    x, states, weights, grad_y = operands(kind, T, N, F, H)
    if impl == "torch":
        run = torch_step(kind, x, states, weights, grad_y, backward)
    else:
        run = hpnn_step(kernels if impl == "hpnn" else reference, kind, x, states, weights,
                        grad_y, backward)
    flops = 2.0 * T * N * GATES[kind] * H * (F + H) * (3 if backward else 1)
    group = f"{kind} {name} {'fwd+bwd' if backward else 'fwd'} threads={threads}"
    measure(run, group, impl, threads, rounds=7 if flops > 1e9 else 30, flops=flops)
