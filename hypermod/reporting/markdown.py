"""Pieces of the report: a section per experiment, Markdown tables, mean +- std text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypermod.reporting.stats import Row


@dataclass
class Section:
    """What an experiment contributes to the report.

    Attributes:
        title: heading.
        claim: the paper's claim, stated, with the numbers measured here and a verdict.
        figures: PNG paths relative to the report's directory.
        tables: Markdown tables.
        notes: further lines (settings that differ from the paper, caveats).
    """

    title: str
    claim: str
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pm(stat: Row | None, digits: int = 4) -> str:
    """"mean +- std (n)" of a `group_stats` row, or "-" when there is none.

    Diverged runs are counted beside: "0.1234 ± 0.0100 (n=2, 1 diverged)", or
    "diverged (3 of 3)" when no run of the group finished.
    """
    if stat is None:
        return "-"
    lost = stat.get("diverged", 0)
    if stat["mean"] is None:
        return f"diverged ({lost} of {lost})"
    extra = f", {lost} diverged" if lost else ""
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f} (n={stat['n']}{extra})"


def markdown_table(rows: Sequence[Row], columns: Sequence[tuple[str, str]]) -> str:
    """A Markdown table of `rows`; `columns` are (field, header) pairs. Floats get 4 digits."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10_000:
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(h for _, h in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r.get(k, "")) for k, _ in columns) + " |" for r in rows]
    return "\n".join(lines)
