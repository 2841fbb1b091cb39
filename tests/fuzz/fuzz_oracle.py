"""Judging one fuzzed call: which exceptions are clean, whether a returned result matches the
reference twin, and copies of argument sets that keep their memory layout (views of one buffer
stay views of one copied buffer, at the same offsets and strides), so native and reference see
the same aliasing."""
import numbers

import numpy as np

# A clean rejection of bad input (hpnn's own errors derive from these).
ALLOWED = (TypeError, ValueError, IndexError, MemoryError, OverflowError, NotImplementedError)

# float32 kernels against float32 numpy twins on small, unit-scale inputs: the GEMM-based ones
# (conv, RNN) sum up to ~50 products in another order; 2e-3 of the largest magnitude is ~100
# float32 ulps there, far below any real bug (a wrong element is off by O(1)).
TOLERANCE = 2e-3


def _root(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _address(array):
    return array.__array_interface__["data"][0]


def clone(value, roots=None):
    """A deep copy of value (arrays, tuples, lists, dicts, namedtuples) in which arrays sharing a
    root buffer share one copied buffer, at the same byte offsets, strides and writeability."""
    roots = {} if roots is None else roots
    if isinstance(value, np.ndarray):
        return _clone_array(value, roots)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(clone(v, roots) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(clone(v, roots) for v in value)
    if isinstance(value, dict):
        return {k: clone(v, roots) for k, v in value.items()}
    return value


def _clone_array(array, roots):
    root = _root(array)
    if root.dtype == object or array.dtype == object:
        return array.copy()
    if not root.flags.c_contiguous:  # a root we did not make: copy the view plainly
        copy = np.empty_like(array, order="K")
        copy[...] = array
        copy.flags.writeable = array.flags.writeable
        return copy
    if id(root) not in roots:
        roots[id(root)] = (root, root.copy().reshape(-1).view(np.uint8))
    _, raw = roots[id(root)]
    offset = _address(array) - _address(root)
    if array.size == 0:
        view = np.empty(array.shape, array.dtype)
    else:
        view = _typed_view(raw, offset, array)
    view.flags.writeable = array.flags.writeable
    return view


def _typed_view(raw, offset, array):
    """array's shape, strides and dtype over raw's bytes from offset."""
    return np.ndarray(array.shape, array.dtype, buffer=raw.data, offset=offset,
                      strides=array.strides)


def has_non_finite(value):
    for array in arrays_in(value):
        if array.dtype.kind == "f" and array.size and not np.isfinite(array).all():
            return True
    return False


def arrays_in(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from arrays_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from arrays_in(v)


def mismatch(actual, expected, where="result"):
    """None when actual matches expected (nested tuples of arrays/None/numbers), else a string
    saying where and by how much they differ."""
    if expected is None or actual is None:
        return None if actual is None and expected is None else f"{where}: None vs not None"
    if isinstance(expected, dict):
        return next(filter(None, (mismatch(actual[k], v, f"{where}.{k}")
                                  for k, v in expected.items())), None)
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return f"{where}: structure differs"
        for i, (a, e) in enumerate(zip(actual, expected)):
            found = mismatch(a, e, f"{where}[{i}]")
            if found:
                return found
        return None
    if not isinstance(expected, (np.ndarray, np.generic, numbers.Number)) or \
            isinstance(expected, bool):
        return None if actual == expected else f"{where}: {actual!r} vs {expected!r}"
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        return f"{where}: shape {actual.shape} vs reference {expected.shape}"
    if expected.dtype.kind in "iub" or actual.dtype.kind in "iub":
        if not np.array_equal(actual, expected):
            return f"{where}: {int((actual != expected).sum())} integer elements differ"
        return None
    return _float_mismatch(actual.astype(np.float64), expected.astype(np.float64), where)


def _float_mismatch(actual, expected, where):
    if actual.size == 0:
        return None
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    if (nan_a != nan_e).any():
        return f"{where}: NaN in {int((nan_a != nan_e).sum())} places where the reference differs"
    finite = np.isfinite(expected) & np.isfinite(actual)
    if (np.isinf(actual) != np.isinf(expected)).any():
        return f"{where}: inf where the reference differs"
    if not finite.any():
        return None
    scale = max(float(np.abs(expected[finite]).max()), 1.0)
    error = np.abs(actual[finite] - expected[finite])
    if error.max() > TOLERANCE * scale:
        return (f"{where}: {int((error > TOLERANCE * scale).sum())} elements differ, by up to "
                f"{float(error.max()):.3g} (scale {scale:.3g})")
    return None
