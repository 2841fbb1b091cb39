"""PyTorch-style dtype objects (``hpnn.float32``, ``hpnn.int64``, ...), the default float dtype,
and the conversion between them and numpy dtypes.

A dtype object wraps one numpy dtype: it compares equal to itself, to the numpy dtype and to
anything numpy reads as that dtype (``x.dtype == np.float32`` keeps working), and it has a
``dtype`` attribute, so ``np.dtype(hpnn.float64)`` and ``array.astype(hpnn.float64)`` work."""
from __future__ import annotations

import builtins

import numpy as np

__all__ = ["dtype", "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
           "int8", "uint8", "bool", "float", "double", "half", "long", "int", "short",
           "get_default_dtype", "set_default_dtype", "is_floating_point", "to_numpy", "from_numpy"]


class dtype:
    """One element type (as ``torch.dtype``)."""

    __slots__ = ("name", "dtype", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name, numpy_dtype):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", None if numpy_dtype is None else np.dtype(numpy_dtype))
        object.__setattr__(self, "is_floating_point", name.startswith(("float", "bfloat")))
        object.__setattr__(self, "is_signed", not name.startswith(("uint", "bool")))
        object.__setattr__(self, "itemsize", 2 if numpy_dtype is None
                           else np.dtype(numpy_dtype).itemsize)

    def __setattr__(self, name, value):
        raise AttributeError("hpnn dtypes are immutable")

    numpy_dtype = property(lambda self: _usable(self))
    kind = property(lambda self: _usable(self).kind)
    is_complex = property(lambda self: False)

    def __getattr__(self, name):  # numpy's dtype attributes (char, str, type, ...)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_usable(self), name)

    def __repr__(self):
        return f"hpnn.{self.name}"

    __str__ = __repr__

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self is other
        if self.dtype is None:
            return False
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.dtype) if self.dtype is not None else hash(self.name)

    def __reduce__(self):
        return (getattr, (_module(), self.name))

    def to_complex(self):
        raise NotImplementedError("hpnn has no complex dtypes")


def _module():
    import hpnn
    return hpnn


def _usable(d):
    if d.dtype is None:
        raise NotImplementedError(f"{d!r} is not supported by hpnn (numpy has no {d.name}); "
                                  "use hpnn.float32 or hpnn.float16")
    return d.dtype


float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
float16 = half = dtype("float16", np.float16)
bfloat16 = dtype("bfloat16", None)
int64 = long = dtype("int64", np.int64)
int32 = int = dtype("int32", np.int32)
int16 = short = dtype("int16", np.int16)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
bool = dtype("bool", np.bool_)

_BY_NUMPY = {d.dtype: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8,
                                  bool)}
_default = {"dtype": float32}


def get_default_dtype():
    """The dtype of floats made from Python numbers (``hpnn.tensor(1.5)``, ``zeros``, ...)."""
    return _default["dtype"]


def set_default_dtype(d):
    """Make ``d`` (hpnn.float32 or hpnn.float64) the default float dtype."""
    d = from_numpy(to_numpy(d))
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {d}")
    _default["dtype"] = d


def default_numpy():
    return _default["dtype"].dtype


def to_numpy(d, default=None) -> np.dtype:
    """The numpy dtype for ``d``: an hpnn dtype, a numpy dtype or scalar type, a name, or the
    Python types float (the default float dtype, as PyTorch), int (int64) and bool."""
    if d is None:
        return np.dtype(default_numpy() if default is None else default)
    if isinstance(d, dtype):
        return _usable(d)
    if d is builtins.float:
        return default_numpy()
    if d is builtins.int:
        return np.dtype(np.int64)
    if d is builtins.bool:
        return np.dtype(np.bool_)
    if isinstance(d, str):
        d = d.rsplit(".", 1)[-1]  # "torch.float64" / "hpnn.float64" -> "float64"
        named = globals().get(d)
        if isinstance(named, dtype):
            return _usable(named)
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"argument 'dtype': not a dtype: {d!r}") from None


def from_numpy(numpy_dtype) -> dtype:
    """The hpnn dtype of a numpy dtype (float64, int32, ...)."""
    found = _BY_NUMPY.get(np.dtype(numpy_dtype))
    if found is None:
        raise TypeError(f"hpnn has no dtype for numpy's {np.dtype(numpy_dtype)}")
    return found


def is_floating_point(input) -> builtins.bool:
    """Whether ``input`` (a tensor) holds floating point values."""
    return input._array.dtype.kind == "f"


# torch.FloatTensor-style names, as Tensor.type() returns them
TYPE_NAMES = {float32: "FloatTensor", float64: "DoubleTensor", float16: "HalfTensor",
              int64: "LongTensor", int32: "IntTensor", int16: "ShortTensor",
              int8: "CharTensor", uint8: "ByteTensor", bool: "BoolTensor"}
