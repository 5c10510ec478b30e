"""rotation-depth: test error of both methods as the encoder (f or e) deepens."""

from hypermod.experiments.rotation_depth.experiment import (
    FULL,
    NAME,
    QUICK,
    ROW_FIELDS,
    RotationDepthConfig,
    run,
    run_ensemble,
    units,
)
from hypermod.experiments.rotation_depth.report import report, summarize
from hypermod.sweep import Experiment

EXPERIMENT = Experiment(
    name=NAME,
    description="hypernetwork vs embedding method on rotation prediction, encoder depth 2..9",
    full=FULL,
    quick=QUICK,
    datasets=("digits", "mnist", "fashion-mnist", "cifar10"),
    units=units,
    run=run,
    run_ensemble=run_ensemble,
    grid_fields=("datasets", "methods", "depths", "seeds", "tune_lr"),
    tunable=("lr",),
    report=report,
    row_fields=ROW_FIELDS,
)

__all__ = ["EXPERIMENT", "FULL", "NAME", "QUICK", "ROW_FIELDS", "RotationDepthConfig", "report",
           "run", "run_ensemble", "summarize", "units"]
