"""GEMM: a keyword-friendly wrapper over the positional native entry point."""
from .._C import kernels as _native

__all__ = ["gemm", "gemm_batched"]


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c on float32 matrices, op(x) = x.T if trans_x.

    a, b: float32 2-D arrays, any strides (sliced and transposed views work without copies);
    other dtypes raise TypeError -- convert explicitly, precision is never dropped silently.
    c: float32 (M, N) writeable array, any strides, not overlapping a or b; the result is
    written into it and returned. Without c a new array is returned and beta is ignored.
    BLAS conventions: beta == 0 never reads c; alpha == 0 or K == 0 never reads a and b.
    Releases the GIL; uses up to hpnn.get_num_threads() threads when the product is large.
    """
    return _native.gemm(a, b, c, alpha, beta, trans_a, trans_b)


def gemm_batched(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c over the last two dims, batch dims broadcast as in
    numpy.matmul: a (..., M, K), b (..., K, N) (op(x) swaps x's last two dims if trans_x).

    a, b: float32 arrays of 2 to 6 dims, any strides (a broadcast operand is read in place,
    with a batch stride of 0). c: float32 writeable (batch..., M, N), any strides, its
    elements distinct and not overlapping a or b; written and returned. Without c a new array
    is returned and beta is ignored. BLAS conventions as hpnn.kernels.gemm. Releases the GIL
    once for the whole batch; small items run whole on one thread each, large ones on all
    threads, so results do not depend on the thread count.
    """
    return _native.gemm_batched(a, b, c, alpha, beta, trans_a, trans_b)
