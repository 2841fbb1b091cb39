"""``hpnn.Tensor``: a numpy array (float32 for values, int64 for labels) plus autograd state.
Creation helpers (``hpnn.zeros``, ``hpnn.cat``, ...) live in ``hpnn.creation``."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import _device, dtypes
from .errors import DimensionError

# what Tensor.max(dim) / min(dim) return, as torch.return_types.max / min
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def as_array(data, dtype=None) -> np.ndarray:
    """``data`` as a numpy array without copying when it already fits, with PyTorch's dtype
    rules: a numpy float array keeps its dtype (float16/32/64), Python floats take the default
    dtype (float32), integers become int64 and bools stay bool."""
    if isinstance(data, Tensor):
        data = data._array
    if dtype is not None:
        return np.asarray(data, dtype=dtypes.to_numpy(dtype))
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    array = np.asarray(data)
    kind = array.dtype.kind
    if kind in "iu" and array.dtype != np.int64:
        return array.astype(np.int64)
    if kind in "iub":
        return array
    if kind != "f":
        raise TypeError(f"cannot make a tensor from data of dtype {array.dtype}")
    if not from_numpy:  # Python floats (or nested lists of them): the default dtype
        return array.astype(dtypes.default_numpy(), copy=False)
    if array.dtype.itemsize > 8:  # long double: numpy's, not one of PyTorch's dtypes
        return array.astype(np.float64)
    return array


class Tensor:
    """An n-dimensional array that can record the ops applied to it for ``backward()``."""

    # _grad_buffer (optional): where backward stores a new gradient (see optim.Optimizer)
    # _used: an op that records a graph has taken this tensor as an input (see __setitem__)
    # _array: the numpy array holding the values (package-internal; ``numpy()`` is public)
    # _version: bumped by every in-place write (autograd's saved-tensor check)
    __slots__ = ("_array", "grad", "requires_grad", "_ctx", "_grad_buffer", "_used", "_version",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        self._array = as_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._version = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        tensor = cls.__new__(cls)
        tensor._array = array
        tensor.grad = None
        tensor._ctx = None
        tensor._version = 0
        tensor.requires_grad = requires_grad
        return tensor

    @property
    def data(self):
        """This tensor's values as a new tensor sharing its memory, without grad (PyTorch's
        ``.data``): writes through it reach this tensor and are not seen by autograd."""
        return Tensor._wrap(self._array)

    @data.setter
    def data(self, value):
        """``t.data = other`` makes t hold other's values (shared, not copied)."""
        self._array = value._array if isinstance(value, Tensor) else as_array(value)

    # ---- basic properties -------------------------------------------------------------------
    shape = property(lambda self: self._array.shape)
    dtype = property(lambda self: dtypes.from_numpy(self._array.dtype))
    ndim = property(lambda self: self._array.ndim)
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)
    T = property(lambda self: self.permute(*range(self.ndim - 1, -1, -1)))
    mT = property(lambda self: self.transpose(-2, -1))

    device = property(lambda self: _device.CPU)  # hpnn runs on the CPU only
    is_cuda = property(lambda self: False)

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other)``: only the CPU
        exists, so this is the tensor itself unless the dtype changes or ``copy=True``."""
        return _device.tensor_to(self, *args, **kwargs)

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        _device.refuse_cuda("Tensor.cuda", device)

    def size(self, dim=None):
        return self._array.shape if dim is None else self._array.shape[dim]

    def dim(self):
        return self._array.ndim

    def numel(self):
        return self._array.size

    def __len__(self):
        return len(self._array)

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __repr__(self):
        body = np.array2string(self._array, separator=", ", precision=4, prefix="tensor(")
        if self._ctx is not None:
            return f"tensor({body}, grad_fn=<{type(self._ctx).__name__}>)"
        return f"tensor({body}, requires_grad=True)" if self.requires_grad else f"tensor({body})"

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self._array

    def item(self):
        if self._array.size != 1:
            raise ValueError(f"item(): tensor has {self._array.size} elements, expected exactly 1")
        return self._array.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._array.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def tolist(self):
        return self._array.tolist()

    # ---- dtype casts (differentiable between float dtypes, as PyTorch's) ------------------
    def _cast(self, dtype, copy=False):
        target = dtypes.to_numpy(dtype)
        if target == self._array.dtype and not copy:
            return self
        if target.kind == "f" and self._array.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=target, copy=copy)
        return Tensor._wrap(self._array.astype(target))

    def float(self):
        return self._cast(np.float32)

    def double(self):
        return self._cast(np.float64)

    def half(self):
        return self._cast(np.float16)

    def bfloat16(self):
        return self._cast(dtypes.bfloat16)  # raises NotImplementedError (numpy has none)

    def long(self):
        return self._cast(np.int64)

    def int(self):
        return self._cast(np.int32)

    def short(self):
        return self._cast(np.int16)

    def char(self):
        return self._cast(np.int8)

    def byte(self):
        return self._cast(np.uint8)

    def bool(self):
        return self._cast(np.bool_)

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """``type()``: the type's name ('hpnn.FloatTensor'); ``type(dtype)``: a cast."""
        if dtype is None:
            return "hpnn." + dtypes.TYPE_NAMES[self.dtype]
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            names = {v: k for k, v in dtypes.TYPE_NAMES.items()}
            dtype = names[dtype.rsplit(".", 1)[-1]]
        return self._cast(dtype)

    def is_floating_point(self):
        return self._array.dtype.kind == "f"

    def element_size(self):
        return self._array.dtype.itemsize

    def detach(self):
        """A tensor sharing this one's data, cut off from the graph."""
        return Tensor._wrap(self._array)

    def clone(self):
        return ops.Cast.apply(self, copy=True)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._array.dtype.kind != "f":
            raise TypeError(f"only floating point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=None, *, grad=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        gradient = grad if gradient is None else gradient
        if not self.requires_grad:
            raise RuntimeError("backward(): tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self._array.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for scalar outputs, "
                    f"got shape {self.shape}; pass gradient="
                )
            gradient = np.ones(self._array.shape, self._array.dtype)
        else:
            gradient = as_array(gradient, self._array.dtype)
            if gradient.shape != self.shape:
                raise ValueError(f"backward(): gradient has shape {gradient.shape}, expected "
                                 f"{self.shape}")
        autograd.run_backward(self, gradient, bool(retain_graph))

    # ---- in-place helpers (no graph; used by init, optimizers, and under no_grad) --------------
    def _check_inplace(self, name):
        if self.requires_grad and autograd.is_grad_enabled():
            kind = "a leaf tensor that requires grad" if self._ctx is None else \
                "a tensor that is part of the autograd graph"
            raise RuntimeError(f"{name}: {kind} cannot be modified in place outside "
                               "hpnn.no_grad() (use an out-of-place op)")

    # zero_, fill_, copy_, add_, mul_, normal_, ... : inplace_ops.py

    def __setitem__(self, index, value):
        """``x[index] = value``; recorded in the graph when value or x requires grad."""
        index = _index(index)
        value = _tensor(value)
        tracked = autograd.is_grad_enabled() and (value.requires_grad or self.requires_grad)
        self._version += 1
        if not tracked:
            self._array[index] = value._array
            return
        if self.requires_grad and self._ctx is None:
            self._check_inplace("__setitem__")
        if getattr(self, "_used", False):
            raise RuntimeError("__setitem__: this tensor was already used by an op that "
                               "records the graph; assign into a clone() instead")
        shape_ops.SetItem.assign(self, index, value)

    # ---- differentiable ops ----------------------------------------------------------------
    def __add__(self, other):
        return ops.Add.apply(self, _tensor(other, self))

    def __radd__(self, other):
        return ops.Add.apply(_tensor(other, self), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, _tensor(other, self))

    def __rsub__(self, other):
        return ops.Sub.apply(_tensor(other, self), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, _tensor(other, self))

    def __rmul__(self, other):
        return ops.Mul.apply(_tensor(other, self), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, _tensor(other, self))

    def __rtruediv__(self, other):
        return ops.Div.apply(_tensor(other, self), self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, _tensor(exponent, self))

    def __rpow__(self, base):
        return ops.Pow.apply(_tensor(base, self), self)

    def __matmul__(self, other):
        return shape_ops.MatMul.apply(self, _tensor(other))

    def __rmatmul__(self, other):
        return shape_ops.MatMul.apply(_tensor(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __abs__(self):
        return ops.Abs.apply(self)

    def __getitem__(self, index):
        return shape_ops.GetItem.apply(self, index=_index(index))

    matmul = __matmul__
    add, sub, mul, div, pow, neg = __add__, __sub__, __mul__, __truediv__, __pow__, __neg__

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of 'min' and 'max' must be given")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def sum(self, dim=None, keepdim=False):
        return ops.Sum.apply(self, axis=_axes(dim), keepdims=keepdim)

    def mean(self, dim=None, keepdim=False):
        return ops.Mean.apply(self, axis=_axes(dim), keepdims=keepdim)

    def amax(self, dim=(), keepdim=False):
        """Max over ``dim`` (all dims by default); tied maxima share the gradient equally."""
        axis = _axes(dim)
        return ops.Max.apply(self, axis=None if axis == () else axis, keepdims=keepdim)

    def amin(self, dim=(), keepdim=False):
        return -(-self).amax(dim, keepdim)

    def max(self, dim=None, keepdim=False):
        """The max of all elements (ties share the gradient), or with ``dim`` a named tuple
        (values, indices) whose gradient goes to the first maximum, as in PyTorch."""
        if dim is None:
            return ops.Max.apply(self)
        return MaxResult(*ops.TakeAlong.pick(self, np.argmax, dim, keepdim))

    def min(self, dim=None, keepdim=False):
        if dim is None:
            return -ops.Max.apply(-self)
        return MinResult(*ops.TakeAlong.pick(self, np.argmin, dim, keepdim))

    def argmax(self, dim=None, keepdim=False):
        return Tensor._wrap(np.asarray(_arg_reduce(np.argmax, self._array, dim, keepdim)))

    def argmin(self, dim=None, keepdim=False):
        return Tensor._wrap(np.asarray(_arg_reduce(np.argmin, self._array, dim, keepdim)))

    def reshape(self, *shape):
        return shape_ops.Reshape.apply(self, shape=_shape_arg(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        for name, dim in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not -self.ndim <= dim < self.ndim:  # a modulo would flatten other dims silently
                raise DimensionError(f"flatten: argument '{name}' ({dim}) is out of range for "
                                     f"{self.ndim} dims")
        start, end = start_dim % self.ndim, end_dim % self.ndim
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1:])

    def permute(self, *dims):
        return shape_ops.Permute.apply(self, axes=_shape_arg(dims))

    def transpose(self, dim0, dim1):
        axes = list(range(self._array.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return shape_ops.Permute.apply(self, axes=axes)

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t(): expects a tensor with <= 2 dims, got {self.ndim}")
        return self.T

    def unsqueeze(self, dim):
        dim = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            dims = range(self.ndim)
        else:
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            dims = [d % max(self.ndim, 1) for d in dims]
        shape = [s for i, s in enumerate(self.shape) if not (i in dims and s == 1)]
        return self if len(shape) == self.ndim else self.reshape(*shape)

    def relu(self):
        return functional.relu(self)

    def sigmoid(self):
        return functional.sigmoid(self)

    def tanh(self):
        return functional.tanh(self)

    def softmax(self, dim):
        return functional.softmax(self, dim)

    def log_softmax(self, dim):
        return functional.log_softmax(self, dim)

    # ---- comparisons (no grad; bool tensors) -----------------------------------------------
    def _compare(self, other, op):
        return Tensor._wrap(op(self._array, as_array(other)))

    __lt__ = lambda self, other: self._compare(other, np.less)  # noqa: E731
    __le__ = lambda self, other: self._compare(other, np.less_equal)  # noqa: E731
    __gt__ = lambda self, other: self._compare(other, np.greater)  # noqa: E731
    __ge__ = lambda self, other: self._compare(other, np.greater_equal)  # noqa: E731
    __eq__ = eq = lambda self, other: self._compare(other, np.equal)  # noqa: E731
    __ne__ = ne = lambda self, other: self._compare(other, np.not_equal)  # noqa: E731
    __hash__ = object.__hash__  # by identity (autograd keys its tables by id())


def _tensor(value, like=None):
    """value as a Tensor. A Python number beside the float tensor ``like`` takes like's dtype
    (a "weak" scalar, as PyTorch's): an int64 or float64 operand would make numpy promote the
    op's gradients to float64 mid-graph."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float)) and like._array.dtype.kind == "f":
        return Tensor._wrap(np.asarray(value, like._array.dtype))
    return Tensor._wrap(as_array(value))


def _index(index):
    """Tensors inside an index become their arrays."""
    if isinstance(index, Tensor):
        return index._array
    if isinstance(index, tuple):
        for part in index:
            if isinstance(part, Tensor):
                return tuple(i._array if isinstance(i, Tensor) else i for i in index)
    return index


def _axes(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def _shape_arg(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _arg_reduce(fn, data, dim, keepdim):
    if dim is None:
        return fn(data)
    return fn(data, axis=dim, keepdims=keepdim)


# bound late: these modules import Tensor; creation's names stay importable from here
from . import autograd, functional, ops, random, shape_ops  # noqa: E402,F401
from .creation import (arange, cat, concatenate, from_numpy, full, ones,  # noqa: E402,F401
                       ones_like, rand, randint, randn, stack, tensor, where, zeros, zeros_like)
