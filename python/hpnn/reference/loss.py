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


def _class_weight(weight, num_classes, dtype):
    """Per-class weights as a (C,) array of ``dtype``, or None."""
    if weight is None:
        return None
    weight = _float_array(weight, "weight").astype(dtype, copy=False)
    if weight.shape != (num_classes,):
        raise ValueError(f"weight must hold one value per class, shape ({num_classes},), "
                         f"got {weight.shape}")
    return weight


def _target_weight(weight, target, kept, dtype):
    """weight[target[i]] on kept rows (1 without weight), 0 on ignored rows. Their sum is what
    'mean' divides by, as in PyTorch."""
    if weight is None:
        return kept.astype(dtype)
    return np.where(kept, weight[np.where(kept, target, 0)], dtype.type(0))


def nll_loss_forward(log_probs, target, reduction="mean", ignore_index=-100, weight=None):
    """Negative log-likelihood: loss[i] = -w[target[i]] * log_probs[i, target[i]], 0 where
    target[i] == ignore_index (w = 1 without ``weight``, a (C,) array). log_probs (N, C), target
    (N,) integer. 'mean' divides the sum by the summed weights of the non-ignored targets (NaN
    when every target is ignored, as in PyTorch)."""
    _check_reduction(reduction)
    log_probs, target, kept = _class_inputs(log_probs, target, ignore_index, "log_probs")
    weight = _class_weight(weight, log_probs.shape[1], log_probs.dtype)
    target_weight = _target_weight(weight, target, kept, log_probs.dtype)
    loss = -target_weight * _picked(log_probs, target, kept)
    return _reduce(loss, reduction, count=np.sum(target_weight))


def nll_loss_backward(grad_loss, log_probs, target, reduction="mean", ignore_index=-100,
                      weight=None):
    """Gradient of nll_loss_forward with respect to log_probs, shape (N, C)."""
    _check_reduction(reduction)
    log_probs, target, kept = _class_inputs(log_probs, target, ignore_index, "log_probs")
    weight = _class_weight(weight, log_probs.shape[1], log_probs.dtype)
    target_weight = _target_weight(weight, target, kept, log_probs.dtype)
    scale = _grad_scale(grad_loss, reduction, target.shape, log_probs.dtype,
                        np.sum(target_weight))
    one_hot = _one_hot(target, kept, log_probs.shape[1])
    return -(one_hot * np.reshape(target_weight * scale, (-1, 1))).astype(log_probs.dtype)


def _check_label_smoothing(label_smoothing):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0, weight=None):
    """Cross entropy of (N, C) logits against (N,) integer class targets.

    With eps = label_smoothing, lp = log_softmax(logits) and per-class weights w (1 without
    ``weight``): loss[i] = (1 - eps) * w[target[i]] * (-lp[i, target[i]])
    + eps / C * (-sum_c w[c] lp[i, c]) for kept rows, 0 for rows whose target is ignore_index.
    'mean' divides the sum by the summed w[target[i]] of the kept rows, as PyTorch does.
    """
    _check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    logits, target, kept = _class_inputs(logits, target, ignore_index, "logits")
    weight = _class_weight(weight, logits.shape[1], logits.dtype)
    target_weight = _target_weight(weight, target, kept, logits.dtype)
    log_probs = log_softmax_forward(logits, axis=1)
    dtype = logits.dtype.type
    nll = -target_weight * _picked(log_probs, target, kept)
    weighted_log_probs = log_probs if weight is None else log_probs * weight
    smooth = np.where(kept, -np.sum(weighted_log_probs, axis=1), dtype(0))
    loss = dtype(1 - label_smoothing) * nll + dtype(label_smoothing / logits.shape[1]) * smooth
    return _reduce(loss, reduction, count=np.sum(target_weight))


def _cross_entropy_grad(probs, one_hot, target_weight, weight, label_smoothing):
    """d loss[i] / d logits[i] on every row (ignored rows are masked by the caller)."""
    dtype = probs.dtype.type
    uniform = dtype(label_smoothing / probs.shape[1])
    if weight is None:
        return probs - dtype(1 - label_smoothing) * one_hot - uniform
    nll_grad = target_weight[:, None] * (probs - one_hot)
    smooth_grad = np.sum(weight) * probs - weight
    return dtype(1 - label_smoothing) * nll_grad + uniform * smooth_grad


def cross_entropy_backward(grad_loss, logits, target, reduction="mean", ignore_index=-100,
                           label_smoothing=0.0, weight=None):
    """Gradient of cross_entropy_forward with respect to logits, shape (N, C); without weights
    (softmax(logits) - (1 - eps) * one_hot(target) - eps / C) * upstream, 0 on ignored rows."""
    _check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    logits, target, kept = _class_inputs(logits, target, ignore_index, "logits")
    weight = _class_weight(weight, logits.shape[1], logits.dtype)
    target_weight = _target_weight(weight, target, kept, logits.dtype)
    scale = _grad_scale(grad_loss, reduction, target.shape, logits.dtype, np.sum(target_weight))
    probs = np.exp(log_softmax_forward(logits, axis=1))
    one_hot = _one_hot(target, kept, logits.shape[1])
    grad = _cross_entropy_grad(probs, one_hot, target_weight, weight, label_smoothing)
    grad = np.where(kept[:, None], grad, logits.dtype.type(0))
    return (grad * np.reshape(scale, (-1, 1))).astype(logits.dtype)


