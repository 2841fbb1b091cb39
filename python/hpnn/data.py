"""PyTorch-style data loading: ``TensorDataset`` and ``DataLoader``."""
from __future__ import annotations

import numpy as np

from . import random
from .tensor import Tensor, as_array

__all__ = ["Dataset", "TensorDataset", "DataLoader", "random_split"]


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(index) -> tuple``."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Arrays/tensors sharing their first dimension; item i is the tuple of their i-th rows."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.arrays = [as_array(t) for t in tensors]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: tensors differ in their first dimension: "
                             f"{[len(a) for a in self.arrays]}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(Tensor(a[index]) for a in self.arrays)

    def batch(self, indices):
        """Rows ``indices`` of every array, gathered into new contiguous arrays (no further
        copy: the arrays already hold float32 values or int64 labels)."""
        return tuple([Tensor._wrap(a.take(indices, axis=0)) for a in self.arrays])


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, np.asarray(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def batch(self, indices):
        return _collate_from(self.dataset, self.indices[indices])


def random_split(dataset, lengths, seed=None):
    """Split into non-overlapping Subsets of the given lengths."""
    if sum(lengths) != len(dataset):
        raise ValueError(f"random_split: lengths sum to {sum(lengths)}, dataset has "
                         f"{len(dataset)} items")
    rng = np.random.default_rng(seed) if seed is not None else random.generator()
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0] + list(lengths))
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _collate_from(dataset, indices):
    if hasattr(dataset, "batch"):
        return dataset.batch(indices)
    items = [dataset[int(i)] for i in indices]
    single = not isinstance(items[0], (tuple, list))
    columns = [items] if single else list(zip(*items))
    batch = tuple(Tensor(np.stack([as_array(v) for v in column])) for column in columns)
    return batch[0] if single else batch


class DataLoader:
    """Iterates over mini-batches of a dataset; ``shuffle`` draws a new order every epoch
    (from ``seed`` if given, else from the global generator set by ``hpnn.manual_seed``)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: argument 'batch_size' must be a positive int, got "
                             f"{batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: argument 'dataset' must support len() and indexing, "
                            f"got {type(dataset).__name__}")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        count = len(self.dataset)
        if self.shuffle:
            order = (self._rng or random.generator()).permutation(count)
        else:
            order = np.arange(count)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield _collate_from(self.dataset, order[start:start + self.batch_size])
