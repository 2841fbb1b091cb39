"""hpnn.kernels.gemm against hpnn.reference.gemm (float64 numpy) on every ISA and thread count.

Tolerance: each element may differ from the float64 result by 1e-5 * sqrt(K) times the sum of
magnitudes |alpha| * (|op(a)| @ |op(b)|) + |beta| * |c| -- float32 rounding of a K-term dot
product grows like sqrt(K) and is relative to the terms summed, not to the (possibly
cancelling) result.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import hpnn
from hpnn import _C, kernels, reference

from support import TEST_ISAS


def operands(rng, m, n, k, trans_a, trans_b, strided=False):
    """op(a) is (m, k), op(b) is (k, n); strided=True gives non-contiguous views."""
    def make(rows, cols):
        if not strided:
            return rng.standard_normal((rows, cols), dtype=np.float32)
        return rng.standard_normal((2 * rows + 1, 3 * cols + 2), dtype=np.float32)[1::2, 2::3]

    a = make(k, m) if trans_a else make(m, k)
    b = make(n, k) if trans_b else make(k, n)
    return a, b


def assert_gemm_close(a, b, c, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    c_before = None if c is None else c.copy()
    expected = reference.gemm(a, b, None if c is None else c.copy(), alpha=alpha, beta=beta,
                              trans_a=trans_a, trans_b=trans_b)
    result = kernels.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    if c is not None:
        assert result is c
    assert result.shape == expected.shape and result.dtype == np.float32
    op_a = np.abs(a.T if trans_a else a).astype(np.float64)
    op_b = np.abs(b.T if trans_b else b).astype(np.float64)
    scale = abs(alpha) * (op_a @ op_b)
    if c_before is not None and beta != 0:
        scale += abs(beta) * np.abs(c_before)
    k = op_a.shape[1]
    bound = 1e-5 * np.sqrt(max(k, 1)) * scale + 1e-30
    np.testing.assert_array_less(np.abs(result.astype(np.float64) - expected), bound + 1e-7 * (scale == 0))


EDGE_SIZES = [0, 1, 2, 5, 7, 13, 31, 32, 33, 97]


@pytest.mark.parametrize("m", EDGE_SIZES)
@pytest.mark.parametrize("n", [0, 1, 17, 33])
@pytest.mark.parametrize("k", [0, 1, 3, 64])
def test_edge_shapes(isa, rng, m, n, k):
    a, b = operands(rng, m, n, k, False, False)
    assert_gemm_close(a, b, None)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.5, 1.0), (-2.0, -0.75), (1.0, 1.0)])
def test_transposes_alpha_beta(isa, threads, rng, trans_a, trans_b, alpha, beta):
    m, n, k = 131, 97, 263  # primes: every tile and panel has an edge
    a, b = operands(rng, m, n, k, trans_a, trans_b)
    c = rng.standard_normal((m, n), dtype=np.float32)
    assert_gemm_close(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(0, 300), n=st.integers(0, 300), k=st.integers(0, 300),
    trans_a=st.booleans(), trans_b=st.booleans(), strided=st.booleans(),
    alpha=st.sampled_from([1.0, -1.5, 0.25]), beta=st.sampled_from([0.0, 1.0, -0.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes(m, n, k, trans_a, trans_b, strided, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    a, b = operands(rng, m, n, k, trans_a, trans_b, strided)
    c = rng.standard_normal((m, n), dtype=np.float32)
    for isa in TEST_ISAS:
        hpnn.set_isa(isa)
        for threads in (1, 2):
            hpnn.set_num_threads(threads)
            assert_gemm_close(a, b, c.copy(), alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    hpnn.set_isa(TEST_ISAS[0])


@pytest.fixture
def tiny_blocks(isa):
    """Shrinks the cache blocks so that small matrices cross every KC, MC and NC boundary."""
    saved = _C.gemm_blocking()
    _C.set_gemm_blocking(7, 2 * saved["mr"], 2 * saved["nr"])
    yield
    _C.set_gemm_blocking(saved["kc"], saved["mc"], saved["nc"])


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True), (False, True)])
def test_multiple_cache_blocks(tiny_blocks, threads, rng, trans_a, trans_b):
    blocking = _C.gemm_blocking()
    m, n, k = 5 * blocking["mr"] + 3, 5 * blocking["nr"] + 5, 45
    a, b = operands(rng, m, n, k, trans_a, trans_b, strided=True)
    c = rng.standard_normal((m, n), dtype=np.float32)
    assert_gemm_close(a, b, c, alpha=0.5, beta=2.0, trans_a=trans_a, trans_b=trans_b)


def test_large_k_and_wide_n(isa, threads, rng):
    a, b = operands(rng, 40, 4200, 700, False, False)
    assert_gemm_close(a, b, None)


def test_strided_and_transposed_output(isa, threads, rng):
    a, b = operands(rng, 50, 70, 30, False, True, strided=True)
    base = rng.standard_normal((70, 50), dtype=np.float32)
    c = base.T  # column-major view: cs_c != 1
    assert_gemm_close(a, b, c, alpha=1.0, beta=0.5, trans_b=True)
    holder = rng.standard_normal((100, 200), dtype=np.float32)
    c = holder[::2, 10:80:1]  # row stride 400 floats
    assert_gemm_close(a, b, c, beta=-1.0, trans_b=True)


def test_writes_only_inside_c(isa, rng):
    a, b = operands(rng, 20, 30, 10, False, False)
    holder = np.full((22, 34), 7.0, dtype=np.float32)
    c = holder[1:21, 2:32]
    kernels.gemm(a, b, c)
    mask = np.ones_like(holder, dtype=bool)
    mask[1:21, 2:32] = False
    assert np.all(holder[mask] == 7.0)


def test_beta_zero_ignores_nan_in_c(isa, rng):
    a, b = operands(rng, 33, 45, 17, False, False)
    c = np.full((33, 45), np.nan, dtype=np.float32)
    kernels.gemm(a, b, c, beta=0.0)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


def test_alpha_zero_or_empty_k_scales_c(isa, rng):
    a = np.full((4, 3), np.nan, dtype=np.float32)
    b = np.full((3, 5), np.nan, dtype=np.float32)
    c = rng.standard_normal((4, 5), dtype=np.float32)
    expected = 3.0 * c
    kernels.gemm(a, b, c, alpha=0.0, beta=3.0)
    np.testing.assert_array_equal(c, expected)
    c = np.full((4, 5), np.nan, dtype=np.float32)
    out = kernels.gemm(np.zeros((4, 0), np.float32), np.zeros((0, 5), np.float32), c)
    np.testing.assert_array_equal(out, np.zeros((4, 5), np.float32))


def test_fortran_order_inputs(isa, rng):
    a = np.asfortranarray(rng.standard_normal((37, 21), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((21, 45), dtype=np.float32))
    assert_gemm_close(a, b, None)


def test_reference_matches_explicit_sum(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    c = rng.standard_normal((3, 2)).astype(np.float32)
    expected = [[2.0 * sum(float(a[i, p]) * float(b[p, j]) for p in range(4)) - float(c[i, j])
                 for j in range(2)] for i in range(3)]
    out = reference.gemm(a, b, c.copy(), alpha=2.0, beta=-1.0)
    np.testing.assert_allclose(out, np.array(expected, np.float32), rtol=1e-6)
    out_t = reference.gemm(a.T.copy(), b.T.copy(), c.copy(), alpha=2.0, beta=-1.0, trans_a=True, trans_b=True)
    np.testing.assert_allclose(out_t, out, rtol=1e-6)


@pytest.mark.parametrize("m,n", [(64, 10), (10, 64), (1, 1), (3, 200), (15, 7), (97, 1)])
@pytest.mark.parametrize("k", [1, 5, 16, 33, 128])
def test_narrow_products_with_contiguous_k(isa, rng, m, n, k):
    # row-major a @ b.T: the layout of a linear layer's forward pass
    a, b = operands(rng, m, n, k, False, True)
    c = rng.standard_normal((m, n), dtype=np.float32)
    assert_gemm_close(a, b, c, alpha=-1.5, beta=0.5, trans_b=True)
    assert_gemm_close(a, b, None, trans_b=True)
