"""ImageDataset: a labelled image data set in memory, as every loader returns it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


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
