"""2-d max / average / global-average pooling and their gradients, PyTorch semantics.

Layout NCHW. Output sizes follow PyTorch: OH = floor_or_ceil((H + 2p - d (k - 1) - 1) / s) + 1,
and with ceil_mode a last window that would start in the right padding is dropped. Padding must
be at most half the kernel size, so every window overlaps the input.
"""
from collections import namedtuple

import numpy as np

from .activation import _float_array
from .conv import (_check_rank4, _nonnegative_pair, _output_shape, _pad_spatial, _positive_pair,
                   _tap, _windows)

_PoolGeometry = namedtuple("_PoolGeometry", "kernel stride padding dilation out_shape extra")


def _pool_geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate pooling arguments for an (N, C, H, W) input. ``extra`` is the padding needed
    beyond ``padding`` at the bottom/right so that ceil_mode windows fit."""
    if len(input_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(input_shape)}")
    if input_shape[0] == 0:
        raise ValueError("x is an empty batch")
    kernel = _positive_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _positive_pair(stride, "stride")
    padding = _nonnegative_pair(padding, "padding")
    dilation = _positive_pair(dilation, "dilation")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"padding {padding} must be at most half of kernel_size {kernel}")
    spatial = tuple(input_shape[2:])
    out_shape = _output_shape(spatial, kernel, stride, padding, dilation, ceil_mode)
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
                  for o, s, d, k, size, p in zip(out_shape, stride, dilation, kernel, spatial,
                                                  padding))
    return _PoolGeometry(kernel, stride, padding, dilation, out_shape, extra)


def _flat_windows(x_padded, geometry):
    """Windows of every output position, flattened to (..., OH, OW, kh * kw)."""
    windows = _windows(x_padded, geometry.kernel, geometry.stride, geometry.dilation,
                       geometry.out_shape)
    return windows.reshape(windows.shape[:-2] + (-1,))


def _index_dtype(index_dtype):
    """np.int64 or np.int32, the dtypes max-pool indices come in; ValueError otherwise."""
    try:
        dtype = np.dtype(index_dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise ValueError(f"argument 'index_dtype' must be int64 or int32, got {index_dtype!r}")
    return dtype.type


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                       index_dtype=np.int64):
    """Max pooling of x (N, C, H, W) -> (y, indices), both (N, C, OH, OW).

    stride defaults to kernel_size; padding is implicit -inf. indices (int64, or int32 with
    ``index_dtype``) hold the flat position h * W + w of the chosen element within its (n, c)
    plane, as PyTorch returns them. Ties pick the first maximum in window order (row-major over
    the kernel); a window containing NaN picks its last NaN (PyTorch's CPU rule).
    """
    index_type = _index_dtype(index_dtype)
    x = _float_array(x, "x")
    geometry = _pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    height, width = x.shape[2:]
    values = _flat_windows(_pad_spatial(x, geometry.padding, -np.inf, geometry.extra), geometry)
    plane_index = np.arange(height * width, dtype=np.int64).reshape(height, width)
    index_windows = _flat_windows(
        _pad_spatial(plane_index, geometry.padding, -1, geometry.extra), geometry)
    if index_type == np.int32 and height * width >= 2**31:
        raise ValueError("max_pool2d_forward: argument 'index_dtype' int32 cannot index planes "
                         "of 2**31 elements or more; use int64")
    y, indices = _window_max(values, index_windows, index_windows >= 0)
    return y, indices.astype(index_type)


def _window_max(values, index_windows, valid):
    """(max, plane index) over the last axis of ``values`` (..., OH, OW, window), where
    ``index_windows`` and ``valid`` broadcast against it. Ties pick the first maximum, a window
    with NaN its last NaN (PyTorch's CPU rule)."""
    is_max = (values == values.max(axis=-1, keepdims=True)) & valid
    is_nan = np.isnan(values)
    last_nan = is_nan.shape[-1] - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
    position = np.where(is_nan.any(axis=-1), last_nan, np.argmax(is_max, axis=-1))[..., None]
    y = np.take_along_axis(values, position, axis=-1)[..., 0]
    indices = np.take_along_axis(np.broadcast_to(index_windows, values.shape), position,
                                 axis=-1)[..., 0]
    return y, indices


def max_pool2d_backward(grad_y, indices, input_shape, relu_output=None):
    """Gradient of max pooling: grad_y (N, C, OH, OW) is accumulated into grad_x of shape
    ``input_shape`` at the flat plane positions ``indices`` (overlapping windows add up).
    With ``relu_output``, the gradient of max pooling after a ReLU, given the pooled output
    (max of relu'd values, grad_y's shape): grad_y counts only where that output is > 0."""
    grad_y = _float_array(grad_y, "grad_y")
    if relu_output is not None:
        relu_output = _float_array(relu_output, "relu_output")
        if relu_output.dtype != grad_y.dtype:
            raise TypeError(f"relu_output must have grad_y's dtype {grad_y.dtype}, got "
                            f"{relu_output.dtype}")
        if relu_output.shape != grad_y.shape:
            raise ValueError(f"relu_output shape {relu_output.shape} must equal grad_y shape "
                             f"{grad_y.shape}")
        grad_y = np.where(relu_output > 0, grad_y, 0)
    indices = np.asarray(indices)
    input_shape = tuple(int(s) for s in input_shape)
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be an integer array, got {indices.dtype}")
    _check_rank4(grad_y, "grad_y")
    if len(input_shape) != 4 or input_shape[:2] != grad_y.shape[:2]:
        raise ValueError(f"input_shape {input_shape} does not match grad_y shape {grad_y.shape}")
    if indices.shape != grad_y.shape:
        raise ValueError(f"indices shape {indices.shape} must equal grad_y shape {grad_y.shape}")
    plane_size = input_shape[2] * input_shape[3]
    if indices.size and (indices.min() < 0 or indices.max() >= plane_size):
        raise ValueError(f"indices must lie in [0, {plane_size})")
    planes = input_shape[0] * input_shape[1]
    grad_x = np.zeros((planes, plane_size), dtype=grad_y.dtype)
    np.add.at(grad_x, (np.arange(planes)[:, None], indices.reshape(planes, -1)),
              grad_y.reshape(planes, -1))
    return grad_x.reshape(input_shape)


def _window_counts(size, out_size, kernel, stride, padding, count_include_pad):
    """Per-output-position number of elements averaged along one axis (PyTorch's rule: windows
    are clipped to the padded input, and also to the input when padding is not counted)."""
    starts = np.arange(out_size) * stride - padding
    if count_include_pad:
        return np.minimum(starts + kernel, size + padding) - starts
    return np.minimum(starts + kernel, size) - np.maximum(starts, 0)


def _avg_divisor(geometry, spatial, count_include_pad, divisor_override):
    """(OH, OW) array of the divisor of each output position."""
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)):
            raise TypeError(f"divisor_override must be an int, got {divisor_override!r}")
        if divisor_override <= 0:
            raise ValueError(f"divisor_override must be positive, got {divisor_override}")
        return np.full(geometry.out_shape, divisor_override)
    rows, cols = (_window_counts(size, out, k, s, p, count_include_pad) for size, out, k, s, p in
                  zip(spatial, geometry.out_shape, geometry.kernel, geometry.stride,
                      geometry.padding))
    return np.outer(rows, cols)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """Average pooling of x (N, C, H, W) -> y (N, C, OH, OW); stride defaults to kernel_size.

    Each output is the window sum (zero padding) divided by divisor_override if given, else by
    the window size clipped to the padded input (count_include_pad=True) or to the input.
    """
    x = _float_array(x, "x")
    geometry = _pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    divisor = _avg_divisor(geometry, x.shape[2:], count_include_pad, divisor_override)
    sums = _flat_windows(_pad_spatial(x, geometry.padding, 0.0, geometry.extra), geometry)
    return sums.sum(axis=-1) / divisor.astype(x.dtype)


