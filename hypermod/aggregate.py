"""Rows in, summaries out: final epochs, means and spreads over seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Row = dict[str, Any]


def final_rows(records: Iterable[dict[str, Any]]) -> list[Row]:
    """The last-epoch row of every unit record (each unit's rows are one curve)."""
    return [max(r["rows"], key=lambda row: row["epoch"]) for r in records if r["rows"]]


def group_stats(rows: Sequence[Row], by: Sequence[str], value: str) -> list[Row]:
    """Mean, sample standard deviation and count of `value` over the rows sharing the
    fields `by`, in first-seen order.

    The standard deviation divides by n - 1 (0 for a single value): with the few seeds a
    sweep affords, dividing by n would understate the spread.
    """
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in by), []).append(float(row[value]))
    out = []
    for key, values in groups.items():
        mean = sum(values) / len(values)
        n = len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
        out.append({**dict(zip(by, key)), "mean": mean, "std": std, "n": len(values)})
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
