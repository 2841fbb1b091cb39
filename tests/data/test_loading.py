"""TensorDataset, DataLoader, the bundled digits and the IDX reader."""
import gzip
import struct

import numpy as np
import pytest

import hpnn
from hpnn.data import DataLoader, TensorDataset, random_split
from hpnn.datasets import load_digits, load_mnist, read_idx


def test_dataloader_batches_and_drop_last():
    x, y = np.arange(10, dtype=np.float32).reshape(10, 1), np.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    assert batches[0][1].dtype == np.int64 and batches[2][1].tolist() == [8, 9]
    assert len(DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)) == 2


def test_shuffle_covers_everything_and_is_repeatable():
    data = TensorDataset(np.arange(20))
    first = np.concatenate([b[0].numpy() for b in DataLoader(data, 6, shuffle=True, seed=1)])
    again = np.concatenate([b[0].numpy() for b in DataLoader(data, 6, shuffle=True, seed=1)])
    assert sorted(first) == list(range(20)) and not np.array_equal(first, np.arange(20))
    np.testing.assert_array_equal(first, again)
    hpnn.manual_seed(4)
    a = np.concatenate([b[0].numpy() for b in DataLoader(data, 6, shuffle=True)])
    hpnn.manual_seed(4)
    b = np.concatenate([b[0].numpy() for b in DataLoader(data, 6, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_generic_dataset_is_collated():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), i * i

    (x, y), = list(DataLoader(Squares(), batch_size=5))
    assert x.tolist() == [0, 1, 2, 3, 4] and y.tolist() == [0, 1, 4, 9, 16]


def test_bad_arguments():
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)
    with pytest.raises(ValueError, match="sum"):
        random_split(TensorDataset(np.zeros(3)), [1, 1])


def test_random_split_is_a_partition():
    parts = random_split(TensorDataset(np.arange(10)), [7, 3], seed=0)
    values = sorted(int(v) for part in parts for (v,) in (part[i] for i in range(len(part))))
    assert values == list(range(10))


def test_load_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.dtype == np.int64 and np.bincount(labels).min() >= 170
    assert 0.0 == images.min() and images.max() == 1.0
    flat, _ = load_digits(flatten=True, normalize=False)
    assert flat.shape == (1797, 64) and flat.max() == 16.0
    np.testing.assert_array_equal(flat.reshape(-1, 1, 8, 8) / 16, images)


def _write_idx(path, array, compress):
    codes = {np.dtype(np.uint8): 0x08}
    raw = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    ext = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", images, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", labels, compress)
    x, y = load_mnist(tmp_path, train=False)
    assert x.shape == (5, 1, 28, 28) and y.tolist() == [3, 1, 4, 1, 5]
    np.testing.assert_allclose(x[2, 0], images[2] / 255.0)
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_mnist(tmp_path, train=True)


def test_corrupt_idx_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    short = tmp_path / "short"
    _write_idx(short, np.zeros((4, 3), np.uint8), False)
    short.write_bytes(short.read_bytes()[:-2])
    with pytest.raises(ValueError, match="shape"):
        read_idx(short)
    broken_gzip = tmp_path / "broken.gz"
    broken_gzip.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 20)[:-6])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(broken_gzip)
