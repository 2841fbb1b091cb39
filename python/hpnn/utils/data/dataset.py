"""Datasets: the map-style ``Dataset`` (``len`` and ``[i]``), ``IterableDataset`` (a stream),
and the ways to build and combine them, with PyTorch's names and behaviour."""
from __future__ import annotations

import bisect
import math
import warnings

import numpy as np

from ...random import numpy_generator
from ...tensor import Tensor, as_array

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually ``__len__``.

    A dataset may also define ``batch(indices)`` returning a whole collated batch at once;
    a DataLoader with the default ``collate_fn`` then uses it instead of collating the items
    one by one (TensorDataset does, so its batches are single gathers)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: subclasses define ``__iter__``."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Tensors (or arrays) sharing their first dimension; item i is the tuple of their i-th
    rows."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.arrays = [as_array(t) for t in tensors]
        if any(a.ndim == 0 for a in self.arrays):
            raise ValueError("TensorDataset: every tensor needs a first dimension, got a 0-d "
                             "tensor")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: tensors differ in their first dimension: "
                             f"{lengths}")

    @property
    def tensors(self):
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        index = index._array if isinstance(index, Tensor) else index
        return tuple(Tensor._wrap(np.asarray(a[index])) for a in self.arrays)

    def batch(self, indices):
        """Rows ``indices`` of every tensor, gathered into new contiguous arrays: the list
        that ``default_collate`` makes of the items, in one gather per tensor."""
        indices = np.asarray(indices, dtype=np.int64)
        return [Tensor._wrap(a.take(indices, axis=0)) for a in self.arrays]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices`` (a sequence of ints)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    @property
    def indices(self):
        return self._indices

    @indices.setter
    def indices(self, indices):
        self._indices = indices
        self._index_array = np.asarray(as_array(indices), dtype=np.int64).reshape(-1)

    def __len__(self):
        return len(self._index_array)

    def __getitem__(self, index):
        if isinstance(index, (list, tuple)):
            return [self.dataset[int(self._index_array[i])] for i in index]
        return self.dataset[int(self._index_array[index])]

    def batch(self, indices):
        from .collate import collate_indices
        return collate_indices(self.dataset, self._index_array[np.asarray(indices, np.int64)])


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: argument 'datasets' must not be empty")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use "
                                "ChainDataset)")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            if -index > len(self):
                raise IndexError(f"ConcatDataset: index {index} is out of range for "
                                 f"{len(self)} items")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {len(self)} "
                             f"items")
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from dataset

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def _split_lengths(lengths, count):
    """Integer lengths from ``lengths``: ints as given, or fractions summing to 1 (the
    remainder of their rounding goes one item each to the first splits, as PyTorch)."""
    lengths = list(lengths)
    total = sum(lengths)
    if lengths and math.isclose(total, 1) and total <= 1 and \
            not all(isinstance(v, (int, np.integer)) for v in lengths):
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} ({fraction}) is not "
                                 f"between 0 and 1")
        sizes = [int(math.floor(count * fraction)) for fraction in lengths]
        for i in range(count - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0", stacklevel=3)
        return sizes
    for value in lengths:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"random_split: argument 'lengths' must hold non-negative ints or "
                             f"fractions summing to 1, got {lengths}")
    return [int(v) for v in lengths]


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split ``dataset`` into non-overlapping Subsets of the given lengths (ints, or fractions
    summing to 1). The order comes from ``generator`` (an hpnn.Generator), else from ``seed``
    (hpnn's shorthand), else from the global generator (``hpnn.manual_seed``)."""
    sizes = _split_lengths(lengths, len(dataset))
    if sum(sizes) != len(dataset):
        raise ValueError(f"random_split: lengths sum to {sum(sizes)}, the dataset has "
                         f"{len(dataset)} items")
    if seed is not None:
        if generator is not None:
            raise ValueError("random_split: give 'generator' or 'seed', not both")
        rng = np.random.default_rng(seed)
    else:
        rng = numpy_generator(generator)
    order = rng.permutation(len(dataset)).tolist()
    bounds = np.cumsum([0] + sizes).tolist()
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
