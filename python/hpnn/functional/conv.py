"""Convolution and padding."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import kernel
from ._common import c32, pair, unbatched
from .pool import max_pool_forward
from ..reference.conv import _conv_shapes

__all__ = ["conv2d", "pad"]

_INDEX_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class Conv2d(Function):
    relu = False  # Conv2dReLU: the kernel applies the relu in its output write

    def forward(self, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        self._save(x, weight, bias, dict(stride=stride, padding=padding, dilation=dilation,
                                         groups=groups))
        return kernel("conv2d_forward")(c32(x), c32(weight), bias, relu=self.relu,
                                        **self.geometry)

    def _save(self, x, weight, bias, geometry):
        """What backward needs of the convolution's arguments."""
        self.x, self.weight, self.has_bias, self.geometry = x, weight, bias is not None, geometry

    def backward(self, grad):
        grad = c32(grad)
        need = self.needs_input_grad
        need_bias = self.has_bias and need[2]
        if need[0] and need[1]:  # one sweep, sharing what the two have in common
            grad_x, grad_w, grad_b = kernel("conv2d_backward")(grad, self.x, self.weight,
                                                               **self.geometry)
            return grad_x, grad_w, grad_b if need_bias else None
        grad_x = grad_w = grad_b = None
        if need[0]:
            grad_x = kernel("conv2d_backward_input")(grad, self.weight, self.x.shape,
                                                     **self.geometry)
        if need[1] and need_bias:
            grad_w, grad_b = kernel("conv2d_backward_weight_bias")(
                grad, self.x, self.weight.shape, **self.geometry)
        elif need[1]:
            grad_w = kernel("conv2d_backward_weight")(grad, self.x, self.weight.shape,
                                                      **self.geometry)
        elif need_bias:
            grad_b = kernel("conv2d_backward_bias")(grad)
        return grad_x, grad_w, grad_b


class Conv2dReLU(Conv2d):
    """relu(conv2d(x)) as one node: the relu is applied as the convolution writes its output
    (no pass of its own), and backward masks the gradient with the saved output (y > 0 exactly
    where the sum is > 0)."""
    relu = True

    def forward(self, *args, **geometry):
        self.out = super().forward(*args, **geometry)
        return self.out

    def backward(self, grad):
        return super().backward(kernel("relu_backward")(c32(grad), self.out))


# max_pool_geometry's window arguments of a 2x2 stride-2 pool, which has a fused kernel
_POOL_2X2 = dict(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1),
                 ceil_mode=False)


class Conv2dReLUMaxPool(Conv2d):
    """max_pool2d(relu(conv2d(x))) as one node: the relu applied as the convolution writes its
    output, and in backward folded into the pool's (the gradient passes where the pooled output
    is > 0: exactly where the relu let the window's maximum through), so it makes no pass of its
    own either way; a 2x2 stride-2 pool runs in the convolution's own pass where a kernel fuses
    them. The pooled values and their argmax are those of the written order."""
    relu = True

    def forward(self, x, weight, bias=None, pool=None, **geometry):
        self.pool_2x2 = pool == _POOL_2X2
        if not self.pool_2x2:
            y = super().forward(x, weight, bias, **geometry)
            self.y_shape = y.shape
            self.out, self.indices = max_pool_forward(y, pool)
            return self.out
        self._save(x, weight, bias, geometry)
        _, (oh, ow) = _conv_shapes(x.shape, weight.shape, **geometry)
        self.y_shape = (x.shape[0], weight.shape[0], oh, ow)
        self.out, self.indices = kernel("conv2d_relu_max_pool2d_forward")(
            c32(x), c32(weight), bias, **geometry)
        return self.out

    def backward(self, grad):
        need = self.needs_input_grad
        if self.pool_2x2 and need[1]:  # the pool's backward in the convolution's
            grad_x, grad_w, grad_b = kernel("conv2d_relu_max_pool2d_backward")(
                c32(grad), self.indices, self.out, self.x, self.weight, **self.geometry,
                input_grad=need[0])
            return grad_x, grad_w, grad_b if self.has_bias and need[2] else None
        grad_y = kernel("max_pool2d_backward")(c32(grad), self.indices, self.y_shape,
                                               relu_output=self.out)
        return super().backward(grad_y)


