"""Kernels release the GIL and keep their scratch per thread: several Python threads calling the
convolutions (every Winograd path, the direct ones) and the recurrent layers at once get the
results of calls made one at a time (to rounding: the threads that sum partial gradients take
their shares dynamically, so the order of the sums may differ)."""
import threading

import numpy as np

from hpnn.kernels import conv, rnn

# (x shape, out channels, kernel size, padding): Winograd with the adjoint input gradient,
# Winograd with the flipped-forward one, a pointwise and a first-layer (padded grid) convolution
CONV_CASES = [((3, 32, 13, 13), 64, 3, 0), ((2, 16, 9, 9), 24, 3, 1), ((2, 8, 7, 7), 16, 1, 0),
              ((3, 1, 12, 12), 8, 3, 0), ((4, 1, 28, 28), 32, 3, 1)]  # last: direct few-tap


def conv_step(x, w, grad_y, padding):
    return (conv.conv2d_forward(x, w, padding=padding),
            conv.conv2d_backward_input(grad_y, w, x.shape, padding=padding),
            conv.conv2d_backward_weight(grad_y, x, w.shape, padding=padding),
            *conv.conv2d_backward(grad_y, x, w, padding=padding))


def conv_problem(rng, shape, k, ksize, padding):
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((k, shape[1], ksize, ksize), dtype=np.float32)
    out = shape[2] + 2 * padding - ksize + 1
    grad_y = rng.standard_normal((shape[0], k, out, out), dtype=np.float32)
    return lambda: conv_step(x, w, grad_y, padding)


def lstm_problem(rng, T, N, F, H):
    x = rng.standard_normal((T, N, F), dtype=np.float32)
    h0, c0 = (rng.standard_normal((N, H), dtype=np.float32) for _ in range(2))
    w_ih = rng.uniform(-0.3, 0.3, (4 * H, F)).astype(np.float32)
    w_hh = rng.uniform(-0.3, 0.3, (4 * H, H)).astype(np.float32)
    grad = rng.standard_normal((T, N, H), dtype=np.float32)

    def run():
        *outputs, saved = rnn.lstm_forward(x, h0, c0, w_ih, w_hh)
        return (*outputs, *rnn.lstm_backward(grad, None, None, x, h0, c0, w_ih, w_hh, None, None,
                                             saved))
    return run


def test_concurrent_calls_match_serial_ones(rng):
    problems = [conv_problem(rng, *case) for case in CONV_CASES]
    problems += [lstm_problem(rng, 5, 13, 8, 64), lstm_problem(rng, 3, 30, 384, 128)]
    expected = [problem() for problem in problems]
    results = [[] for _ in problems]

    def work(i):
        for _ in range(3):
            results[i].append(problems[i]())

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for want, runs in zip(expected, results):
        assert len(runs) == 3
        for got in runs:
            for a, b in zip(got, want):
                if b is None:  # a gradient not asked for (no biases)
                    assert a is None
                    continue
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * float(np.abs(b).max()))
