import numpy as np


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c, computed in float64 and rounded to float32 (kept in
    float64 when a or b is float64: the float64 path of hpnn runs on these twins).

    Follows the BLAS convention of ``hpnn.kernels.gemm``: c is not read when beta == 0, and
    a and b are not read when alpha == 0. When c is given the result is written into it.
    """
    out_dtype = np.float64 if np.float64 in (np.asarray(a).dtype, np.asarray(b).dtype) \
        else np.float32
    op_a = np.asarray(a, dtype=np.float64)
    op_b = np.asarray(b, dtype=np.float64)
    op_a = op_a.T if trans_a else op_a
    op_b = op_b.T if trans_b else op_b
    return _scaled_into(op_a @ op_b, alpha, beta, c, out_dtype)


def gemm_batched(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c over the last two dims, the batch dims broadcast by
    np.matmul; op(x) swaps x's last two dims. float64 inside, float32 out (float64 when a or
    b is float64). BLAS conventions as ``gemm``; with c the result is written into it."""
    out_dtype = np.float64 if np.float64 in (np.asarray(a).dtype, np.asarray(b).dtype) \
        else np.float32
    op_a = np.asarray(a, dtype=np.float64)
    op_b = np.asarray(b, dtype=np.float64)
    if op_a.ndim < 2 or op_b.ndim < 2:
        raise ValueError("gemm_batched: a and b need at least 2 dimensions")
    op_a = np.swapaxes(op_a, -1, -2) if trans_a else op_a
    op_b = np.swapaxes(op_b, -1, -2) if trans_b else op_b
    return _scaled_into(np.matmul(op_a, op_b), alpha, beta, c, out_dtype)


def _scaled_into(product, alpha, beta, c, out_dtype):
    """alpha * product + beta * c (alpha == 0 ignores the product, beta == 0 never reads c),
    written into c when given, else returned as out_dtype."""
    result = np.zeros_like(product) if alpha == 0.0 else alpha * product
    if c is not None and beta != 0.0:
        result = result + beta * np.asarray(c, dtype=np.float64)
    if c is None:
        return result.astype(out_dtype)
    c[...] = result
    return c
