"""Deterministic mode (hpnn.use_deterministic_algorithms): every kernel family with a reduction
gives bit-identical results across runs and across thread counts. Each case runs twice at 1
thread and twice at 2 and compares with np.array_equal; the shapes are large enough that the
binding's grain lets 2 threads work (threads_for), and the convolution cases reach each
algorithm (Winograd, direct few-tap, padded grid, im2col)."""
import numpy as np
import pytest

import hpnn
from hpnn import kernels

RUNS = [(threads, attempt) for threads in (1, 2) for attempt in range(2)]


@pytest.fixture(autouse=True)
def deterministic_mode():
    was_threads = hpnn.get_num_threads()
    was_mode = hpnn.are_deterministic_algorithms_enabled()
    hpnn.use_deterministic_algorithms(True)
    yield
    hpnn.use_deterministic_algorithms(was_mode)
    hpnn.set_num_threads(was_threads)


def results_of(fn):
    """fn()'s arrays at 1 and 2 threads, twice each."""
    out = []
    for threads, _ in RUNS:
        hpnn.set_num_threads(threads)
        result = fn()
        out.append([np.array(a, copy=True) for a in (result if isinstance(result, tuple) else (result,))])
    return out


def assert_bit_identical(fn):
    runs = results_of(fn)
    for (threads, attempt), arrays in zip(RUNS[1:], runs[1:]):
        for i, (a, b) in enumerate(zip(runs[0], arrays)):
            assert np.array_equal(a, b), (
                f"output {i} at {threads} threads (attempt {attempt}) differs from 1 thread: "
                f"max |diff| {np.max(np.abs(a.astype(np.float64) - b)):.3g}")


