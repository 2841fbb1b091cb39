"""``hpnn.Tensor``: a numpy array (float32 for values, int64 for labels) plus autograd state."""
from __future__ import annotations

import numpy as np


def as_array(data, dtype=None) -> np.ndarray:
    """``data`` as a numpy array without copying when it already fits: floats become float32,
    integers and bools keep an integer/bool dtype (labels, masks)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float32 or array.dtype.kind in "iub":
        return array.astype(np.int64) if array.dtype.kind in "iu" and array.dtype != np.int64 else array
    if array.dtype.kind != "f":
        raise TypeError(f"cannot make a tensor from data of dtype {array.dtype}")
    return array.astype(np.float32)


class Tensor:
    """An n-dimensional array that can record the ops applied to it for ``backward()``."""

    # _grad_buffer (optional): where backward stores a new gradient (see optim.Optimizer)
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_grad_buffer", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_array(data, dtype)
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        tensor = cls.__new__(cls)
        if array.dtype != np.float32 and array.dtype.kind == "f":
            array = array.astype(np.float32)
        tensor.data = array
        tensor.grad = None
        tensor._ctx = None
        tensor.requires_grad = requires_grad
        return tensor

    # ---- basic properties -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)
    T = property(lambda self: self.transpose(-1, -2) if self.ndim >= 2 else self)

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        if self._ctx is not None:
            return f"tensor({body}, grad_fn=<{type(self._ctx).__name__}>)"
        return f"tensor({body}, requires_grad=True)" if self.requires_grad else f"tensor({body})"

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): tensor has {self.data.size} elements, expected exactly 1")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def tolist(self):
        return self.data.tolist()

    def float(self):
        return self if self.data.dtype == np.float32 else ops.Cast.apply(self)

    def long(self):
        return Tensor._wrap(self.data.astype(np.int64))

    def detach(self):
        """A tensor sharing this one's data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def clone(self):
        return ops.Cast.apply(self, copy=True)

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward(): tensor does not require grad and has no grad_fn")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for scalar outputs, "
                    f"got shape {self.shape}; pass grad="
                )
            grad = np.ones_like(self.data)
        else:
            grad = as_array(grad, np.float32)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {grad.shape}, expected {self.shape}")
        autograd.run_backward(self, grad, retain_graph)

    # ---- in-place helpers (no graph; used by init, optimizers, and under no_grad) --------------
    def _check_inplace(self, name):
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be modified in place "
                "outside hpnn.no_grad()"
            )

    def zero_(self):
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, other):
        self._check_inplace("copy_")
        self.data[...] = as_array(other)
        return self

    def add_(self, other, alpha=1.0):
        self._check_inplace("add_")
        self.data += alpha * as_array(other)
        return self

    def mul_(self, other):
        self._check_inplace("mul_")
        self.data *= as_array(other)
        return self

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        self.data[_index(index)] = as_array(value)

    # ---- differentiable ops ----------------------------------------------------------------
    def __add__(self, other):
        return ops.Add.apply(self, _tensor(other))

    def __radd__(self, other):
        return ops.Add.apply(_tensor(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, _tensor(other))

    def __rsub__(self, other):
        return ops.Sub.apply(_tensor(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, _tensor(other))

    def __rmul__(self, other):
        return ops.Mul.apply(_tensor(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, _tensor(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(_tensor(other), self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, _tensor(exponent))

    def __rpow__(self, base):
        return ops.Pow.apply(_tensor(base), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, _tensor(other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(_tensor(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_index(index))

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
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def sum(self, dim=None, keepdim=False):
        return ops.Sum.apply(self, axis=_axes(dim), keepdims=keepdim)

    def mean(self, dim=None, keepdim=False):
        return ops.Mean.apply(self, axis=_axes(dim), keepdims=keepdim)

    def max(self, dim=None, keepdim=False):
        return ops.Max.apply(self, axis=_axes(dim), keepdims=keepdim)

    def min(self, dim=None, keepdim=False):
        return -ops.Max.apply(-self, axis=_axes(dim), keepdims=keepdim)

    def argmax(self, dim=None, keepdim=False):
        return Tensor._wrap(np.asarray(_arg_reduce(np.argmax, self.data, dim, keepdim)))

    def argmin(self, dim=None, keepdim=False):
        return Tensor._wrap(np.asarray(_arg_reduce(np.argmin, self.data, dim, keepdim)))

    def reshape(self, *shape):
        return ops.Reshape.apply(self, shape=_shape_arg(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.shape
        start, end = start_dim % max(self.ndim, 1), end_dim % max(self.ndim, 1)
        if self.ndim == 0:
            return self.reshape(1)
        return self.reshape(*shape[:start], -1, *shape[end + 1:])

    def permute(self, *dims):
        return ops.Permute.apply(self, axes=_shape_arg(dims))

    def transpose(self, dim0, dim1):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return ops.Permute.apply(self, axes=tuple(axes))

    def t(self):
        return self.transpose(0, 1)

    def unsqueeze(self, dim):
        dim = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(*[s for s in self.shape if s != 1])
        if self.shape[dim] != 1:
            return self
        shape = list(self.shape)
        del shape[dim]
        return self.reshape(*shape)

    def relu(self):
        return functional.relu(self)

    def sigmoid(self):
        return functional.sigmoid(self)

    def tanh(self):
        return functional.tanh(self)

    def softmax(self, dim=-1):
        return functional.softmax(self, dim)

    def log_softmax(self, dim=-1):
        return functional.log_softmax(self, dim)

    # ---- comparisons (no grad; bool tensors) -----------------------------------------------
    def _compare(self, other, op):
        return Tensor._wrap(op(self.data, as_array(other)))

    __lt__ = lambda self, other: self._compare(other, np.less)  # noqa: E731
    __le__ = lambda self, other: self._compare(other, np.less_equal)  # noqa: E731
    __gt__ = lambda self, other: self._compare(other, np.greater)  # noqa: E731
    __ge__ = lambda self, other: self._compare(other, np.greater_equal)  # noqa: E731
    eq = lambda self, other: self._compare(other, np.equal)  # noqa: E731
    __hash__ = object.__hash__


def _tensor(value):
    return value if isinstance(value, Tensor) else Tensor._wrap(as_array(value))


def _index(index):
    """Tensors inside an index become their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
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


# ---- creation helpers --------------------------------------------------------------------------
def tensor(data, requires_grad=False, dtype=None):
    """A new tensor (no copy when ``data`` is already a float32 array)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (float32/int64/bool; other floats are converted)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _size(shape):
    return _shape_arg(shape)


def zeros(*shape, requires_grad=False):
    return Tensor(np.zeros(_size(shape), np.float32), requires_grad)


def ones(*shape, requires_grad=False):
    return Tensor(np.ones(_size(shape), np.float32), requires_grad)


def full(shape, value, requires_grad=False):
    return Tensor(np.full(_size((shape,)), value, np.float32), requires_grad)


def zeros_like(t, requires_grad=False):
    return zeros(*t.shape, requires_grad=requires_grad)


def ones_like(t, requires_grad=False):
    return ones(*t.shape, requires_grad=requires_grad)


def randn(*shape, requires_grad=False):
    array = random.generator().standard_normal(_size(shape), dtype=np.float32)
    return Tensor(array, requires_grad)


def rand(*shape, requires_grad=False):
    array = random.generator().random(_size(shape), dtype=np.float32)
    return Tensor(array, requires_grad)


def randint(low, high, size):
    return Tensor(random.generator().integers(low, high, size=_size((size,)), dtype=np.int64))


def arange(start, end=None, step=1, dtype=None):
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    return Tensor(values, dtype=dtype)


def cat(tensors, dim=0):
    """Concatenate along an existing axis."""
    return ops.Concat.apply(*[_tensor(t) for t in tensors], axis=dim)


concatenate = cat


def stack(tensors, dim=0):
    """Stack along a new axis."""
    return cat([_tensor(t).unsqueeze(dim) for t in tensors], dim=dim)


def where(condition, x, y):
    return ops.Where.apply(_tensor(x), _tensor(y), condition=as_array(condition).astype(bool))


from . import autograd, functional, ops, random  # noqa: E402  (these import Tensor)