def _pair_inputs(prediction, target, prediction_name):
    prediction = _float_array(prediction, prediction_name)
    target = _float_array(target, "target")
    _check_same_shape(prediction, target, prediction_name, "target")
    _check_nonempty(prediction, prediction_name)
    return prediction, target


def _broadcast_weight(weight, target, name):
    """``weight`` as an array of target's dtype that broadcasts to target's shape, or None."""
    if weight is None:
        return None
    weight = _float_array(weight, name).astype(target.dtype, copy=False)
    try:
        np.broadcast_to(weight, target.shape)
    except ValueError:
        raise ValueError(f"{name} shape {weight.shape} does not broadcast to target shape "
                         f"{target.shape}") from None
    return weight


def _log_weight(target, pos_weight):
    """1 + (pos_weight - 1) * target, or None without pos_weight."""
    pos_weight = _broadcast_weight(pos_weight, target, "pos_weight")
    if pos_weight is None:
        return None
    return target.dtype.type(1) + (pos_weight - target.dtype.type(1)) * target


def _weighted(values, weight):
    return values if weight is None else values * weight


def bce_with_logits_forward(logits, target, reduction="mean", pos_weight=None, weight=None):
    """Binary cross entropy on logits: loss = weight * ((1 - t) x - w * log_sigmoid(x)) with
    w = 1 + (pos_weight - 1) t (w = 1 without pos_weight, weight = 1 without weight); both
    broadcast against target (pos_weight e.g. shape (C,)). 'mean' is the plain mean over
    elements. log_sigmoid(x) = -(log1p(exp(-|x|)) + max(-x, 0)) keeps it finite for any |x|."""
    _check_reduction(reduction)
    logits, target = _pair_inputs(logits, target, "logits")
    weight = _broadcast_weight(weight, target, "weight")
    dtype = logits.dtype.type
    neg_log_sigmoid = np.log1p(np.exp(-np.abs(logits))) + np.maximum(-logits, dtype(0))
    log_weight = _log_weight(target, pos_weight)
    if log_weight is not None:
        neg_log_sigmoid = log_weight * neg_log_sigmoid
    loss = _weighted((dtype(1) - target) * logits + neg_log_sigmoid, weight)
    return _reduce(loss.astype(logits.dtype, copy=False), reduction)


def bce_with_logits_backward(grad_loss, logits, target, reduction="mean", pos_weight=None,
                             weight=None):
    """Gradient with respect to logits: weight * (w * sigmoid(x) - w + 1 - t) * upstream,
    which is (sigmoid(x) - t) * upstream without pos_weight and weight."""
    _check_reduction(reduction)
    logits, target = _pair_inputs(logits, target, "logits")
    weight = _broadcast_weight(weight, target, "weight")
    dtype = logits.dtype.type
    scale = _grad_scale(grad_loss, reduction, logits.shape, logits.dtype)
    sig = sigmoid_forward(logits)
    log_weight = _log_weight(target, pos_weight)
    if log_weight is None:
        grad = sig - target
    else:
        grad = log_weight * (sig - dtype(1)) + dtype(1) - target
    return (_weighted(grad, weight) * scale).astype(logits.dtype, copy=False)


def _check_probs(probs):
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("probs must lie in [0, 1]")


def bce_forward(probs, target, reduction="mean", weight=None):
    """Binary cross entropy on probabilities:
    loss = -weight * (t * max(log p, -100) + (1 - t) * max(log(1 - p), -100)), weight = 1
    without ``weight`` (which broadcasts to target). 'mean' is the plain mean over elements."""
    _check_reduction(reduction)
    probs, target = _pair_inputs(probs, target, "probs")
    _check_probs(probs)
    weight = _broadcast_weight(weight, target, "weight")
    dtype = probs.dtype.type
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(probs), dtype(_BCE_LOG_CLAMP))
        log_1mp = np.maximum(np.log(dtype(1) - probs), dtype(_BCE_LOG_CLAMP))
    loss = -(target * log_p + (dtype(1) - target) * log_1mp)
    return _reduce(_weighted(loss, weight), reduction)


def bce_backward(grad_loss, probs, target, reduction="mean", weight=None):
    """Gradient with respect to probs, as PyTorch computes it:
    weight * (p - t) / max(p (1 - p), 1e-12) * upstream."""
    _check_reduction(reduction)
    probs, target = _pair_inputs(probs, target, "probs")
    _check_probs(probs)
    weight = _broadcast_weight(weight, target, "weight")
    dtype = probs.dtype.type
    scale = _grad_scale(grad_loss, reduction, probs.shape, probs.dtype)
    denominator = np.maximum((dtype(1) - probs) * probs, dtype(_BCE_GRAD_EPS))
    grad = _weighted((probs - target) / denominator, weight)
    return (grad * scale).astype(probs.dtype, copy=False)


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
