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


def _or_reference(result, reference, *args):
    """The native result, or reference(*args) where the native path returned NotImplemented."""
    return reference(*args) if result is NotImplemented else result


def relu_forward(x):
    return _or_reference(_forward(x, _RELU, 0.0), _ref.relu_forward, x)


def relu_backward(grad_y, x):
    return _or_reference(_backward(grad_y, x, _RELU, 0.0), _ref.relu_backward, grad_y, x)


def leaky_relu_forward(x, negative_slope=0.01):
    slope = _float_param(negative_slope)
    y = NotImplemented if slope is None else _forward(x, _LEAKY_RELU, slope)
    return _or_reference(y, _ref.leaky_relu_forward, x, negative_slope)


def leaky_relu_backward(grad_y, x, negative_slope=0.01):
    slope = _float_param(negative_slope)
    g = NotImplemented if slope is None else _backward(grad_y, x, _LEAKY_RELU, slope)
    return _or_reference(g, _ref.leaky_relu_backward, grad_y, x, negative_slope)


def sigmoid_forward(x):
    return _or_reference(_forward(x, _SIGMOID, 0.0), _ref.sigmoid_forward, x)


def sigmoid_backward(grad_y, y):
    return _or_reference(_backward(grad_y, y, _SIGMOID, 0.0), _ref.sigmoid_backward, grad_y, y)


def tanh_forward(x):
    return _or_reference(_forward(x, _TANH, 0.0), _ref.tanh_forward, x)


def tanh_backward(grad_y, y):
    return _or_reference(_backward(grad_y, y, _TANH, 0.0), _ref.tanh_backward, grad_y, y)


def gelu_forward(x, approximate="none"):
    code = _GELU_CODES.get(approximate) if isinstance(approximate, str) else None
    y = NotImplemented if code is None else _forward(x, code, 0.0)
    return _or_reference(y, _ref.gelu_forward, x, approximate)


def gelu_backward(grad_y, x, approximate="none"):
    code = _GELU_CODES.get(approximate) if isinstance(approximate, str) else None
    g = NotImplemented if code is None else _backward(grad_y, x, code, 0.0)
    return _or_reference(g, _ref.gelu_backward, grad_y, x, approximate)


def softmax_forward(x, axis=-1):
    return _or_reference(_native._softmax_forward(x, axis, False), _ref.softmax_forward, x, axis)


def softmax_backward(grad_y, y, axis=-1):
    g = _native._softmax_backward(grad_y, y, axis, False)
    return _or_reference(g, _ref.softmax_backward, grad_y, y, axis)


def log_softmax_forward(x, axis=-1):
    return _or_reference(_native._softmax_forward(x, axis, True), _ref.log_softmax_forward, x, axis)


def log_softmax_backward(grad_y, y, axis=-1):
    g = _native._softmax_backward(grad_y, y, axis, True)
    return _or_reference(g, _ref.log_softmax_backward, grad_y, y, axis)
