"""Running a sweep: pending units grouped into jobs, handed to an executor, written as done.

    run_sweep(experiment, config, "runs/x")                       # in this process
    run_sweep(experiment, config, "runs/x", executor=RayExecutor(...))

The runner owns the store (claims, atomic unit files, the refusal of other settings); an
executor only turns jobs into outcomes, here or elsewhere. `compute(job)` is the whole of
what a job needs, so any process that can import hypermod can run one.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from hypermod.results import WriteError, code_version, environment, make_record
from hypermod.sweep.context import SweepContext, SweepSettings
from hypermod.sweep.spec import Experiment, Row, Unit
from hypermod.sweep.store import Claim, SweepStore
from hypermod.training.progress import progress_bar


@dataclass(frozen=True)
class Job:
    """One group of units to compute: a single unit, or the seeds of one grid point that
    train as one ensemble. Plain, picklable data."""

    experiment: Experiment
    config: Any
    units: tuple[Unit, ...]
    settings: SweepSettings


@dataclass
class Outcome:
    """What came of a job: rows per seed, or the error that stopped it.

    Attributes:
        rows: seed -> the unit's rows; None when the job failed.
        started: when it started (UTC); seconds: its wall time where it ran.
        error: why it failed ("ExceptionType: message"), None when it finished.
        host: the machine that ran it; attempts: how many tries it took.
        environment: versions and device where it ran (`results.environment`), which
            may not be the driver's (a Ray worker with a GPU, say).
    """

    rows: dict[int, list[Row]] | None
    started: datetime
    seconds: float
    error: str | None = None
    host: str = field(default_factory=platform.node)
    attempts: int = 1
    environment: dict[str, Any] | None = None


class Executor(Protocol):
    """Turns jobs into outcomes. `run` pulls jobs from the iterator when it has room for
    one (a job is claimed as it is pulled) and calls `done(job, outcome)` in this process
    as each one ends; an exception from `done` (a failed write) must stop it.

    An executor may also have `start()` (connect; the runner calls it before it writes
    any file), `stop()` (called however the sweep ends) and `describe() -> str` (one line
    for the log, once started).
    """

    def run(self, jobs: Iterator[Job], done: Callable[[Job, Outcome], None]) -> None: ...


_CONTEXTS: dict[SweepSettings, SweepContext] = {}


def context_for(settings: SweepSettings) -> SweepContext:
    """This process's context for `settings`, so that each worker loads a data set once."""
    if settings not in _CONTEXTS:
        _CONTEXTS[settings] = SweepContext(settings=settings)
    return _CONTEXTS[settings]


def compute(job: Job, context: SweepContext | None = None) -> Outcome:
    """Run the job's units (alone, or as one ensemble); exceptions propagate."""
    context = context or context_for(job.settings)
    started = datetime.now(timezone.utc)
    wall = time.perf_counter()
    units = list(job.units)
    if len(units) == 1:
        rows = {units[0].key: job.experiment.run(job.config, units[0], context)}
    else:
        rows = job.experiment.run_ensemble(job.config, units, context)
    return Outcome(rows, started, time.perf_counter() - wall,
                   environment=environment(context.device))


class InProcess:
    """The default executor: one job after another in this process; errors propagate."""

    def __init__(self, context: SweepContext | None = None):
        self.context = context

    def run(self, jobs: Iterator[Job], done: Callable[[Job, Outcome], None]) -> None:
        for job in jobs:
            done(job, compute(job, self.context))


def unit_record(job: Job, item: Unit, store: SweepStore, outcome: Outcome,
                device: str) -> dict[str, Any]:
    """The file of one finished unit. Each unit records its share of the job's wall time,
    so that sums over units stay run time."""
    size = len(job.units)
    extra = ({"ensemble": {"size": size, "seeds": [u.seed for u in job.units],
                           "mode": job.settings.ensemble_mode,
                           "wall_seconds": outcome.seconds}} if size > 1 else {})
    # Where the job ran: the host (a Ray worker's, say), its tries and its wall time there.
    worker = {"host": outcome.host, "attempts": outcome.attempts,
              "job_seconds": outcome.seconds}
    record = make_record({"status": "finished", "experiment": job.experiment.name,
                          "unit": item.as_dict(), "config": store.record,
                          "rows": unit_rows_of(outcome.rows, item)},
                         device, outcome.started, outcome.seconds / size, worker=worker,
                         **extra)
    if outcome.environment is not None:  # where the job ran, not where it was written
        record["environment"] = outcome.environment
    return record


def unit_rows_of(rows: dict[Any, list[Row]], item: Unit) -> list[Row]:
    """A unit's rows from a job's outcome, keyed by unit key (or, for experiments whose
    ensembles hold one unit per seed, by seed)."""
    return rows[item.key] if item.key in rows else rows[item.seed]


