"""Training a seed ensemble in one pass, with optional GPU accelerations.

`fit_ensemble` is `hypermod.train.fit` for S members at once: member k draws its data
order and its task noise (rotation angles) from its own generator seeded with seeds[k],
in the same sequence as `fit` would, and its loss is its own mean over its batch, so the
gradient it receives is that of a separate run. Metrics stay on the device during an
epoch and are read once at its end.

`Accel` holds the speed settings; none of them changes the mathematics, only rounding:
- `tf32`: TensorFloat-32 matmuls on CUDA;
- `autocast="bf16"`: bfloat16 autocast of the forward pass (CPU or CUDA);
- `compile`: `torch.compile` of the forward pass and the loss;
- `cuda_graphs`: the whole training step (batch building, forward, backward, optimizer)
  captured once as a CUDA graph after a few eager warm-up steps, then replayed; only the
  per-member random draws and two copies into the graph's inputs stay outside.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor
from tqdm.auto import tqdm

from hypermod.ensemble import Ensemble
from hypermod.train import Task, TrainConfig, diverged_row, make_optimizer


class EnsembleTask(Task, Protocol):
    """What `fit_ensemble` needs beyond `fit`'s Task: the random draws and the batch built
    from them kept apart (so the members' draws come from their own generators), and one
    loss per sample (so each member's mean is its own)."""

    def train_noise(self, count: int, generator: torch.Generator) -> Tensor | None: ...

    def batch_from(self, index: Tensor, noise: Tensor | None
                   ) -> tuple[tuple[Tensor, ...], Tensor]: ...

    def sample_losses(self, output: Tensor, target: Tensor) -> Tensor: ...


AUTOCASTS = ("none", "bf16")
WARMUP_STEPS = 3  # eager steps before a CUDA graph is captured (allocator, cuBLAS handles)


@dataclass(frozen=True)
class Accel:
    """Speed settings for `fit_ensemble`; all off by default (exact float32).

    Attributes:
        tf32: allow TensorFloat-32 in CUDA matmuls and convolutions.
        autocast: "none" or "bf16" (bfloat16 autocast of the forward pass).
        compile: `torch.compile` the forward pass and the loss.
        cuda_graphs: capture the whole training step as a CUDA graph (CUDA only).
    """

    tf32: bool = False
    autocast: str = "none"
    compile: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.autocast not in AUTOCASTS:
            raise ValueError(f"unknown autocast {self.autocast!r}; choose one of {AUTOCASTS}")
        if self.compile and self.cuda_graphs:
            raise ValueError("choose compile or cuda_graphs, not both")

    def check_device(self, device: torch.device) -> None:
        """Refuse settings the device cannot honour, naming them."""
        if self.cuda_graphs and device.type != "cuda":
            raise ValueError(f"cuda_graphs needs a CUDA device; the model is on {device}")


@contextlib.contextmanager
def _tf32(enabled: bool):
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _autocast(accel: Accel, device: torch.device):
    if accel.autocast == "none":
        return contextlib.nullcontext()
    # cache_enabled=False: the weight-cast cache must not outlive a CUDA graph capture.
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)


def _stack_batch(task: EnsembleTask, index: Tensor, noise: Tensor | None):
    """Members' batches built as one: index (S, b), noise (S, b) or None ->
    inputs (S, b, ...) and targets (S, b)."""
    s, b = index.shape
    inputs, target = task.batch_from(index.reshape(-1), None if noise is None
                                     else noise.reshape(-1))
    return tuple(t.reshape(s, b, *t.shape[1:]) for t in inputs), target.reshape(s, b)


class _Stepper:
    """One training step of the ensemble, eager or replayed from a CUDA graph."""

    def __init__(self, model: Ensemble, task: EnsembleTask, optimizer: torch.optim.Optimizer,
                 accel: Accel, device: torch.device):
        self.model, self.task, self.optimizer = model, task, optimizer
        self.accel, self.device = accel, device
        self.losses_of = self._member_losses
        if accel.compile:
            self.losses_of = torch.compile(self._member_losses)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.warm = 0

    def _member_losses(self, inputs: tuple[Tensor, ...], target: Tensor) -> Tensor:
        """(S,) each member's mean loss over its batch."""
        s, b = target.shape
        with _autocast(self.accel, self.device):
            out = self.model(*inputs)  # (S, b, C)
        flat = out.float().reshape(s * b, -1)
        return self.task.sample_losses(flat, target.reshape(-1)).reshape(s, b).mean(dim=1)

    def eager(self, index: Tensor, noise: Tensor | None) -> Tensor:
        """Train on one batch per member; (S,) member losses times the batch size."""
        inputs, target = _stack_batch(self.task, index, noise)
        losses = self.losses_of(inputs, target)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # member k's parameters get member k's gradient alone
        self.optimizer.step()
        return losses.detach() * index.shape[1]

    def __call__(self, index: Tensor, noise: Tensor | None, full: bool) -> Tensor:
        if not self.accel.cuda_graphs or not full:
            return self.eager(index, noise)
        if self.graph is None and self.warm < WARMUP_STEPS:
            self.warm += 1
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                out = self.eager(index, noise)
            torch.cuda.current_stream(self.device).wait_stream(side)
            return out
        if self.graph is None:
            self._capture(index, noise)
        self.static_index.copy_(index)
        if noise is not None:
            self.static_noise.copy_(noise)
        self.graph.replay()
        return self.static_out.clone()

    def _capture(self, index: Tensor, noise: Tensor | None) -> None:
        self.static_index = index.clone()
        self.static_noise = None if noise is None else noise.clone()
        self.optimizer.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_out = self.eager(self.static_index, self.static_noise)


@torch.no_grad()
def evaluate_ensemble(model: Ensemble, task: EnsembleTask, batch_size: int = 1000,
                      accel: Accel | None = None) -> tuple[list[float], list[float]]:
    """Each member's mean test loss and test error on the task's test set."""
    accel = accel or Accel()
    device = model.stacked[0].device
    s = model.size
    loss_sum = torch.zeros(s, device=device)
    wrong = torch.zeros(s, device=device, dtype=torch.long)
    count = 0
    was_training = model.training
    model.eval()
    for inputs, target in task.test_batches(batch_size):
        b = target.shape[0]
        stacked = tuple(t.unsqueeze(0).expand(s, *t.shape) for t in inputs)
        with _autocast(accel, device):
            out = model(*stacked).float()  # (S, b, C)
        loss_sum += task.sample_losses(out.reshape(s * b, -1), target.repeat(s)).view(s, b).sum(1)
        wrong += (out.argmax(dim=-1) != target).sum(dim=1)
        count += b
    model.train(was_training)
    return (loss_sum / count).tolist(), (wrong.double() / count).tolist()


def fit_ensemble(
    model: Ensemble,
    task: EnsembleTask,
    config: TrainConfig,
    seeds: Sequence[int],
    accel: Accel | None = None,
    progress: bool = True,
    on_epoch: Callable[[list[dict[str, Any] | None]], None] | None = None,
) -> list[list[dict[str, Any]]]:
    """Train the ensemble's members on `task`; return each member's metrics per epoch.

    Member k is trained as `fit(member_k, task, replace(config, seed=seeds[k]))` would
    train it (config.seed itself is not used). A member whose training loss stops being
    finite, or whose test loss does after a finite epoch, is recorded as diverged in that
    epoch (`diverged_row`, as `fit` does) and its history ends there; the others go on.
    `on_epoch` gets, after each epoch, the new row of every member (None for members that
    had already diverged).
    """
    accel = accel or Accel()
    device = model.stacked[0].device
    accel.check_device(device)
    if len(seeds) != model.size:
        raise ValueError(f"{len(seeds)} seeds for an ensemble of {model.size} members")
    gens = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]
    optimizer = make_optimizer(config, model.parameters())
    if accel.cuda_graphs and "capturable" in optimizer.defaults:
        for group in optimizer.param_groups:
            group["capturable"] = True
    stepper = _Stepper(model, task, optimizer, accel, device)
    n, bs, s = task.num_train, config.batch_size, model.size
    histories: list[list[dict[str, Any]]] = [[] for _ in range(s)]
    alive = [True] * s
    last_loss: list[float | None] = [None] * s
    with _tf32(accel.tf32):
        for epoch in range(1, config.epochs + 1):
            model.train()
            start = time.perf_counter()
            orders = torch.stack([torch.randperm(n, generator=g, device=device) for g in gens])
            loss_sum = torch.zeros(s, device=device)
            bar = tqdm(range(0, n, bs), desc=f"epoch {epoch}/{config.epochs} ({s} seeds)",
                       unit="batch", disable=not progress, leave=False, mininterval=0.5)
            for first in bar:
                index = orders[:, first : first + bs]  # (S, b)
                b = index.shape[1]
                draws = [task.train_noise(b, g) for g in gens]
                noise = None if draws[0] is None else torch.stack(draws)
                loss_sum += stepper(index, noise, full=b == bs)
            train_loss = (loss_sum / n).tolist()  # the epoch's one host sync
            seconds = time.perf_counter() - start
            test_loss, test_error = evaluate_ensemble(model, task, config.test_batch_size,
                                                      accel)
            rows: list[dict[str, Any] | None] = []
            for k in range(s):
                if not alive[k]:
                    rows.append(None)
                    continue
                if not math.isfinite(train_loss[k]):
                    alive[k] = False
                    row = {**diverged_row(epoch, last_loss[k], seconds, n * s), "ensemble_size": s}
                elif not math.isfinite(test_loss[k]):
                    # A finite epoch mean, but the last steps broke the weights: as `fit`.
                    alive[k] = False
                    row = {**diverged_row(epoch, train_loss[k], seconds, n * s), "ensemble_size": s}
                else:
                    last_loss[k] = train_loss[k]
                    # samples/s is the whole ensemble's, as `ensemble_size` says
                    row = {"epoch": epoch, "train_loss": train_loss[k],
                           "test_loss": test_loss[k], "test_error": test_error[k],
                           "train_seconds": seconds, "samples_per_second": n * s / seconds,
                           "ensemble_size": s}
                histories[k].append(row)
                rows.append(row)
            if progress:
                live = [k for k in range(s) if alive[k]]
                errs = [test_error[k] for k in live]
                tqdm.write(f"epoch {epoch}: {len(live)}/{s} members training, test error "
                           f"{min(errs, default=math.nan):.4f}..{max(errs, default=math.nan):.4f}"
                           f" ({n * s / seconds:.0f} samples/s)")
            if on_epoch is not None:
                on_epoch(rows)
            if not any(alive):
                break
    return histories
