"""Cap a data set's splits for quick runs, and put its images on the device."""

from __future__ import annotations

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
