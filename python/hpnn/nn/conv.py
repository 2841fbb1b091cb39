"""Convolution and pooling layers."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.pool import max_pool_geometry
from ._checks import non_negative_pair, positive_int, positive_pair
from .layers import reset_weight_and_bias
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """2-D convolution with weight (out_channels, in_channels / groups, kH, kW)."""

    transposed, output_padding = False, (0, 0)
    _tensor_args = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.groups = positive_int(groups, "groups", "Conv2d")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: argument 'padding_mode' must be one of {_PADDING_MODES}, "
                             f"got {padding_mode!r}")
        self.kernel_size = positive_pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = positive_pair(stride, "stride", "Conv2d")
        self.dilation = positive_pair(dilation, "dilation", "Conv2d")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: argument 'padding' must be 'same', 'valid', an int "
                                 f"or a pair, got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = non_negative_pair(padding, "padding", "Conv2d")
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_channels, np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def _explicit_padding(self):
        """(left, right, top, bottom) for F.pad, as torch's _reversed_padding_repeated_twice."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            (top, bottom), (left, right) = [(t // 2, t - t // 2) for t in totals]
            return (left, right, top, bottom)
        return (self.padding[1], self.padding[1], self.padding[0], self.padding[0])

    def forward(self, input):
        return self._convolve(input, relu=False)

    def _forward_relu(self, input):
        """relu(forward(input)) as one graph node (see Sequential)."""
        return self._convolve(input, relu=True)

    def _forward_relu_max_pool(self, input, pool):
        """pool(relu(forward(input))) as one graph node, for a MaxPool2d ``pool`` (see
        Sequential)."""
        geometry = max_pool_geometry(pool.kernel_size, pool.stride, pool.padding, pool.dilation,
                                     pool.ceil_mode)
        return self._convolve(input, relu=True, max_pool=geometry)

    def _convolve(self, input, relu, max_pool=None):
        if self.padding_mode == "zeros":
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups, _relu=relu, _max_pool=max_pool)
        padded = F.pad(input, self._explicit_padding(), mode=self.padding_mode)
        return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups, _relu=relu, _max_pool=max_pool)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        text += f", padding={self.padding}" if self.padding not in ((0, 0), "valid") else ""
        text += ", padding=valid" if self.padding == "valid" else ""
        text += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        text += f", groups={self.groups}" if self.groups != 1 else ""
        text += "" if self.bias is not None else ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


def _check_output_size(output_size, owner):
    """An int or a pair whose entries are positive ints or None (keep that input size)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"{owner}: argument 'output_size' must be an int or a pair, got "
                         f"{output_size!r}")
    for size in sizes:
        if size is not None:
            positive_int(size, "output_size", owner)


class _Pool(Module):
    """The window arguments are checked here and kept as given (as PyTorch shows them)."""

    _tensor_args = 1

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        owner = type(self).__name__
        kernel = positive_pair(kernel_size, "kernel_size", owner)
        if stride is not None and stride != []:  # [] means the default, as in F.max_pool2d
            positive_pair(stride, "stride", owner)
        positive_pair(dilation, "dilation", owner)
        pad = non_negative_pair(padding, "padding", owner)
        if any(2 * p > k for p, k in zip(pad, kernel)):
            raise ValueError(f"{owner}: argument 'padding' ({padding!r}) must be at most half "
                             f"of kernel_size ({kernel_size!r})")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    _takes_window_max = True  # an exactly following ReLU may run after it (see Sequential)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation)
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool2d(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        if divisor_override is not None:
            positive_int(divisor_override, "divisor_override", "AvgPool2d")
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool2d(Module):
    _tensor_args = 1

    def __init__(self, output_size):
        super().__init__()
        _check_output_size(output_size, type(self).__name__)
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
