"""The pinned runs behind tests/test_golden.py: tiny seeded CPU runs through the public API.

Each case returns plain JSON data: the numbers a run produced (losses, errors, distances)
and the key sets of the records it wrote, with the fields that vary between runs (times,
environment, code version) left out. `tests/golden/record.py` stores them; the test reruns
them and compares floats within `tolerance(name)` and everything else exactly.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

# Fields whose values change from run to run: the test checks they exist, not their value.
VOLATILE = {"train_seconds", "samples_per_second", "wall_seconds", "started_at",
            "environment", "code", "seconds", "path", "worker"}


# How far a pinned float may move on another CPU, relative. Measured on 2026-12-02 (torch
# 2.13.0, one thread, against numbers recorded on an AVX-512 Xeon): under
# ATEN_CPU_CAPABILITY=avx2 and =default every short case moved by at most 1.8e-7, and
# the seed ensembles by 1.7e-7 even on the recording machine (batched matmuls sum in
# another order than separate runs); modularity-scaling, whose Adam passes and early
# stopping amplify the first rounding difference, moved by up to 2.9e-3 under default
# (0 under avx2), with every step count and stopping epoch unchanged. The limits leave a
# margin of about 50x and 10x over those.
RELATIVE = 1e-5
RELATIVE_LONG = {"sweep-modularity-scaling": 3e-2}
# A test error may move by one test sample of the 200 these cases score (an argmax that
# sits on a tie of two logits); the losses beside it still pin the run to 1e-5.
ERROR_STEP = 1 / 200 + 1e-12


def tolerance(name: str) -> float:
    """The relative tolerance of case `name`'s floats."""
    return RELATIVE_LONG.get(name, RELATIVE)


def _strip(value: Any) -> Any:
    """`value` with the volatile fields of every dict removed (recursively)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _keys(record: dict[str, Any]) -> dict[str, list[str]]:
    """The key set of a record and of its nested dicts one level down."""
    out = {"": sorted(record)}
    for key, value in record.items():
        if isinstance(value, dict):
            out[key] = sorted(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out[f"{key}[]"] = sorted(value[0])
    return out


def _rotation_run(method: str, seed: int = 1):
    from hypermod.models import paper
    from hypermod.training import TrainConfig
    from hypermod.training.run import RotationRun

    return RotationRun(dataset="digits", model=paper(method, depth=2),
                       train=TrainConfig(epochs=2, lr=0.05, seed=seed),
                       limit_train=300, limit_test=200, device="cpu")


def single_run(method: str) -> dict[str, Any]:
    from hypermod.training.run import run_rotation

    with tempfile.TemporaryDirectory() as tmp:
        result = run_rotation(_rotation_run(method), Path(tmp), progress=False)
        on_disk = __import__("json").loads((Path(tmp) / "result.json").read_text())
    return {"keys": _keys(on_disk), "epochs": _strip(result["epochs"]),
            "param_counts": result["param_counts"], "status": result["status"]}


def ensemble_run(method: str) -> dict[str, Any]:
    from hypermod.training.run import train_rotation

    trained = train_rotation(_rotation_run(method), [1, 2], progress=False)
    return {"epochs": [_strip(h) for h in trained.histories]}


def sweep(name: str, epochs: int | None = None, **changes: Any) -> dict[str, Any]:
    from hypermod.experiments import get_experiment
    from hypermod.sweep import SweepContext, run_sweep

    experiment = get_experiment(name)
    config = replace(experiment.quick, **changes)
    if epochs is not None:  # the experiment's train group
        config = replace(config, train=replace(config.train, epochs=epochs))
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(experiment, config, tmp, SweepContext("cpu", progress=False),
                  log=lambda _: None)
        paths = sorted((Path(tmp) / name / "runs").glob("*.json"))
        records = [__import__("json").loads(p.read_text()) for p in paths]
    return {"files": [p.name for p in paths], "keys": _keys(records[0]),
            "rows": {p.name: _strip(r["rows"]) for p, r in zip(paths, records)}}


CASES = {
    "run-hyper": lambda: single_run("hyper"),
    "run-embedding": lambda: single_run("embedding"),
    "ensemble-hyper": lambda: ensemble_run("hyper"),
    "ensemble-embedding": lambda: ensemble_run("embedding"),
    "sweep-rotation-depth": lambda: sweep("rotation-depth", depths=(2,), epochs=2, seeds=2,
                                          limit_train=300, limit_test=200),
    "sweep-rotation-depth-single": lambda: sweep("rotation-depth", depths=(2,), epochs=1,
                                                 seeds=1, limit_train=300, limit_test=200),
    "sweep-rotation-embedding": lambda: sweep("rotation-embedding", embedding_dims=(650,),
                                              lrs=(0.05,), epochs=2, seeds=2,
                                              limit_train=300, limit_test=200),
    "sweep-assumption1": lambda: sweep("assumption1", epochs=2, noise_size=256, seeds=1),
    "sweep-assumption2": lambda: sweep("assumption2", widths=(2, 8), epochs=2, seeds=1,
                                       limit_train=300, limit_test=200),
    "sweep-modularity-scaling": lambda: sweep("modularity-scaling", widths=(2,), max_steps=60,
                                              mlp_widths=(8,), seeds=1),
}
