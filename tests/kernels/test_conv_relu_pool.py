"""Convolution -> ReLU -> 2x2 stride-2 max pool in one pass: conv2d_relu_max_pool2d_forward and
its backward against the kernels in turn (exactly: the same sums, pooled in the same window
order) and against hpnn.reference, on every ISA and at 1 and 2 threads."""
import numpy as np
import pytest

from hpnn import kernels, reference
from hpnn.kernels import conv as native
from test_conv import assert_close

# (N, C, H, W, K, padding, dilation, stride)
FORWARD_CASES = [
    (3, 1, 28, 28, 32, 0, 1, 1),      # a first layer: the fused direct path
    (2, 3, 21, 37, 10, 1, 1, 1),      # odd sizes: the last row and column dropped; filters off
    (1, 2, 17, 40, 7, 2, (2, 1), 1),  # the register blocks, dilation
    (2, 1, 9, 9, 41, 0, 1, 1),        # narrow rows, many filters (split over threads at batch 1)
    # Winograd: each 2 x 2 output tile is a window, pooled in the output transform
    (2, 16, 10, 10, 16, 1, 1, 1),     # even sizes: every tile a window
    (3, 32, 13, 13, 64, 0, 1, 1),     # E2's second layer: 11 x 11, the last tile row and column dropped
    (2, 17, 9, 70, 19, 1, 1, 1),      # windows past a vector per row; K off the panels
    (1, 16, 40, 5, 16, 0, 1, 1),      # chained narrow rows (3 wide: 1 window), one image
    (9, 16, 6, 7, 20, 1, 1, 1),       # small images: blocks of several, split over threads
    (2, 2, 11, 11, 5, 1, 1, 2),       # strided: the two kernels in turn
]


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_conv_relu_max_pool_matches_the_kernels_in_turn(isa, threads, rng, case):
    """conv2d_relu_max_pool2d_forward: exactly conv2d_forward(relu=True) then a 2x2 stride-2
    max pool with int32 indices (integer data: exact sums, many ties and zero windows; a NaN),
    and the reference twin on random data."""
    n, c, h, w, k, padding, dilation, stride = case
    geometry = dict(padding=padding, dilation=dilation, stride=stride)
    x = rng.integers(-3, 3, size=(n, c, h, w)).astype(np.float32)
    x[0, 0, 2, 3] = np.nan
    weight = rng.integers(-2, 3, size=(k, c, 3, 3)).astype(np.float32)
    bias = rng.integers(-2, 2, size=k).astype(np.float32)
    values, indices = native.conv2d_relu_max_pool2d_forward(x, weight, bias, **geometry)
    conv = native.conv2d_forward(x, weight, bias, relu=True, **geometry)
    expected, expected_indices = kernels.max_pool2d_forward(conv, 2, index_dtype=np.int32)
    assert indices.dtype == np.int32 and np.isnan(values).any()
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(indices, expected_indices)
    x, weight = (rng.standard_normal(a.shape).astype(np.float32) for a in (x, weight))
    values, indices = native.conv2d_relu_max_pool2d_forward(x, weight, None, **geometry)
    expected, expected_indices = reference.conv2d_relu_max_pool2d_forward(
        x.astype(np.float64), weight.astype(np.float64), None, **geometry)
    assert_close(values, expected.astype(np.float32))
    assert (indices == expected_indices).mean() > 0.99  # float32 rounding may flip near-ties


# (N, C, H, W, K, padding): the fused backward takes Winograd's transposed transforms, which
# need dy to have fewer tiles than dx ("valid" convolutions); the others run in turn.
BACKWARD_CASES = [
    (3, 32, 13, 13, 64, 0),     # E2's second layer: 11 x 11, the last row and column unpooled
    (2, 16, 12, 12, 16, 0),     # 10 x 10: every tile a window
    (2, 17, 9, 72, 19, 0),      # windows past a vector per row; K off the panels
    (1, 16, 40, 7, 16, 0),      # chained narrow rows, one image
    (9, 16, 6, 7, 20, 0),       # small images: blocks of several, split over threads
    (2, 16, 10, 10, 16, 1),     # "same" padding: the two kernels in turn
    (2, 3, 12, 12, 8, 0),       # a first layer's few taps: likewise
]


def pooled_operands(rng, case, integers=False):
    n, c, h, w, k, padding = case
    draw = ((lambda shape: rng.integers(-2, 3, size=shape).astype(np.float32)) if integers else
            (lambda shape: rng.standard_normal(shape, dtype=np.float32)))
    x, weight, bias = draw((n, c, h, w)), draw((k, c, 3, 3)), draw((k,))
    output, indices = native.conv2d_relu_max_pool2d_forward(x, weight, bias, padding=padding)
    grad = draw(output.shape)
    return grad, indices, output, x, weight


def in_turn(grad, indices, output, x, weight, padding):
    (n, c, h, w), k = x.shape, weight.shape[0]
    conv_shape = (n, k, h + 2 * padding - 2, w + 2 * padding - 2)
    grad_y = kernels.max_pool2d_backward(grad, indices, conv_shape, relu_output=output)
    return kernels.conv2d_backward(grad_y, x, weight, padding=padding)


