"""Scaled dot-product attention (PyTorch's F.scaled_dot_product_attention): two GEMMs around
one fused masked softmax (kernels masked_softmax_forward/backward), in one autograd node when
there is no dropout and the mask needs no gradient."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..backend import get_backend, kernel
from ..ops import unbroadcast
from ..shape_ops import _gemm
from ..tensor import Tensor, _tensor
from ._common import c32
from .dense import dropout

__all__ = ["scaled_dot_product_attention", "masked_softmax"]


def _f32(array):
    """float32 as it is laid out: the batched GEMM reads strided views (the heads of a
    projection, split by a transpose) in place, so no contiguous copy is made. float64 stays
    float64 on the numpy backend, as c32."""
    if getattr(array, "dtype", None) == np.float64 and get_backend() == "numpy":
        return np.asarray(array)
    return np.asarray(array, dtype=np.float32)


class _Attention(Function):
    """softmax(scale q k^T + mask) v, leading dims broadcast; saves the probabilities."""

    def forward(self, q, k, v, mask, scale, causal):
        self.q, self.k, self.v, self.scale = _f32(q), _f32(k), _f32(v), scale
        scores = _gemm(self.q, self.k, trans_b=True)
        self.p = kernel("masked_softmax_forward")(scores, mask, scale, causal, True)
        return _gemm(self.p, self.v)

    def backward(self, grad):
        grad = c32(grad)
        need_q, need_k, need_v = self.needs_input_grad
        grad_q = grad_k = grad_v = None
        if need_v:
            grad_v = unbroadcast(_gemm(self.p, grad, trans_a=True), self.v.shape)
        if need_q or need_k:
            grad_p = _gemm(grad, self.v, trans_b=True)
            grad_s = kernel("masked_softmax_backward")(grad_p, self.p, self.scale)
            if need_q:
                grad_q = unbroadcast(_gemm(grad_s, self.k), self.q.shape)
            if need_k:
                grad_k = unbroadcast(_gemm(grad_s, self.q, trans_a=True), self.k.shape)
        return grad_q, grad_k, grad_v


class _MaskedSoftmax(Function):
    """softmax(scale x + mask) along the last axis; mask a Tensor (which may need a gradient)
    or absent."""

    def forward(self, x, *mask, scale, causal, zero_empty_rows):
        self.scale, self.mask_shape = scale, mask[0].shape if mask else None
        self.y = kernel("masked_softmax_forward")(c32(x), c32(mask[0]) if mask else None,
                                                  scale, causal, zero_empty_rows)
        return self.y

    def backward(self, grad):
        grad_z = kernel("masked_softmax_backward")(c32(grad), self.y, 1.0)
        grad_x = grad_z * np.float32(self.scale) if self.needs_input_grad[0] else None
        if self.mask_shape is None:
            return grad_x
        grad_mask = unbroadcast(grad_z, self.mask_shape) if self.needs_input_grad[1] else None
        return grad_x, grad_mask


def masked_softmax(input, mask=None, scale=1.0, is_causal=False, zero_empty_rows=False):
    """softmax(scale * input + mask, dim=-1), the causal cut applied; a row with every entry
    masked gives NaN (as softmax) or, with zero_empty_rows, zeros (as attention)."""
    input = _tensor(input)
    masks = () if mask is None else (_tensor(mask),)
    return _MaskedSoftmax.apply(input, *masks, scale=float(scale), causal=bool(is_causal),
                                zero_empty_rows=bool(zero_empty_rows))


def _array(value):
    return value._array if isinstance(value, Tensor) else np.asarray(value)


def additive_mask(mask, dtype=np.float32, name="attn_mask", take_part=True):
    """A bool mask as 0 / -inf (True = takes part when take_part, else True = masked out),
    a float one as it is; None stays None."""
    if mask is None:
        return None
    array = _array(mask)
    if array.dtype == np.bool_:
        keep = array if take_part else ~array
        return np.where(keep, np.float32(0), np.float32(-np.inf)).astype(dtype)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be a bool or floating mask, got dtype {array.dtype}")
    return mask if isinstance(mask, Tensor) else array.astype(dtype, copy=False)


def _expand_heads(kv, groups):
    """(..., Hk, S, E) -> (..., Hk * groups, S, E), each head repeated groups times in place
    (PyTorch's repeat_interleave along the head dim)."""
    if groups == 1:
        return kv
    shape = tuple(kv.shape)
    lead, heads = shape[:-3], shape[-3]
    wide = kv.unsqueeze(kv.ndim - 2).expand(*lead, heads, groups, *shape[-2:])
    return wide.reshape(*lead, heads * groups, *shape[-2:])


def _check(query, key, value, attn_mask, is_causal, enable_gqa):
    fn = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ValueError(f"{fn}: argument '{name}' must have at least 2 dims, got shape "
                             f"{tuple(t.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{fn}: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)} do not fit (query and key share E, key and value "
                         f"share S)")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fn}: explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and query.ndim >= 3 and query.shape[-3] % key.shape[-3]:
        raise ValueError(f"{fn}: with enable_gqa, query's heads ({query.shape[-3]}) must be a "
                         f"multiple of key's ({key.shape[-3]})")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query key^T * scale + mask) value over (..., L, E), (..., S, E), (..., S, Ev).
    attn_mask: bool (True = takes part) or float (added), broadcastable to (..., L, S);
    is_causal: the lower-triangular (top-left) mask; scale: 1/sqrt(E) by default; dropout_p
    applies dropout to the attention weights (always, as PyTorch's). Rows with every key
    masked give zeros."""
    query, key, value = _tensor(query), _tensor(key), _tensor(value)
    _check(query, key, value, attn_mask, is_causal, enable_gqa)
    if enable_gqa and query.ndim >= 3:
        groups = query.shape[-3] // key.shape[-3]
        key, value = _expand_heads(key, groups), _expand_heads(value, groups)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    mask = additive_mask(attn_mask)
    mask_needs_grad = isinstance(mask, Tensor) and mask.requires_grad
    if dropout_p == 0.0 and not mask_needs_grad:
        mask = mask._array if isinstance(mask, Tensor) else mask
        return _Attention.apply(query, key, value, mask=None if mask is None else c32(mask),
                                scale=scale, causal=bool(is_causal))
    scores = query @ key.transpose(-2, -1)
    weights = masked_softmax(scores, mask, scale, is_causal, zero_empty_rows=True)
    return dropout(weights, dropout_p, training=True) @ value
