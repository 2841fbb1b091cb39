"""Activations and softmax: each op's forward and backward call the ``<name>_forward`` /
``<name>_backward`` kernels."""
from __future__ import annotations

import warnings

from ..autograd import Function, is_grad_enabled
from ..backend import kernel
from ._common import c32

__all__ = ["relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh", "gelu", "softmax",
           "log_softmax"]


class _Activation(Function):
    """y = <name>_forward(x, **options); backward gets x, or y when ``saves_output``."""

    forward_kernel = backward_kernel = ""
    saves_output = False

    def forward(self, x, out=None, **options):
        """``out``: where the kernel writes y (only activations whose kernel takes it)."""
        forward = kernel(self.forward_kernel)
        y = forward(x, **options) if out is None else forward(x, out=out, **options)
        self.saved, self.options = (y if self.saves_output else x), options
        return y

    def backward(self, grad):
        return kernel(self.backward_kernel)(c32(grad), self.saved, **self.options)


class _InPlaceActivation(_Activation):
    """An activation whose forward kernel takes ``out=``: apply_ writes straight into x."""

    def forward_into(self, x, **options):
        self.forward(x, out=x, **options)


def _activation(name, saves_output=False, base=_Activation):
    attrs = dict(forward_kernel=f"{name}_forward", backward_kernel=f"{name}_backward",
                 saves_output=saves_output)
    return type(name.title().replace("_", ""), (base,), attrs)


ReLU = _activation("relu", base=_InPlaceActivation)
LeakyReLU = _activation("leaky_relu", base=_InPlaceActivation)
GELU = _activation("gelu")
Sigmoid, Tanh = _activation("sigmoid", True), _activation("tanh", True)
Softmax, LogSoftmax = _activation("softmax", True), _activation("log_softmax", True)


# inplace=True writes the result into input's array and returns input itself, as PyTorch:
# an error for a leaf that requires grad; backward masks with the output, whose sign is the
# input's (for leaky_relu only while negative_slope >= 0).
def relu(input, inplace=False):
    return ReLU.apply_(input, "relu_") if inplace else ReLU.apply(input)


def relu_(input):
    return ReLU.apply_(input, "relu_")


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if not inplace:
        return LeakyReLU.apply(input, negative_slope=negative_slope)
    recording = input.requires_grad and is_grad_enabled()
    out = LeakyReLU.apply_(input, "leaky_relu_", negative_slope=negative_slope)
    if negative_slope < 0 and recording:
        out._ctx.backward_error = (
            "In-place leaky_relu backward with a negative slope is not supported (the output's "
            "sign no longer tells the input's); call the out-of-place version instead")
    return out


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


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
    return input.float() if input._array.dtype.kind != "f" else input
