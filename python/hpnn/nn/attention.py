"""nn.MultiheadAttention, PyTorch's parameters (in_proj_weight/in_proj_bias, or q/k/v_proj_weight
when kdim or vdim differ from embed_dim; out_proj a Linear), defaults and masks."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.attention import additive_mask, masked_softmax
from ..tensor import Tensor
from . import init
from ._checks import positive_int
from .layers import NonDynamicallyQuantizableLinear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


def _merged_mask(attn_mask, key_padding_mask, batch, heads, target, source):
    """attn_mask ((L, S) or (N * H, L, S); bool True = masked out, or float added) and
    key_padding_mask ((N, S); bool True = padding, or float added) as one additive float32
    array broadcastable to (N, H, L, S), or None."""
    fn = "MultiheadAttention"
    mask = additive_mask(attn_mask, name="attn_mask", take_part=False)
    if mask is not None:
        mask = np.asarray(mask._array if isinstance(mask, Tensor) else mask, np.float32)
        if mask.shape == (batch * heads, target, source):
            mask = mask.reshape(batch, heads, target, source)
        elif mask.shape != (target, source):
            raise ValueError(f"{fn}: attn_mask must be of shape {(target, source)} or "
                             f"{(batch * heads, target, source)}, got {mask.shape}")
    padding = additive_mask(key_padding_mask, name="key_padding_mask", take_part=False)
    if padding is not None:
        padding = np.asarray(padding._array if isinstance(padding, Tensor) else padding,
                             np.float32)
        if padding.shape != (batch, source):
            raise ValueError(f"{fn}: key_padding_mask must be of shape {(batch, source)}, got "
                             f"{padding.shape}")
        padding = padding.reshape(batch, 1, 1, source)
        mask = padding if mask is None else mask + padding
    return mask


class MultiheadAttention(Module):
    """Attention over num_heads heads of embed_dim // num_heads each. Inputs (L, N, E), or
    (N, L, E) with batch_first, or unbatched (L, E); forward returns (output, weights), weights
    (N, L, S) averaged over heads (or (N, H, L, S)), None when need_weights=False."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        name = "MultiheadAttention"
        self.embed_dim = positive_int(embed_dim, "embed_dim", name)
        self.num_heads = positive_int(num_heads, "num_heads", name)
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError(f"{name}: add_bias_kv and add_zero_attn are not "
                                      "supported by hpnn")
        self.kdim = embed_dim if kdim is None else positive_int(kdim, "kdim", name)
        self.vdim = embed_dim if vdim is None else positive_int(vdim, "vdim", name)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn, self.bias_k, self.bias_v = False, None, None
        self._make_parameters(bias)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias)
        self._reset_parameters()

    def _make_parameters(self, bias):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), np.float32))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((e, e), np.float32))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), np.float32))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), np.float32))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * e, np.float32))
        else:
            self.register_parameter("in_proj_bias", None)

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _projections(self, query, key, value):
        e, b = self.embed_dim, self.in_proj_bias
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        return [F.linear(x, w_i, b_i) for x, w_i, b_i in zip((query, key, value), weights, biases)]

    def _heads(self, x, batch):
        """(N, L, E) -> (N, H, L, head_dim)."""
        return x.reshape(batch, x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal needs attn_mask (it is a hint that "
                             "attn_mask is the causal mask)")
        batched = query.ndim == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = _array(key_padding_mask)[None]
        if not self.batch_first or not batched:  # to (N, L, E)
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        batch, target, source = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (self._heads(x, batch) for x in self._projections(query, key, value))
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            mask = _merged_mask(attn_mask, key_padding_mask, batch, self.num_heads, target,
                                source)
            scores = q @ k.transpose(-2, -1)
            weights = masked_softmax(scores, mask, self.head_dim ** -0.5)
            weights = F.dropout(weights, p, training=True)
            out = weights @ v
        elif is_causal and key_padding_mask is None:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            mask = _merged_mask(attn_mask, key_padding_mask, batch, self.num_heads, target,
                                source)
            out = F.scaled_dot_product_attention(q, k, v, None if mask is None else mask,
                                                 dropout_p=p)
        out = self.out_proj(out.transpose(1, 2).reshape(batch, target, self.embed_dim))
        if not self.batch_first or not batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        return out, self._returned_weights(weights, average_attn_weights, batched)

    @staticmethod
    def _returned_weights(weights, average, batched):
        if weights is None:
            return None
        if average:
            weights = weights.mean(dim=1)
        return weights if batched else weights.squeeze(0)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


def _array(value):
    return value._array if isinstance(value, Tensor) else np.asarray(value)
