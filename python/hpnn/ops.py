"""Core differentiable tensor ops: arithmetic with broadcasting, reductions, shapes, matmul."""
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
    def forward(self, x, copy=False):
        return x.astype(np.float32, copy=copy)

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
    def forward(self, base, exponent):
        self.base, self.exponent = base, exponent
        self.out = np.power(base, exponent)
        return self.out

    def backward(self, grad):
        need_base, need_exp = self.needs_input_grad
        grad_base = grad_exp = None
        if need_base:
            local = self.exponent * np.power(self.base, self.exponent - 1)
            grad_base = unbroadcast(grad * local, self.base.shape)
        if need_exp:
            log_base = np.log(np.where(self.base > 0, self.base, 1))
            grad_exp = unbroadcast(grad * self.out * log_base, self.exponent.shape)
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


class Log(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return grad / self.x


class Sqrt(Function):
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad):
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


class Where(Function):
    def forward(self, x, y, condition):
        self.condition, self.shapes = condition, (x.shape, y.shape)
        return np.where(condition, x, y)

    def backward(self, grad):
        need_x, need_y = self.needs_input_grad
        return (unbroadcast(np.where(self.condition, grad, 0), self.shapes[0]) if need_x else None,
                unbroadcast(np.where(self.condition, 0, grad), self.shapes[1]) if need_y else None)


def _expand_reduced(grad, shape, axis, keepdims):
    """Give a reduced grad back the reduced axes (size 1) so it broadcasts against the input."""
    if axis is None or keepdims:
        return grad if axis is not None else np.reshape(grad, (1,) * len(shape))
    axes = (axis,) if np.isscalar(axis) else axis
    return np.expand_dims(grad, tuple(a % len(shape) for a in axes))


class Sum(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, grad):
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


class Reshape(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: shape {tuple(shape)} is invalid for input of shape "
                             f"{x.shape} ({x.size} elements)") from None

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    def forward(self, x, axes):
        if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} dims")
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return grad.transpose(np.argsort([a % grad.ndim for a in self.axes]))


class GetItem(Function):
    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return np.asarray(x[index])

    def backward(self, grad):
        full = np.zeros(self.shape, np.float32)
        if _is_basic(self.index):
            full[self.index] = grad
        else:
            np.add.at(full, self.index, grad)  # sums grads of repeated integer indices
        return full


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class Concat(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.splits, axis=self.axis))


def _gemm(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for float32 arrays of ndim >= 2 (leading dims broadcast; gemm per matrix)."""
    gemm = kernel("gemm")
    if a.ndim == 2 and b.ndim == 2:
        return gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    if b.ndim == 2 and not trans_a:  # fold a's batch dims into its rows: one call
        rows = gemm(a.reshape(-1, a.shape[-1]), b, trans_b=trans_b)
        return rows.reshape(*a.shape[:-1], rows.shape[-1])
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = np.broadcast_to(a, batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
    b3 = np.broadcast_to(b, batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
    first = gemm(a3[0], b3[0], trans_a=trans_a, trans_b=trans_b)
    out = np.empty((len(a3),) + first.shape, np.float32)
    out[0] = first
    for i in range(1, len(a3)):
        gemm(a3[i], b3[i], out[i], trans_a=trans_a, trans_b=trans_b)
    return out.reshape(batch + first.shape)


class MatMul(Function):
    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both arguments need at least 1 dimension")
        self.vec_a, self.vec_b = a.ndim == 1, b.ndim == 1
        a = a[None, :] if self.vec_a else a
        b = b[:, None] if self.vec_b else b
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"({a.shape[-1]} != {b.shape[-2]})")
        self.a, self.b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        out = _gemm(self.a, self.b)
        out = out[..., 0, :] if self.vec_a else out
        return out[..., 0] if self.vec_b else out

    def backward(self, grad):
        grad = np.expand_dims(grad, -1) if self.vec_b else grad
        grad = np.expand_dims(grad, -2) if self.vec_a else grad
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = unbroadcast(_gemm(grad, self.b, trans_b=True), self.a.shape)
            grad_a = grad_a[0] if self.vec_a else grad_a
        if need_b:
            if self.b.ndim == 2 and self.a.ndim > 2:
                k, n = self.a.shape[-1], grad.shape[-1]
                grad_b = _gemm(self.a.reshape(-1, k), grad.reshape(-1, n), trans_a=True)
            else:
                grad_b = unbroadcast(_gemm(self.a, grad, trans_a=True), self.b.shape)
            grad_b = grad_b[:, 0] if self.vec_b else grad_b
        return grad_a, grad_b
