"""Layer normalisation (PyTorch's F.layer_norm)."""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function
from ..backend import kernel
from ._common import c32

__all__ = ["layer_norm"]


def _present(*tensors):
    return [t for t in tensors if t is not None]


def _spread(grads, present):
    """Gradients (weight, bias) for the inputs that were given, in their order."""
    return tuple(g for g, p in zip(grads, present) if p)


class LayerNorm(Function):
    def forward(self, x, *params, normalized_shape, has_weight, has_bias, eps):
        weight = params[0] if has_weight else None
        bias = params[-1] if has_bias else None
        y, self.mean, self.rstd = kernel("layer_norm_forward")(c32(x), normalized_shape,
                                                               weight, bias, eps)
        self.x, self.weight, self.shape = x, weight, normalized_shape
        self.present = (has_weight, has_bias)
        return y

    def backward(self, grad):
        need_params = any(self.needs_input_grad[1:])
        grad_x, grad_w, grad_b = kernel("layer_norm_backward")(
            c32(grad), c32(self.x), self.shape, self.weight, self.mean, self.rstd, need_params)
        grad_x = grad_x if self.needs_input_grad[0] else None
        return (grad_x,) + _spread((grad_w, grad_b), self.present)


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(d) for d in normalized_shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims ``normalized_shape``; weight and bias (optional) have
    that shape."""
    shape = _shape_tuple(normalized_shape)
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ValueError(f"layer_norm: argument 'normalized_shape' {list(shape)} must be the "
                         f"trailing dims of input, whose shape is {tuple(input.shape)}")
    return LayerNorm.apply(input, *_present(weight, bias), normalized_shape=shape,
                           has_weight=weight is not None, has_bias=bias is not None, eps=eps)
