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

from hypermod.data import ImageDataset
from hypermod.ensemble import Ensemble
from hypermod.ensemble_train import Accel, fit_ensemble
from hypermod.models import build_model
from hypermod.results import code_version
from hypermod.runs import RotationRun, rotation_record, rotation_task


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
    device, data, task = rotation_task(run, data, data_dir)
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
        record = rotation_record(spec, data, task, model.param_counts(), history, device, code,
                                 started, seconds / len(seeds))
        record["ensemble"] = {"size": len(seeds), "seeds": list(seeds), "mode": mode,
                              "accel": asdict(accel), "wall_seconds": seconds}
        records.append(record)
    return records
