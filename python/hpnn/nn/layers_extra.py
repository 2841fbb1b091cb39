"""Upsample, channel dropout, Unflatten and the distance layers, PyTorch's names and reprs."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ._checks import choice, real
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
