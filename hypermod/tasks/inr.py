"""Implicit neural representations: from an image I, predict its intensity at coordinates x.

The model h_I(x) represents image I as a function of the pixel coordinate; a
hypernetwork is the usual way to condition such a function on the image. Each sample is
one image: x holds n encoded pixel coordinates (B, n, d_x), I the whole normalized image
(B, C*H*W), and the target those pixels' intensities in [0, 1] (B, n).

Choices:
- coordinates are pixel centres in (-1, 1): column c of W has x = (2c + 1) / W - 1, row r
  of H has y = (2r + 1) / H - 1 (corners at +-1 would make every sin(2^k pi x) zero there);
- the encoding is [x, y] then, for k = 0 .. F-1, [sin(2^k pi x), cos(2^k pi x),
  sin(2^k pi y), cos(2^k pi y)], so d_x = 2 + 4F;
- the target is the mean over channels (digits and MNIST have one), so one output;
- one held-out mask, drawn once from `mask_seed`, serves every image: its pixels are never
  sampled as training targets, and `heldout_pixel_batches` scores the training images
  there. They are still part of I, so that score says whether supervision at the other
  pixels carries over to unsupervised coordinates, not whether the model fills in pixels
  it never saw.

Metrics: for this task the loop's "test_error" (and "test_loss") is the mean over test
images of the per-image mean squared error; `psnr`, `mean_psnr` and `evaluate_psnr` turn
per-image errors into peak signal-to-noise ratios (intensities in [0, 1], peak 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from hypermod.data import MNIST_MEAN, MNIST_STD, ImageDataset
from hypermod.tasks.limits import check_fraction, images_on, limited, split_validation

Batch = tuple[tuple[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class INRConfig:
    """Settings of the INR task.

    Attributes:
        points: query points per image in a training batch (drawn with replacement).
        fourier_features: number F of frequencies 2^k pi, k < F, in the coordinate encoding.
        holdout_fraction: share of pixel positions never used as training targets, in [0, 1).
        mask_seed: seed of the held-out mask.
        mean, std: normalization of I's pixels in [0, 1] (MNIST's, as the other tasks).
        val_fraction, val_seed: a seeded share of the training images held out for
            validation (scored at every pixel, as the test images); 0: none.
    """

    points: int = 64
    fourier_features: int = 8
    holdout_fraction: float = 0.25
    mask_seed: int = 0
    mean: float = MNIST_MEAN
    std: float = MNIST_STD
    val_fraction: float = 0.0
    val_seed: int = 0

    def __post_init__(self) -> None:
        check_fraction(self.val_fraction)
        if self.points < 1:
            raise ValueError(f"points must be >= 1, got {self.points}")
        if self.fourier_features < 0:
            raise ValueError(f"fourier_features must be >= 0, got {self.fourier_features}")
        if not 0 <= self.holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")
        if self.std <= 0:
            raise ValueError(f"std must be positive, got {self.std}")


def encode_coordinates(height: int, width: int, fourier_features: int) -> Tensor:
    """The encoding of every pixel, row-major: (H*W, 2 + 4F) float32."""
    # float64 so that the sines of large frequencies lose nothing before the cast
    ys = (2 * torch.arange(height, dtype=torch.float64) + 1) / height - 1
    xs = (2 * torch.arange(width, dtype=torch.float64) + 1) / width - 1
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    columns = [x, y]
    for k in range(fourier_features):
        scale = 2.0**k * math.pi
        columns += [torch.sin(scale * x), torch.cos(scale * x),
                    torch.sin(scale * y), torch.cos(scale * y)]
    return torch.stack(columns, dim=1).float()


def per_sample_mse(output: Tensor, target: Tensor) -> Tensor:
    """Each sample's mean squared error over its points: (N, n[, 1]) and (N, n) -> (N,)."""
    if output.dim() == target.dim() + 1 and output.shape[-1] == 1:
        output = output.squeeze(-1)
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} does not match target "
                         f"{tuple(target.shape)} (expected (N, n) or (N, n, 1))")
    return (output.float() - target).pow(2).mean(dim=1)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of intensities in [0, 1]: 10 log10(1 / mse)."""
    return 10 * math.log10(1 / mse)


def mean_psnr(per_image_mse: Tensor) -> float:
    """The mean over images of each image's PSNR (not the PSNR of the mean error)."""
    return float((-10 * torch.log10(per_image_mse.double())).mean())


@torch.no_grad()
def evaluate_psnr(model: nn.Module, batches: Iterable[Batch]) -> float:
    """Mean per-image PSNR of a single model called as model(x, I) over `batches`.

    Seed ensembles (`hypermod.models.Ensemble`) take stacked (S, B, ...) inputs; score
    their members one at a time instead.
    """
    was_training = model.training
    model.eval()
    errors = [per_sample_mse(model(*inputs), target) for inputs, target in batches]
    model.train(was_training)
    if not errors:
        raise ValueError("evaluate_psnr got no batches")
    return mean_psnr(torch.cat(errors))


