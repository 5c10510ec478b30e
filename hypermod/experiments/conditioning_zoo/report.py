"""conditioning-zoo's report: numbers first (`summarize`), then figures and tables (`render`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypermod.reporting import Section, final_rows, group_stats, markdown_table, verdict
from hypermod.reporting import figures as plotting
from hypermod.reporting.claims import best_of
from hypermod.reporting.markdown import pair_cells, side_text
from hypermod.reporting.selection import choose, edge_note, rule_text, tuned_fields
from hypermod.sweep import TUNABLE
from hypermod.tasks import chance_error

NAME = "conditioning-zoo"
METRIC = {"rotation": "test error", "regression": "test MSE", "inr": "test MSE"}
WORDS = {"first": "worse than the best", "second": "better than the best on test",
         "noise": "tied with the best", "too few": "too few seeds",
         "failed": "both failed"}


def _psnr(rows: list[dict[str, Any]], key: str) -> dict[tuple, float | None]:
    """(method, budget) -> mean over seeds of the rows' PSNR `key` (INR only)."""
    stats_ = group_stats([r for r in rows if r.get(key) is not None], ("method", "budget"), key)
    return {(s["method"], s["budget"]): s["mean"] for s in stats_}


def chance_level(task: str) -> float | None:
    """The best constant guess of a task's metric, where it is known without the data: the
    rotation bins' error, and 1 for the structured target (unit variance, so predicting
    its mean has MSE 1); None for INR (the mean image's error depends on the data)."""
    return {"rotation": chance_error(12, "reference"), "regression": 1.0}.get(task)


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (data set, task): each method's final test metric per budget over seeds, the
    ranking at each budget by mean validation metric (test metric for runs without a
    validation part, said so), and each other method against the best by a paired t-test
    over the seeds both trained (Holm over the comparisons of one budget)."""
    finals = final_rows(records)
    select = "val_error" if finals and all("val_error" in r for r in finals) else "test_error"
    out: dict[str, Any] = {"tasks": [], "select": select}
    for dataset, task in dict.fromkeys((r["dataset"], r["task"]) for r in finals):
        mine = [r for r in finals if (r["dataset"], r["task"]) == (dataset, task)]
        tuned = tuned_fields(mine, TUNABLE)
        mine, selection = choose(mine, tuned, ("method", "budget"), select,
                                 chance_level(task))
        # the figure's means are over the runs that trained; failures are counted apart
        failed = [verdict.failed(r.get("test_error"), chance_level(task)) for r in mine]
        table = group_stats([r for r, f in zip(mine, failed) if not f], ("method", "budget"),
                            "test_error")
        failures: dict[str, int] = {}
        for r, f in zip(mine, failed):
            key = f"{r['method']}@{r['budget']}"
            failures[key] = failures.get(key, 0) + f
        sizes = {(r["method"], r["budget"]): (r["trainable"], r["primary"],
                                              r.get("budget_ok", True)) for r in mine}
        test_psnr, heldout_psnr = _psnr(mine, "test_psnr"), _psnr(mine, "heldout_psnr")
        rankings = []
        for ranking in sorted(best_of(mine, "method", "test_error", select, ("budget",),
                                      test="paired", chance=chance_level(task)),
                              key=lambda r: r.at["budget"]):
            budget = ranking.at["budget"]
            vs = {p.at["method"]: p for p in ranking.pairs}
            ranked = []
            for place, method in enumerate(ranking.order, 1):
                trainable, primary, ok = sizes[(method, budget)]
                ranked.append({"place": place, "method": method,
                               "side": ranking.sides[method],
                               "selection": ranking.selection[method],
                               "pair": vs.get(method), "trainable": trainable,
                               "primary": primary, "budget_ok": ok,
                               "psnr": test_psnr.get((method, budget)),
                               "heldout_psnr": heldout_psnr.get((method, budget))})
            rankings.append({"budget": budget, "best": ranking.best, "ranked": ranked})
        out["tasks"].append({"dataset": dataset, "task": task, "stats": table,
                             "failures": failures,
                             "sizes": {f"{m}@{b}": v for (m, b), v in sizes.items()},
                             "rankings": rankings, "tuned": tuned,
                             "selection": selection})
    return out


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """One figure per task (metric against trainable and against primary parameters, a
    line per method), one ranking table per task, and the claims in words."""
    figures, tables, claims, notes = [], [], [], []
    for entry in summary["tasks"]:
        dataset, task = entry["dataset"], entry["task"]
        label = f"{task} on {dataset}"
        fig, axes = plotting.panels(2, f"conditioning-zoo: {label} (mean ± std over the "
                                       "runs that trained)", width=5.8)
        methods = list(dict.fromkeys(s["method"] for s in entry["stats"]))
        for slot, method in enumerate(methods):
            rows = [dict(s, trainable=entry["sizes"][f"{method}@{s['budget']}"][0],
                         primary=entry["sizes"][f"{method}@{s['budget']}"][1])
                    for s in entry["stats"] if s["method"] == method]
            lost = sum(v for k, v in entry["failures"].items() if k.startswith(method + "@"))
            name = method + (f" ({lost} failed, left out)" if lost else "")
            plotting.dodged(axes[0], rows, "trainable", name, slot, len(methods))
            plotting.dodged(axes[1], rows, "primary", name, 0, 1, connect=False)
        budgets = sorted({s["budget"] for s in entry["stats"]})
        for ax, x in zip(axes, ("trainable parameters (the budget; points shifted apart)",
                                "primary-network parameters (g or q)")):
            ax.set(xscale="log", xlabel=x, ylabel=METRIC[task])
        plotting.label_ticks(axes[0], budgets)
        if axes[1].get_legend_handles_labels()[0]:  # none when every run failed
            axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1))
        path = plotting.save(fig, outdir / "figures" / f"{NAME}-{dataset}-{task}.png")
        figures.append(str(path.relative_to(outdir)))
        rows = []
        for ranking in entry["rankings"]:
            for r in ranking["ranked"]:
                cells = pair_cells(r["pair"], WORDS) if r["pair"] is not None else {}
                rows.append({
                    "budget": f"{ranking['budget']:,}", "place": r["place"],
                    "method": r["method"], "metric": side_text(r["side"]),
                    "select": "-" if r["selection"] == float("inf")
                    else f"{r['selection']:.4f}",
                    "psnr": f"{r['psnr']:.2f}" if r["psnr"] is not None else "",
                    "heldout": f"{r['heldout_psnr']:.2f}" if r["heldout_psnr"] is not None
                    else "",
                    "diff": cells.get("diff", "(best)"), "p": cells.get("p", "-"),
                    "p_adj": cells.get("p_adj", "-"), "outcome": cells.get("outcome", "best"),
                    "all_runs": cells.get("all_runs", "-"),
                    "trainable": f"{r['trainable']:,}", "primary": f"{r['primary']:,}",
                    "matched": "yes" if r["budget_ok"] else "no (see note)"})
            others = [r for r in ranking["ranked"] if r["pair"] is not None]
            worse = sum(r["pair"].outcome == "first" for r in others)
            claims.append(f"{label}, budget {ranking['budget']:,}: best {ranking['best']} "
                          f"({side_text(ranking['ranked'][0]['side'])}), {worse} of "
                          f"{len(others)} others worse beyond noise")
        on = "validation" if summary["select"] == "val_error" else "test"
        columns = [("budget", "budget"), ("place", f"rank ({on})"), ("method", "method"),
                   ("metric", METRIC[task] + " (runs that trained)"),
                   ("select", f"mean {on} metric (ranks)")]
        if task == "inr":
            columns += [("psnr", "test PSNR (dB)"),
                        ("heldout", "PSNR at held-out pixels of seen images (dB)")]
        columns += [("diff", "best minus it [95% CI]"), ("p", "paired p"),
                    ("p_adj", "Holm p"), ("outcome", "against the best"),
                    ("all_runs", "with failures: difference, p"),
                    ("trainable", "trainable"), ("primary", "primary"),
                    ("matched", "within 1%")]
        tables.append(f"**{label}**\n\n" + markdown_table(rows, columns))
        if entry["tuned"]:
            tuning = plotting.selection_figure(
                entry["selection"], entry["tuned"][0], ("method",), "budget",
                outdir / "figures" / f"{NAME}-{dataset}-{task}-tuning.png",
                ylabel=f"validation {METRIC[task].removeprefix('test ')} (mean over seeds)")
            figures.append(str(tuning.relative_to(outdir)))
            notes.append(f"{label}: " + rule_text(entry["tuned"], ("method", "budget"))
                         + (" " + edge_note(entry["selection"], entry["tuned"],
                                            ("method", "budget"))
                            if edge_note(entry["selection"], entry["tuned"],
                                         ("method", "budget")) else ""))
    return Section(
        title="Choosing a conditioning method at a fixed parameter budget",
        claim="Beyond the paper: every method's encoder width is set so that its trainable "
              "parameters match each budget within 1%; methods are ranked by mean final "
              f"{'validation' if summary['select'] == 'val_error' else 'test'} metric over "
              "seeds, and each other method is compared with the best on the test metric "
              "by a paired t-test over the seeds both trained, Holm over the comparisons "
              "of one budget (with 2-3 seeds, only large gaps can show). Here: "
              + "; ".join(claims) + ".",
        figures=figures, tables=tables,
        notes=[verdict.rules_note("paired", "holm", "seeds", "failures"), _note(summary),
               *notes])


def _note(summary: dict[str, Any]) -> str:
    """What chose the ranking, and what a row not matched to its budget means."""
    if summary["select"] == "val_error":
        text = ("The ranking is by the mean validation metric (a seeded share of the "
                "training data held out); the test set only reports.")
    else:
        text = ("These runs have no validation part (made before it existed), so the "
                "ranking is by the mean test metric and the best is then tested on the "
                "same test data: the comparisons against the best are made after choosing "
                "on them, which favours the best. The rerun with a validation split is in "
                "the issue 'A conditioning-method ranking a reviewer would accept'.")
    return text + (" A row marked 'no' in 'within 1%' could not be matched to its budget "
                   "within 1% (the budget note in its unit file says how close it got); "
                   "it is ranked with its actual count shown.")


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    return render(summarize(records), records, outdir)
