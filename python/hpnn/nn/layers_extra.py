"""Upsample, channel dropout, Unflatten and the distance layers, PyTorch's names and reprs."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ._checks import choice, positive_int, real
from .layers import Dropout
from .module import Module


class Upsample(Module):
    _tensor_args = 1

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.mode = choice(mode, "mode", self.name, ("nearest", "nearest-exact", "linear",
                                                     "bilinear", "area"))
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{self.name}: exactly one of 'size' and 'scale_factor' must be "
                             "given")
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Dropout1d(Dropout):
    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    _tensor_args = 1

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Unflatten: argument 'dim' must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                for s in unflattened_size):
            raise TypeError(f"Unflatten: argument 'unflattened_size' must be a tuple of ints, "
                            f"got {unflattened_size!r}")
        self.dim, self.unflattened_size = int(dim), unflattened_size

    def forward(self, input):
        dim = self.dim % input.ndim if -input.ndim <= self.dim < input.ndim else None
        if dim is None:
            raise ValueError(f"Unflatten: argument 'dim' ({self.dim}) is out of range for input "
                             f"of {input.ndim} dims")
        sizes = list(self.unflattened_size)
        if -1 in sizes:
            known = int(np.prod([s for s in sizes if s != -1]))
            sizes[sizes.index(-1)] = input.shape[dim] // known if known else 0
        if int(np.prod(sizes)) != input.shape[dim]:
            raise ValueError(f"Unflatten: unflattened_size {tuple(self.unflattened_size)} does "
                             f"not multiply to the size {input.shape[dim]} of dim {self.dim}")
        return input.reshape(*input.shape[:dim], *sizes, *input.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class CosineSimilarity(Module):
    _tensor_args = 2

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, real(eps, "eps", "CosineSimilarity", 0.0)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    _tensor_args = 2

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = real(p, "p", "PairwiseDistance")
        self.eps, self.keepdim = real(eps, "eps", "PairwiseDistance", 0.0), keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class PixelShuffle(Module):
    _tensor_args = 1

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = positive_int(upscale_factor, "upscale_factor", "PixelShuffle")

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    _tensor_args = 1

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = positive_int(downscale_factor, "downscale_factor",
                                             "PixelUnshuffle")

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input."""

    _tensor_args = 1

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected 3-d or 4-d input, got shape "
                             f"{tuple(input.shape)}")
        return F.softmax(input, -3)


class _PadNd(Module):
    """F.pad with a fixed mode; ``padding`` an int (every side) or 2 * dims ints."""

    mode, dims = "constant", 2
    _tensor_args = 1

    def __init__(self, padding, value=None):
        super().__init__()
        owner = type(self).__name__
        sides = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self.dims)
        if len(sides) != 2 * self.dims or any(
                isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in sides):
            raise TypeError(f"{owner}: argument 'padding' must be an int or {2 * self.dims} "
                            f"ints, got {padding!r}")
        self.padding = tuple(int(v) for v in sides)
        if value is not None:
            self.value = real(value, "value", owner)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode, getattr(self, "value", None))

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


def _pad_class(name, base, mode, dims):
    return type(name, (base,), {"mode": mode, "dims": dims, "__module__": __name__})


ConstantPad1d = _pad_class("ConstantPad1d", _ConstantPadNd, "constant", 1)
ConstantPad2d = _pad_class("ConstantPad2d", _ConstantPadNd, "constant", 2)
ZeroPad1d = _pad_class("ZeroPad1d", _PadNd, "constant", 1)
ZeroPad2d = _pad_class("ZeroPad2d", _PadNd, "constant", 2)
ReflectionPad1d = _pad_class("ReflectionPad1d", _PadNd, "reflect", 1)
ReflectionPad2d = _pad_class("ReflectionPad2d", _PadNd, "reflect", 2)
ReplicationPad1d = _pad_class("ReplicationPad1d", _PadNd, "replicate", 1)
ReplicationPad2d = _pad_class("ReplicationPad2d", _PadNd, "replicate", 2)
CircularPad1d = _pad_class("CircularPad1d", _PadNd, "circular", 1)
CircularPad2d = _pad_class("CircularPad2d", _PadNd, "circular", 2)
