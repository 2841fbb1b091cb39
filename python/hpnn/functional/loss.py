"""Losses with PyTorch's names, signatures and reductions (``size_average``/``reduce`` are
PyTorch's deprecated spellings of ``reduction`` and accepted as such)."""
from __future__ import annotations


import numpy as np

from ..autograd import Function, is_grad_enabled
from ..backend import kernel
from ..ops import unbroadcast
from ..tensor import Tensor, _tensor
from ._common import _float_dtype, broadcast_target_shape, reduction_arg
from .activation import log_softmax

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss"]


class _Loss(Function):
    """loss = <name>_forward(prediction, target, **options); d loss / d prediction from
    <name>_backward, d loss / d target from ``target_grad`` where the target needs one.
    Elementwise rescaling tensors (weight, pos_weight) that may need a gradient come after
    target, their option names in ``rescale_names``; ``rescale_grad`` gives theirs."""

    forward_kernel = backward_kernel = ""

    def forward(self, prediction, target, *rescales, rescale_names=(), **options):
        options.update(zip(rescale_names, rescales))
        self.prediction, self.target, self.options = prediction, target, options
        self.rescale_names = rescale_names
        return kernel(self.forward_kernel)(prediction, target, **options)

    def backward(self, grad):
        need_prediction, need_target, *need_rescales = self.needs_input_grad
        grad_p = None
        if need_prediction:
            grad_p = kernel(self.backward_kernel)(grad, self.prediction, self.target,
                                                  **self.options)
        if not (need_target or True in need_rescales):
            return grad_p, None
        grad = np.asarray(grad, np.float32)  # d loss / d elementwise loss
        if self.options["reduction"] == "mean":
            grad = grad / np.float32(self.prediction.size)
        grad_t = None
        if need_target:
            weight = self.options.get("weight")
            local = self.target_grad() * (1 if weight is None else weight)
            grad_t = (grad * local).astype(np.float32)
        grad_rescales = [unbroadcast((grad * self.rescale_grad(name)).astype(np.float32),
                                     self.options[name].shape) if need else None
                         for name, need in zip(self.rescale_names, need_rescales)]
        return (grad_p, grad_t, *grad_rescales)

    def target_grad(self):
        """d elementwise loss / d target (before weight and reduction)."""
        raise NotImplementedError

    def rescale_grad(self, name):
        """d elementwise loss / d option ``name`` (broadcast to the input's shape)."""
        if name != "weight":
            raise NotImplementedError
        options = dict(self.options, reduction="none", weight=None)  # the unweighted loss
        return kernel(self.forward_kernel)(self.prediction, self.target, **options)


def _loss(name, target_grad=None, **methods):
    attrs = dict(forward_kernel=f"{name}_forward", backward_kernel=f"{name}_backward", **methods)
    if target_grad is not None:
        attrs["target_grad"] = target_grad
    return type(name.title().replace("_", ""), (_Loss,), attrs)


def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _bce_target_grad(self):
    p = self.prediction
    with np.errstate(divide="ignore"):
        return np.log1p(-p) - np.log(p)


def _bce_with_logits_target_grad(self):
    x, pos_weight = self.prediction, self.options.get("pos_weight")
    if pos_weight is None:
        return -x
    return pos_weight * _softplus(-x) - _softplus(x)


def _bce_with_logits_rescale_grad(self, name):
    """d loss / d pos_weight = weight * target * softplus(-x) (the positive term's -log
    sigmoid(x)); weight as every loss's."""
    if name != "pos_weight":
        return _Loss.rescale_grad(self, name)
    weight = self.options.get("weight")
    local = self.target * _softplus(-self.prediction)
    return local if weight is None else local * weight


CrossEntropy, NLLLoss = _loss("cross_entropy"), _loss("nll_loss")
BCE = _loss("bce", _bce_target_grad)
BCEWithLogits = _loss("bce_with_logits", _bce_with_logits_target_grad,
                      rescale_grad=_bce_with_logits_rescale_grad)
