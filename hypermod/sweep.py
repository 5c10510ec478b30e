"""Sweeps that survive interruption: one result file per (grid point, seed).

Layout of a sweep directory `DIR/EXPERIMENT/`:
    sweep.json         the experiment's config (seeds aside); a rerun must match it
    runs/<key>.json    one finished unit: its point, seed, rows, environment, timing

A unit's file is written atomically when the unit finishes, so a killed sweep (SIGINT
or SIGKILL) loses only the units in flight; rerunning skips every unit whose file is
present and valid, and redoes the rest. Stray temporary files from a killed run are
removed at the start.

A unit is claimed before it runs, with an advisory lock on `runs/.<key>.lock` that the
system drops when its process ends, however it ends: two copies of one sweep started at
once share the units instead of running each twice. A write that fails (a full disk)
stops the sweep with a message naming the file; nothing partial is left.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent copies are not guarded
    fcntl = None

from hypermod.aggregate import Row
from hypermod.data import load_dataset
from hypermod.ensemble_train import Accel
from hypermod.reporting import Section
from hypermod.results import (
    SCHEMA,
    WriteError,
    check_unit_record,
    code_version,
    environment,
    read_json,
    write_json_atomic,
)
from hypermod.train import resolve_device


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
        run_ensemble: optional (config, units of one grid point that differ only in
            seed, context) -> {seed: rows}, training those seeds as one ensemble; each
            seed's rows must be what `run` gives for its unit, up to float rounding.
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


class SweepContext:
    """What a unit's run may ask of the sweep: data sets (loaded once), device, progress.

    Args:
        device: "auto", "cpu" or "cuda[:N]".
        data_dir: where to look for data sets first.
        progress: show progress bars.
        ensemble: train the seeds of a grid point as one ensemble, where the experiment
            can (`Experiment.run_ensemble`).
        max_ensemble: at most this many seeds per ensemble (None: all pending seeds).
        accel: speed settings for ensembles (None: all off).
        ensemble_mode: "bmm" or "vmap" (see `hypermod.ensemble`).
    """

    def __init__(self, device: str = "auto", data_dir: str | Path | None = None,
                 progress: bool = True, ensemble: bool = True, max_ensemble: int | None = None,
                 accel: Accel | None = None, ensemble_mode: str = "bmm"):
        if max_ensemble is not None and max_ensemble < 1:
            raise ValueError(f"max_ensemble must be None or positive, got {max_ensemble}")
        self.device = str(resolve_device(device))  # "auto" resolved once, recorded as is
        self.data_dir = data_dir
        self.progress = progress
        self.ensemble = ensemble
        self.max_ensemble = max_ensemble
        self.accel = accel
        self.ensemble_mode = ensemble_mode
        # The code this process runs is the code loaded now, whatever HEAD becomes later.
        self.code = code_version()
        self._cache: dict[str, Any] = {}

    def dataset(self, name: str):
        """The data set called `name`, loaded on first use and kept for later units."""
        if name not in self._cache:
            self._cache[name] = load_dataset(name, self.data_dir)
        return self._cache[name]


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


def settings_differ(old: dict[str, Any], new: dict[str, Any],
                    grid_fields: Iterable[str] = ()) -> list[str]:
    """The settings, outside `grid_fields`, whose values differ between two config records."""
    keys = (old.keys() | new.keys()) - set(grid_fields) - {"seeds"}
    return sorted(k for k in keys if old.get(k) != new.get(k))


def check_same_config(directory: Path, config: Any, grid_fields: Iterable[str] = ()) -> None:
    """Record the config in `directory/sweep.json`, or refuse one whose settings differ.

    Fields in `grid_fields` may differ: they change which units run, not what a unit
    computes, so finished units stay valid.
    """
    path = directory / "sweep.json"
    record = config_record(config)
    if path.exists():
        old = read_json(path)["config"]
        diff = settings_differ(old, record, grid_fields)
        if diff:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {record.get(k)!r}" for k in diff)
            raise ValueError(
                f"{directory} holds a sweep with other settings ({detail}); use another "
                f"--out directory, or delete {directory} to start over"
            )
    write_json_atomic(path, {"schema": SCHEMA, "config": record})


def finished(path: Path) -> bool:
    """Whether `path` is a complete unit file (a corrupt one counts as unfinished)."""
    return _finished_record(path) is not None


def _finished_record(path: Path) -> dict[str, Any] | None:
    try:
        return check_unit_record(read_json(path), path)
    except (OSError, ValueError):
        return None


def _current(path: Path, record: dict[str, Any], grid_fields: Iterable[str]) -> bool:
    """Whether `path` is a finished unit made with the settings in `record`."""
    done = _finished_record(path)
    return done is not None and not settings_differ(done["config"], record, grid_fields)


class _Claim:
    """An advisory lock on one unit, so that concurrent sweeps do not both run it.

    `flock` locks belong to the open file, so the system releases them when the process
    ends, even by SIGKILL: a lock is never stale. The lock file is removed once the
    unit's result is written; a process that takes the lock afterwards finds the result
    and skips the unit, so that removal is safe.
    """

    def __init__(self, runs: Path, key: str):
        self.path = runs / f".{key}.lock"
        self.fd: int | None = None

    def acquire(self) -> bool:
        if fcntl is None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self, done: bool) -> None:
        if self.fd is None:
            return
        if done:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that is writing the temporary file `tmp` still runs.

    `write_json_atomic` names its temporary files `.NAME.PID.RANDOM.tmp`; a file of a
    live process (another sweep on the same directory) must be left alone.
    """
    try:
        pid = int(tmp.name.rsplit(".", 3)[-3])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def run_sweep(
    experiment: Experiment,
    config: Any,
    out: str | Path,
    context: SweepContext | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, int]:
    """Run every unit of `experiment` under `config` not already finished in `out`.

    Returns counts: {"total", "skipped", "ran"}, and "busy" when units were left to
    another process running the same sweep. Unit files land in `out/<experiment>/runs/`;
    see the module docstring for the guarantees.
    """
    context = context or SweepContext()
    directory = Path(out) / experiment.name
    runs = directory / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    todo = experiment.units(config)  # raises on settings that make no grid
    check_same_config(directory, config, experiment.grid_fields)
    for stray in runs.glob(".*.tmp"):
        if not _writer_alive(stray):
            stray.unlink()  # left by a run killed mid-write; its unit is redone below

    record = config_record(config)
    pending, stale = [], 0
    for item in todo:
        path = runs / f"{item.key}.json"
        if not _current(path, record, experiment.grid_fields):
            pending.append(item)
            # computed under other settings (sweep.json was deleted): redo
            stale += _finished_record(path) is not None
    log(f"{experiment.name}: {len(todo)} runs, {len(todo) - len(pending)} already finished, "
        f"{len(pending)} to run" + (f" ({stale} made with other settings)" if stale else "")
        + f" -> {directory}")
    bar = tqdm(total=len(pending), desc=experiment.name, unit="run",
               disable=not context.progress)
    ran = busy = 0
    for group in batches(pending, experiment, context):
        claims = {item.key: _Claim(runs, item.key) for item in group}
        mine = []
        for item in group:
            if not claims[item.key].acquire():
                busy += 1  # another copy of this sweep is running it
            elif _current(runs / f"{item.key}.json", record, experiment.grid_fields):
                claims[item.key].release(done=True)  # another copy finished it meanwhile
            else:
                mine.append(item)
        written: set[str] = set()
        try:
            if mine:
                bar.set_postfix_str(mine[0].key + (f" +{len(mine) - 1} seeds" if len(mine) > 1
                                                   else ""), refresh=True)
                _run_group(experiment, config, mine, context, runs, record, written)
                ran += len(mine)
        except WriteError as err:
            done = sum(_current(runs / f"{u.key}.json", record, experiment.grid_fields)
                       for u in todo)
            raise WriteError(err.errno, f"{err.strerror}. The sweep stopped: {done} of "
                             f"{len(todo)} runs are finished in {runs}; make room and run the "
                             "same command again to do the rest") from err
        finally:
            for key, claim in claims.items():
                claim.release(done=key in written)
        bar.update(len(group))
    bar.close()
    if busy:
        log(f"{experiment.name}: {busy} runs were being run by another process; run this "
            "command again once it ends to check that all are finished")
    counts = {"total": len(todo), "skipped": len(todo) - ran - busy, "ran": ran}
    return {**counts, "busy": busy} if busy else counts


