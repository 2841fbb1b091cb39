"""hpnn.utils.data against torch.utils.data: the same batches for the deterministic samplers,
the same collated structure, the same lengths; the random samplers checked for coverage and
repeatability (their orders come from numpy, so they differ from PyTorch's by design)."""
from collections import namedtuple

import numpy as np
import pytest

import hpnn
import hpnn.utils.data
from hpnn.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                             RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                             TensorDataset, WeightedRandomSampler, default_collate,
                             get_worker_info, random_split)

try:
    import torch
    tud = torch.utils.data
except ImportError:  # the parity tests skip; the hpnn-only ones still run
    torch = tud = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed: no parity "
                                                       "oracle for hpnn.utils.data")

Pair = namedtuple("Pair", ["a", "b"])


def _plain(value):
    """A batch as nested Python containers of numpy arrays, with the container types kept."""
    if isinstance(value, (hpnn.Tensor, torch.Tensor)):
        return np.asarray(value.numpy())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return ("namedtuple", type(value).__name__, [_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    return value


def _assert_same(ours, theirs):
    ours, theirs = _plain(ours), _plain(theirs)
    _compare(ours, theirs)


def _compare(ours, theirs):
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(ours, np.ndarray):
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(ours, dict):
        assert list(ours) == list(theirs)
        for key in ours:
            _compare(ours[key], theirs[key])
    elif isinstance(ours, tuple):
        assert ours[:-1] == theirs[:-1] and len(ours[-1]) == len(theirs[-1])
        for a, b in zip(ours[-1], theirs[-1]):
            _compare(a, b)
    else:
        assert ours == theirs


def _data(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n) % 4


def test_every_import_path_reaches_the_same_objects():
    from hpnn.utils.data import DataLoader as imported
    assert hpnn.utils.data.DataLoader is imported is hpnn.data.DataLoader
    assert hpnn.data.TensorDataset is TensorDataset and hpnn.data.random_split is random_split
    assert set(hpnn.data.__all__) == set(hpnn.utils.data.__all__)


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (5, True),
                                                   (10, False), (12, True), (None, False)])
@needs_torch
def test_sequential_batches_match_torch(batch_size, drop_last):
    x, y = _data()
    ours = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                            batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _assert_same(a, b)
        assert a[1].dtype == np.int64 and a[0].dtype == np.float32


class _Items(Dataset):
    """Map-style items of every kind default_collate handles."""

    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 6

    def __getitem__(self, i):
        x = np.full((2, 2), i, np.float32)
        return {
            "tuple": (x, i),
            "list": [x, i, True],
            "dict": {"image": x, "label": i, "name": f"item{i}"},
            "namedtuple": Pair(x, np.int64(i)),
            "nested": {"pair": (x, [i, i + 1]), "names": [f"a{i}", f"b{i}"]},
            "scalar": np.float32(i) / 2,
        }[self.kind]


@pytest.mark.parametrize("kind", ["tuple", "list", "dict", "namedtuple", "nested", "scalar"])
@needs_torch
def test_collated_structure_matches_torch(kind):
    ours = list(DataLoader(_Items(kind), batch_size=4))
    theirs = list(tud.DataLoader(_Items(kind), batch_size=4, collate_fn=_torch_collate))
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        _assert_same(a, b)


def _torch_collate(batch):
    """torch's default_collate, with the namedtuple rebuilt as ours (defined here)."""
    return tud.default_collate(batch)


@pytest.mark.parametrize("values, torch_dtype, ours", [
    ([1, 2, 3], "int64", np.int64),
    ([True, False], "bool", np.bool_),
    ([np.int64(1), np.int64(2)], "int64", np.int64),
    ([np.float32(1.5), np.float32(2)], "float32", np.float32),
    ([1.5, 2.5], "float64", np.float64),
    ([np.zeros(2), np.ones(2)], "float64", np.float64),
    # the gap: hpnn makes every integer array int64
    ([np.zeros(2, np.uint8), np.ones(2, np.uint8)], "uint8", np.int64),
])
@needs_torch
def test_collated_dtypes(values, torch_dtype, ours):
    assert str(tud.default_collate(values).dtype) == f"torch.{torch_dtype}"
    batch = default_collate(values)
    assert batch.dtype == ours
    np.testing.assert_array_equal(batch.numpy(), np.stack([np.asarray(v) for v in values]))


