"""A sweep's files: its settings, one atomically written file per finished unit, claims.

Layout of a sweep directory `DIR/EXPERIMENT/`:
    sweep.json         the experiment's config (seeds aside); a rerun must match it
    runs/<key>.json    one finished unit: its point, seed, rows, environment, timing
    runs/.<key>.lock   the claim of a unit being run (an advisory lock, see `Claim`)

A unit's file is written atomically when the unit finishes, so a killed sweep loses only
the units in flight; a rerun skips every unit whose file is present, valid and made with
the same settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent copies are not guarded
    fcntl = None

from hypermod.records import check_unit_record, read_json
from hypermod.results import SCHEMA, write_json_atomic
from hypermod.sweep.spec import (
    config_record,
    flat_settings,
    legacy_settings,
    moved_settings,
    settings_differ,
)


class SweepStore:
    """The files of one experiment's sweep under `directory` (= OUT/EXPERIMENT).

    Args:
        directory: the experiment's folder.
        config: the sweep's config; `record` is its JSON form without the seeds.
        grid_fields: config fields that may differ between a finished unit and this sweep.
    """

    def __init__(self, directory: str | os.PathLike, config: Any,
                 grid_fields: Iterable[str] = ()):
        self.directory = Path(directory)
        self.runs = self.directory / "runs"
        self.record = config_record(config)
        self.grid_fields = tuple(grid_fields)
        self.legacy = legacy_settings(config)
        self.moved = moved_settings(config)

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.json"

    def open(self) -> list[str]:
        """Create the folders, record the settings or refuse other ones, drop stray files.

        Fields in `grid_fields` may differ from the recorded settings: they change which
        units run, not what a unit computes, so finished units stay valid. Other settings
        are refused while a unit made under the recorded ones is finished or being run;
        with neither (every unit of the last sweep failed), they replace the record.
        Returns the settings so replaced, as "key: old -> new" (empty: none).
        """
        path = self.directory / "sweep.json"
        replaced: list[str] = []
        if path.exists():
            old = read_settings(path)
            diff = settings_differ(old, self.record, self.grid_fields, self.legacy,
                                   self.moved)
            before, after = flat_settings(old, self.moved), flat_settings(self.record)
            detail = [f"{k}: {before.get(k, self.legacy.get(k))!r} -> {after.get(k)!r}"
                      for k in diff]
            if diff and (self._holds_results() or self._claimed()):
                raise ValueError(
                    f"{self.directory} holds a sweep with other settings "
                    f"({', '.join(detail)}); use another --out directory, or delete "
                    f"{self.directory} to start over")
            replaced = detail
        self.runs.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"schema": SCHEMA, "config": self.record})
        for stray in self.runs.glob(".*.tmp"):
            if not _writer_alive(stray):
                stray.unlink()  # left by a run killed mid-write; its unit is redone
        return replaced

    def _holds_results(self) -> bool:
        """Whether any unit file here is a finished record (under whatever settings)."""
        return any(self.finished_record(p.stem) is not None for p in self.runs.glob("*.json"))

    def _claimed(self) -> bool:
        """Whether another process holds a claim here (a sweep running now)."""
        for lock in self.runs.glob(".*.lock"):
            claim = Claim(self.runs, lock.name[1:-len(".lock")])
            if not claim.acquire():
                return True
            claim.release(done=False)
        return False

    def finished_record(self, key: str) -> dict[str, Any] | None:
        """The unit's record if its file is complete and valid (whatever its settings)."""
        path = self.path(key)
        try:
            return check_unit_record(read_json(path), path)
        except (OSError, ValueError):
            return None

    def is_current(self, key: str) -> bool:
        """Whether the unit is finished under this sweep's settings."""
        done = self.finished_record(key)
        return done is not None and not settings_differ(
            done["config"], self.record, self.grid_fields, self.legacy, self.moved)

    def write(self, key: str, record: dict[str, Any]) -> None:
        """Write a finished unit's record atomically (see `results.write_atomic`)."""
        write_json_atomic(self.path(key), record)

    def claim(self, key: str) -> Claim:
        return Claim(self.runs, key)


class Claim:
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


def read_settings(path: Path) -> dict[str, Any]:
    """The settings recorded in a sweep.json, or ValueError naming the file and its defect."""
    record = read_json(path)
    problem = None
    if not isinstance(record, dict):
        problem = f"a JSON {type(record).__name__}, not an object"
    elif not isinstance(record.get("config"), dict):
        problem = "no 'config' object"
    if problem:
        raise ValueError(f"{path}: not a sweep settings file ({problem}); delete it (finished "
                         "runs are kept: each is checked against the settings it records)")
    return record["config"]


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
