"""Cap a data set's splits for quick runs, hold out a validation part, put images on the
device."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import Tensor

from hypermod.data import ImageDataset


def limited(data: ImageDataset, limit_train: int | None, limit_test: int | None) -> ImageDataset:
    """The first min(limit, size) images of each split; a limit of None keeps the split.

    A limit is a cap, not a demand: quick settings shared by data sets of different
    sizes (digits has 1,437 training images, MNIST 60,000) stay valid for all of them.
    """
    if not limit_train and not limit_test:
        return data
    n_train = min(limit_train, len(data.train_labels)) if limit_train else None
    n_test = min(limit_test, len(data.test_labels)) if limit_test else None
    return data.subset(n_train=n_train, n_test=n_test)


def images_on(data: ImageDataset, device: torch.device | str) -> tuple[Tensor, Tensor]:
    """The data set's uint8 training and test images (N, C, H, W), moved to `device` once."""
    return (torch.from_numpy(data.train_images).to(device),
            torch.from_numpy(data.test_images).to(device))


def check_fraction(fraction: float) -> None:
    """ValueError unless 0 <= fraction < 1 (a validation share of the training data)."""
    if not (isinstance(fraction, int | float) and math.isfinite(fraction)
            and 0 <= fraction < 1):
        raise ValueError(f"val_fraction must be in [0, 1), got {fraction!r}")


def split_validation(data: ImageDataset, fraction: float, seed: int = 0
                     ) -> tuple[ImageDataset, np.ndarray, np.ndarray]:
    """Set aside a seeded share of the training images for validation.

    Returns (data without them, their images (V, C, H, W) uint8, their labels (V,)). The
    held-out images are a uniform sample drawn with `seed` (the same for every run, so
    every method and seed is chosen on the same images); both parts keep the original
    order. With fraction 0 the data set comes back unchanged and V = 0.
    """
    check_fraction(fraction)
    n = len(data.train_labels)
    count = round(fraction * n)
    if fraction > 0 and count == 0:
        raise ValueError(f"val_fraction {fraction} holds out no image of {n}; raise it or "
                         "use 0")
    if count >= n:
        raise ValueError(f"val_fraction {fraction} leaves no training image of {n}")
    if count == 0:
        return data, data.train_images[:0], data.train_labels[:0]
    order = np.random.default_rng(seed).permutation(n)
    held, kept = np.sort(order[:count]), np.sort(order[count:])
    rest = dataclasses.replace(data, train_images=data.train_images[kept],
                               train_labels=data.train_labels[kept])
    return rest, data.train_images[held], data.train_labels[held]