def _same_padding(kernel_size, dilation, stride):
    """(before, after) per spatial dim for padding='same' (any extra goes after, as PyTorch)."""
    if stride != (1, 1):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
    return [(total // 2, total - total // 2) for total in totals]


def _padding_arg(padding, kernel_size, stride, dilation):
    """conv2d's padding as ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0), (0, 0)]
        if padding == "same":
            return _same_padding(kernel_size, dilation, stride)
        raise ValueError(f"conv2d: argument 'padding' must be 'valid', 'same', an int or a "
                         f"pair, got {padding!r}")
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"conv2d: argument 'padding' must be >= 0, got {padding!r}")
    return [(ph, ph), (pw, pw)]


def _conv2d(input, weight, bias, stride, padding, dilation, groups, relu, max_pool=None):
    if input.shape[1] != weight.shape[1] * groups:
        raise ValueError(f"conv2d: argument 'input' has {input.shape[1]} channels, expected "
                         f"{weight.shape[1] * groups} (weight {tuple(weight.shape)}, "
                         f"groups={groups})")
    (top, bottom), (left, right) = padding
    if top != bottom or left != right:  # asymmetric ('same' with an even kernel)
        input = pad(input, (0, right - left, 0, bottom - top))
    geometry = dict(stride=stride, padding=(top, left), dilation=dilation, groups=groups)
    if max_pool is not None:  # relu too: max_pool2d(relu(conv))
        geometry["pool"] = max_pool
        function = Conv2dReLUMaxPool
    else:
        function = Conv2dReLU if relu else Conv2d
    if bias is None:
        return function.apply(input, weight, **geometry)
    return function.apply(input, weight, bias, **geometry)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, _relu=False,
           _max_pool=None):
    """2-D convolution (cross-correlation) of (N, C, H, W) or (C, H, W) input with weight
    (O, C/groups, kH, kW). ``padding`` is an int, a pair, 'valid' or 'same'. (For
    nn.Sequential, as one node: ``_relu``, relu of that; ``_max_pool`` (max_pool_geometry's
    dict), max pooling of the relu.)"""
    if input.ndim not in (3, 4) or weight.ndim != 4:
        raise ValueError(f"conv2d: argument 'input' must be (N, C, H, W) or (C, H, W) and "
                         f"'weight' 4-D, got shapes {tuple(input.shape)} and {tuple(weight.shape)}")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    padding = _padding_arg(padding, weight.shape[2:], stride, dilation)
    return unbatched(_conv2d, input, 4, weight, bias, stride, padding, dilation, int(groups),
                     bool(_relu), _max_pool)


class ConstantPad(Function):
    def forward(self, x, widths, value):
        self.inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    def backward(self, grad):
        return grad[self.inside]


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dims: ``pad`` = (last_before, last_after, previous_before,
    ...), as torch.nn.functional.pad. Modes: constant, reflect, replicate, circular."""
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: argument 'pad' must have an even length of at most "
                         f"2 * {input.ndim}, got {tuple(pad)}")
    sides = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)][::-1]
    lead = input.ndim - len(sides)
    if mode == "constant":
        if any(before < 0 or after < 0 for before, after in sides):
            return _crop_and_pad(input, sides, value)
        return ConstantPad.apply(input, widths=[(0, 0)] * lead + sides,
                                 value=0.0 if value is None else value)
    if mode not in _INDEX_PAD_MODES:
        raise ValueError(f"pad: argument 'mode' must be one of 'constant', "
                         f"{', '.join(map(repr, _INDEX_PAD_MODES))}, got {mode!r}")
    if mode == "reflect" and any(max(s) >= n for s, n in zip(sides, input.shape[lead:])):
        raise ValueError(f"pad: reflect padding {tuple(pad)} must be smaller than the input "
                         f"dims {tuple(input.shape[lead:])}")
    positions = [np.pad(np.arange(n), side, mode=_INDEX_PAD_MODES[mode])
                 for side, n in zip(sides, input.shape[lead:])]
    return input[(slice(None),) * lead + np.ix_(*positions)]


def _crop_and_pad(input, sides, value):
    """Constant padding with negative widths: crop those sides first."""
    lead = input.ndim - len(sides)
    crop = tuple(slice(-min(before, 0), n + min(after, 0))
                 for (before, after), n in zip(sides, input.shape[lead:]))
    cropped = input[(slice(None),) * lead + crop]
    flat = [w for before, after in sides[::-1] for w in (max(before, 0), max(after, 0))]
    return pad(cropped, flat, "constant", value)
