"""One training step over S members (a seed ensemble, or S = 1 plain model), eager or
replayed from a CUDA graph."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hypermod.tasks import Task
from hypermod.training.accel import Accel, autocast

WARMUP_STEPS = 3  # eager steps before a CUDA graph is captured (allocator, cuBLAS handles)


def member_batch(task: Task, index: Tensor, noise: Tensor | None, stacked: bool):
    """The members' batches built as one: index (S, b), noise (S, b, ...) or None ->
    inputs (S, b, ...) and targets (S, b); for a plain model (S = 1) the unstacked
    (b, ...) batch."""
    if not stacked:
        return task.batch_from(index[0], None if noise is None else noise[0])
    s, b = index.shape
    inputs, target = task.batch_from(index.reshape(-1), None if noise is None
                                     else noise.reshape(s * b, *noise.shape[2:]))
    return (tuple(t.reshape(s, b, *t.shape[1:]) for t in inputs),
            target.reshape(s, b, *target.shape[1:]))


class Stepper:
    """Trains the members on one batch each; returns (S,) member losses times the batch.

    A stacked model (`hypermod.models.Ensemble`) gets each member's mean of the task's
    per-sample losses, summed, so member k's parameters receive member k's gradient
    alone; a plain model gets the task's mean loss, exactly as a single run.
    """

    def __init__(self, model: nn.Module, task: Task, optimizer: torch.optim.Optimizer,
                 accel: Accel, device: torch.device, stacked: bool):
        self.model, self.task, self.optimizer = model, task, optimizer
        self.accel, self.device, self.stacked = accel, device, stacked
        self.losses_of = torch.compile(self._losses) if accel.compile else self._losses
        self.graph: torch.cuda.CUDAGraph | None = None
        self.warm = 0

    def _losses(self, inputs: tuple[Tensor, ...], target: Tensor) -> Tensor:
        """(S,) each member's mean loss over its batch."""
        with autocast(self.accel, self.device):
            out = self.model(*inputs)
        if not self.stacked:
            return self.task.losses(out, target, "mean").reshape(1)
        s, b = target.shape[:2]
        flat = out.float().reshape(s * b, *out.shape[2:])
        per_sample = self.task.losses(flat, target.reshape(s * b, *target.shape[2:]), "none")
        return per_sample.reshape(s, b).mean(dim=1)

    def eager(self, index: Tensor, noise: Tensor | None) -> Tensor:
        inputs, target = member_batch(self.task, index, noise, self.stacked)
        losses = self.losses_of(inputs, target)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
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
