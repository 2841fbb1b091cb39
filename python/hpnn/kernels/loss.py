"""Losses: native float32 kernels with the signatures of ``hpnn.reference.loss``. Float arrays
(predictions, float targets, weights, an array grad_loss) must be float32 (other dtypes raise
TypeError naming the argument, see _checks.py); class targets are integer arrays. Calls the
native path cannot take otherwise (bad shapes, labels, reduction, probabilities outside [0, 1])
go to the reference only for it to raise its error; per-class or per-element ``weight`` is
computed by the reference (no native kernel)."""
import numbers

import numpy as np

from .._C import kernels as _native
from ..reference import loss as _reference
from ._checks import Deferring, require_float32, require_float32_or_none, require_scalar_or_float32

# The numpy twins, for the calls the native path declines; their errors name the kernel.
_ref = Deferring(_reference)

__all__ = [
    "cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward", "nll_loss_backward",
    "bce_with_logits_forward", "bce_with_logits_backward", "bce_forward", "bce_backward",
    "mse_loss_forward", "mse_loss_backward",
]

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}
# Op codes of hpnn::PointwiseLoss (csrc/core/nn_args.h), exported by the extension.
_OPS = _native.op_codes["pointwise_loss"]
_MSE, _BCE, _BCE_WITH_LOGITS = _OPS["mse"], _OPS["bce"], _OPS["bce_with_logits"]
_pointwise_forward, _pointwise_backward = (_native._pointwise_loss_forward,
                                           _native._pointwise_loss_backward)
_class_forward, _class_backward = _native._class_loss_forward, _native._class_loss_backward


def _code(reduction):
    """The native reduction code, -1 (the reference then raises) for anything else."""
    return _REDUCTIONS.get(reduction, -1) if isinstance(reduction, str) else -1


def _check(fn, grad_loss=None, **arrays):
    """The dtype rule for one call: every array in ``arrays`` (None skipped) float32."""
    if grad_loss is not None:
        require_scalar_or_float32(fn, "grad_loss", grad_loss)
    for name, value in arrays.items():
        require_float32_or_none(fn, name, value)


def _pos_weight(fn, pos_weight):
    """pos_weight as a float32 array: a real number becomes a 0-d one."""
    if isinstance(pos_weight, numbers.Real) and not isinstance(pos_weight, (bool, np.ndarray)):
        return np.array(pos_weight, np.float32)
    return require_float32_or_none(fn, "pos_weight", pos_weight)


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0, weight=None):
    _check("cross_entropy_forward", logits=logits, weight=weight)
    if weight is not None:  # per-class weights: the reference only
        return _ref.cross_entropy_forward(logits, target, reduction, ignore_index,
                                          label_smoothing, weight)
    loss = _class_forward(logits, target, _code(reduction), ignore_index, label_smoothing, False)
    if loss is NotImplemented:
        return _ref.cross_entropy_forward(logits, target, reduction, ignore_index, label_smoothing)
    return loss


def cross_entropy_backward(grad_loss, logits, target, reduction="mean", ignore_index=-100,
                           label_smoothing=0.0, weight=None):
    _check("cross_entropy_backward", grad_loss, logits=logits, weight=weight)
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
    _check("nll_loss_forward", log_probs=log_probs, weight=weight)
    if weight is not None:
        return _ref.nll_loss_forward(log_probs, target, reduction, ignore_index, weight)
    loss = _class_forward(log_probs, target, _code(reduction), ignore_index, 0.0, True)
    if loss is NotImplemented:
        return _ref.nll_loss_forward(log_probs, target, reduction, ignore_index)
    return loss


def nll_loss_backward(grad_loss, log_probs, target, reduction="mean", ignore_index=-100,
                      weight=None):
    _check("nll_loss_backward", grad_loss, log_probs=log_probs, weight=weight)
    if weight is not None:
        return _ref.nll_loss_backward(grad_loss, log_probs, target, reduction, ignore_index,
                                      weight)
    grad = _class_backward(grad_loss, log_probs, target, _code(reduction), ignore_index, 0.0, True)
    if grad is NotImplemented:
        return _ref.nll_loss_backward(grad_loss, log_probs, target, reduction, ignore_index)
    return grad


def bce_with_logits_forward(logits, target, reduction="mean", pos_weight=None, weight=None):
    _check("bce_with_logits_forward", logits=logits, target=target, weight=weight)
    pos_weight = _pos_weight("bce_with_logits_forward", pos_weight)
    if weight is not None:
        return _ref.bce_with_logits_forward(logits, target, reduction, pos_weight, weight)
    loss = _pointwise_forward(_BCE_WITH_LOGITS, logits, target, pos_weight, _code(reduction))
    if loss is NotImplemented:
        return _ref.bce_with_logits_forward(logits, target, reduction, pos_weight)
    return loss


def bce_with_logits_backward(grad_loss, logits, target, reduction="mean", pos_weight=None,
                             weight=None):
    _check("bce_with_logits_backward", grad_loss, logits=logits, target=target, weight=weight)
    pos_weight = _pos_weight("bce_with_logits_backward", pos_weight)
    if weight is not None:
        return _ref.bce_with_logits_backward(grad_loss, logits, target, reduction, pos_weight,
                                             weight)
    grad = _pointwise_backward(_BCE_WITH_LOGITS, grad_loss, logits, target, pos_weight,
                               _code(reduction))
    if grad is NotImplemented:
        return _ref.bce_with_logits_backward(grad_loss, logits, target, reduction, pos_weight)
    return grad


def bce_forward(probs, target, reduction="mean", weight=None):
    _check("bce_forward", probs=probs, target=target, weight=weight)
    if weight is not None:
        return _ref.bce_forward(probs, target, reduction, weight)
    loss = _pointwise_forward(_BCE, probs, target, None, _code(reduction))
    return _ref.bce_forward(probs, target, reduction) if loss is NotImplemented else loss


def bce_backward(grad_loss, probs, target, reduction="mean", weight=None):
    _check("bce_backward", grad_loss, probs=probs, target=target, weight=weight)
    if weight is not None:
        return _ref.bce_backward(grad_loss, probs, target, reduction, weight)
    grad = _pointwise_backward(_BCE, grad_loss, probs, target, None, _code(reduction))
    if grad is NotImplemented:
        return _ref.bce_backward(grad_loss, probs, target, reduction)
    return grad


def mse_loss_forward(input, target, reduction="mean"):
    _check("mse_loss_forward", input=input, target=target)
    loss = _pointwise_forward(_MSE, input, target, None, _code(reduction))
    return _ref.mse_loss_forward(input, target, reduction) if loss is NotImplemented else loss


def mse_loss_backward(grad_loss, input, target, reduction="mean"):
    _check("mse_loss_backward", grad_loss, input=input, target=target)
    grad = _pointwise_backward(_MSE, grad_loss, input, target, None, _code(reduction))
    if grad is NotImplemented:
        return _ref.mse_loss_backward(grad_loss, input, target, reduction)
    return grad
