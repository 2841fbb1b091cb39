"""More creation functions (eye, linspace, empty, full_like, randn_like, randperm, ...) and the
Tensor.new_* methods. ``dtype=`` takes a numpy dtype or anything whose name numpy knows
("float64", torch-style ``hpnn.float64``); float32 is the default for values."""
from __future__ import annotations

import numpy as np

from . import dtypes, random
from .tensor import Tensor, _shape_arg

__all__ = ["eye", "linspace", "empty", "empty_like", "full_like", "randn_like", "rand_like",
           "randint_like", "randperm"]


def _dtype(dtype, default=None):
    """The numpy dtype for ``dtype`` (hpnn dtypes, numpy's, names, Python's float: the
    default float dtype); ``default`` (the default float dtype if None) when it is None."""
    return dtypes.to_numpy(dtype, default)


def _make(array, dtype, requires_grad):
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype if dtype is None
                  else dtype)


def eye(n, m=None, *, dtype=None, requires_grad=False):
    dtype = _dtype(dtype)
    return _make(np.eye(n, n if m is None else m, dtype=dtype), dtype, requires_grad)


def linspace(start, end, steps, *, dtype=None, requires_grad=False):
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    dtype = _dtype(dtype)
    return _make(np.linspace(float(start), float(end), int(steps)).astype(dtype), dtype,
                 requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    dtype = _dtype(dtype)
    return _make(np.empty(_shape_arg(size), dtype), dtype, requires_grad)


def _like(input, dtype):
    return input.shape, _dtype(dtype, input._array.dtype)


def empty_like(input, *, dtype=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return _make(np.empty(shape, dtype), dtype, requires_grad)


def full_like(input, fill_value, *, dtype=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return _make(np.full(shape, fill_value, dtype), dtype, requires_grad)


def randn_like(input, *, dtype=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    if dtype.kind != "f":
        raise TypeError(f"randn_like: needs a floating point dtype, got {dtype}")
    return _make(random.generator().standard_normal(shape).astype(dtype), dtype, requires_grad)


def rand_like(input, *, dtype=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    if dtype.kind != "f":
        raise TypeError(f"rand_like: needs a floating point dtype, got {dtype}")
    return _make(random.generator().random(shape).astype(dtype), dtype, requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None):
    if high is None:
        low, high = 0, low
    shape, dtype = _like(input, dtype)
    return _make(random.generator().integers(low, high, shape).astype(dtype), dtype, False)


def randperm(n, *, dtype=None, requires_grad=False):
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    dtype = _dtype(dtype, np.int64)
    return _make(random.generator().permutation(int(n)).astype(dtype), dtype, requires_grad)


# ---- Tensor.new_*: a new tensor with this tensor's dtype unless dtype= says otherwise ----------
def new_zeros(self, *size, dtype=None, requires_grad=False):
    return full_like(empty(*size, dtype=_dtype(dtype, self.dtype)), 0,
                     requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, requires_grad=False):
    return full_like(empty(*size, dtype=_dtype(dtype, self.dtype)), 1,
                     requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, requires_grad=False):
    return full_like(empty(size, dtype=_dtype(dtype, self.dtype)), fill_value,
                     requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, requires_grad=False):
    return empty(*size, dtype=_dtype(dtype, self.dtype), requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, requires_grad=False):
    data = data._array if isinstance(data, Tensor) else data
    array = np.array(data, dtype=_dtype(dtype, self.dtype))  # a copy, as PyTorch's
    return _make(array, array.dtype, requires_grad)
