"""hpnn.kernels masked_softmax_forward/backward against hpnn.reference on every ISA and at 1
and 2 threads: scale, additive masks broadcast along each dim, the causal cut, rows of every
length (vector bodies and tails), fully masked rows (zeros or NaN) and bad arguments."""
import numpy as np
import pytest

from hpnn import kernels, reference

# (scores shape, mask shape or None): rows shorter than, equal to and longer than a vector,
# 2- to 5-d scores, masks broadcast along batch, heads, rows and keys; the last is large
# enough to run on 2 threads.
CASES = [((1, 1), None), ((3, 1), (3, 1)), ((2, 5, 7), (5, 7)), ((2, 3, 4, 16), (2, 1, 4, 16)),
         ((2, 3, 5, 17), (1, 3, 1, 17)), ((2, 3, 5, 33), (2, 3, 5, 1)),
         ((2, 2, 3, 4, 9), (2, 1, 1, 4, 9)), ((2, 2, 3, 4, 9), (1, 2, 3, 1, 9)),
         ((4, 4, 64, 130), (4, 1, 1, 130))]


def make(shape, mask_shape, seed=0):
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    mask = None
    if mask_shape is not None:
        mask = rng.standard_normal(mask_shape).astype(np.float32)
        mask[rng.random(mask_shape) < 0.3] = -np.inf
    return x, mask


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("shape,mask_shape", CASES, ids=str)
def test_forward_matches_reference(isa, threads, shape, mask_shape, causal):
    x, mask = make(shape, mask_shape)
    y = kernels.masked_softmax_forward(x, mask, 0.7, causal)
    expected = reference.masked_softmax_forward(x.astype(np.float64), mask, 0.7, causal)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("shape,mask_shape", CASES, ids=str)
def test_backward_matches_reference(isa, threads, shape, mask_shape):
    x, mask = make(shape, mask_shape)
    y = kernels.masked_softmax_forward(x, mask, 1.3, True)
    grad_y = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    grad_x = kernels.masked_softmax_backward(grad_y, y, 1.3)
    expected = reference.masked_softmax_backward(grad_y.astype(np.float64),
                                                 y.astype(np.float64), 1.3)
    # the row's dot product sums in float lanes: a few ulps of the largest |g| y terms
    np.testing.assert_allclose(grad_x, expected, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("zero_empty_rows", [True, False])
def test_fully_masked_rows(isa, zero_empty_rows):
    x, _ = make((2, 3, 11), None)
    mask = np.zeros((3, 11), np.float32)
    mask[1] = -np.inf
    y = kernels.masked_softmax_forward(x, mask, 1.0, False, zero_empty_rows)
    expected = reference.masked_softmax_forward(x, mask, 1.0, False, zero_empty_rows)
    np.testing.assert_allclose(y, expected, rtol=2e-6, atol=1e-7)
    assert (not y[:, 1].any()) if zero_empty_rows else np.isnan(y[:, 1]).all()
    grad = kernels.masked_softmax_backward(np.ones_like(y), y, 1.0)
    if zero_empty_rows:
        assert not grad[:, 1].any()


def test_nan_makes_the_row_nan(isa):
    x = np.full((2, 9), -np.inf, np.float32)
    x[0, 3] = np.nan
    x[1, :4] = [1.0, np.nan, 2.0, 0.0]
    y = kernels.masked_softmax_forward(x, None, 1.0, False, True)
    assert np.isnan(y).all()
    assert np.isnan(reference.masked_softmax_forward(x, None, 1.0, False, True)).all()


@pytest.mark.parametrize("call,error,match", [
    (lambda: kernels.masked_softmax_forward(np.zeros(3, np.float32)), ValueError, "'x'"),
    (lambda: kernels.masked_softmax_forward(np.zeros((2, 3))), TypeError, "float32"),
    (lambda: kernels.masked_softmax_forward(np.zeros((2, 3), np.float32),
                                            np.zeros((3, 3), np.float32)), ValueError, "'mask'"),
    (lambda: kernels.masked_softmax_forward(np.zeros((2, 3), np.float32), None, np.inf),
     ValueError, "'scale'"),
    (lambda: kernels.masked_softmax_forward(np.zeros((2, 3), np.float32), None, "1"),
     TypeError, "'scale'"),
    (lambda: kernels.masked_softmax_backward(np.zeros((2, 3), np.float32),
                                             np.zeros((3, 2), np.float32)), ValueError,
     "'grad_y'"),
])
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_binding_validates_its_own_arguments():
    from hpnn._C import kernels as native
    x = np.zeros((1, 1, 2, 3), np.float32)
    with pytest.raises(ValueError, match="mask"):
        native.masked_softmax_forward(x, np.zeros((1, 1, 2, 4), np.float32), 1.0, False, True)
    with pytest.raises(ValueError, match="x"):
        native.masked_softmax_forward(np.zeros((2, 3), np.float32), None, 1.0, False, True)
    with pytest.raises(ValueError, match="grad_y"):
        native.masked_softmax_backward(np.zeros((1, 1, 3, 2), np.float32), x, 1.0)
