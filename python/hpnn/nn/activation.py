"""Activation modules beyond layers.py's, PyTorch's names, defaults, reprs and parameters."""
from __future__ import annotations

import numpy as np

from ..functional import activation_extra as A
from ._checks import positive_int, real
from .layers import Softmax, _Activation
from .module import Parameter


class _InPlace(_Activation):
    """An activation with PyTorch's ``inplace`` flag (shown in the repr when True)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, input):
        options = {name: getattr(self, name) for name in self.options}
        return type(self).function(input, inplace=self.inplace, **options)

    def extra_repr(self):
        text = super().extra_repr()
        return text + (", " if text else "") + "inplace=True" if self.inplace else text


class ELU(_InPlace):
    function, options = A.elu, ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = real(alpha, "alpha", type(self).__name__)


class CELU(ELU):
    function = A.celu

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha, inplace)
        if self.alpha == 0:
            raise ValueError("CELU: argument 'alpha' must not be 0")


class SELU(_InPlace):
    function = A.selu


class SiLU(_InPlace):
    function = A.silu


class Mish(_InPlace):
    function = A.mish


class Hardswish(_InPlace):
    function = A.hardswish


class Hardsigmoid(_InPlace):
    function = A.hardsigmoid


class Hardtanh(_InPlace):
    function, options = A.hardtanh, ("min_val", "max_val")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__(inplace)
        self.min_val = real(min_val, "min_val", type(self).__name__)
        self.max_val = real(max_val, "max_val", type(self).__name__)
        if self.min_val > self.max_val:
            raise ValueError(f"{type(self).__name__}: argument 'min_val' ({min_val}) must not "
                             f"exceed 'max_val' ({max_val})")

    def extra_repr(self):
        text = f"min_val={self.min_val}, max_val={self.max_val}"
        return text + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Threshold(_InPlace):
    function, options = A.threshold, ("threshold", "value")

    def __init__(self, threshold, value, inplace=False):
        super().__init__(inplace)
        real(threshold, "threshold", "Threshold")
        real(value, "value", "Threshold")
        self.threshold, self.value = threshold, value  # as given: the repr shows them so


class Softplus(_Activation):
    function, options = A.softplus, ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = real(beta, "beta", "Softplus")
        self.threshold = real(threshold, "threshold", "Softplus")
        if self.beta == 0:
            raise ValueError("Softplus: argument 'beta' must not be 0")

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(_Activation):
    function = A.logsigmoid


class Softsign(_Activation):
    function = A.softsign


class Tanhshrink(_Activation):
    function = A.tanhshrink


class Hardshrink(_Activation):
    function, options = A.hardshrink, ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = real(lambd, "lambd", type(self).__name__)

    def extra_repr(self):
        return str(self.lambd)


class Softshrink(Hardshrink):
    function = A.softshrink

    def __init__(self, lambd=0.5):
        super().__init__(real(lambd, "lambd", "Softshrink", 0.0))


class Softmin(Softmax):
    function = A.softmin


class GLU(_Activation):
    function, options = A.glu, ("dim",)

    def __init__(self, dim=-1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"GLU: argument 'dim' must be an int, got {dim!r}")
        self.dim = int(dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(_Activation):
    """weight (num_parameters,) filled with ``init``: one slope, or one per channel."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = positive_int(num_parameters, "num_parameters", "PReLU")
        self.init = real(init, "init", "PReLU")
        self.weight = Parameter(np.full(self.num_parameters, self.init, np.float32))

    def reset_parameters(self):
        self.weight._array[...] = self.init

    def forward(self, input):
        return A.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
