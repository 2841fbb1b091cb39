"""Linear, batch norm, dropout and flatten."""
from __future__ import annotations

import numpy as np

from .. import random
from ..autograd import Function
from ..backend import kernel
from ..tensor import Tensor
from ._common import c32

__all__ = ["linear", "batch_norm", "dropout", "flatten"]


class Linear(Function):
    def forward(self, x, weight, bias=None):
        gemm = kernel("gemm")
        self.x, self.weight = x, weight
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = gemm(rows, weight, trans_b=True)
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0]) if x.ndim != 2 else out

    def backward(self, grad):
        gemm = kernel("gemm")
        x = self.x
        grad = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        need = self.needs_input_grad
        grad_x = gemm(grad, self.weight).reshape(x.shape) if need[0] else None
        grad_w = gemm(grad, rows, trans_a=True) if need[1] else None
        grad_b = np.add.reduce(grad, axis=0) if len(need) > 2 and need[2] else None
        return grad_x, grad_w, grad_b


class LinearReLU(Linear):
    """relu(linear(x)) as one node: the relu runs in place on the fresh product, and backward
    masks the gradient with the saved output (y > 0 exactly where the product is > 0)."""

    def forward(self, x, weight, bias=None):
        self.out = super().forward(x, weight, bias)
        return np.maximum(self.out, 0, out=self.out)

    def backward(self, grad):
        return super().backward(kernel("relu_backward")(c32(grad), self.out))


def linear(input, weight, bias=None, *, _relu=False):
    """input @ weight.T + bias, with weight of shape (out_features, in_features). (``_relu``:
    relu of that, as one node; for nn.Sequential.)"""
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: argument 'input' has shape {tuple(input.shape)}, but its last "
                         f"dim must equal in_features={weight.shape[1]}")
    if input._array.dtype.kind != "f":  # a float64 input meets a float32 weight: that raises
        input = input.float()
    function = LinearReLU if _relu else Linear
    if bias is None:
        return function.apply(input, weight)
    return function.apply(input, weight, bias)


class BatchNorm(Function):
    def forward(self, x, weight, bias, running_mean=None, running_var=None, momentum=0.1,
                eps=1e-5):
        y, self.mean, self.invstd = kernel("batch_norm_forward_train")(
            c32(x), weight, bias, running_mean, running_var, momentum, eps)
        self.x, self.weight = x, weight
        return y

    def backward(self, grad):
        grad_x, grad_w, grad_b = kernel("batch_norm_backward")(
            c32(grad), self.x, self.weight, self.mean, self.invstd)
        return grad_x, grad_w, grad_b


class BatchNormEval(Function):
    def forward(self, x, weight, bias, running_mean, running_var, eps=1e-5):
        self.x, self.weight, self.stats, self.eps = x, weight, (running_mean, running_var), eps
        return kernel("batch_norm_forward_eval")(c32(x), weight, bias, running_mean,
                                                 running_var, eps)

    def backward(self, grad):
        need_x, need_weight, need_bias = self.needs_input_grad
        shape = (-1,) + (1,) * (grad.ndim - 2)
        mean, var = (s.reshape(shape) for s in self.stats)
        invstd = 1.0 / np.sqrt(var + self.eps)
        axes = (0,) + tuple(range(2, grad.ndim))
        grad_x = grad * (self.weight.reshape(shape) * invstd) if need_x else None
        grad_w = (grad * (self.x - mean) * invstd).sum(axis=axes) if need_weight else None
        return grad_x, grad_w, (grad.sum(axis=axes) if need_bias else None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise over (N, *spatial) per channel (dim 1). Training updates running stats in place."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: argument 'input' must have a channel dim, got {input.shape}")
    channels, dtype = input.shape[1], input._array.dtype
    if channels == 0:
        raise ValueError(f"batch_norm: argument 'input' has no channels, got shape {input.shape}")
    weight = weight if weight is not None else Tensor(np.ones(channels, dtype))
    bias = bias if bias is not None else Tensor(np.zeros(channels, dtype))
    stats = [None if s is None else s._array for s in (running_mean, running_var)]
    if training or stats[0] is None:
        values_per_channel = input.shape[0] * int(np.prod(input.shape[2:], dtype=np.int64))
        if training and values_per_channel <= 1:
            raise ValueError("batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {input.shape}")
        return BatchNorm.apply(input, weight, bias, running_mean=stats[0], running_var=stats[1],
                               momentum=momentum, eps=eps)
    return BatchNormEval.apply(input, weight, bias, running_mean=stats[0], running_var=stats[1],
                               eps=eps)


class Dropout(Function):
    def forward(self, x, p, seed):
        y, self.mask = kernel("dropout_forward")(c32(x), p, seed)
        self.p = p
        return y

    def backward(self, grad):
        return kernel("dropout_backward")(c32(grad), self.mask, self.p)


class DropAll(Function):
    """Dropout with p = 1, as ``input * 0.0`` (the out-of-place path)."""

    def forward(self, x):
        return x * np.float32(0.0)

    def backward(self, grad):
        return grad * np.float32(0.0)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only).
    inplace=True writes the result into input's array and returns input itself, as PyTorch
    (an error for a leaf that requires grad)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: argument 'p' must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return DropAll.apply_(input, "dropout_") if inplace else input * 0.0
    options = dict(p=float(p), seed=random.next_seed())
    if inplace:
        return Dropout.apply_(input, "dropout_", **options)
    return Dropout.apply(input, **options)


def flatten(input, start_dim=1, end_dim=-1):
    return input.flatten(start_dim, end_dim)
