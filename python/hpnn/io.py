"""``hpnn.save`` / ``hpnn.load``: state dicts and checkpoints as .npz + JSON metadata.

Arrays go into the archive under generated keys; everything else (nesting, dict keys, numbers,
strings) goes into a JSON document stored as the ``__meta__`` entry. Nothing is pickled, and
files are written atomically (temporary file in the same directory, fsync, rename, fsync of the
directory); the temporaries of saves that were killed are removed by the next save.

``load`` treats the file as untrusted: every malformed checkpoint raises ``CheckpointError``
saying what is wrong, and nothing bigger than ``max_bytes`` (uncompressed) is allocated.
"""
from __future__ import annotations

import io
import json
import os
import re
import types
import zipfile
from collections import OrderedDict

import numpy as np

from . import _device, dtypes, serialization
from ._atomic import replace_atomically
from ._safe_npz import Archive, Refused
from .nn.module import Module, Parameter
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]
# Version 1: state dicts and checkpoints of tensors, arrays and plain values. Version 2 adds
# whole modules, functions by name, dtypes, devices, sets and OrderedDicts; save writes 1 when
# it needs none of those, so older hpnn reads it.
_FORMAT, _VERSION = "hpnn-checkpoint", 2
# Containers (dicts, lists, tuples, modules) save nests; each adds at most 5 JSON brackets (a
# module and its attribute dict count once: {"__module__": [name, i, {"__odict__": [[k, v]]}]}),
# and the metadata wraps them in 2 more.
_MAX_NESTING = 32
_MAX_JSON_DEPTH = 5 * _MAX_NESTING + 2  # load refuses deeper JSON before parsing it
# Uncompressed bytes load allows by default: a saved checkpoint is stored uncompressed, so its
# size is about the file's; the slack admits np.savez_compressed archives of ordinary data.
_DEFAULT_RATIO, _DEFAULT_SLACK = 64, 1 << 20
_MARKERS = ("__tensor__", "__array__", "__tuple__", "__dict__",
            # version 2: whole modules (see hpnn.serialization)
            "__odict__", "__set__", "__parameter__", "__module__", "__ref__", "__function__",
            "__dtype__", "__device__")


class CheckpointError(ValueError):
    """``hpnn.load`` was given a file that is not a well-formed hpnn checkpoint (truncated, not
    a zip, bad or missing metadata, a member that is not a plain numeric array) or one that
    would inflate beyond ``max_bytes``. The message names the file and what is wrong."""


def _encode(obj, arrays, where, depth=0):
    return _Encoder(arrays).encode(obj, where, depth)


class _Encoder:
    """Turns an object into JSON-able metadata plus arrays. A tensor (or module) met twice is
    written once and referred to again, so tied weights stay tied."""

    def __init__(self, arrays):
        self.arrays = arrays
        self.tensor_keys = {}  # id(tensor) -> array key
        self.objects = {}  # id(module) -> index
        self.uses_objects = False  # modules, functions, sets...: needs format version 2

    def encode(self, obj, where, depth=0):
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"save: {where} has unsupported array dtype {obj.dtype}")
            key = f"a{len(self.arrays)}"
            self.arrays[key] = obj
            return {"__array__": key}
        if isinstance(obj, (np.generic,)):
            return obj.item()
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        special = self._special(obj, where)
        if special is not None:
            self.uses_objects = True
            return special
        if isinstance(obj, (dict, list, tuple, set, frozenset, Module)) and depth >= _MAX_NESTING:
            raise ValueError(f"save: {where} is nested more than {_MAX_NESTING} containers deep "
                             "(or contains itself)")
        if isinstance(obj, Module):
            return self._module(obj, where, depth)
        if isinstance(obj, dict):
            return self._dict(obj, where, depth)
        if isinstance(obj, (set, frozenset)):
            self.uses_objects = True
            return {"__set__": [self.encode(v, f"{where} item", depth + 1) for v in obj]}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else {"__tuple__": items}
        raise TypeError(f"save: {where} is a {type(obj).__name__}, which cannot be saved "
                        "(use tensors, arrays, numbers, strings, lists, tuples, dicts and "
                        "hpnn modules)")

    def _tensor(self, tensor):
        key = self.tensor_keys.get(id(tensor))
        if key is None:
            key = self.tensor_keys[id(tensor)] = f"a{len(self.arrays)}"
            self.arrays[key] = tensor._array
        if isinstance(tensor, Parameter):
            self.uses_objects = True
            return {"__parameter__": [key, bool(tensor.requires_grad)]}
        return {"__tensor__": key}

    def _special(self, obj, where):
        """Functions, dtypes and devices, by name; None for anything else."""
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            name = serialization.function_name(obj)
            if "<" in name:
                raise TypeError(f"save: {where} is {name}, a lambda or local function, which "
                                "cannot be saved by name (use a module-level function)")
            return {"__function__": name}
        if isinstance(obj, dtypes.dtype):
            return {"__dtype__": obj.name}
        if isinstance(obj, _device.device):
            return {"__device__": str(obj)}
        return None

    def _dict(self, obj, where, depth):
        for key in obj:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: {where} has a key {key!r}; keys must be str or int")
        pairs = [[k, self.encode(v, f"{where}[{k!r}]", depth + 1)] for k, v in obj.items()]
        if type(obj) is OrderedDict:
            self.uses_objects = True
            return {"__odict__": pairs}
        return {"__dict__": pairs}

    def _module(self, module, where, depth):
        self.uses_objects = True
        index = self.objects.get(id(module))
        if index is not None:
            return {"__ref__": index}
        index = self.objects[id(module)] = len(self.objects)
        state = self._dict(module.__dict__, f"{where} ({type(module).__name__})", depth)
        return {"__module__": [serialization.global_name(type(module)), index, state]}


def _write_archive(file, arrays, meta):
    """What np.savez writes, with pickling off (np.savez has no such switch before numpy 2.1)."""
    members = {"__meta__": np.frombuffer(meta.encode("utf-8"), np.uint8), **arrays}
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in members.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def save(obj, f):
    """Save ``obj`` to ``f``: a path (str or path-like), written atomically (``f`` holds the old
    or the new checkpoint), or a binary file object open for writing (also ``io.BytesIO``),
    written at its position in one piece once the checkpoint is complete.

    ``obj`` is a state dict or checkpoint (nested dicts/lists/tuples of tensors, arrays and
    plain values) or a whole ``nn.Module`` (saved as data, never pickled: see
    ``hpnn.serialization`` for how ``load`` rebuilds it)."""
    arrays = {}
    encoder = _Encoder(arrays)
    document = encoder.encode(obj, "object")
    meta = json.dumps({"format": _FORMAT, "version": 2 if encoder.uses_objects else 1,
                       "object": document})
    if _is_path(f):
        replace_atomically(os.fspath(f), lambda file: _write_archive(file, arrays, meta))
        return
    if not callable(getattr(f, "write", None)):
        raise TypeError(f"save: argument 'f' must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    buffer = io.BytesIO()
    _write_archive(buffer, arrays, meta)
    try:
        f.write(buffer.getbuffer())
    except TypeError:
        raise TypeError("save: argument 'f' must be opened in binary mode ('wb')") from None


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


class _Decoder:
    def __init__(self, archive, allowed=None):
        self.archive = archive
        self.allowed = allowed  # name -> class or function (serialization.allowed()), or None
        self.tensors = {}  # array key -> the Tensor or Parameter made from it (ties)
        self.objects = {}  # module index -> module (shared modules)

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
            _expect(value, str, where, tag)
            if tag == "__array__":
                return self.archive.array(value)
            return self._tensor(value, Tensor, where)
        if tag == "__ref__":
            return self._ref(value, where)
        if tag in _NAMED:
            _expect(value, str, where, tag)
            return _NAMED[tag](self, value, where)
        _expect(value, list, where, tag)
        if tag == "__tuple__":
            return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(value))
        if tag in ("__dict__", "__odict__"):
            pairs = self._decode_dict(value, where)
            return OrderedDict(pairs) if tag == "__odict__" else pairs
        return getattr(self, "_" + tag.strip("_"))(value, where)

    def _tensor(self, key, kind, where, requires_grad=False):
        tensor = self.tensors.get(key)
        if tensor is None:
            array = self.archive.array(key)
            tensor = (Parameter(Tensor(array), requires_grad=requires_grad) if kind is Parameter
                      else Tensor(array))
            self.tensors[key] = tensor
        elif type(tensor) is not kind:
            raise Refused(f"metadata entry {where}: array {key!r} is used both as a Parameter "
                          "and as a plain tensor")
        return tensor

    def _parameter(self, value, where):
        if (len(value) != 2 or not isinstance(value[0], str)
                or not isinstance(value[1], bool)):
            raise Refused(f"metadata entry {where}: __parameter__ holds {value!r:.60}, not "
                          "[array key, requires_grad]")
        return self._tensor(value[0], Parameter, where, value[1])

    def _set(self, value, where):
        items = [self.decode(v, f"{where} item") for v in value]
        try:
            return set(items)
        except TypeError:
            raise Refused(f"metadata entry {where}: a set holds an unhashable item") from None

    def _ref(self, index, where):
        if not isinstance(index, int) or isinstance(index, bool) or index not in self.objects:
            raise Refused(f"metadata entry {where} refers to module {index!r:.40}, which comes "
                          "earlier in no checkpoint")
        return self.objects[index]

    def _module(self, value, where):
        if (len(value) != 3 or not isinstance(value[0], str) or not isinstance(value[1], int)
                or isinstance(value[1], bool) or not isinstance(value[2], dict)
                or list(value[2]) not in (["__dict__"], ["__odict__"])):
            raise Refused(f"metadata entry {where}: __module__ holds {value!r:.80}, not "
                          "[class name, index, attribute dict]")
        name, index, state = value
        if index != len(self.objects):
            raise Refused(f"metadata entry {where}: module index {index} out of order")
        cls = self._resolve(name, where)
        if not isinstance(cls, type) or not issubclass(cls, Module):
            raise Refused(f"metadata entry {where}: {name} is not an nn.Module class")
        module = cls.__new__(cls)  # never __init__ nor __setstate__: no code from the file
        self.objects[index] = module
        attributes = self.decode(state, f"{where} ({cls.__name__})")
        _check_module_state(attributes, f"{where} ({cls.__name__})")
        module.__dict__.update(attributes)
        return module

    def _resolve(self, name, where):
        if self.allowed is None:
            self.allowed = serialization.allowed()
        found = self.allowed.get(name)
        if found is None:
            short = name.rpartition(".")[2]
            raise Refused(f"metadata entry {where} needs {name}, which is neither one of "
                          "hpnn's classes and functions nor allowlisted. If you trust this "
                          f"file, allowlist it: with hpnn.serialization.safe_globals([{short}]): "
                          "hpnn.load(...) (or hpnn.serialization.add_safe_globals)")
        return found

    def _function(self, name, where):
        found = self._resolve(name, where)
        if not isinstance(found, (types.FunctionType, types.BuiltinFunctionType)):
            raise Refused(f"metadata entry {where}: {name} is not a function")
        return found

    def _dtype(self, name, where):
        found = getattr(dtypes, name, None) if name.isidentifier() else None
        if not isinstance(found, dtypes.dtype):
            raise Refused(f"metadata entry {where}: {name!r:.40} is not an hpnn dtype")
        return found

    def _device(self, name, where):
        try:
            return _device.device(name)
        except (ValueError, TypeError):
            raise Refused(f"metadata entry {where}: {name!r:.40} is not a device") from None

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


