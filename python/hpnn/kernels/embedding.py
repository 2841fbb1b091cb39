"""Embedding kernels: the signatures and argument rules of hpnn.reference.embedding, native
float32 compute. Indices (int64 or int32, any shape) are checked against the table's size by
the binding before any row is read: a bad one raises IndexError naming 'indices'. The backward
is bit-identical at any thread count (threads split the embedding dim, see
csrc/kernels/embedding)."""
import numbers

from .._C import kernels as _native
from ._checks import require_float32

__all__ = ["embedding_forward", "embedding_backward"]


def embedding_forward(weight, indices):
    """-> weight[indices], float32, of shape indices.shape + (embedding_dim,)."""
    fn = "embedding_forward"
    weight = require_float32(fn, "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"{fn}: argument 'weight' must be 2-d (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    shape = getattr(indices, "shape", None)
    flat = indices.reshape(-1) if shape is not None else indices
    return _native.embedding_forward(weight, flat).reshape(*shape, weight.shape[1])


def embedding_backward(grad_y, indices, num_embeddings, padding_idx=None,
                       scale_grad_by_freq=False):
    """The gradient with respect to the (num_embeddings, D) table; padding_idx's row is zero."""
    fn = "embedding_backward"
    grad_y = require_float32(fn, "grad_y", grad_y)
    if isinstance(num_embeddings, bool) or not isinstance(num_embeddings, numbers.Integral):
        raise TypeError(f"{fn}: argument 'num_embeddings' must be an int, got "
                        f"{type(num_embeddings).__name__}")
    shape = getattr(indices, "shape", None)
    if shape is None:  # not an array: the binding raises the TypeError
        return _native.embedding_backward(grad_y, indices, int(num_embeddings), -1, False)
    if grad_y.ndim != len(shape) + 1 or grad_y.shape[:-1] != shape:
        raise ValueError(f"{fn}: argument 'grad_y' shape {grad_y.shape} must be indices' shape "
                         f"{shape} plus the embedding dim")
    if padding_idx is None:
        padding = -1
    elif isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or \
            not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{fn}: argument 'padding_idx' {padding_idx!r} is out of range for "
                         f"{num_embeddings} embeddings")
    else:
        padding = int(padding_idx) % num_embeddings
    return _native.embedding_backward(grad_y.reshape(-1, grad_y.shape[-1]), indices.reshape(-1),
                                      int(num_embeddings), padding, bool(scale_grad_by_freq))
