"""Dense layers, activations, dropout and shape layers."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


def _positive_int(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: argument '{name}' must be a positive int, got {value!r}")
    return int(value)


def reset_weight_and_bias(weight, bias):
    """PyTorch's default for Linear/Conv: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = int(np.prod(weight.shape[1:]))
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x @ weight.T + bias with weight (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        self.weight = Parameter(np.empty((out_features, in_features), np.float32))
        self.bias = Parameter(np.empty(out_features, np.float32)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    def forward(self, input):
        return input


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _Activation(Module):
    """A module applying ``function`` with the keyword options given to its constructor."""

    function = None

    def __init__(self, **options):
        super().__init__()
        self.options = options

    def forward(self, input):
        return type(self).function(input, **self.options)

    def extra_repr(self):
        return ", ".join(f"{key}={value!r}" for key, value in self.options.items())


class ReLU(_Activation):
    function = F.relu

    def __init__(self, inplace=False):
        super().__init__()


class LeakyReLU(_Activation):
    function = F.leaky_relu

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(negative_slope=negative_slope)


class Sigmoid(_Activation):
    function = F.sigmoid


class Tanh(_Activation):
    function = F.tanh


class GELU(_Activation):
    function = F.gelu

    def __init__(self, approximate="none"):
        super().__init__(approximate=approximate)


class Softmax(_Activation):
    function = F.softmax

    def __init__(self, dim=-1):
        super().__init__(dim=dim)


class LogSoftmax(_Activation):
    function = F.log_softmax

    def __init__(self, dim=-1):
        super().__init__(dim=dim)


class Dropout(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: argument 'p' must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
