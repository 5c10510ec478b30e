"""The training loop: one model, or a seed ensemble of S, over a task that builds its own
batches on the device.

    history = fit(model, task, TrainConfig(epochs=10, seed=1))            # one run
    histories = train(Ensemble(members), task, config, seeds=[1, 2, 3])   # S at once

Member k draws its data order and its task noise (rotation angles, say) from its own
generator seeded with seeds[k], in the same sequence whatever S is, and its loss is its
own mean over its batch, so each member trains as the separate run with its seed would
(to float rounding for S > 1: batched matmuls sum in another order). Nothing is read back
to the host inside an epoch; the epoch's one sync reads its losses.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hypermod.models import Ensemble
from hypermod.tasks import Task
from hypermod.training.accel import Accel, autocast, tf32
from hypermod.training.checkpoint import restore_checkpoint, save_checkpoint, train_settings
from hypermod.training.config import TrainConfig, make_optimizer, member_configs
from hypermod.training.optim import MemberOptimizer
from hypermod.training.progress import progress_bar, say
from hypermod.training.status import diverged_row
from hypermod.training.step import Stepper
from hypermod.training.stopping import BEST, CUT, STOP, BestWeights, Resumable, Stopping

Row = dict[str, Any]


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, batch_size: int = 1000,
             accel: Accel | None = None, split: str = "test") -> list[dict[str, float]]:
    """Each member's mean loss and error rate on the task's test set (or, with split
    "val", its validation part): one dict for a plain model, S for an `Ensemble`, with
    keys "{split}_loss" and "{split}_error", through the task's own `losses` and `errors`."""
    accel = accel or Accel()
    stacked = isinstance(model, Ensemble)
    size = model.size if stacked else 1
    loss_sums: list[Any] = [0.0] * size
    wrong: list[Any] = [0] * size
    count = 0
    was_training = model.training
    model.eval()
    batches = task.test_batches(batch_size) if split == "test" else task.val_batches(batch_size)
    device = next(model.parameters()).device
    for inputs, target in batches:
        with autocast(accel, device):
            if stacked:
                out = model(*(t.unsqueeze(0).expand(size, *t.shape) for t in inputs)).float()
            else:
                out = model(*inputs).unsqueeze(0)  # (1, b, ...)
        for k in range(size):
            loss_sums[k] = loss_sums[k] + task.losses(out[k], target, "mean") * target.shape[0]
            wrong[k] = wrong[k] + task.errors(out[k], target)
        count += target.shape[0]
    model.train(was_training)
    return [{f"{split}_loss": float(loss) / count, f"{split}_error": float(w) / count}
            for loss, w in zip(loss_sums, wrong)]


def has_validation(task: Task) -> bool:
    """Whether the task holds out a validation part (see `hypermod.tasks.base.Task`)."""
    return getattr(task, "num_val", 0) > 0


