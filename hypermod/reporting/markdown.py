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


def side_text(side: Any, digits: int = 4) -> str:
    """One arm of a comparison: "0.1234 ± 0.0100 (n=3)" over its runs that trained, with
    its failures beside ("..., 1 of 3 failed")."""
    s = side.stats()
    failed = f", {s['failed']} of {s['runs']} failed" if s["failed"] else ""
    if s["mean"] is None:
        return f"every run failed ({s['failed']} of {s['runs']})"
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f} (n={s['n']}{failed})"


def p_text(p: float | None) -> str:
    """A p-value as text: 3 significant digits, "<1e-4" below that."""
    if p is None:
        return "-"
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"


def difference_text(d: Any, digits: int = 4) -> str:
    """"-0.2527 [-0.2700, -0.2300]": a difference of means with its interval."""
    if d is None:
        return "-"
    return f"{d.diff:+.{digits}f} [{d.low:+.{digits}f}, {d.high:+.{digits}f}]"


def pair_cells(pair: Any, words: dict[str, str], digits: int = 4) -> dict[str, str]:
    """The table cells of one compared pair (`hypermod.reporting.claims.Pair`): both
    sides, the difference with its interval, the test and n, raw and adjusted p, the
    outcome in `words` (outcome -> text), and the test on all runs where failures exist."""
    d = pair.test
    all_runs = "-"
    if (pair.first.failed or pair.second.failed) and pair.everything is not None:
        e = pair.everything
        all_runs = f"{difference_text(e, digits)}, p {p_text(e.p)}"
    return {"first": side_text(pair.first, digits), "second": side_text(pair.second, digits),
            "diff": difference_text(d, digits),
            "test": "-" if d is None else f"{d.test}, n {d.n_a}/{d.n_b}"
            + (" (all runs)" if pair.used == "all runs" else ""),
            "p": p_text(None if d is None else d.p), "p_adj": p_text(pair.p_adjusted),
            "outcome": words.get(pair.outcome, pair.outcome), "all_runs": all_runs}


PAIR_COLUMNS = [("diff", "difference [95% CI]"), ("test", "test, n"), ("p", "p"),
                ("p_adj", "Holm p"), ("outcome", "lower (Holm p < 0.05)"),
                ("all_runs", "with failures: difference, p")]
