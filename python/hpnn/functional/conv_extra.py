"""conv1d and the transposed convolutions, on the conv2d kernels: conv1d is conv2d with a unit
height; conv_transpose2d's forward is conv2d_backward_input and its backward conv2d_forward
(input) plus conv2d_backward_weight (weight)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import kernel
from ._common import c32, pair
from .conv import conv2d

__all__ = ["conv1d", "conv_transpose1d", "conv_transpose2d"]


def _single(value, name):
    """An int or a 1-tuple as an int (conv1d's stride, padding, dilation)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"argument '{name}' must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return pair(value, name)[0]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) or (C, L) input with weight (O, C/groups, K); ``padding``
    an int, 'valid' or 'same'."""
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv1d: argument 'input' must be (N, C, L) or (C, L) and 'weight' "
                         f"3-D, got shapes {tuple(input.shape)} and {tuple(weight.shape)}")
    if input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    if not isinstance(padding, str):
        padding = (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")),
                 padding, (1, _single(dilation, "dilation")), groups)
    return out.squeeze(2)


def _conv_output_size(size, kernel_size, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


class ConvTranspose2d(Function):
    """y = conv2d_backward_input(x, weight) + bias: the gradient of a convolution whose input
    is y, read as a layer. x is padded with zeros where that convolution's output would be
    longer (output_padding >= stride)."""

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                groups=1, output_size=(1, 1)):
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        out_shape = (x.shape[0], weight.shape[1] * groups, *output_size)
        conv_out = [_conv_output_size(*args) for args in
                    zip(output_size, weight.shape[2:], stride, padding, dilation)]
        extra = [(0, 0), (0, 0)] + [(0, c - n) for c, n in zip(conv_out, x.shape[2:])]
        self.x = c32(np.pad(x, extra) if any(e[1] for e in extra) else x)
        self.x_size, self.weight, self.has_bias = x.shape[2:], c32(weight), bias is not None
        y = kernel("conv2d_backward_input")(self.x, self.weight, out_shape, **self.geometry)
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, grad):
        grad = c32(grad)
        need = self.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need[0]:
            full = kernel("conv2d_forward")(grad, self.weight, None, **self.geometry)
            grad_x = np.ascontiguousarray(full[:, :, :self.x_size[0], :self.x_size[1]])
        if need[1]:
            grad_w = kernel("conv2d_backward_weight")(self.x, grad, self.weight.shape,
                                                      **self.geometry)
        if self.has_bias and need[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b


def transposed_output_size(input_size, kernel_size, stride, padding, dilation, output_padding,
                           output_size=None, name="conv_transpose2d"):
    """The output's spatial size: PyTorch's formula, or ``output_size`` when it is one of the
    sizes that formula reaches with some output_padding in [0, max(stride, dilation))."""
    base = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, k, s, p, d in
            zip(input_size, kernel_size, stride, padding, dilation)]
    if output_size is None:
        sizes = [b + op for b, op in zip(base, output_padding)]
    else:
        sizes = [int(v) for v in list(output_size)[-len(base):]]
        for size, low, s, d in zip(sizes, base, stride, dilation):
            if not low <= size < low + max(s, d):
                raise ValueError(f"{name}: argument 'output_size' {tuple(output_size)} is not "
                                 f"reachable: each size must be in [{low}, {low + max(s, d) - 1}]")
    if min(sizes) <= 0:
        raise ValueError(f"{name}: the output would be empty ({tuple(sizes)}) for input "
                         f"{tuple(input_size)}; check kernel_size, stride and padding")
    return tuple(sizes)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, output_size=None):
    """Transposed 2-D convolution of (N, C_in, H, W) or (C_in, H, W) input with weight
    (C_in, C_out / groups, kH, kW), PyTorch's layout."""
    if input.ndim not in (3, 4) or weight.ndim != 4:
        raise ValueError(f"conv_transpose2d: argument 'input' must be (N, C, H, W) or "
                         f"(C, H, W) and 'weight' 4-D, got shapes {tuple(input.shape)} and "
                         f"{tuple(weight.shape)}")
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation, output_size).squeeze(0)
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation, output_padding = pair(dilation, "dilation"), pair(output_padding, "output_padding")
    groups = int(groups)
    if input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(f"conv_transpose2d: argument 'input' has {input.shape[1]} channels, "
                         f"expected {weight.shape[0]} (weight {tuple(weight.shape)}, "
                         f"groups={groups})")
    if min(stride + dilation) <= 0 or min(padding + output_padding) < 0:
        raise ValueError("conv_transpose2d: arguments 'stride' and 'dilation' must be positive, "
                         "'padding' and 'output_padding' non-negative")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose2d: argument 'output_padding' {output_padding} must be "
                         f"smaller than either stride {stride} or dilation {dilation}")
    size = transposed_output_size(input.shape[2:], weight.shape[2:], stride, padding, dilation,
                                  output_padding, output_size)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                    output_size=size)
    if input._array.dtype.kind != "f":  # a float64 input meets a float32 weight: that raises
        input = input.float()
    if bias is None:
        return ConvTranspose2d.apply(input, weight, **geometry)
    return ConvTranspose2d.apply(input, weight, bias, **geometry)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, output_size=None):
    """Transposed 1-D convolution of (N, C_in, L) or (C_in, L) with weight (C_in, C_out/g, K)."""
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: argument 'input' must be (N, C, L) or (C, L) and "
                         f"'weight' 3-D, got shapes {tuple(input.shape)} and "
                         f"{tuple(weight.shape)}")
    size = None if output_size is None else (1, list(output_size)[-1])
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), bias,
                           (1, _single(stride, "stride")), (0, _single(padding, "padding")),
                           (0, _single(output_padding, "output_padding")), groups,
                           (1, _single(dilation, "dilation")), size)
    return out.squeeze(-2)
