"""Fuzz cases over hpnn.kernels (judged against hpnn.reference) and over the raw bindings in
hpnn._C.kernels (judged on crashes, exception types and bad-by-construction inputs only: they
have no twin). A case is a tuple of plain values drawn by hypothesis; `describe` and `run`
rebuild the call from it deterministically, so its repr is the reproducer."""
import warnings

import numpy as np

from hpnn import _C, kernels, reference

from fuzz_mutations import mutate_array, mutate_python, role
from fuzz_oracle import ALLOWED, clone, has_non_finite, mismatch
from fuzz_valid import BUILDERS, IN_PLACE, PUBLIC

ARRAY_MUTATIONS = ("dtype", "object", "rank", "dimension", "layout", "broadcast",
                   "huge_broadcast", "read_only", "non_finite", "index_range", "overlap")


def valid_call(name, seed):
    return BUILDERS[name](np.random.default_rng(seed))


def argument_roles(name):
    call = valid_call(name, 0)
    return {arg: role(arg, value, IN_PLACE.get(name, ())) for arg, value in call.items()}


def _index_limit(call, arg):
    if arg == "indices" and "num_embeddings" in call:  # embedding backward: rows of the table
        return call["num_embeddings"]
    if arg == "indices" and set(call) == {"weight", "indices"}:  # embedding forward
        return call["weight"].shape[0]
    if arg == "indices":  # max-pool indices address one input plane
        shape = call.get("input_shape") or call["output"].shape
        return int(np.prod(shape[-2:])) * (4 if "output" in call else 1)
    first = next(v for v in call.values() if isinstance(v, np.ndarray) and v.ndim == 2)
    return first.shape[1]


def _overlap(call, arg, variant):
    """arg and another same-shaped float32 argument as two views of one buffer, `shift`
    elements apart (0: the same array)."""
    out = call[arg]
    others = [k for k, v in call.items() if k != arg and isinstance(v, np.ndarray)
              and v.shape == out.shape and v.dtype == np.float32]
    if not others:
        return call, "oracle", "no same-shaped partner"
    other = others[variant % len(others)]
    shift = variant // len(others) % min(out.size, 9)
    base = np.random.default_rng(variant).standard_normal(out.size + shift).astype(np.float32)
    call = dict(call)
    call[arg] = base[shift:shift + out.size].reshape(out.shape)
    call[other] = base[:out.size].reshape(out.shape)
    return call, "oracle", f"{arg} and {other} overlap, {shift} elements apart"


