"""Tensor creation helpers (``hpnn.tensor``, ``zeros``, ``randn``, ...) and the ops that join
or select tensors (``cat``, ``stack``, ``where``)."""
from __future__ import annotations

import numpy as np

from . import _device, dtypes, random, shape_ops
from .tensor import Tensor, _shape_arg, _tensor, as_array

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "randn",
           "rand", "randint", "arange", "cat", "concatenate", "stack", "where"]


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor: Python floats take the default dtype (float32), a numpy array keeps its
    float dtype, integers become int64 (as PyTorch's). No copy when the array already fits."""
    if device is not None:
        _device.check_cpu(device, "tensor")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (its float dtype kept; integers become int64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _float(dtype, name):
    dtype = dtypes.to_numpy(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating point dtype, got {dtype}")
    return dtype


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return Tensor(np.zeros(_shape_arg(size), dtypes.to_numpy(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return Tensor(np.ones(_shape_arg(size), dtypes.to_numpy(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """As PyTorch's: without dtype, an int fill gives int64, a bool bool, a float the default
    float dtype."""
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = np.bool_
    elif dtype is None and isinstance(fill_value, (int, np.integer)):
        dtype = np.int64
    return Tensor(np.full(_shape_arg((size,)), fill_value, dtypes.to_numpy(dtype)),
                  requires_grad)


def zeros_like(input, dtype=None, requires_grad=False, device=None):
    return zeros(*input.shape, dtype=input.dtype if dtype is None else dtype,
                 requires_grad=requires_grad)


def ones_like(input, dtype=None, requires_grad=False, device=None):
    return ones(*input.shape, dtype=input.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def _draw(method, dtype, size, generator):
    """numpy draws float32 and float64 natively (float32 draws stay as before: seeds keep their
    streams); float16 is drawn in float32 and rounded."""
    native = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    draw = getattr(random.numpy_generator(generator), method)
    return draw(_shape_arg(size), dtype=native).astype(dtype, copy=False)


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None):
    return Tensor(_draw("standard_normal", _float(dtype, "randn"), size, generator),
                  requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None):
    return Tensor(_draw("random", _float(dtype, "rand"), size, generator), requires_grad)


def randint(low, high=None, size=None, *, dtype=None, generator=None, requires_grad=False,
            device=None):
    """Integers in [low, high) (``randint(high, size)`` draws from [0, high))."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: argument 'size' is required")
    array = random.numpy_generator(generator).integers(low, high, size=_shape_arg((size,)),
                                                       dtype=np.int64)
    return Tensor(array, dtype=None if dtype is None else dtypes.to_numpy(dtype))


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """As PyTorch's: int64 when start, end and step are all ints, else the default float
    dtype."""
    if end is None:
        start, end = 0, start
    numbers = [float(v) if isinstance(v, Tensor) and v._array.dtype.kind == "f" else v
               for v in (start, end, step)]
    values = np.arange(*numbers)
    if dtype is None and values.dtype.kind == "f":
        dtype = dtypes.default_numpy()
    return Tensor(values, requires_grad=requires_grad, dtype=dtype)


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
