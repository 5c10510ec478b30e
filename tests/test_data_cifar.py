"""Tests for hypermod.data.cifar: reading CIFAR-10 batches through a restricted unpickler."""

import os
import pickle
import struct

import numpy as np
import pytest

from hypermod.data import CorruptDataError, UnsafePickleError, read_cifar_batch


def make_batch(n: int, seed: int = 0, str_keys: bool = False) -> dict:
    """A CIFAR-style batch dict: (n, 3072) uint8 data and n labels in 0..9."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    if str_keys:
        return {"data": data, "labels": labels}
    return {b"batch_label": b"testing batch", b"data": data, b"labels": labels}


def write_pickle(path, obj, protocol=2):
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def py2_batch_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """The opcodes Python 2's cPickle writes for a batch, as in the official archive.

    Python 3 cannot write these (str as BINSTRING, numpy.core module names), so they are
    spelled out: {'data': ndarray via _reconstruct + BUILD, 'labels': [ints]}.
    """
    n, row = data.shape
    raw = data.tobytes()
    out = bytearray(b"\x80\x02}(U\x04data")
    out += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
    out += b"(K\x01J" + struct.pack("<i", n) + b"J" + struct.pack("<i", row) + b"\x86"
    out += b"cnumpy\ndtype\nU\x02u1\x89\x88\x87R"
    out += b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    out += b"\x89T" + struct.pack("<I", len(raw)) + raw + b"tb"
    out += b"U\x06labels](" + b"".join(b"K" + bytes([v]) for v in labels) + b"eu."
    return bytes(out)


def test_python2_pickle_as_in_the_official_archive(tmp_path):
    data = make_batch(3)[b"data"]
    path = tmp_path / "test_batch"
    path.write_bytes(py2_batch_pickle(data, [9, 0, 4]))
    images, labels = read_cifar_batch(path)
    np.testing.assert_array_equal(images.reshape(3, -1), data)
    np.testing.assert_array_equal(labels, [9, 0, 4])


@pytest.mark.parametrize("str_keys", [False, True], ids=["bytes-keys", "str-keys"])
@pytest.mark.parametrize("protocol", [2, 5])
def test_round_trip(tmp_path, protocol, str_keys):
    batch = make_batch(6, str_keys=str_keys)
    path = write_pickle(tmp_path / "data_batch_1", batch, protocol)
    images, labels = read_cifar_batch(path)

    data = batch[b"data" if not str_keys else "data"]
    assert images.shape == (6, 3, 32, 32) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, batch[b"labels" if not str_keys else "labels"])
    assert images.flags.writeable and images.flags.c_contiguous
    # Channel-major rows: pixel (c, h, w) sits at column c * 1024 + h * 32 + w.
    for i, c, h, w in [(0, 0, 0, 0), (1, 1, 5, 7), (5, 2, 31, 31), (3, 2, 0, 31)]:
        assert images[i, c, h, w] == data[i, c * 1024 + h * 32 + w]


def test_labels_may_be_an_array(tmp_path):
    batch = make_batch(4)
    batch[b"labels"] = np.asarray(batch[b"labels"], dtype=np.uint8)
    _, labels = read_cifar_batch(write_pickle(tmp_path / "b", batch))
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, batch[b"labels"])


class _RunsCode:
    """Pickles to a call of os.system, as a malicious batch file would."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", [2, 5])
def test_code_running_pickle_is_refused_before_it_runs(tmp_path, protocol):
    witness = tmp_path / "pwned"
    batch = make_batch(2)
    batch[b"labels"] = _RunsCode(f"echo pwned > {witness}")
    path = write_pickle(tmp_path / "data_batch_1", batch, protocol)

    with pytest.raises(UnsafePickleError, match=r"global (posix|os|nt)\.system") as info:
        read_cifar_batch(path)
    assert str(path) in str(info.value)
    assert not witness.exists()