def train(
    model: nn.Module,
    task: Task,
    config: TrainConfig | Sequence[TrainConfig],
    seeds: Sequence[int] | None = None,
    accel: Accel | None = None,
    progress: bool = True,
    on_epoch: Callable[[list[Row | None]], None] | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
) -> list[list[Row]]:
    """Train `model` (a plain model, or an `Ensemble` of S members) on `task`; return each
    member's metrics per epoch.

    Args:
        config: the settings, or one per member of an ensemble: members may differ in
            learning rate, weight decay and seed (`config.PER_MEMBER`), each trained by
            its own (`hypermod.training.optim.MemberOptimizer`).
        seeds: one per member (default: each member config's `seed`).
        accel: speed settings (default: none).
        progress: bars (on a terminal) and one line per epoch.
        on_epoch: gets, after each epoch, the new row of every member (None for members
            that had already stopped or diverged), after the checkpoint is written.
        checkpoint, resume: with `checkpoint`, the model, optimizer, generators, torch's
            RNG, the stopping state and the histories are saved there atomically after
            every epoch; with `resume` too, training continues from that file when it
            exists. On the CPU a resumed run ends bit for bit where an uninterrupted one
            does. The file must have been made with the same settings (but the number of
            epochs) and the same `meta`, a JSON-able description of the rest (model,
            data), else ValueError.

    Early stopping (`config.patience`, see `hypermod.training.stopping`): each member is
    judged on the task's validation part after every epoch; a stopped member stops moving
    and its history ends, and at the end every member holds the weights of its best
    epoch. Its rows carry "current_lr" (the schedule of cuts); its last row says why it stopped
    ("stop": "rule" or "cap") and which epoch it reports ("best_epoch").

    Divergence: at the epoch's one host sync each member's train loss is checked; a
    member whose loss is NaN or infinite, or whose test loss is after a finite epoch (its
    last steps broke the weights), gets `diverged_row(...)` for that epoch and its history
    ends there; the others go on, and training stops when none is left.
    """
    accel = accel or Accel()
    stacked = isinstance(model, Ensemble)
    size = model.size if stacked else 1
    configs = member_configs(config, size)
    config = configs[0]
    seeds = list(seeds) if seeds is not None else [c.seed for c in configs]
    if len(seeds) != size:
        raise ValueError(f"{len(seeds)} seeds for a model of {size} members")
    if config.patience is not None and not has_validation(task):
        raise ValueError("early stopping (patience) needs a task with a validation part")
    device = next(model.parameters()).device
    accel.check_device(device)
    gens = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]
    members = [{"lr": c.lr, "weight_decay": c.weight_decay} for c in configs]
    shared = len({str(m) for m in members}) == 1
    # torch's own optimizer wherever one learning rate serves every member for the whole
    # run; ours where members differ or are cut and stopped one by one
    optimizer = (MemberOptimizer(model.parameters(), config.optimizer, [c.lr for c in configs],
                                 [c.weight_decay for c in configs], config.momentum)
                 if stacked and not (shared and config.patience is None)
                 else make_optimizer(config, model.parameters()))
    if accel.cuda_graphs and "capturable" in getattr(optimizer, "defaults", {}):
        for group in optimizer.param_groups:
            group["capturable"] = True
    stepper = Stepper(model, task, optimizer, accel, device, stacked)
    stopping = best = None
    if config.patience is not None:
        stopping = Stopping(config.patience, config.cuts, config.decay,
                            config.min_improvement, size)
        best = BestWeights(model)
    histories: list[list[Row]] = [[] for _ in range(size)]
    settings = train_settings(config, device, meta if shared
                              else {**(meta or {}), "members": members})
    path = Path(checkpoint) if checkpoint is not None else None
    state = optimizer if stopping is None else Resumable(optimizer, stopping, best)
    if path is not None and resume and path.exists():
        histories = restore_checkpoint(path, model, state, gens, config.epochs, settings)
        if progress:
            say(f"resumed from {path} after epoch {max(h[-1]['epoch'] for h in histories)}")
    alive = [not (h and (h[-1].get("diverged") or h[-1].get("stop"))) for h in histories]
    last_loss = [h[-1]["train_loss"] if h else None for h in histories]
    first_epoch = max((h[-1]["epoch"] for h in histories if h), default=0) + 1
    n, bs = task.num_train, config.batch_size
    suffix = f" ({size} members)" if stacked else ""
    with tf32(accel.tf32):
        for epoch in range(first_epoch, config.epochs + 1):
            if not any(alive):
                break
            model.train()
            start = time.perf_counter()
            orders = torch.stack([torch.randperm(n, generator=g, device=device) for g in gens])
            loss_sum = torch.zeros(size, device=device)
            for first in progress_bar(range(0, n, bs), enabled=progress, leave=False,
                                      desc=f"epoch {epoch}/{config.epochs}{suffix}",
                                      unit="batch", mininterval=0.5):
                index = orders[:, first : first + bs]  # (S, b)
                draws = [task.train_noise(index.shape[1], g) for g in gens]
                noise = None if draws[0] is None else torch.stack(draws)
                loss_sum += stepper(index, noise, full=index.shape[1] == bs)
            train_loss = [total / n for total in loss_sum.tolist()]  # the epoch's one sync
            seconds = time.perf_counter() - start
            finite = [alive[k] and math.isfinite(train_loss[k]) for k in range(size)]
            tests = (evaluate(model, task, config.test_batch_size, accel) if any(finite)
                     else [None] * size)
            if any(finite) and has_validation(task):
                vals = evaluate(model, task, config.test_batch_size, accel, "val")
                tests = [{**t, **v} for t, v in zip(tests, vals)]
            rows: list[Row | None] = []
            for k in range(size):
                if not alive[k]:
                    rows.append(None)
                    continue
                if not finite[k]:
                    row = diverged_row(epoch, last_loss[k], seconds, n * size)
                elif not math.isfinite(tests[k]["test_loss"]):
                    row = diverged_row(epoch, train_loss[k], seconds, n * size)
                else:
                    last_loss[k] = train_loss[k]
                    # samples/s is the whole ensemble's, as `ensemble_size` says
                    row = {"epoch": epoch, "train_loss": train_loss[k], **tests[k],
                           "train_seconds": seconds, "samples_per_second": n * size / seconds}
                alive[k] = not row.get("diverged")
                if stopping is not None:
                    alive[k] = _judge(row, k, epoch, configs[k], stopping, best,
                                      optimizer) and alive[k]
                if stacked:
                    row["ensemble_size"] = size
                histories[k].append(row)
                rows.append(row)
            if progress:
                say(_epoch_line(epoch, rows, alive, n * size / seconds,
                                getattr(task, "error_name", "error")))
            if path is not None:
                save_checkpoint(path, model, state, gens, histories, settings)
            if on_epoch is not None:
                on_epoch(rows)
    if stopping is not None:
        for k, history in enumerate(histories):
            if alive[k] and history:  # reached the cap still training
                history[-1].update(stop="cap", best_epoch=stopping.best_epoch[k])
        best.restore()
    return histories


