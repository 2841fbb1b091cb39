"""The Tensor methods and hpnn.* functions of issue 14, bound in one place: each method is the
module-level function of the same name (pointwise_ops, reduce_ops, index_ops, linalg_ops,
creation_ops) with the tensor as its first argument. Everything that takes ``dim`` also takes
numpy's ``axis`` (as PyTorch does)."""
from __future__ import annotations

import functools
import inspect

from . import creation_ops, index_ops, linalg_ops, pointwise_ops, reduce_ops
from .reduce_ops import check_dim

_MODULES = (pointwise_ops, reduce_ops, index_ops, linalg_ops, creation_ops)


def axis_alias(fn):
    """fn, taking axis=... as dim=... (the name numpy users write)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "axis" in kwargs:
            if "dim" in kwargs:
                raise TypeError(f"{fn.__name__}: give 'dim' or its alias 'axis', not both")
            kwargs["dim"] = kwargs.pop("axis")
        return fn(*args, **kwargs)
    return wrapper


def _takes_dim(fn):
    try:
        return "dim" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _public(fn):
    return axis_alias(fn) if _takes_dim(fn) else fn


# hpnn.<name> for every name in the modules' __all__ (creation_ops: only its functions)
FUNCTIONS = {name: _public(getattr(module, name)) for module in _MODULES
             for name in module.__all__}

# methods whose function is exported under the same name; the rest are Tensor's own already
_METHOD_NAMES = (
    "split chunk narrow unbind gather scatter scatter_add index_select masked_fill flip roll "
    "tril triu var std prod cumsum cumprod logsumexp norm sin cos rsqrt erf sign floor ceil "
    "round maximum minimum nan_to_num isnan isfinite isinf lt le gt ge eq ne any all sort "
    "argsort topk mm bmm dot outer max min").split()
_EXISTING_WITH_DIM = ("sum", "mean", "amax", "amin", "argmax", "argmin", "softmax",
                      "log_softmax", "unsqueeze", "flatten", "transpose")


def _squeeze(original):
    def squeeze(self, dim=None):
        if dim is not None:
            for d in dim if isinstance(dim, (tuple, list)) else (dim,):
                check_dim("squeeze", d, self.ndim)  # squeeze(50) on 4 dims must not pass
        return original(self, dim)
    return squeeze


def _dims(dim):
    return () if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)


def _reduction_0d(name, original):
    """sum/mean/amax/amin over dim 0 or -1 of a 0-d tensor: the tensor's value, as PyTorch."""
    def reduce(self, dim=None, keepdim=False):
        if self.ndim == 0 and dim is not None:
            for d in _dims(dim):
                check_dim(name, d, 0)
            return original(self)
        return original(self, dim, keepdim) if dim is not None else original(self, keepdim=keepdim)
    return reduce


def _softmax_0d(name, original):
    def softmax(self, dim, *args, **kwargs):
        if self.ndim == 0:
            check_dim(name, dim, 0)
            return original(self.reshape(1), 0, *args, **kwargs).reshape(())
        return original(self, dim, *args, **kwargs)
    return softmax


def _transpose(original):
    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            check_dim("transpose", dim0, 0)
            check_dim("transpose", dim1, 0)
            return self.reshape(())
        return original(self, dim0, dim1)
    return transpose


def _format(self, spec):
    """f"{loss:.4f}" on a 0-d tensor formats its value, as PyTorch."""
    if self.ndim == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def _detach_(self):
    self._ctx = None
    self.requires_grad = False
    return self


def _extra_methods():
    return {
        "expand": index_ops.expand,
        "expand_as": lambda self, other: index_ops.expand(self, other.shape),
        "repeat": index_ops.repeat,
        "view_as": lambda self, other: self.reshape(other.shape),
        "reshape_as": lambda self, other: self.reshape(other.shape),
        "contiguous": lambda self, memory_format=None: self,
        "new_zeros": creation_ops.new_zeros, "new_ones": creation_ops.new_ones,
        "new_full": creation_ops.new_full, "new_empty": creation_ops.new_empty,
        "new_tensor": creation_ops.new_tensor,
        "__format__": _format,
        "detach_": _detach_,
        "greater": pointwise_ops.gt, "less": pointwise_ops.lt,
        "greater_equal": pointwise_ops.ge, "less_equal": pointwise_ops.le,
        "not_equal": pointwise_ops.ne,
    }


def register_methods(tensor_class):
    """Attach the methods to Tensor (called once, at import)."""
    tensor_class._float_max, tensor_class._float_min = tensor_class.max, tensor_class.min
    tensor_class.squeeze = axis_alias(_squeeze(tensor_class.squeeze))
    for name in ("sum", "mean", "amax", "amin"):
        setattr(tensor_class, name, _reduction_0d(name, getattr(tensor_class, name)))
    for name in ("softmax", "log_softmax"):
        setattr(tensor_class, name, _softmax_0d(name, getattr(tensor_class, name)))
    tensor_class.transpose = _transpose(tensor_class.transpose)
    for name in _EXISTING_WITH_DIM:
        setattr(tensor_class, name, axis_alias(getattr(tensor_class, name)))
    for name in _METHOD_NAMES:
        setattr(tensor_class, name, FUNCTIONS[name])
    for name, method in _extra_methods().items():
        setattr(tensor_class, name, method)
