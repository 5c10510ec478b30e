"""Result files as one tidy pandas DataFrame: a row per (run, seed, epoch).

    df = load_frame("results/sweep")        # or a `hypermod run --out` folder
    last = df[df.epoch == df.groupby("path").epoch.transform("max")]
    last.groupby(["dataset", "method", "depth"]).test_error.agg(["mean", "std", "count"])

Needs pandas (pip install 'hypermod[frame]'), imported when a frame is built.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hypermod.records import check_run_record, read_json, read_unit_files, upgrade_settings
from hypermod.results import write_atomic

# Row fields that hold parameter counts: by role (a dict), or the trainable total.
_COUNT_FIELDS = ("param_counts", "trainable", "params")


def load_frame(directory: str | os.PathLike,
               row_fields: Mapping[str, Mapping[str, type] | None] | None = None,
               moved: Mapping[str, Mapping[str, str]] | None = None) -> Any:
    """Every finished run under `directory` as one pandas DataFrame, a row per epoch.

    `directory` is a run folder (`result.json`, as `hypermod run --out` writes), a folder
    of such folders (`hypermod compare`), a sweep output (`EXPERIMENT/runs/*.json`) or one
    experiment's folder (`runs/*.json`). Columns: `experiment` ("run" for run folders),
    the grid point's fields and `seed`, the epoch and its metrics, `status` ("finished" or
    "diverged"), the parameter counts by role (`params.f`, `params.g_generated`,
    `params.e`, `params.q`, `params.trainable`, as the model has them), the settings
    (`config.` + field, nested ones joined with dots; lists as JSON text), the code that
    made it (`code.hypermod`, `code.git_commit`, `code.git_dirty`), `started_at`,
    `wall_seconds` and the file's `path`.

    `row_fields` maps an experiment's name to the fields its rows must have (name ->
    str, int or float), as `Experiment.row_fields`; units of experiments not in it are
    checked for the basics only. A file that cannot be read, is not JSON or is not a
    finished record is left out, and so is a unit file that is not what its name says or
    repeats a unit (see `records.read_unit_files`); `df.attrs["skipped"]` holds one
    message per such file, naming it and the problem (nothing is printed).

    `moved` maps an experiment's name to where settings of its older records live now
    (old name -> dotted new name, as a config's `MOVED` table), so that runs made before
    and after a setting moved share its column (`config.train.lr`).
    """
    try:
        import pandas as pd
    except ImportError as err:
        raise ImportError("load_frame needs pandas; pip install 'hypermod[frame]' "
                          "(or pip install pandas)") from err
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory")
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    paths = _result_paths(directory)
    for path in (p for p in paths if p.name == "result.json"):
        try:
            rows += _run_rows(check_run_record(read_json(path), path), path)
        except OSError as err:
            skipped.append(f"{path}: cannot be read ({err.strerror or err})")
        except ValueError as err:
            skipped.append(str(err))
    units, unit_skips = read_unit_files((p for p in paths if p.name != "result.json"),
                                        lambda name: (row_fields or {}).get(name))
    for path, record in units:
        rows += _unit_rows(record, path, (moved or {}).get(record["experiment"]) or {})
    skipped += unit_skips
    frame = pd.DataFrame(rows)
    frame.attrs["skipped"] = skipped
    return frame


def write_csv(frame: Any, path: str | os.PathLike) -> int:
    """Write a DataFrame to `path` as CSV (atomically: the old file or the whole new
    one); return its number of rows."""
    text = frame.to_csv(index=False)
    write_atomic(path, lambda fh: fh.write(text.encode()))
    return len(frame)


def export_csv(directory: str | os.PathLike, path: str | os.PathLike,
               row_fields: Mapping[str, Mapping[str, type] | None] | None = None,
               force: bool = False) -> int:
    """`load_frame(directory, row_fields)` written to `path` as CSV; the number of rows.

    `path` is checked first (`check_table_target`: not inside `directory`, not a result,
    an existing file replaced only with `force`). To also report the files that were
    skipped, call `load_frame` and `write_csv`.
    """
    check_table_target(path, directory, force)
    return write_csv(load_frame(directory, row_fields), path)


# Files hypermod writes as results, by name (a run's folder, a sweep's, a report's).
RESULT_NAMES = ("result.json", "metrics.jsonl", "checkpoint.pt", "sweep.json", "report.md")


def check_table_target(path: str | os.PathLike, directory: str | os.PathLike,
                       force: bool = False) -> None:
    """Refuse, with ValueError, a table path that would overwrite what it is made from.

    Refused: a path inside `directory` (the folder the table is read from), a directory,
    a file hypermod wrote as a result anywhere (by its name, a sweep's `runs/*.json`, or
    a JSON record with hypermod's `schema` field), anything but a regular file, and,
    unless `force`, any existing file.
    """
    path, directory = Path(path), Path(directory)
    target, source = path.resolve(), directory.resolve()
    if target == source or source in target.parents:
        raise ValueError(f"{path} is inside {directory}, the folder export reads; write the "
                         "table elsewhere")
    if path.is_dir():
        raise ValueError(f"{path} is a directory; name the table's file")
    if not (path.exists() or path.is_symlink()):
        return
    why = _result_kind(target)
    if why:
        raise ValueError(f"{path} is a file hypermod wrote as a result ({why}); export never "
                         "replaces one")
    if not target.is_file():
        raise ValueError(f"{path} is not a regular file; export writes regular files only")
    if not force:
        raise ValueError(f"{path} exists; add --force to replace it")


def _result_kind(path: Path) -> str | None:
    """What kind of hypermod result `path` is, or None."""
    if path.name in RESULT_NAMES:
        return path.name
    if path.suffix == ".json" and path.parent.name == "runs":
        return "a sweep's unit file"
    if path.suffix == ".json" and path.is_file() and path.stat().st_size < 64 << 20:
        try:
            record = read_json(path)
        except (OSError, ValueError):
            return None
        if isinstance(record, dict) and "schema" in record:
            return "a result record"
    return None


def _result_paths(directory: Path) -> list[Path]:
    patterns = ("result.json", "*/result.json", "runs/*.json", "*/runs/*.json")
    return sorted({p for pattern in patterns for p in directory.glob(pattern)})


def _run_rows(record: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    config = record["config"]
    seed = config.get("train", {}).get("seed") if isinstance(config.get("train"), dict) else None
    head = {"experiment": "run", "seed": seed}
    counts = _counts(record.get("param_counts"))
    return [{**head, **row, "status": record["status"], **counts,
             **_tail(record, config, path)} for row in record["epochs"]]


def _unit_rows(record: dict[str, Any], path: Path,
               moved: Mapping[str, str]) -> list[dict[str, Any]]:
    unit = record["unit"]
    # an older record's settings in their current columns (config.train.lr)
    tail = _tail(record, upgrade_settings(record["config"], moved), path)
    status = "diverged" if any(row.get("diverged") for row in record["rows"]) else "finished"
    out = []
    for row in record["rows"]:
        # a row's settings dict (the zoo's) as dotted columns, like the config's
        metrics = dict(_flat({k: v for k, v in row.items() if k not in _COUNT_FIELDS}, ""))
        counts = _counts(row.get("param_counts"))
        for key in ("trainable", "params"):  # assumption2 calls its total "params"
            if isinstance(row.get(key), int):
                counts.setdefault("params.trainable", row[key])
        out.append({"experiment": record["experiment"], **unit, **metrics, "status": status,
                    **counts, **tail})
    return out


def _counts(counts: Any) -> dict[str, Any]:
    return {f"params.{k}": v for k, v in counts.items()} if isinstance(counts, dict) else {}


def _tail(record: dict[str, Any], config: dict[str, Any], path: Path) -> dict[str, Any]:
    """The columns every row of one file shares after its metrics: settings, code, path."""
    code = record.get("code") if isinstance(record.get("code"), dict) else {}
    return {**dict(_flat(config, "config.")),
            **{f"code.{k}": code.get(k) for k in ("hypermod", "git_commit", "git_dirty")},
            "started_at": record.get("started_at"), "wall_seconds": record.get("wall_seconds"),
            "path": str(path)}


def _flat(values: Mapping[str, Any], prefix: str) -> Iterable[tuple[str, Any]]:
    """Nested dicts as dotted keys; lists as JSON text, so a column can be grouped by."""
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)):
            yield f"{prefix}{key}", json.dumps(value)
        else:
            yield f"{prefix}{key}", value
