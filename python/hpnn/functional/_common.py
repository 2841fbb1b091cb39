"""Helpers shared by the functional ops: argument normalisation and array layout."""
from __future__ import annotations

import warnings

import numpy as np

from ..backend import get_backend

REDUCTIONS = ("none", "mean", "sum")


def _float_dtype(tensor):
    """tensor's dtype when it is a float one, else the default float dtype (float32)."""
    return tensor._array.dtype if tensor._array.dtype.kind == "f" else np.float32


def c32(array):
    """Contiguous float32 (what the native kernels want); no copy when it already is. A
    float64 array stays float64 on the numpy backend (hpnn's float64 path runs on the twins)."""
    # np.ascontiguousarray would turn a 0-d array into shape (1,)
    if getattr(array, "dtype", None) == np.float64 and get_backend() == "numpy":
        return np.asarray(array, order="C")
    return np.asarray(array, dtype=np.float32, order="C")


def pair(value, name):
    """An int or a pair of ints as a pair of ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"argument '{name}' must be an int or a pair, got {value!r}")
        return tuple(_int(v, name) for v in value)
    return (_int(value, name),) * 2


def _int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"argument '{name}' must hold ints, got {value!r}")
    return int(value)


def reduction_arg(size_average, reduce, reduction, name):
    """The reduction string, from PyTorch's deprecated size_average/reduce pair when either
    is given (as torch's _Reduction.legacy_get_string)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: argument 'reduction' must be one of {REDUCTIONS}, got "
                         f"{reduction!r}")
    return reduction


def unbatched(function, input, batched_ndim, *args, **kwargs):
    """Run ``function`` (meant for batched input of ``batched_ndim`` dims) on input without
    the batch dim too, as PyTorch does for conv and pooling."""
    if input.ndim == batched_ndim:
        return function(input, *args, **kwargs)
    out = function(input.unsqueeze(0), *args, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


def broadcast_target_shape(input, target, name, stacklevel):
    """The shape input and target broadcast to; as PyTorch, a target of another shape than the
    input's warns (stacklevel counts from the caller of this function)."""
    if target.shape == input.shape:
        return tuple(input.shape)
    try:
        shape = np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(f"{name}: argument 'target' of shape {tuple(target.shape)} does not "
                         f"broadcast with the input's shape {tuple(input.shape)}") from None
    warnings.warn(f"{name}: using a target size ({tuple(target.shape)}) that is different to "
                  f"the input size ({tuple(input.shape)}); they are broadcast", UserWarning,
                  stacklevel=stacklevel + 1)
    return shape