def avg_pool2d_backward(grad_y, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d_forward: each grad_y / divisor is spread over its window; the
    parts falling on padding are dropped. Returns grad_x of shape ``input_shape``."""
    grad_y = _float_array(grad_y, "grad_y")
    input_shape = tuple(int(s) for s in input_shape)
    geometry = _pool_geometry(input_shape, kernel_size, stride, padding, 1, ceil_mode)
    if grad_y.shape != input_shape[:2] + geometry.out_shape:
        raise ValueError(f"grad_y shape {grad_y.shape} must be "
                         f"{input_shape[:2] + geometry.out_shape}")
    divisor = _avg_divisor(geometry, input_shape[2:], count_include_pad, divisor_override)
    share = grad_y / divisor.astype(grad_y.dtype)
    grad_padded = _pad_spatial(np.zeros(input_shape, grad_y.dtype), geometry.padding,
                               extra=geometry.extra)
    for i in range(geometry.kernel[0]):
        rows = _tap(i, 1, geometry.stride[0], geometry.out_shape[0])
        for j in range(geometry.kernel[1]):
            grad_padded[..., rows, _tap(j, 1, geometry.stride[1], geometry.out_shape[1])] += share
    (pad_h, pad_w), (height, width) = geometry.padding, input_shape[2:]
    return grad_padded[..., pad_h:pad_h + height, pad_w:pad_w + width]


def global_avg_pool2d_forward(x):
    """Mean over H and W: x (N, C, H, W) -> y (N, C, 1, 1)."""
    x = _float_array(x, "x")
    _check_rank4(x, "x")
    return x.mean(axis=(2, 3), keepdims=True)


def global_avg_pool2d_backward(grad_y, input_shape):
    """grad_y (N, C, 1, 1) / (H * W) broadcast to ``input_shape`` (N, C, H, W)."""
    grad_y = _float_array(grad_y, "grad_y")
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 4 or grad_y.shape != input_shape[:2] + (1, 1):
        raise ValueError(f"grad_y shape {grad_y.shape} must be (N, C, 1, 1) of input_shape "
                         f"{input_shape}")
    share = grad_y / grad_y.dtype.type(input_shape[2] * input_shape[3])
    return np.broadcast_to(share, input_shape).copy()


def _adaptive_output_shape(input_shape, output_size):
    """Validate an (N, C, H, W) input shape and output_size (an int or a pair; None keeps that
    input size); return (OH, OW)."""
    if len(input_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(input_shape)}")
    if input_shape[0] == 0 or 0 in input_shape[2:]:
        raise ValueError(f"x must be non-empty in N, H and W, got {tuple(input_shape)}")
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(size if out is None else out for out, size in zip(sizes, input_shape[2:]))
    if any(isinstance(out, bool) or not isinstance(out, (int, np.integer)) or out <= 0
           for out in sizes):
        raise ValueError(f"output_size must hold positive ints (or None), got {output_size!r}")
    return tuple(int(out) for out in sizes)


def _adaptive_bounds(size, out_size):
    """Window [start, end) of each output along one axis, as PyTorch defines them:
    start = floor(i * size / out), end = ceil((i + 1) * size / out)."""
    i = np.arange(out_size)
    return (i * size) // out_size, -((-(i + 1) * size) // out_size)


def _adaptive_mean_matrix(size, out_size, dtype):
    """(out_size, size) matrix whose row i averages window i; pooling is then A_h @ x @ A_w.T,
    the window mean being separable in rows and columns."""
    starts, ends = _adaptive_bounds(size, out_size)
    position = np.arange(size)
    inside = (position >= starts[:, None]) & (position < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(dtype)


def adaptive_avg_pool2d_forward(x, output_size):
    """Adaptive average pooling x (N, C, H, W) -> (N, C, OH, OW): output (i, j) is the mean of
    the rows [floor(i H / OH), ceil((i + 1) H / OH)) and the matching columns. output_size is an
    int or a pair; None in it keeps that input size. Windows may overlap (OH not dividing H)."""
    x = _float_array(x, "x")
    out_h, out_w = _adaptive_output_shape(x.shape, output_size)
    rows = _adaptive_mean_matrix(x.shape[2], out_h, x.dtype)
    cols = _adaptive_mean_matrix(x.shape[3], out_w, x.dtype)
    return rows @ x @ cols.T


def adaptive_avg_pool2d_backward(grad_y, input_shape, output_size):
    """Gradient of adaptive_avg_pool2d_forward: each grad_y / window size spread over its
    window (overlapping windows add up). Returns grad_x of shape ``input_shape``."""
    grad_y = _float_array(grad_y, "grad_y")
    input_shape = tuple(int(s) for s in input_shape)
    out_h, out_w = _adaptive_output_shape(input_shape, output_size)
    if grad_y.shape != input_shape[:2] + (out_h, out_w):
        raise ValueError(f"grad_y shape {grad_y.shape} must be "
                         f"{input_shape[:2] + (out_h, out_w)}")
    rows = _adaptive_mean_matrix(input_shape[2], out_h, grad_y.dtype)
    cols = _adaptive_mean_matrix(input_shape[3], out_w, grad_y.dtype)
    return rows.T @ grad_y @ cols


def _adaptive_taps(size, out_size):
    """(out_size, widest window) input positions of each window, clamped into range, and a mask
    of the positions that really belong to the window."""
    starts, ends = _adaptive_bounds(size, out_size)
    offsets = np.arange(int(np.max(ends - starts)))
    positions = starts[:, None] + offsets
    return np.minimum(positions, size - 1), positions < ends[:, None]


def adaptive_max_pool2d_forward(x, output_size):
    """Adaptive max pooling x (N, C, H, W) -> (y, indices), both (N, C, OH, OW), over the
    windows of adaptive_avg_pool2d_forward. indices (int64) are flat positions h * W + w within
    each (n, c) plane, so max_pool2d_backward computes the gradient. Ties pick the first
    maximum in row-major window order, a window with NaN its last NaN (as PyTorch on the CPU)."""
    x = _float_array(x, "x")
    out_h, out_w = _adaptive_output_shape(x.shape, output_size)
    width = x.shape[3]
    rows, row_valid = _adaptive_taps(x.shape[2], out_h)
    cols, col_valid = _adaptive_taps(width, out_w)
    # (OH, OW, KH, KW) grids of row and column positions, flattened to (OH, OW, KH * KW)
    row_grid, col_grid = rows[:, None, :, None], cols[None, :, None, :]
    window_shape = (out_h, out_w, -1)
    valid = (row_valid[:, None, :, None] & col_valid[None, :, None, :]).reshape(window_shape)
    index_windows = (row_grid * width + col_grid).reshape(window_shape)
    values = x[:, :, row_grid, col_grid].reshape(x.shape[:2] + valid.shape)
    values = np.where(valid, values, x.dtype.type(-np.inf))
    return _window_max(values, index_windows, valid)
