"""The registry of the paper's experiments: name -> Experiment (config, units, run, report)."""

from hypermod.experiments.registry import (
    BUILT_IN,
    EXPERIMENTS,
    available_datasets,
    get_experiment,
    require_datasets,
    settings_for,
)

__all__ = [
    "BUILT_IN",
    "EXPERIMENTS",
    "available_datasets",
    "get_experiment",
    "require_datasets",
    "settings_for",
]
