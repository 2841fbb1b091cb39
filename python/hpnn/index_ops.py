"""Indexing and rearranging ops: split/chunk/narrow/unbind, expand, repeat, gather, scatter,
scatter_add, index_select, masked_fill, flip, roll, tril/triu. One Function per op, forward
and backward side by side."""
from __future__ import annotations

import numpy as np

from .autograd import Function
from .errors import ShapeError
from .ops import unbroadcast
from .pointwise_ops import method_function
from .reduce_ops import check_dim
from .tensor import Tensor, _shape_arg, _tensor, as_array

__all__ = ["split", "chunk", "narrow", "unbind", "gather", "scatter", "scatter_add",
           "index_select", "masked_fill", "flip", "roll", "tril", "triu", "flatten",
           "unsqueeze", "squeeze", "transpose", "permute", "reshape", "t", "numel"]


def _slice(input, axis, start, stop):
    return input[(slice(None),) * axis + (slice(start, stop),)]


def narrow(input, dim, start, length):
    input = _tensor(input)
    axis = check_dim("narrow", dim, input.ndim)
    size = input.shape[axis]
    start = int(start) + (size if start < 0 else 0)
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                         f"({size})")
    return _slice(input, axis, start, start + length)


def split(tensor, split_size_or_sections, dim=0):
    tensor = _tensor(tensor)
    axis = check_dim("split", dim, tensor.ndim)
    size = tensor.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise ShapeError(f"split: sections {sections} do not sum to the dimension's size "
                             f"{size}")
    else:
        step = int(split_size_or_sections)
        if step <= 0 and size:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sections = [min(step, size - i) for i in range(0, size, step)] if size else [0]
    bounds = np.cumsum([0] + sections)
    return tuple(_slice(tensor, axis, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]))


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise ValueError(f"chunk: argument 'chunks' must be positive, got {chunks}")
    input = _tensor(input)
    size = input.shape[check_dim("chunk", dim, input.ndim)]
    return split(input, max(-(-size // chunks), 1), dim)


def unbind(input, dim=0):
    input = _tensor(input)
    axis = check_dim("unbind", dim, input.ndim)
    return tuple(input[(slice(None),) * axis + (i,)] for i in range(input.shape[axis]))


class Expand(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return unbroadcast(grad, self.shape)


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"tensor's dims ({input.ndim})")
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(sizes))
    try:
        np.broadcast_shapes(input.shape, shape)
        if np.broadcast_shapes(input.shape, shape) != shape or min(shape, default=0) < 0:
            raise ValueError
    except ValueError:
        raise ShapeError(f"expand: cannot expand shape {tuple(input.shape)} to "
                         f"{tuple(sizes)}") from None
    return Expand.apply(input, shape=shape)


class Repeat(Function):
    def forward(self, x, repeats):
        self.input_shape, self.repeats = x.shape, repeats
        self.shape = (1,) * (len(repeats) - x.ndim) + x.shape  # x's shape, padded on the left
        return np.tile(x, repeats)

    def backward(self, grad):
        split_shape = [n for pair in zip(self.repeats, self.shape) for n in pair]
        grad = grad.reshape(split_shape).sum(axis=tuple(range(0, len(split_shape), 2)))
        return grad.reshape(self.input_shape)


def repeat(input, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise ShapeError(f"repeat: the number of repeats ({len(sizes)}) must be at least the "
                         f"tensor's dims ({input.ndim})")
    if min(sizes, default=0) < 0:
        raise ValueError(f"repeat: repeats must not be negative, got {sizes}")
    out = Repeat.apply(input, repeats=tuple(sizes))
    return out


def _index_grid(name, input, axis, index):
    """The advanced index that picks input[..., index[i, j, ...], ...] along axis for every
    position of index (index may be smaller than input in every dim, as PyTorch allows)."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: argument 'index' must be an integer tensor, got {index.dtype}")
    if index.ndim != input.ndim:
        raise ShapeError(f"{name}: index has {index.ndim} dims, expected {input.ndim}")
    shape = input.shape
    for d, (n, m) in enumerate(zip(index.shape, shape)):
        if d != axis and n > m:
            raise ShapeError(f"{name}: index has size {n} in dim {d}, more than the input's {m}")
    if index.size and (index.min() < -shape[axis] or index.max() >= shape[axis]):
        raise IndexError(f"{name}: index out of range for dimension {axis} of size "
                         f"{shape[axis]}")
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


class Gather(Function):
    def forward(self, x, grid):
        self.shape, self.grid = x.shape, grid
        return x[grid]

    def backward(self, grad):
        full = np.zeros(self.shape, grad.dtype)
        np.add.at(full, self.grid, grad)  # sums the gradients of repeated indices
        return full


def gather(input, dim, index, *, sparse_grad=False):
    input, index = _tensor(input), as_array(index)
    axis = check_dim("gather", dim, input.ndim)
    if input.ndim == 0:
        return gather(input.reshape(1), 0, index.reshape(-1)).reshape(index.shape)
    return Gather.apply(input, grid=_index_grid("gather", input, axis, index))


class Scatter(Function):
    """out = x with src's values written (or added, ``add``) at the indexed positions."""

    def forward(self, x, src, grid, add):
        self.grid, self.add, self.src_shape = grid, add, src.shape
        out = x.copy()
        part = src[tuple(slice(0, n) for n in grid_shape(grid))] if src.ndim else src
        if add:
            np.add.at(out, grid, part)
        else:
            out[grid] = part
        return out

    def backward(self, grad):
        need_x, need_src = self.needs_input_grad
        grad_src = None
        if need_src:
            grad_src = np.zeros(self.src_shape, grad.dtype)
            if grad_src.ndim:
                grad_src[tuple(slice(0, n) for n in grid_shape(self.grid))] = grad[self.grid]
            else:
                grad_src = grad[self.grid].sum().astype(grad.dtype)
        if need_x and not self.add:
            grad = grad.copy()
            grad[self.grid] = 0
        return (grad if need_x else None), grad_src


def grid_shape(grid):
    return np.broadcast_shapes(*[g.shape for g in grid])


def _scatter(name, input, dim, index, src, add):
    input, index = _tensor(input), as_array(index)
    src = _tensor(src, input) if not isinstance(src, Tensor) else src
    axis = check_dim(name, dim, input.ndim)
    if input.ndim == 0:
        src = src.reshape(-1) if src.ndim else src
        return _scatter(name, input.reshape(1), 0, index.reshape(-1), src, add).reshape(())
    grid = _index_grid(name, input, axis, index)
    if src.ndim and any(n > m for n, m in zip(index.shape, src.shape)):
        raise ShapeError(f"{name}: index shape {index.shape} is larger than src's "
                         f"{tuple(src.shape)}")
    return Scatter.apply(input, src, grid=grid, add=add)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if reduce is not None:
        raise NotImplementedError("scatter: argument 'reduce' is not supported")
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of 'src' and 'value'")
    return _scatter("scatter", input, dim, index, value if src is None else src, add=False)


def scatter_add(input, dim, index, src):
    return _scatter("scatter_add", input, dim, index, src, add=True)


class IndexSelect(Function):
    def forward(self, x, index, axis):
        self.shape, self.index, self.axis = x.shape, index, axis
        return np.take(x, index, axis=axis)

    def backward(self, grad):
        full = np.zeros(self.shape, grad.dtype)
        np.add.at(np.moveaxis(full, self.axis, 0), self.index,
                  np.moveaxis(grad, self.axis, 0))
        return full


def index_select(input, dim, index):
    input, index = _tensor(input), as_array(index)
    axis = check_dim("index_select", dim, input.ndim)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise IndexError(f"index_select: argument 'index' must be a 1-d integer tensor, got "
                         f"{index.ndim} dims of {index.dtype}")
    size = input.shape[axis] if input.ndim else 1
    if index.size and (index.min() < -size or index.max() >= size):
        raise IndexError(f"index_select: index out of range for a dimension of size {size}")
    if input.ndim == 0:
        return input.reshape(1)[Tensor._wrap(index.reshape(-1))].reshape(index.shape)
    return IndexSelect.apply(input, index=index.reshape(-1), axis=axis)


def masked_fill(input, mask, value):
    from .creation import where
    input, mask = _tensor(input), as_array(mask)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: argument 'mask' must be a bool tensor, got {mask.dtype}")
    try:
        if np.broadcast_shapes(mask.shape, input.shape) != input.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"input's {tuple(input.shape)}") from None
    if isinstance(value, Tensor) and value.ndim:
        raise ValueError(f"masked_fill: value must be a 0-d tensor or a number, got "
                         f"{value.ndim} dims")
    value = _tensor(value, input)
    if input._array.dtype.kind != "f":
        return Tensor._wrap(np.where(mask, value._array, input._array).astype(input._array.dtype))
    return where(mask, value, input)


class Flip(Function):
    def forward(self, x, axes):
        self.axes = axes
        return np.flip(x, axes)

    def backward(self, grad):
        return np.flip(grad, self.axes)


def flip(input, *dims):
    input = _tensor(input)
    axes = tuple(check_dim("flip", d, input.ndim) for d in _shape_arg(dims))
    return Flip.apply(input, axes=axes) if input.ndim else input.clone()


class Roll(Function):
    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return np.roll(x, shifts, axes)

    def backward(self, grad):
        negated = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) \
            else -self.shifts
        return np.roll(grad, negated, self.axes)


def roll(input, shifts, dims=None):
    input = _tensor(input)
    if dims is None:
        return Roll.apply(input, shifts=int(np.sum(shifts)), axes=None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    axes = tuple(check_dim("roll", d, input.ndim) for d in dims)
    return Roll.apply(input, shifts=shifts, axes=axes)


class Triangle(Function):
    def forward(self, x, keep, diagonal):
        self.keep, self.diagonal = keep, diagonal
        return keep(x, diagonal)

    def backward(self, grad):
        return self.keep(grad, self.diagonal)


def _triangle(name, keep):
    def triangle(input, diagonal=0):
        input = _tensor(input)
        if input.ndim < 2:
            raise ValueError(f"{name}: input tensor must have at least 2 dimensions, got "
                             f"{input.ndim}")
        return Triangle.apply(input, keep=keep, diagonal=int(diagonal))
    triangle.__name__ = triangle.__qualname__ = name
    return triangle


tril, triu = _triangle("tril", np.tril), _triangle("triu", np.triu)


flatten, unsqueeze, squeeze = map(method_function, ("flatten", "unsqueeze", "squeeze"))
transpose, permute, reshape = map(method_function, ("transpose", "permute", "reshape"))
t, numel = map(method_function, ("t", "numel"))
