"""`hypermod report DIR`: figures and a Markdown page rebuilt from result files alone."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypermod.experiments.registry import EXPERIMENTS
from hypermod.records import read_unit_files, upgrade_settings
from hypermod.reporting import Section, diverged_runs, markdown_table
from hypermod.results import write_atomic
from hypermod.sweep import Experiment, config_record, settings_differ
from hypermod.sweep.spec import flat_settings, legacy_settings, moved_settings

QUICK_MARK = "(quick settings: a smoke test, not evidence)"


@dataclass(frozen=True)
class Report:
    """What `build_report` wrote: the page, and each section's (title, claim) as plain text.

    Titles carry `QUICK_MARK` where the runs used the quick settings.
    """

    path: Path
    claims: list[tuple[str, str]]

    def __str__(self) -> str:
        """The page's path, as `hypermod report` prints it."""
        return str(self.path)


def load_results(directory: str | Path) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The readable unit files under `directory`, by experiment, and why others were not.

    `directory` is a sweep output (`DIR/EXPERIMENT/runs/*.json`) or one experiment's
    folder (`DIR/runs/*.json`). A file that cannot be read, is not JSON (a truncated copy,
    say) or is not a finished unit record with the fields its experiment's report needs
    is left out; the second list holds one message per such file, naming it and the
    problem; so is a file that is not what its name says (a copy, an edited unit) or a
    second result of one unit (see `hypermod.records.read_unit_files`).
    """
    directory = Path(directory)
    paths = [*directory.glob("*/runs/*.json"), *directory.glob("runs/*.json")]

    def row_fields(name: str) -> dict[str, type] | None:
        experiment = EXPERIMENTS.get(name)
        return experiment.row_fields if experiment else None

    grouped: dict[str, list[dict[str, Any]]] = {}
    used, skipped = read_unit_files(paths, row_fields)
    for path, record in used:
        record["path"] = str(path)
        experiment = EXPERIMENTS.get(record["experiment"])
        if experiment is not None:  # an older record's settings in the current shape
            record["config"] = upgrade_settings(record["config"],
                                                moved_settings(experiment.quick))
        grouped.setdefault(record["experiment"], []).append(record)
    return grouped, skipped


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def is_quick(experiment: Experiment, config: dict[str, Any]) -> bool:
    """Whether `config` (a record's) is the experiment's quick settings, grid aside."""
    return not settings_differ(config_record(experiment.quick), config, experiment.grid_fields,
                               legacy_settings(experiment.quick),
                               moved_settings(experiment.quick))


def _union(values: Iterable[Any]) -> list[Any]:
    """The distinct items, in first-seen order; numbers sorted."""
    seen = list(dict.fromkeys(json.dumps(v) for v in values))
    items = [json.loads(v) for v in seen]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
        items.sort()
    return items


def _settings_table(records: list[dict[str, Any]], grid_fields: Iterable[str]) -> str:
    """The settings; grid fields as the union over every record's config (a resumed or
    widened sweep adds data sets, depths...), and the grid values the units ran."""
    config = dict(records[0]["config"])
    for field in grid_fields:
        lists = [r["config"].get(field) for r in records]
        if field in config and all(isinstance(v, list) for v in lists):
            config[field] = _union(v for values in lists for v in values)
    seeds = sorted({r["unit"]["seed"] for r in records})
    rows = [{"key": k, "value": json.dumps(v)} for k, v in flat_settings(config).items()]
    keys = [k for k in dict.fromkeys(k for r in records for k in r["unit"]) if k != "seed"]
    ran = "; ".join(f"{k}: " + ", ".join(map(str, _union(r["unit"].get(k) for r in records)))
                    for k in keys)
    if ran:
        rows.append({"key": "units ran", "value": ran})
    rows.append({"key": "seeds", "value": f"{len(seeds)} ({', '.join(map(str, seeds))})"})
    diverged = len(diverged_runs(records))
    rows.append({"key": "finished runs", "value": str(len(records))
                 + (f" ({diverged} diverged)" if diverged else "")})
    seconds = sum(r.get("wall_seconds", 0.0) for r in records)
    rows.append({"key": "compute time", "value": f"{_duration(seconds)} (sum over runs)"})
    return markdown_table(rows, [("key", "setting"), ("value", "value")])


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _environment_table(grouped: dict[str, list[dict[str, Any]]]) -> str:
    seen: dict[tuple, dict[str, Any]] = {}
    for name, records in grouped.items():
        for r in records:
            env, code = r.get("environment", {}), r.get("code", {})
            key = (name, env.get("torch"), env.get("device"), env.get("platform"),
                   code.get("git_commit"), code.get("git_dirty"))
            entry = seen.setdefault(key, {
                "experiment": name, "torch": env.get("torch"), "python": env.get("python"),
                "device": env.get("device_name") or env.get("device"),
                "threads": env.get("torch_threads"), "platform": env.get("platform"),
                "code": f"{code.get('hypermod')} {str(code.get('git_commit'))[:10]}"
                        + (" (dirty)" if code.get("git_dirty") else ""),
                "runs": 0,
            })
            entry["runs"] += 1
    return markdown_table(list(seen.values()), [
        ("experiment", "experiment"), ("runs", "runs"), ("torch", "torch"),
        ("python", "python"), ("device", "device"), ("threads", "threads"),
        ("platform", "platform"), ("code", "hypermod, commit"),
    ])


def _check_one_setting(name: str, records: list[dict[str, Any]], grid_fields,
                       legacy: dict[str, Any] | None = None) -> None:
    """Refuse to average runs made under different settings into one curve."""
    first = records[0]
    for record in records[1:]:
        diff = settings_differ(first["config"], record["config"], grid_fields, legacy)
        if diff:
            raise ValueError(
                f"{name}: {first['path']} and {record['path']} were made with different "
                f"settings ({', '.join(diff)}); report them from separate directories"
            )


def _diverged_table(records: list[dict[str, Any]]) -> str | None:
    """The runs whose loss became NaN or infinite, or None when there were none."""
    runs = diverged_runs(records)
    if not runs:
        return None
    keys = [k for k in runs[0] if k not in ("epoch", "last_finite_loss")]
    for run in runs:
        run.update({k: f"{v:g}" for k, v in run.items() if isinstance(v, float)})
        if run["last_finite_loss"] is None:
            run["last_finite_loss"] = "none (first epoch)"
    return markdown_table(runs, [(k, k) for k in keys] + [
        ("epoch", "diverged at epoch"), ("last_finite_loss", "last finite train loss")])


def build_report(directory: str | Path, log: Callable[[str], None] = _stderr) -> Report:
    """Write `directory/report.md` and `directory/figures/*.png` from the result files there.

    Unreadable or malformed result files are skipped, each named (with the problem) on
    `log` and in the report. A section whose runs used the experiment's quick settings
    says so in its title. Raises ValueError when no valid result file is left.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    grouped, skipped = load_results(directory)
    for message in skipped:
        log(f"skipped {message}")
    if not grouped:
        raise ValueError(f"{directory}: no finished result files (looked for */runs/*.json"
                         + (f"; {len(skipped)} were skipped, see above" if skipped else "")
                         + f"); run `hypermod sweep EXPERIMENT --out {directory}` first")
    sections: list[tuple[str, Section, list[dict[str, Any]]]] = []
    unknown = []
    for name in [n for n in EXPERIMENTS if n in grouped] + sorted(set(grouped) - set(EXPERIMENTS)):
        experiment = EXPERIMENTS.get(name)
        if experiment is None or experiment.report is None:
            unknown.append(name)
            continue
        _check_one_setting(name, grouped[name], experiment.grid_fields,
                           legacy_settings(experiment.quick))
        section = experiment.report(grouped[name], directory)
        if is_quick(experiment, grouped[name][0]["config"]):
            section = replace(section, title=f"{section.title} {QUICK_MARK}")
        sections.append((name, section, grouped[name]))

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = ["# hypermod report", "",
             f"Rebuilt from the result files under `{directory}` on {stamp}; every number "
             "below is read from those files (`hypermod report DIR` rebuilds this page).", "",
             "## Claims", ""]
    lines += [f"- **{s.title}** (`{name}`): {s.claim}" for name, s, _ in sections]
    if unknown:
        lines += ["", f"Result files of unregistered experiments were skipped: {unknown}."]
    if skipped:
        lines += ["", f"{len(skipped)} result file(s) could not be used and were skipped "
                  "(see [Skipped files](#skipped-files))."]
    for name, section, records in sections:
        lines += ["", f"## {section.title}", "", f"Experiment `{name}`: "
                  f"{EXPERIMENTS[name].description}.", "", section.claim, ""]
        lines += [f"![{name}]({fig})" for fig in section.figures]
        for table in section.tables:
            lines += ["", table]
        lines += [f"\n{note}" for note in section.notes]
        diverged = _diverged_table(records)
        if diverged:
            lines += ["", "### Diverged runs", "", "The train loss of these runs became NaN "
                      "or infinite, so they stopped there; they count in the tables as "
                      "diverged, not in the means.", "", diverged]
        lines += ["", "### Settings", "",
                  _settings_table(records, EXPERIMENTS[name].grid_fields)]
    if skipped:
        lines += ["", "## Skipped files", ""] + [f"- `{message}`" for message in skipped]
    lines += ["", "## Environment", "", _environment_table(grouped), ""]
    text = "\n".join(lines)
    path = directory / "report.md"
    write_atomic(path, lambda fh: fh.write(text.encode()))
    return Report(path, [(s.title, _plain(s.claim)) for _, s, _ in sections])


def _plain(text: str) -> str:
    """Markdown emphasis and code marks removed."""
    return text.replace("**", "").replace("`", "")
