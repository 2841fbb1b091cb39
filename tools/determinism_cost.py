"""Cost of deterministic mode per kernel family: each case timed with
hpnn.use_deterministic_algorithms on and off, interleaved (on, off, on, off, ...) so that load
from other processes hits both alike; prints the medians and their ratio.

    PYTHONPATH=python python tools/determinism_cost.py [--threads 2] [--repeats 15]
"""
import argparse
import statistics
import time

import numpy as np

import hpnn
from hpnn import kernels


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def conv_case(n, c, h, w, k, ksize, pad, what):
    x, weight = rand(n, c, h, w), rand(k, c, ksize, ksize, seed=1) * 0.1
    y = kernels.conv2d_forward(x, weight, None, padding=pad)
    dy = rand(*y.shape, seed=2)
    if what == "forward":
        return lambda: kernels.conv2d_forward(x, weight, None, padding=pad)
    if what == "weight":
        return lambda: kernels.conv2d_backward_weight_bias(dy, x, weight.shape, padding=pad)
    return lambda: kernels.conv2d_backward(dy, x, weight, padding=pad)


def batch_norm_case():
    x, weight, bias = rand(32, 64, 28, 28), rand(64, seed=1), rand(64, seed=2)
    dy, mean, var = rand(*x.shape, seed=3), np.zeros(64, np.float32), np.ones(64, np.float32)

    def run():
        _, save_mean, save_invstd = kernels.batch_norm_forward_train(x, weight, bias, mean, var)
        kernels.batch_norm_backward(dy, x, weight, save_mean, save_invstd)
    return run


def pool_case():
    x = rand(32, 64, 28, 28)

    def run():
        y, idx = kernels.max_pool2d_forward(x, 2, 2)
        kernels.max_pool2d_backward(y, idx, x.shape)
    return run


def loss_case():
    x, t = rand(2000, 1000), rand(2000, 1000, seed=1)
    classes = np.random.default_rng(0).integers(0, 1000, 2000)

    def run():
        kernels.mse_loss_forward(x, t)
        kernels.cross_entropy_forward(x, classes)
    return run


def lstm_case(batch):
    steps, features, hidden = 32, 128, 256
    x, h0, c0 = rand(steps, batch, features), rand(batch, hidden, seed=1), rand(batch, hidden, seed=2)
    w_ih, w_hh = rand(4 * hidden, features, seed=3) * 0.1, rand(4 * hidden, hidden, seed=4) * 0.1
    b_ih, b_hh = rand(4 * hidden, seed=5), rand(4 * hidden, seed=6)
    _, _, _, saved = kernels.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    dy, dh = rand(steps, batch, hidden, seed=7), rand(batch, hidden, seed=8)
    return lambda: kernels.lstm_backward(dy, dh, dh, x, h0, c0, w_ih, w_hh, b_ih, b_hh, saved)


def adam_case():
    p, g = rand(2_000_000), rand(2_000_000, seed=1)
    m, v = np.zeros_like(p), np.zeros_like(p)
    return lambda: kernels.adam_step(p, g, m, v, None, step=1, lr=1e-3)


def gemm_case():
    a, b = rand(512, 512), rand(512, 512, seed=1)
    return lambda: kernels.gemm(a, b)


CASES = {
    "conv fwd winograd 32x64x28x28 k64": lambda: conv_case(32, 64, 28, 28, 64, 3, 1, "forward"),
    "conv bwd winograd 32x64x28x28 k64": lambda: conv_case(32, 64, 28, 28, 64, 3, 1, "both"),
    "conv dW winograd 32x64x28x28 k64": lambda: conv_case(32, 64, 28, 28, 64, 3, 1, "weight"),
    "conv dW winograd 4x64x28x28 k64": lambda: conv_case(4, 64, 28, 28, 64, 3, 1, "weight"),
    "conv dW direct 64x1x28x28 k32": lambda: conv_case(64, 1, 28, 28, 32, 3, 1, "weight"),
    "conv dW grid 32x16x28x28 k32 5x5": lambda: conv_case(32, 16, 28, 28, 32, 5, 2, "weight"),
    "conv dW im2col 64x64x14x14 k128 1x1": lambda: conv_case(64, 64, 14, 14, 128, 1, 0, "weight"),
    "gemm 512^3": gemm_case,
    "batch norm fwd+bwd 32x64x28x28": batch_norm_case,
    "max pool fwd+bwd 32x64x28x28": pool_case,
    "mse + cross entropy fwd 2000x1000": loss_case,
    "lstm bwd T32 N64 H256": lambda: lstm_case(64),
    "lstm bwd T32 N4 H256": lambda: lstm_case(4),
    "adam step 2M": adam_case,
}


def seconds(fn, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def measure(fn, repeats):
    fn()  # warm-up: scratch buffers, caches
    runs = max(1, int(0.02 / max(seconds(fn, 1), 1e-6)))
    times = {True: [], False: []}
    for _ in range(repeats):
        for mode in (True, False):
            hpnn.use_deterministic_algorithms(mode)
            times[mode].append(seconds(fn, runs))
    return statistics.median(times[True]), statistics.median(times[False])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    hpnn.set_num_threads(args.threads)
    print(f"{'case':40s} {'determ. ms':>11s} {'other ms':>9s} {'ratio':>6s}")
    for name, make in CASES.items():
        on, off = measure(make(), args.repeats)
        print(f"{name:40s} {on * 1e3:11.3f} {off * 1e3:9.3f} {on / off:6.3f}", flush=True)
    hpnn.use_deterministic_algorithms(True)


if __name__ == "__main__":
    main()
