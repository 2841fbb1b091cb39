"""Loss modules: thin wrappers binding options to the functional losses."""
from __future__ import annotations

from .. import functional as F
from ..functional._common import reduction_arg
from ._checks import real
from .module import Module


class _Loss(Module):
    """A loss module: ``options`` names the attributes passed to ``function`` besides
    ``reduction`` (``size_average``/``reduce`` are PyTorch's deprecated spellings of it)."""

    function = None
    options = ()
    _tensor_args = 2  # input and target

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = reduction_arg(size_average, reduce, reduction, type(self).__name__)

    def forward(self, input, target):
        options = {name: getattr(self, name) for name in self.options}
        return type(self).function(input, target, reduction=self.reduction, **options)


class _WeightedLoss(_Loss):
    """A loss whose rescaling tensors (``weight``, ``pos_weight``) are buffers, as in PyTorch:
    they follow state_dict and are passed to the function on every call."""

    options = ("weight",)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax + negative log-likelihood on logits (N, C) and integer targets (N,) or class
    probabilities (N, C)."""

    function = F.cross_entropy
    options = ("weight", "ignore_index", "label_smoothing")

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing


class NLLLoss(_WeightedLoss):
    function = F.nll_loss
    options = ("weight", "ignore_index")

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index


class BCELoss(_WeightedLoss):
    function = F.binary_cross_entropy


class BCEWithLogitsLoss(_WeightedLoss):
    function = F.binary_cross_entropy_with_logits
    options = ("weight", "pos_weight")

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)


class MSELoss(_Loss):
    function = F.mse_loss


class L1Loss(_Loss):
    function = F.l1_loss


class SmoothL1Loss(_Loss):
    function, options = F.smooth_l1_loss, ("beta",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = real(beta, "beta", "SmoothL1Loss", 0.0)


class HuberLoss(_Loss):
    function, options = F.huber_loss, ("delta",)

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = real(delta, "delta", "HuberLoss")
        if self.delta <= 0:
            raise ValueError(f"HuberLoss: argument 'delta' must be > 0, got {delta!r}")


class KLDivLoss(_Loss):
    function, options = F.kl_div, ("log_target",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__()
            self.reduction = reduction
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target


class PoissonNLLLoss(_Loss):
    function, options = F.poisson_nll_loss, ("log_input", "full", "eps")

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full = log_input, full
        self.eps = real(eps, "eps", "PoissonNLLLoss", 0.0)


class SoftMarginLoss(_Loss):
    function = F.soft_margin_loss


class HingeEmbeddingLoss(_Loss):
    function, options = F.hinge_embedding_loss, ("margin",)

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = real(margin, "margin", "HingeEmbeddingLoss")


class MarginRankingLoss(_Loss):
    """loss(input1, input2, target): three tensors."""

    function = F.margin_ranking_loss
    _tensor_args = 3

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = real(margin, "margin", type(self).__name__)

    def forward(self, input1, input2, target):
        return type(self).function(input1, input2, target, self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(MarginRankingLoss):
    function = F.cosine_embedding_loss
