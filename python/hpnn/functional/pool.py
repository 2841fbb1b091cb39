"""Max, average and adaptive pooling over (N, C, H, W) or (C, H, W) input."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import kernel
from ..tensor import Tensor
from ._common import c32, pair, unbatched

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


def _check_input(input, name):
    if input.ndim not in (3, 4):
        raise ValueError(f"{name}: argument 'input' must be (N, C, H, W) or (C, H, W), got "
                         f"shape {tuple(input.shape)}")


def _pool_geometry(kernel_size, stride, padding):
    kernel_size = pair(kernel_size, "kernel_size")
    stride = kernel_size if stride is None or stride == [] else pair(stride, "stride")
    return kernel_size, stride, pair(padding, "padding")


class PickedMax(Function):
    """Pooled maxima already computed (``values``) at flat plane positions ``indices``;
    backward scatters the gradient back there."""

    def forward(self, x, values, indices):
        self.shape, self.indices = x.shape, indices
        return values

    def backward(self, grad):
        return kernel("max_pool2d_backward")(c32(grad), self.indices, self.shape)


def max_pool_forward(x, geometry, hidden_indices=True):
    """(values, indices) of max pooling the array x; indices the caller never sees are int32
    where planes allow: half the bytes to write and to read back in backward (memory-bound
    both ways)."""
    narrow = hidden_indices and x.shape[-2] * x.shape[-1] < 2**31
    return kernel("max_pool2d_forward")(c32(x), **geometry,
                                        index_dtype=np.int32 if narrow else np.int64)


def _max_pool2d(input, geometry, return_indices):
    values, indices = max_pool_forward(input._array, geometry, not return_indices)
    out = PickedMax.apply(input, values=values, indices=indices)
    return (out, Tensor._wrap(indices)) if return_indices else out


def max_pool_geometry(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """max_pool2d's window arguments, normalised as its kernel takes them."""
    kernel_size, stride, padding = _pool_geometry(kernel_size, stride, padding)
    return dict(kernel_size=kernel_size, stride=stride, padding=padding,
                dilation=pair(dilation, "dilation"), ceil_mode=bool(ceil_mode))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling; with return_indices also the int64 flat positions h * W + w of the
    maxima within each plane (as PyTorch)."""
    _check_input(input, "max_pool2d")
    geometry = max_pool_geometry(kernel_size, stride, padding, dilation, ceil_mode)
    return unbatched(_max_pool2d, input, 4, geometry, bool(return_indices))


class AvgPool2d(Function):
    def forward(self, x, **geometry):
        self.shape, self.geometry = x.shape, geometry
        return kernel("avg_pool2d_forward")(c32(x), **geometry)

    def backward(self, grad):
        return kernel("avg_pool2d_backward")(c32(grad), self.shape, **self.geometry)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    _check_input(input, "avg_pool2d")
    kernel_size, stride, padding = _pool_geometry(kernel_size, stride, padding)
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding,
                    ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad))
    if divisor_override is not None:
        geometry["divisor_override"] = divisor_override
    return unbatched(AvgPool2d.apply, input, 4, **geometry)


class GlobalAvgPool2d(Function):
    def forward(self, x):
        self.shape = x.shape
        return kernel("global_avg_pool2d_forward")(c32(x))

    def backward(self, grad):
        return kernel("global_avg_pool2d_backward")(c32(grad), self.shape)


def _adaptive_output_size(input, output_size, name):
    """(OH, OW) of an adaptive pool over (N, C, H, W) or (C, H, W) input; None keeps a size."""
    if input.ndim not in (3, 4):
        raise ValueError(f"{name}: argument 'input' must be (N, C, H, W) or (C, H, W), got "
                         f"shape {tuple(input.shape)}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"{name}: argument 'output_size' must be an int or a pair, got "
                         f"{output_size!r}")
    sizes = tuple(size if out is None else out for out, size in zip(sizes, input.shape[-2:]))
    if any(isinstance(out, bool) or not isinstance(out, (int, np.integer)) or out <= 0
           for out in sizes):
        raise ValueError(f"{name}: argument 'output_size' must hold positive ints (or None), "
                         f"got {output_size!r}")
    return tuple(int(out) for out in sizes)


def _even_window(input, output_size):
    """The kernel (= stride) of plain pooling equal to the adaptive one, or None when the
    output size does not divide the input size."""
    spatial = input.shape[-2:]
    if any(size % out for size, out in zip(spatial, output_size)):
        return None
    return tuple(size // out for size, out in zip(spatial, output_size))


class AdaptiveAvgPool2d(Function):
    def forward(self, x, output_size):
        self.shape, self.output_size = x.shape, output_size
        return kernel("adaptive_avg_pool2d_forward")(c32(x), output_size)

    def backward(self, grad):
        return kernel("adaptive_avg_pool2d_backward")(c32(grad), self.shape, self.output_size)


def _adaptive_avg_pool2d(input, output_size):
    if output_size == (1, 1):
        return GlobalAvgPool2d.apply(input)
    window = _even_window(input, output_size)
    if window is not None:
        return avg_pool2d(input, window, window)
    return AdaptiveAvgPool2d.apply(input, output_size=output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to ``output_size`` (an int or a pair; None keeps that input size).
    Output (i, j) averages rows [floor(i H / OH), ceil((i + 1) H / OH)) and the matching
    columns, as in PyTorch; windows overlap when OH does not divide H."""
    output_size = _adaptive_output_size(input, output_size, "adaptive_avg_pool2d")
    return unbatched(_adaptive_avg_pool2d, input, 4, output_size)


def _adaptive_max_pool2d(input, output_size, return_indices):
    window = _even_window(input, output_size)
    if window is None:
        values, indices = kernel("adaptive_max_pool2d_forward")(c32(input._array), output_size)
    else:
        values, indices = kernel("max_pool2d_forward")(
            c32(input._array), kernel_size=window, stride=window, padding=(0, 0),
            dilation=(1, 1), ceil_mode=False)
    out = PickedMax.apply(input, values=values, indices=indices)
    return (out, Tensor._wrap(indices)) if return_indices else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling over the windows of adaptive_avg_pool2d. With return_indices, also the
    int64 flat positions h * W + w of the maxima within each plane (as PyTorch)."""
    output_size = _adaptive_output_size(input, output_size, "adaptive_max_pool2d")
    return unbatched(_adaptive_max_pool2d, input, 4, output_size, bool(return_indices))
