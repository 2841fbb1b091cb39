"""Loss functions and their gradients, PyTorch semantics.

Return types: with reduction='none' the per-element loss array (same dtype as the input);
with 'mean' or 'sum' a 0-d ndarray of the input dtype. Backward functions take ``grad_loss``
as a scalar (python float or 0-d array) for 'mean'/'sum' and as an array shaped like the
unreduced loss for 'none', and return the gradient with respect to the first argument.
An empty batch raises ValueError.
"""
import numpy as np

from .activation import _check_same_shape, _float_array, log_softmax_forward, sigmoid_forward

_REDUCTIONS = ("none", "mean", "sum")
_BCE_LOG_CLAMP = -100.0
_BCE_GRAD_EPS = 1e-12


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss, reduction, count=None):
    """Reduce elementwise ``loss``; 'mean' divides by ``count`` (default: loss.size)."""
    if reduction == "none":
        return loss
    total = np.sum(loss, dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(total, dtype=loss.dtype)
    count = loss.size if count is None else count
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / loss.dtype.type(count), dtype=loss.dtype)


def _grad_scale(grad_loss, reduction, loss_shape, dtype, count=None):
    """The upstream gradient broadcastable against the unreduced loss, 'mean' divided in."""
    grad_loss = _float_array(grad_loss, "grad_loss").astype(dtype, copy=False)
    if reduction == "none":
        if grad_loss.shape != tuple(loss_shape):
            raise ValueError(f"grad_loss shape {grad_loss.shape} must be {tuple(loss_shape)} "
                             "for reduction='none'")
        return grad_loss
    if grad_loss.size != 1:
        raise ValueError(f"grad_loss must be a scalar for reduction={reduction!r}")
    grad_loss = grad_loss.reshape(())
    if reduction == "mean":
        count = int(np.prod(loss_shape)) if count is None else count
        return grad_loss / dtype.type(count) if count else np.zeros((), dtype)
    return grad_loss


def _check_nonempty(array, name):
    if array.ndim > 0 and array.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {array.shape})")


def _class_inputs(scores, target, ignore_index, scores_name):
    """Validate (N, C) scores and (N,) integer targets; return them and the kept-row mask."""
    scores = _float_array(scores, scores_name)
    target = np.asarray(target)
    if scores.ndim != 2:
        raise ValueError(f"{scores_name} must have shape (N, C), got {scores.shape}")
    _check_nonempty(scores, scores_name)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target must be an integer array of class indices, got {target.dtype}")
    if target.shape != scores.shape[:1]:
        raise ValueError(f"target shape {target.shape} must be ({scores.shape[0]},)")
    kept = target != ignore_index
    num_classes = scores.shape[1]
    if np.any((target[kept] < 0) | (target[kept] >= num_classes)):
        raise ValueError(f"target contains class indices outside [0, {num_classes})")
    return scores, target, kept


def _picked(scores, target, kept):
    """scores[i, target[i]] for kept rows, 0 for ignored rows."""
    safe_target = np.where(kept, target, 0)
    picked = np.take_along_axis(scores, safe_target[:, None], axis=1)[:, 0]
    return np.where(kept, picked, scores.dtype.type(0))


def _one_hot(target, kept, num_classes):
    """Boolean (N, C) one-hot rows of target; all-False on ignored rows."""
    return (np.arange(num_classes) == target[:, None]) & kept[:, None]


def nll_loss_forward(log_probs, target, reduction="mean", ignore_index=-100):
    """Negative log-likelihood: loss[i] = -log_probs[i, target[i]], 0 where target[i] ==
    ignore_index. log_probs (N, C), target (N,) integer. 'mean' divides the sum by the
    number of non-ignored targets (NaN when every target is ignored, as in PyTorch)."""
    _check_reduction(reduction)
    log_probs, target, kept = _class_inputs(log_probs, target, ignore_index, "log_probs")
    return _reduce(-_picked(log_probs, target, kept), reduction, count=int(kept.sum()))


def nll_loss_backward(grad_loss, log_probs, target, reduction="mean", ignore_index=-100):
    """Gradient of nll_loss_forward with respect to log_probs, shape (N, C)."""
    _check_reduction(reduction)
    log_probs, target, kept = _class_inputs(log_probs, target, ignore_index, "log_probs")
    scale = _grad_scale(grad_loss, reduction, target.shape, log_probs.dtype, int(kept.sum()))
    one_hot = _one_hot(target, kept, log_probs.shape[1])
    return -(one_hot * np.reshape(scale, (-1, 1))).astype(log_probs.dtype)


def _check_label_smoothing(label_smoothing):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0):
    """Cross entropy of (N, C) logits against (N,) integer class targets.

    With eps = label_smoothing and lp = log_softmax(logits):
    loss[i] = (1 - eps) * (-lp[i, target[i]]) + eps / C * (-sum_c lp[i, c]) for kept rows and 0
    for rows whose target is ignore_index. 'mean' divides the sum by the number of kept rows.
    """
    _check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    logits, target, kept = _class_inputs(logits, target, ignore_index, "logits")
    log_probs = log_softmax_forward(logits, axis=1)
    dtype = logits.dtype.type
    nll = -_picked(log_probs, target, kept)
    smooth = np.where(kept, -np.sum(log_probs, axis=1), dtype(0))
    loss = dtype(1 - label_smoothing) * nll + dtype(label_smoothing / logits.shape[1]) * smooth
    return _reduce(loss, reduction, count=int(kept.sum()))


