"""Layer and group normalisation, PyTorch semantics.

Layer norm normalises each sample over its trailing ``normalized_shape`` dims; group norm over
(N, C, *) normalises each of a sample's ``num_groups`` groups of C / G channels. Both use the
biased variance: mean = E[x], rstd = 1 / sqrt(E[(x - mean)^2] + eps), x_hat = (x - mean) * rstd.
Layer norm's weight and bias have ``normalized_shape`` (one per element), group norm's (C,).

Backward, with g = grad_y * weight and means over the normalised values:
grad_x = rstd * (g - E[g] - x_hat * E[g * x_hat]); grad_weight sums grad_y * x_hat and
grad_bias sums grad_y over everything but the parameter's own axes.
"""
import numbers

import numpy as np

from .activation import _check_same_shape, _float_array


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        return (int(normalized_shape),)
    try:
        shape = tuple(int(d) for d in normalized_shape)
    except TypeError:
        raise TypeError(f"normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    return shape


def _layer_input(x, normalized_shape, name="x"):
    """x as a float array and normalized_shape as a non-empty tuple of its trailing dims."""
    x = _float_array(x, name)
    shape = _shape_tuple(normalized_shape)
    if not shape or x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"normalized_shape {shape} must be the trailing dims of {name}, "
                         f"whose shape is {x.shape}")
    if 0 in shape:
        raise ValueError(f"normalized_shape {shape} has no values to normalise")
    return x, shape


def _param(value, shape, name, dtype):
    if value is None:
        return None
    value = _float_array(value, name)
    if value.shape != tuple(shape):
        raise ValueError(f"{name} shape {value.shape} must be {tuple(shape)}")
    return value.astype(dtype, copy=False)


def _check_eps(eps):
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")


def _stat(value, shape, name, dtype):
    if value is None:
        raise ValueError(f"{name} is required")
    value = _float_array(value, name)
    if value.size != int(np.prod(shape)):
        raise ValueError(f"{name} has {value.size} values, expected shape {tuple(shape)}")
    return value.reshape(shape).astype(dtype, copy=False)


def _normalise(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + x.dtype.type(eps))
    return centred * rstd, mean, rstd


def _input_gradient(g, x_hat, rstd, axes):
    mean_g = g.mean(axis=axes, keepdims=True)
    mean_gx = (g * x_hat).mean(axis=axes, keepdims=True)
    return rstd * (g - mean_g - x_hat * mean_gx)


def layer_norm_forward(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """-> (y, mean, rstd); mean and rstd have x's leading shape (x.shape[:-k])."""
    x, shape = _layer_input(x, normalized_shape)
    _check_eps(eps)
    weight = _param(weight, shape, "weight", x.dtype)
    bias = _param(bias, shape, "bias", x.dtype)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y, mean, rstd = _normalise(x, axes, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    lead = x.shape[:x.ndim - len(shape)]
    return y.astype(x.dtype, copy=False), mean.reshape(lead), rstd.reshape(lead)


def layer_norm_backward(grad_y, x, normalized_shape, weight, mean, rstd, param_grads=True):
    """-> (grad_x, grad_weight, grad_bias); the last two (normalized_shape each) are None
    unless param_grads (grad_weight is then the gradient of a weight of ones if weight is
    None)."""
    x, shape = _layer_input(x, normalized_shape)
    grad_y = _float_array(grad_y, "grad_y")
    _check_same_shape(x, grad_y, "x", "grad_y")
    k = len(shape)
    lead = x.shape[:x.ndim - k]
    stat_shape = lead + (1,) * k
    mean = _stat(mean, stat_shape, "mean", x.dtype)
    rstd = _stat(rstd, stat_shape, "rstd", x.dtype)
    weight = _param(weight, shape, "weight", x.dtype)
    axes = tuple(range(x.ndim - k, x.ndim))
    x_hat = (x - mean) * rstd
    g = grad_y if weight is None else grad_y * weight
    grad_x = _input_gradient(g, x_hat, rstd, axes).astype(x.dtype, copy=False)
    if not param_grads:
        return grad_x, None, None
    outer = tuple(range(x.ndim - k))
    return grad_x, (grad_y * x_hat).sum(axis=outer), grad_y.sum(axis=outer)


def _group_input(x, num_groups, name="x"):
    x = _float_array(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name} must have shape (N, C, *), got {x.shape}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"num_groups must be an int, got {num_groups!r}")
    if num_groups < 1 or x.shape[1] % num_groups:
        raise ValueError(f"num_groups ({num_groups}) must be positive and divide the "
                         f"{x.shape[1]} channels of {name}")
    if x.size == 0 and x.shape[0] != 0:
        raise ValueError(f"{name} of shape {x.shape} has no values to normalise")
    return x, int(num_groups)


def _per_channel(vector, ndim):
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def group_norm_forward(x, num_groups, weight=None, bias=None, eps=1e-5):
    """-> (y, mean, rstd) with mean and rstd of shape (N, num_groups)."""
    x, groups = _group_input(x, num_groups)
    _check_eps(eps)
    channels = x.shape[1]
    weight = _param(weight, (channels,), "weight", x.dtype)
    bias = _param(bias, (channels,), "bias", x.dtype)
    grouped = x.reshape(x.shape[0], groups, -1)
    x_hat, mean, rstd = _normalise(grouped, (2,), eps)
    y = x_hat.reshape(x.shape)
    if weight is not None:
        y = y * _per_channel(weight, x.ndim)
    if bias is not None:
        y = y + _per_channel(bias, x.ndim)
    return y.astype(x.dtype, copy=False), mean[:, :, 0], rstd[:, :, 0]


def group_norm_backward(grad_y, x, num_groups, weight, mean, rstd, param_grads=True):
    """-> (grad_x, grad_weight, grad_bias); the last two ((C,) each) are None unless
    param_grads."""
    x, groups = _group_input(x, num_groups)
    grad_y = _float_array(grad_y, "grad_y")
    _check_same_shape(x, grad_y, "x", "grad_y")
    n, channels = x.shape[0], x.shape[1]
    mean = _stat(mean, (n, groups, 1), "mean", x.dtype)
    rstd = _stat(rstd, (n, groups, 1), "rstd", x.dtype)
    weight = _param(weight, (channels,), "weight", x.dtype)
    x_hat = ((x.reshape(n, groups, -1) - mean) * rstd).reshape(x.shape)
    g = grad_y if weight is None else grad_y * _per_channel(weight, x.ndim)
    grad_x = _input_gradient(g.reshape(n, groups, -1), x_hat.reshape(n, groups, -1), rstd, (2,))
    grad_x = grad_x.reshape(x.shape).astype(x.dtype, copy=False)
    if not param_grads:
        return grad_x, None, None
    axes = (0,) + tuple(range(2, x.ndim))
    return grad_x, (grad_y * x_hat).sum(axis=axes), grad_y.sum(axis=axes)
