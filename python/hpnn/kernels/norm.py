"""Batch-norm kernels: the signatures and argument rules of hpnn.reference.norm (its helpers
validate), native float32 compute on x viewed as (N, C, S).

Every array argument (x, grad_y, weight, bias, the running and saved statistics) must be
float32, as for every hpnn.kernels function: other dtypes raise TypeError naming the argument
(see _checks.py; hpnn.reference.norm, the numpy twin, also computes in other float dtypes).
Running statistics are updated in place (float32 C-contiguous ones directly, strided ones
through a copy written back).
"""
import math

import numpy as np

from .._C import kernels as _native
from ..reference.norm import _channel_vector, _check_eps, _input, _running_buffer
from ._checks import require_float32, require_float32_or_none

__all__ = ["batch_norm_forward_train", "batch_norm_forward_eval", "batch_norm_backward"]


def _flat(x):
    """(N, C, ...) -> (N, C, S); a view when x is contiguous."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def _vector(fn, value, channels, name):
    return _channel_vector(require_float32_or_none(fn, name, value), channels, name, np.float32)


def _native_buffer(buffer):
    """The float32 contiguous array the kernel updates: the buffer itself when possible."""
    if buffer is None or (buffer.flags.c_contiguous and buffer.flags.writeable):
        return buffer
    return np.ascontiguousarray(buffer)


def batch_norm_forward_train(x, weight, bias, running_mean, running_var, momentum=0.1,
                             eps=1e-5):
    """Normalise with the batch statistics; returns (y, save_mean, save_invstd), float32.
    running_mean / running_var (C,), if given, are updated in place with the unbiased
    variance, as in PyTorch. See hpnn.reference.batch_norm_forward_train."""
    fn = "batch_norm_forward_train"
    x = _input(require_float32(fn, "x", x))
    _check_eps(eps)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    channels = x.shape[1]
    weight, bias = _vector(fn, weight, channels, "weight"), _vector(fn, bias, channels, "bias")
    running = [_running_buffer(require_float32_or_none(fn, n, b), channels, n) for b, n in
               ((running_mean, "running_mean"), (running_var, "running_var"))]
    if x.shape[0] * math.prod(x.shape[2:]) <= 1:  # not x.size // channels: C may be 0
        raise ValueError(f"x needs more than 1 value per channel in training, got shape {x.shape}")
    native = [_native_buffer(b) for b in running]
    y, mean, invstd = _native.batch_norm_forward_train(_flat(x), weight, bias, native[0],
                                                       native[1], float(momentum), float(eps))
    for buffer, updated in zip(running, native):
        if buffer is not updated:
            buffer[...] = updated
    return y.reshape(x.shape), mean, invstd


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps=1e-5):
    """y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, float32."""
    fn = "batch_norm_forward_eval"
    x = _input(require_float32(fn, "x", x))
    _check_eps(eps)
    if running_mean is None or running_var is None:
        raise ValueError("running_mean and running_var are required in eval mode")
    channels = x.shape[1]
    y = _native.batch_norm_forward_eval(
        _flat(x), _vector(fn, weight, channels, "weight"), _vector(fn, bias, channels, "bias"),
        _vector(fn, running_mean, channels, "running_mean"),
        _vector(fn, running_var, channels, "running_var"), float(eps))
    return y.reshape(x.shape)


def batch_norm_backward(grad_y, x, weight, save_mean, save_invstd):
    """Gradients of batch_norm_forward_train -> (grad_x, grad_weight, grad_bias); the last two
    are None when weight is None (affine off)."""
    fn = "batch_norm_backward"
    grad_y = require_float32(fn, "grad_y", grad_y)
    x = _input(require_float32(fn, "x", x))
    if grad_y.shape != x.shape:
        raise ValueError(f"grad_y shape {grad_y.shape} does not match x shape {x.shape}")
    channels = x.shape[1]
    grad_x, grad_weight, grad_bias = _native.batch_norm_backward(
        _flat(grad_y), _flat(x), _vector(fn, weight, channels, "weight"),
        _vector(fn, save_mean, channels, "save_mean"),
        _vector(fn, save_invstd, channels, "save_invstd"))
    return grad_x.reshape(x.shape), grad_weight, grad_bias