def _judge(row: Row, k: int, epoch: int, config: TrainConfig, stopping: Stopping,
           best: BestWeights, optimizer: Any) -> bool:
    """Apply the stopping rule to member k's new row; whether it trains on. Marks the row
    with the member's learning rate and, when it stops, why and its best epoch."""
    if row.get("diverged"):
        stopping.stopped[k] = "diverged"
        return False
    action = stopping.update(k, epoch, row[config.monitor])
    row["current_lr"] = config.lr * config.decay ** stopping.cut[k]  # after its cuts
    if action == BEST:
        best.keep(k)
    elif action == CUT:
        if isinstance(optimizer, MemberOptimizer):
            optimizer.scale(k, config.decay)
        else:
            for group in optimizer.param_groups:
                group["lr"] *= config.decay
    elif action == STOP:
        if isinstance(optimizer, MemberOptimizer):
            optimizer.freeze(k)
        row.update(stop="rule", best_epoch=stopping.best_epoch[k])
        return False
    return True


def selected_row(history: list[Row]) -> Row:
    """The row a run reports: its best validation epoch when it stopped early (or was
    judged for it), else its last epoch."""
    if not history:
        raise ValueError("an empty history has no row to report")
    chosen = history[-1].get("best_epoch")
    if chosen:
        return next(row for row in history if row["epoch"] == chosen)
    return history[-1]


def fit(model: nn.Module, task: Task, config: TrainConfig, progress: bool = True,
        on_epoch: Callable[[Row], None] | None = None, **options: Any) -> list[Row]:
    """Train one plain model; its metrics per epoch (`train` with S = 1, seed config.seed).

    `on_epoch` gets each epoch's metrics dict; other keyword arguments go to `train`.
    """
    hook = None if on_epoch is None else (lambda rows: on_epoch(rows[0]))
    return train(model, task, config, progress=progress, on_epoch=hook, **options)[0]


def _epoch_line(epoch: int, rows: list[Row | None], alive: list[bool], speed: float,
                error: str = "error") -> str:
    if len(rows) == 1:
        row = rows[0]
        if row is None or row.get("diverged"):
            return (f"epoch {epoch}: the loss became NaN or infinite; stopping, the run "
                    f"diverged (last finite train loss: {row and row['last_finite_loss']})")
        return (f"epoch {epoch}: train loss {row['train_loss']:.4f}  test loss "
                f"{row['test_loss']:.4f}  test {error} {row['test_error']:.4f}  "
                f"({speed:.0f} samples/s)")
    errors = [r["test_error"] for r in rows if r is not None and not r.get("diverged")]
    return (f"epoch {epoch}: {sum(alive)}/{len(rows)} members training, test {error} "
            f"{min(errors, default=math.nan):.4f}..{max(errors, default=math.nan):.4f} "
            f"({speed:.0f} samples/s)")
