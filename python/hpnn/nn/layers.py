"""Dense layers, activations, dropout and shape layers."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from ..errors import DimensionError
from ._checks import choice, positive_int, real
from .module import Module, Parameter


def reset_weight_and_bias(weight, bias):
    """PyTorch's default for Linear/Conv: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = int(np.prod(weight.shape[1:]))
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x @ weight.T + bias with weight (out_features, in_features)."""

    _tensor_args = 1

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        self.weight = Parameter(np.empty((out_features, in_features), np.float32))
        self.bias = Parameter(np.empty(out_features, np.float32)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def _forward_relu(self, input):
        """relu(forward(input)) as one graph node (see Sequential)."""
        return F.linear(input, self.weight, self.bias, _relu=True)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")



class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name PyTorch gives MultiheadAttention's ``out_proj`` (its class name
    is what a saved model records and what an allowlist names)."""

class Identity(Module):
    def __init__(self, *args, **kwargs):  # any arguments are ignored, as in PyTorch
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    _tensor_args = 1

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"Flatten: argument '{name}' must be an int, got {value!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, input):
        rank = max(input.ndim, 1)
        for name, dim in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -rank <= dim < rank:
                raise DimensionError(f"Flatten: argument '{name}' ({dim}) is out of range for "
                                     f"input of {input.ndim} dims (expected in [{-rank}, "
                                     f"{rank - 1}])")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _Activation(Module):
    """A module applying ``function``; ``options`` names the attributes passed to it (and
    shown in the repr, as PyTorch's extra_repr)."""

    function = None
    options = ()
    _tensor_args = 1

    def forward(self, input):
        return type(self).function(input, **{name: getattr(self, name) for name in self.options})

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.options)


class ReLU(_Activation):
    function = F.relu
    _plain_relu = True  # Sequential may fuse it with the layer before or swap it with a max pool

    def forward(self, input):
        return F.relu(input, self.inplace)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(_Activation):
    function = F.leaky_relu
    options = ("negative_slope",)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = real(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return super().extra_repr() + (", inplace=True" if self.inplace else "")


class Sigmoid(_Activation):
    function = F.sigmoid


class Tanh(_Activation):
    function = F.tanh


class GELU(_Activation):
    function = F.gelu
    options = ("approximate",)

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = choice(approximate, "approximate", "GELU", ("none", "tanh"))


class Softmax(_Activation):
    function = F.softmax
    options = ("dim",)

    def __init__(self, dim=None):
        super().__init__()
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: argument 'dim' must be an int or None, "
                            f"got {dim!r}")
        self.dim = dim


class LogSoftmax(Softmax):
    function = F.log_softmax


class Dropout(Module):
    _tensor_args = 1

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self.inplace = real(p, "p", "Dropout", 0.0, 1.0), inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
