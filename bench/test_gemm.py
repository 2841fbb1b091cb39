"""GEMM: hpnn against numpy's BLAS (and torch when installed), same shapes, same threads.

Run: python -m pytest bench/test_gemm.py --benchmark-group-by=param:case
The summary table printed at the end gives GFLOP/s, the share of one core's measured FMA peak
per thread, and how many times longer the anchor takes than hpnn (>1.00x: hpnn is faster).
"""
import numpy as np
import pytest

from hpnn import kernels

SQUARE = [(f"square{n}", n, n, n, False, False) for n in (64, 128, 256, 512, 1024, 2048)]
# (name, M, N, K, trans_a, trans_b): Linear layers Y = X @ W.T, their backward passes
# dX = dY @ W and dW = dY.T @ X, and one large hidden layer.
SMALL_NETS = [
    ("mlp784_fwd", 64, 128, 784, False, True),
    ("mlp784_dx", 64, 784, 128, False, False),
    ("mlp784_dw", 128, 784, 64, True, False),
    ("head10_fwd", 64, 10, 128, False, True),
    ("head10_dx", 64, 128, 10, False, False),
    ("head10_dw", 10, 128, 64, True, False),
    ("wide4096_fwd", 256, 1024, 4096, False, True),
    ("wide4096_dx", 256, 4096, 1024, False, False),
    ("wide4096_dw", 1024, 4096, 256, True, False),
]
CASES = SQUARE + SMALL_NETS


def make_operands(m, n, k, trans_a, trans_b):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    return a, b, np.empty((m, n), np.float32)


def run_hpnn(a, b, c, trans_a, trans_b):
    return lambda: kernels.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)


def run_numpy(a, b, c, trans_a, trans_b):
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    return lambda: np.matmul(op_a, op_b, out=c)


def run_torch(a, b, c, trans_a, trans_b):
    torch = pytest.importorskip("torch")
    ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
    op_a, op_b = (ta.T if trans_a else ta), (tb.T if trans_b else tb)
    return lambda: torch.matmul(op_a, op_b, out=tc)


RUNNERS = {"hpnn": run_hpnn, "numpy": run_numpy, "torch": run_torch}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", list(RUNNERS))
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gemm(measure, case, impl, threads):
    name, m, n, k, trans_a, trans_b = case
    a, b, c = make_operands(m, n, k, trans_a, trans_b)
    run = RUNNERS[impl](a, b, c, trans_a, trans_b)
    group = f"gemm {name} {m}x{n}x{k} threads={threads}"
    flops = 2.0 * m * n * k
    measure(run, group, impl, threads, rounds=max(3, min(200, int(2e9 / (flops + 1)))), flops=flops)


# (name, batch, M, N, K): attention-sized batched products, (batch, M, K) @ (batch, K, N) --
# scores and weighted values of 4 heads x 64 sequences at d_head 64, and a 32-deep head.
BATCHED = [
    ("bmm256x64x64x64", 256, 64, 64, 64),
    ("bmm128x64x64x32", 128, 64, 64, 32),
]


def make_batched(batch, m, n, k):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, m, k), dtype=np.float32)
    b = rng.standard_normal((batch, k, n), dtype=np.float32)
    return a, b, np.empty((batch, m, n), np.float32)


def run_batched(impl, a, b, c):
    if impl == "hpnn":
        return lambda: kernels.gemm_batched(a, b, c)
    if impl == "numpy":
        return lambda: np.matmul(a, b, out=c)
    torch = pytest.importorskip("torch")
    ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
    return lambda: torch.bmm(ta, tb, out=tc)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "torch", "numpy"])
@pytest.mark.parametrize("case", BATCHED, ids=[c[0] for c in BATCHED])
def test_gemm_batched(measure, case, impl, threads):
    name, batch, m, n, k = case
    a, b, c = make_batched(batch, m, n, k)
    flops = 2.0 * batch * m * n * k
    measure(run_batched(impl, a, b, c), f"gemm_batched {name} threads={threads}", impl, threads,
            rounds=max(3, min(200, int(2e9 / flops))), flops=flops)
