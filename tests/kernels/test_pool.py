"""hpnn.kernels pooling against hpnn.reference.pool on every ISA and at 1 and 2 threads.

Max pooling must match exactly (values and int64 or int32 indices, ties and NaNs included); average
pooling and gradients to 1e-5 relative; global average pooling (a long reduction) to 1e-4.
Every kernel runs with plain and with streaming stores (the path of outputs larger than the
caches, staged some rows at a time).
"""
import numpy as np
import pytest

from hpnn import kernels, reference
from support import streamed_outputs

# (shape, kernel_size, stride, padding, dilation, ceil_mode): hand-picked edge cases ...
CASES = [
    ((2, 3, 8, 40), 2, None, 0, 1, False),      # the 2x2 fast path, whole rows of vectors
    ((1, 5, 9, 45), 2, 2, 0, 1, True),          # fast path plus ceil_mode's partial windows
    ((1, 2, 7, 20), 2, 2, 0, 1, False),         # rows narrower than a vector
    ((2, 3, 26, 26), 2, 2, 0, 1, False),        # 13 outputs a row (a LeNet-style pool)
    ((3, 2, 11, 11), 2, 2, 0, 1, True),         # 5 outputs a row, ceil_mode's last window
    ((1, 1, 2, 2), 2, 2, 0, 1, False),          # one window: the copy at the array's end
    ((4, 17, 40, 60), 2, 2, 0, 1, False),       # big enough for 2 threads
    ((3, 16, 33, 35), 3, 2, 1, 1, False),       # ResNet stem pool
    ((2, 3, 11, 13), (3, 2), (1, 3), (1, 1), (2, 1), True),
    ((1, 1, 5, 5), 5, 1, 2, 1, False),
    ((2, 2, 6, 9), (1, 3), (4, 5), (0, 1), 1, True),   # stride > kernel
    ((1, 3, 1, 30), (1, 2), 2, 0, 1, False),
    ((1, 2, 190, 80), 2, 2, 0, 1, True),        # streamed planes staged in 2 chunks
    ((1, 2, 191, 81), 2, 2, 0, 1, False),       # ... with a row and a column left over
    ((1, 1, 4, 5500), 2, 2, 0, 1, False),       # rows wider than the stage
]


def random_cases(count, seed=7):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        kernel = tuple(int(k) for k in rng.integers(1, 5, 2))
        stride = tuple(int(s) for s in rng.integers(1, 5, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 20)), int(rng.integers(1, 30)),
                 int(rng.integers(1, 50)))
        try:
            reference.pool._pool_geometry(shape, kernel, stride, padding, dilation, True)
        except ValueError:
            continue
        cases.append((shape, kernel, stride, padding, dilation, bool(rng.integers(2))))
    return cases


CASES += random_cases(16)
IDS = [f"{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-{'ceil' if c[5] else 'floor'}" for c in CASES]


@pytest.fixture(params=[False, True], ids=["stored", "streamed"])
def streamed(request):
    with streamed_outputs(request.param):
        yield request.param


def data(shape, seed=0, ties=False):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.round(x * 2) if ties else x


@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_pool_matches_reference(isa, threads, streamed, case, index_dtype):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    for ties in (False, True):
        x = data(shape, ties=ties)
        y, indices = kernels.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode,
                                                index_dtype)
        y_ref, indices_ref = reference.max_pool2d_forward(x, kernel, stride, padding, dilation,
                                                          ceil_mode)
        assert y.dtype == np.float32 and indices.dtype == index_dtype
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(indices, indices_ref)
    grad_y = data(y.shape, seed=1)
    np.testing.assert_allclose(kernels.max_pool2d_backward(grad_y, indices, shape),
                               reference.max_pool2d_backward(grad_y, indices_ref, shape),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_avg_pool_matches_reference(isa, threads, streamed, case):
    shape, kernel, stride, padding, _, ceil_mode = case
    x = data(shape)
    for count_include_pad, divisor_override in ((True, None), (False, None), (True, 3)):
        options = (ceil_mode, count_include_pad, divisor_override)
        y = kernels.avg_pool2d_forward(x, kernel, stride, padding, *options)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, reference.avg_pool2d_forward(x, kernel, stride, padding,
                                                                   *options),
                                   rtol=1e-5, atol=1e-6)
        grad_y = data(y.shape, seed=1)
        np.testing.assert_allclose(
            kernels.avg_pool2d_backward(grad_y, shape, kernel, stride, padding, *options),
            reference.avg_pool2d_backward(grad_y, shape, kernel, stride, padding, *options),
            rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3, 1, 1), (3, 5, 7, 9), (2, 40, 56, 56), (1, 2, 300, 301)])