@needs_torch
def test_collate_errors_match_torch_classes():
    for bad in ([object(), object()], [np.array(["a"]), np.array(["b"])]):
        with pytest.raises(TypeError):
            tud.default_collate(bad)
        with pytest.raises(TypeError, match="default_collate"):
            default_collate(bad)
    with pytest.raises(RuntimeError):
        tud.default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match="same shape"):
        default_collate([np.zeros(2), np.zeros(3)])


@needs_torch
def test_no_batching_converts_items_as_torch():
    ours = list(DataLoader(_Items("tuple"), batch_size=None))
    theirs = list(tud.DataLoader(_Items("tuple"), batch_size=None))
    assert len(ours) == len(theirs) == 6
    for a, b in zip(ours, theirs):
        _assert_same(a, b)  # a list [tensor, int]: numbers stay Python numbers


@pytest.mark.parametrize("lengths", [[7, 3], [0, 10], [0.3, 0.7], [0.5, 0.5], [0.2, 0.2, 0.6],
                                     [1 / 3] * 3, [0.25] * 4])
@pytest.mark.parametrize("count", [10, 11, 7])
@needs_torch
def test_random_split_lengths_match_torch(lengths, count):
    if all(isinstance(v, int) for v in lengths):  # integer lengths must cover the dataset
        lengths = lengths[:-1] + [count - sum(lengths[:-1])]
    x = np.arange(count)
    theirs = tud.random_split(range(count), lengths, generator=torch.Generator().manual_seed(0))
    ours = random_split(TensorDataset(x), lengths, generator=hpnn.Generator().manual_seed(0))
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    picked = sorted(int(part[i][0]) for part in ours for i in range(len(part)))
    assert picked == list(range(count))


@needs_torch
def test_random_split_is_repeatable_and_checks_lengths():
    data = TensorDataset(np.arange(20))
    a = random_split(data, [0.5, 0.5], generator=hpnn.Generator().manual_seed(3))
    b = random_split(data, [0.5, 0.5], generator=hpnn.Generator().manual_seed(3))
    assert a[0].indices == b[0].indices and a[0].indices != list(range(10))
    hpnn.manual_seed(5)
    c = random_split(data, [15, 5])
    hpnn.manual_seed(5)
    assert random_split(data, [15, 5])[1].indices == c[1].indices
    for bad in ([15, 6], [0.5, 0.6]):
        with pytest.raises(ValueError):
            tud.random_split(range(20), bad)
    for bad in ([15, 6], [0.5, 0.6], [-1, 21], [10.0, 10.0]):
        with pytest.raises(ValueError, match="random_split"):
            random_split(data, bad)


@pytest.mark.parametrize("drop_last", [False, True])
@needs_torch
def test_custom_samplers_give_torch_batches(drop_last):
    x, y = _data(11)
    order = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    ours_set = TensorDataset(x, y)
    theirs_set = tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    ours = list(DataLoader(ours_set, batch_size=4, sampler=order, drop_last=drop_last))
    theirs = list(tud.DataLoader(theirs_set, batch_size=4, sampler=order, drop_last=drop_last))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _assert_same(a, b)
    batches = [[0, 1], [5, 6, 7], [10]]
    ours = list(DataLoader(ours_set, batch_sampler=batches))
    theirs = list(tud.DataLoader(theirs_set, batch_sampler=batches))
    for a, b in zip(ours, theirs):
        _assert_same(a, b)
    assert list(BatchSampler(SequentialSampler(range(11)), 4, drop_last)) == \
        list(tud.BatchSampler(tud.SequentialSampler(range(11)), 4, drop_last))
    assert len(BatchSampler(range(11), 4, drop_last)) == \
        len(tud.BatchSampler(range(11), 4, drop_last))


@needs_torch
def test_collate_fn_and_getitem_datasets():
    data = _Items("dict")
    ours = list(DataLoader(data, batch_size=4, collate_fn=lambda items: len(items)))
    assert ours == [4, 2]
    merged = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 14))])
    theirs = tud.ConcatDataset([range(3), range(10, 14)])
    assert len(merged) == len(theirs) == 7
    assert [int(merged[i][0]) for i in range(-7, 7)] == [theirs[i] for i in range(-7, 7)]
    with pytest.raises(IndexError):
        merged[7]
    subset = Subset(TensorDataset(np.arange(10)), [9, 0, 4])
    assert [b[0].tolist() for b in DataLoader(subset, batch_size=2)] == [[9, 0], [4]]
    assert [int(v[0]) for v in (TensorDataset(np.arange(3)) + TensorDataset(np.arange(2)))] == \
        [0, 1, 2, 0, 1]


