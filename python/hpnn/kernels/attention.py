"""Attention's masked softmax: the signatures and rules of hpnn.reference.attention, native
float32 compute. The binding takes (B, H, L, S) scores and a (1|B, 1|H, 1|L, S) mask; this
wrapper brings any rank and any broadcastable mask to that form, copying a mask only where
its broadcast does not fit it (e.g. a mask broadcast along S)."""
import numpy as np

from .._C import kernels as _native
from ._checks import require_float32, require_float32_or_none, require_real

__all__ = ["masked_softmax_forward", "masked_softmax_backward"]


def _as_4d(x, fn, name):
    if x.ndim < 2:
        raise ValueError(f"{fn}: argument '{name}' must have at least 2 dims (..., L, S), got "
                         f"shape {x.shape}")
    lead = x.shape[:-2]
    if len(lead) <= 2:
        return x.reshape((1,) * (2 - len(lead)) + x.shape)
    return x.reshape((int(np.prod(lead[:-1])), lead[-1]) + x.shape[-2:])


def _mask_4d(mask, x, fn):
    """mask as (1|B, 1|H, 1|L, S) for x of shape (B, H, L, S) once brought to 4-d."""
    try:
        if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{fn}: argument 'mask' of shape {mask.shape} does not broadcast to "
                         f"x's {x.shape}") from None
    mask = mask.reshape((1,) * (x.ndim - mask.ndim) + mask.shape)
    target = list(mask.shape)
    target[-1] = x.shape[-1]  # the kernel reads whole mask rows
    outer = x.ndim - 3  # the dims _as_4d merges into B
    if outer > 1 and not (all(m == 1 for m in mask.shape[:outer]) or
                          mask.shape[:outer] == x.shape[:outer]):
        target[:outer] = x.shape[:outer]
    if tuple(target) != mask.shape:
        mask = np.ascontiguousarray(np.broadcast_to(mask, tuple(target)))
    return _as_4d(mask, fn, "mask")


def masked_softmax_forward(x, mask=None, scale=1.0, causal=False, zero_empty_rows=True):
    """-> softmax(scale * x + mask) over the last axis of x (..., L, S), float32."""
    fn = "masked_softmax_forward"
    x = require_float32(fn, "x", x)
    mask = require_float32_or_none(fn, "mask", mask)
    scale = require_real(fn, "scale", scale)
    x4 = _as_4d(x, fn, "x")
    mask4 = None if mask is None else _mask_4d(mask, x, fn)
    y = _native.masked_softmax_forward(x4, mask4, scale, bool(causal), bool(zero_empty_rows))
    return y.reshape(x.shape)


def masked_softmax_backward(grad_y, y, scale=1.0):
    """The gradient with respect to x, given the forward's output y."""
    fn = "masked_softmax_backward"
    grad_y, y = require_float32(fn, "grad_y", grad_y), require_float32(fn, "y", y)
    scale = require_real(fn, "scale", scale)
    if grad_y.shape != y.shape:
        raise ValueError(f"{fn}: argument 'grad_y' of shape {grad_y.shape} must have y's shape "
                         f"{y.shape}")
    grad_x = _native.masked_softmax_backward(_as_4d(grad_y, fn, "grad_y"), _as_4d(y, fn, "y"),
                                             scale)
    return grad_x.reshape(y.shape)
