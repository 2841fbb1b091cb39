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


def _no_class_weights(weight, owner):
    if weight is not None:
        raise NotImplementedError(f"{owner}: per-class 'weight' is not supported yet")


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood on logits (N, C) and integer targets (N,)."""

    function = F.cross_entropy

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        _no_class_weights(weight, "CrossEntropyLoss")
        super().__init__(reduction, ignore_index=ignore_index, label_smoothing=label_smoothing)


class NLLLoss(_Loss):
    function = F.nll_loss

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        _no_class_weights(weight, "NLLLoss")
        super().__init__(reduction, ignore_index=ignore_index)


class BCELoss(_Loss):
    function = F.binary_cross_entropy

    def __init__(self, weight=None, reduction="mean"):
        _no_class_weights(weight, "BCELoss")
        super().__init__(reduction)


class BCEWithLogitsLoss(_Loss):
    function = F.binary_cross_entropy_with_logits

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        _no_class_weights(weight, "BCEWithLogitsLoss")
        super().__init__(reduction, pos_weight=pos_weight)


class MSELoss(_Loss):
    function = F.mse_loss
