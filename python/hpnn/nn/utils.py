"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (in place)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor


def _grads(parameters):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad.data for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint norm is at most ``max_norm``; returns the
    norm before clipping."""
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: argument 'max_norm' must be >= 0, got {max_norm}")
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    if norm_type == math.inf:
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {total}")
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= np.float32(scale)
    return Tensor(np.asarray(total, np.float32))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value]."""
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: argument 'clip_value' must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
