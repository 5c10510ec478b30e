"""The one interface every task offers the training loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
from torch import Tensor


class Task(Protocol):
    """What `hypermod.training.train` needs from a task: batches built on the device.

    A batch is (inputs, target) with `model(*inputs)` the prediction. The random part of
    a training batch (rotation angles, noise inputs) is drawn apart from building it, so
    that each member of a seed ensemble draws from its own generator and the step itself
    has no randomness (what a CUDA graph captures).
    """

    num_train: int

    def train_noise(self, count: int, generator: torch.Generator) -> Tensor | None:
        """The randomness of `count` training samples, (count, ...), or None."""
        ...

    def batch_from(self, index: Tensor, noise: Tensor | None
                   ) -> tuple[tuple[Tensor, ...], Tensor]:
        """The training batch of the samples at `index` (B,) with that randomness."""
        ...

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, ...], Tensor]]:
        """The fixed test set, in order."""
        ...

    # Optional: `error_name`, what `errors` counts when it is not wrong predictions (a
    # regression task's "MSE"): the loop's lines name it; the records keep "test_error".
    # Optional: a task with a validation part (held out of the training data, to choose
    # on) also has `num_val: int > 0` and `val_batches(batch_size)` like `test_batches`;
    # the loop then records val_loss and val_error beside the test metrics each epoch.

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """The loss: per sample (N,) with reduction "none", their mean with "mean" (one
        formula for both, reduced by the loss function itself)."""
        ...

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        """Number of wrong predictions (a 0-dim tensor, left on the device)."""
        ...


def sample_instances(task: Task, device: torch.device | str, count: int = 256) -> Tensor:
    """The first `count` training instances I of `task` (on the CPU), for the hyperfan
    init; drawn with a generator of their own, so the runs' random streams are untouched.
    A task's batches are ((x, I), target), so I is the second input."""
    index = torch.arange(min(count, task.num_train), device=device)
    noise = task.train_noise(index.shape[0], torch.Generator(device).manual_seed(0))
    return task.batch_from(index, noise)[0][1].cpu()
