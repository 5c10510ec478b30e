"""conditioning-zoo's numbers beyond the ranking: baselines, caps, tuning's effect, init.

    against = baseline_pairs(ranking.sides, rows, "constant")   # method -> Pair, Holm
    tau = kendall(shared_order, tuned_order)                    # tau-b of two rankings
    entries = init_ablation(rows, chance)                       # hyperfan against default

Each test here is a paired t-test over seeds with Holm's correction over its family, as
the ranking's (`hypermod.reporting.claims`): a baseline family is one table (one task,
design and budget), an ablation family is one task's hypernetworks at every budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from scipy import stats

from hypermod.reporting import final_rows, group_stats, verdict
from hypermod.reporting.claims import Pair, Side, correct, pair
from hypermod.reporting.selection import choose

Row = dict[str, Any]


def reported_rows(records: Sequence[dict[str, Any]]) -> list[Row]:
    """The row each record reports (`final_rows`) with the INR scores, which runs made
    before they went on that row carry on their last row only (taken after the best
    weights were put back, so they are the reported epoch's)."""
    out = []
    for record in records:
        for row in final_rows([record]):
            last = max(record["rows"], key=lambda r: r["epoch"])
            out.append({**{k: last[k] for k in ("test_psnr", "heldout_psnr") if k in last},
                        **row})
    return out


def shared_lr(records: list[dict[str, Any]]) -> float | None:
    """The one learning rate of the runs' settings (`train.lr`: what a run without tuning
    trains at), the shared-lr ranking's; None when records disagree or lack it."""
    values = {((r.get("config") or {}).get("train") or {}).get("lr") for r in records}
    return values.pop() if len(values) == 1 else None


def means(rows: Sequence[Row], key: str) -> dict[tuple, float | None]:
    """(method, design, budget) -> mean over seeds of the rows' `key` where they have it
    (the INR scores)."""
    by = ("method", "design", "budget")
    found = group_stats([r for r in rows if r.get(key) is not None], by, key)
    return {tuple(s[f] for f in by): s["mean"] for s in found}


def lr_text(value: float | None) -> str:
    """" (lr 0.001)", or nothing when no lr was recorded."""
    return "" if value is None else f" (lr {value:g})"


def share_reference(rows: list[Row]) -> list[Row]:
    """The primary design's hypernetwork is the trainable design's model (see
    `experiment.units`): copy its trainable rows into the primary design, marked."""
    if not any(r.get("design") == "primary" for r in rows) or any(
            r.get("design") == "primary" and r["method"] == "hyper" for r in rows):
        return rows
    copies = [dict(r, design="primary", shared=True) for r in rows
              if r["method"] == "hyper" and r.get("design", "trainable") == "trainable"
              and not r.get("ablation")]
    return rows + copies


def baseline_value(row: Row, name: str) -> float | None:
    """The baseline `name` of a row's run ("pca-code": PCA at the method's code size)."""
    found = row.get("baselines") or {}
    if name == "pca-code":
        return found.get(f"pca-{row['code_dim']}") if row.get("code_dim") else None
    return found.get(name)


def baseline_pairs(sides: dict[str, Side], rows: Sequence[Row], name: str
                   ) -> dict[str, Pair]:
    """Each method (its runs that trained) against baseline `name` on the same seeds'
    test sets, paired over seeds, Holm over the methods that have the baseline. A pair's
    outcome "first" means the method is lower beyond noise (it beats the baseline)."""
    by_method: dict[str, dict[int, float]] = {}
    for r in rows:
        value = baseline_value(r, name)
        if value is not None:
            by_method.setdefault(r["method"], {})[r["seed"]] = value
    pairs = []
    for method, side in sides.items():
        if method not in by_method:
            continue
        base = Side(name, {s: by_method[method][s] for s in side.values
                           if s in by_method[method]}, frozenset())
        pairs.append(pair({"method": method}, side, base, "paired"))
    return {p.at["method"]: p for p in correct(pairs)}


def baseline_stats(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """Every baseline's mean and spread over the seeds of `rows` (one value per seed)."""
    values: dict[tuple[str, int], float] = {}  # one value per (baseline, seed)
    for r in rows:
        for name, value in (r.get("baselines") or {}).items():
            values[(name, r["seed"])] = value
    found = group_stats([{"name": n, "value": v} for (n, _), v in values.items()],
                        ("name",), "value")
    return {s["name"]: {k: s[k] for k in ("mean", "std", "n")}
            for s in sorted(found, key=lambda s: _order(s["name"]))}


def _order(name: str) -> tuple[int, int]:
    return (0, 0) if not name.startswith("pca-") else (1, int(name.removeprefix("pca-")))


def at_cap(rows: Sequence[Row]) -> int:
    """How many of `rows` (reported rows) stopped at the epoch cap, still improving."""
    return sum(r.get("stop") == "cap" for r in rows)


def kendall(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Kendall's tau-b between two orders of the same items (None when under 2 shared)."""
    shared = [m for m in first if m in second]
    if len(shared) < 2:
        return None
    tau = stats.kendalltau([first.index(m) for m in shared],
                           [second.index(m) for m in shared]).statistic
    return None if math.isnan(tau) else float(tau)


def order_at(rows: Sequence[Row], select: str, chance: float | None) -> list[str]:
    """Methods by mean `select` over their runs that trained (all failed: last)."""
    means: dict[str, list[float]] = {}
    for r in rows:
        ok = not r.get("diverged") and not verdict.failed(r.get(select), chance)
        means.setdefault(r["method"], [])
        if ok:
            means[r["method"]].append(r[select])
    score = {m: sum(v) / len(v) if v else math.inf for m, v in means.items()}
    return sorted(score, key=lambda m: score[m])


def init_ablation(rows: Sequence[Row], main_rows: Sequence[Row], tuned: Sequence[str],
                  select: str, chance: float | None) -> list[dict[str, Any]]:
    """The main init against each ablation init, per (method, budget) of the trainable
    design, each at its own value chosen on validation; paired over seeds on the test
    metric, Holm over the task's comparisons. `rows` are the ablation's, `main_rows` every
    main row (before choosing)."""
    if not rows:
        return []
    keys = {(r["method"], r["budget"]) for r in rows}
    main = [r for r in main_rows if (r["method"], r["budget"]) in keys
            and r.get("design", "trainable") == "trainable"]
    pick = ("method", "budget", "init")
    chosen, _ = choose([*main, *rows], tuned, pick, select, chance)
    sides: dict[tuple, Side] = {}
    for key in {tuple(r[f] for f in pick) for r in chosen}:
        mine = [r for r in chosen if tuple(r[f] for f in pick) == key]
        failed = frozenset(r["seed"] for r in mine if r.get("diverged")
                           or verdict.failed(r.get(select), chance))
        sides[key] = Side(key[2], {r["seed"]: r.get("test_error") for r in mine}, failed)
    inits = sorted({r["init"] for r in rows})
    pairs = [pair({"method": m, "budget": b, "init": init}, sides[(m, b, base)],
                  sides[(m, b, init)], "paired")
             for m, b in sorted(keys) for init in inits
             for base in {r["init"] for r in main if (r["method"], r["budget"]) == (m, b)}
             if (m, b, init) in sides and (m, b, base) in sides]
    lr = {tuple(r[f] for f in pick): r.get("lr") for r in chosen}
    return [{"method": p.at["method"], "budget": p.at["budget"], "init": p.at["init"],
             "base": p.first.label, "pair": p,
             "lr_base": lr.get((p.at["method"], p.at["budget"], p.first.label)),
             "lr_init": lr.get((p.at["method"], p.at["budget"], p.at["init"]))}
            for p in correct(pairs)]
