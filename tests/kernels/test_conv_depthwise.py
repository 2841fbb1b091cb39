"""The depthwise path of the native conv2d (groups == in channels == out channels): forward and
every gradient against hpnn.reference on every ISA at 1 and 2 threads, over strides, padding,
dilation, kernel sizes, widths around the vector boundaries and 1 x 1 images; gradients
bit-identical across thread counts."""
import numpy as np
import pytest

import hpnn
from hpnn import reference
from hpnn.kernels import conv as native
from test_conv import assert_close, check_case

# (N, C, H, W, K, kh, kw, stride, padding, dilation, groups), K == C == groups
CASES = [
    (2, 5, 8, 9, 5, 3, 3, 1, 1, 1, 5),
    (3, 4, 32, 32, 4, 3, 3, 1, 1, 1, 4),          # MobileNet stride 1: 4 whole vectors a row
    (3, 4, 32, 32, 4, 3, 3, 2, 1, 1, 4),          # stride 2
    (2, 6, 8, 8, 6, 3, 3, 2, 1, 1, 6),            # stride 2 to 4 x 4: rows of half a vector
    (2, 3, 7, 13, 3, 3, 3, 2, 1, 1, 3),           # odd sizes, stride 2
    (2, 3, 11, 19, 3, 3, 3, 1, 0, 1, 3),          # no padding, widths off the vector
    (1, 2, 9, 37, 2, 3, 3, 2, 0, 1, 2),           # stride 2, no padding, 3 vectors and a bit
    (2, 3, 12, 17, 3, 3, 3, 1, 2, 2, 3),          # dilation 2
    (2, 3, 12, 17, 3, 3, 3, 2, 2, 2, 3),          # dilation 2, stride 2
    (2, 4, 1, 1, 4, 3, 3, 1, 1, 1, 4),            # 1 x 1 images
    (2, 4, 1, 1, 4, 3, 3, 2, 1, 1, 4),            # 1 x 1, stride 2
    (3, 4, 2, 3, 4, 3, 3, 2, 1, 1, 4),
    (2, 3, 10, 10, 3, 5, 5, 1, 2, 1, 3),          # 5 x 5: weight gradient in two tap blocks
    (2, 3, 10, 11, 3, 5, 5, 2, 2, 1, 3),
    (2, 3, 9, 9, 3, 7, 7, 1, 3, 1, 3),            # 7 x 7: 49 taps
    (2, 3, 9, 10, 3, 1, 1, 2, 0, 1, 3),           # 1 x 1, strided
    (2, 3, 9, 10, 3, 2, 3, 1, (1, 0), 1, 3),      # rectangular kernel, asymmetric padding
    (2, 3, 9, 10, 3, 3, 3, (3, 2), 3, (1, 2), 3),  # stride 3 down, padding past the kernel
    (2, 3, 9, 10, 3, 3, 3, (2, 1), 1, 1, 3),      # vertical stride only
    (1, 1, 12, 12, 1, 3, 3, 1, 1, 1, 1),          # one channel: plain and depthwise alike
    (5, 17, 6, 6, 17, 3, 3, 1, 1, 1, 17),         # channels over planes per work item
    (2, 3, 8, 8, 3, 3, 3, 3, 1, 1, 3),            # stride_w 3: the grouped path
    (2, 3, 5, 70, 3, 3, 3, 1, 1, 1, 3),           # rows of several column blocks, ragged
    (2, 3, 9, 150, 3, 3, 3, 2, 1, 1, 3),
    (3, 2, 19, 3, 2, 3, 3, 1, 1, 1, 2),           # tall narrow planes: row blocks 8, 4, 2, 1
    (2, 3, 11, 21, 3, 3, 3, 1, 2, (1, 2), 3),     # 3 x 3 paths with horizontal dilation
    (2, 3, 11, 21, 3, 3, 3, 2, 2, (1, 2), 3),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_against_reference(isa, threads, rng, case):
    check_case(rng, case)


@pytest.mark.parametrize("stride", [1, 2])
def test_forward_with_fused_relu(isa, threads, rng, stride):
    x = rng.standard_normal((2, 5, 11, 19), dtype=np.float32)
    x[0, 0, 0, :2] = np.nan
    weight = rng.standard_normal((5, 1, 3, 3), dtype=np.float32)
    bias = rng.standard_normal(5, dtype=np.float32)
    geometry = dict(stride=stride, padding=1, groups=5)
    expected = reference.conv2d_forward(x.astype(np.float64), weight.astype(np.float64),
                                        bias.astype(np.float64), relu=True, **geometry)
    actual = native.conv2d_forward(x, weight, bias, relu=True, **geometry)
    assert np.array_equal(np.isnan(actual), np.isnan(expected)) and np.isnan(actual).any()
    finite = ~np.isnan(expected)
    assert (actual[finite] >= 0).all()
    assert_close(np.where(finite, actual, 0), np.where(finite, expected, 0))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the reference: inf * 0
@pytest.mark.parametrize("width", [19, 35])
def test_weight_gradient_reads_no_column_past_its_outputs(isa, threads, rng, width):
    """Vectors run past a row's last output column: those lanes must not read x. With infinity
    in x's last column and no padding, only the taps reaching it may see it."""
    x = rng.standard_normal((2, 3, 10, width), dtype=np.float32)
    x[:, :, :, -1] = np.inf
    grad_y = rng.standard_normal((2, 3, 8, width - 2), dtype=np.float32)
    actual = native.conv2d_backward_weight(grad_y, x, (3, 1, 3, 3), groups=3)
    expected = reference.conv2d_backward_weight(grad_y.astype(np.float64), x.astype(np.float64),
                                                (3, 1, 3, 3), groups=3)
    assert np.isfinite(expected[..., :2]).all() and not np.isfinite(expected[..., 2]).any()
    assert_close(actual[..., :2], expected[..., :2])


@pytest.mark.parametrize("stride", [1, 2])
def test_gradients_identical_across_thread_counts(isa, rng, stride):
    """Deterministic mode: the weight and bias gradients (sums over images, in fixed chunks
    added in a fixed order) and the input gradient are bit-identical at 1, 2 and 3 threads."""
    x = rng.standard_normal((16, 24, 12, 12), dtype=np.float32)
    weight = rng.standard_normal((24, 1, 3, 3), dtype=np.float32)
    grad_y = rng.standard_normal((16, 24, 12 // stride, 12 // stride), dtype=np.float32)
    geometry = dict(stride=stride, padding=1, groups=24)
    previous = hpnn.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            hpnn.set_num_threads(threads)
            results.append(native.conv2d_backward(grad_y, x, weight, **geometry))
    finally:
        hpnn.set_num_threads(previous)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)
