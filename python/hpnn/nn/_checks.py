"""Argument checks shared by the nn modules: a bad argument raises TypeError (wrong type) or
ValueError (bad value) naming the module and the argument, before anything is allocated."""
from __future__ import annotations

import numbers
import os

import numpy as np

from ..tensor import Tensor


def positive_int(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: argument '{name}' must be an int, got "
                        f"{type(value).__name__} ({value!r})")
    if value <= 0:
        raise ValueError(f"{owner}: argument '{name}' must be a positive int, got {value!r}")
    return int(value)


def _physical_memory():
    """Bytes of RAM, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def affordable_parameters(count, owner):
    """MemoryError before a module allocates ``count`` float32 parameters that cannot fit in
    this machine's RAM: a constructor building them one layer at a time (e.g. an RNN with
    num_layers=2**62) would otherwise loop for ever instead of failing at one allocation."""
    limit = _physical_memory()
    if limit is not None and count * 4 > limit:
        raise MemoryError(f"{owner}: {count:,} parameters ({count * 4:,} bytes) do not fit in "
                          f"this machine's memory ({limit:,} bytes)")


def _pair(value, name, owner):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{owner}: argument '{name}' must be an int or a pair of ints, got "
                             f"{value!r}")
        items = tuple(value)
    else:
        items = (value, value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"{owner}: argument '{name}' must be an int or a pair of ints, got "
                            f"{value!r}")
    return tuple(int(item) for item in items)


def positive_pair(value, name, owner):
    """An int or a pair of ints, each > 0 (kernel sizes, strides, dilations)."""
    pair = _pair(value, name, owner)
    if min(pair) <= 0:
        raise ValueError(f"{owner}: argument '{name}' must be positive, got {value!r}")
    return pair


def non_negative_pair(value, name, owner):
    """An int or a pair of ints, each >= 0 (paddings)."""
    pair = _pair(value, name, owner)
    if min(pair) < 0:
        raise ValueError(f"{owner}: argument '{name}' must be non-negative, got {value!r}")
    return pair


def real(value, name, owner, low=None, high=None, allow_none=False):
    """A real number in [low, high] (either bound optional), as a float."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: argument '{name}' must be a number, got "
                        f"{type(value).__name__} ({value!r})")
    value = float(value)
    if not (low is None or value >= low) or not (high is None or value <= high) or value != value:
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{owner}: argument '{name}' must be in {bounds}, got {value!r}")
    return value


def choice(value, name, owner, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: argument '{name}' must be one of {choices}, got {value!r}")
    return value


def _type_name(value):
    module = type(value).__module__
    return type(value).__name__ if module == "builtins" else f"{module}.{type(value).__name__}"


def tensor_arg(value, name, owner):
    """``value`` itself when it is a Tensor; else TypeError. A numpy array is not converted:
    a silent copy would, e.g., leave an in-place ReLU's array unchanged."""
    if isinstance(value, Tensor):
        return value
    hint = "; wrap it with hpnn.tensor(...)" if isinstance(value, (np.ndarray, list)) else ""
    raise TypeError(f"{owner}: argument '{name}' must be an hpnn.Tensor, got "
                    f"{_type_name(value)}{hint}")


def state_arg(value, name, owner):
    """An optional state argument: None, a Tensor, or a tuple/list of Tensors."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            tensor_arg(item, name, owner)
        return value
    return tensor_arg(value, name, owner)
