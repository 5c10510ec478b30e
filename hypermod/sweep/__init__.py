"""Sweeps that survive interruption: units, the store of their results, the runner and its
executors (in-process here; `hypermod.sweep.ray` on a Ray cluster)."""

from hypermod.sweep.context import SweepContext, SweepSettings
from hypermod.sweep.runner import (
    Executor,
    InProcess,
    Job,
    Outcome,
    compute,
    groups,
    run_sweep,
)
from hypermod.sweep.spec import (
    TUNABLE,
    Experiment,
    Row,
    Unit,
    check_settings,
    check_train,
    check_tuned,
    config_record,
    group_legacy,
    settings_differ,
    tuned_settings,
    tuned_units,
    unit,
)
from hypermod.sweep.store import SweepStore

__all__ = [
    "Executor",
    "Experiment",
    "InProcess",
    "Job",
    "Outcome",
    "Row",
    "SweepContext",
    "SweepSettings",
    "SweepStore",
    "Unit",
    "check_settings",
    "check_train",
    "group_legacy",
    "compute",
    "config_record",
    "groups",
    "run_sweep",
    "settings_differ",
    "tuned_settings",
    "tuned_units",
    "check_tuned",
    "TUNABLE",
    "unit",
]
