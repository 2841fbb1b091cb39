"""Batch normalisation layers."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import no_grad
from ..errors import ShapeError
from ._checks import positive_int, real
from .module import Module, Parameter


def positive_eps(eps, owner):
    """eps as a float > 0: the kernels divide by sqrt(var + eps), so a constant channel or row
    with eps = 0 would give inf."""
    value = real(eps, "eps", owner, low=0.0)
    if value == 0:
        raise ValueError(f"{owner}: argument 'eps' must be positive, got {eps!r}")
    return value


def affine_params(module, shape, on, bias):
    """module.weight (ones) and module.bias (zeros) of `shape` when `on` (bias only with
    `bias`); registered as None otherwise, as PyTorch's norm layers do."""
    if on:
        module.weight = Parameter(np.ones(shape, np.float32))
        if bias:
            module.bias = Parameter(np.zeros(shape, np.float32))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def running_stats(module, num_features, track):
    """running_mean (zeros), running_var (ones) and num_batches_tracked when `track`, else
    the three registered as None, as PyTorch's norm layers do."""
    if track:
        module.register_buffer("running_mean", np.zeros(num_features, np.float32))
        module.register_buffer("running_var", np.ones(num_features, np.float32))
        module.register_buffer("num_batches_tracked", np.zeros((), np.int64))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)


class _BatchNorm(Module):
    input_dims = ()
    _tensor_args = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, bias=True):
        super().__init__()
        owner = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", owner)
        self.eps = positive_eps(eps, owner)
        self.momentum = real(momentum, "momentum", owner, 0.0, 1.0, allow_none=True)
        self.affine, self.track_running_stats = affine, track_running_stats
        affine_params(self, (num_features,), affine, bias)
        running_stats(self, num_features, track_running_stats)

    def forward(self, input):
        if input.ndim not in self.input_dims or input.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}: expected input of {self.input_dims[0]}"
                             f"{'/' + str(self.input_dims[-1]) if len(self.input_dims) > 1 else ''}"
                             f" dims with {self.num_features} channels in dim 1, got shape "
                             f"{tuple(input.shape)}")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked._array += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked._array)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) input."""

    input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) input."""

    input_dims = (4,)
