"""One rotation-prediction run, from a frozen config to a self-describing result file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from hypermod.checkpoint import load_checkpoint
from hypermod.data import ImageDataset, load_dataset
from hypermod.models import DEFAULT_ACTIVATION, ModelConfig, build_model
from hypermod.results import (
    SCHEMA,
    append_jsonl,
    code_version,
    environment,
    write_atomic,
    write_json_atomic,
)
from hypermod.tasks.rotation import RotationConfig, RotationTask
from hypermod.train import TrainConfig, fit, resolve_device, run_status

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class RotationRun:
    """Everything that defines a rotation-prediction run.

    Attributes:
        dataset: "digits", "mnist", "fashion-mnist" or "cifar10".
        model: architecture (method, encoder depth, ...).
        train: optimization (epochs, lr, seed, ...).
        task: rotation settings (bins, binning, interpolation, test angles).
        limit_train, limit_test: use only the first N training / test images.
        device: "auto", "cpu" or "cuda[:N]".
    """

    dataset: str = "mnist"
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    task: RotationConfig = field(default_factory=RotationConfig)
    limit_train: int | None = None
    limit_test: int | None = None
    device: str = "auto"


def default_activation(dataset: str) -> str:
    """The activation of g and q that the reference uses for `dataset`."""
    return DEFAULT_ACTIVATION.get(dataset, "relu")


def run_rotation(
    run: RotationRun,
    out_dir: str | Path | None = None,
    data: ImageDataset | None = None,
    data_dir: str | Path | None = None,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Train and evaluate one model on rotation prediction; return the result record.

    With `out_dir`, each epoch's metrics are appended to `out_dir/metrics.jsonl` as they
    come, the training state is checkpointed to `out_dir/checkpoint.pt` after every
    epoch, and the whole record is written atomically to `out_dir/result.json` at the
    end. With `resume`, a run killed midway continues from its checkpoint (on the CPU,
    bit for bit as if it had not stopped); without, the run starts afresh. Pass `data` to
    reuse a data set already in memory (sweeps); otherwise it is loaded by name from
    `data_dir` or the usual places.

    The record's `status` is "finished", or "diverged" with the epoch and the last finite
    train loss when the loss became NaN or infinite (training then stops).
    """
    started = datetime.now(timezone.utc)
    wall = time.perf_counter()
    code = code_version()  # before training: HEAD may move while a long run goes on
    device, data, task = rotation_task(run, data, data_dir)
    torch.manual_seed(run.train.seed)
    model = build_model(run.model, task.input_dim, task.input_dim, task.num_outputs).to(device)

    log = checkpoint = resumed_after = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        log, checkpoint = out_dir / "metrics.jsonl", out_dir / CHECKPOINT
        # A rerun starts afresh: an old result must not outlive a rerun killed midway.
        (out_dir / "result.json").unlink(missing_ok=True)
        if resume and checkpoint.exists():
            # The log may hold an epoch the checkpoint lacks (killed between the two):
            # rewrite it from the checkpoint, which the resumed run continues.
            done = load_checkpoint(checkpoint)["history"]
            resumed_after = done[-1]["epoch"]
            lines = "".join(json.dumps(row) + "\n" for row in done)
            write_atomic(log, lambda fh: fh.write(lines.encode()))
        else:
            log.unlink(missing_ok=True)
            checkpoint.unlink(missing_ok=True)

    def on_epoch(metrics: dict[str, Any]) -> None:
        if log is not None:
            append_jsonl(log, metrics)

    meta = asdict(run)
    for key in ("train", "device"):  # fit checks the former; the latter may change
        meta.pop(key)
    history = fit(model, task, run.train, progress=progress, on_epoch=on_epoch,
                  checkpoint=checkpoint, resume=resume, meta=meta)
    result = rotation_record(run, data, task, model.param_counts(), history, device, code,
                             started, time.perf_counter() - wall)  # of this process
    result["resumed_after_epoch"] = resumed_after
    if out_dir is not None:
        write_json_atomic(out_dir / "result.json", result)
    return result


def rotation_record(run: RotationRun, data: ImageDataset, task: RotationTask,
                    param_counts: dict[str, int], history: list[dict[str, Any]],
                    device: torch.device, code: dict[str, Any], started: datetime,
                    wall_seconds: float) -> dict[str, Any]:
    """The result record of one finished (or diverged) rotation run."""
    return {
        "schema": SCHEMA,
        "kind": "rotation",
        **run_status(history),
        "config": asdict(run),
        "dataset": {
            "name": data.name,
            "source": data.source,
            "num_train": task.num_train,
            "num_test": task.num_test,
            "image_shape": list(data.image_shape),
        },
        "param_counts": param_counts,
        "epochs": history,
        "final": history[-1],
        "environment": environment(device),
        "code": code,
        "started_at": started.isoformat(timespec="seconds"),
        "wall_seconds": wall_seconds,
    }


def rotation_task(run: RotationRun, data: ImageDataset | None = None,
                  data_dir: str | Path | None = None
                  ) -> tuple[torch.device, ImageDataset, RotationTask]:
    """The device, data set and task of `run`; `data` must be the data set it names."""
    device = resolve_device(run.device)
    if data is None:
        data = load_dataset(run.dataset, data_dir)
    elif data.name != run.dataset:
        raise ValueError(f"run asks for data set {run.dataset!r} but got {data.name!r}")
    return device, data, RotationTask(data, run.task, device, run.limit_train, run.limit_test)
