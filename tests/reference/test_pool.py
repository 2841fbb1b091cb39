import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp

# (x shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((1, 1, 4, 4), 2, None, 0, 1, False),
    ((2, 3, 7, 6), 3, 2, 1, 1, True),
    ((1, 2, 5, 8), (2, 3), (3, 2), (1, 1), (2, 1), True),
    ((2, 1, 9, 9), 2, 4, 0, 1, False),                  # stride > kernel
    ((1, 2, 6, 5), 3, 1, 1, 2, False),
]
MAX_IDS = ["plain", "pad_ceil", "rect_dilation_ceil", "stride_gt_kernel", "dilation"]

# (x shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((1, 1, 4, 4), 2, None, 0, False, True, None),
    ((2, 3, 7, 6), 3, 2, 1, True, True, None),
    ((2, 2, 7, 5), (3, 2), (2, 3), (1, 1), True, False, None),
    ((1, 2, 9, 9), 2, 4, 0, False, True, None),
    ((1, 2, 5, 5), 3, 2, 1, False, True, 4),
]
AVG_IDS = ["plain", "pad_ceil", "rect_exclude_pad", "stride_gt_kernel", "divisor_override"]


# (x shape, output_size): overlapping windows, uneven, larger than the input, None, global
ADAPTIVE_CASES = [
    ((2, 3, 7, 10), (3, 4)),
    ((1, 2, 5, 5), 5),
    ((1, 1, 3, 4), (5, 7)),
    ((2, 1, 9, 6), (4, None)),
    ((1, 2, 6, 4), 1),
]
ADAPTIVE_IDS = ["uneven", "identity", "upsample", "none", "global"]


