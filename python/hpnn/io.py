"""``hpnn.save`` / ``hpnn.load``: state dicts and checkpoints as .npz + JSON metadata.

Arrays go into the archive under generated keys; everything else (nesting, dict keys, numbers,
strings) goes into a JSON document stored as the ``__meta__`` entry. Nothing is pickled, and
files are written atomically (temporary file in the same directory, then ``os.replace``).
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load"]
_FORMAT, _VERSION = "hpnn-checkpoint", 1


def _encode(obj, arrays, where):
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = obj.data
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"save: {where} has unsupported array dtype {obj.dtype}")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: {where} has a key {key!r}; keys must be str or int")
        return {"__dict__": [[k, _encode(v, arrays, f"{where}[{k!r}]")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"__tuple__": items}
    raise TypeError(f"save: {where} is a {type(obj).__name__}, which cannot be saved "
                    "(use tensors, arrays, numbers, strings, lists, tuples and dicts)")


def _write_archive(file, arrays, meta):
    np.savez(file, __meta__=np.frombuffer(meta.encode("utf-8"), np.uint8), **arrays)


def save(obj, path):
    """Save a state dict or checkpoint (nested dicts/lists of tensors, arrays and plain values)."""
    path = os.fspath(path)
    arrays = {}
    meta = json.dumps({"format": _FORMAT, "version": _VERSION,
                       "object": _encode(obj, arrays, "object")})
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            _write_archive(file, arrays, meta)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


class _Reader:
    def __init__(self, archive, path):
        self.archive, self.path = archive, path

    def array(self, key):
        try:
            return self.archive[key]
        except KeyError:
            raise ValueError(f"{self.path}: corrupt checkpoint, array {key!r} is missing") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            raise ValueError(f"{self.path}: corrupt checkpoint, array {key!r} cannot be read "
                             f"({error})") from None

    def decode(self, node):
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tensor__" in node:
            return Tensor(self.array(node["__tensor__"]))
        if "__array__" in node:
            return self.array(node["__array__"])
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__dict__" in node:
            return {k: self.decode(v) for k, v in node["__dict__"]}
        raise ValueError(f"{self.path}: corrupt checkpoint, unknown entry {sorted(node)}")


def load(path):
    """Load what ``save`` wrote; tensors come back as hpnn tensors."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path}: not an hpnn checkpoint or truncated/corrupt ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not an hpnn checkpoint (a bare .npy array)")
    with archive:
        reader = _Reader(archive, path)
        try:
            meta = json.loads(bytes(reader.array("__meta__")).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: corrupt checkpoint metadata ({error})") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{path}: not an hpnn checkpoint (no hpnn metadata)")
        if meta.get("version", 0) > _VERSION:
            raise ValueError(f"{path}: checkpoint version {meta['version']} is newer than this "
                             f"hpnn supports ({_VERSION})")
        return reader.decode(meta["object"])
