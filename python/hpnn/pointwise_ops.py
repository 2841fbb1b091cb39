"""Elementwise ops beyond arithmetic (sin, cos, rsqrt, erf, maximum, ...), comparisons and the
hpnn.* function forms of the elementwise Tensor methods. One Function per differentiable op:
forward and backward side by side, saving only what backward needs."""
from __future__ import annotations

import math

import numpy as np

from .autograd import Function
from .ops import unbroadcast
from .tensor import Tensor, _tensor

__all__ = ["sin", "cos", "rsqrt", "erf", "sign", "floor", "ceil", "round", "maximum", "minimum",
           "nan_to_num", "isnan", "isfinite", "isinf", "eq", "ne", "lt", "le", "gt", "ge",
           "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "clamp", "clip", "neg"]


class Sin(Function):
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad):
        return grad * np.cos(self.x)


class Cos(Function):
    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, grad):
        return grad * -np.sin(self.x)


class Rsqrt(Function):
    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            self.out = 1 / np.sqrt(x)
        return self.out

    def backward(self, grad):  # d x^-1/2 = -1/2 x^-3/2
        return grad * -0.5 * self.out ** 3


_ERF = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf; math.erf is exact to the last bit
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


class Erf(Function):
    def forward(self, x):
        self.x = x
        return np.asarray(_ERF(x)).astype(x.dtype) if x.size else x.copy()

    def backward(self, grad):
        return grad * (_TWO_OVER_SQRT_PI * np.exp(-self.x * self.x)).astype(grad.dtype)


class Piecewise(Function):
    """sign, floor, ceil, round: piecewise constant, so their gradient is 0 (as PyTorch's)."""

    def forward(self, x, fn, **options):
        self.shape, self.dtype = x.shape, x.dtype
        return fn(x, **options)

    def backward(self, grad):
        return np.zeros(self.shape, self.dtype)


class Extremum(Function):
    """maximum / minimum of two tensors; a tie splits the gradient in half (as PyTorch)."""

    def forward(self, a, b, pick):
        out = pick(a, b)
        self.shapes = a.shape, b.shape
        self.share_a = np.where(a == b, 0.5, (a == out).astype(np.float32)).astype(out.dtype)
        return out

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad * self.share_a, self.shapes[0]) if need_a else None,
                unbroadcast(grad * (1 - self.share_a), self.shapes[1]) if need_b else None)


class NanToNum(Function):
    def forward(self, x, nan, posinf, neginf):
        self.finite = np.isfinite(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, grad):
        return grad * self.finite


def sin(input):
    return Sin.apply(_tensor(input))


def cos(input):
    return Cos.apply(_tensor(input))


def rsqrt(input):
    return Rsqrt.apply(_tensor(input))


def erf(input):
    return Erf.apply(_tensor(input))


def _piecewise(fn, input, **options):
    input = _tensor(input)
    if input._array.dtype.kind != "f":  # integers and bools: the op changes nothing but sign
        return Tensor._wrap(np.asarray(fn(input._array, **options)))
    return Piecewise.apply(input, fn=fn, **options)


def sign(input):
    return _piecewise(np.sign, input)


def floor(input):
    return _piecewise(np.floor, input)


def ceil(input):
    return _piecewise(np.ceil, input)


def round(input, decimals=0):  # noqa: A001  (PyTorch's name); half to even, as PyTorch
    return _piecewise(np.round, input, decimals=decimals)


def maximum(input, other):
    input = _tensor(input)
    return Extremum.apply(input, _tensor(other, input), pick=np.maximum)


def minimum(input, other):
    input = _tensor(input)
    return Extremum.apply(input, _tensor(other, input), pick=np.minimum)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return NanToNum.apply(_tensor(input), nan=nan, posinf=posinf, neginf=neginf)


def _predicate(fn):
    def predicate(input):
        return Tensor._wrap(np.asarray(fn(_tensor(input)._array)))
    predicate.__name__ = fn.__name__
    return predicate


isnan, isfinite, isinf = _predicate(np.isnan), _predicate(np.isfinite), _predicate(np.isinf)


def _comparison(ufunc, name):
    def compare(input, other):
        other = other._array if isinstance(other, Tensor) else other
        return Tensor._wrap(np.asarray(ufunc(_tensor(input)._array, other)))
    compare.__name__ = compare.__qualname__ = name
    return compare


eq, ne = _comparison(np.equal, "eq"), _comparison(np.not_equal, "ne")
lt, le = _comparison(np.less, "lt"), _comparison(np.less_equal, "le")
gt, ge = _comparison(np.greater, "gt"), _comparison(np.greater_equal, "ge")


def method_function(name):
    """hpnn.<name>(input, ...) as input.<name>(...)."""
    def function(input, *args, **kwargs):
        return getattr(_tensor(input), name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    return function


exp, log, sqrt, abs = map(method_function, ("exp", "log", "sqrt", "abs"))  # noqa: A001
sigmoid, tanh, relu, neg = map(method_function, ("sigmoid", "tanh", "relu", "neg"))
clamp, clip = map(method_function, ("clamp", "clip"))
