"""The dtype rule of hpnn.kernels, shared by the wrappers written in Python: array arguments
must be float32 numpy arrays; anything else raises TypeError naming the function and the
argument (convert explicitly, precision is never changed silently). The same message as the
C++ bindings' (csrc/bindings/array_checks.cpp)."""
import functools
import numbers

import numpy as np


def require_float32(fn, name, value):
    """value itself when it is a float32 ndarray (native byte order), a numpy.float32 scalar as
    a 0-d array; TypeError otherwise."""
    if isinstance(value, np.float32):
        return np.asarray(value)
    if not isinstance(value, np.ndarray):  # numpy scalars of other types included
        raise TypeError(f"{fn}: argument '{name}' must be a float32 numpy.ndarray, got "
                        f"{type(value).__name__}")
    if value.dtype != np.float32 or not value.dtype.isnative:
        raise TypeError(f"{fn}: argument '{name}' must be float32, got {value.dtype} "
                        "(convert with .astype(numpy.float32))")
    return value


def require_float32_or_none(fn, name, value):
    return None if value is None else require_float32(fn, name, value)


def require_real(fn, name, value):
    """value as a float when it is a real number (not a bool); TypeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: argument '{name}' must be a real number, got "
                        f"{type(value).__name__}")
    return float(value)


def require_scalar_or_float32(fn, name, value):
    """An upstream gradient: a real python number, or a float32 ndarray or numpy scalar."""
    if isinstance(value, np.generic):
        return require_float32(fn, name, np.asarray(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return require_float32(fn, name, value)



def deferred(reference, *args, **kwargs):
    """``reference(*args, **kwargs)`` for a call the native path declined, its TypeError /
    ValueError / IndexError naming the kernel (hpnn.reference's functions have the kernels'
    names; their messages name the argument but not the function), as the bindings' errors do.
    Only the fallback pays for this: native calls never come here."""
    name = reference.__name__
    try:
        return reference(*args, **kwargs)
    except (TypeError, ValueError, IndexError) as error:
        if str(error).startswith(name):
            raise
        try:
            renamed = type(error)(f"{name}: {error}")
        except Exception:  # an exception class whose constructor takes more than a message
            raise error from None
        raise renamed from error


class Deferring:
    """A reference module whose functions go through ``deferred``: what a wrapper module calls
    as ``_ref`` for the calls its native path declines."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return functools.partial(deferred, getattr(self._module, name))