def rand(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(np.float32)


# (N, C, H, W, K, kh, kw, padding): Winograd (3x3, >= 16 channels), direct few-tap (a first
# layer), padded grid (5x5 stride 1), im2col (pointwise).
CONV_CASES = {
    "winograd": (64, 16, 20, 20, 32, 3, 3, 1),
    "winograd_small_batch": (3, 32, 12, 12, 32, 3, 3, 1),
    "direct": (64, 1, 28, 28, 16, 3, 3, 0),
    "direct_batch_1": (1, 1, 128, 128, 32, 3, 3, 1),
    "grid": (32, 8, 32, 32, 16, 5, 5, 2),
    "im2col": (64, 32, 14, 14, 32, 1, 1, 0),
}


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_and_gradients(case):
    n, c, h, w, k, kh, kw, pad = CONV_CASES[case]
    x, weight, bias = rand(n, c, h, w), rand(k, c, kh, kw, seed=1) * 0.1, rand(k, seed=2)
    y = kernels.conv2d_forward(x, weight, bias, padding=pad)
    dy = rand(*y.shape, seed=3)

    def run():
        out = kernels.conv2d_forward(x, weight, bias, padding=pad)
        gw, gb = kernels.conv2d_backward_weight_bias(dy, x, weight.shape, padding=pad)
        both = kernels.conv2d_backward(dy, x, weight, padding=pad)
        return (out, gw, gb) + tuple(np.asarray(g) for g in both)

    assert_bit_identical(run)


@pytest.mark.parametrize("case", ["winograd", "direct"])
def test_conv_relu_max_pool(case):
    n, c, h, w, k, kh, kw, pad = CONV_CASES[case]
    x, weight, bias = rand(n, c, h, w), rand(k, c, kh, kw, seed=1) * 0.1, rand(k, seed=2)
    y, _ = kernels.conv2d_relu_max_pool2d_forward(x, weight, bias, padding=pad)
    grad = rand(*y.shape, seed=3)

    def run():
        out, indices = kernels.conv2d_relu_max_pool2d_forward(x, weight, bias, padding=pad)
        grads = kernels.conv2d_relu_max_pool2d_backward(grad, indices, out, x, weight, padding=pad)
        return (out, indices) + tuple(np.asarray(g) for g in grads if g is not None)

    assert_bit_identical(run)


@pytest.mark.parametrize("m, n, k", [(256, 256, 700), (3, 300, 4000), (500, 10, 300)])
def test_gemm(m, n, k):
    a, b = rand(m, k), rand(k, n, seed=1)
    assert_bit_identical(lambda: kernels.gemm(a, b))


def test_batch_norm():
    x, weight, bias = rand(32, 8, 30, 30), rand(8, seed=1), rand(8, seed=2)
    dy = rand(*x.shape, seed=3)

    def run():
        mean, var = np.zeros(8, np.float32), np.ones(8, np.float32)
        y, save_mean, save_invstd = kernels.batch_norm_forward_train(x, weight, bias, mean, var)
        grads = kernels.batch_norm_backward(dy, x, weight, save_mean, save_invstd)
        return (y, save_mean, save_invstd, mean, var) + tuple(grads)

    assert_bit_identical(run)


def test_pooling():
    x = rand(16, 16, 32, 32)

    def run():
        y, idx = kernels.max_pool2d_forward(x, 3, 2, 1)
        gx = kernels.max_pool2d_backward(y, idx, x.shape)
        a = kernels.avg_pool2d_forward(x, 3, 2, 1)
        ga = kernels.avg_pool2d_backward(a, x.shape, 3, 2, 1)
        g = kernels.global_avg_pool2d_forward(x)
        gg = kernels.global_avg_pool2d_backward(g, x.shape)
        return y, idx, gx, a, ga, g, gg

    assert_bit_identical(run)


@pytest.mark.parametrize("loss", ["mse", "bce", "bce_logits", "cross_entropy"])
def test_losses(loss):
    x, t = rand(1000, 300), rand(1000, 300, seed=1)
    probs, labels = 1 / (1 + np.exp(-x)), (t > 0).astype(np.float32)
    classes = np.random.default_rng(0).integers(0, 300, 1000)
    one = np.float32(1.0)
    calls = {
        "mse": lambda: (kernels.mse_loss_forward(x, t), kernels.mse_loss_backward(one, x, t)),
        "bce": lambda: (kernels.bce_forward(probs, labels), kernels.bce_backward(one, probs, labels)),
        "bce_logits": lambda: (kernels.bce_with_logits_forward(x, labels),
                               kernels.bce_with_logits_backward(one, x, labels)),
        "cross_entropy": lambda: (kernels.cross_entropy_forward(x, classes),
                                  kernels.cross_entropy_backward(one, x, classes)),
    }
    assert_bit_identical(lambda: tuple(np.asarray(v) for v in calls[loss]()))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("batch", [64, 4])  # rows split between threads / hidden units split
def test_rnn(kind, batch):
    steps, features, hidden = 12, 32, 96
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    x, h0 = rand(steps, batch, features), rand(batch, hidden, seed=1)
    w_ih, w_hh = rand(gates * hidden, features, seed=2) * 0.1, rand(gates * hidden, hidden, seed=3) * 0.1
    b_ih, b_hh = rand(gates * hidden, seed=4), rand(gates * hidden, seed=5)
    dy, dh = rand(steps, batch, hidden, seed=6), rand(batch, hidden, seed=7)

    def run():
        if kind == "lstm":
            c0 = rand(batch, hidden, seed=8)
            out, h_n, c_n, saved = kernels.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
            grads = kernels.lstm_backward(dy, dh, dh, x, h0, c0, w_ih, w_hh, b_ih, b_hh, saved)
        else:
            forward = kernels.rnn_forward if kind == "rnn" else kernels.gru_forward
            backward = kernels.rnn_backward if kind == "rnn" else kernels.gru_backward
            out, h_n, saved = forward(x, h0, w_ih, w_hh, b_ih, b_hh)
            grads = backward(dy, dh, x, h0, w_ih, w_hh, b_ih, b_hh, saved)
        return (out, h_n) + tuple(grads)

    assert_bit_identical(run)


def test_optimizers():
    grad = rand(300_000, seed=1)

    def run():
        p, m, v = rand(300_000), np.zeros(300_000, np.float32), np.zeros(300_000, np.float32)
        kernels.adam_step(p, grad, m, v, None, step=1, lr=1e-3)
        q, buf = rand(300_000, seed=2), np.zeros(300_000, np.float32)
        kernels.sgd_step(q, grad, buf, lr=0.1, momentum=0.9)
        return p, m, v, q, buf

    assert_bit_identical(run)


def train_losses(threads, steps=40):
    """Losses of a conv + batch norm + Adam model over `steps` steps at `threads` threads."""
    hpnn.set_num_threads(threads)
    hpnn.manual_seed(0)
    nn = hpnn.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 14 * 14, 10))
    optimizer = hpnn.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = hpnn.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = hpnn.tensor(rng.integers(0, 10, 64))
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


def test_training_is_bit_identical_at_1_and_2_threads():
    runs = [train_losses(threads) for threads, _ in RUNS]
    assert np.all(np.isfinite(runs[0])) and runs[0][-1] < runs[0][0]  # it does train
    for (threads, attempt), losses in zip(RUNS[1:], runs[1:]):
        differ = np.flatnonzero(losses != runs[0])
        assert differ.size == 0, (f"{threads} threads (attempt {attempt}): losses differ from "
                                  f"step {differ[:1]} on")


def test_mode_is_on_by_default_and_validated():
    import subprocess
    import sys
    fresh = subprocess.run([sys.executable, "-c",
                            "import hpnn; print(hpnn.are_deterministic_algorithms_enabled())"],
                           capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == "True"
    hpnn.use_deterministic_algorithms(False)
    assert hpnn.are_deterministic_algorithms_enabled() is False
    hpnn.use_deterministic_algorithms(True, warn_only=True)
    assert hpnn.are_deterministic_algorithms_enabled() is True
    with pytest.raises(TypeError, match="use_deterministic_algorithms: argument 'mode'"):
        hpnn.use_deterministic_algorithms(1)
