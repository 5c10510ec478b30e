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
    """Batches of ((x (B, n, m1), I (B, m2)), y (B, n)) on the device of `train`; with
    `val`, a validation set (new instances, to choose on) scored like the test set."""

    error_name = "MSE"  # what `errors` sums, so what the loop's "test_error" holds

    def __init__(self, train: SyntheticSet, test: SyntheticSet, val: SyntheticSet | None = None):
        for name, other in (("test", test), ("val", val)):
            if other is not None and (train.x.shape[2:] != other.x.shape[2:]
                                      or train.instances.shape[1:] != other.instances.shape[1:]):
                raise ValueError(f"train and {name} sets differ in dimensions: x "
                                 f"{train.x.shape} vs {other.x.shape}, I "
                                 f"{train.instances.shape} vs {other.instances.shape}")
        self.train, self.test, self.val = train, test, val
        self.input_dim = train.x.shape[2]  # m1
        self.instance_dim = train.instances.shape[1]  # m2
        self.num_outputs = 1

    @property
    def num_train(self) -> int:
        return self.train.instances.shape[0]

    @property
    def num_test(self) -> int:
        return self.test.instances.shape[0]

    @property
    def num_val(self) -> int:
        return 0 if self.val is None else self.val.instances.shape[0]

    def train_noise(self, count: int, generator: torch.Generator) -> None:
        """No randomness beyond the order of the instances."""
        return None

    def batch_from(self, index: Tensor, noise: None = None):
        """The training instances at `index` (B,) with all their points."""
        t = self.train
        return (t.x[index], t.instances[index]), t.y[index]

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        yield from _batches(self.test, batch_size)

    def val_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        yield from _batches(self.val, batch_size) if self.val is not None else ()

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Each instance's mean squared error over its points (N,), or their mean."""
        per_instance = ((output.reshape(target.shape) - target) ** 2).mean(dim=1)
        return per_instance.mean() if reduction == "mean" else per_instance

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """The sum of the instances' mean squared errors (the loop divides by their count)."""
        return self.losses(output, target, "none").sum()


def _batches(data: SyntheticSet, batch_size: int):
    for start in range(0, data.instances.shape[0], batch_size):
        end = start + batch_size
        yield (data.x[start:end], data.instances[start:end]), data.y[start:end]
