"""Activations and (log-)softmax: native float32 kernels with the signatures of
``hpnn.reference.activation``. Array arguments must be float32 ndarrays (other dtypes raise
TypeError naming the argument, see _checks.py); 0-d arrays are computed as one element. Calls
the native path cannot take otherwise (mismatched shapes, a bad axis or ``approximate``) go to
the reference only for it to raise its error. relu and leaky_relu take ``out=`` (which may be x
itself: the in-place ops write there directly)."""
import numpy as np

from .._C import kernels as _native
from ..reference import activation as _reference
from ._checks import Deferring, require_float32, require_real

# The numpy twins, for the calls the native path declines; their errors name the kernel.
_ref = Deferring(_reference)

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "gelu_forward",
    "gelu_backward", "softmax_forward", "softmax_backward", "log_softmax_forward",
    "log_softmax_backward",
]

# Op codes of hpnn::Activation (csrc/core/nn_args.h), exported by the extension.
_OPS = _native.op_codes["activation"]
_RELU, _LEAKY_RELU, _SIGMOID, _TANH = _OPS["relu"], _OPS["leaky_relu"], _OPS["sigmoid"], _OPS["tanh"]
_GELU, _GELU_TANH = _OPS["gelu"], _OPS["gelu_tanh"]
_GELU_CODES = {"none": _GELU, "tanh": _GELU_TANH}


def _at_least_1d(array):
    return array.reshape(1) if array.ndim == 0 else array


def _shaped_like(result, array):
    """result with array's shape: a 0-d view for a 0-d array, else result itself."""
    return result.reshape(()) if array.ndim == 0 else result


def _forward(fn, x, op, param=0.0, out=None):
    x = require_float32(fn, "x", x)
    if out is None:
        return _shaped_like(_native._activation_forward(_at_least_1d(x), op, param), x)
    out = require_float32(fn, "out", out)
    if out.shape != x.shape:
        raise ValueError(f"{fn}: argument 'out' must have x's shape {x.shape}, got {out.shape}")
    if _native._activation_forward(_at_least_1d(x), op, param, _at_least_1d(out)) is NotImplemented:
        np.copyto(out, _native._activation_forward(_at_least_1d(x), op, param).reshape(x.shape))
    return out


def _backward(fn, grad_y, saved, saved_name, op, param, reference, *args):
    grad_y = require_float32(fn, "grad_y", grad_y)
    saved = require_float32(fn, saved_name, saved)
    grad = _native._activation_backward(_at_least_1d(grad_y), _at_least_1d(saved), op, param)
    if grad is NotImplemented:  # shapes differ: the reference raises
        return reference(grad_y, saved, *args)
    return _shaped_like(grad, grad_y)


def _gelu_code(approximate):
    code = _GELU_CODES.get(approximate) if isinstance(approximate, str) else None
    if code is None:
        raise ValueError(f"gelu: argument 'approximate' must be 'none' or 'tanh', got "
                         f"{approximate!r}")
    return code


def relu_forward(x, out=None):
    return _forward("relu_forward", x, _RELU, out=out)


def relu_backward(grad_y, x):
    return _backward("relu_backward", grad_y, x, "x", _RELU, 0.0, _ref.relu_backward)


def leaky_relu_forward(x, negative_slope=0.01, out=None):
    slope = require_real("leaky_relu_forward", "negative_slope", negative_slope)
    return _forward("leaky_relu_forward", x, _LEAKY_RELU, slope, out)


def leaky_relu_backward(grad_y, x, negative_slope=0.01):
    slope = require_real("leaky_relu_backward", "negative_slope", negative_slope)
    return _backward("leaky_relu_backward", grad_y, x, "x", _LEAKY_RELU, slope,
                     _ref.leaky_relu_backward, negative_slope)


def sigmoid_forward(x):
    return _forward("sigmoid_forward", x, _SIGMOID)


def sigmoid_backward(grad_y, y):
    return _backward("sigmoid_backward", grad_y, y, "y", _SIGMOID, 0.0, _ref.sigmoid_backward)


def tanh_forward(x):
    return _forward("tanh_forward", x, _TANH)


def tanh_backward(grad_y, y):
    return _backward("tanh_backward", grad_y, y, "y", _TANH, 0.0, _ref.tanh_backward)


def gelu_forward(x, approximate="none"):
    return _forward("gelu_forward", x, _gelu_code(approximate))


def gelu_backward(grad_y, x, approximate="none"):
    return _backward("gelu_backward", grad_y, x, "x", _gelu_code(approximate), 0.0,
                     _ref.gelu_backward, approximate)


def _softmax(fn, x, axis, log, reference):
    y = _native._softmax_forward(require_float32(fn, "x", x), axis, log)
    return reference(x, axis) if y is NotImplemented else y  # 0-d, bad axis: it raises


def _softmax_grad(fn, grad_y, y, axis, log, reference):
    grad_y, y = require_float32(fn, "grad_y", grad_y), require_float32(fn, "y", y)
    grad = _native._softmax_backward(grad_y, y, axis, log)
    return reference(grad_y, y, axis) if grad is NotImplemented else grad


def softmax_forward(x, axis=-1):
    return _softmax("softmax_forward", x, axis, False, _ref.softmax_forward)


def softmax_backward(grad_y, y, axis=-1):
    return _softmax_grad("softmax_backward", grad_y, y, axis, False, _ref.softmax_backward)


def log_softmax_forward(x, axis=-1):
    return _softmax("log_softmax_forward", x, axis, True, _ref.log_softmax_forward)


def log_softmax_backward(grad_y, y, axis=-1):
    return _softmax_grad("log_softmax_backward", grad_y, y, axis, True,
                         _ref.log_softmax_backward)
