"""Sweeps that survive interruption: one result file per (grid point, seed).

Layout of a sweep directory `DIR/EXPERIMENT/`:
    sweep.json         the experiment's config (seeds aside); a rerun must match it
    runs/<key>.json    one finished unit: its point, seed, rows, environment, timing

A unit's file is written atomically when the unit finishes, so a killed sweep (SIGINT
or SIGKILL) loses only the units in flight; rerunning skips every unit whose file is
present and valid, and redoes the rest. Stray temporary files from a killed run are
removed at the start.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from hypermod.reporting import Section
from hypermod.results import SCHEMA, code_version, environment, read_json, write_json_atomic
from hypermod.train import resolve_device

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
    """A registered experiment: its config type, settings, grid and run function.

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


class SweepContext:
    """What a unit's run may ask of the sweep: data sets (loaded once), device, progress."""

    def __init__(self, device: str = "auto", data_dir: str | Path | None = None,
                 progress: bool = True):
        self.device = str(resolve_device(device))  # "auto" resolved once, recorded as is
        self.data_dir = data_dir
        self.progress = progress
        # The code this process runs is the code loaded now, whatever HEAD becomes later.
        self.code = code_version()
        self._cache: dict[str, Any] = {}

    def dataset(self, name: str):
        """The data set called `name`, loaded on first use and kept for later units."""
        from hypermod.data import load_dataset

        if name not in self._cache:
            self._cache[name] = load_dataset(name, self.data_dir)
        return self._cache[name]


def config_record(config: Any) -> dict[str, Any]:
    """The config as JSON-ready data, without the number of seeds (a rerun may add seeds)."""
    record = json.loads(json.dumps(asdict(config), default=list))
    record.pop("seeds", None)
    return record


def check_same_config(directory: Path, config: Any, grid_fields: Iterable[str] = ()) -> None:
    """Record the config in `directory/sweep.json`, or refuse one whose settings differ.

    Fields in `grid_fields` may differ: they change which units run, not what a unit
    computes, so finished units stay valid.
    """
    path = directory / "sweep.json"
    record = config_record(config)
    if path.exists():
        old = read_json(path)["config"]
        keys = (old.keys() | record.keys()) - set(grid_fields)
        diff = sorted(k for k in keys if old.get(k) != record.get(k))
        if diff:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {record.get(k)!r}" for k in diff)
            raise ValueError(
                f"{directory} holds a sweep with other settings ({detail}); use another "
                f"--out directory or delete {path} to start over"
            )
    write_json_atomic(path, {"schema": SCHEMA, "config": record})


def finished(path: Path) -> bool:
    """Whether `path` is a complete unit file (a corrupt one counts as unfinished)."""
    try:
        record = read_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("status") == "finished"


def run_sweep(
    experiment: Experiment,
    config: Any,
    out: str | Path,
    context: SweepContext | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, int]:
    """Run every unit of `experiment` under `config` not already finished in `out`.

    Returns counts: {"total", "skipped", "ran"}. Unit files land in
    `out/<experiment>/runs/`; see the module docstring for the guarantees.
    """
    context = context or SweepContext()
    directory = Path(out) / experiment.name
    runs = directory / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    check_same_config(directory, config, experiment.grid_fields)
    for stray in runs.glob(".*.tmp"):
        stray.unlink()  # left by a run killed mid-write; its unit is redone below

    todo = experiment.units(config)
    pending = [u for u in todo if not finished(runs / f"{u.key}.json")]
    log(f"{experiment.name}: {len(todo)} runs, {len(todo) - len(pending)} already finished, "
        f"{len(pending)} to run -> {directory}")
    bar = tqdm(pending, desc=experiment.name, unit="run", disable=not context.progress)
    for item in bar:
        bar.set_postfix_str(item.key, refresh=True)
        started = datetime.now(timezone.utc)
        wall = time.perf_counter()
        rows = experiment.run(config, item, context)
        write_json_atomic(runs / f"{item.key}.json", {
            "schema": SCHEMA,
            "status": "finished",
            "experiment": experiment.name,
            "unit": item.as_dict(),
            "config": config_record(config),
            "rows": rows,
            "environment": environment(context.device),
            "code": context.code,
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": time.perf_counter() - wall,
        })
    return {"total": len(todo), "skipped": len(todo) - len(pending), "ran": len(pending)}


def load_units(directory: str | Path) -> dict[str, list[dict[str, Any]]]:
    """All finished unit files under `directory`, grouped by experiment name."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(Path(directory).rglob("runs/*.json")):
        if not finished(path):
            continue
        record = read_json(path)
        record["path"] = str(path)
        grouped.setdefault(record["experiment"], []).append(record)
    return grouped


def override(config: Any, assignments: Iterable[str]) -> Any:
    """A copy of the frozen `config` with `key=value` assignments applied.

    Values are parsed to the type of the field's current value: numbers, booleans,
    None, and comma-separated tuples. Unknown keys and unparsable values raise
    ValueError naming the key and what was expected.
    """
    known = {f.name: f for f in fields(config)}
    changes: dict[str, Any] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"override {text!r} is not of the form key=value")
        if key not in known:
            raise ValueError(
                f"unknown setting {key!r} for {type(config).__name__}; known: {sorted(known)}"
            )
        changes[key] = _parse_like(getattr(config, key), value.strip(), key)
    return replace(config, **changes)


def _parse_like(current: Any, text: str, key: str) -> Any:
    if text.lower() == "none":
        return None
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if isinstance(current, tuple):
            kind = type(current[0]) if current else str
            return tuple(_parse_like(kind(), part.strip(), key) for part in text.split(",") if part)
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if current is None:  # an optional field left at None: take a number if it is one
            for kind in (int, float):
                try:
                    return kind(text)
                except ValueError:
                    pass
        return text
    except ValueError:
        raise ValueError(
            f"setting {key!r} expects a {type(current).__name__}, got {text!r}"
        ) from None