def test_other_globals_are_refused(tmp_path):
    path = write_pickle(tmp_path / "b", {b"data": print, b"labels": []})
    # Protocol 2 spells the module the Python 2 way, __builtin__.
    with pytest.raises(UnsafePickleError, match=r"global __builtin__\.print"):
        read_cifar_batch(path)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b[b"data"].reshape(-1, 32, 96), r"\(N, 3072\) uint8 array, found array"),
        (lambda b: b[b"data"][:, :3000], r"found array of shape \(3, 3000\)"),
        (lambda b: b[b"data"].astype(np.float32), "dtype float32"),
        (lambda b: b[b"data"].tolist(), "found list"),
    ],
    ids=["3-d", "short-rows", "float", "list"],
)
def test_malformed_data_is_rejected(tmp_path, mutate, match):
    batch = make_batch(3)
    batch[b"data"] = mutate(batch)
    path = write_pickle(tmp_path / "b", batch)
    with pytest.raises(CorruptDataError, match=match) as info:
        read_cifar_batch(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ([1, 2], "2 labels for 3 images"),
        ([0, 10, 1], r"labels must lie in 0\.\.9, found 0\.\.10"),
        ([0, -1, 1], r"found -1\.\.1"),
        ([0.5, 1.0, 2.0], "must be N integers"),
    ],
)
def test_malformed_labels_are_rejected(tmp_path, labels, match):
    batch = make_batch(3)
    batch[b"labels"] = labels
    with pytest.raises(CorruptDataError, match=match):
        read_cifar_batch(write_pickle(tmp_path / "b", batch))


def test_missing_key_and_wrong_type_are_rejected(tmp_path):
    batch = make_batch(3)
    del batch[b"labels"]
    with pytest.raises(CorruptDataError, match="missing key 'labels'"):
        read_cifar_batch(write_pickle(tmp_path / "a", batch))
    with pytest.raises(CorruptDataError, match="expected a pickled dict, found list"):
        read_cifar_batch(write_pickle(tmp_path / "b", [1, 2, 3]))


def test_truncated_pickle_is_corrupt(tmp_path):
    path = write_pickle(tmp_path / "b", make_batch(3))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptDataError, match="not a readable pickle") as info:
        read_cifar_batch(path)
    assert str(path) in str(info.value)


def test_allowed_globals_cannot_be_abused(tmp_path):
    """The allowed names refuse uses no array pickle makes: huge empty arrays, other codecs."""
    # _reconstruct(ndarray, (10**12,), b"b"): a terabyte from a few bytes, before any check.
    huge = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
            b"\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85U\x01b\x87R.")
    path = tmp_path / "huge"
    path.write_bytes(huge)
    with pytest.raises(UnsafePickleError, match=r"huge: refusing numpy _reconstruct .* shape "
                                                r"\(1000000000000,\)"):
        read_cifar_batch(path)
    # _codecs.encode("x", "rot13"): a codec lookup imports modules by name.
    codec = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R."
    path = tmp_path / "codec"
    path.write_bytes(codec)
    with pytest.raises(UnsafePickleError, match="codec: refusing _codecs.encode with encoding "
                                                "'rot13'"):
        read_cifar_batch(path)


def test_dtype_state_flagging_bytes_as_object_pointers_is_refused(tmp_path):
    # Found by fuzzing: one flipped byte in numpy's dtype state marks uint8 as holding
    # object references; numpy then treats the array's bytes as pointers.
    plain = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [3]}, protocol=4)
    flags = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"
    assert plain.count(flags) == 1
    path = tmp_path / "flagged"
    path.write_bytes(plain.replace(flags, flags.replace(b"K\x00t", b"K\x01t")))
    with pytest.raises(UnsafePickleError, match="flagged: refusing to set the state of a dtype"):
        read_cifar_batch(path)
    path.write_bytes(plain)
    assert read_cifar_batch(path)[1].tolist() == [3]
