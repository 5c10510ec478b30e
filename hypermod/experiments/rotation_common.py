"""What the two rotation experiments share: a unit's rows from its result record, and
running a unit alone or a grid point's seeds as one ensemble."""

from __future__ import annotations

from typing import Any

from hypermod.ensemble_runs import run_rotation_ensemble
from hypermod.runs import RotationRun, run_rotation
from hypermod.sweep import SweepContext, Unit


def rows(item: Unit, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per epoch: the unit's point and seed, the epoch's metrics, the sizes."""
    counts = result["param_counts"]  # by role: f and g_generated, or e and q
    return [{**item.as_dict(), **epoch, "trainable": counts["trainable"], "param_counts": counts}
            for epoch in result["epochs"]]


def run_one(spec: RotationRun, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train the run `spec` describes for `item`; its rows."""
    return rows(item, run_rotation(spec, data=ctx.dataset(spec.dataset), progress=ctx.progress))


def run_seeds(spec: RotationRun, items: list[Unit],
              ctx: SweepContext) -> dict[int, list[dict[str, Any]]]:
    """Train `spec` for every unit's seed as one ensemble; rows per seed as `run_one`'s."""
    results = run_rotation_ensemble(spec, [u.seed for u in items],
                                    data=ctx.dataset(spec.dataset), accel=ctx.accel,
                                    mode=ctx.ensemble_mode, progress=ctx.progress)
    return {u.seed: rows(u, r) for u, r in zip(items, results)}
