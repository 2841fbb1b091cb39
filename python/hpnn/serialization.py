"""Which classes and functions ``hpnn.load`` may bring back when it rebuilds a whole Module.

``hpnn.save(model, f)`` writes a model as data: each module's class by name, its plain
attributes, its parameters and buffers as arrays, its children, and functions it holds (an
activation) by name. ``hpnn.load`` rebuilds it without running code from the file: it makes
each object with ``cls.__new__(cls)`` and fills its ``__dict__`` (no ``__init__``, no
``__setstate__``), and it resolves a name only to

- hpnn's own modules (the classes of ``hpnn.nn``) and the functions of ``hpnn.nn.functional``;
- what the user allowlists: ``with hpnn.serialization.safe_globals([MyNet, ...]):`` around the
  load, or ``hpnn.serialization.add_safe_globals([...])`` for the whole process, as PyTorch's
  ``torch.serialization`` with ``weights_only=True``.

Any other name makes ``load`` raise ``CheckpointError`` saying how to allowlist it.
"""
from __future__ import annotations

import contextlib
import threading
import types

__all__ = ["safe_globals", "add_safe_globals", "get_safe_globals", "clear_safe_globals"]

_process_allowlist = []  # add_safe_globals: for the whole process
_local = threading.local()  # safe_globals contexts: per thread, nested


def global_name(obj):
    """The name a class or function is saved under: ``module.qualname``."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _checked(items, where):
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise TypeError(f"{where}: expected a list of classes and functions, got "
                        f"{type(items).__name__}")
    items = list(items)
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
            item = item[0]  # PyTorch's (obj, "name") form: the name must be obj's own here
        if not isinstance(item, (type, types.FunctionType, types.BuiltinFunctionType)):
            raise TypeError(f"{where}: {item!r:.80} is not a class or a function")
    return [item[0] if isinstance(item, tuple) else item for item in items]


def add_safe_globals(safe_globals):
    """Allow ``hpnn.load`` to rebuild these classes and resolve these functions, for the rest
    of the process."""
    _process_allowlist.extend(_checked(safe_globals, "add_safe_globals"))


def get_safe_globals():
    """What ``add_safe_globals`` allowed (not the ``safe_globals`` contexts)."""
    return list(_process_allowlist)


def clear_safe_globals():
    """Forget what ``add_safe_globals`` allowed."""
    _process_allowlist.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """Within the ``with`` block (this thread), ``hpnn.load`` may also rebuild these classes and
    resolve these functions."""
    items = _checked(safe_globals, "safe_globals")
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(items)
    try:
        yield
    finally:
        stack.pop()


def allowed():
    """Everything ``load`` may resolve now, by saved name: hpnn's own and the user's."""
    table = dict(_own())
    for items in [_process_allowlist, *getattr(_local, "stack", [])]:
        table.update((global_name(item), item) for item in items)
    return table


def _own():
    """hpnn's classes (hpnn.nn's Module subclasses, by their defining module's name) and
    hpnn.nn.functional's functions (by the public name under hpnn.nn.functional)."""
    from . import nn
    from .nn import functional
    table = {}
    for value in vars(nn).values():
        if isinstance(value, type) and issubclass(value, nn.Module):
            table[global_name(value)] = value
    for name, value in vars(functional).items():
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
            table[f"hpnn.nn.functional.{name}"] = value
    return table


def function_name(function):
    """The name a function is saved under: hpnn.nn.functional.<name> for hpnn's own."""
    from .nn import functional
    name = getattr(function, "__name__", None)
    if isinstance(name, str) and getattr(functional, name, None) is function:
        return f"hpnn.nn.functional.{name}"
    return global_name(function)
