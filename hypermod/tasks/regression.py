"""Regression on a fixed sample of y(x, I): n query points per instance, MSE.

`RegressionTask(train, test)` wraps two `SyntheticSet`s (instances (B, m2), points
(B, n, m1), values (B, n)) as a `Task`: a training batch is a batch of instances with all
their points, the loss is each instance's mean squared error over its points, and
`errors` sums those per-instance errors, so the training loop's "test_error" is the mean
squared error over test instances (the targets have unit variance: 1 is the error of
predicting their mean).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from hypermod.tasks.synthetic import SyntheticSet


class RegressionTask:
    """Batches of ((x (B, n, m1), I (B, m2)), y (B, n)) on the device of `train`."""

    def __init__(self, train: SyntheticSet, test: SyntheticSet):
        if train.x.shape[2:] != test.x.shape[2:] or train.instances.shape[1:] != \
                test.instances.shape[1:]:
            raise ValueError(f"train and test sets differ in dimensions: x {train.x.shape} "
                             f"vs {test.x.shape}, I {train.instances.shape} vs "
                             f"{test.instances.shape}")
        self.train, self.test = train, test
        self.input_dim = train.x.shape[2]  # m1
        self.instance_dim = train.instances.shape[1]  # m2
        self.num_outputs = 1

    @property
    def num_train(self) -> int:
        return self.train.instances.shape[0]

    @property
    def num_test(self) -> int:
        return self.test.instances.shape[0]

    def train_noise(self, count: int, generator: torch.Generator) -> None:
        """No randomness beyond the order of the instances."""
        return None

    def batch_from(self, index: Tensor, noise: None = None):
        """The training instances at `index` (B,) with all their points."""
        t = self.train
        return (t.x[index], t.instances[index]), t.y[index]

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        t = self.test
        for start in range(0, self.num_test, batch_size):
            end = start + batch_size
            yield (t.x[start:end], t.instances[start:end]), t.y[start:end]

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Each instance's mean squared error over its points (N,), or their mean."""
        per_instance = ((output.reshape(target.shape) - target) ** 2).mean(dim=1)
        return per_instance.mean() if reduction == "mean" else per_instance

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """The sum of the instances' mean squared errors (the loop divides by their count)."""
        return self.losses(output, target, "none").sum()
