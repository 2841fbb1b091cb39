"""Differentiable shape ops: reshape, permute, indexing (get and set), concatenation, where,
and matmul (batched, on the native GEMM)."""
from __future__ import annotations

import numpy as np

from .autograd import Function
from .backend import kernel
from .ops import unbroadcast


class Where(Function):
    def forward(self, x, y, condition):
        self.condition, self.shapes = condition, (x.shape, y.shape)
        return np.where(condition, x, y)

    def backward(self, grad):
        need_x, need_y = self.needs_input_grad
        return (unbroadcast(np.where(self.condition, grad, 0), self.shapes[0]) if need_x else None,
                unbroadcast(np.where(self.condition, 0, grad), self.shapes[1]) if need_y else None)


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
        inverse = self.inverse = [None] * x.ndim
        try:
            for position, axis in enumerate(axes):
                inverse[axis] = position  # a negative axis counts from the end, as numpy's
        except (IndexError, TypeError):
            inverse.append(None)
        if None in inverse or len(axes) != x.ndim:
            raise ValueError(f"permute: {tuple(axes)} is not a permutation of the {x.ndim} dims")
        return x.transpose(axes)

    def backward(self, grad):
        return grad.transpose(self.inverse)


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


class SetItem(Function):
    """``x[index] = value`` as a graph node: the gradient of the overwritten entries goes to
    value (summed back to its shape), the rest to the previous x."""

    @classmethod
    def assign(cls, target, index, value):
        """Make ``target`` (a Tensor) the output of this node, in place."""
        previous = Tensor._wrap(target._array, target.requires_grad)
        previous._ctx = target._ctx
        data = target._array.copy()  # an op that saved the old values keeps them
        try:
            data[index] = value._array
        except (IndexError, ValueError) as error:
            raise type(error)(f"__setitem__: {error}") from None
        node = cls()
        node.needs_input_grad = (previous.requires_grad, value.requires_grad)
        node.parents, node.index, node.value_shape = (previous, value), index, value.shape
        target._array, target._ctx, target.requires_grad = data, node, True

    def backward(self, grad):
        need_previous, need_value = self.needs_input_grad
        grad_value = None
        if need_value:
            grad_value = unbroadcast(np.asarray(grad[self.index]), self.value_shape)
        if need_previous:
            grad = grad.copy()
            grad[self.index] = 0
        return (grad if need_previous else None), grad_value


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class Concat(Function):
    def forward(self, *arrays, axis=0):
        out = np.concatenate(arrays, axis=axis)
        self.axis, self.sizes = axis % out.ndim, [a.shape[axis] for a in arrays]
        return out

    def backward(self, grad):
        lead, start, parts = (slice(None),) * self.axis, 0, []
        for size in self.sizes:
            parts.append(grad[lead + (slice(start, start + size),)])
            start += size
        return tuple(parts)


class Stack(Function):
    """Arrays of one shape joined along a new axis; each gets its slice of the gradient."""

    def forward(self, *arrays, axis=0):
        shape = arrays[0].shape
        self.axis = axis % (len(shape) + 1)
        shape = shape[:self.axis] + (1,) + shape[self.axis:]
        parts = [a.reshape(shape) for a in arrays]  # np.stack, without its Python overhead
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=self.axis)

    def backward(self, grad):
        lead = (slice(None),) * self.axis
        return tuple([grad[lead + (i,)] for i in range(grad.shape[self.axis])])


# gemm_batched takes operands of at most this many dims (the native kernels' kMaxDims).
_MAX_BATCHED_DIMS = 6


def _gemm(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for float32 arrays of ndim >= 2, leading dims broadcast: one native call
    (gemm_batched releases the GIL once and threads over the items)."""
    if a.ndim == 2 and b.ndim == 2:
        return kernel("gemm")(a, b, trans_a=trans_a, trans_b=trans_b)
    if b.ndim == 2 and not trans_a:  # fold a's batch dims into its rows: one larger product
        rows = kernel("gemm")(a.reshape(-1, a.shape[-1]), b, trans_b=trans_b)
        return rows.reshape(*a.shape[:-1], rows.shape[-1])
    if max(a.ndim, b.ndim) > _MAX_BATCHED_DIMS:  # flatten the broadcast batch to one dim
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        flat_a = np.broadcast_to(a, batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
        flat_b = np.broadcast_to(b, batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
        out = _gemm(flat_a, flat_b, trans_a, trans_b)
        return out.reshape(batch + out.shape[-2:])
    return kernel("gemm_batched")(a, b, trans_a=trans_a, trans_b=trans_b)


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


from .tensor import Tensor  # noqa: E402  (tensor imports this module)
