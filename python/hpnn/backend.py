"""Which implementation the differentiable ops run on: the C++ kernels or their numpy twins.

``hpnn.set_backend(name)`` switches for good, ``with hpnn.use_backend(name):`` for a block;
both act on the calling thread only (as grad mode does): every thread starts on 'native'. This
module is ``hpnn.backend`` (so ``hpnn.backend.clear_cache()`` works).

``kernel(name)`` returns ``hpnn.kernels.<name>`` on the 'native' backend when that kernel is
compiled in, else ``hpnn.reference.<name>``; on the 'numpy' backend always the reference.
Lookups are cached per backend so an op pays one dict lookup per kernel call.
"""
from __future__ import annotations

import contextlib
import threading

from . import kernels as _native
from . import reference as _reference

BACKENDS = ("native", "numpy")
_caches: dict[str, dict] = {name: {} for name in BACKENDS}


class _BackendState(threading.local):
    """The calling thread's backend: the class attributes are every new thread's default."""

    name = "native"
    cache = _caches["native"]


_current = _BackendState()


def _resolve(name: str, backend: str):
    if backend == "native":
        fn = getattr(_native, name, None)
        if fn is not None:
            return fn
    fn = getattr(_reference, name, None)
    if fn is None:
        raise NotImplementedError(
            f"no kernel named {name!r}: neither hpnn.kernels nor hpnn.reference provides it"
        )
    return fn


def kernel(name: str):
    """The function implementing kernel ``name`` on the active backend."""
    cache = _current.cache
    fn = cache.get(name)
    if fn is None:
        fn = cache[name] = _resolve(name, _current.name)
    return fn


def get_backend() -> str:
    """The calling thread's backend: 'native' or 'numpy'."""
    return _current.name


def set_backend(name: str) -> None:
    """Run every op of the calling thread on 'native' (C++ kernels where they exist) or
    'numpy' (hpnn.reference)."""
    if name not in BACKENDS:
        raise ValueError(f"set_backend: argument 'name' must be one of {BACKENDS}, got {name!r}")
    _current.name = name
    _current.cache = _caches[name]


def clear_cache() -> None:
    """Forget resolved kernels, e.g. after new ones were added to hpnn.kernels."""
    for cache in _caches.values():
        cache.clear()


@contextlib.contextmanager
def use_backend(name: str):
    """``with hpnn.use_backend('numpy'): ...`` runs the block on another backend."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


backend = use_backend  # the context manager's former name: ``from hpnn.backend import backend``
