"""Layer normalisation layer, PyTorch's names, defaults and state-dict
layout."""
from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from ._checks import positive_int, real
from .module import Module, Parameter


def _eps(eps, owner):
    value = real(eps, "eps", owner, low=0.0)
    if value == 0:  # rstd = 1 / sqrt(var + eps): a constant row would give inf
        raise ValueError(f"{owner}: argument 'eps' must be positive, got {eps!r}")
    return value


def _affine_params(module, shape, on, bias):
    if on:
        module.weight = Parameter(np.ones(shape, np.float32))
        if bias:
            module.bias = Parameter(np.zeros(shape, np.float32))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class LayerNorm(Module):
    """Normalises over the trailing dims ``normalized_shape``; weight (ones) and bias (zeros)
    of that shape when elementwise_affine."""

    _tensor_args = 1

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(positive_int(d, "normalized_shape", "LayerNorm")
                                      for d in normalized_shape)
        self.eps = _eps(eps, "LayerNorm")
        self.elementwise_affine = elementwise_affine
        _affine_params(self, self.normalized_shape, elementwise_affine, bias)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
