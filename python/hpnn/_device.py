"""``hpnn.device`` and the ``.to(...)`` / ``.cpu()`` conversions of tensors and modules.

hpnn runs on the CPU only. Device objects exist so that PyTorch scripts run unchanged:
``hpnn.device("cuda")`` can be built (scripts build it before asking whether CUDA exists), but
moving a tensor or a module there raises ``DeviceError`` naming the device."""
from __future__ import annotations

import builtins
import re

import numpy as np

__all__ = ["device", "DeviceError"]

# PyTorch's device types: any of them may be named, only "cpu" may be used
_KNOWN_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")
_DEVICE_STRING = re.compile(r"([a-z]+)(?::(\d+))?")


class DeviceError(ValueError, RuntimeError):
    """A device that hpnn cannot use (anything but the CPU), or an invalid device string.
    A RuntimeError as in PyTorch, and a ValueError (a bad argument) by this project's rule."""


class device:
    """A device: ``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)`` or a device.
    An int names an accelerator device, so it raises here, as in PyTorch without one."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device: argument 'index' must be None when 'type' is a device")
            kind, index = type.type, type.index
        elif isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            raise DeviceError(f"device: {type} names an accelerator device and there is none; "
                              f"hpnn runs on the CPU only (use 'cpu')")
        elif isinstance(type, str):
            kind, index = _parse(type, index)
        else:
            raise TypeError(f"device: argument 'type' must be a str, an int or a device, got "
                            f"{builtins.type(type).__name__}")
        if index is not None and (isinstance(index, bool) or
                                  not isinstance(index, (int, np.integer)) or index < 0):
            raise DeviceError(f"device: argument 'index' must be a non-negative int, got "
                              f"{index!r}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", None if index is None else int(index))

    def __setattr__(self, name, value):
        raise AttributeError(f"device: attribute '{name}' is read-only")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))



def _parse(text, index):
    match = _DEVICE_STRING.fullmatch(text)
    if match is None:
        raise DeviceError(f"device: invalid device string {text!r}")
    kind, parsed = match.group(1), match.group(2)
    if kind not in _KNOWN_TYPES:
        raise DeviceError(f"device: expected one of {', '.join(_KNOWN_TYPES)} at the start of "
                          f"the device string, got {text!r}")
    if parsed is not None:
        if index is not None:
            raise DeviceError(f"device: the index is given twice: {text!r} and index={index}")
        index = int(parsed)
    return kind, index


CPU = device("cpu")


def check_cpu(where, what):
    """``where`` (a device, str or int) as a device; a DeviceError unless it is the CPU."""
    where = where if isinstance(where, device) else device(where)
    if where.type != "cpu":
        raise DeviceError(f"{what}: device '{where}' is not available; hpnn runs on the CPU "
                          f"only (use hpnn.device('cpu'))")
    if where.index not in (None, 0):
        raise DeviceError(f"{what}: device '{where}' does not exist; there is one CPU device, "
                          f"'cpu' or 'cpu:0'")
    return where


def refuse_cuda(what, index=None):
    """``.cuda()``: always a DeviceError (there is no CUDA device)."""
    where = device("cuda" if index is None else
                   f"cuda:{index}" if isinstance(index, (int, np.integer)) else index)
    raise DeviceError(f"{what}: device '{where}' is not available; hpnn runs on the CPU only "
                      f"(hpnn.cuda.is_available() is False)")


def _is_dtype_like(value):
    """Whether ``value`` names a dtype (a numpy dtype or scalar type, or a dtype object of
    hpnn's own with a numpy equivalent) rather than a device."""
    if isinstance(value, (str, device)) or value is None:
        return False
    if isinstance(value, np.dtype) or (isinstance(value, builtins.type) and
                                       issubclass(value, np.generic)):
        return True
    return hasattr(value, "numpy_dtype") or any(value is kind for kind in (float, int, bool))


def _numpy_dtype(value):
    from .dtypes import to_numpy  # Python's float is the default dtype (float32), as PyTorch
    return to_numpy(value)


def parse_to_args(what, args, kwargs):
    """(device or None, numpy dtype or None, copy) from the arguments of ``to(...)``:
    ``to(device=None, dtype=None, non_blocking=False, copy=False)``, ``to(dtype, ...)`` or
    ``to(tensor, ...)``, as PyTorch accepts them."""
    kwargs = dict(kwargs)
    where, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)  # a copy on the CPU is always synchronous
    kwargs.pop("memory_format", None)  # hpnn arrays are always contiguous in their layout
    copy = bool(kwargs.pop("copy", False))
    if kwargs:
        raise TypeError(f"{what}: unexpected keyword argument '{next(iter(kwargs))}'")
    args = list(args)
    if args and not _is_dtype_like(args[0]) and hasattr(args[0], "dtype") and \
            hasattr(args[0], "shape"):  # to(other tensor)
        other = args.pop(0)
        where, dtype = getattr(other, "device", CPU), other.dtype
    elif args and not _is_dtype_like(args[0]):
        where = args.pop(0)
    if args and _is_dtype_like(args[0]):
        dtype = args.pop(0)
    if args and isinstance(args[0], bool):  # non_blocking given by position
        args.pop(0)
        if args and isinstance(args[0], bool):
            copy = args.pop(0)
    if args:
        raise TypeError(f"{what}: unexpected argument {args[0]!r}")
    if where is not None:
        check_cpu(where, what)
    return where, None if dtype is None else _numpy_dtype(dtype), copy


def tensor_to(tensor, *args, **kwargs):
    """``Tensor.to``: the same tensor when nothing changes (unless ``copy=True``)."""
    _, dtype, copy = parse_to_args("Tensor.to", args, kwargs)
    if dtype is None or dtype == tensor._array.dtype:
        return tensor.clone() if copy else tensor
    return tensor._cast(dtype)


def module_to(module, *args, **kwargs):
    """``Module.to``: checks the device; a float dtype converts every float parameter and
    buffer (the Parameter objects stay, holding new arrays, as in PyTorch)."""
    _, dtype, _ = parse_to_args("Module.to", args, kwargs)
    if dtype is not None and dtype.kind not in "fc":
        raise TypeError(f"Module.to only accepts floating point dtypes, got {dtype}")
    if dtype is not None:
        cast_module_floats(module, dtype)
    return module


def cast_module_floats(module, dtype):
    """Every float parameter, gradient and buffer of ``module`` (and its submodules) in
    ``dtype``; integer buffers (num_batches_tracked) stay as they are."""
    dtype = np.dtype(dtype)
    tensors = list(module.parameters()) + list(module.buffers())
    for tensor in tensors:
        if tensor._array.dtype.kind == "f" and tensor._array.dtype != dtype:
            tensor._array = tensor._array.astype(dtype)
            grad = tensor.grad
            if grad is not None:
                grad._array = grad._array.astype(dtype)
    return module
