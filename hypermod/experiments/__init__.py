"""The registry of the paper's experiments: name -> Experiment (config, units, run, report)."""

from hypermod.experiments.registry import (
    EXPERIMENTS,
    available_datasets,
    get_experiment,
    settings_for,
)

__all__ = ["EXPERIMENTS", "available_datasets", "get_experiment", "settings_for"]
