"""Embedding lookup and its gradient, PyTorch semantics.

weight is a (num_embeddings, D) table; indices an int64 or int32 array of any shape, each in
[0, num_embeddings) (anything else raises IndexError: an index is never wrapped or clipped).
The lookup is y[..., :] = weight[indices[...], :]. Its gradient with respect to the table adds
each row of grad_y into the row of its index; rows of padding_idx get none, and with
scale_grad_by_freq each contribution is divided by how often its index occurs in indices.
"""
import numbers

import numpy as np

from .activation import _float_array


def _indices(indices, num_embeddings, name="indices"):
    indices = np.asarray(indices)
    if indices.dtype not in (np.int64, np.int32):
        raise TypeError(f"{name} must be int64 or int32, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        bad = indices[(indices < 0) | (indices >= num_embeddings)].reshape(-1)[0]
        raise IndexError(f"{name} holds {bad}, out of range for {num_embeddings} embeddings")
    return indices


def _table(weight, name="weight"):
    weight = _float_array(weight, name)
    if weight.ndim != 2:
        raise ValueError(f"{name} must be a 2-d (num_embeddings, embedding_dim) table, got "
                         f"shape {weight.shape}")
    return weight


def embedding_forward(weight, indices):
    """-> weight[indices], of shape indices.shape + (embedding_dim,)."""
    weight = _table(weight)
    indices = _indices(indices, weight.shape[0])
    return np.take(weight, indices, axis=0)


def embedding_backward(grad_y, indices, num_embeddings, padding_idx=None,
                       scale_grad_by_freq=False):
    """The gradient of embedding_forward with respect to weight: (num_embeddings, D)."""
    if isinstance(num_embeddings, bool) or not isinstance(num_embeddings, numbers.Integral) \
            or num_embeddings < 0:
        raise ValueError(f"num_embeddings must be a non-negative int, got {num_embeddings!r}")
    indices = _indices(indices, num_embeddings)
    grad_y = _float_array(grad_y, "grad_y")
    if grad_y.shape[:-1] != indices.shape or grad_y.ndim != indices.ndim + 1:
        raise ValueError(f"grad_y shape {grad_y.shape} must be indices' shape {indices.shape} "
                         "plus the embedding dim")
    if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx {padding_idx} is out of range for {num_embeddings} "
                         "embeddings")
    flat = indices.reshape(-1)
    rows = grad_y.reshape(flat.size, grad_y.shape[-1])
    if scale_grad_by_freq:
        counts = np.bincount(flat, minlength=num_embeddings)
        rows = rows / counts[flat][:, None].astype(rows.dtype)
    grad = np.zeros((num_embeddings, grad_y.shape[-1]), grad_y.dtype)
    np.add.at(grad, flat, rows)
    if padding_idx is not None:
        grad[padding_idx] = 0
    return grad