def _stream_class(base, worker_info):
    class Stream(base):
        """0, 1, ..., count - 1, split between workers as PyTorch's documentation shows."""

        def __init__(self, count):
            self.count = count

        def __iter__(self):
            info = worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(np.arange(start, self.count, step, dtype=np.float32))

        def __len__(self):
            return self.count
    return Stream


_Stream = _stream_class(IterableDataset, get_worker_info)
_TorchStream = _stream_class(tud.IterableDataset, tud.get_worker_info) if tud else None


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False)])
@needs_torch
def test_iterable_dataset_matches_torch(batch_size, drop_last):
    ours = DataLoader(_Stream(8), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(_TorchStream(8), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert [b.tolist() for b in batches] == [b.tolist() for b in theirs]
    with pytest.raises(ValueError):
        DataLoader(_Stream(8), shuffle=True)


@needs_torch
def test_workers_load_in_process_as_one_worker():
    calls = []
    loader = DataLoader(_Stream(5), batch_size=2, num_workers=3, worker_init_fn=calls.append,
                        pin_memory=True, persistent_workers=True, prefetch_factor=2, timeout=5)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]  # the whole stream, once
    assert calls == [0] and get_worker_info() is None
    for kwargs in ({"num_workers": -1}, {"persistent_workers": True}, {"prefetch_factor": 2},
                   {"timeout": -1}):
        with pytest.raises(ValueError):
            tud.DataLoader(range(4), **kwargs)
        with pytest.raises(ValueError, match="DataLoader"):
            DataLoader(range(4), **kwargs)


@pytest.mark.parametrize("kwargs", [
    {"sampler": [0, 1], "shuffle": True},
    {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "drop_last": True},
    {"batch_size": None, "drop_last": True},
    {"batch_size": 0},
])
@needs_torch
def test_conflicting_arguments_raise_as_torch(kwargs):
    with pytest.raises(ValueError):
        tud.DataLoader(range(4), **kwargs)
    with pytest.raises(ValueError, match="DataLoader|batch_size"):
        DataLoader(range(4), **kwargs)


def test_shuffle_is_a_permutation_repeatable_from_manual_seed_or_generator():
    data = TensorDataset(np.arange(50))

    def epoch(**kwargs):
        return np.concatenate([b[0].numpy() for b in DataLoader(data, 8, shuffle=True,
                                                                **kwargs)])

    hpnn.manual_seed(11)
    first, second = epoch(), epoch()
    hpnn.manual_seed(11)
    np.testing.assert_array_equal(epoch(), first)
    np.testing.assert_array_equal(epoch(), second)
    assert sorted(first) == list(range(50)) and not np.array_equal(first, second)
    np.testing.assert_array_equal(epoch(generator=hpnn.Generator().manual_seed(2)),
                                  epoch(generator=hpnn.Generator().manual_seed(2)))


def test_random_samplers():
    gen = hpnn.Generator().manual_seed(0)
    assert sorted(RandomSampler(range(9), generator=gen)) == list(range(9))
    drawn = list(RandomSampler(range(4), num_samples=10, generator=gen))
    assert len(drawn) == 10 and sorted(drawn[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    with_replacement = RandomSampler(range(3), replacement=True, num_samples=50, generator=gen)
    assert len(with_replacement) == 50 and set(with_replacement) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([7, 2, 9], generator=gen)) == [2, 7, 9]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 3.0], 200, generator=gen))
    assert 0 not in weighted and weighted.count(2) > weighted.count(1)
    assert sorted(WeightedRandomSampler([1, 0, 1, 1], 3, replacement=False, generator=gen)) \
        == [0, 2, 3]
    for make in (lambda: RandomSampler(range(3), num_samples=0),
                 lambda: WeightedRandomSampler([1.0, -1.0], 2),
                 lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False)):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(TypeError):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(TypeError, match="generator"):
        RandomSampler(range(3), generator=np.random.default_rng(0))
