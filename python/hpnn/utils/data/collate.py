"""``default_collate`` (a list of samples -> one batch) and ``default_convert`` (one sample
-> tensors), with PyTorch's structure: tuples become lists, dicts and namedtuples keep their
type, strings stay lists of strings.

dtypes as PyTorch's: float arrays keep their dtype and Python floats become float64; integers
become int64 (PyTorch keeps uint8/int32 arrays as they are), bools stay bool."""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ...errors import ShapeError
from ...tensor import Tensor, as_array

__all__ = ["default_collate", "default_convert"]

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
          "found {}")


def _is_numpy_data(value):
    """A numpy array or scalar whose values a tensor can hold (not strings or objects)."""
    if not isinstance(value, (np.ndarray, np.generic)) or isinstance(value, (np.str_, np.bytes_)):
        return False
    return value.dtype.kind not in "SUOaV"


def _stack(arrays, what):
    try:
        stacked = np.stack(arrays)
    except ValueError as error:
        raise ShapeError(f"{what}: every item of a batch must have the same shape, got "
                         f"{sorted({np.shape(a) for a in arrays})}") from error
    return Tensor._wrap(as_array(stacked))


def _rebuild(elem, values):
    """A container of ``elem``'s type holding ``values`` (a plain list if it cannot)."""
    try:
        return type(elem)(values)
    except TypeError:
        return list(values)


def default_collate(batch):
    """Stack a list of samples into a batch: tensors, numpy arrays and numbers along a new
    first dimension, containers element by element."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            from ...creation import stack  # keeps the graph, as torch.stack would
            return stack(batch)
        return _stack([t._array for t in batch], "default_collate")
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if not all(_is_numpy_data(b) for b in batch):
            raise TypeError(_ERROR.format(f"numpy data of dtype {elem.dtype}"))
        return _stack(batch, "default_collate")
    if isinstance(elem, (bool, int, float)):
        return Tensor._wrap(as_array(np.array(batch)))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        except (TypeError, AttributeError):
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if len({len(b) for b in batch}) != 1:
            raise ShapeError("default_collate: each element in list of batch should be of "
                             f"equal size, got sizes {[len(b) for b in batch]}")
        columns = [default_collate(s) for s in zip(*batch)]  # tuples, as PyTorch passes
        return columns if isinstance(elem, tuple) else _rebuild(elem, columns)
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """One sample's numpy arrays as tensors, inside the same containers (tuples become
    lists); other values (numbers, strings) are left as they are."""
    if isinstance(data, Tensor):
        return data
    if _is_numpy_data(data):
        return Tensor._wrap(as_array(np.asarray(data)))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        except (TypeError, AttributeError):
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data


def collate_indices(dataset, indices):
    """The batch of ``dataset`` at ``indices`` as ``default_collate`` makes it, through the
    dataset's own ``batch(indices)`` when it has one."""
    batch = getattr(dataset, "batch", None)
    if callable(batch):
        return batch(indices)
    return default_collate([dataset[int(i)] for i in indices])
