"""Rotation runs inside a sweep: the rows of a grid point's units, trained as one run or
one ensemble (`hypermod.training.run` is the single-run API this builds on)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from hypermod.sweep import SweepContext, Unit, tuned_settings
from hypermod.training.run import RotationRun, default_activation, hparams, train_rotation
from hypermod.training.tensorboard import TensorBoardLogger

__all__ = ["RotationRun", "default_activation", "unit_rows"]


def unit_rows(spec: RotationRun, items: list[Unit], ctx: SweepContext,
              experiment: str = "rotation") -> dict[str, list[dict[str, Any]]]:
    """A sweep's rows for `spec` per unit key (one unit alone, several as one ensemble):
    per epoch, the unit's point and seed, the metrics and the sizes by role. A unit's
    tuned settings (its "lr", "weight_decay" fields) override `spec.train` for it.

    With `ctx.tensorboard` set, each unit's curves go to TENSORBOARD/experiment/UNIT_KEY.
    """
    board = None
    if ctx.tensorboard is not None:
        board = TensorBoardLogger(ctx.tensorboard, experiment,
                                  [{**u.as_dict(), **hparams(spec)} for u in items],
                                  members=[u.key for u in items])
    with board or nullcontext():
        trained = train_rotation(spec, [u.seed for u in items],
                                 data=ctx.dataset(spec.dataset), accel=ctx.accel,
                                 mode=ctx.ensemble_mode, progress=ctx.progress, on_epoch=board,
                                 trains=[replace(spec.train, seed=u.seed, **tuned_settings(u))
                                         for u in items])
    counts = trained.param_counts  # by role: f and g_generated, or e and q
    return {u.key: [{**u.as_dict(), **epoch, "trainable": counts["trainable"],
                      "param_counts": counts} for epoch in history]
            for u, history in zip(items, trained.histories)}
