"""Memoised argument validation for the kernel wrappers: a training step validates the same
few geometries again and again, and the reference's checks cost microseconds each."""
import functools


def memoized(validate):
    """``validate(*args)`` remembered per distinct arguments (lists count as tuples). Arguments
    that cannot be hashed go straight to ``validate``, whose checks name them."""
    cached = functools.lru_cache(maxsize=256, typed=True)(validate)

    @functools.wraps(validate)
    def call(*args):
        args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
        try:
            hash(args)
        except TypeError:
            return validate(*args)
        return cached(*args)

    return call
