"""Layer, group and instance normalisation layers, PyTorch's names, defaults and state-dict
layout."""
from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from ._checks import positive_int, real
from .module import Module
from .norm import affine_params as _affine_params, positive_eps as _eps
from .norm import running_stats as _running_stats


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
            self.weight._array[...] = 1
        if self.bias is not None:
            self.bias._array[...] = 0

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalises each sample's num_groups groups of channels of (N, C, *) input; per-channel
    weight (ones) and bias (zeros) when affine."""

    _tensor_args = 1

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        self.num_groups = positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = positive_int(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.eps = _eps(eps, "GroupNorm")
        self.affine = affine
        _affine_params(self, (num_channels,), affine, bias)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *), "
                             f"got {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(Module):
    _tensor_args = 1
    spatial_dims = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__()
        owner = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", owner)
        self.eps = _eps(eps, owner)
        self.momentum = real(momentum, "momentum", owner, 0.0, 1.0, allow_none=True)
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_params(self, (num_features,), affine, bias)
        _running_stats(self, num_features, track_running_stats)

    def forward(self, input):
        batched = self.spatial_dims + 2
        if input.ndim not in (batched, batched - 1):
            raise ValueError(f"{type(self).__name__}: expected {batched - 1}-d or {batched}-d "
                             f"input, got shape {tuple(input.shape)}")
        unbatched = input.ndim == batched - 1
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels, "
                             f"got input of shape {tuple(input.shape)}")
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if unbatched else y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Over (N, C, L) or (C, L) input."""

    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Over (N, C, H, W) or (C, H, W) input."""

    spatial_dims = 2
