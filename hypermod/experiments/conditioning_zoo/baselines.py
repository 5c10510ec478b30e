"""What a conditioning method must beat: baselines that learn nothing about the instance
beyond a constant, or only a linear code of it.

    constant_guess(task)              # rotation, regression: the best constant output
    mean_image(task), pca(task, 16)   # INR: the mean training image; a k-component code

Every baseline is fitted on training (or validation) data alone and scored on the test
set exactly as the loop scores a model (the task's `errors`, summed over the test set and
divided by its size), so a method's test error and its baseline's are the same number for
the same predictions.
"""

from __future__ import annotations

import torch
from torch import Tensor

BATCH = 512


@torch.no_grad()
def constant_guess(task) -> float:
    """The test error of the best constant output, chosen on the validation part: for a
    classification task its most frequent class, for regression its mean target."""
    found = [target for _, target in task.val_batches(BATCH)]
    targets = torch.cat(found) if found else torch.zeros(0)
    if targets.numel() == 0:
        raise ValueError("the best constant guess is chosen on validation data; this task "
                         "has no validation part (set val_fraction or val_instances)")
    if targets.dtype in (torch.int64, torch.int32):  # class labels
        classes = int(targets.max()) + 1
        guess = torch.bincount(targets, minlength=classes).argmax()
        make = lambda target: torch.nn.functional.one_hot(  # noqa: E731
            guess.expand(target.shape[0]), classes).float()
    else:
        mean = targets.float().mean()
        make = lambda target: mean.expand_as(target)  # noqa: E731
    total = sum(float(task.errors(make(target), target)) for _, target in
                task.test_batches(BATCH))
    return total / task.num_test


@torch.no_grad()
def _test_error(task, predict) -> float:
    """Mean per-image test MSE of `predict(intensities) -> reconstruction`."""
    total = 0.0
    for start in range(0, task.num_test, BATCH):
        values = task.intensities(task.test_images[start:start + BATCH])
        total += float(task.errors(predict(values), values))
    return total / task.num_test


def mean_image(task) -> float:
    """INR: the test MSE of predicting every test image as the mean training image."""
    mean = task.intensities(task.train_images).mean(dim=0)
    return _test_error(task, lambda values: mean.expand_as(values))


def principal_axes(task) -> tuple[Tensor, Tensor]:
    """INR: the training images' mean intensities and principal axes (rows, by variance)."""
    values = task.intensities(task.train_images).double()
    mean = values.mean(dim=0)
    _, _, axes = torch.linalg.svd(values - mean, full_matrices=False)
    return mean, axes


def pca(task, components: int, axes: tuple[Tensor, Tensor] | None = None) -> float:
    """INR: the test MSE of each test image rebuilt from its first `components` principal
    coordinates (axes fitted on the training images; the test image itself is projected,
    as a method's encoder reads the whole test image)."""
    if components < 1:
        raise ValueError(f"PCA needs at least one component, got {components}")
    mean, basis = axes if axes is not None else principal_axes(task)
    basis = basis[:components]  # more than the data's rank keeps them all

    def rebuild(values: Tensor) -> Tensor:
        centred = values.double() - mean
        return (mean + centred @ basis.T @ basis).to(values.dtype)

    return _test_error(task, rebuild)


def inr_baselines(task, components: tuple[int, ...]) -> dict[str, float]:
    """The mean image and PCA at each of `components` (keys "mean image", "pca-K")."""
    axes = principal_axes(task)
    return {"mean image": mean_image(task),
            **{f"pca-{k}": pca(task, k, axes) for k in sorted(set(components))}}
