"""hpnn.kernels.gemm_batched against hpnn.reference.gemm_batched (np.matmul in float64) on
every ISA and at 1 and 2 threads; results bit-identical across thread counts; bad arguments.

Tolerance as tests/kernels/test_gemm.py: 1e-5 * sqrt(K) times the sum of magnitudes
|alpha| * (|op(a)| @ |op(b)|) + |beta| * |c| per element.
"""
import numpy as np
import pytest

import hpnn
from hpnn import kernels, reference


def _op(x, trans):
    return np.swapaxes(x, -1, -2) if trans else x


def matrices(rng, batch, rows, cols, trans, strided=False):
    """A (batch..., rows, cols) operand as op() sees it: stored transposed when trans, and a
    non-contiguous view (every other row, every third column) when strided."""
    shape = tuple(batch) + ((cols, rows) if trans else (rows, cols))
    if not strided:
        return rng.standard_normal(shape, dtype=np.float32)
    big = rng.standard_normal(shape[:-2] + (2 * shape[-2] + 1, 3 * shape[-1] + 2),
                              dtype=np.float32)
    return big[..., 1::2, 2::3]


def assert_batched_close(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    c_before = None if c is None else c.copy()
    expected = reference.gemm_batched(a, b, None if c is None else c.copy(), alpha=alpha,
                                      beta=beta, trans_a=trans_a, trans_b=trans_b)
    result = kernels.gemm_batched(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a,
                                  trans_b=trans_b)
    if c is not None:
        assert result is c
    assert result.shape == expected.shape and result.dtype == np.float32
    op_a = np.abs(_op(a, trans_a)).astype(np.float64)
    op_b = np.abs(_op(b, trans_b)).astype(np.float64)
    scale = abs(alpha) * np.matmul(op_a, op_b)
    if c_before is not None and beta != 0:
        scale = scale + abs(beta) * np.abs(c_before)
    bound = 1e-5 * np.sqrt(max(op_a.shape[-1], 1)) * scale + 1e-7
    np.testing.assert_array_less(np.abs(result.astype(np.float64) - expected), bound)
    return result


BATCHES = [  # (batch of a, batch of b): equal, one, broadcast either way, missing dims
    ((1,), (1,)), ((5,), (5,)), ((2, 3), (2, 3)), ((4,), ()), ((), (3,)),
    ((2, 1), (1, 3)), ((1, 4), (4,)), ((0,), (0,)),
]


@pytest.mark.parametrize("batch_a,batch_b", BATCHES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_broadcast_batches_and_transposes(isa, threads, rng, batch_a, batch_b, trans_a,
                                          trans_b):
    a = matrices(rng, batch_a, 7, 13, trans_a)
    b = matrices(rng, batch_b, 13, 5, trans_b)
    assert_batched_close(a, b, trans_a=trans_a, trans_b=trans_b)


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (1, 17, 33), (33, 1, 5), (9, 40, 1), (0, 3, 4),
                                   (3, 0, 4), (3, 4, 0), (64, 64, 64), (130, 70, 150)])
def test_edge_and_large_sizes(isa, threads, rng, m, n, k):
    a = matrices(rng, (3,), m, k, False)
    b = matrices(rng, (3,), k, n, False)
    assert_batched_close(a, b)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_strided_views_and_c(isa, threads, rng, trans_a, trans_b):
    a = matrices(rng, (2, 3), 11, 19, trans_a, strided=True)
    b = matrices(rng, (3,), 19, 9, trans_b, strided=True)
    c = rng.standard_normal((3, 2, 11, 9), dtype=np.float32).transpose(1, 0, 2, 3)  # strided c
    assert_batched_close(a, b, c, alpha=0.5, beta=-2.0, trans_a=trans_a, trans_b=trans_b)


def test_broadcast_operand_is_not_copied_nor_changed(rng):
    b = rng.standard_normal((6, 8), dtype=np.float32)
    a = rng.standard_normal((4, 5, 6), dtype=np.float32)
    wide = np.broadcast_to(b, (4, 6, 8))  # batch stride 0, read-only
    out = assert_batched_close(a, wide)
    np.testing.assert_array_equal(out, kernels.gemm_batched(a, b))


def test_beta_zero_ignores_nan_in_c(rng):
    a, b = matrices(rng, (2,), 3, 4, False), matrices(rng, (2,), 4, 5, False)
    c = np.full((2, 3, 5), np.nan, np.float32)
    kernels.gemm_batched(a, b, c)
    assert np.isfinite(c).all()


@pytest.mark.parametrize("shape", [((256, 64, 64), (256, 64, 64)), ((128, 64, 32), (128, 32, 64)),
                                   ((3, 200, 300), (3, 300, 260)), ((5, 2, 33, 40), (40, 70))])
def test_bit_identical_across_thread_counts(isa, rng, shape):
    a = rng.standard_normal(shape[0], dtype=np.float32)
    b = rng.standard_normal(shape[1], dtype=np.float32)
    previous = hpnn.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            hpnn.set_num_threads(n)
            results.append(kernels.gemm_batched(a, b, trans_b=False))
    finally:
        hpnn.set_num_threads(previous)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def test_matches_per_item_gemm_exactly(isa, rng):
    """An item of the batch is the 2-D gemm of its matrices, to the bit."""
    a = rng.standard_normal((4, 20, 30), dtype=np.float32)
    b = rng.standard_normal((4, 40, 30), dtype=np.float32)
    out = kernels.gemm_batched(a, b, trans_b=True)
    for i in range(4):
        np.testing.assert_array_equal(out[i], kernels.gemm(a[i], b[i], trans_b=True))