MSELoss = _loss("mse_loss", lambda self: 2 * (self.target - self.prediction))


# ---- class-index losses ------------------------------------------------------------------------
def _class_target(input, target, name):
    """(N, C, d1, ...) scores become (N*d1*..., C) rows; check labels are ints in range."""
    if target._array.dtype.kind not in "iu":
        raise TypeError(f"{name}: argument 'target' must hold integer class indices, "
                        f"got dtype {target.dtype}")
    if input.ndim == 1:  # one sample without a batch dim
        input, target = input.reshape(1, -1), Tensor._wrap(target._array.reshape(-1))
    if input.ndim > 2:
        classes = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, classes)
        target = Tensor._wrap(target._array.reshape(-1))
    if input.ndim != 2 or target.shape != input.shape[:1]:
        raise ValueError(f"{name}: argument 'target' has shape {tuple(target.shape)}, expected "
                         f"({input.shape[0]},) for input of shape {tuple(input.shape)}")
    return input, target


def _check_labels(target, classes, ignore_index, name):
    labels = target._array
    if not labels.size or (labels.min() >= 0 and labels.max() < classes):
        return
    labels = labels[labels != ignore_index]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{name}: argument 'target' has labels in [{labels.min()}, "
                         f"{labels.max()}], expected 0..{classes - 1} for {classes} classes")


def _class_weight(weight, classes, name):
    """Per-class weights as a (C,) float tensor, or None."""
    if weight is None:
        return None
    weight = _tensor(weight)
    if weight.shape != (classes,):
        raise ValueError(f"{name}: argument 'weight' must hold one value per class, shape "
                         f"({classes},), got {tuple(weight.shape)}")
    return weight.float()


def _constant_class_weight(weight, classes, name):
    """Per-class weights for class-index targets as a (C,) array, or None: as in PyTorch they
    are not differentiable, and a weight that requires grad is refused."""
    weight = _class_weight(weight, classes, name)
    if weight is None:
        return None
    if weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{name}: argument 'weight' is not differentiable with class-index "
                           "targets (as in PyTorch); pass weight.detach()")
    return weight._array


def _class_loss(function, input, target, name, weight, reduction, **options):
    """Apply a class-index loss on (C,), (N, C) or (N, C, d1, ...) scores; 'none' keeps
    target's shape."""
    target_shape = target.shape
    rows, labels = _class_target(input, target, name)
    _check_labels(labels, rows.shape[1], options["ignore_index"], name)
    weight = _constant_class_weight(weight, rows.shape[1], name)
    loss = function.apply(rows, labels, reduction=reduction, weight=weight, **options)
    return loss.reshape(target_shape) if reduction == "none" and input.ndim != 2 else loss


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    """Cross entropy against class probabilities (target shaped like input), as PyTorch:
    -sum_c weight_c * target_c * log_softmax(input)_c; 'mean' divides by the sample count."""
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    log_probs = log_softmax(input, class_dim)
    weight = _class_weight(weight, classes, "cross_entropy")
    if weight is not None:
        log_probs = log_probs * weight.reshape((classes,) + (1,) * (input.ndim - 1 - class_dim))
    loss = -(log_probs * target).sum(class_dim)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / max(loss._array.size, 1)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross entropy of logits (C,), (N, C) or (N, C, d1, ...) against integer class
    targets ((), (N,) or (N, d1, ...)) or class probabilities shaped like the input.
    ``weight`` (C,) rescales each class; with class indices 'mean' then divides by the summed
    weights of the non-ignored targets."""
    reduction = reduction_arg(size_average, reduce, reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: argument 'label_smoothing' must be in [0, 1], got "
                         f"{label_smoothing}")
    target = _tensor(target)
    if target._array.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(f"cross_entropy: a probability target must have the input's shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}")
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    return _class_loss(CrossEntropy, input, target, "cross_entropy", weight, reduction,
                       ignore_index=ignore_index, label_smoothing=label_smoothing)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities (C,), (N, C) or (N, C, d1, ...) against
    class targets; ``weight`` as in cross_entropy."""
    reduction = reduction_arg(size_average, reduce, reduction, "nll_loss")
    return _class_loss(NLLLoss, input, _tensor(target), "nll_loss", weight, reduction,
                       ignore_index=ignore_index)