@pytest.mark.parametrize("case", BACKWARD_CASES)
def test_conv_relu_max_pool_backward_matches_the_kernels_in_turn(isa, threads, rng, case):
    """Exactly max_pool2d_backward(relu_output=) then conv2d_backward (integer data: many ties
    and zero windows, whose gradient the relu stops), and the reference twin on random data."""
    padding = case[-1]
    operands = pooled_operands(rng, case, integers=True)
    for actual, expected in zip(native.conv2d_relu_max_pool2d_backward(*operands, padding=padding),
                                in_turn(*operands, padding)):
        np.testing.assert_array_equal(actual, expected)
    operands = pooled_operands(rng, case)
    expected = reference.conv2d_relu_max_pool2d_backward(
        *(a.astype(np.float64) if a.dtype == np.float32 else a for a in operands), padding=padding)
    for actual, want in zip(native.conv2d_relu_max_pool2d_backward(*operands, padding=padding),
                            expected):
        assert_close(actual, want.astype(np.float32))


# The parameters' gradients alone (a first layer's input needs none): the direct few-tap path
# unpools each filter block's dy planes into a buffer as it correlates them.
WEIGHT_ONLY_CASES = [
    (3, 1, 28, 28, 32, 0),      # E2's first layer
    (2, 3, 21, 37, 10, 1),      # odd sizes: the last row and column unpooled; filters off blocks
    (1, 2, 20, 40, 7, 0),       # one image: its filters split over threads
    (2, 16, 12, 12, 16, 0),     # Winograd: the two kernels in turn
]


@pytest.mark.parametrize("case", WEIGHT_ONLY_CASES)
def test_parameter_gradients_alone(isa, threads, rng, case):
    padding = case[-1]
    operands = pooled_operands(rng, case, integers=True)
    grad_x, *actual = native.conv2d_relu_max_pool2d_backward(*operands, padding=padding,
                                                             input_grad=False)
    assert grad_x is None
    for got, expected in zip(actual, in_turn(*operands, padding)[1:]):
        np.testing.assert_array_equal(got, expected)
    operands = pooled_operands(rng, case)
    _, *expected = reference.conv2d_relu_max_pool2d_backward(
        *(a.astype(np.float64) if a.dtype == np.float32 else a for a in operands), padding=padding,
        input_grad=False)
    _, *actual = native.conv2d_relu_max_pool2d_backward(*operands, padding=padding,
                                                        input_grad=False)
    for got, want in zip(actual, expected):
        assert_close(got, want.astype(np.float32))


@pytest.mark.parametrize("case,input_grad", [(BACKWARD_CASES[0], True),
                                             (WEIGHT_ONLY_CASES[0], False)])
def test_indices_outside_their_windows_take_the_kernels_in_turn(isa, rng, case, input_grad):
    """The fused path unpools each gradient into its own window; an index elsewhere in the plane
    (which max_pool2d_backward accepts) sends the call to the two kernels, with their result."""
    grad, indices, output, x, weight = pooled_operands(rng, case)
    indices = indices.copy()
    indices[1, 5, 2, 3] = 0  # the plane's first element: window (0, 0), not (2, 3)
    output = np.abs(output) + 1  # every gradient passes the relu
    actual = native.conv2d_relu_max_pool2d_backward(grad, indices, output, x, weight,
                                                    input_grad=input_grad)
    expected = in_turn(grad, indices, output, x, weight, 0)
    for got, want in zip(actual[0 if input_grad else 1:], expected[0 if input_grad else 1:]):
        np.testing.assert_array_equal(got, want)


def test_int64_indices_take_the_kernels_in_turn(rng):
    grad, indices, output, x, weight = pooled_operands(rng, BACKWARD_CASES[1])
    wide = indices.astype(np.int64)
    for actual, expected in zip(native.conv2d_relu_max_pool2d_backward(grad, wide, output, x,
                                                                       weight),
                                native.conv2d_relu_max_pool2d_backward(grad, indices, output, x,
                                                                       weight)):
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("mangle,error,match", [
    (lambda a: dict(a, indices=a["indices"].astype(np.int64)), TypeError, "'indices' must be an int32"),
    (lambda a: dict(a, indices=a["indices"][:, :, :-1]), ValueError, "'indices' must be C-contiguous"),
    (lambda a: dict(a, grad=a["grad"][:, :-1]), ValueError, "'grad' must have shape"),
    (lambda a: dict(a, output=a["output"][..., :-1]), ValueError, "'output' must have shape"),
    (lambda a: dict(a, grad=a["grad"].astype(np.float64)), TypeError, "grad must be float32"),
])
def test_bad_arguments_name_themselves(rng, mangle, error, match):
    from hpnn._C import kernels as raw
    grad, indices, output, x, weight = pooled_operands(rng, BACKWARD_CASES[1])
    args = mangle(dict(grad=grad, indices=indices, output=output, x=x, weight=weight))
    with pytest.raises(error, match=match):
        if error is TypeError and "float32" in match:
            native.conv2d_relu_max_pool2d_backward(**args)
        else:
            raw.conv2d_relu_max_pool2d_backward(*args.values(), (1, 1, 0, 0, 1, 1, 1))
