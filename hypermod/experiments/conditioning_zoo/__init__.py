"""conditioning-zoo: every conditioning method at matched budgets on three tasks."""

from hypermod.experiments.conditioning_zoo.experiment import (
    FULL,
    NAME,
    QUICK,
    ROW_FIELDS,
    ZooExperimentConfig,
    run,
    run_ensemble,
    units,
)
from hypermod.experiments.conditioning_zoo.report import report, summarize
from hypermod.sweep import Experiment

EXPERIMENT = Experiment(
    name=NAME,
    description="every conditioning method at matched parameter budgets on rotation "
                "prediction, a structured synthetic target and implicit neural "
                "representations",
    full=FULL,
    quick=QUICK,
    datasets=("digits", "mnist", "fashion-mnist", "structured"),
    units=units,
    run=run,
    run_ensemble=run_ensemble,
    grid_fields=("datasets", "tasks", "methods", "budgets", "designs", "init_ablation",
                 "ablation_budgets",
                 "seeds", "tune_lr",
                 "tune_weight_decay"),
    tunable=("lr", "weight_decay"),
    report=report,
    row_fields=ROW_FIELDS,
)

__all__ = ["EXPERIMENT", "ZooExperimentConfig", "summarize"]