def build(case):
    """(call arguments, expect, description) of case = (name, arg, mutation, variant, seed)."""
    name, arg, mutation, variant, seed = case
    call = valid_call(name, seed)
    rng = np.random.default_rng(seed + 1)
    value = call[arg]
    r = role(arg, value, IN_PLACE.get(name, ()))
    if mutation == "valid":
        return call, "oracle", "valid call"
    if mutation == "overlap" and r == "out":
        return _overlap(call, arg, variant)
    if r in ("array", "out", "index"):
        limit = _index_limit(call, arg) if arg in ("indices", "target") else None
        new, expect, label = mutate_array(arg, value, r, mutation, variant, rng, limit)
    elif r == "saved":
        members = [i for i, m in enumerate(value) if isinstance(m, np.ndarray)]
        i = members[variant % len(members)]
        new_member, expect, label = mutate_array(arg, value[i], "array", mutation,
                                                 variant // len(members), rng, None)
        new = type(value)(*[new_member if j == i else m for j, m in enumerate(value)])
        label = f"member {i}: {label}"
    else:
        new, expect, label = mutate_python(arg, value, r, variant, rng)
    call[arg] = new
    return call, expect, f"{arg}: {label}"


def describe_value(value):
    if isinstance(value, np.ndarray):
        return (f"array(shape={value.shape}, dtype={value.dtype}, strides={value.strides}, "
                f"writeable={value.flags.writeable}, aligned={value.flags.aligned})")
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return f"{type(value).__name__}({', '.join(map(describe_value, value))})"
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


def describe(call):
    return ", ".join(f"{k}={describe_value(v)}" for k, v in call.items())


def judge(result_or_error, expect, reference_call):
    """None when the outcome is acceptable, else a one-line failure."""
    if isinstance(result_or_error, BaseException):
        error = result_or_error
        if isinstance(error, ALLOWED):
            return None
        return f"unclean exception {type(error).__name__}: {str(error)[:200]}"
    if expect == "raise":
        return "silent acceptance of bad input"
    if expect == "nocompare" or reference_call is None:
        return None
    return reference_call(result_or_error)


def _compare_with_reference(name, call, native_args):
    ref_args = clone(call)

    def compare(result):
        if has_non_finite(call):
            return None
        try:
            expected = getattr(reference, name)(**ref_args)
        except MemoryError:
            return None
        except Exception as error:  # noqa: BLE001 - any rejection by the twin is a verdict
            return (f"accepted input the reference rejects ({type(error).__name__}: "
                    f"{str(error)[:150]})")
        found = mismatch(result, expected) or mismatch(native_args, ref_args, "arguments")
        return f"silent wrong answer: {found}" if found else None
    return compare


def run(case, log):
    name = case[0]
    call, expect, label = build(case)
    native_args = clone(call)
    log(f"kernel {case!r} :: {label} :: hpnn.kernels.{name}({describe(call)})")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            outcome = getattr(kernels, name)(**native_args)
        except BaseException as error:  # noqa: BLE001 - judged below
            if isinstance(error, KeyboardInterrupt):
                raise
            outcome = error
        verdict = judge(outcome, expect, _compare_with_reference(name, call, native_args))
    return verdict and f"{name} [{label}]: {verdict}"


# ---- raw bindings ---------------------------------------------------------------------------

RAW_NAMES = sorted(n for n in dir(_C.kernels) if not n.startswith("__"))
RAW_IN_PLACE = {"_sgd_step": (0, 2), "_adam_step": (0, 2, 3, 4), "_rmsprop_step": (0, 2, 3, 4),
                "_adagrad_step": (0, 2), "_activation_forward": (3,)}


def record_raw_calls():
    """{binding: [args, ...]}: what the Python wrappers pass each binding on the valid calls."""
    recorded = {}
    originals = {n: getattr(_C.kernels, n) for n in RAW_NAMES}

    def recorder(binding):
        def call(*args, **kwargs):
            recorded.setdefault(binding, []).append(clone(args) + tuple(kwargs.values()))
            return originals[binding](*args, **kwargs)
        return call
    for binding in RAW_NAMES:
        setattr(_C.kernels, binding, recorder(binding))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for name in PUBLIC:
                getattr(kernels, name)(**valid_call(name, 0))
    finally:
        for binding, fn in originals.items():
            setattr(_C.kernels, binding, fn)
    return recorded


def _raw_role(binding, position, value):
    if position in RAW_IN_PLACE.get(binding, ()) and isinstance(value, np.ndarray):
        return "out"
    if isinstance(value, np.ndarray):
        return "array" if value.dtype == np.float32 else "index"
    if isinstance(value, tuple) and all(isinstance(x, (int, bool)) for x in value):
        return "rawgeom"
    if isinstance(value, tuple):
        return "saved"
    return role(f"arg{position}", value, ())


def integer_positions(args):
    """Positions of a binding's geometry / shape tuples and integer scalars (not flags)."""
    return [i for i, value in enumerate(args) if _raw_role("", i, value) == "rawgeom" or
            (isinstance(value, int) and not isinstance(value, bool))]


# Integers at the edges of the C++ types: int32 and int64 limits, beyond int64 (must raise
# OverflowError or ValueError, never an unnamed RuntimeError), and the small values that break
# index arithmetic (0: a division, -1: a negative extent).
EDGE_INTS = (0, -1, 1, 2, 2 ** 31 - 1, 2 ** 31, -2 ** 31, 2 ** 32, 2 ** 62, 2 ** 63 - 1, 2 ** 63,
             -2 ** 63, -2 ** 63 - 1, 2 ** 64, 2 ** 100)


def _mutate_raw_geometry(value, variant, rng):
    """A geometry or shape tuple with entries changed: all small random integers, one or two
    entries moved by a few (the near misses that pass most checks: a zero dilation with a
    large padding reached a division by zero), or one entry set to an edge integer."""
    values = list(value)
    kind = variant % 4
    if kind == 0:
        values = [int(x) for x in rng.integers(-1, 5, len(values))]
    elif kind in (1, 2):
        for i in rng.choice(len(values), min(kind, len(values)), replace=False):
            values[i] = int(max(values[i], 0) + rng.integers(-3, 4))
    else:
        i = variant // 4 % len(values)
        values[i] = EDGE_INTS[variant // 4 // len(values) % len(EDGE_INTS)]
    return tuple(values), "nocompare", f"geometry {tuple(values)!r}"


def build_raw(case, recorded):
    binding, which, position, mutation, variant, seed = case
    calls = recorded[binding]
    args = list(clone(calls[which % len(calls)]))
    position %= len(args)
    value = args[position]
    rng = np.random.default_rng(seed)
    r = _raw_role(binding, position, value)
    if r == "rawgeom":
        new, expect, label = _mutate_raw_geometry(value, variant, rng)
    elif r in ("array", "out", "index"):
        new, expect, label = mutate_array("", value, r, mutation, variant, rng, None)
        expect = "raise" if expect == "raise" else "nocompare"
    elif value is None:
        new, expect, label = mutate_python("", 0.5, "scalar", variant, rng)
        if mutation in ("dtype", "layout", "huge_broadcast"):  # an array where None was passed
            donor = next((a for a in args if isinstance(a, np.ndarray)), np.zeros(3, np.float32))
            new, expect, label = mutate_array("", donor, "array", mutation, variant, rng, None)
            expect = "nocompare" if mutation != "dtype" else expect
    elif r == "saved":
        new, expect, label = None, "nocompare", "saved tuple replaced by None"
    elif isinstance(value, int) and not isinstance(value, bool) and variant % 2:
        new = EDGE_INTS[variant // 2 % len(EDGE_INTS)]
        expect, label = "nocompare", f"integer {new}"
    else:
        new, expect, label = mutate_python("", value, r, variant, rng)
        expect = "nocompare"
    args[position] = new
    return args, expect, f"arg{position}: {label}"


def run_raw(case, recorded, log):
    args, expect, label = build_raw(case, recorded)
    log(f"raw {case!r} :: {label} :: hpnn._C.kernels.{case[0]}"
        f"({', '.join(map(describe_value, args))})")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            outcome = getattr(_C.kernels, case[0])(*args)
        except BaseException as error:  # noqa: BLE001 - judged below
            if isinstance(error, KeyboardInterrupt):
                raise
            outcome = error
    if outcome is NotImplemented:  # the binding declines: its wrapper then raises or falls back
        return None
    verdict = judge(outcome, expect, None)
    return verdict and f"raw {case[0]} [{label}]: {verdict}"
