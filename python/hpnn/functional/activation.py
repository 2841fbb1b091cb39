"""Activations and softmax: each op's forward and backward call the ``<name>_forward`` /
``<name>_backward`` kernels."""
from __future__ import annotations

import warnings

from ..autograd import Function
from ..backend import kernel
from ._common import c32

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax"]


class _Activation(Function):
    """y = <name>_forward(x, **options); backward gets x, or y when ``saves_output``."""

    forward_kernel = backward_kernel = ""
    saves_output = False

    def forward(self, x, **options):
        y = kernel(self.forward_kernel)(x, **options)
        self.saved, self.options = (y if self.saves_output else x), options
        return y

    def backward(self, grad):
        return kernel(self.backward_kernel)(c32(grad), self.saved, **self.options)


def _activation(name, saves_output=False):
    attrs = dict(forward_kernel=f"{name}_forward", backward_kernel=f"{name}_backward",
                 saves_output=saves_output)
    return type(name.title().replace("_", ""), (_Activation,), attrs)


ReLU, LeakyReLU, GELU = _activation("relu"), _activation("leaky_relu"), _activation("gelu")
Sigmoid, Tanh = _activation("sigmoid", True), _activation("tanh", True)
Softmax, LogSoftmax = _activation("softmax", True), _activation("log_softmax", True)


# ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor.
def relu(input, inplace=False):
    return ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def sigmoid(input):
    return Sigmoid.apply(input)


def tanh(input):
    return Tanh.apply(input)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: argument 'approximate' must be 'none' or 'tanh', got "
                         f"{approximate!r}")
    return GELU.apply(input, approximate=approximate)


def _softmax_dim(name, ndim, dim):
    """``dim``, or PyTorch's deprecated implicit choice (0 for 0-, 1- and 3-d input, else 1)."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return Softmax.apply(_cast(input, dtype), axis=_softmax_dim("softmax", input.ndim, dim))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return LogSoftmax.apply(_cast(input, dtype), axis=_softmax_dim("log_softmax", input.ndim, dim))


_FLOAT32_NAMES = ("float32", "torch.float32", "<class 'numpy.float32'>")


def _cast(input, dtype):
    """Only float32 is computed; dtype=None or float32 is accepted."""
    if dtype is not None and str(dtype) not in _FLOAT32_NAMES:
        raise TypeError(f"argument 'dtype': only float32 is supported, got {dtype!r}")
    return input.float() if input.data.dtype.kind != "f" else input
