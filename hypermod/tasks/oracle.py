"""Regression on K fixed instances, point by point: the task of the oracle models.

    task = OracleTask(sample_oracle(target, instances=64, points=(256, 64, 256), seed=1))
    history = fit(OracleHyper(64, 1, 16), task, TrainConfig(...))

Every split holds the same K instances I_1..I_K with points of their own: the training
points, validation points (to stop and choose on) and test points (the error reported)
are drawn apart, so the error is measured on held-out x of the training instances, which
is all an oracle encoder (`hypermod.models.oracle`) can be asked about. A sample is one
instance with all its points; a batch is ((x (B, n, m1), ids (B,)), y (B, n)), the loss
an instance's mean squared error over its points.

An epoch is at least `steps_per_epoch` batches whatever K is: the instances are repeated
a whole number of times to fill it, so runs at K, 2K and 4K are judged for stopping after
about the same amount of training, and each epoch visits every instance equally often.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from hypermod.tasks.synthetic import SmoothTarget, StructuredTarget, SyntheticSet, sample


@dataclass(frozen=True)
class OracleSets:
    """One set of K instances with train, validation and test points of their own."""

    train: SyntheticSet
    val: SyntheticSet
    test: SyntheticSet

    def __post_init__(self) -> None:
        for name in ("val", "test"):
            other = getattr(self, name)
            if not torch.equal(other.instances, self.train.instances):
                raise ValueError(f"the {name} set must hold the training instances")

    @property
    def instances(self) -> int:
        return self.train.instances.shape[0]

    def to(self, device: torch.device | str) -> OracleSets:
        return OracleSets(self.train.to(device), self.val.to(device), self.test.to(device))


def sample_oracle(target: SmoothTarget | StructuredTarget, instances: int,
                  points: tuple[int, int, int], seed: int) -> OracleSets:
    """K instances drawn from `seed`, with (train, val, test) points each drawn apart.

    The first K' instances of a draw with K > K' are the K' of the smaller draw (the
    instances come first from the generator), so the sets at K, 2K and 4K are nested.
    """
    if instances < 1 or min(points) < 1:
        raise ValueError(f"need at least one instance and one point per split, got "
                         f"instances={instances}, points={points}")
    gen = torch.Generator().manual_seed(seed)
    draw = sample(target, instances, 1, gen).instances  # (K, m2), uniform
    # Points from a generator per split, so a split's points do not depend on K's draw.
    sets = []
    for i, n in enumerate(points):
        g = torch.Generator().manual_seed(seed * 1000 + 17 + i)
        x = 2 * torch.rand(instances, n, target.m1, generator=g) - 1
        sets.append(SyntheticSet(draw, x, target(x, draw)))
    return OracleSets(*sets)


class OracleTask:
    """Batches of ((x (B, n, m1), ids (B,)), y (B, n)) over the K instances of `sets`, on
    their device; validation and test on each instance's held-out points.

    Args:
        sets: the K instances and their points.
        batch_size, steps_per_epoch: an epoch is at least `steps_per_epoch` batches of
            `batch_size` instances, a whole number of passes over the K instances.
    """

    error_name = "MSE"

    def __init__(self, sets: OracleSets, batch_size: int, steps_per_epoch: int = 16):
        if batch_size < 1 or steps_per_epoch < 1:
            raise ValueError(f"batch_size and steps_per_epoch must be >= 1, got "
                             f"{batch_size} and {steps_per_epoch}")
        self.sets = sets
        self.instances = sets.instances
        self.repeats = math.ceil(batch_size * steps_per_epoch / self.instances)
        self.ids = torch.arange(self.instances, device=sets.train.x.device)
        self.input_dim = sets.train.x.shape[2]
        self.num_outputs = 1

    @property
    def num_train(self) -> int:
        """Instances per epoch: the K instances, repeated to fill the epoch's steps."""
        return self.instances * self.repeats

    @property
    def num_val(self) -> int:
        return self.instances

    @property
    def num_test(self) -> int:
        return self.instances

    def train_noise(self, count: int, generator: torch.Generator) -> None:
        return None

    def batch_from(self, index: Tensor, noise: None = None):
        """The instances at `index` (B,) (taken modulo K) with all their training points."""
        k = index % self.instances
        t = self.sets.train
        return (t.x[k], k), t.y[k]

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        yield from self._batches(self.sets.test, batch_size)

    def val_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, Tensor], Tensor]]:
        yield from self._batches(self.sets.val, batch_size)

    def _batches(self, data: SyntheticSet, batch_size: int):
        for start in range(0, self.instances, batch_size):
            end = start + batch_size
            yield (data.x[start:end], self.ids[start:end]), data.y[start:end]

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Each instance's mean squared error over its points (B,), or their mean."""
        per_instance = ((output.reshape(target.shape) - target) ** 2).mean(dim=1)
        return per_instance.mean() if reduction == "mean" else per_instance

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """The sum of the instances' mean squared errors (the loop divides by K)."""
        return self.losses(output, target, "none").sum()
