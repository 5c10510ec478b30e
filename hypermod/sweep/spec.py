"""What a sweep is made of: units (a grid point and a seed) and registered experiments."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the context module imports nothing from here
    from hypermod.reporting import Section
    from hypermod.sweep.context import SweepContext

Row = dict[str, Any]


@dataclass(frozen=True)
class Unit:
    """One independent run of a sweep: a grid point and a seed."""

    point: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def key(self) -> str:
        """A file-name-safe identifier, readable: `dataset-mnist_method-hyper_seed-1`."""
        parts = [f"{k}-{v}" for k, v in self.point] + [f"seed-{self.seed}"]
        return re.sub(r"[^A-Za-z0-9.+=_-]", "", "_".join(parts))

    def as_dict(self) -> dict[str, Any]:
        return {**dict(self.point), "seed": self.seed}


def unit(seed: int, **point: Any) -> Unit:
    """A unit from keyword arguments, keeping their order."""
    return Unit(tuple(point.items()), seed)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its config type, settings, grid, run function and report.

    Attributes:
        name: registry key, e.g. "rotation-depth".
        description: one line for listings and the report.
        full: the paper's settings (an instance of the experiment's frozen config).
        quick: settings that finish on 2 CPU cores in about a minute.
        units: config -> the units to run (seeds included; `config.seeds` of them).
        run: (config, unit, context) -> rows of results for that unit.
        datasets: every input set the experiment supports (the paper's and more).
        grid_fields: config fields that only choose which units run (data sets, depths,
            seeds...); a rerun may change them, but not the others.
        report: (finished unit records, report directory) -> the experiment's report
            section; it writes its figures under that directory.
        run_ensemble: optional (config, units of one grid point that differ only in
            seed and tuned settings, context) -> {unit key (or seed): rows}, training
            those units as one ensemble; each unit's rows must be what `run` gives for
            it, up to float rounding.
        row_fields: the fields every row must have for `report`, name -> type (str, int,
            or float, which admits None); a unit file without them is named and skipped.
        tunable: training settings a sweep may tune per member ("lr", "weight_decay"):
            the config's `tune_<name>` values become a unit field each, and the units of
            one grid point that differ only in seed and these fields train as one
            ensemble (`tuned_units`); the report chooses on validation data.
    """

    name: str
    description: str
    full: Any
    quick: Any
    units: Callable[[Any], list[Unit]]
    run: Callable[[Any, Unit, SweepContext], list[Row]]
    datasets: tuple[str, ...] = ()
    grid_fields: tuple[str, ...] = ("seeds",)
    report: Callable[[list[dict[str, Any]], Path], Section] | None = None
    run_ensemble: Callable[[Any, list[Unit], SweepContext], dict[int, list[Row]]] | None = None
    row_fields: dict[str, type] | None = None
    tunable: tuple[str, ...] = ()


TUNABLE = ("lr", "weight_decay")  # what a member of an ensemble may have of its own


def tuned_units(units: list[Unit], config: Any, tunable: Iterable[str] = TUNABLE
                ) -> list[Unit]:
    """Each unit once per combination of the config's tuned values (`tune_lr`,
    `tune_weight_decay`), the value a field of the unit's point; unchanged without any."""
    grids = [(name, getattr(config, f"tune_{name}", ())) for name in tunable]
    grids = [(name, values) for name, values in grids if values]
    out = units
    for name, values in grids:
        out = [Unit((*u.point, (name, float(v))), u.seed) for u in out for v in values]
    return out


def tuned_settings(item: Unit, tunable: Iterable[str] = TUNABLE) -> dict[str, Any]:
    """The unit's tuned settings (the TUNABLE fields of its point), to apply with
    `dataclasses.replace` to the training settings of its member."""
    point = dict(item.point)
    return {k: point[k] for k in tunable if k in point}


def check_tuned(name: str, values: Iterable[float]) -> None:
    """ValueError unless `values` of setting `name` are non-empty, positive (lr) or
    non-negative (weight decay), finite and distinct."""
    values = list(values)
    if not values:
        return
    low = 0.0 if name == "weight_decay" else None
    bad = [v for v in values if not (isinstance(v, int | float) and math.isfinite(v)
                                     and (v >= 0 if low == 0.0 else v > 0))]
    if bad:
        rule = ">= 0" if low == 0.0 else "> 0"
        raise ValueError(f"tune_{name}: values must be finite and {rule}, got {bad}")
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"tune_{name}: {twice} named twice; name each value once")


