"""Pooling kernels: the signatures and argument rules of hpnn.reference.pool (shared helpers
validate the hyper-parameters and size the outputs), native float32 compute.

Inputs must be float32 (other dtypes raise TypeError naming the argument); any strides work.
"""
import numpy as np

from .._C import kernels as _native
from ..reference.pool import _index_dtype, _pool_geometry
from ._memo import memoized

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward", "global_avg_pool2d_forward", "global_avg_pool2d_backward"]


@memoized
def _geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode):
    """(kh, kw, sh, sw, ph, pw, dh, dw, oh, ow), validated by the reference's rules."""
    g = _pool_geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode)
    return g.kernel + g.stride + g.padding + g.dilation + g.out_shape


def _shape_of(x, name):
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"{name} must be a float32 numpy.ndarray, got {type(x).__name__}")
    return shape


def _divisor(divisor_override):
    """0 for none, else the positive int (the reference's checks and messages)."""
    if divisor_override is None:
        return 0
    if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)):
        raise TypeError(f"divisor_override must be an int, got {divisor_override!r}")
    if divisor_override <= 0:
        raise ValueError(f"divisor_override must be positive, got {divisor_override}")
    return int(divisor_override)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                       index_dtype=np.int64):
    """Max pooling of x (N, C, H, W) -> (y float32, indices), both (N, C, OH, OW); indices are
    flat positions h * W + w within each plane (PyTorch's convention), int64 or (index_dtype)
    int32, which halves their memory traffic. Ties pick the first maximum in window order, a
    window with NaN its last NaN."""
    int32_indices = _index_dtype(index_dtype) == np.int32
    geometry = _geometry(_shape_of(x, "x"), kernel_size, stride, padding, dilation, ceil_mode)
    return _native.max_pool2d_forward(x, geometry, int32_indices)


def max_pool2d_backward(grad_y, indices, input_shape, relu_output=None):
    """grad_y (N, C, OH, OW) accumulated into a new grad_x of ``input_shape`` at ``indices``
    (int32 or int64; other integer types are converted). With ``relu_output`` (the pooled
    output of relu'd values, grad_y's shape), grad_y passes only where it is > 0: a ReLU in
    front of the pool, its backward folded into the pool's."""
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be an integer array, got {indices.dtype}")
    if indices.dtype != np.int32:
        indices = np.ascontiguousarray(indices, dtype=np.int64)
    return _native.max_pool2d_backward(grad_y, indices, tuple(int(s) for s in input_shape),
                                       relu_output)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """Average pooling of x (N, C, H, W) -> y (N, C, OH, OW), PyTorch's divisor rules."""
    geometry = _geometry(_shape_of(x, "x"), kernel_size, stride, padding, 1, ceil_mode)
    return _native.avg_pool2d_forward(x, geometry, bool(count_include_pad),
                                      _divisor(divisor_override))


def avg_pool2d_backward(grad_y, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d_forward: grad_x of ``input_shape``."""
    input_shape = tuple(int(s) for s in input_shape)
    geometry = _geometry(input_shape, kernel_size, stride, padding, 1, ceil_mode)
    return _native.avg_pool2d_backward(grad_y, input_shape, geometry, bool(count_include_pad),
                                       _divisor(divisor_override))


def global_avg_pool2d_forward(x):
    """Mean over H and W: x (N, C, H, W) -> y (N, C, 1, 1)."""
    return _native.global_avg_pool2d_forward(x)


def global_avg_pool2d_backward(grad_y, input_shape):
    """grad_y (N, C, 1, 1) / (H * W) broadcast to a new array of ``input_shape``."""
    return _native.global_avg_pool2d_backward(grad_y, tuple(int(s) for s in input_shape))
