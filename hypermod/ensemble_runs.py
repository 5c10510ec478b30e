"""Rotation-prediction runs of several seeds at once, as one ensemble.

`run_rotation_ensemble(run, seeds)` returns the result records that
`run_rotation(replace(run, train=replace(run.train, seed=s)))` would return for each seed
s, up to float rounding, from one pass over the data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from hypermod.data import ImageDataset, load_dataset
from hypermod.ensemble import Ensemble
from hypermod.ensemble_train import Accel, fit_ensemble
from hypermod.models import build_model
from hypermod.results import SCHEMA, code_version, environment
from hypermod.runs import RotationRun
from hypermod.tasks.rotation import RotationTask
from hypermod.train import resolve_device, run_status


def run_rotation_ensemble(
    run: RotationRun,
    seeds: Sequence[int],
    data: ImageDataset | None = None,
    data_dir: str | Path | None = None,
    accel: Accel | None = None,
    mode: str = "bmm",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train `run` once per seed, all seeds together; one result record per seed.

    `run.train.seed` is ignored. Member k is initialized as `run_rotation` initializes
    the model for seeds[k] (`torch.manual_seed(seeds[k])`, then the constructor), so the
    records match those of separate runs.
    """
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"an ensemble needs distinct seeds, got {list(seeds)}")
    started = datetime.now(timezone.utc)
    wall = time.perf_counter()
    code = code_version()
    accel = accel or Accel()
    device = resolve_device(run.device)
    if data is None:
        data = load_dataset(run.dataset, data_dir)
    elif data.name != run.dataset:
        raise ValueError(f"run asks for data set {run.dataset!r} but got {data.name!r}")
    task = RotationTask(data, run.task, device, run.limit_train, run.limit_test)
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(build_model(run.model, task.input_dim, task.input_dim, task.num_outputs))
    model = Ensemble(members, mode).to(device)
    histories = fit_ensemble(model, task, run.train, seeds, accel, progress=progress)
    seconds = time.perf_counter() - wall
    records = []
    for seed, history in zip(seeds, histories):
        spec = replace(run, train=replace(run.train, seed=seed))
        records.append({
            "schema": SCHEMA,
            "kind": "rotation",
            **run_status(history),
            "config": asdict(spec),
            "dataset": {
                "name": data.name,
                "source": data.source,
                "num_train": task.num_train,
                "num_test": task.num_test,
                "image_shape": list(data.image_shape),
            },
            "param_counts": model.param_counts(),
            "epochs": history,
            "final": history[-1],
            "environment": environment(device),
            "code": code,
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": seconds / len(seeds),
            "ensemble": {"size": len(seeds), "seeds": list(seeds), "mode": mode,
                         "accel": asdict(accel), "wall_seconds": seconds},
        })
    return records