def test_global_avg_pool_matches_reference(isa, threads, streamed, shape):
    x = data(shape) + np.float32(3)
    y = kernels.global_avg_pool2d_forward(x)
    assert y.shape == shape[:2] + (1, 1) and y.dtype == np.float32
    # long reductions: 1e-4
    np.testing.assert_allclose(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True), rtol=1e-4)
    grad_y = data(y.shape, seed=1)
    np.testing.assert_allclose(kernels.global_avg_pool2d_backward(grad_y, shape),
                               reference.global_avg_pool2d_backward(grad_y, shape), rtol=1e-6)


def test_max_pool_nan_rule_matches_reference(isa):
    x = data((2, 3, 12, 40), ties=True)
    x[np.random.default_rng(3).random(x.shape) < 0.15] = np.nan
    for kernel, padding in ((2, 0), (3, 1)):
        y, indices = kernels.max_pool2d_forward(x, kernel, padding=padding)
        y_ref, indices_ref = reference.max_pool2d_forward(x, kernel, padding=padding)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(indices, indices_ref)


@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("width", [69, 27, 13, 7])  # the masked step at 27 (AVX-512), 13, 7
def test_max_pool_backward_checks_indices_stay_in_their_windows(isa, threads, streamed,
                                                                index_dtype, width):
    # grad_y shaped like a 2x2 stride-2 pool's output takes the one-pass path only while every
    # index lies in its own 2x2 window; anything else (here a 3x3 pool's, or a few indices moved
    # to another window) must still scatter-add exactly as the reference does. Rows narrower
    # than a vector take a masked step (int32 indices).
    rng = np.random.default_rng(5)
    shape, out_width = (2, 3, 9, width), width // 2
    grad_y = rng.standard_normal((2, 3, 4, out_width)).astype(np.float32)
    rows, cols = np.meshgrid(np.arange(4), np.arange(out_width), indexing="ij")
    cell = rng.integers(0, 4, (2, 3, 4, out_width))
    own = (2 * rows + cell // 2) * shape[3] + 2 * cols + cell % 2
    _, pooled_3x3 = reference.max_pool2d_forward(data(shape), 3, 2)
    moved = own.copy()
    moved[1, 2, 3, 2] = moved[1, 2, 0, 0]  # two gradients into one cell, another window's
    for indices in (own, pooled_3x3, moved):
        indices = indices.astype(index_dtype)
        np.testing.assert_allclose(kernels.max_pool2d_backward(grad_y, indices, shape),
                                   reference.max_pool2d_backward(grad_y, indices, shape),
                                   rtol=1e-6)
    for stray in (shape[2] * shape[3], -1):
        bad = own.astype(index_dtype)
        bad[0, 1, 2, 1] = stray
        with pytest.raises(ValueError, match="'indices' must lie in"):
            kernels.max_pool2d_backward(grad_y, bad, shape)


@pytest.mark.parametrize("shape,pool", [
    ((2, 3, 26, 26), dict(kernel_size=2)),                   # 13 wide: narrow rows' step
    ((2, 3, 40, 66), dict(kernel_size=2)),                   # 33 wide: disjoint 2x2 windows
    ((1, 2, 9, 9), dict(kernel_size=3, stride=2, padding=1)),  # overlapping windows
])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_max_pool_backward_with_a_folded_relu(isa, threads, rng, shape, pool, index_dtype):
    """relu_output: the gradient passes only where the pooled relu'd output is > 0 (zero, NaN
    and negative-only windows block it), as relu_backward before the pool would."""
    x = rng.integers(-3, 3, size=shape).astype(np.float32)  # ties and all-negative windows
    x[0, 0, 0, 0] = np.nan
    relu_x = np.maximum(x, 0, where=~np.isnan(x), out=x.copy())
    y, indices = kernels.max_pool2d_forward(relu_x, **pool, index_dtype=index_dtype)
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    expected = reference.max_pool2d_backward(
        reference.relu_backward(grad_y, y), indices, shape)
    assert (y <= 0).any() and (y > 0).any()
    np.testing.assert_array_equal(
        kernels.max_pool2d_backward(grad_y, indices, shape, relu_output=y), expected)
    np.testing.assert_array_equal(
        reference.max_pool2d_backward(grad_y, indices, shape, relu_output=y), expected)
    with pytest.raises(ValueError, match="relu_output"):
        kernels.max_pool2d_backward(grad_y, indices, shape, relu_output=y[..., :1])


def test_strided_and_keyword_inputs():
    x = data((3, 4, 20, 36)).transpose(1, 0, 3, 2)  # not contiguous
    y, indices = kernels.max_pool2d_forward(x, kernel_size=[2, 3], stride=(2, 1), ceil_mode=True)
    y_ref, indices_ref = reference.max_pool2d_forward(x, [2, 3], (2, 1), ceil_mode=True)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(indices, indices_ref)
    grad = kernels.max_pool2d_backward(y, indices.astype(np.int32), x.shape)
    np.testing.assert_allclose(grad, reference.max_pool2d_backward(y, indices_ref, x.shape))
    np.testing.assert_allclose(kernels.avg_pool2d_forward(x, 3, padding=1, divisor_override=2),
                               reference.avg_pool2d_forward(x, 3, padding=1, divisor_override=2),
                               rtol=1e-5, atol=1e-6)


def test_rejects_bad_arguments():
    x = data((1, 2, 8, 8))
    with pytest.raises(TypeError, match="'x'.*float32"):
        kernels.max_pool2d_forward(x.astype(np.float64), 2)
    with pytest.raises(TypeError, match="'x'"):
        kernels.avg_pool2d_forward(x.astype(np.int32), 2)
    with pytest.raises(TypeError, match="x"):
        kernels.global_avg_pool2d_forward([[1.0]])
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        kernels.max_pool2d_forward(x[0], 2)
    with pytest.raises(ValueError, match="kernel_size"):
        kernels.max_pool2d_forward(x, 0)
    with pytest.raises(TypeError, match="stride"):
        kernels.avg_pool2d_forward(x, 2, stride=1.5)
    with pytest.raises(ValueError, match="padding"):
        kernels.max_pool2d_forward(x, 2, padding=2)
    with pytest.raises(ValueError, match="divisor_override"):
        kernels.avg_pool2d_forward(x, 2, divisor_override=0)
    for lib in (kernels, reference):
        with pytest.raises(ValueError, match="index_dtype"):
            lib.max_pool2d_forward(x, 2, index_dtype=np.int16)
    y, indices = kernels.max_pool2d_forward(x, 2)
    with pytest.raises(TypeError, match="indices"):
        kernels.max_pool2d_backward(y, indices.astype(np.float32), x.shape)
    with pytest.raises(ValueError, match="'indices'"):
        kernels.max_pool2d_backward(y, indices[..., :1], x.shape)
    with pytest.raises(ValueError, match=r"'indices' must lie in \[0, 64\)"):
        kernels.max_pool2d_backward(y, indices + 64, x.shape)
    with pytest.raises(ValueError, match="'input_shape'"):
        kernels.max_pool2d_backward(y, indices, (1, 3, 8, 8))
    with pytest.raises(ValueError, match="'grad_y'"):
        kernels.avg_pool2d_backward(y[..., :3], x.shape, 2)
    with pytest.raises(ValueError, match="'grad_y'"):
        kernels.global_avg_pool2d_backward(y, x.shape)
