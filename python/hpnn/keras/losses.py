"""Keras losses: called Keras' way, ``loss(y_true, y_pred)`` (the target first).

Each loss first brings the two to the same rank as Keras does (a rank-1 target against a
prediction whose last dimension is 1 gains that dimension), computes the elementwise loss,
averages (or, for the cross entropies over classes, sums) over the last axis to one value
per sample, then reduces: 'sum_over_batch_size' (the mean, Keras' default), 'sum' or 'none'.
Integer and bool targets are cast to float32, as Keras casts y_true to y_pred's dtype.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor

# Keras' backend epsilon: probabilities are clipped to [EPSILON, 1 - EPSILON] before a log
EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "none", None)


def _tensor(value, what, cast=True):
    """A Tensor of ``value``; float32 when ``cast`` (predictions), else labels keep ints."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{what}: expected numbers, got dtype {array.dtype}")
    return Tensor(array.astype(np.float32) if cast or array.dtype.kind == "f" else array)


def _float(t):
    return t if t._array.dtype == np.float32 else Tensor(t._array.astype(np.float32))


def same_rank(y_true, y_pred, owner):
    """Keras' squeeze_or_expand_to_same_rank: shapes differing by a trailing 1 are aligned."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1) if y_true.ndim == 1 else y_true
        y_pred = y_pred if y_true.ndim == y_pred.ndim else y_pred.squeeze(-1)
    elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1] == 1:
        y_pred = y_pred.unsqueeze(-1) if y_pred.ndim == 1 else y_pred
        y_true = y_true if y_true.ndim == y_pred.ndim else y_true.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{owner}: y_true of shape {tuple(y_true.shape)} does not match "
                         f"y_pred of shape {tuple(y_pred.shape)}")
    return y_true, y_pred


def _per_sample(values):
    """Keras averages the elementwise loss over the last axis (a 0-d input stays as it is)."""
    return values.mean(-1) if values.ndim >= 1 else values


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = same_rank(_float(y_true), y_pred, "mean_squared_error")
    return _per_sample((y_pred - y_true) * (y_pred - y_true))


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = same_rank(_float(y_true), y_pred, "mean_absolute_error")
    return _per_sample((y_pred - y_true).abs())


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y_true, y_pred = same_rank(_float(y_true), y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:  # Keras: clip, then log(p + eps) and log(1 - p + eps)
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        values = -(y_true * (p + EPSILON).log() + (1.0 - y_true) * (1.0 - p + EPSILON).log())
    return _per_sample(values)


def _log_probs(y_pred, from_logits):
    if from_logits:
        return F.log_softmax(y_pred, dim=-1)
    p = y_pred / y_pred.sum(-1, keepdim=True)  # Keras renormalises the probabilities
    return p.clamp(EPSILON, 1.0 - EPSILON).log()


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y_true = _float(y_true)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"categorical_crossentropy: one-hot y_true of shape "
                         f"{tuple(y_true.shape)} does not match y_pred of shape "
                         f"{tuple(y_pred.shape)} (integer labels need "
                         "SparseCategoricalCrossentropy)")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    return -(y_true * _log_probs(y_pred, from_logits)).sum(-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    labels = np.asarray(y_true._array if isinstance(y_true, Tensor) else y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"sparse_categorical_crossentropy: y_true of shape {labels.shape} "
                         f"does not match y_pred of shape {tuple(y_pred.shape)} (one label "
                         "per row of class scores)")
    labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"sparse_categorical_crossentropy: labels must be in [0, {classes}), "
                         f"got values in [{labels.min()}, {labels.max()}]")
    # log of the clipped probabilities as logits, as Keras: that also renormalises them
    logits = y_pred if from_logits else y_pred.clamp(EPSILON, 1.0 - EPSILON).log()
    log_probs = F.log_softmax(logits.reshape(-1, classes), dim=-1)
    values = F.nll_loss(log_probs, Tensor(labels.reshape(-1)), reduction="none")
    return values.reshape(*labels.shape) if labels.ndim != 1 else values


class Loss:
    """Base class: ``loss(y_true, y_pred)``. ``target_first`` tells hpnn's compile/fit (which
    call losses PyTorch's way, ``loss(output, target)``) to swap the arguments."""

    target_first = True
    from_logits = False

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: argument 'reduction' must be one of "
                             f"{REDUCTIONS}, got {reduction!r}")
        self.reduction, self.name = reduction, name or type(self).__name__

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = _tensor(y_pred, self.name)
        values = self.call(_tensor(y_true, self.name, cast=False), y_pred)
        if sample_weight is not None:
            weight = _tensor(sample_weight, self.name)
            values = values * weight.reshape(*weight.shape, *[1] * (values.ndim - weight.ndim))
        if self.reduction in ("none", None):
            return values
        total = values.sum()
        return total if self.reduction == "sum" else total / float(max(values.numel(), 1))

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample values."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(reduction, name or getattr(fn, "__name__", None))
        self.fn, self.kwargs = fn, kwargs
        self.from_logits = bool(kwargs.get("from_logits", False))

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.kwargs)


def _wrapper(fn, **options):
    """A Loss class for ``fn`` taking ``options`` (with their Keras defaults) as keywords."""

    def __init__(self, *args, reduction="sum_over_batch_size", name=None, **kwargs):
        names = list(options)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional "
                            f"arguments, got {len(args)}")
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}")
        values = {**options, **dict(zip(names, args)), **kwargs}
        LossFunctionWrapper.__init__(self, fn, reduction, name, **values)

    return __init__


class MeanSquaredError(LossFunctionWrapper):
    __init__ = _wrapper(mean_squared_error)


class MeanAbsoluteError(LossFunctionWrapper):
    __init__ = _wrapper(mean_absolute_error)


class BinaryCrossentropy(LossFunctionWrapper):
    __init__ = _wrapper(binary_crossentropy, from_logits=False, label_smoothing=0.0)


class CategoricalCrossentropy(LossFunctionWrapper):
    __init__ = _wrapper(categorical_crossentropy, from_logits=False, label_smoothing=0.0)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    __init__ = _wrapper(sparse_categorical_crossentropy, from_logits=False)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A Loss from a name ('mse', 'binary_crossentropy', ...), a Loss, or a function
    ``fn(y_true, y_pred)`` returning per-sample values (averaged, as Keras does)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; choose one of {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss must be a name, a Loss or a function, got {identifier!r}")
