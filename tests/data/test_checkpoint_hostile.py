"""hpnn.load on hostile files: every malformed checkpoint raises CheckpointError (a ValueError)
saying what is wrong, and nothing beyond the size limit is allocated."""
import io
import json
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import hpnn
from hpnn import CheckpointError

META = {"format": "hpnn-checkpoint", "version": 1,
        "object": {"__dict__": [["w", {"__tensor__": "a0"}]]}}


def npy(descr, shape, data=b"", fortran=False):
    """An npy member with any header, whatever its data."""
    return raw_npy("{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (descr, fortran, shape),
                   data)


def raw_npy(header, data=b""):
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + data


def npy_of(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def meta_member(meta):
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return npy_of(np.frombuffer(text.encode("utf-8"), np.uint8))


def write(path, meta=META, members=None, compression=zipfile.ZIP_STORED):
    """A checkpoint built by hand: ``members`` maps member names to their bytes."""
    members = {"a0.npy": npy_of(np.arange(3, dtype=np.float32))} if members is None else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write
        with zipfile.ZipFile(path, "w", compression) as archive:
            if meta is not None:
                archive.writestr("__meta__.npy", meta_member(meta))
            for name, data in (members.items() if isinstance(members, dict) else members):
                archive.writestr(name, data)
    return path


def refused(path, match, **kwargs):
    with pytest.raises(CheckpointError, match=match) as info:
        hpnn.load(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


@pytest.fixture
def ckpt(tmp_path):
    return tmp_path / "ckpt.npz"


def test_error_class_is_a_documented_value_error():
    assert issubclass(CheckpointError, ValueError)
    assert hpnn.io.CheckpointError is CheckpointError and "CheckpointError" in hpnn.__all__
    assert "max_bytes" in hpnn.load.__doc__ and "CheckpointError" in hpnn.load.__doc__


def test_hand_built_checkpoint_loads(ckpt):
    # the builder itself is sound, so the refusals below come from what each case breaks
    np.testing.assert_array_equal(hpnn.load(write(ckpt))["w"].numpy(), [0, 1, 2])


# ---- not a checkpoint at all -------------------------------------------------------------------

def test_truncated_file_at_every_cut(ckpt):
    hpnn.save({"w": np.arange(1000, dtype=np.float32), "b": np.ones(7)}, ckpt)
    raw = ckpt.read_bytes()
    for cut in range(0, len(raw), max(1, len(raw) // 25)):
        ckpt.write_bytes(raw[:cut])
        refused(ckpt, "not a zip archive, or truncated")


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 10, b'{"format": "hpnn-checkpoint"}',
                                     npy_of(np.zeros(2))], ids=["empty", "garbage", "json", "npy"])
def test_not_a_zip(ckpt, content):
    ckpt.write_bytes(content)
    refused(ckpt, "not a zip archive")


def test_flipped_data_byte_fails_the_crc(ckpt):
    hpnn.save({"w": np.zeros(1000, np.float32)}, ckpt)
    raw = bytearray(ckpt.read_bytes())
    raw[raw.index(b"\x00" * 64) + 10] = 1  # inside the zeros of a0.npy
    ckpt.write_bytes(bytes(raw))
    refused(ckpt, "CRC")


# ---- sizes: refused before allocation ----------------------------------------------------------

def peak_allocation(function):
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("max_bytes", [None, 1 << 31])
def test_huge_declared_shape_with_tiny_data(ckpt, max_bytes):
    write(ckpt, members={"a0.npy": npy("<f4", (1 << 28,), b"\x00" * 16)})  # 1 GiB claimed

    def load():
        refused(ckpt, "declares|limit", max_bytes=max_bytes)
    assert peak_allocation(load) < 8 << 20


def test_shape_beyond_any_memory(ckpt):
    write(ckpt, members={"a0.npy": npy("<f8", (1 << 40, 1 << 20), b"\x00" * 8)})
    refused(ckpt, "declares shape")


def zeros_member(archive, name, count, shape=None):
    """A deflated member of ``count`` float32 zeros, written in chunks (never held whole)."""
    with archive.open(name, "w") as member:
        member.write(npy("<f4", (count,) if shape is None else shape))
        for _ in range(count // (1 << 18)):
            member.write(bytes(1 << 20))


def test_highly_compressible_member_is_capped(ckpt):
    count = 16 << 20  # 64 MiB of zeros deflate to ~64 KiB
    with zipfile.ZipFile(ckpt, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__meta__.npy", meta_member(META))
        zeros_member(archive, "a0.npy", count)
    assert ckpt.stat().st_size < 1 << 20
    error = refused(ckpt, "limit")
    assert "max_bytes" in str(error)
    # the limit, not the file, was the problem: raising it loads the same file
    assert hpnn.load(ckpt, max_bytes=80 << 20)["w"].shape == (count,)


def patch_declared_size(raw, name, size):
    """Rewrite a member's uncompressed size in the zip's central directory."""
    raw = bytearray(raw)
    start = 0
    while (start := raw.index(b"PK\x01\x02", start)) >= 0:
        length = struct.unpack_from("<H", raw, start + 28)[0]
        if raw[start + 46:start + 46 + length] == name.encode():
            struct.pack_into("<I", raw, start + 24, size)
            return bytes(raw)
        start += 4


def test_declared_uncompressed_size_over_the_limit(ckpt):
    write(ckpt)
    ckpt.write_bytes(patch_declared_size(ckpt.read_bytes(), "a0.npy", 0xFFFFFFF0))
    refused(ckpt, "declare 4294967.* bytes uncompressed, more than the limit")


def test_inflation_beyond_the_declared_size_is_not_trusted(ckpt):
    # The header and the declared size agree on 16 bytes, but the deflate stream holds 64 MiB:
    # reading stops at the declared size (the CRC then fails) without inflating the rest.
    with zipfile.ZipFile(ckpt, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__meta__.npy", meta_member(META))
        zeros_member(archive, "a0.npy", 16 << 20, shape=(4,))
    ckpt.write_bytes(patch_declared_size(ckpt.read_bytes(), "a0.npy", len(npy("<f4", (4,))) + 16))
    assert peak_allocation(lambda: refused(ckpt, "CRC")) < 8 << 20


def test_max_bytes_applies_to_valid_checkpoints(ckpt):
    hpnn.save({"w": np.zeros(1000, np.float32)}, ckpt)
    refused(ckpt, "limit of 1000", max_bytes=1000)
    assert hpnn.load(ckpt, max_bytes=10_000)["w"].shape == (1000,)
    with pytest.raises(TypeError, match="max_bytes"):
        hpnn.load(ckpt, max_bytes="1e6")
    with pytest.raises(ValueError, match="max_bytes"):
        hpnn.load(ckpt, max_bytes=-1)


# ---- metadata ---------------------------------------------------------------------------------

def deep(n, opening="[", closing="]"):
    return opening * n + closing * n


@pytest.mark.parametrize("text", [
    '{"format": "hpnn-checkpoint", "version": 1, "object": %s}' % deep(100_000),
    '{"format": "hpnn-checkpoint", "version": 1, "object": %s}'
    % deep(50_000, '{"__tuple__": [', "]}"),
    deep(100_000, '{"a": ', "}"),
], ids=["lists", "tuples", "objects"])
def test_deep_json_is_refused_without_recursion(ckpt, text):
    write(ckpt, meta=text)
    refused(ckpt, r"metadata nests 1000\d\d levels deep, more than 162")


def test_brackets_inside_strings_do_not_count(ckpt):
    hpnn.save({"s": "[" * 10_000, "t": '{"\\' * 1000}, ckpt)
    assert hpnn.load(ckpt) == {"s": "[" * 10_000, "t": '{"\\' * 1000}


def test_nesting_limit_is_checked_when_saving(tmp_path):
    nested = [1]
    for _ in range(40):
        nested = {"k": (nested,)}
    with pytest.raises(ValueError, match="nested more than"):
        hpnn.save(nested, tmp_path / "deep.npz")
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="contains itself"):
        hpnn.save(cycle, tmp_path / "cycle.npz")
    assert not list(tmp_path.iterdir())
    ok = [1]
    for _ in range(31):
        ok = [ok]
    hpnn.save(ok, tmp_path / "ok.npz")
    assert hpnn.load(tmp_path / "ok.npz") == ok
    deepest = np.arange(3)  # the deepest JSON save can write still loads
    for _ in range(32):
        deepest = {"k": deepest}
    hpnn.save(deepest, tmp_path / "deepest.npz")
    loaded = hpnn.load(tmp_path / "deepest.npz")
    for _ in range(32):
        loaded = loaded["k"]
    np.testing.assert_array_equal(loaded, np.arange(3))


@pytest.mark.parametrize("meta, match", [
    ({"format": "hpnn-checkpoint", "version": 1}, "no 'object' entry"),
    ({"version": 1, "object": 1}, "no hpnn metadata"),
    ({"format": "hpnn-checkpoint", "object": 1}, "version is None"),
    ({**META, "object": {"__tensor__": "a7"}}, "array 'a7' is missing"),
    ({**META, "object": {"__dict__": [["w", {"__array__": "nope"}]]}}, "array 'nope' is missing"),
], ids=["object", "format", "version", "tensor", "array"])
def test_missing_keys(ckpt, meta, match):
    write(ckpt, meta=meta)
    refused(ckpt, match)


def test_missing_metadata_member(ckpt):
    write(ckpt, meta=None)
    refused(ckpt, "'__meta__' is missing")


@pytest.mark.parametrize("obj, match", [
    ({"__tensor__": 0}, r"names its array with a int"),
    ({"__tensor__": ["a0"]}, r"names its array with a list"),
    ({"__dict__": {"w": 1}}, r"__dict__ holds a dict, not a list"),
    ({"__dict__": [["w"]]}, r"not a \[key, value\] pair"),
    ({"__dict__": [["w", 1, 2]]}, r"not a \[key, value\] pair"),
    ({"__dict__": [[1.5, 1]]}, r"has a key 1.5"),
    ({"__dict__": [[True, 1]]}, r"has a key True"),
    ({"__dict__": [[["k"], 1]]}, r"has a key \['k'\]"),
    ({"__dict__": [["k", 1], ["k", 2]]}, r"the key 'k' twice"),
    ({"__tuple__": "ab"}, r"__tuple__ holds a str"),
    ({"__tensor__": "a0", "__array__": "a0"}, r"expected one of"),
    ({"__code__": "print(1)"}, r"has keys \['__code__'\]"),
    ([1, {"__dict__": [["x", {"oops": 1}]]}], r"entry object\[1\]\['x'\] has keys \['oops'\]"),
], ids=lambda value: None if isinstance(value, str) else json.dumps(value)[:30])
def test_wrong_types_in_json(ckpt, obj, match):
    write(ckpt, meta={**META, "object": obj})
    refused(ckpt, match)


@pytest.mark.parametrize("text, match", [
    ('{"format": "hpnn-checkpoint", "version": "1", "object": 1}', "version is '1'"),
    ('{"format": "hpnn-checkpoint", "version": true, "object": 1}', "version is True"),
    ('{"format": "hpnn-checkpoint", "version": 3, "object": 1}', "newer than"),
    ('["format", "hpnn-checkpoint"]', "no hpnn metadata"),
    ('{"format": "hpnn-checkpoint", "version": 1, "object": [1, }', "not valid JSON"),
    ('{"format": "hpnn-checkpoint", "version": 1, "object": %s}' % ("9" * 5000),
     "not valid JSON"),
    ('{"format": "hpnn-checkpoint", "format": "x", "version": 1, "object": 1}',
     r"duplicate JSON keys \['format'\]"),
], ids=["str-version", "bool-version", "newer", "list", "syntax", "huge-int", "dup-key"])
def test_malformed_json(ckpt, text, match):
    write(ckpt, meta=text)
    refused(ckpt, match)


def test_metadata_not_text(ckpt):
    write(ckpt, meta=None, members={"__meta__.npy": npy_of(np.zeros(3, np.float32))})
    refused(ckpt, "metadata is a float32 array")
    write(ckpt, meta=None, members={"__meta__.npy": npy_of(np.frombuffer(b"\xff\xfe", np.uint8))})
    refused(ckpt, "not UTF-8")


# ---- members that are not plain numeric arrays ------------------------------------------------

class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this creates the marker file
        return open, (str(self.marker), "w")


def test_object_member_is_never_unpickled(ckpt, tmp_path):
    marker = tmp_path / "pwned"
    write(ckpt, members={"a0.npy": npy_of(np.array([Payload(marker)], dtype=object))})
    refused(ckpt, r"dtype '\|O'")
    assert not marker.exists()


@pytest.mark.parametrize("array", [np.array([b"abc"]), np.array(["abc"]), np.zeros(2, "V8"),
                                   np.zeros(2, [("x", "<f4")]), np.zeros(2, np.complex64),
                                   np.array(["2020-01-01"], "datetime64[D]")],
                         ids=["bytes", "str", "void", "structured", "complex", "datetime"])
def test_non_numeric_members(ckpt, array):
    write(ckpt, members={"a0.npy": npy_of(array)})
    refused(ckpt, "dtype .*only bool, integer and float")


@pytest.mark.parametrize("member", [b"just some bytes, no npy header", b"\x93NUMPY", b""])
def test_raw_bytes_member_is_not_returned(ckpt, member):
    write(ckpt, members={"a0.npy": member})
    refused(ckpt, "'a0.npy' is not an npy array")


@pytest.mark.parametrize("descr", ["<q9", "foo", "<f3", [("x", "<q9")]])
def test_unknown_dtype(ckpt, descr):
    write(ckpt, members={"a0.npy": npy(descr, (1,), b"\x00" * 8)})
    refused(ckpt, "'a0.npy' cannot be read|dtype")


@pytest.mark.parametrize("member, match", [
    (npy("<f4", (-1, 4), b"\x00" * 16), "negative shape"),
    (npy("<f4", (3,), b"\x00" * 16), r"declares shape \(3,\) of float32 \(12 bytes\) but holds 16"),
    (npy("<f4", (5,), b"\x00" * 16), "holds 16 bytes"),
    (b"\x93NUMPY\x01\x00\xff\xff" + b" " * 100, "npy header of 65535 bytes, more than"),
    (b"\x93NUMPY\x02\x00\xc8\x00\x00\x00" + b" " * 100, "truncated inside its npy header"),
    (b"\x93NUMPY\x01\x00\x01", "truncated inside its npy header"),
    (b"\x93NUMPY\x09\x00" + npy("<f4", (1,), b"\x00" * 4)[8:], "npy format version"),
    (raw_npy("{'descr': '<f4', 'shape': (1,), }", b"\x00" * 4), "cannot be read"),
    (raw_npy("[1, 2]", b"\x00" * 4), "cannot be read"),
    (raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }"), "cannot be read"),
    # An unclosed bracket: numpy's header parser raised tokenize.TokenError (found by fuzzing)
    (raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", b"\x00" * 4),
     "cannot be read"),
], ids=["negative", "short-shape", "long-shape", "header-huge", "header-cut", "length-cut",
         "version", "header-keys", "header-list", "float-shape", "header-unclosed"])
def test_malformed_npy_headers(ckpt, member, match):
    write(ckpt, members={"a0.npy": member})
    refused(ckpt, match)


@pytest.mark.parametrize("names", [["a0.npy", "a0.npy"], ["__meta__.npy"]])
def test_duplicate_member_names(ckpt, names):
    members = [(name, npy_of(np.zeros(3, np.float32))) for name in names]
    write(ckpt, members=members)
    refused(ckpt, "duplicate archive members")


def test_unsupported_compression(ckpt):
    write(ckpt, compression=zipfile.ZIP_BZIP2)
    refused(ckpt, "compression method 12")


# ---- valid checkpoints still round-trip -------------------------------------------------------

def test_round_trip_of_every_allowed_dtype_and_layout(tmp_path):
    arrays = {str(dtype): np.arange(12).astype(dtype).reshape(3, 4)
              for dtype in [np.bool_, np.int8, np.uint16, np.int32, np.int64, np.uint64,
                            np.float16, np.float32, np.float64]}
    arrays["fortran"] = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    arrays["scalar"] = np.array(2.5)
    arrays["empty"] = np.zeros((0, 3), np.float32)
    arrays["big_endian"] = np.arange(4, dtype=">i4")
    obj = {"arrays": arrays, "t": hpnn.tensor([[1.0, 2.0]]), 7: [None, True, "x", 1e300],
           "nan": float("nan")}
    for path in (tmp_path / "p.npz", str(tmp_path / "s.npz")):
        hpnn.save(obj, path)
        loaded = hpnn.load(path)
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded["arrays"][name], array, err_msg=name)
            assert loaded["arrays"][name].dtype == array.dtype.newbyteorder("="), name
        assert loaded["arrays"]["fortran"].flags.f_contiguous
        np.testing.assert_array_equal(loaded["t"].numpy(), [[1.0, 2.0]])
        assert loaded[7] == [None, True, "x", 1e300] and np.isnan(loaded["nan"])


def test_savez_compressed_checkpoint_loads(ckpt):
    # a checkpoint recompressed with deflate (as np.savez_compressed writes) stays readable
    write(ckpt, compression=zipfile.ZIP_DEFLATED)
    np.testing.assert_array_equal(hpnn.load(ckpt)["w"].numpy(), [0, 1, 2])


def test_random_damage_raises_only_checkpoint_error(ckpt):
    hpnn.save({"model": {"w": np.arange(15, dtype=np.float32).reshape(5, 3), "n": np.int64(3)},
               "opt": {"state": {0: {"m": np.ones(4, np.float16)}}}, "t": (1, "x")}, ckpt)
    raw = ckpt.read_bytes()
    rng = np.random.default_rng(7)
    for _ in range(300):
        damaged = bytearray(raw)
        for position in rng.integers(0, len(raw), rng.integers(1, 4)):
            damaged[position] = rng.integers(256)
        if rng.random() < 0.3:  # and cut a random stretch out
            start = int(rng.integers(0, len(damaged)))
            del damaged[start:start + int(rng.integers(1, 40))]
        ckpt.write_bytes(bytes(damaged))
        try:
            hpnn.load(ckpt)
        except CheckpointError:
            pass
