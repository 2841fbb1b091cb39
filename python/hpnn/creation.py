"""Tensor creation helpers (``hpnn.tensor``, ``zeros``, ``randn``, ...) and the ops that join
or select tensors (``cat``, ``stack``, ``where``)."""
from __future__ import annotations

import numpy as np

from . import random, shape_ops
from .tensor import Tensor, _shape_arg, _tensor, as_array

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "randn",
           "rand", "randint", "arange", "cat", "concatenate", "stack", "where"]


def tensor(data, requires_grad=False, dtype=None):
    """A new tensor (no copy when ``data`` is already a float32 array)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (float32/int64/bool; other floats are converted)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, requires_grad=False):
    return Tensor(np.zeros(_shape_arg(size), np.float32), requires_grad)


def ones(*size, requires_grad=False):
    return Tensor(np.ones(_shape_arg(size), np.float32), requires_grad)


def full(size, fill_value, requires_grad=False):
    return Tensor(np.full(_shape_arg((size,)), fill_value, np.float32), requires_grad)


def zeros_like(input, requires_grad=False):
    return zeros(*input.shape, requires_grad=requires_grad)


def ones_like(input, requires_grad=False):
    return ones(*input.shape, requires_grad=requires_grad)


def randn(*size, requires_grad=False):
    array = random.generator().standard_normal(_shape_arg(size), dtype=np.float32)
    return Tensor(array, requires_grad)


def rand(*size, requires_grad=False):
    array = random.generator().random(_shape_arg(size), dtype=np.float32)
    return Tensor(array, requires_grad)


def randint(low, high=None, size=None):
    """Integers in [low, high) (``randint(high, size)`` draws from [0, high))."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: argument 'size' is required")
    return Tensor(random.generator().integers(low, high, size=_shape_arg((size,)),
                                              dtype=np.int64))


def arange(start, end=None, step=1, dtype=None):
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    return Tensor(values, dtype=dtype)


def cat(tensors, dim=0):
    """Concatenate along an existing axis."""
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: argument 'tensors' must not be empty")
    return shape_ops.Concat.apply(*tensors, axis=dim)


concatenate = cat


def stack(tensors, dim=0):
    """Stack along a new axis."""
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: argument 'tensors' must not be empty")
    if len(tensors) > 1 and len({t.shape for t in tensors}) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got "
                         f"{[tuple(t.shape) for t in tensors]}")
    ndim = tensors[0].ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"stack: argument 'dim' must be in [{-ndim}, {ndim - 1}], got {dim}")
    return shape_ops.Stack.apply(*tensors, axis=dim)


def where(condition, input, other):
    return shape_ops.Where.apply(_tensor(input), _tensor(other),
                                 condition=as_array(condition).astype(bool))
