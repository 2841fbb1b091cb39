"""The less common activations (ELU, SELU, CELU, SiLU, Mish, Softplus, Hardtanh, ReLU6,
Hardswish, Hardsigmoid, PReLU, LogSigmoid, Softsign, Tanhshrink, Softmin, Threshold, GLU,
Hardshrink, Softshrink) with PyTorch's names, defaults and gradients (including at the
kinks: the branch PyTorch's backward takes there). Elementwise numpy in the input's dtype:
none is on a hot path that would pay for a native kernel."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from .activation import softmax

__all__ = ["elu", "elu_", "selu", "selu_", "celu", "celu_", "silu", "mish", "softplus",
           "hardtanh", "hardtanh_", "relu6", "hardswish", "hardsigmoid", "prelu", "logsigmoid",
           "softsign", "tanhshrink", "softmin", "threshold", "threshold_", "glu", "hardshrink",
           "softshrink"]

# SELU's constants, from Klambauer et al. 2017 (the values PyTorch uses)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for either sign."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _elu(x, alpha, scale=1.0):
    negative = alpha * np.expm1(np.minimum(x, 0))
    return scale * np.where(x > 0, x, negative), scale * np.where(x > 0, 1, negative + alpha)


def _celu(x, alpha):
    e = np.exp(np.minimum(x, 0) / alpha)
    return np.where(x > 0, x, alpha * (e - 1)), np.where(x > 0, 1, e)


def _silu(x):
    s = _sigmoid(x)
    return x * s, s * (1 + x * (1 - s))


def _mish(x):
    t = np.tanh(_softplus(x))
    return x * t, t + x * _sigmoid(x) * (1 - t * t)


def _softplus_pair(x, beta, threshold):
    linear = x * beta > threshold
    return (np.where(linear, x, _softplus(beta * x) / beta),
            np.where(linear, 1, _sigmoid(beta * x)))


def _hardtanh(x, min_val, max_val):
    return np.clip(x, min_val, max_val), (x > min_val) & (x < max_val)


def _hardswish(x):
    y = x * np.clip(x + 3, 0, 6) / 6
    return y, np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))


def _hardsigmoid(x):
    return np.clip(x + 3, 0, 6) / 6, np.where((x > -3) & (x < 3), 1 / 6, 0)


def _logsigmoid(x):
    return -_softplus(-x), _sigmoid(-x)


def _softsign(x):
    d = 1 + np.abs(x)
    return x / d, 1 / (d * d)


def _tanhshrink(x):
    t = np.tanh(x)
    return x - t, t * t


def _threshold(x, threshold, value):
    keep = x > threshold
    return np.where(keep, x, value), keep


def _hardshrink(x, lambd):
    keep = np.abs(x) > lambd
    return np.where(keep, x, 0), keep


def _softshrink(x, lambd):
    keep = np.abs(x) > lambd
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)), keep


class Elementwise(Function):
    """y = f(x) for ``f(x, **options) -> (y, dy/dx)``: saves only dy/dx. apply_ runs it in
    place (dy/dx is computed before x is overwritten)."""

    def forward(self, x, f=None, **options):
        y, slope = f(x, **options)
        self.slope = np.asarray(slope, x.dtype)
        return np.asarray(y, x.dtype)

    def backward(self, grad):
        return grad * self.slope


def _apply(f, input, inplace, name, **options):
    if inplace:
        return Elementwise.apply_(input, name, f=f, **options)
    return Elementwise.apply(input, f=f, **options)


def elu(input, alpha=1.0, inplace=False):
    return _apply(_elu, input, inplace, "elu_", alpha=float(alpha))


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def selu(input, inplace=False):
    return _apply(_elu, input, inplace, "selu_", alpha=SELU_ALPHA, scale=SELU_SCALE)


def selu_(input):
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise ValueError("celu: argument 'alpha' must not be 0 (it divides the input)")
    return _apply(_celu, input, inplace, "celu_", alpha=float(alpha))


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def silu(input, inplace=False):
    return _apply(_silu, input, inplace, "silu_")


def mish(input, inplace=False):
    return _apply(_mish, input, inplace, "mish_")


def softplus(input, beta=1.0, threshold=20.0):
    if beta == 0:
        raise ValueError("softplus: argument 'beta' must not be 0 (it divides the result)")
    return _apply(_softplus_pair, input, False, "", beta=float(beta), threshold=float(threshold))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError(f"hardtanh: argument 'min_val' ({min_val}) must not exceed "
                         f"'max_val' ({max_val})")
    return _apply(_hardtanh, input, inplace, "hardtanh_", min_val=min_val, max_val=max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input, inplace=False):
    return _apply(_hardswish, input, inplace, "hardswish_")


def hardsigmoid(input, inplace=False):
    return _apply(_hardsigmoid, input, inplace, "hardsigmoid_")


def logsigmoid(input):
    return _apply(_logsigmoid, input, False, "")


def softsign(input):
    return _apply(_softsign, input, False, "")


def tanhshrink(input):
    return _apply(_tanhshrink, input, False, "")


def threshold(input, threshold, value, inplace=False):
    return _apply(_threshold, input, inplace, "threshold_", threshold=threshold, value=value)


def threshold_(input, threshold, value):
    return _apply(_threshold, input, True, "threshold_", threshold=threshold, value=value)


def hardshrink(input, lambd=0.5):
    return _apply(_hardshrink, input, False, "", lambd=lambd)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise ValueError(f"softshrink: argument 'lambd' must be >= 0, got {lambd}")
    return _apply(_softshrink, input, False, "", lambd=lambd)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-input, dim, _stacklevel, dtype)


class PReLU(Function):
    """y = x where x > 0 else weight[c] * x, c the channel (dim 1; a 0- or 1-d input has one
    channel, as in PyTorch)."""

    def forward(self, x, weight):
        shape = [1] * x.ndim
        if weight.size > 1:
            shape[1] = weight.size
        self.x, self.w = x, weight.reshape(shape)
        return np.where(x > 0, x, self.w * x).astype(x.dtype)

    def backward(self, grad):
        need_x, need_w = self.needs_input_grad
        positive = self.x > 0
        grad_x = np.where(positive, grad, self.w * grad).astype(grad.dtype) if need_x else None
        grad_w = None
        if need_w:
            local = np.where(positive, 0, self.x * grad)
            axes = tuple(i for i, n in enumerate(self.w.shape) if n == 1)
            grad_w = local.sum(axis=axes).reshape(-1).astype(grad.dtype)
        return grad_x, grad_w


def prelu(input, weight):
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim > 1 or weight.numel() not in (1, channels):
        raise ValueError(f"prelu: argument 'weight' must hold 1 or {channels} (the input's "
                         f"channels) values, got shape {tuple(weight.shape)}")
    return PReLU.apply(input, weight)


def glu(input, dim=-1):
    size = input.shape[dim]
    if size % 2:
        raise ValueError(f"glu: the input's dim {dim} must have an even size, got {size}")
    index = [slice(None)] * input.ndim
    index[dim] = slice(0, size // 2)
    first = input[tuple(index)]
    index[dim] = slice(size // 2, size)
    gate = input[tuple(index)]
    return first * gate.sigmoid()
