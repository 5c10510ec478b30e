"""Plain image classification, batched on the device; cross-entropy or MSE to one-hot.

The reference's assumption-2 check trains with MSE to one-hot labels and normalizes
every data set with MNIST's mean and std; both are the defaults here.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from hypermod.data import MNIST_MEAN, MNIST_STD, ImageDataset
from hypermod.tasks.limits import images_on, limited, split_validation

LOSSES = ("mse_onehot", "cross_entropy")


class ClassificationTask:
    """Batches of ((x,), label) with x the normalized, flattened image (B, C*H*W).

    Args:
        data: the image data set (uint8, moved to `device` once).
        loss: "mse_onehot" (the reference's) or "cross_entropy".
        device: where batches are built.
        limit_train, limit_test: keep only the first N training / test images.
        mean, std: normalization of pixels in [0, 1].
        val_fraction, val_seed: a seeded share of the training images held out for
            validation (0: none, as the reference).
    """

    def __init__(
        self,
        data: ImageDataset,
        loss: str = "mse_onehot",
        device: torch.device | str = "cpu",
        limit_train: int | None = None,
        limit_test: int | None = None,
        mean: float = MNIST_MEAN,
        std: float = MNIST_STD,
        val_fraction: float = 0.0,
        val_seed: int = 0,
    ):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {LOSSES}")
        data = limited(data, limit_train, limit_test)
        data, val_images, val_labels = split_validation(data, val_fraction, val_seed)
        self.device = torch.device(device)
        self.loss_name, self.mean, self.std = loss, mean, std
        self.num_classes = data.num_classes
        self.input_dim = data.input_dim
        self.train_images, self.test_images = images_on(data, self.device)
        self.train_labels = torch.from_numpy(data.train_labels).to(self.device)
        self.test_labels = torch.from_numpy(data.test_labels).to(self.device)
        self.val_images = torch.from_numpy(val_images).to(self.device)
        self.val_labels = torch.from_numpy(val_labels).to(self.device)

    @property
    def num_train(self) -> int:
        return self.train_images.shape[0]

    @property
    def num_val(self) -> int:
        return self.val_images.shape[0]

    def inputs(self, images: Tensor) -> Tensor:
        """uint8 (B, C, H, W) -> normalized float (B, C*H*W)."""
        return ((images.float() / 255 - self.mean) / self.std).flatten(1)

    def train_noise(self, count: int, generator: torch.Generator) -> None:
        """No randomness beyond the data order."""
        return None

    def batch_from(self, index: Tensor, noise: None = None) -> tuple[tuple[Tensor], Tensor]:
        """The training images and labels at `index` (B,)."""
        return (self.inputs(self.train_images[index]),), self.train_labels[index]

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor], Tensor]]:
        """The test set in order."""
        yield from self._fixed(self.test_images, self.test_labels, batch_size)

    def val_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor], Tensor]]:
        """The validation images (held out of training) in order."""
        yield from self._fixed(self.val_images, self.val_labels, batch_size)

    def _fixed(self, images: Tensor, labels: Tensor, batch_size: int):
        for start in range(0, images.shape[0], batch_size):
            end = start + batch_size
            yield (self.inputs(images[start:end]),), labels[start:end]

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Cross-entropy, or MSE to one-hot averaged over classes; per sample (N,) with
        reduction "none", their mean with "mean"."""
        if self.loss_name == "cross_entropy":
            return F.cross_entropy(output, target, reduction=reduction)
        onehot = F.one_hot(target, self.num_classes).to(output.dtype)
        if reduction == "mean":  # one mean over samples and classes, as the reference's
            return F.mse_loss(output, onehot)
        return F.mse_loss(output, onehot, reduction="none").mean(dim=1)

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """Number of wrong predictions."""
        return (output.argmax(dim=1) != target).sum()
