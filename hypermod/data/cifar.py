"""Read the python-pickle batches of CIFAR-10 without letting them run code.

The official archive holds `data_batch_1`..`data_batch_5` and `test_batch`, each a pickled
dict whose b"data" is an (N, 3072) uint8 array (R plane, G plane, B plane of 32 x 32) and
whose b"labels" is a list of N ints. Unpickling is arbitrary code execution, so batches go
through an unpickler that resolves only the globals a numpy array pickle needs.
"""

from __future__ import annotations

import _codecs
import importlib
import os
import pickle
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from hypermod.data.errors import CorruptDataError, DataError, UnsafePickleError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
NUM_CLASSES = 10  # every data set here has ten classes
IMAGE_SHAPE = (3, 32, 32)  # (C, H, W)
_ROW = 3 * 32 * 32


@cache
def _allowed_globals() -> dict[tuple[str, str], Callable]:
    """Map each "module", "name" pair a numpy array pickle may name to the object it means.

    Both spellings of numpy's core package are accepted (pickles written under numpy 1 say
    numpy.core, under numpy 2 numpy._core) but resolved here, directly, so that loading an
    old pickle never touches numpy 2's deprecated `numpy.core` alias.
    """
    try:
        multiarray = importlib.import_module("numpy._core.multiarray")
        numeric = importlib.import_module("numpy._core.numeric")
    except ImportError:  # numpy 1.x without the numpy._core alias
        multiarray = importlib.import_module("numpy.core.multiarray")
        numeric = importlib.import_module("numpy.core.numeric")
    allowed: dict[tuple[str, str], Callable] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _plain_dtype,
        # Protocol-2 pickles written by Python 3 store bytes as _codecs.encode(str, "latin1").
        ("_codecs", "encode"): _latin1_encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = _empty_array(multiarray._reconstruct)
        allowed[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


def _plain_dtype(spec, align=False, copy=False) -> np.dtype:
    """np.dtype for the kinds an array of numbers has: no objects, fields or subarrays."""
    dtype = np.dtype(spec, align, copy)
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafePickleError(f"refusing dtype {dtype}; a CIFAR batch holds plain numbers")
    return dtype


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """_codecs.encode for the one use a pickle has for it: bytes spelled as latin-1 text.

    Other codecs are refused: looking one up imports modules by name.
    """
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}")
    return _codecs.encode(text, encoding, errors)


def _empty_array(reconstruct: Callable) -> Callable:
    """numpy's `_reconstruct`, limited to the empty ndarray every array pickle starts from.

    A pickle that asks for another shape could make a few bytes allocate gigabytes
    before any check runs; the data comes afterwards, from the pickle's own bytes.
    """
    def checked(subtype, shape, dtype):
        if subtype is not np.ndarray or shape != (0,):
            raise UnsafePickleError(
                f"refusing numpy _reconstruct of {getattr(subtype, '__name__', subtype)!r} "
                f"with shape {shape!r}; array pickles start from an empty ndarray"
            )
        return reconstruct(subtype, shape, dtype)

    return checked


class _RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that refuses every global outside `_allowed_globals`, and every state
    (the BUILD opcode) that is not what numpy itself writes for a plain array.

    It extends pickle's pure-Python unpickler, whose opcodes can be overridden: numpy's
    `dtype.__setstate__` accepts any flags, and a uint8 dtype flagged as holding object
    references makes numpy read the array's bytes as pointers. (Found by fuzzing: numpy
    stopped with "get_clear_loop not set for the DType 'uint8'".)
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, path: Path):
        # encoding="bytes": the official batches are Python 2 pickles with str keys and data.
        super().__init__(file, encoding="bytes")
        self._path = path

    def find_class(self, module: str, name: str):
        allowed = _allowed_globals().get((module, name))
        if allowed is None:
            raise UnsafePickleError(
                f"{self._path}: refusing to unpickle global {module}.{name}; a CIFAR batch "
                "needs only numpy array reconstruction"
            )
        return allowed

    def load_build(self) -> None:
        state, target = self.stack[-1], self.stack[-2]
        if isinstance(target, np.dtype):
            ok = _is_plain_dtype_state(target, state)
        elif isinstance(target, np.ndarray):
            ok = (isinstance(state, tuple) and len(state) == 5
                  and isinstance(state[2], np.dtype) and not state[2].hasobject
                  and isinstance(state[4], bytes))
        else:
            ok = False
        if not ok:
            kind = "dtype" if isinstance(target, np.dtype) else type(target).__name__
            raise UnsafePickleError(
                f"{self._path}: refusing to set the state of a {kind} to "
                f"{_short(state)}; only numpy's own state of a plain array is accepted"
            )
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


