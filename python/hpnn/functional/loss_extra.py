"""Elementwise losses beyond loss.py's (L1, SmoothL1, Huber, KL divergence, Poisson NLL) and
the margin losses, with PyTorch's signatures, reductions and gradients for every input.
numpy in the input's dtype: each is a few elementwise passes."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd import Function
from ..ops import unbroadcast
from ..tensor import _tensor
from ._common import _float_dtype, broadcast_target_shape, reduction_arg

__all__ = ["l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss",
           "margin_ranking_loss", "cosine_embedding_loss", "hinge_embedding_loss",
           "soft_margin_loss"]


def _l1(x, t):
    d = x - t
    return np.abs(d), np.sign(d), -np.sign(d)


def _smooth_l1(x, t, beta):
    d = x - t
    a = np.abs(d)
    if beta == 0:
        return a, np.sign(d), -np.sign(d)
    small = a < beta
    slope = np.where(small, d / beta, np.sign(d))
    return np.where(small, 0.5 * d * d / beta, a - 0.5 * beta), slope, -slope


def _huber(x, t, delta):
    d = x - t
    a = np.abs(d)
    small = a <= delta
    slope = np.where(small, d, delta * np.sign(d))
    return np.where(small, 0.5 * d * d, delta * (a - 0.5 * delta)), slope, -slope


def _kl_div(x, t, log_target):
    """target * (log target - input), 0 where target is 0 (as xlogy); or with log targets
    exp(t) * (t - input). Where the target is 0 its gradient is NaN, as PyTorch's (xlogy's
    t / t there)."""
    if log_target:
        e = np.exp(t)
        return e * (t - x), -e, e * (t - x + 1)
    positive = t > 0
    log_t = np.log(np.where(positive, t, 1))
    return (np.where(positive, t * log_t, 0) - t * x, -t,
            np.where(positive, log_t + 1, np.nan) - x)


def _poisson_nll(x, t, log_input, full, eps):
    if log_input:
        e = np.exp(x)
        loss, dx, dt = e - t * x, e - t, -x
    else:
        log_x = np.log(x + eps)
        loss, dx, dt = x - t * log_x, 1 - t / (x + eps), -log_x
    if full:  # Stirling's term t log t - t + log(2 pi t) / 2, where t > 1
        big = t > 1
        safe = np.where(big, t, 1)
        loss = loss + np.where(big, safe * np.log(safe) - safe + 0.5 * np.log(2 * math.pi * safe),
                               0)
        dt = dt + np.where(big, np.log(safe) + 0.5 / safe, 0)
    return loss, dx, dt


class PairLoss(Function):
    """reduce(f(input, target)) for ``f(x, t, **options) -> (loss, dloss/dx, dloss/dt)``;
    reduction 'none', 'sum', 'mean' or 'batchmean' (sum / input.shape[0])."""

    def forward(self, x, t, f=None, reduction="mean", **options):
        loss, dx, dt = f(x, t, **options)
        count = {"mean": loss.size, "batchmean": x.shape[0] if x.ndim else 1}.get(reduction, 1)
        self.shapes, self.reduction, self.count = (x.shape, t.shape), reduction, count
        self.dx, self.dt = dx.astype(x.dtype), dt.astype(x.dtype)
        if reduction == "none":
            return loss.astype(x.dtype)
        return np.asarray(loss.sum() / count, x.dtype)

    def backward(self, grad):
        if self.reduction != "none":
            grad = grad / np.asarray(self.count, grad.dtype)
        need_x, need_t = self.needs_input_grad
        return (unbroadcast(grad * self.dx, self.shapes[0]) if need_x else None,
                unbroadcast(grad * self.dt, self.shapes[1]) if need_t else None)


def _target(input, target, name):
    """The target as a float tensor; as PyTorch, another shape is broadcast with a warning."""
    target = _tensor(target)
    if target._array.dtype.kind != "f":
        target = target._cast(_float_dtype(input))
    broadcast_target_shape(input, target, name, stacklevel=3)
    return target


def _pair_loss(f, name, input, target, reduction, **options):
    return PairLoss.apply(input, _target(input, target, name), f=f, reduction=reduction,
                          **options)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = reduction_arg(size_average, reduce, reduction, "l1_loss")
    loss = _pair_loss(_l1, "l1_loss", input, target, "none" if weight is not None else reduction)
    return loss if weight is None else _weighted(loss, weight, reduction)


def _weighted(loss, weight, reduction):
    """PyTorch 2.x's elementwise ``weight``: 'mean' divides by the number of elements."""
    loss = loss * _tensor(weight)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = reduction_arg(size_average, reduce, reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: argument 'beta' must be >= 0, got {beta}")
    return _pair_loss(_smooth_l1, "smooth_l1_loss", input, target, reduction, beta=float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    reduction = reduction_arg(None, None, reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: argument 'delta' must be > 0, got {delta}")
    loss = _pair_loss(_huber, "huber_loss", input, target,
                      "none" if weight is not None else reduction, delta=float(delta))
    return loss if weight is None else _weighted(loss, weight, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: input holds log-probabilities. 'batchmean' divides
    the sum by the batch size (the true KL divergence); 'mean' by the element count, with
    PyTorch's warning."""
    if reduction != "batchmean" or size_average is not None or reduce is not None:
        reduction = reduction_arg(size_average, reduce, reduction, "kl_div")
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          UserWarning, stacklevel=2)
    return _pair_loss(_kl_div, "kl_div", input, target, reduction, log_target=bool(log_target))


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = reduction_arg(size_average, reduce, reduction, "poisson_nll_loss")
    return _pair_loss(_poisson_nll, "poisson_nll_loss", input, target, reduction,
                      log_input=bool(log_input), full=bool(full), eps=float(eps))


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    from .activation import relu
    reduction = reduction_arg(size_average, reduce, reduction, "margin_ranking_loss")
    if not (input1.ndim == input2.ndim == _tensor(target).ndim):
        raise ValueError("margin_ranking_loss: arguments 'input1', 'input2' and 'target' must "
                         "have the same number of dims")
    return _reduce(relu(-_tensor(target) * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """input where target is 1, max(0, margin - input) where it is -1."""
    from ..creation import where
    from .activation import relu
    reduction = reduction_arg(size_average, reduce, reduction, "hinge_embedding_loss")
    target = _tensor(target)
    zero = input * 0
    loss = where(target._array != 1, relu(margin - input), zero) + \
        where(target._array != -1, input, zero)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input))."""
    from .activation_extra import softplus
    reduction = reduction_arg(size_average, reduce, reduction, "soft_margin_loss")
    return _reduce(softplus(-_tensor(target)._cast(_float_dtype(input)) * input), reduction)


_EPSILON = 1e-12  # added to each squared norm, as PyTorch's cosine_embedding_loss


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1."""
    from ..creation import where
    from .activation import relu
    reduction = reduction_arg(size_average, reduce, reduction, "cosine_embedding_loss")
    target = _tensor(target)
    dim = input1.ndim - 1
    norms = ((input1 * input1).sum(dim) + _EPSILON) * ((input2 * input2).sum(dim) + _EPSILON)
    cos = (input1 * input2).sum(dim) / norms.sqrt()
    zero = cos * 0
    loss = where(target._array == 1, 1 - cos, zero) + where(target._array == -1, relu(cos - margin),
                                                          zero)
    return _reduce(loss, reduction)
