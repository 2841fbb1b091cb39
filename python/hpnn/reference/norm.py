"""Batch normalisation over the channel axis 1, PyTorch semantics.

x is (N, C) or (N, C, *spatial); statistics are per channel over every other axis, so a
channel has M = N * prod(spatial) values. Per-channel vectors (weight, bias, running stats,
save_mean, save_invstd) have shape (C,).
"""
import numpy as np

from .activation import _check_same_shape, _float_array


def _input(x, name="x"):
    x = _float_array(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name} must have shape (N, C) or (N, C, ...), got {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    return x


def _channel_vector(value, channels, name, dtype):
    """``value`` as a (C,) array of ``dtype`` (None stays None)."""
    if value is None:
        return None
    value = _float_array(value, name)
    if value.shape != (channels,):
        raise ValueError(f"{name} shape {value.shape} must be ({channels},)")
    return value.astype(dtype, copy=False)


def _broadcast(vector, ndim):
    """(C,) -> (1, C, 1, ...) to broadcast against an ndim-dimensional input."""
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def _values_per_channel(x):
    """N * spatial size: the values each channel's statistics run over (C may be 0)."""
    return x.shape[0] * int(np.prod(x.shape[2:], dtype=np.int64))


def _reduce_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _check_eps(eps):
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")


def _affine(x_hat, weight, bias):
    if weight is not None:
        x_hat = x_hat * _broadcast(weight, x_hat.ndim)
    if bias is not None:
        x_hat = x_hat + _broadcast(bias, x_hat.ndim)
    return x_hat


def _running_buffer(buffer, channels, name):
    """Running statistics are updated in place, so they must be writable ndarrays."""
    if buffer is None:
        return None
    if not isinstance(buffer, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (it is updated in place)")
    _channel_vector(buffer, channels, name, buffer.dtype)
    return buffer


def batch_norm_forward_train(x, weight, bias, running_mean, running_var, momentum=0.1,
                             eps=1e-5):
    """Normalise with the batch statistics; returns (y, save_mean, save_invstd).

    mean and biased variance are computed per channel in two passes (centred), so inputs with
    a large mean keep their precision; invstd = 1 / sqrt(var + eps);
    y = (x - mean) * invstd * weight + bias (weight/bias None = affine off).
    If given, running_mean and running_var (C,) are updated in place:
    running = (1 - momentum) * running + momentum * stat, using the unbiased variance
    var * M / (M - 1) for running_var. M must be > 1, as PyTorch requires in training.
    """
    x = _input(x)
    _check_eps(eps)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    channels, dtype = x.shape[1], x.dtype
    weight = _channel_vector(weight, channels, "weight", dtype)
    bias = _channel_vector(bias, channels, "bias", dtype)
    running_mean = _running_buffer(running_mean, channels, "running_mean")
    running_var = _running_buffer(running_var, channels, "running_var")
    count = _values_per_channel(x)
    if count <= 1:
        raise ValueError(f"x needs more than 1 value per channel in training, got shape {x.shape}")
    axes = _reduce_axes(x)
    mean = x.mean(axis=axes)
    centered = x - _broadcast(mean, x.ndim)
    var = np.mean(centered * centered, axis=axes)
    invstd = dtype.type(1) / np.sqrt(var + dtype.type(eps))
    if running_mean is not None:
        running_mean[...] = (1 - momentum) * running_mean + momentum * mean
    if running_var is not None:
        running_var[...] = (1 - momentum) * running_var + momentum * var * (count / (count - 1))
    y = _affine(centered * _broadcast(invstd, x.ndim), weight, bias)
    return y, mean, invstd


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps=1e-5):
    """Normalise with the running statistics:
    y = (x - running_mean) / sqrt(running_var + eps) * weight + bias."""
    x = _input(x)
    _check_eps(eps)
    channels, dtype = x.shape[1], x.dtype
    if running_mean is None or running_var is None:
        raise ValueError("running_mean and running_var are required in eval mode")
    running_mean = _channel_vector(running_mean, channels, "running_mean", dtype)
    running_var = _channel_vector(running_var, channels, "running_var", dtype)
    invstd = dtype.type(1) / np.sqrt(running_var + dtype.type(eps))
    x_hat = (x - _broadcast(running_mean, x.ndim)) * _broadcast(invstd, x.ndim)
    return _affine(x_hat, _channel_vector(weight, channels, "weight", dtype),
                   _channel_vector(bias, channels, "bias", dtype))


def batch_norm_backward(grad_y, x, weight, save_mean, save_invstd):
    """Gradients of batch_norm_forward_train -> (grad_x, grad_weight, grad_bias).

    With x_hat = (x - mean) * invstd, sums over the M values of a channel:
    grad_bias = sum(grad_y); grad_weight = sum(grad_y * x_hat);
    grad_x = weight * invstd * (grad_y - grad_bias / M - x_hat * grad_weight / M).
    grad_weight and grad_bias are None when weight is None (affine off).
    """
    x = _input(x)
    grad_y = _float_array(grad_y, "grad_y")
    _check_same_shape(x, grad_y, "x", "grad_y")
    channels, dtype, ndim = x.shape[1], x.dtype, x.ndim
    mean = _channel_vector(save_mean, channels, "save_mean", dtype)
    invstd = _channel_vector(save_invstd, channels, "save_invstd", dtype)
    weight_vector = _channel_vector(weight, channels, "weight", dtype)
    axes = _reduce_axes(x)
    count = dtype.type(_values_per_channel(x))
    x_hat = (x - _broadcast(mean, ndim)) * _broadcast(invstd, ndim)
    grad_bias = grad_y.sum(axis=axes)
    grad_weight = np.sum(grad_y * x_hat, axis=axes)
    scale = invstd if weight_vector is None else weight_vector * invstd
    grad_x = _broadcast(scale, ndim) * (grad_y - _broadcast(grad_bias / count, ndim)
                                        - x_hat * _broadcast(grad_weight / count, ndim))
    if weight is None:
        return grad_x.astype(dtype, copy=False), None, None
    return grad_x.astype(dtype, copy=False), grad_weight, grad_bias
