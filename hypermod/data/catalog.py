"""Name, find and load the image data sets hypermod trains on.

Data sets are looked up, never downloaded, here: `find_dataset` walks the search roots
(an explicit directory, $HYPERMOD_DATA, the user cache) and then the places system
packages install to, and fails with a message that lists every place it looked and how
to get the files. Fetching is a separate, explicit step (`hypermod.data.fetch`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hypermod.data.cifar import NUM_CLASSES, TEST_BATCH, TRAIN_BATCHES, read_cifar_dir
from hypermod.data.errors import CorruptDataError, DatasetNotFoundError
from hypermod.data.idx import read_idx

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


@dataclass(frozen=True, eq=False, repr=False)
class ImageDataset:
    """A labelled image data set held in memory as uint8 arrays.

    Fields:
        name: "mnist", "fashion-mnist", "cifar10" or "digits".
        train_images: (N, C, H, W) uint8.
        train_labels: (N,) int64 in 0..num_classes-1.
        test_images: (M, C, H, W) uint8, same (C, H, W) as the training images.
        test_labels: (M,) int64.
        num_classes: number of classes.
        source: the directory the files were read from, or "scikit-learn" for digits.

    Pixels stay uint8 so a data set costs a quarter of its float32 size; models scale them.
    Frozen stops fields being rebound, but the arrays stay writable so `torch.from_numpy`
    can share them without a warning. Equality is identity: arrays have no single truth value.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int
    source: str

    def __post_init__(self) -> None:
        if (
            isinstance(self.num_classes, bool)
            or not isinstance(self.num_classes, int)
            or self.num_classes < 1
        ):
            raise ValueError(f"num_classes must be a positive int, got {self.num_classes!r}")
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            _check_array(f"{split}_images", images, np.uint8, ndim=4)
            _check_array(f"{split}_labels", labels, np.int64, ndim=1)
            if len(labels) != len(images):
                raise ValueError(
                    f"{split}_labels has {len(labels)} entries for {len(images)} {split}_images"
                )
            if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(
                    f"{split}_labels must lie in 0..{self.num_classes - 1}, found "
                    f"{labels.min()}..{labels.max()}"
                )
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise ValueError(
                f"train_images are {self.train_images.shape[1:]} but test_images are "
                f"{self.test_images.shape[1:]}; (C, H, W) must match"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        return tuple(self.train_images.shape[1:])

    @property
    def input_dim(self) -> int:
        """C * H * W: the length of a flattened image."""
        channels, height, width = self.image_shape
        return channels * height * width

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> ImageDataset:
        """The first n_train training and n_test test examples; None keeps a whole split.

        The arrays are views, so a subset costs no memory. Taking a prefix (rather than a
        random sample) keeps small runs reproducible without a seed.
        """
        n_train = _prefix_length("n_train", n_train, len(self.train_labels))
        n_test = _prefix_length("n_test", n_test, len(self.test_labels))
        return dataclasses.replace(
            self,
            train_images=self.train_images[:n_train],
            train_labels=self.train_labels[:n_train],
            test_images=self.test_images[:n_test],
            test_labels=self.test_labels[:n_test],
        )

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.train_labels)}, "
            f"test={len(self.test_labels)}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes}, source={self.source!r})"
        )


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
        # Imported here because digits.py imports ImageDataset from this module.
        from hypermod.data.digits import load_digits_dataset

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


def _check_array(field: str, value, dtype: type, ndim: int) -> None:
    """Raise ValueError naming `field` unless `value` is an ndarray of `dtype` and `ndim`."""
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{field} must be a numpy array, got {type(value).__name__}")
    if value.dtype != dtype or value.ndim != ndim:
        raise ValueError(
            f"{field} must be a {ndim}-D {np.dtype(dtype).name} array, got shape "
            f"{value.shape} and dtype {value.dtype}"
        )


def _prefix_length(arg: str, n: int | None, available: int) -> int:
    """Validate a subset size: None means all; otherwise 1 <= n <= available."""
    if n is None:
        return available
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValueError(f"{arg} must be an int or None, got {n!r}")
    if not 1 <= n <= available:
        raise ValueError(f"{arg}={n} is out of range: must be between 1 and {available}")
    return int(n)
