"""interpolate (and the upsample aliases): nearest, nearest-exact, (bi)linear with or without
align_corners, area; PyTorch's source-index rules, so outputs and gradients match it. Linear
modes are separable: y = A_h @ x @ A_w^T with small interpolation matrices, whose transposes
give the gradient."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from .pool import adaptive_avg_pool2d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
_MODE_DIMS = {"linear": 1, "bilinear": 2}


def _scale(in_size, out_size, scale_factor, align_corners):
    """Source step per output index, float32 as PyTorch's kernels compute it."""
    if align_corners:
        return np.float32((in_size - 1) / (out_size - 1)) if out_size > 1 else np.float32(0)
    if scale_factor is not None:
        return np.float32(1.0 / scale_factor)
    return np.float32(in_size / out_size)


def _nearest_index(in_size, out_size, scale_factor, exact):
    # PyTorch's shortcuts, which a scale_factor inconsistent with the sizes would not give
    if not exact and out_size in (in_size, 2 * in_size):
        return np.arange(out_size) // (out_size // in_size)
    scale = _scale(in_size, out_size, scale_factor, False)
    offset = np.float32(0.5) if exact else np.float32(0)
    source = np.floor((np.arange(out_size, dtype=np.float32) + offset) * scale)
    return np.minimum(source.astype(np.int64), in_size - 1)


def _linear_matrix(in_size, out_size, scale_factor, align_corners):
    """A (out_size, in_size) with y = A @ x along one axis."""
    if out_size == in_size:  # PyTorch copies then, whatever the scale_factor says
        return np.eye(in_size, dtype=np.float32)
    scale = _scale(in_size, out_size, scale_factor, align_corners)
    index = np.arange(out_size, dtype=np.float32)
    if align_corners:
        source = index * scale
    else:
        source = np.maximum((index + np.float32(0.5)) * scale - np.float32(0.5), 0)
    low = np.minimum(source.astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    weight_high = (source - low).astype(np.float32)
    matrix = np.zeros((out_size, in_size), np.float32)
    np.add.at(matrix, (np.arange(out_size), low), 1 - weight_high)
    np.add.at(matrix, (np.arange(out_size), high), weight_high)
    return matrix


class Separable(Function):
    """y = x multiplied along each of its last len(matrices) axes by one matrix."""

    def forward(self, x, matrices=()):
        self.matrices = matrices
        return self._apply(x, matrices)

    @staticmethod
    def _apply(x, matrices):
        y = x
        for offset, matrix in enumerate(matrices):
            axis = x.ndim - len(matrices) + offset
            y = np.moveaxis(np.tensordot(y, matrix.astype(y.dtype), axes=([axis], [1])), -1, axis)
        return np.ascontiguousarray(y)

    def backward(self, grad):
        return self._apply(grad, [m.T for m in self.matrices])


def _output_size(input, size, scale_factor, dims):
    spatial = input.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of 'size' and 'scale_factor' must be given")
    if size is not None:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(f"interpolate: argument 'size' must have {dims} entries for input "
                             f"of shape {tuple(input.shape)}, got {size!r}")
        return [int(s) for s in sizes], [None] * dims
    scales = (list(scale_factor) if isinstance(scale_factor, (tuple, list))
              else [scale_factor] * dims)
    if len(scales) != dims or any(s <= 0 for s in scales):
        raise ValueError(f"interpolate: argument 'scale_factor' must be positive, {dims} "
                         f"entries, got {scale_factor!r}")
    return [int(math.floor(n * float(s))) for n, s in zip(spatial, scales)], \
        [float(s) for s in scales]


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) input."""
    if mode not in _MODES:
        raise ValueError(f"interpolate: argument 'mode' must be one of {_MODES}, got {mode!r}")
    dims = input.ndim - 2
    if dims not in (1, 2) or _MODE_DIMS.get(mode, dims) != dims:
        raise ValueError(f"interpolate: mode {mode!r} does not take input of shape "
                         f"{tuple(input.shape)} (3-d input for 'linear', 4-d for 'bilinear')")
    if align_corners is not None and mode not in _MODE_DIMS:
        raise ValueError("interpolate: argument 'align_corners' is only for the linear modes")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    sizes, scales = _output_size(input, size, scale_factor, dims)
    if min(sizes) <= 0:
        raise ValueError(f"interpolate: the output size {tuple(sizes)} must be positive")
    if recompute_scale_factor:
        scales = [None] * dims
    if input._array.dtype != np.float32:
        input = input.float()
    if mode == "area":
        pooled = adaptive_avg_pool2d(input if dims == 2 else input.unsqueeze(2),
                                     sizes if dims == 2 else [1, sizes[0]])
        return pooled if dims == 2 else pooled.squeeze(2)
    spatial = input.shape[2:]
    if mode in _MODE_DIMS:
        matrices = [_linear_matrix(n, m, s, bool(align_corners))
                    for n, m, s in zip(spatial, sizes, scales)]
        return Separable.apply(input, matrices=matrices)
    exact = mode == "nearest-exact"
    indices = [_nearest_index(n, m, s, exact) for n, m, s in zip(spatial, sizes, scales)]
    return input[(slice(None), slice(None)) + np.ix_(*indices)]


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    *lead, channels, height, width = input.shape
    if r <= 0 or channels % (r * r):
        raise ValueError(f"pixel_shuffle: the input's {channels} channels must be divisible by "
                         f"upscale_factor**2 = {r * r}")
    k = len(lead)
    x = input.reshape(*lead, channels // (r * r), r, r, height, width)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    *lead, channels, height, width = input.shape
    if r <= 0 or height % r or width % r:
        raise ValueError(f"pixel_unshuffle: the input's height {height} and width {width} must "
                         f"be divisible by downscale_factor {r}")
    k = len(lead)
    x = input.reshape(*lead, channels, height // r, r, width // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, channels * r * r, height // r, width // r)


__all__ += ["pixel_shuffle", "pixel_unshuffle"]
