"""Image data sets: discovery, loading, verified download, and the file formats behind them."""

from hypermod.data.catalog import (
    DATASETS,
    MNIST_MEAN,
    MNIST_STD,
    find_dataset,
    load_dataset,
    search_roots,
)
from hypermod.data.cifar import read_cifar_batch
from hypermod.data.digits import load_digits_dataset
from hypermod.data.errors import (
    ChecksumError,
    CorruptDataError,
    DataError,
    DatasetNotFoundError,
    UnsafePickleError,
)
from hypermod.data.fetch import fetch_dataset
from hypermod.data.idx import read_idx, write_idx
from hypermod.data.images import ImageDataset

__all__ = [
    "DATASETS",
    "MNIST_MEAN",
    "MNIST_STD",
    "ChecksumError",
    "CorruptDataError",
    "DataError",
    "DatasetNotFoundError",
    "ImageDataset",
    "UnsafePickleError",
    "fetch_dataset",
    "find_dataset",
    "load_dataset",
    "load_digits_dataset",
    "read_cifar_batch",
    "read_idx",
    "search_roots",
    "write_idx",
]
