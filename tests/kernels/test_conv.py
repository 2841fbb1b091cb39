"""Native conv2d (forward, input, weight and bias gradients) against hpnn.reference on every
ISA and at 1 and 2 threads. Tolerance: 1e-4 relative to the largest magnitude of the result
(float32 sums of up to a few thousand terms, against a float64 reference)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import hpnn
from hpnn import kernels, reference
from hpnn.kernels import conv as native
from support import TEST_ISAS, streamed_outputs

# (N, C, H, W, K, kh, kw, stride, padding, dilation, groups)
CASES = [
    (2, 3, 9, 11, 4, 3, 3, 1, 0, 1, 1),
    (1, 1, 28, 28, 8, 3, 3, 1, 0, 1, 1),          # a first layer
    (2, 1, 10, 9, 16, 3, 3, 1, 1, 1, 1),          # fewer taps than filters: transposed dW
    (2, 2, 8, 8, 24, 3, 3, 1, 0, 2, 2),           # the same per group, dilated
    (3, 4, 10, 7, 6, 3, 3, 1, 1, 1, 1),           # "same" padding
    (2, 8, 7, 7, 16, 1, 1, 1, 0, 1, 1),           # pointwise
    (2, 6, 13, 12, 4, 3, 2, 2, 1, 1, 1),          # stride 2, rectangular kernel
    (1, 4, 9, 9, 4, 2, 2, 3, 0, 1, 1),            # stride > kernel
    (2, 4, 12, 12, 6, 3, 3, 1, 2, 2, 1),          # dilation
    (2, 6, 8, 8, 9, 3, 3, 1, 1, 1, 3),            # groups
    (2, 5, 8, 9, 5, 3, 3, 1, 1, 1, 5),            # depthwise
    (1, 2, 5, 5, 3, 5, 5, 1, 3, 1, 1),            # padding larger than kernel - 1
    (5, 3, 6, 6, 33, 3, 3, 2, 2, (2, 1), 1),      # K not a tile multiple, mixed dilation
    (3, 17, 16, 16, 35, 1, 1, 2, 0, 1, 1),        # strided pointwise
    # Winograd F(2x2, 3x3): stride-1 undilated 3x3 with at least 16 channels in and out.
    (2, 16, 9, 11, 16, 3, 3, 1, 1, 1, 1),         # odd output sizes: partial tiles
    (3, 20, 6, 5, 33, 3, 3, 1, 0, 1, 1),          # K not a panel multiple, blocks span images
    (1, 17, 3, 3, 16, 3, 3, 1, 2, 1, 1),          # one-pixel image, padding 2
    (2, 16, 7, 8, 18, 3, 3, 1, 3, 1, 1),          # padding 3 (input gradient via col2im)
    (1, 16, 70, 69, 16, 3, 3, 1, 1, 1, 1),        # an image of several tile blocks
    (2, 16, 1, 1, 16, 3, 3, 1, 1, 1, 1),          # 1 x 1 in and out: one partial tile
    (2, 16, 2, 5, 17, 3, 3, 1, 4, 1, 1),          # padding 4: tiles wholly in the padding
    (2, 16, 5, 15, 24, 3, 3, 1, (1, 0), 1, 1),    # 13 / 15 wide: 7 / 8 tiles, AVX2's boundary
    (1, 16, 7, 33, 16, 3, 3, 1, 0, 1, 1),         # 31 / 33 wide: 16 / 17 tiles, AVX-512's
    (1, 16, 2, 9, 20, 3, 3, 1, (2, 1), 1, 1),     # 2 rows, padding (2, 1)
    (1, 520, 4, 6, 155, 3, 3, 1, 0, 1, 1),        # C > KC, K > MC and odd: U in depth blocks
    (1, 16, 1030, 3, 16, 3, 3, 1, 1, 1, 1),       # > 1024 narrow tiles: chained rows, 2 blocks
    # Input gradient through the transposed transforms (dy has fewer tiles than dx): blocks of
    # whole images, windows overlapping across tile rows, odd sizes, one image on 2 threads
    (3, 32, 13, 13, 64, 3, 3, 1, 0, 1, 1),
    (2, 16, 8, 9, 20, 3, 3, 1, 0, 1, 1),
    (1, 16, 6, 7, 16, 3, 3, 1, (0, 1), 1, 1),
    (5, 18, 5, 4, 16, 3, 3, 1, 0, 1, 1),
    (1, 16, 10, 4, 16, 3, 3, 1, (2, 0), 1, 1),    # asymmetric padding past 1
    (1, 16, 20, 4, 16, 3, 3, 1, (3, 0), 1, 1),    # (was col2im: padding > kernel - 1)
    # Depth past the GEMM's KC (256 or 512 taps): the bias is added on the first pass only.
    (1, 60, 6, 7, 13, 3, 3, 1, 1, 2, 1),          # padded grid (dilated), 540 taps
    (2, 60, 7, 7, 13, 3, 3, 2, 1, 1, 1),          # strided, 540 taps
    (2, 530, 3, 4, 14, 1, 1, 1, 0, 1, 1),         # pointwise, 530 channels
    # Direct few-tap paths (at most 27 taps, stride 1, output rows of a vector or more): filter
    # counts off the register blocks, rows ending mid-vector, padding, dilation, 5 x 5, 1 x 1
    (2, 1, 28, 28, 33, 3, 3, 1, 0, 1, 1),
    (3, 3, 20, 37, 10, 3, 3, 1, 1, 1, 1),
    (1, 2, 18, 40, 7, 3, 3, 1, 2, 2, 1),
    (2, 1, 21, 33, 5, 5, 5, 1, 2, 1, 1),
    (2, 3, 5, 16, 6, 1, 1, 1, 0, 1, 1),
    (1, 2, 20, 37, 41, 3, 3, 1, 1, 1, 1),        # one image: its filters split over threads
    # Pointwise weight gradients read x[n] as the im2col matrix: groups, images > threads
    (5, 8, 9, 7, 12, 1, 1, 1, 0, 1, 4),
    (3, 40, 6, 11, 30, 1, 1, 1, 0, 1, 1),
]


def assert_close(actual, expected, rtol=1e-4):
    assert actual.shape == expected.shape and actual.dtype == np.float32
    scale = max(float(np.abs(expected).max()), 1e-6)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def check_case(rng, case):
    n, c, h, w, k, kh, kw, stride, padding, dilation, groups = case
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((k, c // groups, kh, kw), dtype=np.float32)
    bias = rng.standard_normal(k, dtype=np.float32)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = native.conv2d_forward(x, weight, bias, **geometry)
    assert_close(y, reference.conv2d_forward(x.astype(np.float64), weight.astype(np.float64),
                                             bias.astype(np.float64), **geometry))
    grad_y = rng.standard_normal(y.shape, dtype=np.float32)
    expected_grad_x = reference.conv2d_backward_input(
        grad_y.astype(np.float64), weight.astype(np.float64), x.shape, **geometry)
    assert_close(native.conv2d_backward_input(grad_y, weight, x.shape, **geometry),
                 expected_grad_x)
    expected_grad_w = reference.conv2d_backward_weight(grad_y.astype(np.float64),
                                                       x.astype(np.float64), weight.shape, **geometry)
    assert_close(native.conv2d_backward_weight(grad_y, x, weight.shape, **geometry),
                 expected_grad_w)
    expected_grad_b = reference.conv2d_backward_bias(grad_y.astype(np.float64))
    assert_close(native.conv2d_backward_bias(grad_y), expected_grad_b)
    # The weight and bias gradients of one sweep: bias sums come from the weight gradient's own
    # pass (Winograd: its transformed gradient), so they are checked on every path.
    grad_w, grad_b = native.conv2d_backward_weight_bias(grad_y, x, weight.shape, **geometry)
    assert_close(grad_w, expected_grad_w)
    assert_close(grad_b, expected_grad_b)
    # All three in one sweep (Winograd's transposed transforms share the transformed grad_y).
    grad_x, grad_w, grad_b = native.conv2d_backward(grad_y, x, weight, **geometry)
    assert_close(grad_x, expected_grad_x)
    assert_close(grad_w, expected_grad_w)
    assert_close(grad_b, expected_grad_b)


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_against_reference(isa, threads, rng, case):
    check_case(rng, case)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c_per_group=st.integers(1, 5), k_per_group=st.integers(1, 6),
       groups=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12),
       kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.integers(0, 2), dilation=st.integers(1, 2), seed=st.integers(0, 2**32 - 1))
def test_random_geometries(n, c_per_group, k_per_group, groups, h, w, kh, kw, stride, padding,
                           dilation, seed):
    if dilation * (kh - 1) + 1 > h + 2 * padding or dilation * (kw - 1) + 1 > w + 2 * padding:
        return
    case = (n, c_per_group * groups, h, w, k_per_group * groups, kh, kw, stride, padding,
            dilation, groups)
    for isa in TEST_ISAS:
        hpnn.set_isa(isa)
        check_case(np.random.default_rng(seed), case)
    hpnn.set_isa(TEST_ISAS[0])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(16, 20), k=st.integers(16, 20), h=st.integers(1, 19),
       w=st.integers(1, 19), padding=st.integers(0, 3), threads=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_random_winograd_geometries(n, c, k, h, w, padding, threads, seed):
    """Winograd's paths (forward, weight gradient, input gradient by the flipped forward or by
    the transposed transforms, whichever has fewer tiles) over sizes around the tile and vector
    boundaries and 1 to 3 threads."""
    if h + 2 * padding < 3 or w + 2 * padding < 3:
        return
    previous = hpnn.get_num_threads()
    hpnn.set_num_threads(threads)
    try:
        for isa in TEST_ISAS:
            hpnn.set_isa(isa)
            check_case(np.random.default_rng(seed), (n, c, h, w, k, 3, 3, 1, padding, 1, 1))
    finally:
        hpnn.set_isa(TEST_ISAS[0])
        hpnn.set_num_threads(previous)


@pytest.mark.parametrize("case", [
    (1, 1, 28, 28, 8, 3, 3, 1, 0, 1, 1),          # direct few-tap path
    (1, 8, 12, 12, 8, 3, 3, 1, 0, 1, 1),          # padded grid
    (2, 16, 9, 11, 16, 3, 3, 1, 1, 1, 1),         # Winograd
    (2, 6, 13, 12, 4, 3, 2, 2, 1, 1, 1),          # strided
    (3, 17, 16, 16, 35, 1, 1, 2, 0, 1, 1),        # strided pointwise
    (2, 6, 8, 8, 9, 3, 3, 1, 1, 1, 3),            # groups
    # depth past the GEMM's KC: the relu must wait for the last pass
    (1, 60, 6, 7, 13, 3, 3, 1, 1, 2, 1),
    (2, 60, 7, 7, 13, 3, 3, 2, 1, 1, 1),
    (2, 530, 3, 4, 14, 1, 1, 1, 0, 1, 1),
])
def test_forward_with_fused_relu(isa, threads, rng, case):
    """conv2d_forward(relu=True) is max(conv, 0) written in one pass, NaN kept, on every path."""
    n, c, h, w, k, kh, kw, stride, padding, dilation, groups = case
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    x[0, 0, 0, :2] = np.nan  # a NaN output or two: relu keeps them, as torch.relu
    weight = rng.standard_normal((k, c // groups, kh, kw), dtype=np.float32)
    bias = rng.standard_normal(k, dtype=np.float32)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    expected = reference.conv2d_forward(x.astype(np.float64), weight.astype(np.float64),
                                        bias.astype(np.float64), relu=True, **geometry)
    actual = native.conv2d_forward(x, weight, bias, relu=True, **geometry)
    assert np.array_equal(np.isnan(actual), np.isnan(expected)) and np.isnan(actual).any()
    assert (actual[~np.isnan(actual)] >= 0).all()
    finite = ~np.isnan(expected)
    scale = float(np.abs(expected[finite]).max())
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=0, atol=1e-4 * scale)


@pytest.mark.parametrize("case", [
    (2, 8, 8, 8, 36, 1, 1, 1, 0, 1, 1),           # pointwise: whole tiles, aligned rows
    (3, 17, 16, 16, 35, 1, 1, 2, 0, 1, 1),        # strided pointwise
    (2, 6, 13, 12, 4, 3, 2, 2, 1, 1, 1),          # strided
    (2, 40, 6, 8, 24, 1, 1, 1, 0, 1, 2),          # pointwise, groups
])
def test_streamed_gemm_output(isa, threads, rng, case):
    """The direct paths' GEMMs write a large y (and the pointwise input gradient a large dx)
    with streaming stores: forced here on small arrays."""
    with streamed_outputs(True):
        check_case(rng, case)


@pytest.mark.parametrize("n,h", [(1, 66), (3, 22)])
def test_winograd_blocks_of_tile_rows_on_several_threads(isa, rng, n, h):
    """Images split into blocks of tile rows on different threads: each thread's vector stores
    must stay inside its own output rows. A store running into the next block's rows corrupts
    y only if that block was written first, so: 4 threads (more blocks, time-sliced on small
    machines, so the blocks finish in varying order), repeated."""
    x = rng.standard_normal((n, 16, h, 61), dtype=np.float32)
    weight = rng.standard_normal((32, 16, 3, 3), dtype=np.float32)
    grad_y = rng.standard_normal((n, 32, h, 61), dtype=np.float32)
    expected_y = reference.conv2d_forward(x.astype(np.float64), weight.astype(np.float64), padding=1)
    expected_grad_x = reference.conv2d_backward_input(grad_y.astype(np.float64),
                                                      weight.astype(np.float64), x.shape, padding=1)
    previous = hpnn.get_num_threads()
    hpnn.set_num_threads(4)
    try:
        for _ in range(10):
            assert_close(native.conv2d_forward(x, weight, padding=1), expected_y)
            assert_close(native.conv2d_backward_input(grad_y, weight, x.shape, padding=1),
                         expected_grad_x)
    finally:
        hpnn.set_num_threads(previous)


@pytest.mark.parametrize("width", [28, 35])
def test_few_tap_weight_gradient_reads_no_column_past_its_outputs(isa, threads, rng, width):
    """The direct path's vectors run past the output's last column; those lanes must not read x.
    With infinity in x's last column, only the taps whose windows reach it may see it: the
    others stay finite and equal the reference."""
    x = rng.standard_normal((2, 1, 20, width), dtype=np.float32)
    x[:, :, :, -1] = np.inf
    grad_y = rng.standard_normal((2, 4, 18, width - 2), dtype=np.float32)
    actual = native.conv2d_backward_weight(grad_y, x, (4, 1, 3, 3))
    expected = reference.conv2d_backward_weight(grad_y.astype(np.float64), x.astype(np.float64),
                                                (4, 1, 3, 3))
    assert np.isfinite(expected[..., :2]).all() and not np.isfinite(expected[..., 2]).any()
    assert_close(actual[..., :2], expected[..., :2])


def test_strided_input_is_handled(rng):
    x = rng.standard_normal((2, 3, 12, 14), dtype=np.float32)[:, :, ::2, 1::2]
    weight = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    assert_close(native.conv2d_forward(x, weight, padding=1),
                 reference.conv2d_forward(x.astype(np.float64), weight.astype(np.float64), padding=1))


@pytest.mark.parametrize("call,error,match", [
    (lambda x, w: native.conv2d_forward(x.astype(np.float64), w), TypeError, "x must be float32"),
    (lambda x, w: native.conv2d_forward(x, w[:, :2]), ValueError, "input channels"),
    (lambda x, w: native.conv2d_forward(x[0], w), ValueError, r"x must have shape \(N, C, H, W\)"),
    (lambda x, w: native.conv2d_forward(x, w, stride=0), ValueError, "stride"),
    (lambda x, w: native.conv2d_forward(x, w, dilation=-1), ValueError, "dilation"),
    (lambda x, w: native.conv2d_forward(x, w, groups=2), ValueError, "groups"),
    (lambda x, w: native.conv2d_forward(x[:, :, :2, :2], w), ValueError, "larger than the padded input"),
    (lambda x, w: native.conv2d_forward(x, w, np.ones(5, np.float32)), ValueError, "bias shape"),
    (lambda x, w: native.conv2d_forward(x[:0], w), ValueError, "empty batch"),
    (lambda x, w: native.conv2d_backward_input(np.ones((2, 4, 3, 3), np.float32), w, x.shape),
     ValueError, "grad_y"),
    (lambda x, w: native.conv2d_backward_weight(np.ones((2, 4, 5, 5), np.float32), x, (4, 3, 3)),
     ValueError, "weight"),
])
def test_bad_arguments(rng, call, error, match):
    x = rng.standard_normal((2, 3, 7, 7), dtype=np.float32)
    w = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    with pytest.raises(error, match=match):
        call(x, w)


def test_bias_gradient_sums_over_batch_and_positions(rng):
    grad_y = (rng.standard_normal((3, 5, 7, 9)) + 0.5).astype(np.float32)
    bias_grad = native.conv2d_backward_bias(grad_y)
    assert bias_grad.dtype == np.float32 and bias_grad.shape == (5,)
    np.testing.assert_allclose(bias_grad, grad_y.astype(np.float64).sum(axis=(0, 2, 3)),
                               rtol=1e-5, atol=1e-5)
    assert not native.conv2d_backward_bias(np.zeros((0, 2, 3, 3), np.float32)).any()
