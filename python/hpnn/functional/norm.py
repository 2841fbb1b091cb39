"""Layer, group and instance normalisation (PyTorch's F.layer_norm, F.group_norm,
F.instance_norm)."""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function
from ..backend import kernel
from ._common import c32
from .dense import batch_norm

__all__ = ["layer_norm", "group_norm", "instance_norm"]


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


class GroupNorm(Function):
    def forward(self, x, *params, num_groups, has_weight, has_bias, eps):
        weight = params[0] if has_weight else None
        bias = params[-1] if has_bias else None
        y, self.mean, self.rstd = kernel("group_norm_forward")(c32(x), num_groups, weight,
                                                               bias, eps)
        self.x, self.weight, self.groups = x, weight, num_groups
        self.present = (has_weight, has_bias)
        return y

    def backward(self, grad):
        need_params = any(self.needs_input_grad[1:])
        grad_x, grad_w, grad_b = kernel("group_norm_backward")(
            c32(grad), c32(self.x), self.groups, self.weight, self.mean, self.rstd, need_params)
        grad_x = grad_x if self.needs_input_grad[0] else None
        return (grad_x,) + _spread((grad_w, grad_b), self.present)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each sample's num_groups groups of channels of (N, C, *) input; weight and
    bias (optional) are per channel (C,)."""
    if input.ndim < 2:
        raise ValueError(f"group_norm: argument 'input' must be (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or \
            num_groups < 1 or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: argument 'num_groups' ({num_groups!r}) must be a positive "
                         f"int dividing the {input.shape[1]} channels of input")
    return GroupNorm.apply(input, *_present(weight, bias), num_groups=int(num_groups),
                           has_weight=weight is not None, has_bias=bias is not None, eps=eps)


def _update_running_stats(x, running_mean, running_var, momentum):
    """PyTorch's update in instance norm: each instance's mean and unbiased variance, averaged
    over the batch, blended into the per-channel buffers in place."""
    planes = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
    if running_mean is not None:
        mean = planes.mean(axis=2).mean(axis=0)
        running_mean._array[...] = (1 - momentum) * running_mean._array + momentum * mean
    if running_var is not None:
        var = planes.var(axis=2, ddof=1).mean(axis=0)
        running_var._array[...] = (1 - momentum) * running_var._array + momentum * var


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) plane of (N, C, *) input over its values. With
    use_input_stats the plane's own statistics are used (and running_mean / running_var, if
    given, are updated in place, as PyTorch does); otherwise the running statistics."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: argument 'input' must be (N, C, *spatial), got shape "
                         f"{tuple(input.shape)}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are required when "
                             "use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, 0.0, eps)
    if running_mean is not None or running_var is not None:
        _update_running_stats(input._array, running_mean, running_var, momentum)
    return group_norm(input, input.shape[1], weight, bias, eps)
