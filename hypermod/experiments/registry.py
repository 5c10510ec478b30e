"""Name -> experiment, and the choice of data sets a run can use on this machine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hypermod.data import DataError, find_dataset
from hypermod.experiments import (
    assumption1,
    assumption2,
    conditioning_zoo,
    modularity_scaling,
    oracle_scaling,
    rotation_depth,
    rotation_embedding,
)
from hypermod.sweep import Experiment

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        rotation_depth.EXPERIMENT,
        rotation_embedding.EXPERIMENT,
        assumption1.EXPERIMENT,
        assumption2.EXPERIMENT,
        modularity_scaling.EXPERIMENT,
        oracle_scaling.EXPERIMENT,
        conditioning_zoo.EXPERIMENT,
    )
}

# Inputs that need no files: scikit-learn's bundled digits, generated noise, and the
# synthetic targets of modularity-scaling.
BUILT_IN = ("digits", "uniform", "smooth", "structured")


def get_experiment(name: str) -> Experiment:
    """The registered experiment called `name`; ValueError lists the names."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)}") \
            from None


def is_available(name: str, data_dir: str | Path | None = None) -> bool:
    """Whether the inputs called `name` can be used here without a download."""
    if name in BUILT_IN:
        return True
    try:
        find_dataset(name, data_dir)
    except DataError:
        return False
    return True


def require_datasets(names: tuple[str, ...], data_dir: str | Path | None = None) -> None:
    """Fail now, not hours into a sweep, if one of `names` cannot be found here.

    Raises the data layer's error (it lists the places searched and the fetch command),
    or ValueError for a name that is no data set at all.
    """
    for name in names:
        if name not in BUILT_IN:
            find_dataset(name, data_dir)


def available_datasets(experiment: Experiment, data_dir: str | Path | None = None) -> tuple:
    """The data sets `experiment` supports that are usable here without a download."""
    return tuple(name for name in experiment.datasets if is_available(name, data_dir))


def settings_for(
    experiment: Experiment, full: bool = False, datasets: tuple[str, ...] | None = None,
    seeds: int | None = None,
) -> Any:
    """The quick or full config, with the data sets and number of seeds replaced if given."""
    config = experiment.full if full else experiment.quick
    changes: dict[str, Any] = {}
    if datasets is not None:
        unsupported = [d for d in datasets if d not in experiment.datasets]
        if unsupported:
            raise ValueError(f"{experiment.name} does not run on {unsupported}; it supports "
                             f"{list(experiment.datasets)}")
        changes["datasets"] = tuple(datasets)
    if seeds is not None:
        if seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {seeds}")
        changes["seeds"] = seeds
    return replace(config, **changes)
