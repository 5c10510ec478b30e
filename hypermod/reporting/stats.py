"""Rows in, summaries out: final epochs, means and spreads over seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Row = dict[str, Any]


def final_rows(records: Iterable[dict[str, Any]]) -> list[Row]:
    """The row every unit record reports: its best validation epoch when it was trained
    with early stopping (its last row names it, "best_epoch"), else its last epoch.
    A diverged run's last row (no numbers) is kept, so that it counts as a failure."""
    out = []
    for record in records:
        if not record["rows"]:
            continue
        last = max(record["rows"], key=lambda row: row["epoch"])
        chosen = last.get("best_epoch")
        if chosen and not last.get("diverged"):
            last = next((row for row in record["rows"] if row["epoch"] == chosen), last)
        out.append(last)
    return out


def rows_at_epoch(records: Iterable[dict[str, Any]], epoch: int, **where: Any
                  ) -> tuple[list[Row], int]:
    """Each run's row at `epoch`, for the runs whose rows match `where` (field=value), as
    the last row of a run asked for `epoch` epochs would be: the training loop does the
    same steps whatever the cap, so a longer run passes through it. A run that diverged
    before `epoch` gives its diverged row (a failure); one that stopped early before it
    gives none. Returns (rows, runs that stopped before `epoch`)."""
    out, stopped = [], 0
    for record in records:
        rows = record["rows"]
        if not rows or any(rows[0].get(k) != v for k, v in where.items()):
            continue
        at = next((row for row in rows if row["epoch"] == epoch), None)
        last = max(rows, key=lambda row: row["epoch"])
        if at is not None and not at.get("diverged"):
            out.append(at)
        elif last.get("diverged") and last["epoch"] <= epoch:
            out.append(last)
        else:
            stopped += 1
    return out, stopped


def stopping_counts(rows: Iterable[Row], records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How the runs ended: stopped by the rule, at the epoch cap, diverged (records'
    last rows), or trained all epochs without a stopping rule ("fixed")."""
    count = {"rule": 0, "cap": 0, "diverged": 0, "fixed": 0}
    for record in records:
        if record["rows"]:
            last = max(record["rows"], key=lambda row: row["epoch"])
            key = "diverged" if last.get("diverged") else last.get("stop", "fixed")
            count[key] = count.get(key, 0) + 1
    return count


def group_stats(rows: Sequence[Row], by: Sequence[str], value: str) -> list[Row]:
    """Mean, sample standard deviation and count of `value` over the rows sharing the
    fields `by`, in first-seen order.

    The standard deviation divides by n - 1 (0 for a single value): with the few seeds a
    sweep affords, dividing by n would understate the spread. Values that are None, NaN
    or infinite (a diverged run's row, see `hypermod.train.diverged_row`) are left out of
    mean, std and n and counted in "diverged"; a group of diverged runs only has mean and
    std None.
    """
    groups: dict[tuple, list[float]] = {}
    lost: dict[tuple, int] = {}
    for row in rows:
        key = tuple(row[k] for k in by)
        groups.setdefault(key, [])
        lost.setdefault(key, 0)
        v = row[value]
        if v is None or not math.isfinite(float(v)):
            lost[key] += 1
        else:
            groups[key].append(float(v))
    out = []
    for key, values in groups.items():
        n = len(values)
        mean = sum(values) / n if n else None
        std = (math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1
               else 0.0 if n else None)
        out.append({**dict(zip(by, key)), "mean": mean, "std": std, "n": n,
                    "diverged": lost[key]})
    return out


def finite_stats(stats: Sequence[Row]) -> list[Row]:
    """The `group_stats` rows that have a mean (not every run of the group diverged)."""
    return [s for s in stats if s["mean"] is not None]


def diverged_runs(records: Iterable[dict[str, Any]]) -> list[Row]:
    """One line per diverged unit: its unit fields, the epoch and the last finite loss."""
    out = []
    for record in records:
        last = max(record["rows"], key=lambda row: row["epoch"]) if record["rows"] else {}
        if last.get("diverged"):
            out.append({**record["unit"], "epoch": last["epoch"],
                        "last_finite_loss": last.get("last_finite_loss")})
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation of two equally long sequences (average ranks for ties)."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("spearman needs two sequences of equal length >= 2")
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else 0.0


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks
