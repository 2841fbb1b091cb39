"""A bounded, validating reader for the .npz archives that ``hpnn.save`` writes.

``np.load`` trusts its input: it allocates whatever shape a member's header declares, inflates
members without a cap and hands back raw bytes for a member that is not an npy array. This
reader checks every size against a byte budget before it allocates, inflates in capped chunks,
accepts only plain numeric arrays and never unpickles. It raises ``Refused`` with a message
saying what is wrong; ``hpnn.io`` turns that into ``CheckpointError``.
"""
from __future__ import annotations

import collections
import io
import math
import struct
import tokenize
import zipfile
import zlib

import numpy as np

# What zipfile and numpy raise on damaged input: BadZipFile for a bad directory or CRC, OSError
# for a seek outside the file, EOFError/zlib.error for a cut or corrupt deflate stream,
# ValueError for a bad npy header (and UnicodeDecodeError for a bad member name), struct.error
# and NotImplementedError/RuntimeError for fields and features zipfile does not handle.
# tokenize.TokenError and SyntaxError: numpy's npy header parser lets them through for a
# header with an unclosed bracket (found by fuzzing).
PARSE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
                ValueError, TypeError, struct.error, NotImplementedError, RuntimeError,
                tokenize.TokenError, SyntaxError)

_CHUNK = 1 << 20  # bytes inflated per read: bounds the transient copy, whatever a member claims
_MAX_HEADER = 10_000  # numpy's own cap (>= 1.24) on an npy header, which it parses by literal_eval
_MAGIC = b"\x93NUMPY"
# npy format version -> the header length field and numpy's parser of the header after it
_HEADER_FORMATS = {1: ("<H", np.lib.format.read_array_header_1_0),
                   2: ("<I", np.lib.format.read_array_header_2_0)}
# What save writes: booleans, signed and unsigned integers, floats. No objects (pickle), bytes,
# strings, structured or complex types.
_ALLOWED_KINDS = "biuf"
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # np.savez / np.savez_compressed


class Refused(Exception):
    """The archive is malformed or bigger than its budget."""


class Archive:
    """The members of an open .npz file, read as arrays within ``max_bytes`` in total."""

    def __init__(self, file, max_bytes):
        try:
            self._zip = zipfile.ZipFile(file)
            infos = self._zip.infolist()
        except PARSE_ERRORS as error:
            raise Refused(f"not a zip archive, or truncated ({error})") from None
        counts = collections.Counter(info.filename for info in infos)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise Refused(f"duplicate archive members {duplicates}")
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            raise Refused(f"its members declare {declared} bytes uncompressed, more than the "
                          f"limit of {max_bytes} (pass max_bytes= to load a larger checkpoint)")
        self._members = {info.filename: info for info in infos}
        self._left = max_bytes

    def close(self):
        self._zip.close()

    def array(self, key):
        """The array stored as ``key`` (member ``key.npy``)."""
        info = self._members.get(f"{key}.npy")
        if info is None:
            raise Refused(f"array {key!r} is missing")
        if info.flag_bits & 0x1:
            raise Refused(f"member {info.filename!r} is encrypted")
        if info.compress_type not in _COMPRESSIONS:
            raise Refused(f"member {info.filename!r} uses compression method "
                          f"{info.compress_type}; only stored and deflated members are read")
        try:
            with self._zip.open(info) as member:
                return self._read_npy(member, info)
        except PARSE_ERRORS as error:
            raise Refused(f"member {info.filename!r} cannot be read ({error})") from None

    def _read_npy(self, member, info):
        name = info.filename
        shape, fortran_order, dtype, header_size = _read_header(member, name)
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - header_size
        if nbytes != held:  # refused before allocating: a huge shape over tiny data, or the reverse
            raise Refused(f"member {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) "
                          f"but holds {held} bytes of data")
        if nbytes > self._left:
            raise Refused(f"member {name!r} ({nbytes} bytes) takes the checkpoint over its limit "
                          f"of {self._left + nbytes} bytes uncompressed (pass max_bytes= to load "
                          "a larger checkpoint)")
        self._left -= nbytes
        flat = np.empty(nbytes // dtype.itemsize, dtype)
        _read_exactly(member, flat.view(np.uint8), name)
        if member.read(1):  # also makes zipfile check the CRC, which it does at the member's end
            raise Refused(f"member {name!r} has data past its declared end")
        if not dtype.isnative:
            flat = flat.astype(dtype.newbyteorder("="))
        return flat.reshape(shape, order="F" if fortran_order else "C")


def _read_header(member, name):
    """Shape, Fortran order, dtype and the header's size in bytes, the length capped here
    (numpy < 1.24 has no cap) before numpy parses the header."""
    magic = member.read(len(_MAGIC) + 2)
    if len(magic) != len(_MAGIC) + 2 or magic[:len(_MAGIC)] != _MAGIC:
        raise Refused(f"member {name!r} is not an npy array")
    length_format, parse = _HEADER_FORMATS.get(magic[len(_MAGIC)], (None, None))
    if parse is None or magic[-1] != 0:
        raise Refused(f"member {name!r} has npy format version {tuple(magic[-2:])}, "
                      "not 1.0 or 2.0")
    length_field = member.read(struct.calcsize(length_format))
    if len(length_field) != struct.calcsize(length_format):
        raise Refused(f"member {name!r} is truncated inside its npy header")
    (length,) = struct.unpack(length_format, length_field)
    if length > _MAX_HEADER:
        raise Refused(f"member {name!r} has an npy header of {length} bytes, more than "
                      f"{_MAX_HEADER}")
    header = member.read(length)
    if len(header) != length:
        raise Refused(f"member {name!r} is truncated inside its npy header")
    shape, fortran_order, dtype = parse(io.BytesIO(length_field + header))
    if dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"member {name!r} has dtype {dtype.str!r}; only bool, integer and float "
                      "arrays are read")
    if any(size < 0 for size in shape):
        raise Refused(f"member {name!r} declares a negative shape {shape}")
    return shape, fortran_order, dtype, len(magic) + len(length_field) + length


def _read_exactly(member, out, name):
    position = 0
    while position < out.size:
        chunk = member.read(min(_CHUNK, out.size - position))
        if not chunk:
            raise Refused(f"member {name!r} is truncated ({position} of {out.size} bytes)")
        out[position:position + len(chunk)] = np.frombuffer(chunk, np.uint8)
        position += len(chunk)
