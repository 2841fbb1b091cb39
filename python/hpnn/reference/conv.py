"""2-d convolution (cross-correlation, as in PyTorch) and its gradients, plus the window
helpers shared with the pooling references.

Layouts are NCHW: x (N, C, H, W), weight (K, C / groups, kh, kw), y (N, K, OH, OW) with
OH = floor((H + 2 * pad_h - dilation_h * (kh - 1) - 1) / stride_h) + 1 (same for W).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activation import _float_array, relu_forward


def _pair(value, name):
    """Normalise an int or a pair of ints to a tuple (h, w); TypeError naming ``name``."""
    if isinstance(value, (tuple, list)):
        pair = tuple(value)
    else:
        pair = (value, value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                             for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


def _positive_pair(value, name):
    pair = _pair(value, name)
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return pair


def _nonnegative_pair(value, name):
    pair = _pair(value, name)
    if min(pair) < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return pair


def _output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    """Output length along one axis, PyTorch's formula (including its ceil_mode rule that the
    last window must start inside the input or the left padding)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _output_shape(spatial, kernel, stride, padding, dilation, ceil_mode=False):
    """(OH, OW) for input (H, W); ValueError when the dilated kernel exceeds the padded input."""
    for size, k, p, d in zip(spatial, kernel, padding, dilation):
        if d * (k - 1) + 1 > size + 2 * p:
            raise ValueError(f"kernel {tuple(kernel)} with dilation {tuple(dilation)} is larger "
                             f"than the padded input {tuple(s + 2 * q for s, q in zip(spatial, padding))}")
    return tuple(_output_size(*args, ceil_mode) for args in
                 zip(spatial, kernel, stride, padding, dilation))


def _windows(x_padded, kernel, stride, dilation, out_shape):
    """View of shape x_padded.shape[:-2] + (OH, OW, kh, kw): the (dilated) window of every
    output position. x_padded must already hold the padding."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    windows = sliding_window_view(x_padded, span, axis=(-2, -1))
    windows = windows[..., ::dilation[0], ::dilation[1]]
    return windows[..., :out_shape[0] * stride[0]:stride[0], :out_shape[1] * stride[1]:stride[1],
                   :, :]


def _tap(offset, dilation, stride, out_size):
    """Slice of a padded axis read by kernel tap ``offset`` across all output positions."""
    start = offset * dilation
    return slice(start, start + stride * (out_size - 1) + 1, stride)


def _pad_spatial(x, padding, value=0.0, extra=(0, 0)):
    """Pad the last two axes by ``padding`` on both sides, plus ``extra`` at the end."""
    widths = [(0, 0)] * (x.ndim - 2) + [(p, p + e) for p, e in zip(padding, extra)]
    return np.pad(x, widths, constant_values=value)


def _check_dtype(array, reference, name, reference_name):
    if array.dtype != reference.dtype:
        raise TypeError(f"{name} dtype {array.dtype} must match {reference_name} dtype "
                        f"{reference.dtype}")


def _check_rank4(array, name):
    if array.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {array.shape}")


def _conv_params(stride, padding, dilation, groups):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"groups must be an int, got {groups!r}")
    if groups <= 0:
        raise ValueError(f"groups must be positive, got {groups}")
    return (_positive_pair(stride, "stride"), _nonnegative_pair(padding, "padding"),
            _positive_pair(dilation, "dilation"), int(groups))


def _conv_shapes(input_shape, weight_shape, stride, padding, dilation, groups):
    """Validate the shapes of a convolution; return (params, (OH, OW))."""
    stride, padding, dilation, groups = _conv_params(stride, padding, dilation, groups)
    if len(input_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(input_shape)}")
    if len(weight_shape) != 4:
        raise ValueError(f"weight must have shape (K, C/groups, kh, kw), got {tuple(weight_shape)}")
    channels, out_channels = input_shape[1], weight_shape[0]
    if channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide the input channels ({channels}) and the "
                         f"output channels ({out_channels})")
    if weight_shape[1] * groups != channels:
        raise ValueError(f"weight shape {tuple(weight_shape)} expects {weight_shape[1] * groups} "
                         f"input channels with groups={groups}, x has {channels}")
    if input_shape[0] == 0:
        raise ValueError("x is an empty batch")
    out_shape = _output_shape(input_shape[2:], weight_shape[2:], stride, padding, dilation)
    return (stride, padding, dilation, groups), out_shape


def _check_grad_y(grad_y, batch, channels, out_shape):
    expected = (batch, channels) + tuple(out_shape)
    if grad_y.shape != expected:
        raise ValueError(f"grad_y shape {grad_y.shape} must be {expected}")


def _grouped(array, groups, axis):
    """Split ``axis`` into (groups, size / groups)."""
    shape = array.shape
    return array.reshape(shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1:])


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                   relu=False):
    """y[n, k] = bias[k] + sum over c in k's group, i, j of
    weight[k, c, i, j] * x_padded[n, c, oh * sh + i * dh, ow * sw + j * dw].

    x (N, C, H, W), weight (K, C / groups, kh, kw), bias (K,) or None; stride, padding
    (zeros) and dilation are ints or (h, w) pairs; groups == C == K is depthwise. With
    ``relu``, y is replaced by max(y, 0) (NaN kept). Returns y (N, K, OH, OW) in x's dtype.
    """
    x = _float_array(x, "x")
    weight = _float_array(weight, "weight")
    _check_dtype(weight, x, "weight", "x")
    (stride, padding, dilation, groups), out_shape = _conv_shapes(
        x.shape, weight.shape, stride, padding, dilation, groups)
    windows = _windows(_pad_spatial(x, padding), weight.shape[2:], stride, dilation, out_shape)
    y = np.einsum("ngcuvij,gkcij->ngkuv", _grouped(windows, groups, 1),
                  _grouped(weight, groups, 0), optimize=True)
    y = y.reshape((x.shape[0], weight.shape[0]) + out_shape)
    if bias is not None:
        bias = _float_array(bias, "bias")
        _check_dtype(bias, x, "bias", "x")
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"bias shape {bias.shape} must be ({weight.shape[0]},)")
        y = y + bias.reshape(1, -1, 1, 1)
    return relu_forward(y) if relu else y


def conv2d_backward_input(grad_y, weight, input_shape, stride=1, padding=0, dilation=1,
                          groups=1):
    """Gradient of conv2d_forward with respect to x, shape ``input_shape`` (N, C, H, W).

    Each kernel tap (i, j) scatters weight[:, :, i, j]^T @ grad_y back onto the strided input
    positions it read; rows/columns no window reached (stride > kernel) get 0.
    """
    grad_y = _float_array(grad_y, "grad_y")
    weight = _float_array(weight, "weight")
    _check_dtype(weight, grad_y, "weight", "grad_y")
    input_shape = tuple(int(s) for s in input_shape)
    (stride, padding, dilation, groups), out_shape = _conv_shapes(
        input_shape, weight.shape, stride, padding, dilation, groups)
    _check_grad_y(grad_y, input_shape[0], weight.shape[0], out_shape)
    grad_y_g = _grouped(grad_y, groups, 1)
    weight_g = _grouped(weight, groups, 0)
    grad_padded = _grouped(_pad_spatial(np.zeros(input_shape, grad_y.dtype), padding), groups, 1)
    for i in range(weight.shape[2]):
        rows = _tap(i, dilation[0], stride[0], out_shape[0])
        for j in range(weight.shape[3]):
            cols = _tap(j, dilation[1], stride[1], out_shape[1])
            grad_padded[..., rows, cols] += np.einsum("ngkuv,gkc->ngcuv", grad_y_g,
                                                      weight_g[..., i, j])
    grad_padded = grad_padded.reshape(grad_padded.shape[:1] + (-1,) + grad_padded.shape[3:])
    height, width = input_shape[2:]
    return grad_padded[:, :, padding[0]:padding[0] + height, padding[1]:padding[1] + width]


def conv2d_backward_weight(grad_y, x, weight_shape, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of conv2d_forward with respect to weight, shape ``weight_shape``:
    grad_w[k, c, i, j] = sum over n, oh, ow of grad_y[n, k, oh, ow] * window[n, c, oh, ow, i, j].
    """
    grad_y = _float_array(grad_y, "grad_y")
    x = _float_array(x, "x")
    _check_dtype(x, grad_y, "x", "grad_y")
    weight_shape = tuple(int(s) for s in weight_shape)
    (stride, padding, dilation, groups), out_shape = _conv_shapes(
        x.shape, weight_shape, stride, padding, dilation, groups)
    _check_grad_y(grad_y, x.shape[0], weight_shape[0], out_shape)
    windows = _windows(_pad_spatial(x, padding), weight_shape[2:], stride, dilation, out_shape)
    grad_w = np.einsum("ngcuvij,ngkuv->gkcij", _grouped(windows, groups, 1),
                       _grouped(grad_y, groups, 1), optimize=True)
    return grad_w.reshape(weight_shape)


