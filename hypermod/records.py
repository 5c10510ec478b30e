"""Reading result files back: JSON that names the file when it is bad, and the checks
that a unit record or a run result is what a report may count.

    used, skipped = read_unit_files(sorted(runs.glob("*.json")))
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def read_json(path: str | os.PathLike) -> Any:
    """Load a JSON file, raising ValueError that names the file when it is not valid JSON.

    Not valid means: not UTF-8, not JSON (a truncated write, say), or nested too deeply
    to parse. A file that cannot be opened raises OSError as usual. Anything but a
    regular file (a FIFO named `*.json`, say, which would block a plain `open`) raises
    ValueError without being read.
    """
    # O_NONBLOCK: opening a FIFO returns at once, so that fstat can refuse it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a regular file; skipped")
        data = fh.read()
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a valid JSON result file (not UTF-8 text: {err})") \
            from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a valid JSON result file ({err})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a valid JSON result file (nested too deeply)") from None


def check_unit_record(record: Any, path: str | os.PathLike,
                      row_fields: dict[str, type] | None = None) -> dict[str, Any]:
    """`record` if it is a finished sweep unit a report can read; else ValueError naming
    `path` and the first problem found.

    A unit record (see `hypermod.sweep`) is a dict with status "finished", the experiment's
    name, the unit (its point and an int seed), the config and a non-empty list of rows,
    each a dict with an int epoch >= 0. `row_fields` maps the fields every row must have
    to their type: str, int, or float (an int or float, or None for a diverged run).
    """
    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: not a valid unit record ({problem})")

    if not isinstance(record, dict):
        raise bad(f"a JSON {type(record).__name__}, not an object")
    if record.get("status") != "finished":
        raise bad(f"status is {record.get('status')!r}, not 'finished'")
    if not isinstance(record.get("experiment"), str):
        raise bad("no experiment name")
    for key in ("unit", "config"):
        if not isinstance(record.get(key), dict):
            raise bad(f"{key!r} is not an object")
    if not _is(record["unit"].get("seed"), int):
        raise bad("the unit has no integer seed")
    rows = record.get("rows")
    if not isinstance(rows, list) or not rows:
        raise bad("'rows' is not a non-empty list")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise bad(f"row {i} is not an object")
        if not _is(row.get("epoch"), int) or row["epoch"] < 0:
            raise bad(f"row {i} has no epoch >= 0")
        for field, kind in (row_fields or {}).items():
            if field not in row:
                raise bad(f"row {i} has no {field!r}")
            if not _is(row[field], kind):
                raise bad(f"row {i}: {field!r} is {row[field]!r}, expected {kind.__name__}")
        for field, value in record["unit"].items():
            if field in row and row[field] != value:
                raise bad(f"row {i}: {field!r} is {row[field]!r}, but its unit's is {value!r}")
    return record


def unit_key(unit: dict[str, Any]) -> str:
    """The key (file name stem) of a unit record's `unit`: its point, then its seed."""
    from hypermod.sweep.spec import Unit  # the sweep package imports this module

    point = tuple((k, v) for k, v in unit.items() if k != "seed")
    return Unit(point, unit["seed"]).key


def read_unit_files(paths: Iterable[Path],
                    row_fields: Callable[[str], dict[str, type] | None] = lambda name: None,
                    ) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """The finished unit records among `paths`, each counted once, and why others were not.

    A file is used when it is a regular file, valid JSON and a finished unit record
    (`check_unit_record`, with `row_fields(experiment name)`) whose name is its unit's
    key: a copy (`KEY (copy).json`) or a file whose unit was edited is named and skipped,
    as is a second file of one experiment's unit (a backup folder beside the sweep, say),
    after the first in sorted order. Returns ([(path, record)], [message per skipped
    file]), the messages naming the file and the problem.
    """
    used: list[tuple[Path, dict[str, Any]]] = []
    skipped: list[str] = []
    first: dict[tuple[str, str], Path] = {}
    for path in sorted(paths):
        try:
            record = read_json(path)
            name = record.get("experiment") if isinstance(record, dict) else None
            check_unit_record(record, path, row_fields(name) if isinstance(name, str) else None)
        except OSError as err:
            skipped.append(f"{path}: cannot be read ({err.strerror or err})")
            continue
        except ValueError as err:
            skipped.append(str(err))
            continue
        key = unit_key(record["unit"])
        if key != path.stem:
            skipped.append(f"{path}: holds unit {key}, not the one its name says; skipped "
                           "(a copy, or an edited file?)")
            continue
        seen = first.setdefault((record["experiment"], key), path)
        if seen != path:
            skipped.append(f"{path}: a second result of {record['experiment']} unit {key} "
                           f"(the first: {seen}); skipped")
            continue
        used.append((path, record))
    return used, skipped


def check_run_record(record: Any, path: str | os.PathLike) -> dict[str, Any]:
    """`record` if it is a `hypermod run` result with epochs; else ValueError naming `path`."""
    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: not a valid run result ({problem})")

    if not isinstance(record, dict):
        raise bad(f"a JSON {type(record).__name__}, not an object")
    if record.get("status") not in ("finished", "diverged"):
        raise bad(f"status is {record.get('status')!r}, not 'finished' or 'diverged'")
    if not isinstance(record.get("config"), dict):
        raise bad("'config' is not an object")
    epochs = record.get("epochs")
    if not isinstance(epochs, list) or not epochs:
        raise bad("'epochs' is not a non-empty list")
    for i, row in enumerate(epochs):
        if not isinstance(row, dict):
            raise bad(f"epoch row {i} is not an object")
        epoch = row.get("epoch")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise bad(f"epoch row {i} has no epoch >= 0")
    return record


def _is(value: Any, kind: type) -> bool:
    """JSON-level type check: bools are not numbers; float admits ints and None."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return value is None or isinstance(value, (int, float))
    return isinstance(value, kind)


def upgrade_settings(record: dict[str, Any], moved: dict[str, str]) -> dict[str, Any]:
    """An older config record in the current shape: each `moved` setting it holds put in
    its nested place (`{"lr": 0.01}` -> `{"train": {"lr": 0.01}}`); a copy."""
    out = json.loads(json.dumps(record))
    for old, new in moved.items():
        *parents, name = old.split(".")
        source = out
        for head in parents:
            source = source.get(head) if isinstance(source, dict) else None
        if not isinstance(source, dict) or name not in source:
            continue
        *heads, leaf = new.split(".")
        node = out
        for head in heads:
            node = node.setdefault(head, {})
        node.setdefault(leaf, source.pop(name))
    return out
