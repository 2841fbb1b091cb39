"""PyTorch's in-place Tensor methods (``add_``, ``mul_``, ``normal_``, ``masked_fill_``, ...).

Each writes into the tensor's own array, bumps its version counter and returns the tensor.
As in PyTorch they record no graph: on a tensor that requires grad they raise unless grad mode
is off (``with hpnn.no_grad():``, or through ``p.data``, which has no grad). A tensor modified
after an op saved it for backward makes that backward raise (autograd._check_versions).
Random fills draw from hpnn's global generator (``hpnn.manual_seed``) or ``generator=``."""
from __future__ import annotations

import numpy as np

from . import random
from .tensor import Tensor

__all__ = ["register"]


def _value(x):
    """An operand as numpy sees it: a tensor's array, a Python number as it is (numpy keeps
    such "weak" scalars in the tensor's dtype, as PyTorch)."""
    return x._array if isinstance(x, Tensor) else x


def _write(tensor, name, values):
    """values (broadcast, cast to the tensor's dtype) written into tensor; returns tensor."""
    tensor._check_inplace(name)
    values = np.asarray(values)
    if values.dtype != tensor._array.dtype and values.dtype.kind == "f" and \
            tensor._array.dtype.kind in "iub":
        raise RuntimeError(f"{name}: result type {values.dtype} can't be cast to the desired "
                           f"output type {tensor._array.dtype}")
    try:
        np.copyto(tensor._array, values, casting="unsafe")
    except ValueError:
        raise RuntimeError(f"{name}: the result of shape {values.shape} does not broadcast "
                           f"to the tensor's shape {tuple(tensor.shape)}") from None
    tensor._version += 1
    return tensor


def _binary(name, ufunc):
    def method(self, other):
        return _write(self, name, ufunc(self._array, _value(other)))
    method.__name__ = name
    return method


def _unary(name, ufunc):
    def method(self):
        with np.errstate(invalid="ignore", divide="ignore"):
            return _write(self, name, ufunc(self._array))
    method.__name__ = name
    return method


def add_(self, other, *, alpha=1):
    other = _value(other)
    return _write(self, "add_", self._array + (other if alpha == 1 else alpha * other))


def sub_(self, other, *, alpha=1):
    other = _value(other)
    return _write(self, "sub_", self._array - (other if alpha == 1 else alpha * other))


def div_(self, other, *, rounding_mode=None):
    quotient = np.true_divide(self._array, _value(other))
    if rounding_mode == "floor":
        quotient = np.floor(quotient)
    elif rounding_mode == "trunc":
        quotient = np.trunc(quotient)
    elif rounding_mode is not None:
        raise ValueError(f"div_: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    return _write(self, "div_", quotient)


def addcmul_(self, tensor1, tensor2, *, value=1):
    product = np.multiply(_value(tensor1), _value(tensor2))
    return _write(self, "addcmul_", self._array + (product if value == 1 else value * product))


def addcdiv_(self, tensor1, tensor2, *, value=1):
    quotient = np.true_divide(_value(tensor1), _value(tensor2))
    return _write(self, "addcdiv_", self._array + (quotient if value == 1 else value * quotient))


def lerp_(self, end, weight):
    return _write(self, "lerp_", self._array + _value(weight) * (_value(end) - self._array))


def clamp_(self, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp_: at least one of 'min' and 'max' must be given")
    values = self._array
    if min is not None:
        values = np.maximum(values, _value(min))
    if max is not None:
        values = np.minimum(values, _value(max))
    return _write(self, "clamp_", values)


def clamp_min_(self, min):
    return clamp_(self, min=min)


def clamp_max_(self, max):
    return clamp_(self, max=max)


def copy_(self, src, non_blocking=False):
    return _write(self, "copy_", _value(src))


def zero_(self):
    return _write(self, "zero_", 0)


def fill_(self, value):
    return _write(self, "fill_", _value(value))


def masked_fill_(self, mask, value):
    mask = np.asarray(_value(mask))
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill_: argument 'mask' must be a bool tensor, got {mask.dtype}")
    return _write(self, "masked_fill_", np.where(mask, _value(value), self._array))


def _float_draw(self, name):
    if self._array.dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating point tensor, got {self._array.dtype}")
    dtype = self._array.dtype
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    draw = random.numpy_generator(generator).standard_normal(
        self._array.shape, dtype=_float_draw(self, "normal_"))
    return _write(self, "normal_", draw * std + mean)


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    draw = random.numpy_generator(generator).random(self._array.shape,
                                                    dtype=_float_draw(self, "uniform_"))
    return _write(self, "uniform_", draw * (b - a) + a)


def exponential_(self, lambd=1.0, *, generator=None):
    _float_draw(self, "exponential_")
    draw = random.numpy_generator(generator).exponential(1.0 / lambd, self._array.shape)
    return _write(self, "exponential_", draw)


def bernoulli_(self, p=0.5, *, generator=None):
    draw = random.numpy_generator(generator).random(self._array.shape)
    return _write(self, "bernoulli_", draw < _value(p))


def random_(self, from_=0, to=None, *, generator=None):
    """Integers in [from_, to) (``random_(to)``: [0, to)), as PyTorch's."""
    if to is None:
        if from_ == 0:
            raise ValueError("random_: give the upper bound 'to' (hpnn has no dtype-wide "
                             "default range)")
        from_, to = 0, from_
    draw = random.numpy_generator(generator).integers(from_, to, self._array.shape)
    return _write(self, "random_", draw)


def pow_(self, exponent):
    with np.errstate(invalid="ignore", divide="ignore"):
        return _write(self, "pow_", np.power(self._array, _value(exponent)))


_METHODS = {f.__name__: f for f in (
    add_, sub_, div_, addcmul_, addcdiv_, lerp_, clamp_, clamp_min_, clamp_max_, copy_, zero_,
    fill_, masked_fill_, normal_, uniform_, exponential_, bernoulli_, random_, pow_)}
_METHODS.update({
    "mul_": _binary("mul_", np.multiply),
    "remainder_": _binary("remainder_", np.remainder),
    "fmod_": _binary("fmod_", np.fmod),
    "maximum_": _binary("maximum_", np.maximum),
    "minimum_": _binary("minimum_", np.minimum),
})
_METHODS.update({name + "_": _unary(name + "_", fn) for name, fn in {
    "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "abs": np.abs, "neg": np.negative,
    "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
    "reciprocal": np.reciprocal, "log1p": np.log1p, "expm1": np.expm1, "sin": np.sin,
    "cos": np.cos, "square": np.square, "rsqrt": lambda x: 1 / np.sqrt(x),
    "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}.items()})
_ALIASES = {"clip_": "clamp_", "multiply_": "mul_", "subtract_": "sub_", "divide_": "div_",
            "true_divide_": "div_", "negative_": "neg_", "absolute_": "abs_", "fix_": "trunc_"}


def register(tensor_class):
    """Attach the in-place methods to Tensor (called once, at import)."""
    for name, method in _METHODS.items():
        setattr(tensor_class, name, method)
    for alias, name in _ALIASES.items():
        setattr(tensor_class, alias, _METHODS[name])