def _run_group(experiment: Experiment, config: Any, group: list[Unit], context: SweepContext,
               runs: Path, record: dict[str, Any], written: set[str]) -> None:
    """Run units of one grid point (alone, or as an ensemble) and write their files,
    adding each key to `written` once its file is in place."""
    started = datetime.now(timezone.utc)
    wall = time.perf_counter()
    if len(group) == 1:
        results = {group[0].seed: experiment.run(config, group[0], context)}
    else:
        results = experiment.run_ensemble(config, group, context)
    seconds = time.perf_counter() - wall
    for item in group:
        # Each unit records its share of the wall time, so that sums stay run time.
        extra = ({"ensemble": {"size": len(group), "seeds": [u.seed for u in group],
                               "mode": context.ensemble_mode, "wall_seconds": seconds}}
                 if len(group) > 1 else {})
        write_json_atomic(runs / f"{item.key}.json", {
            "schema": SCHEMA,
            "status": "finished",
            "experiment": experiment.name,
            "unit": item.as_dict(),
            "config": record,
            "rows": results[item.seed],
            "environment": environment(context.device),
            "code": context.code,
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": seconds / len(group),
            **extra,
        })
        written.add(item.key)


def batches(pending: list[Unit], experiment: Experiment,
            context: SweepContext) -> list[list[Unit]]:
    """The pending units in the order they run: alone, or grouped into seed ensembles.

    With ensembles on and an experiment that supports them, units of the same grid point
    go together (at most `context.max_ensemble` per group), in the order their points
    first appear.
    """
    if not context.ensemble or experiment.run_ensemble is None:
        return [[item] for item in pending]
    by_point: dict[tuple, list[Unit]] = {}
    for item in pending:
        by_point.setdefault(item.point, []).append(item)
    size = context.max_ensemble or max((len(g) for g in by_point.values()), default=1)
    return [group[i : i + size] for group in by_point.values()
            for i in range(0, len(group), size)]


