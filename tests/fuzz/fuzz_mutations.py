"""Mutations of one argument of a valid call. Each returns (new_value, expect, label):
expect "raise" means the input is bad by construction (the call must raise a clean exception),
"oracle" means either outcome may be right (a result must match the reference twin; where the
twin rejects the input, the kernel must too), "nocompare" means only a crash or an unclean
exception is wrong (non-finite values, where NaN propagation may legitimately differ).
`variant` (an int drawn by hypothesis) picks among a mutation's options deterministically."""
import numpy as np

GEOMETRY = ("kernel_size", "stride", "padding", "dilation", "groups")
INDEX_ARGS = ("indices", "target")


def role(name, value, in_place):
    if name in in_place and isinstance(value, np.ndarray):
        return "out"
    if isinstance(value, np.ndarray):
        return "array" if value.dtype == np.float32 else "index"
    if name in GEOMETRY:
        return "geometry"
    if name.endswith("_shape") or name == "input_shape":
        return "shape"
    if isinstance(value, tuple):
        return "saved"
    if isinstance(value, str):
        return "choice"
    if isinstance(value, (bool, np.bool_)):
        return "flag"
    if value is None:
        return "optional"
    return "scalar"


def pick(options, variant):
    return options[variant % len(options)]


# ---- arrays -------------------------------------------------------------------------------

def _wrong_dtype(v, variant, r):
    dtype = pick([np.float64, np.float16, np.int32, np.bool_, object, np.int64, np.uint8,
                  np.complex64, ">f4"], variant)
    bad = "raise" if r in ("array", "out") else "oracle"
    return np.asarray(v).astype(dtype), bad, f"dtype {np.dtype(dtype)}"


def _python_object(v, variant, r):
    obj = pick([None, "tensor", 3.0, {"a": 1}, object(), "list", ()], variant)
    if obj == "list":
        obj = v.tolist()
    bad = "raise" if r in ("array", "out") and obj is not None else "oracle"
    return obj, bad, f"python object {type(obj).__name__}"


def _rank(v, variant, r):
    if variant % 3 == 0 or v.ndim == 0:
        return v[None], "oracle", "rank +1"
    if variant % 3 == 1:
        return np.ascontiguousarray(v.reshape(-1)), "oracle", "flattened"
    return np.ascontiguousarray(v[0]), "oracle", "rank -1"


