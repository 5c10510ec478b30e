"""Rotation prediction: from an image I and a rotated copy x, predict the angle's bin.

Everything happens on the device, a whole batch at a time: the uint8 images are moved
there once, rotated with `affine_grid`/`grid_sample` (zero fill, before normalization,
as the reference does with PIL), then normalized with the MNIST mean and std.

Differences from the reference code (Galanti and Wolf's `rotation_prediction/`):
- the test set gets fixed angles drawn once from `test_seed`, so test error is
  comparable between epochs and runs; the reference draws new angles at every
  evaluation;
- `binning="circular"` is offered besides the reference's binning without wrap-around.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from hypermod.data import MNIST_MEAN, MNIST_STD, ImageDataset
from hypermod.tasks.limits import check_fraction, images_on, limited, split_validation

BINNINGS = ("reference", "circular")
INTERPOLATIONS = ("nearest", "bilinear")


@dataclass(frozen=True)
class RotationConfig:
    """Settings of the rotation task; defaults are the reference's.

    Attributes:
        num_bins: angles 0, 360/num_bins, ... are the class centres (12: every 30 degrees).
        binning: "reference" takes the nearest centre without wrap-around (bin 0 covers
            [0, 15), the last bin [315, 360)); "circular" wraps, so [345, 360) is bin 0.
        interpolation: "nearest" (PIL's default, used by the reference) or "bilinear".
        mean, std: normalization after rotation; the reference uses MNIST's for all sets.
        test_seed: seed of the fixed test-set angles.
        val_fraction: share of the training images held out for validation (seeded by
            val_seed, with fixed angles drawn from val_seed too); 0 keeps them all, as
            the paper's runs, which choose nothing.
    """

    num_bins: int = 12
    binning: str = "reference"
    interpolation: str = "nearest"
    mean: float = MNIST_MEAN
    std: float = MNIST_STD
    test_seed: int = 0
    val_fraction: float = 0.0
    val_seed: int = 0

    def __post_init__(self) -> None:
        check_fraction(self.val_fraction)
        if self.binning not in BINNINGS:
            raise ValueError(f"unknown binning {self.binning!r}; choose one of {BINNINGS}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"unknown interpolation {self.interpolation!r}; choose one of {INTERPOLATIONS}"
            )
        if self.num_bins < 2:
            raise ValueError(f"num_bins must be >= 2, got {self.num_bins}")
        if self.std <= 0:
            raise ValueError(f"std must be positive, got {self.std}")


def rotate(images: Tensor, degrees: Tensor, mode: str = "nearest") -> Tensor:
    """Rotate each image counter-clockwise (as displayed) about its centre, zero fill.

    Args:
        images: (B, C, H, W) floating point.
        degrees: (B,) one angle per image.
        mode: "nearest" or "bilinear".

    Returns:
        (B, C, H, W). Rotating by 90 degrees in nearest mode equals `torch.rot90(k=1)`.
    """
    if images.dim() != 4 or degrees.shape != (images.shape[0],):
        raise ValueError(
            f"rotate needs images (B, C, H, W) and degrees (B,); got {tuple(images.shape)} "
            f"and {tuple(degrees.shape)}"
        )
    b, _, h, w = images.shape
    # The grid maps output to input coordinates, so it holds the inverse rotation; in
    # float64 so that multiples of 90 degrees land on pixel centres exactly.
    rad = degrees.to(torch.float64) * (math.pi / 180)
    cos, sin = torch.cos(rad), torch.sin(rad)
    zero = torch.zeros_like(cos)
    theta = torch.stack(
        [torch.stack([cos, -sin * (h / w), zero], 1), torch.stack([sin * (w / h), cos, zero], 1)],
        dim=1,
    ).to(images.dtype)  # (B, 2, 3)
    grid = F.affine_grid(theta, [b, images.shape[1], h, w], align_corners=False)
    return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)


def angle_bins(degrees: Tensor, num_bins: int = 12, binning: str = "reference") -> Tensor:
    """Index of the nearest class centre k * 360 / num_bins, ties to the lower index.

    Args:
        degrees: (B,) angles in [0, 360).

    Returns:
        (B,) int64 in [0, num_bins).
    """
    centres = torch.arange(num_bins, device=degrees.device, dtype=torch.float64)
    centres = centres * (360.0 / num_bins)
    gap = (degrees.to(torch.float64)[:, None] - centres[None, :]).abs()  # (B, num_bins)
    if binning == "circular":
        gap = torch.minimum(gap, 360.0 - gap)
    elif binning != "reference":
        raise ValueError(f"unknown binning {binning!r}; choose one of {BINNINGS}")
    return gap.argmin(dim=1)  # argmin returns the first of equal minima


def chance_error(num_bins: int = 12, binning: str = "reference") -> float:
    """Test error of the best constant guess when angles are uniform in [0, 360).

    Circular bins are equal, so any guess errs with 1 - 1/num_bins. Without wrap-around
    the first bin spans half a bin width and the last one and a half ([315, 360) for 12
    bins), so always guessing the last bin errs with 1 - 1.5/num_bins: 0.875, not 11/12.
    """
    if binning == "circular":
        return 1 - 1 / num_bins
    if binning != "reference":
        raise ValueError(f"unknown binning {binning!r}; choose one of {BINNINGS}")
    return 1 - 1.5 / num_bins


class RotationTask:
    """Batches of ((x, I), label) for rotation prediction, built on the device.

    I is the normalized image, x the same image rotated by a uniform random angle in
    [0, 360) and then normalized, and the label the angle's bin.

    Args:
        data: the image data set (uint8, kept in memory).
        config: task settings.
        device: where the images live and batches are built.
        limit_train, limit_test: keep only the first N training / test images.
    """

    def __init__(
        self,
        data: ImageDataset,
        config: RotationConfig | None = None,
        device: torch.device | str = "cpu",
        limit_train: int | None = None,
        limit_test: int | None = None,
    ):
        self.config = config or RotationConfig()
        self.device = torch.device(device)
        data = limited(data, limit_train, limit_test)
        data, val_images, _ = split_validation(data, self.config.val_fraction,
                                               self.config.val_seed)
        self.name = data.name
        self.train_images, self.test_images = images_on(data, self.device)
        self.val_images = torch.from_numpy(val_images).to(self.device)
        self.input_dim = data.input_dim
        gen = torch.Generator().manual_seed(self.config.test_seed)
        self.test_angles = (torch.rand(len(data.test_images), generator=gen) * 360).to(self.device)
        gen = torch.Generator().manual_seed(self.config.val_seed)
        self.val_angles = (torch.rand(len(val_images), generator=gen) * 360).to(self.device)

    @property
    def num_train(self) -> int:
        return self.train_images.shape[0]

    @property
    def num_test(self) -> int:
        return self.test_images.shape[0]

    @property
    def num_val(self) -> int:
        return self.val_images.shape[0]

    @property
    def num_outputs(self) -> int:
        return self.config.num_bins

    def make_batch(self, images: Tensor, degrees: Tensor) -> tuple[tuple[Tensor, Tensor], Tensor]:
        """((x, I), label) from uint8 (B, C, H, W) images and (B,) angles."""
        c = self.config
        clean = images.float().div_(255)
        turned = rotate(clean, degrees, c.interpolation)
        instance = (clean - c.mean) / c.std
        x = (turned - c.mean) / c.std
        return (x, instance), angle_bins(degrees, c.num_bins, c.binning)

    def train_noise(self, count: int, generator: torch.Generator) -> Tensor:
        """The randomness of `count` training samples: (count,) angles in [0, 360)."""
        return torch.rand(count, generator=generator, device=self.device) * 360

    def batch_from(self, index: Tensor, noise: Tensor) -> tuple[tuple[Tensor, Tensor], Tensor]:
        """The training batch of the images at `index` (B,) rotated by `noise` (B,) degrees.

        No host synchronization and no randomness: the step that CUDA graphs capture.
        """
        return self.make_batch(self.train_images[index], noise)

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        """The whole test set in order, with its fixed angles."""
        yield from self._fixed(self.test_images, self.test_angles, batch_size)

    def val_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        """The validation images (held out of training) in order, with their fixed angles."""
        yield from self._fixed(self.val_images, self.val_angles, batch_size)

    def _fixed(self, images: Tensor, angles: Tensor, batch_size: int):
        for start in range(0, images.shape[0], batch_size):
            end = start + batch_size
            yield self.make_batch(images[start:end], angles[start:end])

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Cross-entropy over the bins: per sample (N,) with reduction "none", or the mean."""
        return F.cross_entropy(output, target, reduction=reduction)

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """Number of wrong predictions (a 0-dim tensor, left on the device)."""
        return (output.argmax(dim=1) != target).sum()
