"""Attention's masked softmax and its gradient, PyTorch semantics.

masked_softmax_forward(x, mask, scale, causal, zero_empty_rows) is softmax(scale * x + mask)
along the last axis of x (..., L, S). mask is an additive float array broadcastable to x (None:
none); causal masks out column j > i of row i (top-left aligned, as torch.tril). A row whose
logits are all -inf (every column masked) gives zeros when zero_empty_rows, as PyTorch's
scaled_dot_product_attention, and NaN otherwise, as a plain softmax; NaN in a row makes the
whole row NaN. masked_softmax_backward returns the gradient with respect to x: scale times
the softmax Jacobian applied to grad_y (the mask's gradient is that divided by scale).
"""
import numpy as np

from .activation import _check_same_shape, _float_array


def _check_scale(scale):
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating)):
        raise TypeError(f"scale must be a real number, got {type(scale).__name__}")
    try:
        value = float(scale)
    except OverflowError:  # a Python int beyond float's range
        value = float("inf")
    if not np.isfinite(value):
        raise ValueError(f"scale must be a finite real number, got {scale!r}")
    return value


def _logits(x, mask, scale, causal):
    z = x * x.dtype.type(scale)
    if mask is not None:
        mask = _float_array(mask, "mask")
        try:
            np.broadcast_shapes(mask.shape, x.shape)
        except ValueError:
            raise ValueError(f"mask shape {mask.shape} does not broadcast to x's {x.shape}")
        if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
            raise ValueError(f"mask shape {mask.shape} does not broadcast to x's {x.shape}")
        z = z + mask.astype(x.dtype)
    if causal:
        rows, cols = x.shape[-2:]
        above = np.arange(cols)[None, :] > np.arange(rows)[:, None]
        z = np.where(above, -np.inf, z)
    return z


def masked_softmax_forward(x, mask=None, scale=1.0, causal=False, zero_empty_rows=True):
    """-> softmax(scale * x + mask) over the last axis, causal and empty rows as above."""
    x = _float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dims (..., L, S), got shape {x.shape}")
    z = _logits(x, mask, _check_scale(scale), bool(causal))
    top = z.max(axis=-1, keepdims=True)
    empty = top == -np.inf
    with np.errstate(invalid="ignore"):
        e = np.exp(z - np.where(empty, 0, top))
        y = e / e.sum(axis=-1, keepdims=True)
    if zero_empty_rows:
        y = np.where(empty, 0, y)
    else:
        y = np.where(empty, np.nan, y)
    return y.astype(x.dtype)


def masked_softmax_backward(grad_y, y, scale=1.0):
    """The gradient with respect to x of masked_softmax_forward, given its output y."""
    grad_y, y = _float_array(grad_y, "grad_y"), _float_array(y, "y")
    _check_same_shape(y, grad_y, "y", "grad_y")
    scale = _check_scale(scale)
    dot = (grad_y * y).sum(axis=-1, keepdims=True)
    return (scale * (y * (grad_y - dot))).astype(y.dtype)
