"""Choosing a tuned value on validation data, and saying what was chosen and by which rule.

    chosen, table = choose(rows, tuned=("lr",), by=("method", "depth"), metric="val_error")

A sweep that tunes a setting (a learning rate, say) trains every value for every seed;
its rows carry the value as a field. Per group of the other fields `by`, the value whose
runs have the lowest mean validation metric over seeds (failed runs left out, see
`hypermod.reporting.verdict.failed`) is chosen, and only its rows go on to the claims:
the test set reports the chosen value and never chooses it. A choice at the edge of the
grid is flagged: the best value may lie beyond it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hypermod.reporting import verdict
from hypermod.reporting.markdown import markdown_table

Row = dict[str, Any]
RULE = ("the value of lowest mean {metric} over seeds (failed runs left out) is chosen "
        "per {by}; the test numbers reported are the chosen value's")


def tuned_fields(rows: Sequence[Row], tunable: Sequence[str]) -> tuple[str, ...]:
    """The tunable fields that take more than one value in `rows`."""
    return tuple(f for f in tunable if len({r.get(f) for r in rows if f in r}) > 1)


def choose(rows: Sequence[Row], tuned: Sequence[str], by: Sequence[str],
           metric: str = "val_error", chance: float | None = None
           ) -> tuple[list[Row], list[Row]]:
    """The rows of the chosen value per group, and the selection table.

    Args:
        rows: one per run (its reported epoch), each with the `tuned` fields.
        tuned: the tuned fields (their combination is the value chosen).
        by: the fields that make a group (method, depth, budget, data set...).
        metric: the validation metric, lower is better.
        chance: the best constant guess of `metric` (runs within 2% of it failed).

    Returns:
        (rows of the chosen values, one table row per group and value: the group's
        fields, the value, mean metric over the runs that trained, n, failures,
        "chosen" and "edge" (chosen at the smallest or largest of a numeric grid)).
    """
    if not tuned:
        return list(rows), []
    groups: dict[tuple, dict[tuple, list[Row]]] = {}
    for row in rows:
        key = tuple(row.get(f) for f in by)
        groups.setdefault(key, {}).setdefault(tuple(row[f] for f in tuned), []).append(row)
    chosen_rows, table = [], []
    for key, values in groups.items():
        scored = {}
        for value, runs in values.items():
            ok = [r[metric] for r in runs if not r.get("diverged")
                  and not verdict.failed(r.get(metric), chance)]
            scored[value] = (sum(ok) / len(ok) if ok else math.inf, len(ok), len(runs))
        best = min(scored, key=lambda v: scored[v][0])
        grid = sorted(values)
        edge = len(grid) > 1 and best in (grid[0], grid[-1])
        chosen_rows += values[best]
        for value in grid:
            mean, n, runs = scored[value]
            table.append({**dict(zip(by, key)), **dict(zip(tuned, value)),
                          "mean": None if math.isinf(mean) else mean, "n": n,
                          "failed": runs - n, "chosen": value == best,
                          "edge": edge and value == best})
    return chosen_rows, table


def rule_text(tuned: Sequence[str], by: Sequence[str], metric: str = "val_error") -> str:
    """The selection rule in words, for a report."""
    return (f"Tuned: {', '.join(tuned)}; " + RULE.format(metric=metric, by=", ".join(by))
            + "; a value chosen at the edge of its grid is flagged (widen the grid).")


def edge_note(table: Sequence[Row], tuned: Sequence[str], by: Sequence[str]) -> str | None:
    """"best lr at the grid's edge: widen it" for each group whose choice is an end."""
    edges = [r for r in table if r["edge"]]
    if not edges:
        return None
    where = "; ".join(", ".join(f"{f} {r[f]}" for f in (*by, *tuned)) for r in edges)
    return f"best {'/'.join(tuned)} at the grid's edge (widen it): {where}"


def choice_notes(tuned: Sequence[str], table: Sequence[Row], by: Sequence[str],
                 stopping: dict[str, int], epochs: int) -> list[str]:
    """What was chosen and how the runs ended (`stats.stopping_counts`); for runs that
    choose nothing (the paper's), that they choose nothing."""
    notes = []
    if tuned:
        notes.append(rule_text(tuned, by))
        edge = edge_note(table, tuned, by)
        if edge:
            notes.append(edge)
    if stopping.get("rule", 0) + stopping.get("cap", 0):
        notes.append(f"Early stopping on validation, over all runs: {stopping['rule']} "
                     f"stopped by the "
                     f"rule, {stopping['cap']} reached the {epochs}-epoch cap, "
                     f"{stopping['diverged']} diverged; each reports its best validation "
                     "epoch.")
    if not notes:
        notes.append("Nothing is chosen in these runs: every run reports its last epoch, "
                     "and the whole training set trains (no validation part).")
    return notes


def selection_markdown(table: Sequence[Row], by: Sequence[str], tuned: Sequence[str]) -> str:
    """The selection table as Markdown: each group's values, their validation means and
    which was chosen."""
    rows = [{**r, **{f: f"{r[f]:g}" for f in tuned},
             "mean": "-" if r["mean"] is None else f"{r['mean']:.4f}",
             "chosen": ("chosen" + (" (grid edge)" if r["edge"] else "")) if r["chosen"]
             else ""} for r in table]
    return markdown_table(rows, [(f, f) for f in (*by, *tuned)] + [
        ("mean", "validation metric (runs that trained)"), ("n", "n"), ("failed", "failed"),
        ("chosen", "")])