def _distinct(rng, shape):
    """Values with distinct entries, so max pooling is differentiable everywhere."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)


@pytest.mark.parametrize("case", MAX_CASES, ids=MAX_IDS)
def test_max_pool_backward_matches_finite_differences(case):
    rng = np.random.default_rng(0)
    x = _distinct(rng, case[0])
    forward = lambda: ref.max_pool2d_forward(x, *case[1:])[0]
    backward = lambda g: ref.max_pool2d_backward(g, ref.max_pool2d_forward(x, *case[1:])[1],
                                                 x.shape)
    check_vjp(forward, backward, x, rng, eps=1e-4)


@pytest.mark.parametrize("case", AVG_CASES, ids=AVG_IDS)
def test_avg_pool_backward_matches_finite_differences(case):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(case[0])
    check_vjp(lambda: ref.avg_pool2d_forward(x, *case[1:]),
              lambda g: ref.avg_pool2d_backward(g, x.shape, *case[1:]), x, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    x = np.random.default_rng(6).standard_normal((1, 2, 5, 5)).astype(dtype)
    y, indices = ref.max_pool2d_forward(x, 3, 2, 1, ceil_mode=True)
    assert y.dtype == dtype and ref.max_pool2d_backward(y, indices, x.shape).dtype == dtype
    y = ref.avg_pool2d_forward(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    assert y.dtype == dtype
    assert ref.avg_pool2d_backward(y, x.shape, 3, 2, 1, True, False).dtype == dtype
    y = ref.global_avg_pool2d_forward(x)
    assert y.dtype == dtype and ref.global_avg_pool2d_backward(y, x.shape).dtype == dtype


def test_global_avg_pool_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 3, 5))
    check_vjp(lambda: ref.global_avg_pool2d_forward(x),
              lambda g: ref.global_avg_pool2d_backward(g, x.shape), x, rng)


def test_max_pool_indices_are_flat_plane_positions():
    x = np.array([[[[1.0, 5.0, 2.0], [7.0, 0.0, 3.0], [4.0, 8.0, 6.0]]]], dtype=np.float32)
    y, indices = ref.max_pool2d_forward(x, 2, stride=1)
    np.testing.assert_array_equal(y[0, 0], [[7.0, 5.0], [8.0, 8.0]])
    np.testing.assert_array_equal(indices[0, 0], [[3, 1], [7, 7]])
    assert indices.dtype == np.int64 and y.dtype == np.float32


def test_max_pool_ties_nan_and_minus_inf():
    x = np.array([[[[2.0, 2.0], [np.nan, np.nan]]]])
    y, indices = ref.max_pool2d_forward(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 3
    y, indices = ref.max_pool2d_forward(x[..., :1, :], (1, 2))
    assert indices[0, 0, 0, 0] == 0
    # an all -inf window with padding points at a real element, never at the padding
    y, indices = ref.max_pool2d_forward(np.full((1, 1, 2, 2), -np.inf), 2, 1, padding=1)
    assert np.all(indices >= 0) and np.all(y == -np.inf)


@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=ADAPTIVE_IDS)
def test_adaptive_pool_backward_matches_finite_differences(case):
    rng = np.random.default_rng(6)
    shape, output_size = case
    x = _distinct(rng, shape)
    check_vjp(lambda: ref.adaptive_avg_pool2d_forward(x, output_size),
              lambda g: ref.adaptive_avg_pool2d_backward(g, x.shape, output_size), x, rng)
    indices = lambda: ref.adaptive_max_pool2d_forward(x, output_size)[1]
    check_vjp(lambda: ref.adaptive_max_pool2d_forward(x, output_size)[0],
              lambda g: ref.max_pool2d_backward(g, indices(), x.shape), x, rng)


def test_adaptive_windows_follow_floor_and_ceil():
    x = np.arange(5.0).reshape(1, 1, 1, 5)
    # out 3 over 5: windows [0, 2), [1, 4), [3, 5)
    np.testing.assert_allclose(ref.adaptive_avg_pool2d_forward(x, (1, 3))[0, 0, 0], [0.5, 2, 3.5])
    y, indices = ref.adaptive_max_pool2d_forward(x, (1, 3))
    np.testing.assert_array_equal(indices[0, 0, 0], [1, 3, 4])
    y, indices = ref.adaptive_max_pool2d_forward(np.array([[[[1.0, np.nan, 1.0, np.nan]]]]),
                                                 (1, 1))
    assert np.isnan(y[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 3


def test_adaptive_bad_arguments_raise():
    x = np.zeros((1, 1, 4, 4))
    for output_size in (0, (2, 0), (1, 2, 3), 1.5):
        with pytest.raises(ValueError, match="output_size"):
            ref.adaptive_avg_pool2d_forward(x, output_size)
    with pytest.raises(ValueError, match="x must have shape"):
        ref.adaptive_max_pool2d_forward(x[0], 2)
    with pytest.raises(ValueError, match="grad_y"):
        ref.adaptive_avg_pool2d_backward(np.zeros((1, 1, 3, 3)), x.shape, 2)


def test_bad_arguments_raise():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="padding"):
        ref.max_pool2d_forward(x, 2, padding=2)
    with pytest.raises(ValueError, match="kernel_size"):
        ref.avg_pool2d_forward(x, 0)
    with pytest.raises(ValueError, match="stride"):
        ref.avg_pool2d_forward(x, 2, stride=0)
    with pytest.raises(ValueError, match="kernel"):
        ref.max_pool2d_forward(x, 5)
    with pytest.raises(ValueError, match="x must have shape"):
        ref.global_avg_pool2d_forward(x[0])
    with pytest.raises(ValueError, match="indices"):
        ref.max_pool2d_backward(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), x.shape)
    with pytest.raises(TypeError, match="indices"):
        ref.max_pool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), x.shape)
    with pytest.raises(ValueError, match="divisor_override"):
        ref.avg_pool2d_forward(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="grad_y"):
        ref.avg_pool2d_backward(np.zeros((1, 1, 3, 3)), x.shape, 2)


class TestAgainstTorch:
    torch = pytest.importorskip("torch")

    def _run(self, torch_fn, x, rng):
        x_t = self.torch.tensor(x, requires_grad=True)
        y_t = torch_fn(x_t)
        y_t = y_t[0] if isinstance(y_t, tuple) else y_t
        grad_y = rng.standard_normal(y_t.shape).astype(x.dtype)
        y_t.backward(self.torch.tensor(grad_y))
        return grad_y, y_t.detach().numpy(), x_t.grad.numpy()

    @pytest.mark.parametrize("case", MAX_CASES, ids=MAX_IDS)
    def test_max_pool(self, case):
        F = self.torch.nn.functional
        rng = np.random.default_rng(3)
        x = rng.integers(-3, 3, case[0]).astype(np.float32)  # many ties
        shape, kernel, stride, padding, dilation, ceil_mode = case
        _, indices_t = F.max_pool2d(self.torch.tensor(x), kernel, stride, padding, dilation,
                                    ceil_mode, return_indices=True)
        grad_y, y_t, grad_x_t = self._run(
            lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), x, rng)
        y, indices = ref.max_pool2d_forward(x, *case[1:])
        np.testing.assert_array_equal(y, y_t)
        np.testing.assert_array_equal(indices, indices_t.numpy())
        np.testing.assert_allclose(ref.max_pool2d_backward(grad_y, indices, x.shape), grad_x_t,
                                   rtol=1e-6, atol=1e-6)

    @pytest.mark.parametrize("case", AVG_CASES, ids=AVG_IDS)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_avg_pool(self, case, dtype):
        F = self.torch.nn.functional
        rng = np.random.default_rng(4)
        x = rng.standard_normal(case[0]).astype(dtype)
        grad_y, y_t, grad_x_t = self._run(lambda t: F.avg_pool2d(t, *case[1:]), x, rng)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(ref.avg_pool2d_forward(x, *case[1:]), y_t, rtol=rtol,
                                   atol=rtol)
        np.testing.assert_allclose(ref.avg_pool2d_backward(grad_y, x.shape, *case[1:]),
                                   grad_x_t, rtol=rtol, atol=rtol)

    def test_global_avg_pool(self):
        rng = np.random.default_rng(5)
        x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
        grad_y, y_t, grad_x_t = self._run(
            lambda t: self.torch.nn.functional.adaptive_avg_pool2d(t, 1), x, rng)
        np.testing.assert_allclose(ref.global_avg_pool2d_forward(x), y_t, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ref.global_avg_pool2d_backward(grad_y, x.shape), grad_x_t,
                                   rtol=1e-6)

    @pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=ADAPTIVE_IDS)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_adaptive_avg_pool(self, case, dtype):
        F = self.torch.nn.functional
        rng = np.random.default_rng(7)
        shape, output_size = case
        x = rng.standard_normal(shape).astype(dtype)
        grad_y, y_t, grad_x_t = self._run(lambda t: F.adaptive_avg_pool2d(t, output_size), x,
                                          rng)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        y = ref.adaptive_avg_pool2d_forward(x, output_size)
        assert y.dtype == dtype
        np.testing.assert_allclose(y, y_t, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(ref.adaptive_avg_pool2d_backward(grad_y, x.shape, output_size),
                                   grad_x_t, rtol=rtol, atol=rtol)

    @pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=ADAPTIVE_IDS)
    def test_adaptive_max_pool(self, case):
        F = self.torch.nn.functional
        rng = np.random.default_rng(8)
        shape, output_size = case
        x = rng.integers(-3, 3, shape).astype(np.float32)  # many ties
        _, indices_t = F.adaptive_max_pool2d(self.torch.tensor(x), output_size,
                                             return_indices=True)
        grad_y, y_t, grad_x_t = self._run(lambda t: F.adaptive_max_pool2d(t, output_size), x,
                                          rng)
        y, indices = ref.adaptive_max_pool2d_forward(x, output_size)
        np.testing.assert_array_equal(y, y_t)
        np.testing.assert_array_equal(indices, indices_t.numpy())
        np.testing.assert_allclose(ref.max_pool2d_backward(grad_y, indices, x.shape), grad_x_t,
                                   rtol=1e-6, atol=1e-6)
