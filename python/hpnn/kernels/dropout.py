"""Dropout: native float32 kernels with the signatures of ``hpnn.reference.dropout`` and its
bit-identical SplitMix64 mask (independent of the thread count). x and grad_y must be float32
(other dtypes raise TypeError naming the argument, see _checks.py); a bad p, seed or mask goes to
the reference only for it to raise its error."""
from .._C import kernels as _native
from ..reference import dropout as _reference
from ._checks import Deferring, require_float32

# The numpy twins, for the calls the native path declines; their errors name the kernel.
_ref = Deferring(_reference)

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p, seed):
    x = require_float32("dropout_forward", "x", x)
    result = _native._dropout_forward(x, p, seed)
    return _ref.dropout_forward(x, p, seed) if result is NotImplemented else result


def dropout_backward(grad_y, mask, p):
    grad_y = require_float32("dropout_backward", "grad_y", grad_y)
    grad = _native._dropout_backward(grad_y, mask, p)
    return _ref.dropout_backward(grad_y, mask, p) if grad is NotImplemented else grad