# ---- elementwise losses ------------------------------------------------------------------------
def _pair_target(input, target, name):
    target = _tensor(target)._cast(_float_dtype(input))
    if target.shape != input.shape:
        raise ValueError(f"{name}: argument 'target' has shape {tuple(target.shape)}, expected "
                         f"the input's shape {tuple(input.shape)}")
    return target


def _element_weight(weight, shape, name, argument):
    """An elementwise loss weight as a float tensor broadcasting to ``shape``, or None."""
    if weight is None:
        return None
    weight = _tensor(weight)
    try:
        np.broadcast_to(weight._array, shape)
    except ValueError:
        raise ValueError(f"{name}: argument '{argument}' of shape {tuple(weight.shape)} does "
                         f"not broadcast to the input's shape {tuple(shape)}") from None
    return weight.float()


def _weighted_pair_loss(function, input, target, reduction, **rescales):
    """Apply ``function`` with the given rescaling tensors (None: not given) as graph inputs,
    so that they get a gradient when they require one."""
    given = {name: value for name, value in rescales.items() if value is not None}
    return function.apply(input, target, *given.values(), rescale_names=tuple(given),
                          reduction=reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE of probabilities in [0, 1] against targets of the same shape; ``weight`` broadcasts
    to the input and rescales each element ('mean' stays the plain mean). Input, target and
    weight all get gradients (PyTorch refuses a weight that requires grad)."""
    name = "binary_cross_entropy"
    reduction = reduction_arg(size_average, reduce, reduction, name)
    target = _pair_target(input, target, name)
    if input._array.size and (input._array.min() < 0 or input._array.max() > 1):
        raise ValueError(f"{name}: argument 'input' must hold probabilities in [0, 1]")
    weight = _element_weight(weight, input.shape, name, "weight")
    return _weighted_pair_loss(BCE, input, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE on logits; ``pos_weight`` multiplies the positive term (broadcast, e.g. (C,)),
    ``weight`` rescales each element as in binary_cross_entropy. All four get gradients
    (PyTorch refuses a weight or pos_weight that requires grad)."""
    name = "binary_cross_entropy_with_logits"
    reduction = reduction_arg(size_average, reduce, reduction, name)
    target = _pair_target(input, target, name)
    weight = _element_weight(weight, input.shape, name, "weight")
    pos_weight = _element_weight(pos_weight, input.shape, name, "pos_weight")
    return _weighted_pair_loss(BCEWithLogits, input, target, reduction, weight=weight,
                               pos_weight=pos_weight)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error. As PyTorch, a target of another shape is broadcast against the
    input with a warning; ``weight`` (input's shape) rescales each element, and 'mean' then
    divides by the summed weights."""
    reduction = reduction_arg(size_average, reduce, reduction, "mse_loss")
    target = _tensor(target)._cast(_float_dtype(input))
    if target.shape != input.shape:
        shape = broadcast_target_shape(input, target, "mse_loss", stacklevel=2)
        zeros = np.zeros(shape, np.float32)
        input, target = input + zeros, target + zeros
    if weight is None:
        return MSELoss.apply(input, target, reduction=reduction)
    weight = _tensor(weight)
    if weight.shape != input.shape:
        raise ValueError(f"mse_loss: argument 'weight' must have the input's shape "
                         f"{tuple(input.shape)}, got {tuple(weight.shape)}")
    loss = MSELoss.apply(input, target, reduction="none") * weight
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / weight.sum()
