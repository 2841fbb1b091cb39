"""Samplers: which dataset indices a DataLoader visits, and in which order (PyTorch's names,
arguments and lengths; the random orders come from numpy, so they differ from PyTorch's)."""
from __future__ import annotations

import numpy as np

from ...random import numpy_generator
from ...tensor import as_array

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _positive_int(what, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{what}: argument '{name}' must be a positive int, got {value!r}")
    return int(value)


def _bool(what, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what}: argument '{name}' must be a bool, got {value!r}")
    return bool(value)


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices, or lists of indices for a batch
    sampler) and usually ``__len__``."""

    def __init__(self, data_source=None):
        pass  # PyTorch's argument is accepted and unused, as there

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the dataset (a new one on each pass), or with ``replacement=True``
    ``num_samples`` independent draws. Without ``generator`` it draws from the global
    generator, so ``hpnn.manual_seed`` makes the orders repeatable."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _bool("RandomSampler", "replacement", replacement)
        self._num_samples = None if num_samples is None else \
            _positive_int("RandomSampler", "num_samples", num_samples)
        numpy_generator(generator)  # checks its type now rather than on the first pass
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        count, wanted = len(self.data_source), self.num_samples
        rng = numpy_generator(self.generator)
        if self.replacement:
            return iter(rng.integers(0, count, size=wanted).tolist())
        if count == 0:
            return iter(())
        # more samples than items: whole permutations, then part of one more (as PyTorch)
        rounds = [rng.permutation(count) for _ in range(-(-wanted // count))]
        return iter(np.concatenate(rounds)[:wanted].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one on each pass)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        numpy_generator(generator)
        self.generator = generator

    def __iter__(self):
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in [0, len(weights)), index i drawn with probability
    proportional to ``weights[i]`` (with or without replacement)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        what = "WeightedRandomSampler"
        self.num_samples = _positive_int(what, "num_samples", num_samples)
        self.replacement = _bool(what, "replacement", replacement)
        weights = np.asarray(as_array(weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"{what}: argument 'weights' must be a 1-d sequence, got shape "
                             f"{weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum() > 0:
            raise ValueError(f"{what}: argument 'weights' must be finite, non-negative and not "
                             f"all zero")
        if not replacement and self.num_samples > np.count_nonzero(weights):
            raise ValueError(f"{what}: cannot draw {self.num_samples} samples without "
                             f"replacement from {np.count_nonzero(weights)} non-zero weights")
        self.weights = weights
        numpy_generator(generator)
        self.generator = generator

    def __iter__(self):
        rng = numpy_generator(self.generator)
        picks = rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(picks.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: argument 'drop_last' must be a bool, got "
                             f"{drop_last!r}")
        self.sampler, self.drop_last = sampler, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        full, rest = divmod(len(self.sampler), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1
