"""Native dropout against hpnn.reference: the mask bit-identical (any size, seed, p, ISA and
thread count), the output exactly x * float32(1 / (1 - p)) where kept."""
import inspect

import numpy as np
import pytest

from hpnn import kernels, reference


@pytest.mark.parametrize("shape", [(1,), (17,), (4, 33), (2, 3, 1000), (70001,)], ids=str)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1 - 2**-24])
def test_matches_reference_exactly(isa, threads, rng, shape, p):
    x = rng.standard_normal(shape).astype(np.float32)
    seed = int(rng.integers(0, 2**63)) * 2 + 1
    y, mask = kernels.dropout_forward(x, p, seed)
    y_ref, mask_ref = reference.dropout_forward(x, p, seed)
    assert mask.dtype == np.bool_ and mask.shape == shape and y.dtype == np.float32
    np.testing.assert_array_equal(mask, mask_ref)
    np.testing.assert_array_equal(y, y_ref)
    grad = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(kernels.dropout_backward(grad, mask, p),
                                  reference.dropout_backward(grad, mask_ref, p))


def test_mask_independent_of_threads(threads):
    x = np.ones(100_003, np.float32)
    _, mask = kernels.dropout_forward(x, 0.3, 12345)
    np.testing.assert_array_equal(mask, reference.dropout_uniforms(x.shape, 12345) >= 0.3)


def test_bad_arguments_raise_the_reference_errors():
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="p must be in"):
        kernels.dropout_forward(x, 1.0, 0)
    with pytest.raises(ValueError, match="seed must be in"):
        kernels.dropout_forward(x, 0.5, -1)
    with pytest.raises(TypeError, match="seed must be an int"):
        kernels.dropout_forward(x, 0.5, 1.5)
    with pytest.raises(TypeError, match="mask must be a bool"):
        kernels.dropout_backward(x, np.ones(4, np.int8), 0.5)
    y, mask = kernels.dropout_forward(np.ones(5, np.float32), 0.5, 2**64 - 1)
    np.testing.assert_array_equal(mask, reference.dropout_forward(np.ones(5), 0.5, 2**64 - 1)[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64])
def test_non_float32_arrays_raise_type_error_naming_the_argument(dtype):
    bad = np.ones(4, dtype)
    with pytest.raises(TypeError, match=rf"dropout_forward: argument 'x' must be float32, got "
                                        rf"{np.dtype(dtype)} \(convert with \.astype"):
        kernels.dropout_forward(bad, 0.5, 0)
    with pytest.raises(TypeError, match=r"dropout_backward: argument 'grad_y' must be float32"):
        kernels.dropout_backward(bad, np.ones(4, bool), 0.5)
    with pytest.raises(TypeError, match="argument 'x' must be a float32 numpy.ndarray, got list"):
        kernels.dropout_forward([1.0, 2.0], 0.5, 0)


def test_signatures_match_reference():
    for name in kernels.dropout.__all__:
        assert inspect.signature(getattr(kernels, name)) == \
            inspect.signature(getattr(reference, name)), name
