"""Reductions and scans beyond sum/mean/max (var, std, prod, cumsum, cumprod, logsumexp, norm,
any, all) and the ordering ops (sort, argsort, topk, max/min in all of PyTorch's forms)."""
from __future__ import annotations

import builtins

import numpy as np

from .autograd import Function
from .errors import DimensionError
from .ops import _expand_reduced
from .pointwise_ops import maximum, method_function, minimum
from .tensor import MaxResult, MinResult, Tensor, _tensor

__all__ = ["var", "std", "var_mean", "std_mean", "prod", "cumsum", "cumprod", "logsumexp",
           "norm", "any", "all", "sort", "argsort", "topk", "max", "min", "sum", "mean",
           "argmax", "argmin", "amax", "amin", "softmax", "log_softmax"]

SortResult = __import__("collections").namedtuple("sort", ["values", "indices"])
TopkResult = __import__("collections").namedtuple("topk", ["values", "indices"])


def check_dim(name, dim, ndim):
    """``dim`` in [-ndim, ndim) (a 0-d tensor takes -1 and 0, as PyTorch), as a positive
    index; an IndexError (DimensionError) otherwise."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: argument 'dim' must be an int, got {type(dim).__name__}")
    size = builtins.max(ndim, 1)
    if not -size <= dim < size:
        raise DimensionError(f"{name}: dimension out of range (expected to be in range of "
                             f"[{-size}, {size - 1}], but got {dim})")
    return int(dim) % size


def _axes(name, dim, ndim):
    """dim (None, an int or a sequence) as numpy's axis argument, each checked."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        return tuple(check_dim(name, d, ndim) for d in dim) if ndim else None
    return check_dim(name, dim, ndim) if ndim else None


class Var(Function):
    def forward(self, x, axis, correction, keepdims):
        self.axis, self.keepdims = axis, keepdims
        count = x.size // builtins.max(np.asarray(x.sum(axis=axis)).size, 1)
        self.centered = x - x.mean(axis=axis, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.scale = np.float32(2) / np.float32(builtins.max(count - correction, 0))
            return np.asarray(np.var(x, axis=axis, ddof=correction, keepdims=keepdims))

    def backward(self, grad):
        grad = _expand_reduced(grad, self.centered.shape, self.axis, self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad * self.scale * self.centered).astype(self.centered.dtype)


class Prod(Function):
    """d prod / d x_i = the product of the other entries (exclusive products from both sides,
    so zeros need no special case)."""

    def forward(self, x, axis, keepdims):
        self.axis, self.keepdims, self.x = axis, keepdims, x
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))

    def backward(self, grad):
        x = self.x.reshape(-1) if self.axis is None else np.moveaxis(self.x, self.axis, -1)
        ones = np.ones(x.shape[:-1] + (1,), x.dtype)
        before = np.cumprod(np.concatenate([ones, x[..., :-1]], -1), -1)
        after = np.cumprod(np.concatenate([ones, x[..., :0:-1]], -1), -1)[..., ::-1]
        others = before * after
        others = others.reshape(self.x.shape) if self.axis is None else \
            np.moveaxis(others, -1, self.axis)
        return _expand_reduced(grad, self.x.shape, self.axis, self.keepdims) * others


class Cumsum(Function):
    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis=axis, dtype=x.dtype)

    def backward(self, grad):
        return np.flip(np.cumsum(np.flip(grad, self.axis), axis=self.axis), self.axis)


class Cumprod(Function):
    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.out = np.cumprod(x, axis=axis, dtype=x.dtype)
        return self.out

    def backward(self, grad):
        axis, x = self.axis, self.x
        if np.all(x != 0):  # sum_{j >= i} grad_j out_j / x_i
            tail = np.flip(np.cumsum(np.flip(grad * self.out, axis), axis=axis), axis)
            return tail / x
        result = np.empty_like(x)  # with zeros: out_j without x_i, one i at a time
        for i in range(x.shape[axis]):
            without = x.copy()
            np.moveaxis(without, axis, 0)[i] = 1
            partial = np.moveaxis(np.cumprod(without, axis=axis) * grad, axis, 0)[i:]
            np.moveaxis(result, axis, 0)[i] = partial.sum(axis=0)
        return result


