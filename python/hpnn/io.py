"""``hpnn.save`` / ``hpnn.load``: state dicts and checkpoints as .npz + JSON metadata.

Arrays go into the archive under generated keys; everything else (nesting, dict keys, numbers,
strings) goes into a JSON document stored as the ``__meta__`` entry. Nothing is pickled, and
files are written atomically (temporary file in the same directory, fsync, rename, fsync of the
directory); the temporaries of saves that were killed are removed by the next save.

``load`` treats the file as untrusted: every malformed checkpoint raises ``CheckpointError``
saying what is wrong, and nothing bigger than ``max_bytes`` (uncompressed) is allocated.
"""
from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np

from ._atomic import replace_atomically
from ._safe_npz import Archive, Refused
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]
_FORMAT, _VERSION = "hpnn-checkpoint", 1
# Containers (dicts, lists, tuples) save nests; each adds at most 3 JSON brackets
# ({"__dict__": [[key, value]]}), and the metadata wraps them in 2 more.
_MAX_NESTING = 32
_MAX_JSON_DEPTH = 3 * _MAX_NESTING + 2  # load refuses deeper JSON before parsing it
# Uncompressed bytes load allows by default: a saved checkpoint is stored uncompressed, so its
# size is about the file's; the slack admits np.savez_compressed archives of ordinary data.
_DEFAULT_RATIO, _DEFAULT_SLACK = 64, 1 << 20
_MARKERS = ("__tensor__", "__array__", "__tuple__", "__dict__")


class CheckpointError(ValueError):
    """``hpnn.load`` was given a file that is not a well-formed hpnn checkpoint (truncated, not
    a zip, bad or missing metadata, a member that is not a plain numeric array) or one that
    would inflate beyond ``max_bytes``. The message names the file and what is wrong."""


def _encode(obj, arrays, where, depth=0):
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = obj._array
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
    if isinstance(obj, (dict, list, tuple)) and depth >= _MAX_NESTING:
        raise ValueError(f"save: {where} is nested more than {_MAX_NESTING} containers deep "
                         "(or contains itself)")
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: {where} has a key {key!r}; keys must be str or int")
        return {"__dict__": [[k, _encode(v, arrays, f"{where}[{k!r}]", depth + 1)]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"__tuple__": items}
    raise TypeError(f"save: {where} is a {type(obj).__name__}, which cannot be saved "
                    "(use tensors, arrays, numbers, strings, lists, tuples and dicts)")


def _write_archive(file, arrays, meta):
    """What np.savez writes, with pickling off (np.savez has no such switch before numpy 2.1)."""
    members = {"__meta__": np.frombuffer(meta.encode("utf-8"), np.uint8), **arrays}
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in members.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def save(obj, path):
    """Save a state dict or checkpoint (nested dicts/lists of tensors, arrays and plain values)
    to ``path`` (str or path-like), atomically: ``path`` holds the old or the new checkpoint."""
    path = os.fspath(path)
    arrays = {}
    meta = json.dumps({"format": _FORMAT, "version": _VERSION,
                       "object": _encode(obj, arrays, "object")})
    replace_atomically(path, lambda file: _write_archive(file, arrays, meta))


class _Decoder:
    def __init__(self, archive):
        self.archive = archive

    def decode(self, node, where):
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node  # JSON gives only None, bool, int, float, str otherwise
        if len(node) != 1 or next(iter(node)) not in _MARKERS:
            raise Refused(f"metadata entry {where} has keys {sorted(node)}, expected one of "
                          f"{list(_MARKERS)}")
        (tag, value), = node.items()
        if tag in ("__tensor__", "__array__"):
            if not isinstance(value, str):
                raise Refused(f"metadata entry {where} names its array with a "
                              f"{type(value).__name__}, not a string")
            array = self.archive.array(value)
            return Tensor(array) if tag == "__tensor__" else array
        if not isinstance(value, list):
            raise Refused(f"metadata entry {where}: {tag} holds a {type(value).__name__}, "
                          "not a list")
        if tag == "__tuple__":
            return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(value))
        return self._decode_dict(value, where)

    def _decode_dict(self, pairs, where):
        result = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise Refused(f"metadata entry {where}: a dict item is {pair!r:.60}, not a "
                              "[key, value] pair")
            key, value = pair
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise Refused(f"metadata entry {where} has a key {key!r:.60}; keys are str or int")
            if key in result:
                raise Refused(f"metadata entry {where} has the key {key!r} twice")
            result[key] = self.decode(value, f"{where}[{key!r}]")
        return result


def _json_depth(text):
    """How deep brackets nest in ``text``, outside strings, counted without recursion."""
    outside_strings = re.sub(r'"[^"\\]*(?:\\.[^"\\]*)*"', "", text, flags=re.S)
    codes = np.frombuffer(outside_strings.encode("utf-8"), np.uint8)
    steps = (np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(codes, (ord("]"), ord("}"))))
    return int(np.cumsum(steps).max(initial=0))


def _refuse_duplicate_keys(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        raise Refused(f"metadata has duplicate JSON keys {duplicates}")
    return result


def _read_meta(archive):
    raw = archive.array("__meta__")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise Refused(f"metadata is a {raw.dtype} array of shape {raw.shape}, not uint8 text")
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refused(f"metadata is not UTF-8 ({error})") from None
    depth = _json_depth(text)
    if depth > _MAX_JSON_DEPTH:
        raise Refused(f"metadata nests {depth} levels deep, more than {_MAX_JSON_DEPTH}")
    try:
        meta = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except ValueError as error:  # JSONDecodeError, or an integer with too many digits
        raise Refused(f"metadata is not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise Refused("not an hpnn checkpoint (no hpnn metadata)")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise Refused(f"metadata version is {version!r:.40}, not a positive integer")
    if version > _VERSION:
        raise Refused(f"checkpoint version {version} is newer than this hpnn supports "
                      f"({_VERSION})")
    if "object" not in meta:
        raise Refused("metadata has no 'object' entry")
    return meta


def _max_bytes(max_bytes, file_size):
    if max_bytes is None:
        return _DEFAULT_RATIO * file_size + _DEFAULT_SLACK
    if not isinstance(max_bytes, (int, np.integer)) or isinstance(max_bytes, bool):
        raise TypeError(f"load: max_bytes must be an int or None, not {type(max_bytes).__name__}")
    if max_bytes < 0:
        raise ValueError(f"load: max_bytes must be >= 0, got {max_bytes}")
    return int(max_bytes)


def load(path, *, max_bytes=None):
    """Load what ``save`` wrote from ``path`` (str or path-like); tensors come back as hpnn
    tensors.

    ``max_bytes`` caps the uncompressed size of what is read (default: 64 times the file's size
    plus 1 MiB); larger declared or inflated sizes are refused before anything is allocated.
    Raises ``CheckpointError`` (a ``ValueError``) for any malformed or oversized checkpoint.
    """
    path = os.fspath(path)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file {path!r}") from None
    with file:
        limit = _max_bytes(max_bytes, os.fstat(file.fileno()).st_size)
        try:
            archive = Archive(file, limit)
            try:
                meta = _read_meta(archive)
                return _Decoder(archive).decode(meta["object"], "object")
            finally:
                archive.close()
        except Refused as error:
            raise CheckpointError(f"load: {path}: {error}") from None
