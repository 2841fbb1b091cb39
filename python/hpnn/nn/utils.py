"""Gradient clipping as torch.nn.utils: ``clip_grad_norm_``, ``clip_grad_value_`` (in place),
``get_total_norm`` and ``clip_grads_with_norm_``. ``foreach`` is accepted and ignored."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor


def _tensors(tensors):
    return [tensors] if isinstance(tensors, (Tensor, np.ndarray)) else list(tensors)


def _grads(parameters):
    return [p.grad._array for p in _tensors(parameters) if p.grad is not None]


def _vector_norm(values, norm_type):
    """torch.linalg.vector_norm of a float array (accumulated in float64), as a python float."""
    values = np.abs(np.asarray(values, np.float64).ravel())
    if values.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(values.max())
    if norm_type == -math.inf:
        return float(values.min())
    if norm_type == 0:
        return float(np.count_nonzero(values))
    return float(np.sum(values ** norm_type) ** (1.0 / norm_type))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of ``tensors`` (as if concatenated, for p-norms), each norm
    rounded to float32 as PyTorch's; a 0-d float32 tensor."""
    norm_type = float(norm_type)
    arrays = [t._array if isinstance(t, Tensor) else np.asarray(t) for t in _tensors(tensors)]
    if not arrays:
        return Tensor(np.zeros((), np.float32))
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], np.float32)
    total = np.float32(_vector_norm(norms, norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return Tensor(np.asarray(total, np.float32))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)) (NaN when the norm is)."""
    grads = _grads(parameters)
    max_norm = float(max_norm)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: argument 'max_norm' must be >= 0, got {max_norm}")
    if not grads:
        return
    total = np.float32(float(total_norm))
    # float32 as PyTorch's max_norm / tensor, which is tensor.reciprocal() * max_norm
    coefficient = np.float32(1) / (total + np.float32(1e-6)) * np.float32(max_norm)
    if not coefficient < 1 and not math.isnan(coefficient):
        return  # the gradients times 1
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, silently as in torch
        for g in grads:
            g *= coefficient


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so their joint norm is at most ``max_norm``; returns the
    norm before clipping (a 0-d float32 tensor). Parameters without a gradient are skipped."""
    parameters = _tensors(parameters)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: argument 'clip_value' must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
