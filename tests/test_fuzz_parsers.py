"""Property-based fuzzing of every parser of outside files: IDX, CIFAR-10 batches, results.

Each property feeds a parser bytes it did not write (random, structured near-misses,
mutations of valid files) and demands one of two outcomes: a valid result, or the
parser's documented error naming the file. Any other exception, a wrong result, or code
run from a pickle fails the test.

The suite runs HYPERMOD_FUZZ_EXAMPLES examples per property (default 100); the long run
in docs/reliability.md sets it higher:

    HYPERMOD_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_parsers.py \
        --hypothesis-show-statistics
"""

import atexit
import gzip
import io
import json
import math
import os
import pickle
import pickletools
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hypermod.data import CorruptDataError, UnsafePickleError, load_dataset, read_idx, write_idx
from hypermod.data.cifar import _allowed_globals, read_cifar_batch
from hypermod.experiments import get_experiment
from hypermod.experiments.report import load_results
from hypermod.records import check_unit_record, read_json, unit_key

EXAMPLES = int(os.environ.get("HYPERMOD_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_SCRATCH = Path(tempfile.mkdtemp(prefix="hypermod-fuzz-"))
atexit.register(shutil.rmtree, _SCRATCH, True)


def _kind(err: Exception) -> str:
    """The defect an error names, without the file name and the numbers: an event label."""
    text = re.sub(r"\S*/\S*", "FILE", str(err)).removeprefix("FILE ")
    text = text.split(" (", 1)[0].split(":", 1)[0]
    return f"{type(err).__name__}: " + "".join("#" if c.isdigit() else c for c in text)[:60]


def _file(content: bytes, name: str = "input") -> Path:
    path = _SCRATCH / name
    path.write_bytes(content)
    return path


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """`seed` with a few bytes flipped, cut, inserted or deleted: a near-miss of a valid file."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


# --- IDX ----------------------------------------------------------------------------------

IDX_CODES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _check_idx(content: bytes) -> None:
    """read_idx(content) is the array the header describes, or CorruptDataError naming it."""
    path = _file(content, "fuzz-idx")
    try:
        array = read_idx(path)
    except CorruptDataError as err:
        assert str(path) in str(err)
        event(_kind(err))
        return
    event("read: a valid array")
    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    code, ndim = raw[2], raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    assert raw[:2] == b"\0\0" and code in IDX_CODES
    assert array.shape == shape and array.dtype.isnative and array.flags.writeable
    expected = np.frombuffer(raw, IDX_CODES[code], count=math.prod(shape),
                             offset=4 + 4 * ndim).reshape(shape)
    np.testing.assert_array_equal(array, expected)


@st.composite
def idx_near_misses(draw) -> bytes:
    """A header that is valid or nearly so, and a payload of about the right length."""
    code = draw(st.sampled_from([*IDX_CODES, 0x00, 0x07, 0x0A, 0x0F, 0xFF]))
    shape = draw(st.lists(st.integers(0, 6), min_size=0, max_size=4))
    if draw(st.booleans()):
        shape[: 1] = [draw(st.sampled_from([2**31, 2**32 - 1, 65536]))] if shape else []
    itemsize = np.dtype(IDX_CODES.get(code, "u1")).itemsize
    size = min(math.prod(shape) * itemsize, 4096) + draw(st.integers(-3, 3))
    magic = draw(st.sampled_from([b"\0\0", b"\0\0", b"\0\1", b"\x80\0"]))
    header = magic + bytes([code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    cut = draw(st.integers(0, 3)) if draw(st.integers(0, 9)) == 0 else 0
    return (header + draw(st.binary(min_size=max(size, 0), max_size=max(size, 0))))[
        : len(header) + max(size, 0) - cut or None]


def _idx_bytes(array: np.ndarray) -> bytes:
    path = _SCRATCH / "seed-idx"
    write_idx(path, array)
    return path.read_bytes()


VALID_IDX = [_idx_bytes(a) for a in (np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                                     np.arange(5, dtype=np.int32),
                                     np.linspace(-1, 1, 6).reshape(3, 2))]


@FUZZ
@given(st.binary(max_size=512), st.booleans())
def test_idx_reader_on_random_bytes(content, compress):
    _check_idx(gzip.compress(content, mtime=0) if compress else content)


@FUZZ
@given(idx_near_misses(), st.booleans())
def test_idx_reader_on_near_miss_headers(content, compress):
    _check_idx(gzip.compress(content, mtime=0) if compress else content)


@FUZZ
@given(st.sampled_from(VALID_IDX).flatmap(mutated), st.booleans())
def test_idx_reader_on_mutated_files(content, compress):
    _check_idx(gzip.compress(content, mtime=0) if compress else content)


@FUZZ
@given(st.sampled_from(VALID_IDX).map(lambda b: gzip.compress(b, mtime=0)).flatmap(mutated))
def test_idx_reader_on_mutated_gzip_streams(content):
    _check_idx(content)


def _mnist_set() -> Path:
    root = _SCRATCH / "set"
    if not (root / "mnist").is_dir():
        rng = np.random.default_rng(0)
        (root / "mnist").mkdir(parents=True)
        for prefix, n in (("train", 3), ("t10k", 2)):
            write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte",
                      rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
            write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte",
                      np.arange(n, dtype=np.uint8))
    return root


@st.composite
def other_idx_files(draw) -> bytes:
    """A well-formed IDX file of another shape, dtype or count than the loader expects."""
    shape = draw(st.lists(st.sampled_from([0, 1, 2, 3, 27, 28]), min_size=1, max_size=3))
    dtype = draw(st.sampled_from(["u1", "i1", "i4", "f4"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.integers(-3, 13, size=shape)  # labels out of range too; -1 is 255 in u1
    return _idx_bytes(values.astype(dtype))


@FUZZ
@given(st.sampled_from(["train-images", "train-labels", "t10k-images", "t10k-labels"]),
       st.data())
def test_mnist_loader_on_one_damaged_file(which, data):
    """Wrong dimensions, labels out of range, count mismatches: a clear error or a valid set."""
    root = _mnist_set()
    target = root / "mnist" / f"{which}-idx{3 if 'images' in which else 1}-ubyte"
    original = target.read_bytes()
    damaged = data.draw(st.one_of(mutated(original), idx_near_misses(), other_idx_files()))
    target.write_bytes(damaged)
    try:
        dataset = load_dataset("mnist", root)
    except CorruptDataError as err:
        assert str(root / "mnist") in str(err)
        event(_kind(err))
        return
    finally:
        target.write_bytes(original)
    event("read: a valid data set")
    for images, labels in ((dataset.train_images, dataset.train_labels),
                           (dataset.test_images, dataset.test_labels)):
        assert images.shape[1:] == (1, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (len(images),) and labels.dtype == np.int64
        assert len(labels) == 0 or (labels.min() >= 0 and labels.max() <= 9)


# --- CIFAR-10 batches ---------------------------------------------------------------------


def _check_cifar(content: bytes) -> None:
    """read_cifar_batch(content) is a valid batch, or CorruptDataError naming the file."""
    path = _file(content, "fuzz-batch")
    try:
        images, labels = read_cifar_batch(path)
    except CorruptDataError as err:  # UnsafePickleError is one
        assert str(path) in str(err)
        event(_kind(err))
        return
    event("read: a valid batch")
    assert images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32)
    assert labels.dtype == np.int64 and labels.shape == (len(images),)
    assert len(labels) == 0 or (labels.min() >= 0 and labels.max() <= 9)
    assert images.flags.writeable and images.flags.c_contiguous


def _batch(n: int, protocol: int) -> bytes:
    rng = np.random.default_rng(n)
    return pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"labels": rng.integers(0, 10, n).tolist()}, protocol=protocol)


VALID_BATCHES = [_batch(n, protocol) for n in (0, 1, 2) for protocol in (2, 4, 5)]


@FUZZ
@given(st.binary(max_size=512))
def test_cifar_reader_on_random_bytes(content):
    _check_cifar(content)


@FUZZ
@given(st.sampled_from(VALID_BATCHES).flatmap(mutated))
def test_cifar_reader_on_mutated_batches(content):
    _check_cifar(content)


_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.binary(max_size=8),
    st.text(max_size=8),
    st.builds(lambda shape, dtype: np.zeros(shape, dtype),
              st.lists(st.integers(0, 3), max_size=3).map(tuple),
              st.sampled_from(["u1", "i8", "f4", "?", "U2", "c8"])),
    st.builds(lambda n, w: np.zeros((n, w), np.uint8), st.integers(0, 2),
              st.sampled_from([3072, 3071, 1])),
)
_OBJECTS = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.sampled_from([b"data", b"labels", "data", "labels", b"x"]), inner,
                    max_size=3)), max_leaves=8)


@FUZZ
@given(st.fixed_dictionaries({}, optional={b"data": _OBJECTS, b"labels": _OBJECTS,
                                           "labels": _OBJECTS}) | _OBJECTS,
       st.integers(0, 5))
def test_cifar_reader_on_pickles_of_arbitrary_objects(obj, protocol):
    _check_cifar(pickle.dumps(obj, protocol=protocol))


# Globals a crafted pickle may name to run code or touch the machine, plus harmless ones
# that are still not part of an array.
DANGEROUS = [
    ("os", "system"), ("posix", "system"), ("builtins", "exec"), ("builtins", "eval"),
    ("__builtin__", "eval"), ("builtins", "getattr"), ("builtins", "__import__"),
    ("subprocess", "Popen"), ("subprocess", "check_output"), ("pickle", "loads"),
    ("importlib", "import_module"), ("numpy", "load"), ("numpy.lib.npyio", "load"),
    ("numpy", "frombuffer"), ("numpy.core.multiarray", "scalar"), ("torch", "load"),
    ("shutil", "rmtree"), ("codecs", "encode"), ("_codecs", "decode"), ("webbrowser", "open"),
    ("numpy.testing._private.utils", "runstring"), ("runpy", "run_path"),
]


@FUZZ
@given(st.sampled_from(DANGEROUS) | st.tuples(st.from_regex(r"[a-z_.]{1,12}", fullmatch=True),
                                              st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
       st.sampled_from(["GLOBAL", "STACK_GLOBAL"]), st.binary(max_size=4))
def test_pickles_naming_other_globals_are_refused_before_anything_runs(name, opcode, arg):
    module, attr = name
    if opcode == "GLOBAL":
        ref = b"c" + module.encode() + b"\n" + attr.encode() + b"\n"
    else:
        ref = (b"\x8c" + bytes([len(module)]) + module.encode()
               + b"\x8c" + bytes([len(attr)]) + attr.encode() + b"\x93")
    payload = b"\x80\x04" + ref + b"C" + bytes([len(arg)]) + arg + b"\x85R."
    pickletools.dis(payload, out=io.StringIO())  # a well-formed pickle that calls the global
    path = _file(payload, "evil-batch")
    if (module, attr) in _allowed_globals():
        _check_cifar(payload)
        return
    with pytest.raises(UnsafePickleError, match=f"refusing to unpickle global {module}"):
        read_cifar_batch(path)


# --- result files -------------------------------------------------------------------------

ROW = {"dataset": "mnist", "method": "hyper", "depth": 2, "seed": 1, "epoch": 3,
       "test_error": 0.25, "trainable": 1000}
RECORD = {"schema": 1, "status": "finished", "experiment": "rotation-depth",
          "unit": {"dataset": "mnist", "method": "hyper", "depth": 2, "seed": 1},
          "config": {"epochs": 3}, "rows": [{**ROW, "epoch": 1}, ROW]}
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                     max_leaves=6)


@st.composite
def records(draw) -> dict:
    """The valid record with one field, unit field or row field replaced by any JSON."""
    record = json.loads(json.dumps(RECORD))
    where = draw(st.sampled_from(["top", "unit", "row"]))
    if where == "top":
        record[draw(st.sampled_from([*RECORD, "extra"]))] = draw(_JSON)
    elif where == "unit":
        record["unit"][draw(st.sampled_from(["seed", "depth", "x"]))] = draw(_JSON)
    else:
        row = record["rows"][draw(st.integers(0, 1))]
        if draw(st.booleans()):
            row.pop(draw(st.sampled_from(sorted(row))))
        else:
            row[draw(st.sampled_from([*ROW, "diverged"]))] = draw(_JSON)
    return record


def _check_result_file(content: bytes) -> None:
    """The file is read and passes the unit checks, or ValueError names it."""
    path = _file(content, "fuzz-result.json")
    try:
        record = read_json(path)
        check_unit_record(record, path, get_experiment("rotation-depth").row_fields)
    except ValueError as err:
        assert str(path) in str(err)
        event(_kind(err))
        return
    event("read: a valid unit record")
    for row in record["rows"]:  # what rotation-depth's report relies on
        assert isinstance(row["epoch"], int) and row["epoch"] >= 0
        assert row["test_error"] is None or isinstance(row["test_error"], (int, float))


@FUZZ
@given(st.binary(max_size=512))
def test_result_reader_on_random_bytes(content):
    _check_result_file(content)


@FUZZ
@given(st.just(json.dumps(RECORD).encode()).flatmap(mutated))
def test_result_reader_on_mutated_files(content):
    _check_result_file(content)


@FUZZ
@given(records())
def test_result_reader_on_records_with_a_wrong_field(record):
    _check_result_file(json.dumps(record).encode())


@settings(FUZZ, max_examples=max(EXAMPLES // 5, 10))
@given(st.one_of(records().map(lambda r: json.dumps(r).encode()),
                 st.just(json.dumps(RECORD).encode()).flatmap(mutated)))
def test_report_loader_uses_or_names_every_file(content):
    root = _SCRATCH / "sweep"
    shutil.rmtree(root, ignore_errors=True)
    runs, other = root / "rotation-depth" / "runs", root / "zz-fuzzed" / "runs"
    for folder in (runs, other):
        folder.mkdir(parents=True)
    good = runs / f"{unit_key(RECORD['unit'])}.json"
    good.write_text(json.dumps(RECORD))
    # Named as a sweep would name it where its unit can be read (else it cannot be used);
    # in a folder after the good one's, so that a copy of the good unit is the second.
    try:
        name = unit_key(json.loads(content)["unit"])
    except Exception:  # noqa: BLE001 - any defect: the file just gets a plain name
        name = "fuzzed"
    if not name or name.startswith(".") or len(name) > 100:  # hidden, or too long a name
        name = "fuzzed"
    fuzzed = other / f"{name}.json"
    fuzzed.write_bytes(content)
    grouped, skipped = load_results(root)
    used = [r["path"] for records_ in grouped.values() for r in records_]
    assert str(good) in used
    named = [m for m in skipped if m.startswith(f"{fuzzed}: ")]
    assert (str(fuzzed) in used) != bool(named)
    assert len(skipped) == len(named)
