"""`hypermod reproduce`: every registered experiment on the data sets found here, then the
report. Planning is apart from running, so the command can say up front what it found,
what it will skip and where to get the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypermod.data import DATASETS, DataError, find_dataset
from hypermod.experiments.registry import (
    BUILT_IN,
    EXPERIMENTS,
    require_datasets,
    settings_for,
)
from hypermod.sweep import Experiment, SweepContext, run_sweep

# How to get each data set that needs files.
HOW_TO_GET = {
    "mnist": "hypermod data fetch mnist",
    "fashion-mnist": "hypermod data fetch fashion-mnist (or apt-get install "
                     "dataset-fashion-mnist)",
    "cifar10": "hypermod data fetch cifar10",
}


@dataclass
class Plan:
    """What a reproduce run will do.

    Attributes:
        runs: (experiment, config) pairs, in registry order.
        found: data set name -> where it is (or "built in").
        missing: data sets some experiment supports that are not here -> how to get them.
        skipped: experiments that run on nothing found or asked for.
    """

    runs: list[tuple[Experiment, Any]] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def plan(full: bool = False, datasets: tuple[str, ...] | None = None, seeds: int | None = None,
         data_dir: str | Path | None = None) -> Plan:
    """The experiments and data sets a reproduce run will use (asked for, else found)."""
    known = set(DATASETS) | set(BUILT_IN)
    if datasets:
        unknown = sorted(set(datasets) - known)
        if unknown:
            raise ValueError(f"unknown data sets {unknown}; choose from {sorted(known)}")
        require_datasets(tuple(datasets), data_dir)
    result = Plan()
    wanted = {d for e in EXPERIMENTS.values() for d in e.datasets}
    for name in sorted(wanted):
        if name in BUILT_IN:
            result.found[name] = "built in"
            continue
        try:
            result.found[name] = str(find_dataset(name, data_dir))
        except DataError:
            result.missing[name] = HOW_TO_GET.get(name, f"hypermod data fetch {name}")
    for experiment in EXPERIMENTS.values():
        use = tuple(d for d in (datasets or experiment.datasets)
                    if d in experiment.datasets and d in result.found)
        if not use:
            result.skipped.append(experiment.name)
            continue
        result.runs.append((experiment, settings_for(experiment, full=full, datasets=use,
                                                     seeds=seeds)))
    if not result.runs:
        raise ValueError(f"no experiment runs on {list(datasets or [])}")
    return result


def describe(p: Plan) -> list[str]:
    """Lines that say what was found, what is skipped and how to get it."""
    lines = ["data sets found: " + ", ".join(f"{k} ({v})" for k, v in p.found.items())]
    lines += [f"not found, skipped: {k} (get it with: {v})" for k, v in p.missing.items()]
    lines += [f"{name}: skipped, none of its data sets was asked for or found"
              for name in p.skipped]
    return lines


def run_plan(p: Plan, out: str | Path, context: SweepContext,
             log: Callable[[str], None] = print) -> dict[str, dict[str, int]]:
    """Run every planned sweep into `out` (resumable); the counts of each."""
    return {experiment.name: run_sweep(experiment, config, out, context, log)
            for experiment, config in p.runs}
