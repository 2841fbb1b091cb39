"""2-d convolution kernels. Arguments are normalised and validated exactly as in
``hpnn.reference.conv`` (same helpers, same messages); the arrays must be float32."""
import numpy as np

from .._C import kernels as _native
from ..reference.conv import _conv_shapes
from ._memo import memoized
from .pool import max_pool2d_backward, max_pool2d_forward

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "conv2d_backward_bias", "conv2d_backward_weight_bias", "conv2d_backward",
           "conv2d_relu_max_pool2d_forward", "conv2d_relu_max_pool2d_backward"]


def _float32(value, name):
    array = np.asarray(value)
    if array.dtype != np.float32:
        raise TypeError(f"{name} must be float32, got dtype {array.dtype}")
    return array


@memoized
def _geometry(input_shape, weight_shape, stride, padding, dilation, groups):
    """(stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups), validated."""
    (stride, padding, dilation, groups), _ = _conv_shapes(
        input_shape, weight_shape, stride, padding, dilation, groups)
    return (*stride, *padding, *dilation, groups)


def _bias(bias, weight):
    """None, or a float32 (K,) bias for weight (K, ...)."""
    if bias is None:
        return None
    bias = _float32(bias, "bias")
    if bias.shape != weight.shape[:1]:
        raise ValueError(f"bias shape {bias.shape} must be ({weight.shape[0]},)")
    return bias


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                   relu=False):
    """y (N, K, OH, OW) = conv(x (N, C, H, W), weight (K, C/groups, kh, kw)) + bias (K,); with
    ``relu``, max(y, 0) (NaN kept) applied in the same write."""
    x, weight = _float32(x, "x"), _float32(weight, "weight")
    geometry = _geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    return _native.conv2d_forward(x, weight, _bias(bias, weight), geometry, relu=bool(relu))


def conv2d_relu_max_pool2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """(values, int32 indices) of max_pool2d(relu(conv2d(x)), 2): 2x2 windows, stride 2, floor,
    indices flat positions in the convolution's output planes. One pass where a fused path
    suits (a first layer's few taps: the convolution's output never leaves the registers
    unpooled; Winograd's 3x3: each 2x2 output tile is a window, pooled as it is transformed),
    else the two kernels in turn."""
    x, weight = _float32(x, "x"), _float32(weight, "weight")
    geometry = _geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    fused = _native.conv2d_relu_max_pool2d_forward(x, weight, _bias(bias, weight), geometry)
    if fused is not None:
        return fused
    y = conv2d_forward(x, weight, bias, stride, padding, dilation, groups, relu=True)
    return max_pool2d_forward(y, 2, index_dtype=np.int32)


def conv2d_relu_max_pool2d_backward(grad, indices, output, x, weight, stride=1, padding=0,
                                    dilation=1, groups=1, input_grad=True):
    """conv2d_backward's (grad_x, grad_w, grad_b) under max_pool2d(relu(conv2d(x)), 2), from the
    pool's gradient, its indices and output (conv2d_relu_max_pool2d_forward's); grad_x is None
    unless ``input_grad``. The relu's backward is folded into the pool's (the gradient passes
    where output > 0), and where a fused path suits (Winograd's transposed transforms for both
    gradients, the direct few-tap path for the parameters'), the convolution's grad_y is
    unpooled as it is read and never written; else max_pool2d_backward, then the convolution's
    backward."""
    grad, output = _float32(grad, "grad"), _float32(output, "output")
    x, weight = _float32(x, "x"), _float32(weight, "weight")
    geometry = _geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    indices = np.asarray(indices)
    if indices.dtype == np.int32:
        fused = _native.conv2d_relu_max_pool2d_backward(grad, indices, output, x, weight, geometry,
                                                        input_grad=bool(input_grad))
        if fused is not None:
            return fused
    _, (oh, ow) = _conv_shapes(x.shape, weight.shape, stride, padding, dilation, groups)
    grad_y = max_pool2d_backward(grad, indices, (x.shape[0], weight.shape[0], oh, ow),
                                 relu_output=output)
    geometry = (stride, padding, dilation, groups)
    if input_grad:
        return conv2d_backward(grad_y, x, weight, *geometry)
    return (None, *conv2d_backward_weight_bias(grad_y, x, weight.shape, *geometry))


def conv2d_backward_input(grad_y, weight, input_shape, stride=1, padding=0, dilation=1, groups=1):
    """Gradient with respect to x, shape ``input_shape``."""
    grad_y, weight = _float32(grad_y, "grad_y"), _float32(weight, "weight")
    input_shape = tuple(int(s) for s in input_shape)
    geometry = _geometry(input_shape, weight.shape, stride, padding, dilation, groups)
    return _native.conv2d_backward_input(grad_y, weight, input_shape, geometry)


def conv2d_backward_weight(grad_y, x, weight_shape, stride=1, padding=0, dilation=1, groups=1):
    """Gradient with respect to weight, shape ``weight_shape``."""
    grad_y, x = _float32(grad_y, "grad_y"), _float32(x, "x")
    weight_shape = tuple(int(s) for s in weight_shape)
    geometry = _geometry(x.shape, weight_shape, stride, padding, dilation, groups)
    return _native.conv2d_backward_weight(grad_y, x, weight_shape, geometry)


def conv2d_backward_weight_bias(grad_y, x, weight_shape, stride=1, padding=0, dilation=1,
                                groups=1):
    """(gradient w.r.t. weight, gradient w.r.t. bias) in one sweep over grad_y: the bias
    gradient's sums are taken from grad_y while the weight gradient has it in cache."""
    grad_y, x = _float32(grad_y, "grad_y"), _float32(x, "x")
    weight_shape = tuple(int(s) for s in weight_shape)
    geometry = _geometry(x.shape, weight_shape, stride, padding, dilation, groups)
    return _native.conv2d_backward_weight(grad_y, x, weight_shape, geometry, with_bias=True)


def conv2d_backward(grad_y, x, weight, stride=1, padding=0, dilation=1, groups=1):
    """(gradient w.r.t. x, w.r.t. weight, w.r.t. bias) in one sweep over grad_y, sharing what the
    input and weight gradients have in common (Winograd's transformed grad_y)."""
    grad_y, x, weight = _float32(grad_y, "grad_y"), _float32(x, "x"), _float32(weight, "weight")
    geometry = _geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    return _native.conv2d_backward(grad_y, x, weight, geometry)


def conv2d_backward_bias(grad_y):
    """Gradient with respect to bias: grad_y summed over N, OH, OW."""
    grad_y = _float32(grad_y, "grad_y")
    if grad_y.ndim != 4:
        raise ValueError(f"grad_y must have shape (N, K, OH, OW), got {grad_y.shape}")
    # A view is summed as a C-ordered copy, as the native kernels read theirs: a broadcast view
    # too large to copy raises MemoryError at once instead of being summed for days.
    try:
        grad_y = np.ascontiguousarray(grad_y)
    except MemoryError as error:
        raise MemoryError(f"conv2d_backward_bias: argument 'grad_y' of shape {grad_y.shape} "
                          f"cannot be copied: {error}") from None
    # einsum's reduction loop is ~4x faster than sum(axis=(0, 2, 3)) here, as accurate, and
    # unlike a BLAS matrix-vector product it wakes no BLAS threads
    return np.einsum("nchw->c", grad_y)
