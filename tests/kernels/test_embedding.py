"""hpnn.kernels embedding against hpnn.reference on every ISA and at 1 and 2 threads: the gather,
the deterministic scatter-add of its gradient (padding_idx, scale_grad_by_freq), and index
validation (never a read or write out of bounds)."""
import subprocess
import sys

import numpy as np
import pytest

import hpnn
from hpnn import kernels, reference

CASES = [(1, 1, (1,)), (10, 3, (4,)), (50, 17, (5, 7)), (5000, 200, (35, 20)),
         (7, 33, (2, 3, 4)), (100, 64, (0,)), (3, 129, (40,))]


def make(rows, dim, shape, dtype=np.int64, seed=0):
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((rows, dim)).astype(np.float32)
    indices = rng.integers(0, rows, size=shape).astype(dtype)
    grad_y = rng.standard_normal(shape + (dim,)).astype(np.float32)
    return weight, indices, grad_y


@pytest.mark.parametrize("dtype", [np.int64, np.int32], ids=["int64", "int32"])
@pytest.mark.parametrize("rows,dim,shape", CASES, ids=str)
def test_forward_gathers_rows(isa, threads, rows, dim, shape, dtype):
    weight, indices, _ = make(rows, dim, shape, dtype)
    y = kernels.embedding_forward(weight, indices)
    assert y.shape == shape + (dim,) and y.dtype == np.float32
    np.testing.assert_array_equal(y, reference.embedding_forward(weight, indices))


@pytest.mark.parametrize("scale", [False, True], ids=["plain", "freq"])
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("rows,dim,shape", CASES, ids=str)
def test_backward_matches_reference(isa, threads, rows, dim, shape, padding_idx, scale):
    _, indices, grad_y = make(rows, dim, shape)
    if padding_idx is not None and indices.size:
        indices.reshape(-1)[::3] = padding_idx % rows  # padding rows occur
    grad = kernels.embedding_backward(grad_y, indices, rows, padding_idx, scale)
    expected = reference.embedding_backward(grad_y.astype(np.float64), indices, rows,
                                            padding_idx, scale)
    assert grad.shape == (rows, dim) and grad.dtype == np.float32
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-5)
    if padding_idx is not None:
        assert not grad[padding_idx].any()


@pytest.mark.parametrize("rows,dim,shape", [(20, 200, (35, 20)), (5000, 200, (35, 20)),
                                            (4, 64, (2000,))], ids=str)
def test_backward_does_not_depend_on_thread_count(isa, rows, dim, shape):
    """Many repeats of few indices: the sums' order would show if threads split them."""
    _, indices, grad_y = make(rows, dim, shape, seed=3)
    previous = hpnn.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 1, 2):
            hpnn.set_num_threads(threads)
            results.append(kernels.embedding_backward(grad_y, indices, rows, None, True))
    finally:
        hpnn.set_num_threads(previous)
    for other in results[1:]:
        assert np.array_equal(results[0], other)


@pytest.mark.parametrize("bad", [-1, 10, 2**40, -2**40])
def test_out_of_range_indices_raise_index_error(bad):
    weight, indices, grad_y = make(10, 4, (5,))
    indices[3] = bad
    with pytest.raises(IndexError, match="embedding_forward: argument 'indices'"):
        kernels.embedding_forward(weight, indices)
    with pytest.raises(IndexError, match="embedding_backward: argument 'indices'"):
        kernels.embedding_backward(grad_y, indices, 10)
    native = hpnn._C.kernels
    with pytest.raises(IndexError, match="embedding_forward: argument 'indices'"):
        native.embedding_forward(weight, indices)
    with pytest.raises(IndexError, match="embedding_backward: argument 'indices'"):
        native.embedding_backward(grad_y, indices, 10, -1, False)


def test_bad_arguments_raise_naming_function_and_argument():
    weight, indices, grad_y = make(10, 4, (5,))
    with pytest.raises(TypeError, match="embedding_forward: argument 'indices'"):
        kernels.embedding_forward(weight, indices.astype(np.float32))
    with pytest.raises(TypeError, match="embedding_forward: argument 'indices'"):
        kernels.embedding_forward(weight, indices.astype(np.int16))
    with pytest.raises(TypeError, match="embedding_forward: argument 'weight'"):
        kernels.embedding_forward(weight.astype(np.float64), indices)
    with pytest.raises(ValueError, match="embedding_forward: argument 'weight'"):
        kernels.embedding_forward(weight.reshape(-1), indices)
    with pytest.raises(ValueError, match="embedding_backward: argument 'grad_y'"):
        kernels.embedding_backward(grad_y[:4], indices, 10)
    with pytest.raises(ValueError, match="embedding_backward: argument 'padding_idx'"):
        kernels.embedding_backward(grad_y, indices, 10, padding_idx=10)
    native = hpnn._C.kernels
    with pytest.raises(ValueError, match="embedding_backward: argument 'grad_y'"):
        native.embedding_backward(grad_y[:4], indices, 10, -1, False)
    with pytest.raises(ValueError, match="embedding_backward: argument 'padding_idx'"):
        native.embedding_backward(grad_y, indices, 10, 10, False)
    with pytest.raises(ValueError, match="embedding_backward: argument 'num_embeddings'"):
        native.embedding_backward(grad_y, indices, -3, -1, False)


def test_huge_index_does_not_crash_the_process():
    """An index far outside the table must raise, not read wild memory (in a subprocess, so a
    crash fails this test instead of killing pytest)."""
    code = ("import numpy as np, hpnn\n"
            "w = np.zeros((4, 3), np.float32)\n"
            "try:\n"
            "    hpnn.kernels.embedding_forward(w, np.array([1, 2**62]))\n"
            "except IndexError as e:\n"
            "    print('IndexError', e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "IndexError" in result.stdout
