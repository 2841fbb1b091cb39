"""Loss modules: thin wrappers binding options to the functional losses."""
from __future__ import annotations

from .. import functional as F
from .module import Module

_REDUCTIONS = ("none", "mean", "sum")


class _Loss(Module):
    function = None

    def __init__(self, reduction="mean", **options):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: argument 'reduction' must be one of "
                             f"{_REDUCTIONS}, got {reduction!r}")
        self.reduction, self.options = reduction, options

    def forward(self, input, target):
        return type(self).function(input, target, reduction=self.reduction, **self.options)

    def extra_repr(self):
        options = "".join(f", {key}={value!r}" for key, value in self.options.items())
        return f"reduction={self.reduction!r}{options}"


class _WeightedLoss(_Loss):
    """A loss whose rescaling tensors (``weight``, ``pos_weight``) are buffers, as in PyTorch:
    they follow state_dict and are passed to the function on every call."""

    def __init__(self, reduction="mean", weights=None, **options):
        super().__init__(reduction, **options)
        for name, value in (weights or {}).items():
            self.register_buffer(name, value)

    def forward(self, input, target):
        return type(self).function(input, target, reduction=self.reduction, **self._buffers,
                                   **self.options)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax + negative log-likelihood on logits (N, C) and integer targets (N,)."""

    function = F.cross_entropy

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction, dict(weight=weight), ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


class NLLLoss(_WeightedLoss):
    function = F.nll_loss

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction, dict(weight=weight), ignore_index=ignore_index)


class BCELoss(_WeightedLoss):
    function = F.binary_cross_entropy

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction, dict(weight=weight))


class BCEWithLogitsLoss(_WeightedLoss):
    function = F.binary_cross_entropy_with_logits

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction, dict(weight=weight, pos_weight=pos_weight))


class MSELoss(_Loss):
    function = F.mse_loss
