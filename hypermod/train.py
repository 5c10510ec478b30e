"""A small training loop for any task that builds its own batches on the device.

A task provides `num_train`, `train_batch(index, generator) -> (inputs, target)`,
`test_batches(batch_size)`, `loss(output, target)` and `errors(output, target)`; the model
is called as `model(*inputs)`. Nothing is synchronized with the host inside an epoch
except the progress bar's counter, so the loop runs at the device's pace.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from hypermod.checkpoint import restore_checkpoint, save_checkpoint, train_settings

OPTIMIZERS = ("sgd", "adam", "adadelta")


class Task(Protocol):
    """What `fit` needs from a task."""

    num_train: int

    def train_batch(
        self, index: Tensor, generator: torch.Generator
    ) -> tuple[tuple[Tensor, ...], Tensor]: ...

    def test_batches(self, batch_size: int) -> Iterator[tuple[tuple[Tensor, ...], Tensor]]: ...

    def loss(self, output: Tensor, target: Tensor) -> Tensor: ...

    def errors(self, output: Tensor, target: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class TrainConfig:
    """Optimization settings; defaults are the reference's rotation experiment but lr.

    The reference code defaults to lr 0.001; 0.01 trains both methods within 10 epochs.

    Attributes:
        epochs: passes over the training set.
        lr: learning rate.
        batch_size, test_batch_size: 64 and 1000 in the reference.
        optimizer: "sgd" (plain by default), "adam" or "adadelta".
        momentum: SGD momentum.
        seed: seeds the model's initialization, the data order and the random angles.
    """

    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 64
    test_batch_size: int = 1000
    optimizer: str = "sgd"
    momentum: float = 0.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        for name in ("epochs", "batch_size", "test_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be positive and finite, got {self.lr}")
        if not (self.momentum >= 0 and math.isfinite(self.momentum)):
            raise ValueError(f"momentum must be >= 0 and finite, got {self.momentum}")
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"momentum applies to sgd only, not to {self.optimizer}")


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer `config` names, over `params`."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.Adadelta(params, lr=config.lr)


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA when present; asking for CUDA without it is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but torch sees no CUDA device")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    return torch.device(name)


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, batch_size: int = 1000) -> dict[str, float]:
    """Mean loss and error rate of `model` on the task's test set."""
    was_training = model.training
    model.eval()
    loss_sum, wrong, count = 0.0, 0, 0
    for inputs, target in task.test_batches(batch_size):
        output = model(*inputs)
        loss_sum = loss_sum + task.loss(output, target) * target.shape[0]
        wrong = wrong + task.errors(output, target)
        count += target.shape[0]
    model.train(was_training)
    return {"test_loss": float(loss_sum) / count, "test_error": float(wrong) / count}


def diverged_row(epoch: int, last_finite_loss: float | None, seconds: float,
                 samples: int | None = None) -> dict[str, Any]:
    """The metrics row of the epoch whose train loss became NaN or infinite.

    Args:
        epoch: the epoch that diverged (1-based).
        last_finite_loss: the previous epoch's train loss, None if it was the first.
        seconds: how long the epoch trained; samples: how many samples it saw.

    Losses and errors are None (JSON null) rather than NaN, so that result files stay
    strict JSON and summaries can skip them; `diverged` marks the row.
    """
    return {
        "epoch": epoch, "train_loss": None, "test_loss": None, "test_error": None,
        "diverged": True, "last_finite_loss": last_finite_loss, "train_seconds": seconds,
        "samples_per_second": samples / seconds if samples and seconds > 0 else None,
    }


def divergence(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """{"epoch", "last_finite_loss"} when `history` ends in a diverged epoch, else None."""
    if history and history[-1].get("diverged"):
        return {"epoch": history[-1]["epoch"],
                "last_finite_loss": history[-1].get("last_finite_loss")}
    return None


def run_status(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The run-level fields of a result record: status "finished", or "diverged" and where."""
    diverged = divergence(history)
    if diverged is None:
        return {"status": "finished"}
    return {"status": "diverged", "diverged": diverged}


def fit(
    model: nn.Module,
    task: Task,
    config: TrainConfig,
    progress: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train `model` on `task` and return one metrics dict per epoch.

    The model must already be on the task's device. Each epoch's metrics (train loss,
    test loss and error, seconds, training samples/s) go to `on_epoch` as soon as they
    exist, so a caller can write them out before the next epoch starts.

    With `checkpoint`, the model, optimizer, data-order generator, torch's RNG and the
    history so far are saved there atomically at the end of every epoch (before
    `on_epoch`). With `resume` too, training continues from that file when it exists:
    on the CPU, an interrupted run resumed this way ends bit for bit where an
    uninterrupted one does. The file must have been made with the same settings (but
    the number of epochs) and the same `meta`, a JSON-able description of the rest (the
    model and data), else ValueError.

    Divergence: once per epoch, at the epoch's one host sync, the train loss is checked;
    if it is NaN or infinite, or the test loss is (the epoch's last steps broke the
    weights), the epoch's row becomes `diverged_row(...)` and training stops (see
    `run_status`).
    """
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(config.seed)
    optimizer = make_optimizer(config, model.parameters())
    n, bs = task.num_train, config.batch_size
    history: list[dict[str, Any]] = []
    settings = train_settings(config, device, meta)
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and resume and path.exists():
        history = restore_checkpoint(path, model, optimizer, generator, config.epochs, settings)
        if progress:
            tqdm.write(f"resumed from {path} after epoch {history[-1]['epoch']}")
    first_epoch = history[-1]["epoch"] + 1 if history else 1
    if divergence(history):
        first_epoch = config.epochs + 1  # a diverged run stays diverged
    for epoch in range(first_epoch, config.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator, device=device)
        loss_sum = torch.zeros((), device=device)
        bar = tqdm(
            range(0, n, bs), desc=f"epoch {epoch}/{config.epochs}", unit="batch",
            disable=not progress, leave=False, mininterval=0.5,
        )
        for first in bar:
            index = order[first : first + bs]
            inputs, target = task.train_batch(index, generator)
            loss = task.loss(model(*inputs), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * index.shape[0]
        train_loss = float(loss_sum) / n  # the epoch's one host sync
        seconds = time.perf_counter() - start
        if not math.isfinite(train_loss):
            last = history[-1]["train_loss"] if history else None
            metrics = diverged_row(epoch, last, seconds, n)
        else:
            metrics = {
                "epoch": epoch,
                "train_loss": train_loss,
                **evaluate(model, task, config.test_batch_size),
                "train_seconds": seconds,
                "samples_per_second": n / seconds,
            }
            if not math.isfinite(metrics["test_loss"]):
                # The last step blew the weights up after a finite epoch mean: the model
                # is broken even so, and this epoch's train loss was the last finite one.
                metrics = diverged_row(epoch, train_loss, seconds, n)
        history.append(metrics)
        if progress and metrics.get("diverged"):
            tqdm.write(f"epoch {epoch}: the loss became NaN or infinite; stopping, the run "
                       f"diverged (last finite train loss: {metrics['last_finite_loss']})")
        elif progress:
            tqdm.write(
                f"epoch {epoch}: train loss {train_loss:.4f}  test loss "
                f"{metrics['test_loss']:.4f}  test error {metrics['test_error']:.4f}  "
                f"({metrics['samples_per_second']:.0f} samples/s)"
            )
        if path is not None:
            save_checkpoint(path, model, optimizer, generator, history, settings)
        if on_epoch is not None:
            on_epoch(metrics)
        if metrics.get("diverged"):
            break
    return history
