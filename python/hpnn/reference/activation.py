"""Elementwise activations and (log-)softmax, PyTorch semantics.

Every function works on arrays of any shape and computes in the input's floating dtype
(float32 or float64). This module also holds the small argument checks shared by the other
reference modules.
"""
import math

import numpy as np

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_COEFF = 0.044715
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _float_array(value, name):
    """``value`` as a floating ndarray; TypeError naming ``name`` otherwise."""
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be a floating-point array, got dtype {array.dtype}")
    return array


def _check_same_shape(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError(f"{name_b} shape {b.shape} does not match {name_a} shape {a.shape}")


def _check_axis(axis, ndim, name="axis"):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of rank {ndim}")


def _grad_and_saved(grad_y, saved, saved_name):
    """Validate a backward's gradient and the forward tensor it was saved with."""
    grad_y = _float_array(grad_y, "grad_y")
    saved = _float_array(saved, saved_name)
    _check_same_shape(saved, grad_y, saved_name, "grad_y")
    return grad_y, saved


def _into(out, result):
    """result, or (out given) result written into out, which is returned."""
    if out is None:
        return result
    out = _float_array(out, "out")
    _check_same_shape(result, out, "x", "out")
    np.copyto(out, result)
    return out


def relu_forward(x, out=None):
    """max(x, 0) elementwise; NaN propagates. Written into ``out`` when given (may be x)."""
    x = _float_array(x, "x")
    return _into(out, np.maximum(x, x.dtype.type(0)))


def relu_backward(grad_y, x):
    """grad_y where x > 0, else 0 (the gradient at exactly 0 is 0, as in PyTorch)."""
    grad_y, x = _grad_and_saved(grad_y, x, "x")
    return np.where(x > 0, grad_y, grad_y.dtype.type(0))


def leaky_relu_forward(x, negative_slope=0.01, out=None):
    """x where x > 0, else negative_slope * x. Written into ``out`` when given (may be x)."""
    x = _float_array(x, "x")
    return _into(out, np.where(x > 0, x, x * x.dtype.type(negative_slope)))


def leaky_relu_backward(grad_y, x, negative_slope=0.01):
    """grad_y where x > 0, else negative_slope * grad_y."""
    grad_y, x = _grad_and_saved(grad_y, x, "x")
    return np.where(x > 0, grad_y, grad_y * grad_y.dtype.type(negative_slope))


def sigmoid_forward(x):
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|."""
    x = _float_array(x, "x")
    exp_neg_abs = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    return np.where(x >= 0, one / (one + exp_neg_abs), exp_neg_abs / (one + exp_neg_abs))


def sigmoid_backward(grad_y, y):
    """grad_y * y * (1 - y), where y is the forward output."""
    grad_y, y = _grad_and_saved(grad_y, y, "y")
    return grad_y * (y.dtype.type(1) - y) * y


def tanh_forward(x):
    """tanh(x) elementwise."""
    return np.tanh(_float_array(x, "x"))


def tanh_backward(grad_y, y):
    """grad_y * (1 - y**2), where y is the forward output."""
    grad_y, y = _grad_and_saved(grad_y, y, "y")
    return grad_y * (y.dtype.type(1) - y * y)


def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def _gelu_tanh_inner(x64):
    return _SQRT_2_OVER_PI * (x64 + _GELU_TANH_COEFF * x64**3)


def gelu_forward(x, approximate="none"):
    """GELU. 'none': x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
    'tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Evaluated in float64, returned
    in the input dtype."""
    x = _float_array(x, "x")
    _check_approximate(approximate)
    x64 = x.astype(np.float64)
    if approximate == "tanh":
        y = 0.5 * x64 * (1.0 + np.tanh(_gelu_tanh_inner(x64)))
    else:
        y = 0.5 * x64 * (1.0 + _erf(x64 / math.sqrt(2.0)))
    return y.astype(x.dtype)


def gelu_backward(grad_y, x, approximate="none"):
    """grad_y * d gelu(x) / dx for the same ``approximate`` as the forward."""
    grad_y, x = _grad_and_saved(grad_y, x, "x")
    _check_approximate(approximate)
    x64 = x.astype(np.float64)
    if approximate == "tanh":
        t = np.tanh(_gelu_tanh_inner(x64))
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_COEFF * x64**2)
        derivative = 0.5 * (1.0 + t) + 0.5 * x64 * (1.0 - t * t) * d_inner
    else:
        cdf = 0.5 * (1.0 + _erf(x64 / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
        derivative = cdf + x64 * pdf
    return (grad_y.astype(np.float64) * derivative).astype(grad_y.dtype)


def _shifted(x, axis):
    """x minus its max along axis (the max of an all -inf slice is replaced by 0)."""
    x_max = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(x_max), x_max, x.dtype.type(0))


def _softmax_input(x, axis):
    x = _float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension")
    _check_axis(axis, x.ndim)
    return x


def softmax_forward(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max for stability."""
    x = _softmax_input(x, axis)
    exp_x = np.exp(_shifted(x, axis))
    return exp_x / np.sum(exp_x, axis=axis, keepdims=True)


def softmax_backward(grad_y, y, axis=-1):
    """y * (grad_y - sum(grad_y * y, axis)), where y is the softmax output."""
    grad_y, y = _grad_and_saved(grad_y, y, "y")
    _softmax_input(y, axis)
    return y * (grad_y - np.sum(grad_y * y, axis=axis, keepdims=True))


def log_softmax_forward(x, axis=-1):
    """x - logsumexp(x, axis), shifted by the max for stability."""
    x = _softmax_input(x, axis)
    shifted = _shifted(x, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(grad_y, y, axis=-1):
    """grad_y - exp(y) * sum(grad_y, axis), where y is the log-softmax output."""
    grad_y, y = _grad_and_saved(grad_y, y, "y")
    _softmax_input(y, axis)
    return grad_y - np.exp(y) * np.sum(grad_y, axis=axis, keepdims=True)
