"""Embedding lookup (PyTorch's F.embedding)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, no_grad
from ..backend import kernel
from ..tensor import Tensor
from ._common import c32

__all__ = ["embedding"]


class Embedding(Function):
    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.indices, self.rows = indices, weight.shape[0]
        self.padding_idx, self.scale = padding_idx, scale_grad_by_freq
        return kernel("embedding_forward")(c32(weight), indices)

    def backward(self, grad):
        return kernel("embedding_backward")(c32(grad), self.indices, self.rows,
                                            self.padding_idx, self.scale)


def _index_array(input):
    indices = input._array if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype not in (np.int64, np.int32):
        raise TypeError(f"embedding: argument 'input' must hold int64 or int32 indices, got "
                        f"dtype {indices.dtype}")
    return indices


def padding_index(padding_idx, rows, owner="embedding"):
    """padding_idx in [0, rows) (negative counts from the end, as PyTorch), or None."""
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{owner}: argument 'padding_idx' ({padding_idx}) must be within "
                         f"num_embeddings ({rows})")
    return padding_idx % rows


def _renorm_(weight, indices, max_norm, norm_type):
    """Rescale, in place and outside autograd, the rows looked up whose norm exceeds max_norm
    to norm max_norm, as PyTorch's embedding_renorm_ (same 1e-7 guard)."""
    rows = np.unique(indices)
    if rows.size and (rows[0] < 0 or rows[-1] >= weight.shape[0]):
        kernel("embedding_forward")(c32(weight._array), indices)  # raises the IndexError
    with no_grad():
        table = weight._array
        norms = np.linalg.norm(table[rows].astype(np.float64), ord=norm_type, axis=1)
        over = norms > max_norm
        scale = (max_norm / (norms[over] + 1e-7)).astype(table.dtype)
        table[rows[over]] *= scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight[input]: rows of the (num_embeddings, embedding_dim) table for integer indices of
    any shape. padding_idx's row gets no gradient; max_norm renormalises the rows looked up in
    place first; scale_grad_by_freq divides each row's gradient by its count in input.
    sparse=True is accepted, but the gradient is dense."""
    if weight.ndim != 2:
        raise ValueError(f"embedding: argument 'weight' must be 2-d, got shape "
                         f"{tuple(weight.shape)}")
    indices = _index_array(input)
    padding = padding_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        _renorm_(weight, indices, float(max_norm), float(norm_type))
    return Embedding.apply(weight, indices=indices, padding_idx=padding,
                           scale_grad_by_freq=bool(scale_grad_by_freq))