def conv2d_backward_weight_bias(grad_y, x, weight_shape, stride=1, padding=0, dilation=1,
                                groups=1):
    """(conv2d_backward_weight, conv2d_backward_bias) of the same grad_y."""
    grad_w = conv2d_backward_weight(grad_y, x, weight_shape, stride, padding, dilation, groups)
    return grad_w, conv2d_backward_bias(grad_y)


def conv2d_backward(grad_y, x, weight, stride=1, padding=0, dilation=1, groups=1):
    """(conv2d_backward_input, conv2d_backward_weight, conv2d_backward_bias) of the same grad_y."""
    weight = _float_array(weight, "weight")
    geometry = (stride, padding, dilation, groups)
    return (conv2d_backward_input(grad_y, weight, np.shape(x), *geometry),
            *conv2d_backward_weight_bias(grad_y, x, weight.shape, *geometry))


def conv2d_relu_max_pool2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """max_pool2d_forward(conv2d_forward(..., relu=True), 2) with int32 indices."""
    from .pool import max_pool2d_forward
    y = conv2d_forward(x, weight, bias, stride, padding, dilation, groups, relu=True)
    return max_pool2d_forward(y, 2, index_dtype=np.int32)


def conv2d_relu_max_pool2d_backward(grad, indices, output, x, weight, stride=1, padding=0,
                                    dilation=1, groups=1, input_grad=True):
    """conv2d_backward of max_pool2d_backward(grad, indices, relu_output=output) into the
    convolution's output shape; grad_x None unless ``input_grad``."""
    from .pool import max_pool2d_backward
    _, (oh, ow) = _conv_shapes(np.shape(x), np.shape(weight), stride, padding, dilation, groups)
    grad_y = max_pool2d_backward(grad, indices, (np.shape(x)[0], np.shape(weight)[0], oh, ow),
                                 relu_output=output)
    geometry = (stride, padding, dilation, groups)
    if input_grad:
        return conv2d_backward(grad_y, x, weight, *geometry)
    return (None, *conv2d_backward_weight_bias(grad_y, x, np.shape(weight), *geometry))


def conv2d_backward_bias(grad_y):
    """Gradient with respect to bias: grad_y (N, K, OH, OW) summed over N, OH, OW -> (K,)."""
    grad_y = _float_array(grad_y, "grad_y")
    _check_rank4(grad_y, "grad_y")
    return grad_y.sum(axis=(0, 2, 3))
