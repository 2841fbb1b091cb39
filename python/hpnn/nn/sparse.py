"""Embedding layer, PyTorch's signature, initialisation and state-dict layout."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.embedding import padding_index
from ..tensor import Tensor
from . import init
from ._checks import positive_int
from .module import Module, Parameter


class Embedding(Module):
    """A (num_embeddings, embedding_dim) lookup table, initialised N(0, 1) with the
    padding_idx row zeroed. max_norm renormalises the rows looked up, in place, on each
    forward. sparse=True is accepted for compatibility, but the gradient is dense."""

    _tensor_args = 1

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.padding_idx = padding_index(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), np.float32))
            self.reset_parameters()
        else:
            data = _weight._array if isinstance(_weight, Tensor) else np.asarray(_weight)
            if data.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight shape {data.shape} must be "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(np.array(data, np.float32))
        self.weight.requires_grad = not _freeze

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._array[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding a copy of the 2-d ``embeddings``; frozen (no gradient) unless
        freeze=False."""
        if embeddings.ndim != 2:
            raise ValueError("Embedding.from_pretrained: argument 'embeddings' must be 2-d, got "
                             f"shape {tuple(embeddings.shape)}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse:
            text += ", sparse=True"
        return text