class INRTask:
    """Batches of ((x, I), intensities) for image regression from coordinates.

    Args:
        data: the image data set (uint8, moved to `device` once).
        config: task settings.
        device: where the images live and batches are built.
        limit_train, limit_test: keep only the first N training / test images.
    """

    error_name = "MSE"  # what `errors` sums, so what the loop's "test_error" holds

    def __init__(
        self,
        data: ImageDataset,
        config: INRConfig | None = None,
        device: torch.device | str = "cpu",
        limit_train: int | None = None,
        limit_test: int | None = None,
    ):
        self.config = c = config or INRConfig()
        self.device = torch.device(device)
        data = limited(data, limit_train, limit_test)
        data, val_images, _ = split_validation(data, c.val_fraction, c.val_seed)
        self.name = data.name
        self.train_images, self.test_images = images_on(data, self.device)
        self.val_images = torch.from_numpy(val_images).to(self.device)
        self.input_dim = data.input_dim
        _, _, height, width = self.train_images.shape
        self.image_shape = (height, width)
        pixels = height * width
        held = round(c.holdout_fraction * pixels)
        if c.holdout_fraction > 0 and held == 0:
            raise ValueError(f"holdout_fraction {c.holdout_fraction} holds out no pixel of a "
                             f"{height}x{width} image; raise it or use 0")
        order = torch.randperm(pixels, generator=torch.Generator().manual_seed(c.mask_seed))
        # sorted, so that batches list pixels in row-major order
        self.heldout_pixels = order[:held].sort().values.to(self.device)  # (held,)
        self.train_pixels = order[held:].sort().values.to(self.device)  # (H*W - held,)
        self.coords = encode_coordinates(height, width, c.fourier_features).to(self.device)

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
    def coord_dim(self) -> int:
        return self.coords.shape[1]

    @property
    def num_outputs(self) -> int:
        return 1

    def instances(self, images: Tensor) -> Tensor:
        """uint8 (B, C, H, W) -> normalized float I (B, C*H*W)."""
        return ((images.float() / 255 - self.config.mean) / self.config.std).flatten(1)

    def intensities(self, images: Tensor) -> Tensor:
        """uint8 (B, C, H, W) -> the channel mean in [0, 1], row-major (B, H*W)."""
        return (images.float() / 255).mean(dim=1).flatten(1)

    def make_batch(self, images: Tensor, pixels: Tensor) -> Batch:
        """((x, I), target) at pixel indices `pixels`: (B, n) per image, or (n,) for all."""
        values = self.intensities(images)  # (B, H*W)
        b = images.shape[0]
        if pixels.dim() == 1:
            x = self.coords[pixels].expand(b, -1, -1)  # (B, n, d_x), a view
            target = values[:, pixels]  # (B, n)
        else:
            x = self.coords[pixels]  # (B, n, d_x)
            target = values.gather(1, pixels)  # (B, n)
        return (x, self.instances(images)), target

    def train_noise(self, count: int, generator: torch.Generator) -> Tensor:
        """`points` training pixels per sample: (count, points) int64 indices into the
        row-major H*W pixels, never a held-out one.

        Independent uniform draws, with replacement, so that `points` may exceed the
        training pixels of small images (digits keeps 48 of 64 at the default 0.25).
        """
        draws = torch.randint(self.train_pixels.shape[0], (count, self.config.points),
                              generator=generator, device=self.device)
        return self.train_pixels[draws]

    def batch_from(self, index: Tensor, noise: Tensor) -> Batch:
        """The training batch of the images at `index` (B,) at the pixels `noise` (B, n)."""
        return self.make_batch(self.train_images[index], noise)

    def test_batches(self, batch_size: int) -> Iterator[Batch]:
        """The test images in order, every pixel: x (B, H*W, d_x), target (B, H*W)."""
        yield from self._every_pixel(self.test_images, batch_size)

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        """The validation images (held out of training) in order, every pixel."""
        yield from self._every_pixel(self.val_images, batch_size)

    def _every_pixel(self, images: Tensor, batch_size: int) -> Iterator[Batch]:
        every = torch.arange(self.coords.shape[0], device=self.device)
        for start in range(0, images.shape[0], batch_size):
            yield self.make_batch(images[start:start + batch_size], every)

    def heldout_pixel_batches(self, batch_size: int) -> Iterator[Batch]:
        """The training images in order, only their held-out pixels: target (B, held)."""
        if self.heldout_pixels.numel() == 0:
            return
        for start in range(0, self.num_train, batch_size):
            yield self.make_batch(self.train_images[start:start + batch_size],
                                  self.heldout_pixels)

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Each sample's MSE over its points, (N,) with reduction "none", their mean with
        "mean"; output (N, n, 1) or (N, n), target (N, n)."""
        per_sample = per_sample_mse(output, target)
        if reduction == "none":
            return per_sample
        if reduction == "mean":
            return per_sample.mean()
        raise ValueError(f"unknown reduction {reduction!r}; choose 'mean' or 'none'")

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """The sum of per-sample MSEs, so the loop's test_error is the mean image MSE."""
        return per_sample_mse(output, target).sum()
