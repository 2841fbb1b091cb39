"""``hpnn.FloatTensor(...)``-style constructors, as PyTorch's legacy typed tensor classes: with
sizes they make an uninitialised-free (zero-filled) tensor, with data a tensor of that dtype.
``isinstance(x, hpnn.FloatTensor)`` checks the dtype."""
from __future__ import annotations

import numpy as np

from . import dtypes
from .tensor import Tensor


class _TypedMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._array.dtype == cls.dtype.dtype

    def __call__(cls, *args):
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return Tensor(args[0], dtype=cls.dtype)  # data
        shape = tuple(int(a) for a in args)  # sizes (zeros: hpnn never hands out garbage)
        return Tensor(np.zeros(shape, cls.dtype.dtype))


def _typed(name, dtype):
    return _TypedMeta(name, (), {"dtype": dtype})


FloatTensor = _typed("FloatTensor", dtypes.float32)
DoubleTensor = _typed("DoubleTensor", dtypes.float64)
LongTensor = _typed("LongTensor", dtypes.int64)
IntTensor = _typed("IntTensor", dtypes.int32)
BoolTensor = _typed("BoolTensor", dtypes.bool)