def check_settings(config: Any, nonempty: Iterable[str] = (), positive: Iterable[str] = (),
                   optional_positive: Iterable[str] = ()) -> None:
    """Raise ValueError naming the first field of `config` that breaks a basic rule.

    For experiment configs' `__post_init__`: tuples that must not be empty, numbers that
    must be positive, and limits that are None or positive.
    """
    name = type(config).__name__
    for field in nonempty:
        if not getattr(config, field):
            raise ValueError(f"{name}.{field} must not be empty")
    for field in positive:
        value = getattr(config, field)
        if isinstance(value, tuple):
            bad = [v for v in value if not (v > 0 and math.isfinite(v))]
            if bad:
                raise ValueError(f"{name}.{field} must hold positive finite values, got {bad}")
        elif not value > 0:
            raise ValueError(f"{name}.{field} must be positive, got {value}")
        elif not math.isfinite(value):
            raise ValueError(f"{name}.{field} must be finite, got {value}")
    for field in optional_positive:
        value = getattr(config, field)
        if value is not None and not value > 0:
            raise ValueError(f"{name}.{field} must be None or positive, got {value}")


def config_record(config: Any) -> dict[str, Any]:
    """The config as JSON-ready data, without the number of seeds (a rerun may add seeds)."""
    record = json.loads(json.dumps(asdict(config), default=list))
    record.pop("seeds", None)
    return record


def legacy_settings(config: Any) -> dict[str, Any]:
    """The values that records made before a setting existed ran with: a config class's
    `LEGACY` table (setting, dotted for nested ones -> value), empty when it has none."""
    return dict(getattr(type(config), "LEGACY", {}))


def moved_settings(config: Any) -> dict[str, str]:
    """Where settings of older records now live: a config class's `MOVED` table (old
    name -> dotted new name, e.g. "lr" -> "train.lr"), empty when it has none."""
    return dict(getattr(type(config), "MOVED", {}))


def flat_settings(record: dict[str, Any], moved: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    """A config record as dotted name -> value (nested configs flattened), with the
    names of an older record renamed by `moved`."""
    out: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                out[f"{prefix}{key}"] = value

    walk("", record)
    for old, new in (moved or {}).items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    return out


def settings_differ(old: dict[str, Any], new: dict[str, Any],
                    grid_fields: Iterable[str] = (),
                    legacy: dict[str, Any] | None = None,
                    moved: dict[str, str] | None = None) -> list[str]:
    """The settings, outside `grid_fields`, whose values differ between two config records
    (dotted names for nested configs: "train.lr").

    A setting missing from one record counts as its `legacy` value (what runs made before
    it existed did), so adding a setting whose default keeps the old behaviour leaves old
    sweeps valid; a setting a record holds under an old name counts under its new one
    (`moved`), so moving settings into a nested config does too.
    """
    legacy = legacy or {}
    old, new = flat_settings(old, moved), flat_settings(new, moved)
    grid = set(grid_fields)
    keys = {k for k in old.keys() | new.keys()
            if k not in grid and k.split(".")[0] not in grid} - {"seeds"}

    def value(record: dict[str, Any], key: str) -> Any:
        return record[key] if key in record else legacy.get(key)

    return sorted(k for k in keys if value(old, k) != value(new, k))


def group_legacy(group: Any, prefix: str = "train") -> dict[str, Any]:
    """A `LEGACY` table for a nested config (`train`, `model`): every one of its settings
    at the value `group` gives it (what the experiment used before it held the group)."""
    return {f"{prefix}.{k}": v for k, v in config_record(group).items()}


def check_train(config: Any, default: Any, derived: dict[str, str] | None = None) -> None:
    """ValueError unless the experiment config's `train` leaves alone what the experiment
    sets itself: the seed (each unit's) and the `derived` settings (train setting -> the
    experiment setting it comes from), which must keep their values in `default`."""
    name = type(config).__name__
    if config.train.seed != default.seed:
        raise ValueError(f"{name}: train.seed is each unit's seed (1..seeds); set seeds "
                         f"instead")
    for key, source in (derived or {}).items():
        if getattr(config.train, key) != getattr(default, key):
            raise ValueError(f"{name}: train.{key} follows from {source}; set {source} "
                             f"instead")
