"""conditioning-zoo's report: numbers first (`summarize`), then figures and tables (`render`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scipy import stats

from hypermod.reporting import Section, final_rows, group_stats, markdown_table, pm
from hypermod.reporting import figures as plotting

NAME = "conditioning-zoo"
METRIC = {"rotation": "test error", "regression": "test MSE", "inr": "test MSE"}
SIGNIFICANCE = 0.05


def _psnr(rows: list[dict[str, Any]], key: str) -> dict[tuple, float | None]:
    """(method, budget) -> mean over seeds of the rows' PSNR `key` (INR only)."""
    stats_ = group_stats([r for r in rows if r.get(key) is not None], ("method", "budget"), key)
    return {(s["method"], s["budget"]): s["mean"] for s in stats_}


def paired_p(a: list[float], b: list[float]) -> float | None:
    """Two-sided paired t-test p-value of a against b over seeds; None when they are
    equal. A gap that is the same at every seed (no spread to estimate) counts as certain,
    p = 0: the t statistic is infinite, and scipy would warn of precision loss instead."""
    gaps = [x - y for x, y in zip(a, b)]
    mean = sum(gaps) / len(gaps)
    if max(gaps) - min(gaps) <= 1e-9 * max(abs(mean), 1e-12):
        return 0.0 if mean != 0 else None
    return float(stats.ttest_rel(a, b).pvalue)


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (data set, task): each method's final test metric per budget over seeds, the
    ranking at each budget, and whether each method is worse than the best one by a paired
    t-test over the seeds both ran (p < 0.05)."""
    finals = final_rows(records)
    out: dict[str, Any] = {"tasks": []}
    for dataset, task in dict.fromkeys((r["dataset"], r["task"]) for r in finals):
        mine = [r for r in finals if (r["dataset"], r["task"]) == (dataset, task)]
        table = group_stats(mine, ("method", "budget"), "test_error")
        sizes = {(r["method"], r["budget"]): (r["trainable"], r["primary"],
                                              r.get("budget_ok", True)) for r in mine}
        by_seed = {(r["method"], r["budget"], r["seed"]): r["test_error"] for r in mine}
        test_psnr, heldout_psnr = _psnr(mine, "test_psnr"), _psnr(mine, "heldout_psnr")
        rankings = []
        for budget in sorted({r["budget"] for r in mine}):
            entries = sorted((s for s in table if s["budget"] == budget and s["mean"] is not None),
                             key=lambda s: s["mean"])
            if not entries:
                continue
            best = entries[0]["method"]
            ranked = []
            for place, s in enumerate(entries, 1):
                seeds = sorted(k[2] for k in by_seed if k[:2] == (s["method"], budget)
                               and (best, budget, k[2]) in by_seed)
                a = [by_seed[(s["method"], budget, seed)] for seed in seeds]
                b = [by_seed[(best, budget, seed)] for seed in seeds]
                p = paired_p(a, b) if s["method"] != best and len(seeds) >= 2 else None
                trainable, primary, ok = sizes[(s["method"], budget)]
                ranked.append({"place": place, "method": s["method"], "stat": s, "p": p,
                               "worse": p is not None and p < SIGNIFICANCE and
                               s["mean"] > entries[0]["mean"], "trainable": trainable,
                               "primary": primary, "budget_ok": ok,
                               "psnr": test_psnr.get((s["method"], budget)),
                               "heldout_psnr": heldout_psnr.get((s["method"], budget))})
            rankings.append({"budget": budget, "best": best, "ranked": ranked})
        out["tasks"].append({"dataset": dataset, "task": task, "stats": table,
                             "sizes": {f"{m}@{b}": v for (m, b), v in sizes.items()},
                             "rankings": rankings})
    return out


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """One figure per task (metric against trainable and against primary parameters, a
    line per method), one ranking table per task, and the claims in words."""
    figures, tables, claims = [], [], []
    for entry in summary["tasks"]:
        dataset, task = entry["dataset"], entry["task"]
        label = f"{task} on {dataset}"
        fig, axes = plotting.panels(2, f"conditioning-zoo: {label}")
        for method in dict.fromkeys(s["method"] for s in entry["stats"]):
            rows = [dict(s, trainable=entry["sizes"][f"{method}@{s['budget']}"][0],
                         primary=entry["sizes"][f"{method}@{s['budget']}"][1])
                    for s in entry["stats"] if s["method"] == method]
            plotting.band(axes[0], rows, "trainable", method)
            plotting.band(axes[1], rows, "primary", method)
        for ax, x in zip(axes, ("trainable parameters (matched budgets)",
                                "primary-network parameters (g or q)")):
            ax.set(xscale="log", xlabel=x, ylabel=f"{METRIC[task]} (mean ± std over seeds)")
            ax.legend(fontsize=6)
        path = plotting.save(fig, outdir / "figures" / f"{NAME}-{dataset}-{task}.png")
        figures.append(str(path.relative_to(outdir)))
        rows = []
        for ranking in entry["rankings"]:
            for r in ranking["ranked"]:
                rows.append({
                    "budget": ranking["budget"], "place": r["place"], "method": r["method"],
                    "metric": pm(r["stat"]) + (" *" if r["worse"] else ""),
                    "psnr": f"{r['psnr']:.2f}" if r["psnr"] is not None else "",
                    "heldout": f"{r['heldout_psnr']:.2f}" if r["heldout_psnr"] is not None
                    else "",
                    "p": f"{r['p']:.3f}" if r["p"] is not None else "-",
                    "trainable": r["trainable"], "primary": r["primary"],
                    "matched": "yes" if r["budget_ok"] else "no"})
            best = ranking["ranked"][0]
            claims.append(f"{label}, budget {ranking['budget']:,}: best {best['method']} "
                          f"({best['stat']['mean']:.4f}), "
                          f"{sum(r['worse'] for r in ranking['ranked'])} of "
                          f"{len(ranking['ranked']) - 1} others significantly worse")
        columns = [("budget", "budget"), ("place", "rank"), ("method", "method"),
                   ("metric", METRIC[task] + " (* worse than the best, p < 0.05)")]
        if task == "inr":
            columns += [("psnr", "test PSNR (dB)"),
                        ("heldout", "PSNR at held-out pixels of seen images (dB)")]
        columns += [("p", "paired p vs best"), ("trainable", "trainable"),
                    ("primary", "primary"), ("matched", "within 1%")]
        tables.append(f"**{label}**\n\n" + markdown_table(rows, columns))
    return Section(
        title="Choosing a conditioning method at a fixed parameter budget",
        claim="Beyond the paper: every method's encoder width is set so that its trainable "
              "parameters match each budget within 1%; methods are ranked by mean final "
              "test metric over seeds, and one is marked worse than the best when a paired "
              "t-test over the seeds both ran gives p < 0.05 (with 2-3 seeds, only large gaps "
              "can show). Here: " + "; ".join(claims) + ".",
        figures=figures, tables=tables)


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    return render(summarize(records), records, outdir)