def _is_plain_dtype_state(dtype: np.dtype, state) -> bool:
    """Whether `state` is what numpy writes for `dtype`, but for the byte order."""
    canonical = dtype.__reduce__()[2]
    if not isinstance(state, tuple) or len(state) != len(canonical):
        return False
    order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
    return (order in ("<", ">", "|", "=")
            and all(type(a) is type(b) and a == b
                    for i, (a, b) in enumerate(zip(state, canonical)) if i != 1))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file.

    Args:
        path: a pickled batch (`data_batch_1`, `test_batch`, ...).

    Returns:
        images: (N, 3, 32, 32) uint8, channel-major as stored.
        labels: (N,) int64 in 0..9.

    Raises:
        UnsafePickleError: the pickle names a global outside the allow-list; nothing ran.
        CorruptDataError: the file is not a pickle, or its dict lacks a (N, 3072) uint8
            b"data" array and N labels in 0..9.
    """
    path = Path(path)
    with path.open("rb") as file:
        try:
            batch = _RestrictedUnpickler(file, path).load()
        except UnsafePickleError as err:
            if str(path) in str(err):
                raise
            raise UnsafePickleError(f"{path}: {err}") from None
        except DataError:
            raise
        except Exception as err:  # a malformed pickle can fail in many ways; all mean corrupt
            raise CorruptDataError(f"{path}: not a readable pickle ({err!r})") from err

    if not isinstance(batch, dict):
        raise CorruptDataError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    data = _field(batch, "data", path)
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == _ROW
    ):
        raise CorruptDataError(
            f"{path}: 'data' must be an (N, {_ROW}) uint8 array, found {_describe(data)}"
        )
    count = data.shape[0]

    try:
        labels = np.asarray(_field(batch, "labels", path))
    except CorruptDataError:
        raise
    except Exception as err:  # ragged or exotic label containers
        raise CorruptDataError(f"{path}: 'labels' is not an array of ints ({err!r})") from err
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise CorruptDataError(f"{path}: 'labels' must be N integers, found {_describe(labels)}")
    if labels.shape[0] != count:
        raise CorruptDataError(f"{path}: {labels.shape[0]} labels for {count} images")
    if count and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise CorruptDataError(
            f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {labels.min()}..{labels.max()}"
        )
    # Arrays rebuilt from bytes may be read-only; torch.from_numpy warns on those.
    images = np.require(data.reshape(count, *IMAGE_SHAPE), requirements=("C", "W"))
    return images, labels.astype(np.int64)


def read_cifar_dir(
    directory: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the five training batches and the test batch of one CIFAR-10 directory.

    Args:
        directory: holds `data_batch_1`..`data_batch_5` and `test_batch`.

    Returns:
        train images (50000, 3, 32, 32) uint8, train labels (50000,) int64, and the same
        for the test batch (10000 images) for the official data.
    """
    directory = Path(directory)
    parts = [read_cifar_batch(directory / name) for name in TRAIN_BATCHES]
    train_images = np.concatenate([images for images, _ in parts])
    train_labels = np.concatenate([labels for _, labels in parts])
    test_images, test_labels = read_cifar_batch(directory / TEST_BATCH)
    return train_images, train_labels, test_images, test_labels


def _field(batch: dict, key: str, path: Path):
    """Look up `key` as bytes (Python 2 pickles) or str (Python 3 pickles)."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise CorruptDataError(f"{path}: missing key '{key}' (keys: {sorted(map(repr, batch))})")


def _describe(value) -> str:
    """A short shape-and-type description of whatever a malformed batch holds."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__
