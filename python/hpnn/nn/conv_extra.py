"""Conv1d, ConvTranspose1d and ConvTranspose2d with PyTorch's arguments, attributes, reprs and
weight layouts ((out, in/groups, K) for Conv1d, (in, out/groups, ...) for the transposed)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional import conv_extra as C
from ._checks import choice, positive_int
from .conv import _PADDING_MODES
from .layers import reset_weight_and_bias
from .module import Module, Parameter


def _tuple(value, name, owner, dims, low):
    """An int or a ``dims``-tuple of ints, each >= low, as a tuple."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
    if len(items) != dims or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                 for v in items):
        raise TypeError(f"{owner}: argument '{name}' must be an int or a tuple of {dims} ints, "
                        f"got {value!r}")
    if min(items) < low:
        raise ValueError(f"{owner}: argument '{name}' must be >= {low}, got {value!r}")
    return tuple(int(v) for v in items)


class _ConvNd(Module):
    """The shared constructor: arguments checked and kept as PyTorch keeps them (tuples)."""

    transposed, dims = False, 2
    _tensor_args = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0):
        super().__init__()
        owner, dims = type(self).__name__, self.dims
        self.in_channels = positive_int(in_channels, "in_channels", owner)
        self.out_channels = positive_int(out_channels, "out_channels", owner)
        self.groups = positive_int(groups, "groups", owner)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{owner}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = _tuple(kernel_size, "kernel_size", owner, dims, 1)
        self.stride = _tuple(stride, "stride", owner, dims, 1)
        self.dilation = _tuple(dilation, "dilation", owner, dims, 1)
        self.output_padding = _tuple(output_padding, "output_padding", owner, dims, 0)
        self.padding_mode = choice(padding_mode, "padding_mode", owner, _PADDING_MODES)
        if isinstance(padding, str) and not self.transposed:
            choice(padding, "padding", owner, ("same", "valid"))
            if padding == "same" and max(self.stride) != 1:
                raise ValueError(f"{owner}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, "padding", owner, dims, 0)
        channels = (in_channels, out_channels // groups) if self.transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(np.empty(channels + self.kernel_size, np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_channels, np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self):
        zeros, ones = (0,) * self.dims, (1,) * self.dims
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        text += f", padding={self.padding}" if self.padding not in (zeros, "valid") else ""
        text += ", padding=valid" if self.padding == "valid" else ""
        text += f", dilation={self.dilation}" if self.dilation != ones else ""
        text += f", output_padding={self.output_padding}" if self.output_padding != zeros else ""
        text += f", groups={self.groups}" if self.groups != 1 else ""
        text += "" if self.bias is not None else ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def forward(self, input):
        if self.padding_mode == "zeros":
            padding = self.padding if isinstance(self.padding, str) else self.padding[0]
            return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                            self.groups)
        if self.padding == "same":
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            sides = (total // 2, total - total // 2)
        else:
            sides = (0, 0) if self.padding == "valid" else self.padding * 2
        padded = F.pad(input, sides, mode=self.padding_mode)
        return F.conv1d(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported "
                             f"(as PyTorch), got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)
        if any(op >= max(s, d) for op, s, d in zip(self.output_padding, self.stride,
                                                   self.dilation)):
            raise ValueError(f"{type(self).__name__}: argument 'output_padding' "
                             f"{self.output_padding} must be smaller than either stride "
                             f"{self.stride} or dilation {self.dilation}")

    def _check_args(self, args, kwargs):
        """Only the input must be a Tensor: output_size is a tuple of ints."""
        super()._check_args(args[:1], {k: v for k, v in kwargs.items() if k == "input"})

    def forward(self, input, output_size=None):
        function = C.conv_transpose2d if self.dims == 2 else C.conv_transpose1d
        return function(input, self.weight, self.bias, self.stride, self.padding,
                        self.output_padding, self.groups, self.dilation, output_size)


class ConvTranspose1d(ConvTranspose2d):
    dims = 1