def groups(pending: list[Unit], experiment: Experiment,
           settings: SweepSettings) -> list[list[Unit]]:
    """The pending units in the order they run: alone, or grouped into seed ensembles.

    With ensembles on and an experiment that supports them, units of the same grid point
    go together (at most `settings.max_ensemble` per group), in the order their points
    first appear; tuned settings (`Experiment.tunable`) are not part of the point, so a
    grid point's seeds x tuned values train as one ensemble.
    """
    if not settings.ensemble or experiment.run_ensemble is None:
        return [[item] for item in pending]
    by_point: dict[tuple, list[Unit]] = {}
    for item in pending:
        point = tuple((k, v) for k, v in item.point
                      if k not in getattr(experiment, "tunable", ()))
        by_point.setdefault(point, []).append(item)
    size = settings.max_ensemble or max((len(g) for g in by_point.values()), default=1)
    return [group[i : i + size] for group in by_point.values()
            for i in range(0, len(group), size)]


def run_sweep(
    experiment: Experiment,
    config: Any,
    out: str | Path,
    context: SweepContext | None = None,
    log: Callable[[str], None] = print,
    executor: Executor | None = None,
) -> dict[str, int]:
    """Run every unit of `experiment` under `config` not already finished in `out`.

    Returns counts: {"total", "skipped", "ran"}, "busy" when units were left to another
    process running the same sweep, and "failed" when an executor reported failures.
    Unit files land in `out/<experiment>/runs/` (see `hypermod.sweep.store`).
    """
    context = context or SweepContext()
    code_version()  # pin the code this process runs, whatever HEAD becomes later
    executor = executor or InProcess(context)
    todo = experiment.units(config)  # raises on settings that make no grid
    store = SweepStore(Path(out) / experiment.name, config, experiment.grid_fields)
    # An executor that connects somewhere (Ray) does so before any file is written, so an
    # unreachable cluster leaves nothing behind; it is left (stopped) however this ends.
    start, stop = getattr(executor, "start", None), getattr(executor, "stop", None)
    if start is not None:
        start()
        if hasattr(executor, "describe"):
            log(executor.describe())
    try:
        return _run_units(experiment, config, store, todo, context, log, executor)
    finally:
        if stop is not None:
            stop()


def _run_units(experiment: Experiment, config: Any, store: SweepStore, todo: list[Unit],
               context: SweepContext, log: Callable[[str], None],
               executor: Executor) -> dict[str, int]:
    """`run_sweep` once its executor is ready: open the store, claim, run, write, count."""
    replaced = store.open()
    if replaced:
        log(f"{experiment.name}: {store.directory / 'sweep.json'} held other settings "
            f"({', '.join(replaced)}) but no finished run; replaced")
    pending, stale = [], 0
    for item in todo:
        if not store.is_current(item.key):
            pending.append(item)
            stale += store.finished_record(item.key) is not None  # other settings: redo
    log(f"{experiment.name}: {len(todo)} runs, {len(todo) - len(pending)} already finished, "
        f"{len(pending)} to run" + (f" ({stale} made with other settings)" if stale else "")
        + f" -> {store.directory}")
    bar = progress_bar(total=len(pending), desc=experiment.name, unit="run",
                       enabled=context.progress)
    counts = {"ran": 0, "busy": 0, "failed": 0}
    claims: dict[str, Claim] = {}

    def jobs() -> Iterator[Job]:
        for group in groups(pending, experiment, context.settings):
            mine = []
            for item in group:
                claim = store.claim(item.key)
                if not claim.acquire():
                    counts["busy"] += 1  # another copy of this sweep is running it
                elif store.is_current(item.key):
                    claim.release(done=True)  # another copy finished it meanwhile
                else:
                    claims[item.key] = claim
                    mine.append(item)
            bar.update(len(group) - len(mine))
            if mine:
                what = mine[0].key + (f" +{len(mine) - 1} more in one ensemble"
                                      if len(mine) > 1 else "")
                bar.set_postfix_str(what, refresh=False)
                if context.progress:  # the epoch lines that follow name no unit
                    log(f"{experiment.name}: {what}")
                yield Job(experiment, config, tuple(mine), context.settings)

    def done(job: Job, outcome: Outcome) -> None:
        for item in job.units:
            if outcome.rows is None:
                counts["failed"] += 1
                log(f"{experiment.name}: {item.key} failed on {outcome.host} after "
                    f"{outcome.attempts} attempt(s): {outcome.error}")
            else:
                store.write(item.key, unit_record(job, item, store, outcome, context.device))
                counts["ran"] += 1
            claims.pop(item.key).release(done=outcome.rows is not None)
        bar.update(len(job.units))

    try:
        executor.run(jobs(), done)
    except WriteError as err:
        finished = sum(store.is_current(u.key) for u in todo)
        raise WriteError(err.errno, f"{err.strerror}. The sweep stopped: {finished} of "
                         f"{len(todo)} runs are finished in {store.runs}; make room and run "
                         "the same command again to do the rest") from err
    finally:
        for claim in claims.values():
            claim.release(done=False)
        bar.close()
    if counts["busy"]:
        log(f"{experiment.name}: {counts['busy']} runs were being run by another process; "
            "run this command again once it ends to check that all are finished")
    result = {"total": len(todo), "skipped": len(todo) - sum(counts.values()),
              "ran": counts["ran"]}
    result.update({k: counts[k] for k in ("busy", "failed") if counts[k]})
    return result

