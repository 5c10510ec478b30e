"""`hypermod report DIR`: figures and a Markdown page rebuilt from result files alone."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypermod.experiments.registry import EXPERIMENTS
from hypermod.reporting import Section, markdown_table
from hypermod.sweep import load_units, settings_differ


def _settings_table(records: list[dict[str, Any]]) -> str:
    config = records[0]["config"]
    seeds = sorted({r["unit"]["seed"] for r in records})
    rows = [{"key": k, "value": json.dumps(v)} for k, v in config.items()]
    rows.append({"key": "seeds", "value": f"{len(seeds)} ({', '.join(map(str, seeds))})"})
    rows.append({"key": "finished runs", "value": str(len(records))})
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


def _check_one_setting(name: str, records: list[dict[str, Any]], grid_fields) -> None:
    """Refuse to average runs made under different settings into one curve."""
    first = records[0]
    for record in records[1:]:
        diff = settings_differ(first["config"], record["config"], grid_fields)
        if diff:
            raise ValueError(
                f"{name}: {first['path']} and {record['path']} were made with different "
                f"settings ({', '.join(diff)}); report them from separate directories"
            )


def build_report(directory: str | Path) -> Path:
    """Write `directory/report.md` and `directory/figures/*.png` from the result files there.

    Raises ValueError when the directory holds no finished result file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    grouped = load_units(directory)
    if not grouped:
        raise ValueError(f"{directory}: no finished result files (looked for */runs/*.json); "
                         f"run `hypermod sweep EXPERIMENT --out {directory}` first")
    sections: list[tuple[str, Section, list[dict[str, Any]]]] = []
    unknown = []
    for name in [n for n in EXPERIMENTS if n in grouped] + sorted(set(grouped) - set(EXPERIMENTS)):
        experiment = EXPERIMENTS.get(name)
        if experiment is None or experiment.report is None:
            unknown.append(name)
            continue
        _check_one_setting(name, grouped[name], experiment.grid_fields)
        sections.append((name, experiment.report(grouped[name], directory), grouped[name]))

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = ["# hypermod report", "",
             f"Rebuilt from the result files under `{directory}` on {stamp}; every number "
             "below is read from those files (`hypermod report DIR` rebuilds this page).", "",
             "## Claims", ""]
    lines += [f"- **{s.title}** (`{name}`): {s.claim}" for name, s, _ in sections]
    if unknown:
        lines += ["", f"Result files of unregistered experiments were skipped: {unknown}."]
    for name, section, records in sections:
        lines += ["", f"## {section.title}", "", f"Experiment `{name}`: "
                  f"{EXPERIMENTS[name].description}.", "", section.claim, ""]
        lines += [f"![{name}]({fig})" for fig in section.figures]
        for table in section.tables:
            lines += ["", table]
        lines += [f"\n{note}" for note in section.notes]
        lines += ["", "### Settings", "", _settings_table(records)]
    lines += ["", "## Environment", "", _environment_table(grouped), ""]
    path = directory / "report.md"
    path.write_text("\n".join(lines))
    return path
