"""Name, find and load the image data sets hypermod trains on.

Data sets are looked up, never downloaded, here: `find_dataset` walks the search roots
(an explicit directory, $HYPERMOD_DATA, the user cache) and then the places system
packages install to, and fails with a message that lists every place it looked and how
to get the files. Fetching is a separate, explicit step (`hypermod.data.fetch`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hypermod.data.cifar import NUM_CLASSES, TEST_BATCH, TRAIN_BATCHES, read_cifar_dir
from hypermod.data.digits import load_digits_dataset
from hypermod.data.errors import CorruptDataError, DatasetNotFoundError
from hypermod.data.idx import read_idx
from hypermod.data.images import ImageDataset

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist", "cifar10")
# MNIST's pixel mean and std on [0, 1]; the reference normalizes every data set with them.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

# Directory each on-disk data set lives in, under any search root.
DIRNAMES: dict[str, str] = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "cifar10": "cifar10",
}
IDX_SETS = ("mnist", "fashion-mnist")
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
IDX_IMAGE_SIZE = (28, 28)
CIFAR_FILES = (*TRAIN_BATCHES, TEST_BATCH)
CIFAR_ARCHIVE_DIR = "cifar-10-batches-py"  # what the official tarball extracts to

# Directories system packages install to, searched after the roots. Module-level so that
# tests (and unusual systems) can replace it.
SYSTEM_LOCATIONS: dict[str, tuple[Path, ...]] = {
    "mnist": (Path("/usr/share/datasets/mnist"),),
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}

_HOW_TO_GET: dict[str, str] = {
    "mnist": "run `hypermod data fetch mnist` (about 11 MiB)",
    "fashion-mnist": "run `hypermod data fetch fashion-mnist` (about 30 MiB), or on "
    "Debian/Ubuntu `apt-get install dataset-fashion-mnist`",
    "cifar10": "CIFAR-10 is not packaged by any system and must be downloaded (about "
    "163 MiB): run `hypermod data fetch cifar10`",
}


def user_cache_dir() -> Path:
    """$XDG_CACHE_HOME/hypermod, or ~/.cache/hypermod when that variable is unset."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "hypermod"


def search_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for `<root>/<dataset dir>/`, in order, without repeats.

    Args:
        data_dir: an explicit root, searched first.

    Order: data_dir, each entry of $HYPERMOD_DATA (an os.pathsep-separated list), then
    `user_cache_dir()`, where `hypermod data fetch` puts files by default.
    """
    roots = [] if data_dir is None else [Path(data_dir).expanduser()]
    entries = os.environ.get("HYPERMOD_DATA", "").split(os.pathsep)
    roots += [Path(entry).expanduser() for entry in entries if entry]
    roots.append(user_cache_dir())
    return list(dict.fromkeys(roots))


def missing_files(name: str, directory: Path) -> list[str]:
    """The files data set `name` needs that `directory` lacks ("[.gz]": either form will do)."""
    if name == "cifar10":
        return [file for file in CIFAR_FILES if not (directory / file).is_file()]
    return [f"{file}[.gz]" for file in IDX_FILES if _idx_path(directory, file) is None]


def find_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The directory holding data set `name`'s files.

    Args:
        name: one of DATASETS other than "digits", which has no files.
        data_dir: a root searched before the others (see `search_roots`).

    Raises:
        ValueError: unknown name, or "digits".
        DatasetNotFoundError: listing every directory searched, what each one lacks, and
            how to get the data.
    """
    _check_name(name)
    if name not in DIRNAMES:
        raise ValueError(f"{name!r} ships with scikit-learn and has no data directory")
    searched = []
    for directory in _candidates(name, data_dir):
        missing = missing_files(name, directory)
        if not missing:
            return directory
        state = "missing " + ", ".join(missing) if directory.is_dir() else "does not exist"
        searched.append(f"  {directory} ({state})")
    raise DatasetNotFoundError(
        f"data set {name!r} not found. Searched:\n" + "\n".join(searched) + "\n"
        f"To get it: {_HOW_TO_GET[name]}.\nOr pass --data-dir (or set HYPERMOD_DATA) to a "
        f"directory holding {DIRNAMES[name]}/."
    )


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> ImageDataset:
    """Load data set `name` into memory.

    Args:
        name: one of DATASETS.
        data_dir: a root searched first (see `search_roots`); ignored for "digits".

    Returns:
        An ImageDataset; MNIST-style images come back as (N, 1, 28, 28), CIFAR-10 as
        (N, 3, 32, 32).

    Raises:
        ValueError: unknown name.
        DatasetNotFoundError: see `find_dataset`.
        CorruptDataError: a file is malformed, or images and labels disagree in count.
    """
    _check_name(name)
    if name == "digits":

        return load_digits_dataset()
    directory = find_dataset(name, data_dir)
    if name == "cifar10":
        arrays = read_cifar_dir(directory)
    else:
        arrays = (*_read_idx_split(directory, "train"), *_read_idx_split(directory, "t10k"))
    return ImageDataset(name, *arrays, num_classes=NUM_CLASSES, source=str(directory))


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")


def _candidates(name: str, data_dir: str | os.PathLike | None) -> Iterator[Path]:
    """Directories that may hold `name`'s files, in search order."""
    for root in search_roots(data_dir):
        directory = root / DIRNAMES[name]
        yield directory
        if name == "cifar10":
            yield directory / CIFAR_ARCHIVE_DIR
    yield from SYSTEM_LOCATIONS.get(name, ())


def _idx_path(directory: Path, file: str) -> Path | None:
    """`file`, raw if present (no decompression needed) or else gzipped; None if neither."""
    for candidate in (directory / file, directory / f"{file}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx_split(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Read `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` as one split.

    Returns:
        images (N, 1, 28, 28) uint8 and labels (N,) int64 in 0..9.
    """
    images_path = _idx_path(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _idx_path(directory, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.shape[1:] != IDX_IMAGE_SIZE or images.ndim != 3:
        raise CorruptDataError(
            f"{images_path}: expected (N, 28, 28) uint8 images, found shape {images.shape} "
            f"and dtype {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise CorruptDataError(
            f"{labels_path}: expected (N,) integer labels, found shape {labels.shape} and "
            f"dtype {labels.dtype}"
        )
    if len(labels) != len(images):
        raise CorruptDataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise CorruptDataError(
            f"{labels_path}: labels must lie in 0..{NUM_CLASSES - 1}, found "
            f"{labels.min()}..{labels.max()}"
        )
    return images[:, None], labels.astype(np.int64)
