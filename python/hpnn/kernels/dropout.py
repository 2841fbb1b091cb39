"""Dropout: native float32 kernels with the signatures of ``hpnn.reference.dropout`` and its
bit-identical SplitMix64 mask (independent of the thread count). Other dtypes and bad
arguments go to the reference, so results and exceptions match it exactly."""
from .._C import kernels as _native
from ..reference import dropout as _ref

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p, seed):
    result = _native._dropout_forward(x, p, seed)
    return _ref.dropout_forward(x, p, seed) if result is NotImplemented else result


def dropout_backward(grad_y, mask, p):
    grad = _native._dropout_backward(grad_y, mask, p)
    return _ref.dropout_backward(grad_y, mask, p) if grad is NotImplemented else grad
