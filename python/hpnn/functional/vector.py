"""Vector norms and what builds on them (normalize, cosine_similarity, pairwise_distance),
one_hot, and channel dropout (dropout1d, dropout2d), with PyTorch's signatures."""
from __future__ import annotations

import warnings

import numpy as np

from .. import random
from ..autograd import Function
from ..tensor import Tensor, _tensor
from .activation_extra import Elementwise

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "one_hot", "dropout1d",
           "dropout2d"]


class VectorNorm(Function):
    """||x||_p along ``dim``; its gradient is 0 where the norm is 0 (as PyTorch's)."""

    def forward(self, x, p=2.0, dim=-1, keepdim=False):
        self.x, self.p, self.dim = x, p, dim
        a = np.abs(x)
        if p == np.inf:
            norm = a.max(axis=dim, keepdims=True)
        elif p == 2:
            norm = np.sqrt((x * x).sum(axis=dim, keepdims=True))
        else:
            norm = (a ** p).sum(axis=dim, keepdims=True) ** (1 / p)
        self.norm = norm
        return norm if keepdim else np.squeeze(norm, axis=dim)

    def backward(self, grad):
        grad = np.expand_dims(grad, self.dim) if grad.ndim < self.x.ndim else grad
        x, norm, p = self.x, self.norm, self.p
        safe = np.where(norm > 0, norm, 1)
        if p == np.inf:
            local = np.sign(x) * (np.abs(x) == norm)
            local = local / np.maximum(local.astype(bool).sum(axis=self.dim, keepdims=True), 1)
        else:
            local = np.sign(x) * np.abs(x) ** (p - 1) / safe ** (p - 1)
        return (grad * np.where(norm > 0, local, 0)).astype(x.dtype)


def _norm(x, p, dim, keepdim=False):
    if not (p == np.inf or p > 0):
        raise ValueError(f"argument 'p' must be > 0 or inf, got {p}")
    if x._array.dtype != np.float32:
        x = x.float()
    return VectorNorm.apply(x, p=float(p), dim=int(dim), keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    if out is not None:
        raise TypeError("normalize: argument 'out' is not supported")
    return input / _norm(input, p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim (broadcast x1, x2)."""
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    if x1.shape != shape:
        x1 = x1 + Tensor._wrap(np.zeros(shape, np.float32))
    if x2.shape != shape:
        x2 = x2 + Tensor._wrap(np.zeros(shape, np.float32))
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim."""
    return _norm(x1 - x2 + eps, p, -1, keepdim)


def one_hot(tensor, num_classes=-1):
    """int64 (*, num_classes) with a 1 at each entry's class (num_classes=-1: max + 1)."""
    labels = _tensor(tensor)._array
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: argument 'tensor' must hold integer class indices, got "
                        f"dtype {labels.dtype}")
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes of an empty tensor")
        num_classes = int(labels.max()) + 1
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: argument 'tensor' has classes in [{labels.min()}, "
                         f"{labels.max()}], expected 0..{num_classes - 1}")
    return Tensor._wrap(np.eye(num_classes, dtype=np.int64)[labels])


def _channel_dropout(input, p, training, inplace, name, batched_ndim):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: argument 'p' must be in [0, 1], got {p}")
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise ValueError(f"{name}: expected {batched_ndim - 1}-d or {batched_ndim}-d input, got "
                         f"shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    lead = 2 if input.ndim == batched_ndim else 1  # (N, C) or unbatched (C,)
    keep = random.generator().random(input.shape[:lead]) >= p
    scale = np.float32(0.0 if p == 1.0 else 1.0 / (1.0 - p))
    mask = (keep * scale).astype(np.float32).reshape(
        input.shape[:lead] + (1,) * (input.ndim - lead))
    if inplace:
        return Elementwise.apply_(input, name + "_", f=lambda x: (x * mask, mask + 0 * x))
    return input * Tensor._wrap(mask)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p, scale the rest."""
    return _channel_dropout(input, p, training, inplace, "dropout1d", 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability p (3-d input
    is taken as (N, C, L), with PyTorch's warning)."""
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. Use dropout1d instead.",
                      UserWarning, stacklevel=2)
        return _channel_dropout(input, p, training, inplace, "dropout2d", 3)
    return _channel_dropout(input, p, training, inplace, "dropout2d", 4)