def cross_entropy_backward(grad_loss, logits, target, reduction="mean", ignore_index=-100,
                           label_smoothing=0.0):
    """Gradient of cross_entropy_forward with respect to logits, shape (N, C):
    (softmax(logits) - (1 - eps) * one_hot(target) - eps / C) * upstream, 0 on ignored rows."""
    _check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    logits, target, kept = _class_inputs(logits, target, ignore_index, "logits")
    dtype = logits.dtype.type
    num_classes = logits.shape[1]
    scale = _grad_scale(grad_loss, reduction, target.shape, logits.dtype, int(kept.sum()))
    probs = np.exp(log_softmax_forward(logits, axis=1))
    one_hot = _one_hot(target, kept, num_classes)
    grad = probs - dtype(1 - label_smoothing) * one_hot - dtype(label_smoothing / num_classes)
    grad = np.where(kept[:, None], grad, dtype(0))
    return (grad * np.reshape(scale, (-1, 1))).astype(logits.dtype)


def _pair_inputs(prediction, target, prediction_name):
    prediction = _float_array(prediction, prediction_name)
    target = _float_array(target, "target")
    _check_same_shape(prediction, target, prediction_name, "target")
    _check_nonempty(prediction, prediction_name)
    return prediction, target


def _log_weight(target, pos_weight):
    """1 + (pos_weight - 1) * target, or None without pos_weight."""
    if pos_weight is None:
        return None
    pos_weight = _float_array(pos_weight, "pos_weight").astype(target.dtype, copy=False)
    try:
        np.broadcast_shapes(pos_weight.shape, target.shape)
    except ValueError:
        raise ValueError(f"pos_weight shape {pos_weight.shape} does not broadcast with "
                         f"target shape {target.shape}") from None
    return target.dtype.type(1) + (pos_weight - target.dtype.type(1)) * target


def bce_with_logits_forward(logits, target, reduction="mean", pos_weight=None):
    """Binary cross entropy on logits: loss = (1 - t) x - w * log_sigmoid(x) with
    w = 1 + (pos_weight - 1) t (w = 1 without pos_weight); pos_weight broadcasts against the
    trailing dimensions (e.g. shape (C,)). log_sigmoid(x) = -(log1p(exp(-|x|)) + max(-x, 0))
    keeps it finite for any |x|."""
    _check_reduction(reduction)
    logits, target = _pair_inputs(logits, target, "logits")
    dtype = logits.dtype.type
    neg_log_sigmoid = np.log1p(np.exp(-np.abs(logits))) + np.maximum(-logits, dtype(0))
    log_weight = _log_weight(target, pos_weight)
    if log_weight is not None:
        neg_log_sigmoid = log_weight * neg_log_sigmoid
    loss = (dtype(1) - target) * logits + neg_log_sigmoid
    return _reduce(loss.astype(logits.dtype, copy=False), reduction)


def bce_with_logits_backward(grad_loss, logits, target, reduction="mean", pos_weight=None):
    """Gradient with respect to logits: (w * sigmoid(x) - w + 1 - t) * upstream, which is
    (sigmoid(x) - t) * upstream without pos_weight."""
    _check_reduction(reduction)
    logits, target = _pair_inputs(logits, target, "logits")
    dtype = logits.dtype.type
    scale = _grad_scale(grad_loss, reduction, logits.shape, logits.dtype)
    sig = sigmoid_forward(logits)
    log_weight = _log_weight(target, pos_weight)
    if log_weight is None:
        grad = sig - target
    else:
        grad = log_weight * (sig - dtype(1)) + dtype(1) - target
    return (grad * scale).astype(logits.dtype, copy=False)


def _check_probs(probs):
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("probs must lie in [0, 1]")


def bce_forward(probs, target, reduction="mean"):
    """Binary cross entropy on probabilities:
    loss = -(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100))."""
    _check_reduction(reduction)
    probs, target = _pair_inputs(probs, target, "probs")
    _check_probs(probs)
    dtype = probs.dtype.type
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(probs), dtype(_BCE_LOG_CLAMP))
        log_1mp = np.maximum(np.log(dtype(1) - probs), dtype(_BCE_LOG_CLAMP))
    loss = -(target * log_p + (dtype(1) - target) * log_1mp)
    return _reduce(loss, reduction)


def bce_backward(grad_loss, probs, target, reduction="mean"):
    """Gradient with respect to probs, as PyTorch computes it:
    (p - t) / max(p (1 - p), 1e-12) * upstream."""
    _check_reduction(reduction)
    probs, target = _pair_inputs(probs, target, "probs")
    _check_probs(probs)
    dtype = probs.dtype.type
    scale = _grad_scale(grad_loss, reduction, probs.shape, probs.dtype)
    denominator = np.maximum((dtype(1) - probs) * probs, dtype(_BCE_GRAD_EPS))
    return ((probs - target) / denominator * scale).astype(probs.dtype, copy=False)


def mse_loss_forward(input, target, reduction="mean"):
    """Squared error (input - target)**2; shapes must match exactly (no broadcasting)."""
    _check_reduction(reduction)
    input, target = _pair_inputs(input, target, "input")
    return _reduce((input - target) ** 2, reduction)


def mse_loss_backward(grad_loss, input, target, reduction="mean"):
    """Gradient with respect to input: 2 (input - target) * upstream."""
    _check_reduction(reduction)
    input, target = _pair_inputs(input, target, "input")
    scale = _grad_scale(grad_loss, reduction, input.shape, input.dtype)
    return (input.dtype.type(2) * (input - target) * scale).astype(input.dtype, copy=False)
