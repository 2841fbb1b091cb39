"""Activations and (log-)softmax: native float32 kernels with the signatures of
``hpnn.reference.activation``. Anything the native path does not take (other dtypes, 0-d
arrays, mismatched shapes, bad arguments) is handed to the reference, so results, dtypes and
exceptions match it exactly."""
import numbers

from .._C import kernels as _native
from ..reference import activation as _ref

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "gelu_forward",
    "gelu_backward", "softmax_forward", "softmax_backward", "log_softmax_forward",
    "log_softmax_backward",
]

# Op codes of hpnn::Activation (csrc/core/nn_args.h).
_RELU, _LEAKY_RELU, _SIGMOID, _TANH, _GELU, _GELU_TANH = range(6)
_GELU_CODES = {"none": _GELU, "tanh": _GELU_TANH}
_forward, _backward = _native._activation_forward, _native._activation_backward


def _float_param(value):
    """value as a float for the native call, or None when the reference should judge it."""
    return None if isinstance(value, bool) or not isinstance(value, numbers.Real) else float(value)


def relu_forward(x):
    y = _forward(x, _RELU, 0.0)
    return _ref.relu_forward(x) if y is NotImplemented else y


def relu_backward(grad_y, x):
    g = _backward(grad_y, x, _RELU, 0.0)
    return _ref.relu_backward(grad_y, x) if g is NotImplemented else g


def leaky_relu_forward(x, negative_slope=0.01):
    slope = _float_param(negative_slope)
    y = NotImplemented if slope is None else _forward(x, _LEAKY_RELU, slope)
    return _ref.leaky_relu_forward(x, negative_slope) if y is NotImplemented else y


def leaky_relu_backward(grad_y, x, negative_slope=0.01):
    slope = _float_param(negative_slope)
    g = NotImplemented if slope is None else _backward(grad_y, x, _LEAKY_RELU, slope)
    return _ref.leaky_relu_backward(grad_y, x, negative_slope) if g is NotImplemented else g


def sigmoid_forward(x):
    y = _forward(x, _SIGMOID, 0.0)
    return _ref.sigmoid_forward(x) if y is NotImplemented else y


def sigmoid_backward(grad_y, y):
    g = _backward(grad_y, y, _SIGMOID, 0.0)
    return _ref.sigmoid_backward(grad_y, y) if g is NotImplemented else g


def tanh_forward(x):
    y = _forward(x, _TANH, 0.0)
    return _ref.tanh_forward(x) if y is NotImplemented else y


def tanh_backward(grad_y, y):
    g = _backward(grad_y, y, _TANH, 0.0)
    return _ref.tanh_backward(grad_y, y) if g is NotImplemented else g


def gelu_forward(x, approximate="none"):
    code = _GELU_CODES.get(approximate) if isinstance(approximate, str) else None
    y = NotImplemented if code is None else _forward(x, code, 0.0)
    return _ref.gelu_forward(x, approximate) if y is NotImplemented else y


def gelu_backward(grad_y, x, approximate="none"):
    code = _GELU_CODES.get(approximate) if isinstance(approximate, str) else None
    g = NotImplemented if code is None else _backward(grad_y, x, code, 0.0)
    return _ref.gelu_backward(grad_y, x, approximate) if g is NotImplemented else g


def softmax_forward(x, axis=-1):
    y = _native._softmax_forward(x, axis, False)
    return _ref.softmax_forward(x, axis) if y is NotImplemented else y


def softmax_backward(grad_y, y, axis=-1):
    g = _native._softmax_backward(grad_y, y, axis, False)
    return _ref.softmax_backward(grad_y, y, axis) if g is NotImplemented else g


def log_softmax_forward(x, axis=-1):
    y = _native._softmax_forward(x, axis, True)
    return _ref.log_softmax_forward(x, axis) if y is NotImplemented else y


def log_softmax_backward(grad_y, y, axis=-1):
    g = _native._softmax_backward(grad_y, y, axis, True)
    return _ref.log_softmax_backward(grad_y, y, axis) if g is NotImplemented else g
