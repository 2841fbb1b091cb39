"""Bad arguments to gemm_batched raise TypeError/ValueError naming the argument."""
import numpy as np
import pytest

from hpnn import kernels


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


@pytest.mark.parametrize("bad", [np.ones((2, 2, 2)), np.ones((2, 2, 2), np.int32), [[1.0]], 3.0])
def test_rejects_non_float32_inputs(bad):
    with pytest.raises(TypeError, match="gemm_batched: argument 'a'"):
        kernels.gemm_batched(bad, f32(2, 2, 2))
    with pytest.raises(TypeError, match="gemm_batched: argument 'b'"):
        kernels.gemm_batched(f32(2, 2, 2), bad)


@pytest.mark.parametrize("shape", [(), (4,), (1,) * 7])
def test_rejects_wrong_rank(shape):
    with pytest.raises(ValueError, match="'a' must have 2 to 6 dimensions"):
        kernels.gemm_batched(np.ones(shape, np.float32), f32(2, 2))


def test_rejects_mismatched_inner_dimensions():
    with pytest.raises(ValueError, match="inner dimensions"):
        kernels.gemm_batched(f32(2, 3, 4), f32(2, 5, 6))
    kernels.gemm_batched(f32(2, 3, 4), f32(2, 6, 4), trans_b=True)


def test_rejects_batches_that_do_not_broadcast():
    with pytest.raises(ValueError, match="cannot be broadcast"):
        kernels.gemm_batched(f32(3, 2, 2), f32(4, 2, 2))


def test_rejects_bad_c():
    a, b = f32(2, 3, 4), f32(2, 4, 5)
    with pytest.raises(ValueError, match="'c' must have 3 dimensions"):
        kernels.gemm_batched(a, b, f32(3, 5))
    with pytest.raises(ValueError, match=r"'c' must have shape \(2, 3, 5\)"):
        kernels.gemm_batched(a, b, f32(1, 3, 5))
    with pytest.raises(TypeError, match="'c'"):
        kernels.gemm_batched(a, b, np.ones((2, 3, 5)))
    frozen = f32(2, 3, 5)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="not writeable"):
        kernels.gemm_batched(a, b, frozen)


def test_rejects_c_overlapping_an_input():
    buf = f32(2, 4, 4)
    with pytest.raises(ValueError, match="'c' overlaps input 'a'"):
        kernels.gemm_batched(buf, f32(2, 4, 4), buf)
    with pytest.raises(ValueError, match="'c' overlaps input 'b'"):
        kernels.gemm_batched(f32(2, 4, 4), buf[:, :, :], buf)


def test_rejects_c_whose_elements_share_memory():
    c = np.lib.stride_tricks.as_strided(f32(3, 5), shape=(2, 3, 5), strides=(0, 20, 4))
    with pytest.raises(ValueError, match="'c' .* share memory"):
        kernels.gemm_batched(f32(2, 3, 4), f32(2, 4, 5), c)


def test_rejects_misaligned_c():
    raw = np.zeros(2 * 3 * 5 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(2, 3, 5)
    with pytest.raises(ValueError, match="not aligned"):
        kernels.gemm_batched(f32(2, 3, 4), f32(2, 4, 5), raw)


def test_misaligned_inputs_are_copied_not_read_in_place():
    raw = np.zeros(2 * 3 * 4 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(2, 3, 4)
    raw[...] = 1.0
    np.testing.assert_array_equal(kernels.gemm_batched(raw, f32(2, 4, 5)), np.full((2, 3, 5), 4.0))
