"""Datasets: the bundled UCI digits and an MNIST (IDX format) reader."""
from __future__ import annotations

import gzip
import os
import struct
from importlib import resources

import numpy as np

__all__ = ["load_digits", "load_mnist", "read_idx"]


def load_digits(flatten=False, normalize=True):
    """The bundled UCI handwritten digits: 1797 8x8 images of the digits 0..9 (CC BY 4.0).

    Returns (images, labels): float32 images of shape (1797, 1, 8, 8), or (1797, 64) with
    ``flatten=True``, scaled to [0, 1] unless ``normalize=False`` (raw 0..16), and int64 labels.
    """
    with resources.files(__name__).joinpath("data/digits.npz").open("rb") as file:
        with np.load(file, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
    images = images.astype(np.float32) / (16.0 if normalize else 1.0)
    shape = (-1, 64) if flatten else (-1, 1, 8, 8)
    return images.reshape(shape), labels.astype(np.int64)


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
               0x0E: ">f8"}


def read_idx(path):
    """An IDX file (MNIST's format; gzip-compressed or raw) as a numpy array."""
    with open(path, "rb") as file:
        raw = file.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ValueError(f"{path}: corrupt gzip data ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dims)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data), "
                         f"but the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def load_mnist(path, train=True, flatten=False):
    """MNIST from a directory holding the four IDX files (optionally .gz):
    returns (images, labels) as float32 in [0, 1] of shape (N, 1, 28, 28) (or (N, 784)) and
    int64 labels."""
    prefix = "train" if train else "t10k"
    arrays = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        candidates = [os.path.join(path, f"{prefix}-{kind}{ext}") for ext in ("", ".gz")]
        found = next((c for c in candidates if os.path.exists(c)), None)
        if found is None:
            raise FileNotFoundError(f"load_mnist: none of {candidates} exists")
        arrays.append(read_idx(found))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"load_mnist: images {images.shape} and labels {labels.shape} "
                         "do not form a dataset")
    images = images.astype(np.float32) / 255.0
    shape = (len(images), -1) if flatten else (len(images), 1, *images.shape[1:])
    return images.reshape(shape), labels.astype(np.int64)