class LogSumExp(Function):
    def forward(self, x, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims
        peak = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((), x.dtype)
        peak = np.where(np.isfinite(peak), peak, 0)
        shifted = np.exp(x - peak)
        total = shifted.sum(axis=axis, keepdims=True)
        self.softmax = shifted / total
        out = np.log(total) + peak
        return np.asarray(out if keepdims else np.squeeze(out, axis))

    def backward(self, grad):
        return _expand_reduced(grad, self.softmax.shape, self.axis, self.keepdims) * self.softmax


class Norm2(Function):
    """sqrt(sum x^2); the gradient x / norm is 0 where the norm is 0 (as PyTorch)."""

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
        return np.asarray(self.out if keepdims else np.squeeze(self.out, axis))

    def backward(self, grad):
        grad = _expand_reduced(grad, self.x.shape, self.axis, self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(self.out == 0, 0, grad / self.out)
        return (self.x * scale).astype(self.x.dtype)


def _reduce_args(name, input, dim, keepdim):
    input = _tensor(input)
    return input, _axes(name, dim, input.ndim), bool(keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over dim (all by default); Bessel-corrected unless unbiased=False or
    correction says otherwise."""
    if isinstance(dim, bool) and unbiased is None:
        dim, unbiased = None, bool(dim)  # var(x, False): PyTorch's positional unbiased
    if correction is None:
        correction = 0 if unbiased is False else 1
    input, axis, keepdim = _reduce_args("var", input, dim, keepdim)
    return Var.apply(input, axis=axis, correction=correction, keepdims=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (var(input, dim, unbiased, keepdim, correction=correction),
            _tensor(input).mean(dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (std(input, dim, unbiased, keepdim, correction=correction),
            _tensor(input).mean(dim, keepdim))


def prod(input, dim=None, keepdim=False):
    input, axis, keepdim = _reduce_args("prod", input, dim, keepdim)
    return Prod.apply(input, axis=axis, keepdims=keepdim)


def _scan(cls, name, input, dim):
    input = _tensor(input)
    if input.ndim == 0:
        check_dim(name, dim, 0)
        return input.clone()
    if input._array.dtype.kind != "f":  # PyTorch promotes integer and bool scans to int64
        fn = np.cumsum if cls is Cumsum else np.cumprod
        return Tensor._wrap(fn(input._array, axis=check_dim(name, dim, input.ndim), dtype=np.int64))
    return cls.apply(input, axis=check_dim(name, dim, input.ndim))


def cumsum(input, dim, dtype=None):
    return _scan(Cumsum, "cumsum", input, dim)


def cumprod(input, dim, dtype=None):
    return _scan(Cumprod, "cumprod", input, dim)


def logsumexp(input, dim, keepdim=False):
    input, axis, keepdim = _reduce_args("logsumexp", input, dim, keepdim)
    return LogSumExp.apply(input, axis=axis, keepdims=keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over dim (all entries by default): p = 2 / 'fro', 1, inf, -inf, or
    any other number."""
    input, axis, keepdim = _reduce_args("norm", input, dim, keepdim)
    if p in ("fro", 2, 2.0, None):
        return Norm2.apply(input, axis=axis, keepdims=keepdim)
    if p == "nuc" or isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported (use 'fro', or a number)")
    magnitude = input.abs()
    if p == float("inf"):
        return magnitude.amax(() if axis is None else axis, keepdim)
    if p == float("-inf"):
        return magnitude.amin(() if axis is None else axis, keepdim)
    if p == 1:
        return magnitude.sum(axis, keepdim)
    if p == 0:
        return (magnitude != 0).float().sum(axis, keepdim)
    return (magnitude ** float(p)).sum(axis, keepdim) ** (1.0 / p)


def _logical(fn, name):
    def reduce(input, dim=None, keepdim=False):
        input, axis, keepdim = _reduce_args(name, input, dim, keepdim)
        return Tensor._wrap(np.asarray(fn(input._array, axis=axis, keepdims=keepdim)))
    reduce.__name__ = reduce.__qualname__ = name
    return reduce


any, all = _logical(np.any, "any"), _logical(np.all, "all")  # noqa: A001


def argsort(input, dim=-1, descending=False, stable=False):
    input = _tensor(input)
    if input.ndim == 0:
        check_dim("argsort", dim, 0)
        return Tensor._wrap(np.zeros((), np.int64))
    axis = check_dim("argsort", dim, input.ndim)
    data = input._array
    if descending:  # stable descending: sort the reversed axis ascending, map indices back
        flipped = np.flip(data, axis)
        order = np.argsort(flipped, axis=axis, kind="stable")
        order = np.flip(data.shape[axis] - 1 - order, axis)
    else:
        order = np.argsort(data, axis=axis, kind="stable")
    return Tensor._wrap(order.astype(np.int64))


def sort(input, dim=-1, descending=False, stable=False):
    from .index_ops import gather
    input = _tensor(input)
    indices = argsort(input, dim, descending)
    if input.ndim == 0:
        return SortResult(input.clone(), indices)
    return SortResult(gather(input, dim, indices), indices)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    from .index_ops import gather
    input = _tensor(input)
    size = input.shape[check_dim("topk", dim, input.ndim)] if input.ndim else 1
    if not 0 <= k <= size:
        raise IndexError(f"topk: k ({k}) is out of range for a dimension of size {size}")
    indices = argsort(input, dim, descending=largest)
    if input.ndim == 0:
        if k == 0:
            return TopkResult(input.reshape(1)[:0], Tensor._wrap(np.zeros(0, np.int64)))
        return TopkResult(input.clone(), indices)
    axis = check_dim("topk", dim, input.ndim)
    indices = Tensor._wrap(np.take(indices._array, np.arange(k), axis=axis))
    return TopkResult(gather(input, dim, indices), indices)


def _extremum(name, pick_values, pairwise, result):
    def reduce(input, dim=None, keepdim=False, *, other=None):
        input = _tensor(input)
        other = dim if isinstance(dim, Tensor) else other
        if other is not None:
            return pairwise(input, other)
        if input._array.dtype.kind != "f":  # bool and ints: no gradient to keep
            if dim is None:
                return Tensor._wrap(np.asarray(pick_values(input._array)))
            axis = check_dim(name, dim, input.ndim) if input.ndim else None
            arg = np.argmax if name == "max" else np.argmin
            values = np.asarray(pick_values(input._array, axis=axis, keepdims=keepdim))
            indices = np.asarray(arg(input._array, axis=axis, keepdims=keepdim)).astype(np.int64)
            return result(Tensor._wrap(values), Tensor._wrap(indices))
        method = Tensor._float_max if name == "max" else Tensor._float_min
        if dim is None:
            return method(input)
        check_dim(name, dim, input.ndim)
        return method(input, dim, keepdim)
    reduce.__name__ = reduce.__qualname__ = name
    return reduce


max = _extremum("max", np.max, maximum, MaxResult)  # noqa: A001
min = _extremum("min", np.min, minimum, MinResult)  # noqa: A001


sum, mean = map(method_function, ("sum", "mean"))  # noqa: A001
argmax, argmin, amax, amin = map(method_function, ("argmax", "argmin", "amax", "amin"))
softmax, log_softmax = map(method_function, ("softmax", "log_softmax"))