_NAMED = {"__function__": _Decoder._function, "__dtype__": _Decoder._dtype,
          "__device__": _Decoder._device}


def _expect(value, kind, where, tag):
    if tag in ("__tensor__", "__array__") and not isinstance(value, kind):
        raise Refused(f"metadata entry {where} names its array with a "
                      f"{type(value).__name__}, not a string")
    if not isinstance(value, kind):
        raise Refused(f"metadata entry {where}: {tag} holds a {type(value).__name__}, not a "
                      f"{kind.__name__}")


# What Module.__init__ puts in a module's __dict__, and what each table may hold: a loaded
# module gets exactly these, so it behaves as one that was constructed.
_MODULE_TABLES = {"_parameters": (Parameter, type(None)), "_buffers": (Tensor, type(None)),
                  "_modules": (Module, type(None))}


def _check_module_state(attributes, where):
    for name in attributes:
        if not isinstance(name, str) or not name.isidentifier():
            raise Refused(f"metadata entry {where}: attribute name {name!r:.40} is not an "
                          "identifier")
    for table, kinds in _MODULE_TABLES.items():
        entries = attributes.get(table)
        if not isinstance(entries, OrderedDict):
            raise Refused(f"metadata entry {where}: {table} is missing or not an OrderedDict")
        for key, entry in entries.items():
            if not isinstance(key, str) or not isinstance(entry, kinds):
                raise Refused(f"metadata entry {where}: {table}[{key!r:.40}] is a "
                              f"{type(entry).__name__}")
    persistent = attributes.get("_non_persistent")
    if not isinstance(persistent, set) or not all(isinstance(k, str) for k in persistent):
        raise Refused(f"metadata entry {where}: _non_persistent is missing or not a set of "
                      "names")
    if not isinstance(attributes.get("training"), bool):
        raise Refused(f"metadata entry {where}: training is missing or not a bool")


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


def load(f, *, max_bytes=None):
    """Load what ``save`` wrote from ``f``: a path (str or path-like) or a binary file object
    open for reading (read from its position to its end); tensors come back as hpnn tensors,
    modules as modules.

    ``max_bytes`` caps the uncompressed size of what is read (default: 64 times the file's size
    plus 1 MiB); larger declared or inflated sizes are refused before anything is allocated.
    A module is rebuilt only from hpnn's own classes and what is allowlisted with
    ``hpnn.serialization.safe_globals``; nothing from the file is ever executed.
    Raises ``CheckpointError`` (a ``ValueError``) for any malformed or oversized checkpoint.
    """
    if not _is_path(f):
        if not callable(getattr(f, "read", None)):
            raise TypeError(f"load: argument 'f' must be a path or a binary file object, got "
                            f"{type(f).__name__}")
        data = f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("load: argument 'f' must be opened in binary mode ('rb')")
        name = getattr(f, "name", None)
        return _load_open(io.BytesIO(data), len(data), max_bytes,
                          name if isinstance(name, str) else type(f).__name__)
    path = os.fspath(f)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file {path!r}") from None
    with file:
        return _load_open(file, os.fstat(file.fileno()).st_size, max_bytes, path)


def _load_open(file, size, max_bytes, name):
    limit = _max_bytes(max_bytes, size)
    try:
        archive = Archive(file, limit)
        try:
            meta = _read_meta(archive)
            return _Decoder(archive).decode(meta["object"], "object")
        finally:
            archive.close()
    except Refused as error:
        raise CheckpointError(f"load: {name}: {error}") from None
