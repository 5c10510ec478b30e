"""Tests for hypermod.data.idx: the IDX reader and writer."""

import gzip

import numpy as np
import pytest

from hypermod.data import CorruptDataError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 4, 5), (2, 3, 4, 5)]


def _random_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path, dtype, shape, suffix):
    array = _random_array(dtype, shape)
    path = tmp_path / f"array-idx{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")

    result = read_idx(path)
    assert result.shape == shape
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    assert result.flags.writeable  # torch.from_numpy warns on read-only arrays
    np.testing.assert_array_equal(result, array)


def test_bytes_match_the_format(tmp_path):
    # Byte-exact against the published layout: magic, dims, then big-endian values.
    path = tmp_path / "labels"
    write_idx(path, np.array([[1, 2], [3, 258]], dtype=np.int16))
    # magic, dtype code (int16), ndim, two dims, four big-endian values
    expected = bytes.fromhex("0000 0b 02 00000002 00000002 0001 0002 0003 0102")
    assert path.read_bytes() == expected


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    packed, plain = tmp_path / "packed.idx", tmp_path / "plain.gz"
    write_idx(packed, array, compress=True)
    write_idx(plain, array, compress=False)
    np.testing.assert_array_equal(read_idx(packed), array)
    np.testing.assert_array_equal(read_idx(plain), array)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "bad IDX magic: first two bytes"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown dtype code 0x07"),
        (b"\x00\x00", "truncated IDX header: 2 bytes"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02", "truncated IDX header: 3 dimensions"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03" + bytes(5), "needs 6 bytes, found 5"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x02" + bytes(4), "2 trailing bytes"),
    ],
    ids=["magic", "dtype-code", "short-header", "short-dims", "short-data", "trailing"],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_malformed_files_are_rejected(tmp_path, content, match, compress):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(CorruptDataError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "cut", [lambda b: b[: len(b) // 2], lambda b: b[:-4], lambda b: b[:10] + b"junk" + b[14:]]
)
def test_broken_gzip_is_rejected(tmp_path, cut):
    path = tmp_path / "images.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    path.write_bytes(cut(path.read_bytes()))
    with pytest.raises(CorruptDataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent")


def test_empty_array_with_an_impossible_shape_is_rejected(tmp_path):
    # Found by fuzzing: 17 dimensions, one of them 0 (so no data bytes are needed), the
    # others multiplying past what numpy can index; numpy's own ValueError escaped.
    dims = [0, 0, 2, 3, 2, 0xBFF00000] + [0xFFFFFFFF] * 11
    path = tmp_path / "impossible"
    path.write_bytes(bytes([0, 0, 0x0E, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims))
    with pytest.raises(CorruptDataError, match="impossible: IDX shape .* cannot be held"):
        read_idx(path)
