"""``DataLoader``: batches of a dataset, in PyTorch's order and structure."""
from __future__ import annotations

import threading
from collections import namedtuple

import numpy as np

from ...random import Generator, numpy_generator
from .collate import collate_indices, default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_worker = threading.local()


def get_worker_info():
    """The WorkerInfo of the worker loading the current batch, or None outside a worker.
    hpnn loads in the calling process; with ``num_workers > 0`` it acts as one worker
    (id 0 of 1), so a dataset that splits its stream by worker reads all of it."""
    return getattr(_worker, "info", None)


def _non_negative(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or value < 0:
        raise ValueError(f"DataLoader: argument '{name}' must be a non-negative number, got "
                         f"{value!r}")
    return value


class DataLoader:
    """Iterates over batches of ``dataset``, with PyTorch's arguments and order.

    ``batch_size=None`` turns batching off (items pass through ``default_convert``).
    ``shuffle`` draws a new order on every pass, from ``generator`` (an hpnn.Generator) or
    ``seed`` (hpnn's shorthand for a generator of its own), else from the global generator
    that ``hpnn.manual_seed`` seeds. ``sampler``/``batch_sampler`` choose the indices yourself.

    Loading runs in the calling process: ``num_workers``, ``pin_memory``, ``timeout``,
    ``prefetch_factor``, ``persistent_workers``, ``multiprocessing_context``,
    ``pin_memory_device`` and ``in_order`` are checked as PyTorch checks them and otherwise
    change nothing. With ``num_workers > 0``, ``worker_init_fn(0)`` runs at the start of each
    pass and ``get_worker_info()`` describes a single worker while items load."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None):
        self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        iterable = isinstance(dataset, IterableDataset)
        if iterable and (shuffle not in (False, None) or sampler is not None
                         or batch_sampler is not None):
            raise ValueError("DataLoader: an IterableDataset sets its own order; 'shuffle', "
                             "'sampler' and 'batch_sampler' must be left unset")
        if not iterable and not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: argument 'dataset' must support indexing or be an "
                            f"IterableDataset, got {type(dataset).__name__}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: argument 'sampler' is mutually exclusive with "
                             "'shuffle'")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: argument 'batch_sampler' is mutually exclusive "
                                 "with 'batch_size', 'shuffle', 'sampler' and 'drop_last'")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None turns batching off and is mutually "
                             "exclusive with drop_last=True")
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give 'generator' or 'seed', not both")
            generator = Generator().manual_seed(seed)
        numpy_generator(generator)  # checks its type
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        elif batch_size is not None:
            BatchSampler((), batch_size, drop_last)  # checks batch_size and drop_last
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.collate_fn = collate_fn if collate_fn is not None else \
            default_collate if self._auto_collation else default_convert
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, prefetch_factor
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory_device, self.in_order = pin_memory_device, in_order

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers):
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: argument 'num_workers' must be a non-negative int, "
                             f"got {num_workers!r}")
        _non_negative("timeout", timeout)
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: argument 'prefetch_factor' needs num_workers > 0")
        if prefetch_factor is not None:
            _non_negative("prefetch_factor", prefetch_factor)
        if num_workers == 0 and persistent_workers:
            raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")

    @property
    def _auto_collation(self):
        return self.batch_size is not None or self.batch_sampler is not None

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            count = len(self.dataset)
            if self.batch_size is None:
                return count
            full, rest = divmod(count, self.batch_size)
            return full if self.drop_last or rest == 0 else full + 1
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        return _LoaderIterator(self)


class _LoaderIterator:
    """One pass over a DataLoader, loading each batch in the calling process."""

    def __init__(self, loader):
        self.loader = loader
        self.info = None
        if loader.num_workers > 0:
            seed = int(numpy_generator(loader.generator).integers(0, 2**63 - 1))
            self.info = WorkerInfo(id=0, num_workers=1, seed=seed, dataset=loader.dataset)
        self.batches = self._as_worker(self._start)

    def _as_worker(self, fn):
        previous, _worker.info = get_worker_info(), self.info
        try:
            return fn()
        finally:
            _worker.info = previous

    def _start(self):
        loader = self.loader
        if self.info is not None and loader.worker_init_fn is not None:
            loader.worker_init_fn(0)
        if isinstance(loader.dataset, IterableDataset):
            return self._stream(loader)
        if loader._auto_collation:
            return self._batches(loader)
        return (loader.collate_fn(loader.dataset[index]) for index in loader.sampler)

    @staticmethod
    def _batches(loader):
        dataset, collate = loader.dataset, loader.collate_fn
        many = getattr(dataset, "__getitems__", None)
        for indices in loader.batch_sampler:
            if collate is default_collate and many is None:
                yield collate_indices(dataset, indices)
            else:
                items = many(indices) if many else [dataset[i] for i in indices]
                yield collate(items)

    @staticmethod
    def _stream(loader):
        if loader.batch_size is None:
            for item in loader.dataset:
                yield loader.collate_fn(item)
            return
        batch = []
        for item in loader.dataset:
            batch.append(item)
            if len(batch) == loader.batch_size:
                yield loader.collate_fn(batch)
                batch = []
        if batch and not loader.drop_last:
            yield loader.collate_fn(batch)

    def __iter__(self):
        return self

    def __next__(self):
        return self._as_worker(lambda: next(self.batches))

    def __len__(self):
        return len(self.loader)
