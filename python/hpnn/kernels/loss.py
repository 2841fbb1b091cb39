"""Losses: native float32 kernels with the signatures of ``hpnn.reference.loss``. Anything the
native path does not take (other dtypes, bad shapes, labels or arguments) is handed to the
reference, so results, dtypes and exceptions match it exactly."""
from .._C import kernels as _native
from ..reference import loss as _ref

__all__ = [
    "cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward", "nll_loss_backward",
    "bce_with_logits_forward", "bce_with_logits_backward", "bce_forward", "bce_backward",
    "mse_loss_forward", "mse_loss_backward",
]

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}
# Op codes of hpnn::PointwiseLoss (csrc/core/nn_args.h).
_MSE, _BCE, _BCE_WITH_LOGITS = range(3)
_pointwise_forward, _pointwise_backward = (_native._pointwise_loss_forward,
                                           _native._pointwise_loss_backward)
_class_forward, _class_backward = _native._class_loss_forward, _native._class_loss_backward


def _code(reduction):
    """The native reduction code, -1 (the reference then raises) for anything else."""
    return _REDUCTIONS.get(reduction, -1) if isinstance(reduction, str) else -1


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0, weight=None):
    if weight is not None:  # per-class weights: the reference only
        return _ref.cross_entropy_forward(logits, target, reduction, ignore_index,
                                          label_smoothing, weight)
    loss = _class_forward(logits, target, _code(reduction), ignore_index, label_smoothing, False)
    if loss is NotImplemented:
        return _ref.cross_entropy_forward(logits, target, reduction, ignore_index, label_smoothing)
    return loss


def cross_entropy_backward(grad_loss, logits, target, reduction="mean", ignore_index=-100,
                           label_smoothing=0.0, weight=None):
    if weight is not None:
        return _ref.cross_entropy_backward(grad_loss, logits, target, reduction, ignore_index,
                                           label_smoothing, weight)
    grad = _class_backward(grad_loss, logits, target, _code(reduction), ignore_index,
                           label_smoothing, False)
    if grad is NotImplemented:
        return _ref.cross_entropy_backward(grad_loss, logits, target, reduction, ignore_index,
                                           label_smoothing)
    return grad


def nll_loss_forward(log_probs, target, reduction="mean", ignore_index=-100, weight=None):
    if weight is not None:
        return _ref.nll_loss_forward(log_probs, target, reduction, ignore_index, weight)
    loss = _class_forward(log_probs, target, _code(reduction), ignore_index, 0.0, True)
    if loss is NotImplemented:
        return _ref.nll_loss_forward(log_probs, target, reduction, ignore_index)
    return loss


def nll_loss_backward(grad_loss, log_probs, target, reduction="mean", ignore_index=-100,
                      weight=None):
    if weight is not None:
        return _ref.nll_loss_backward(grad_loss, log_probs, target, reduction, ignore_index,
                                      weight)
    grad = _class_backward(grad_loss, log_probs, target, _code(reduction), ignore_index, 0.0, True)
    if grad is NotImplemented:
        return _ref.nll_loss_backward(grad_loss, log_probs, target, reduction, ignore_index)
    return grad


def bce_with_logits_forward(logits, target, reduction="mean", pos_weight=None, weight=None):
    if weight is not None:
        return _ref.bce_with_logits_forward(logits, target, reduction, pos_weight, weight)
    loss = _pointwise_forward(_BCE_WITH_LOGITS, logits, target, pos_weight, _code(reduction))
    if loss is NotImplemented:
        return _ref.bce_with_logits_forward(logits, target, reduction, pos_weight)
    return loss


def bce_with_logits_backward(grad_loss, logits, target, reduction="mean", pos_weight=None,
                             weight=None):
    if weight is not None:
        return _ref.bce_with_logits_backward(grad_loss, logits, target, reduction, pos_weight,
                                             weight)
    grad = _pointwise_backward(_BCE_WITH_LOGITS, grad_loss, logits, target, pos_weight,
                               _code(reduction))
    if grad is NotImplemented:
        return _ref.bce_with_logits_backward(grad_loss, logits, target, reduction, pos_weight)
    return grad


def bce_forward(probs, target, reduction="mean", weight=None):
    if weight is not None:
        return _ref.bce_forward(probs, target, reduction, weight)
    loss = _pointwise_forward(_BCE, probs, target, None, _code(reduction))
    return _ref.bce_forward(probs, target, reduction) if loss is NotImplemented else loss


def bce_backward(grad_loss, probs, target, reduction="mean", weight=None):
    if weight is not None:
        return _ref.bce_backward(grad_loss, probs, target, reduction, weight)
    grad = _pointwise_backward(_BCE, grad_loss, probs, target, None, _code(reduction))
    if grad is NotImplemented:
        return _ref.bce_backward(grad_loss, probs, target, reduction)
    return grad


def mse_loss_forward(input, target, reduction="mean"):
    loss = _pointwise_forward(_MSE, input, target, None, _code(reduction))
    return _ref.mse_loss_forward(input, target, reduction) if loss is NotImplemented else loss


def mse_loss_backward(grad_loss, input, target, reduction="mean"):
    grad = _pointwise_backward(_MSE, grad_loss, input, target, None, _code(reduction))
    if grad is NotImplemented:
        return _ref.mse_loss_backward(grad_loss, input, target, reduction)
    return grad