def _dimension(v, variant, r, rng):
    if v.ndim == 0:
        return v, "oracle", "unchanged 0-d"
    axis = variant % v.ndim
    shape = list(v.shape)
    shape[axis] = pick([0, shape[axis] + 1, max(shape[axis] - 1, 0), 1, shape[axis] * 2],
                       variant // v.ndim)
    new = rng.standard_normal(shape).astype(v.dtype) if v.dtype.kind == "f" else \
        np.resize(v, shape).astype(v.dtype)
    return new, "oracle", f"axis {axis} resized to {shape[axis]}"


def same_values_view(v, variant):
    """v's values in another layout: strided, reversed, Fortran-ordered or misaligned."""
    kind = variant % 4
    if kind == 0:
        wide = np.zeros(v.shape[:-1] + (2 * v.shape[-1],), v.dtype) if v.ndim else None
        if wide is None:
            return v.copy(), "0-d copy"
        wide[..., ::2] = v
        return wide[..., ::2], "every other element (strided)"
    if kind == 1:
        return np.ascontiguousarray(v[::-1])[::-1], "reversed view (negative stride)"
    if kind == 2:
        return np.asfortranarray(v), "Fortran order"
    offset = 1 + variant // 4 % (v.itemsize - 1) if v.itemsize > 1 else 0
    raw = np.zeros(v.nbytes + v.itemsize, np.uint8)
    view = raw[offset:offset + v.nbytes].view(v.dtype).reshape(v.shape)
    view[...] = v
    return view, f"misaligned by {offset} bytes"


def _layout(v, variant, r):
    view, label = same_values_view(v, variant)
    return view, "oracle", label


def _broadcast(v, variant, r):
    if v.ndim == 0 or v.shape[0] == 0:
        return v, "oracle", "unchanged"
    view = np.broadcast_to(v[:1], v.shape)
    return view, "raise" if r == "out" else "oracle", "zero-stride broadcast (read-only)"


def _huge_broadcast(v, variant, r):
    """A view no machine can copy (>= 2**40 bytes): must raise MemoryError or ValueError."""
    if v.ndim == 0:
        v = v.reshape(1)
    axis = variant % v.ndim
    shape = list(v.shape)
    rest = max(int(np.prod([s for i, s in enumerate(shape) if i != axis])), 1)
    power = 40 + variant // v.ndim % 16
    shape[axis] = max(2 ** power // rest, 2)
    while np.prod(shape, dtype=object) * v.itemsize >= 2 ** 62:
        shape[axis] //= 2
    small = np.take(v, [0], axis=axis) if v.shape[axis] else np.ones([1 if i == axis else s
                                                                      for i, s in
                                                                      enumerate(v.shape)],
                                                                     v.dtype)
    return np.broadcast_to(small, shape), "raise", f"broadcast to {tuple(shape)}"


def _read_only(v, variant, r):
    copy = v.copy()
    copy.flags.writeable = False
    return copy, "raise" if r == "out" else "oracle", "read-only"


def _non_finite(v, variant, r, rng):
    copy = np.array(v, copy=True)
    if copy.size == 0 or copy.dtype.kind != "f":
        return copy, "oracle", "unchanged"
    flat = copy.reshape(-1)
    values = [np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-45]
    for i in rng.integers(0, flat.size, 1 + variant % 3):
        flat[i] = pick(values, variant // 3 + int(i))
    return copy, "nocompare", "non-finite/extreme values"


def _index_range(v, variant, r, rng, limit):
    copy = np.array(v, copy=True)
    if copy.size == 0:
        return copy, "oracle", "unchanged"
    info = np.iinfo(copy.dtype) if copy.dtype.kind in "iu" else None
    if info is None:
        return copy, "oracle", "unchanged"
    bad = [limit, limit + 7, -1, -2, -101, info.max, info.min]
    value = pick([b for b in bad if info.min <= b <= info.max], variant)
    copy.reshape(-1)[rng.integers(0, copy.size)] = value
    return copy, "raise", f"index {value} out of range [0, {limit})"


ARRAY_MUTATIONS = {
    "dtype": _wrong_dtype, "object": _python_object, "rank": _rank, "layout": _layout,
    "broadcast": _broadcast, "huge_broadcast": _huge_broadcast, "read_only": _read_only,
}
NEEDS_RNG = {"dimension": _dimension, "non_finite": _non_finite}


def mutate_array(name, v, r, mutation, variant, rng, index_limit):
    if mutation in ARRAY_MUTATIONS:
        return ARRAY_MUTATIONS[mutation](v, variant, r)
    if mutation in NEEDS_RNG:
        return NEEDS_RNG[mutation](v, variant, r, rng)
    if mutation == "index_range" and name in INDEX_ARGS and index_limit:
        return _index_range(v, variant, r, rng, index_limit)
    return v, "oracle", "unchanged"


# ---- python values ------------------------------------------------------------------------

BAD_SCALARS = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e30, 2 ** 63, -2 ** 63,
               2 ** 100, "0.1", None, [0.1], 1j, True, np.float64(0.5), -0.5, 7]


def mutate_geometry(name, value, variant, rng):
    options = [0, -1, -2 ** 31, 2 ** 31, 2 ** 62, 2 ** 64, (1,), (1, 2, 3), (0, 1), (-1, 2),
               1.5, None, "a", (2 ** 31, 1), (1, 2 ** 40), 2 ** 63, -2 ** 63 - 1, (1, 2 ** 63),
               2 ** 31 - 1, np.int64(0), np.int32(-1), 2 ** 100]
    if variant % 3 == 0:  # random small integers, the kind that reached a division by zero
        size = 2 if name != "groups" else 1
        new = tuple(int(x) for x in rng.integers(-2, 6, size))
        new = new[0] if size == 1 else new
    else:
        new = pick(options, variant // 3)
    return new, _geometry_expect(name, new), f"{name}={new!r}"


def _geometry_expect(name, new):
    items = new if isinstance(new, tuple) else (new,)
    ints = [int(x) for x in items if isinstance(x, (int, np.integer)) and not isinstance(x, bool)]
    if any(x < 0 for x in ints) or (name != "padding" and 0 in ints):
        return "raise"
    return "oracle"


def mutate_shape(value, variant, rng):
    options = [(-1,) + tuple(value[1:]), tuple(value[:-1]), tuple(value) + (1,),
               (0,) + tuple(value[1:]), tuple(value[:-1]) + (2 ** 40,), None, "shape",
               tuple(float(x) for x in value), tuple(value[:-1]) + (-5,), (2 ** 63,) * len(value),
               tuple(value[:-1]) + (2 ** 64,), (2 ** 31,) + tuple(value[1:]),
               tuple(value[:-1]) + (-2 ** 63 - 1,), (2 ** 62,) * len(value)]
    new = pick(options, variant)
    negative = isinstance(new, tuple) and any(isinstance(x, int) and x < 0 for x in new)
    return new, "raise" if negative else "oracle", f"shape {new!r}"


def mutate_python(name, value, r, variant, rng):
    if r == "geometry":
        return mutate_geometry(name, value, variant, rng)
    if r == "shape":
        return mutate_shape(value, variant, rng)
    if r == "choice":
        new = pick(["bogus", None, 3, value.upper(), "", ["mean"]], variant)
    elif r == "flag":
        new = pick([None, 2, "yes", np.bool_(True), 1.5, []], variant)
    else:
        new = pick(BAD_SCALARS, variant)
    return new, "oracle", f"{name}={new!r}"