def load_units(directory: str | Path) -> dict[str, list[dict[str, Any]]]:
    """The finished unit files of the sweeps in `directory`, grouped by experiment name.

    `directory` is a sweep output (`DIR/EXPERIMENT/runs/*.json`) or one experiment's
    folder (`DIR/runs/*.json`); sweeps nested deeper are other sweeps and are not read.
    """
    directory = Path(directory)
    paths = [*directory.glob("*/runs/*.json"), *directory.glob("runs/*.json")]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(paths):
        if not finished(path):
            continue
        record = read_json(path)
        record["path"] = str(path)
        grouped.setdefault(record["experiment"], []).append(record)
    return grouped


def override(config: Any, assignments: Iterable[str]) -> Any:
    """A copy of the frozen `config` with `key=value` assignments applied.

    Values are parsed by the field's declared type: int, float, bool, str, tuples of
    those as comma-separated lists, and `none` only where the type admits None. Unknown
    keys and values of the wrong type raise ValueError naming the key and the type; the
    config's own checks then run on the result.
    """
    hints = typing.get_type_hints(type(config))
    known = {f.name for f in fields(config)}
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
        changes[key] = _parse_typed(hints[key], value.strip(), key)
    return replace(config, **changes)


def _parse_typed(kind: Any, text: str, key: str) -> Any:
    """`text` as a value of the annotation `kind`."""
    union = typing.get_origin(kind) in (typing.Union, types.UnionType)
    options = typing.get_args(kind) if union else (kind,)
    if text.lower() == "none" and type(None) in options:
        return None
    for option in (o for o in options if o is not type(None)):
        if typing.get_origin(option) is tuple:
            inner = typing.get_args(option)[0]
            return tuple(_parse_typed(inner, part.strip(), key) for part in text.split(",")
                         if part.strip())
        try:
            if option is bool:
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                return text.lower() in ("true", "1", "yes")
            if option in (int, float, str):
                return option(text)
        except ValueError:
            continue
    names = " or ".join("none" if o is type(None) else getattr(o, "__name__", str(o))
                        for o in options)
    raise ValueError(f"setting {key!r} expects {names}, got {text!r}")

