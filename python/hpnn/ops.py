"""Elementwise differentiable ops (arithmetic with broadcasting, unary math) and reductions.
Shape ops, indexing and matmul are in ``shape_ops``."""
from __future__ import annotations

import numpy as np

from .autograd import Function
from .backend import kernel


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape`` (undoing numpy broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Cast(Function):
    """x in another float dtype (float32 unless ``dtype`` says otherwise); the gradient goes
    back in x's dtype (run_backward casts it)."""

    keeps_dtype = True  # the output's dtype is the cast's, not the inputs' promoted one

    def forward(self, x, dtype=np.float32, copy=False):
        return x.astype(dtype, copy=copy)

    def backward(self, grad):
        return grad


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad, self.shapes[0]) if need_a else None,
                unbroadcast(grad, self.shapes[1]) if need_b else None)


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad, self.shapes[0]) if need_a else None,
                unbroadcast(-grad, self.shapes[1]) if need_b else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad * self.b, self.a.shape) if need_a else None,
                unbroadcast(grad * self.a, self.b.shape) if need_b else None)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        grad_b = unbroadcast(-grad * self.a / (self.b * self.b), self.b.shape) if need_b else None
        return (unbroadcast(grad / self.b, self.a.shape) if need_a else None, grad_b)


class Pow(Function):
    """base ** exponent; as in PyTorch, d/d base is 0 where the exponent is 0, and d/d exponent
    is 0 where base == 0 and exponent >= 0 (NaN for a negative base)."""

    def forward(self, base, exponent):
        self.base, self.exponent = base, exponent
        self.out = np.power(base, exponent)
        return self.out

    def backward(self, grad):
        need_base, need_exp = self.needs_input_grad
        grad_base = grad_exp = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_base:
                local = self.exponent * np.power(self.base, self.exponent - 1)
                local = np.where(self.exponent == 0, 0, local)
                grad_base = unbroadcast(grad * local, self.base.shape)
            if need_exp:
                local = self.out * np.log(self.base)
                local = np.where((self.base == 0) & (self.exponent >= 0), 0, local)
                grad_exp = unbroadcast(grad * local, self.exponent.shape)
        return grad_base, grad_exp


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Exp(Function):
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, grad):
        return grad * self.out


# PyTorch gives log(0) = -inf, log(<0) = nan, sqrt(<0) = nan and their gradients (inf, nan)
# without a warning; scripts rely on it (word_language_model's mask is log(tril(ones))).
_QUIET = dict(divide="ignore", invalid="ignore")


class Log(Function):
    def forward(self, x):
        self.x = x
        with np.errstate(**_QUIET):
            return np.log(x)

    def backward(self, grad):
        with np.errstate(**_QUIET):
            return grad / self.x


class Sqrt(Function):
    def forward(self, x):
        with np.errstate(**_QUIET):
            self.out = np.sqrt(x)
        return self.out

    def backward(self, grad):
        with np.errstate(**_QUIET):
            return grad / (2 * self.out)


class Abs(Function):
    def forward(self, x):
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, grad):
        return grad * self.sign


class Clamp(Function):
    def forward(self, x, low=None, high=None):
        self.inside = np.ones(x.shape, bool)
        if low is not None:
            self.inside &= x >= low
        if high is not None:
            self.inside &= x <= high
        return np.clip(x, low, high)

    def backward(self, grad):
        return grad * self.inside


def _expand_reduced(grad, shape, axis, keepdims):
    """Give a reduced grad back the reduced axes (size 1) so it broadcasts against the input."""
    if axis is None or keepdims:
        return grad if axis is not None else np.reshape(grad, (1,) * len(shape))
    axes = (axis,) if np.isscalar(axis) else axis
    return np.expand_dims(grad, tuple(a % len(shape) for a in axes))


def _spread(value, shape):
    """A read-only view repeating the one-element array ``value`` over ``shape`` (what
    np.broadcast_to would give, without its Python-level overhead)."""
    value = np.ascontiguousarray(value, np.float32)
    view = np.ndarray(shape, np.float32, value, 0, (0,) * len(shape))
    view.flags.writeable = False
    return view


class Sum(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.asarray(np.add.reduce(x, axis=axis, keepdims=keepdims))

    def backward(self, grad):
        if self.axis is None:
            return _spread(grad, self.shape)
        grad = _expand_reduced(grad, self.shape, self.axis, self.keepdims)
        return np.broadcast_to(grad, self.shape)


class Mean(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = np.asarray(x.mean(axis=axis, keepdims=keepdims))
        self.count = x.size // max(out.size, 1) if x.size else 1
        return out

    def backward(self, grad):
        grad = _expand_reduced(grad, self.shape, self.axis, self.keepdims) / self.count
        return np.broadcast_to(grad, self.shape)


class Max(Function):
    """Max over axes; the gradient is shared equally between tied maxima."""

    def forward(self, x, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims
        kept = x.max(axis=axis, keepdims=True)
        mask = (x == kept).astype(np.float32)
        self.mask = mask / mask.sum(axis=axis, keepdims=True)
        return np.asarray(kept if keepdims else x.max(axis=axis))

    def backward(self, grad):
        grad = _expand_reduced(grad, self.mask.shape, self.axis, self.keepdims)
        return grad * self.mask


class TakeAlong(Function):
    """Values of x at ``indices`` along ``axis`` (max/min over a dim); the gradient goes to
    those positions only."""

    @classmethod
    def pick(cls, x, arg_reduce, dim, keepdim):
        """(values, indices) of ``arg_reduce`` (np.argmax / np.argmin) over ``dim`` of x."""
        if x.ndim == 0:
            return x.clone(), Tensor._wrap(np.zeros((), np.int64))
        axis = dim % x.ndim
        indices = arg_reduce(x._array, axis=axis, keepdims=True)
        values = cls.apply(x, indices=indices, axis=axis, keepdims=keepdim)
        return values, Tensor._wrap(indices if keepdim else np.squeeze(indices, axis))

    def forward(self, x, indices, axis, keepdims):
        self.shape, self.indices, self.axis = x.shape, indices, axis
        values = np.take_along_axis(x, indices, axis)
        return values if keepdims else np.squeeze(values, axis)

    def backward(self, grad):
        full = np.zeros(self.shape, np.float32)
        grad = grad.reshape(self.indices.shape)
        np.put_along_axis(full, self.indices, grad, self.axis)
        return full


from .tensor import Tensor  # noqa: E402  (tensor imports this module)
