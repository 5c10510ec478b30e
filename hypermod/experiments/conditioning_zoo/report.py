"""conditioning-zoo's report: numbers first (`summarize`), then figures and tables (`render`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypermod.experiments.conditioning_zoo import analysis
from hypermod.reporting import Section, group_stats, markdown_table, verdict
from hypermod.reporting import figures as plotting
from hypermod.reporting.claims import best_of
from hypermod.reporting.markdown import p_text, pair_cells, side_text
from hypermod.reporting.selection import choose, edge_note, rule_text, tuned_fields
from hypermod.sweep import TUNABLE
from hypermod.tasks import chance_error

NAME = "conditioning-zoo"
METRIC = {"rotation": "test error", "regression": "test MSE", "inr": "test MSE"}
WORDS = {"first": "worse than the best", "second": "better than the best on test",
         "noise": "tied with the best", "too few": "too few seeds",
         "failed": "both failed"}


def chance_level(task: str) -> float | None:
    """The best constant guess of a task's metric, where it is known without the data: the
    rotation bins' error, and 1 for the structured target (unit variance, so predicting
    its mean has MSE 1); None for INR (the mean image's error depends on the data)."""
    return {"rotation": chance_error(12, "reference"), "regression": 1.0}.get(task)


BASELINES = {"rotation": ("constant",), "regression": ("constant",),
             "inr": ("mean image", "pca-code")}
AGAINST = {"first": "below it", "second": "above it", "noise": "not beyond noise",
           "too few": "too few seeds", "failed": "every run failed"}


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (data set, task): each method's final test metric per design and budget over
    seeds, the ranking at each by mean validation metric (test metric for runs without a
    validation part, said so), each other method against the best by a paired t-test
    over the seeds both trained (Holm over the comparisons of one budget), each method
    against the task's baselines (Holm likewise), how many runs hit the epoch cap,
    Kendall's tau between the ranking at the shared learning rate and the tuned one, and
    the init ablation."""
    finals = analysis.reported_rows(records)
    select = "val_error" if finals and all("val_error" in r for r in finals) else "test_error"
    shared_lr = analysis.shared_lr(records)
    out: dict[str, Any] = {"tasks": [], "select": select, "shared_lr": shared_lr}
    for dataset, task in dict.fromkeys((r["dataset"], r["task"]) for r in finals):
        mine = [dict(r, design=r.get("design", "trainable")) for r in finals
                if (r["dataset"], r["task"]) == (dataset, task)]
        mine = analysis.share_reference(mine)
        main = [r for r in mine if not r.get("ablation")]
        tuned = tuned_fields(main, TUNABLE)
        chance = chance_level(task)
        by = ("method", "design", "budget")
        chosen, selection = choose(main, tuned, by, select, chance)
        # the figure's means are over the runs that trained; failures are counted apart
        failed = [verdict.failed(r.get("test_error"), chance) for r in chosen]
        table = group_stats([r for r, f in zip(chosen, failed) if not f], by, "test_error")
        failures: dict[str, int] = {}
        for r, f in zip(chosen, failed):
            key = f"{r['method']}@{r['design']}@{r['budget']}"
            failures[key] = failures.get(key, 0) + f
        sizes = {(r["method"], r["design"], r["budget"]): (
            r["trainable"], r["primary"], r.get("budget_ok", True)) for r in chosen}
        test_psnr, heldout_psnr = (analysis.means(chosen, k) for k in ("test_psnr", "heldout_psnr"))
        rankings = []
        for ranking in sorted(best_of(chosen, "method", "test_error", select,
                                      ("design", "budget"), test="paired", chance=chance),
                              key=lambda r: (r.at["design"], r.at["budget"])):
            design, budget = ranking.at["design"], ranking.at["budget"]
            here = [r for r in chosen if (r["design"], r["budget"]) == (design, budget)]
            against = {name: analysis.baseline_pairs(ranking.sides, here, name)
                       for name in BASELINES.get(task, ())}
            shared = [r for r in main if (r["design"], r["budget"]) == (design, budget)
                      and r.get("lr") == shared_lr]
            shared_order = (analysis.order_at(shared, select, chance)
                            if "lr" in tuned and shared else [])
            vs = {p.at["method"]: p for p in ranking.pairs}
            ranked = []
            for place, method in enumerate(ranking.order, 1):
                trainable, primary, ok = sizes[(method, design, budget)]
                runs = [r for r in here if r["method"] == method]
                ranked.append({"place": place, "method": method,
                               "side": ranking.sides[method],
                               "selection": ranking.selection[method],
                               "pair": vs.get(method), "trainable": trainable,
                               "primary": primary, "budget_ok": ok,
                               "lr": runs[0].get("lr"), "cap": analysis.at_cap(runs),
                               "runs": len(runs), "code_dim": runs[0].get("code_dim"),
                               "shared": any(r.get("shared") for r in runs),
                               "against": {n: a.get(method) for n, a in against.items()},
                               "psnr": test_psnr.get((method, design, budget)),
                               "heldout_psnr": heldout_psnr.get((method, design, budget))})
            rankings.append({"design": design, "budget": budget, "best": ranking.best,
                             "ranked": ranked, "shared_order": shared_order,
                             "tau": analysis.kendall(shared_order, ranking.order)})
        out["tasks"].append({
            "dataset": dataset, "task": task, "stats": table, "failures": failures,
            "sizes": {f"{m}@{d}@{b}": v for (m, d, b), v in sizes.items()},
            "rankings": rankings, "tuned": tuned, "selection": selection,
            "baselines": analysis.baseline_stats(main),
            "caps": analysis.at_cap(chosen), "runs": len(chosen),
            "ablation": analysis.init_ablation([r for r in mine if r.get("ablation")],
                                               main, tuned, select, chance)})
    return out


def _figure(entry: dict[str, Any], design: str, outdir: Path) -> str:
    """Metric against trainable and against primary parameters, a line per method."""
    dataset, task = entry["dataset"], entry["task"]
    fig, axes = plotting.panels(2, f"conditioning-zoo: {task} on {dataset}, {design} design "
                                   "(mean ± std over the runs that trained)", width=5.8)
    stats_ = [s for s in entry["stats"] if s["design"] == design]
    methods = list(dict.fromkeys(s["method"] for s in stats_))
    for slot, method in enumerate(methods):
        rows = [dict(s, trainable=entry["sizes"][f"{method}@{design}@{s['budget']}"][0],
                     primary=entry["sizes"][f"{method}@{design}@{s['budget']}"][1])
                for s in stats_ if s["method"] == method]
        lost = sum(v for k, v in entry["failures"].items()
                   if k.startswith(f"{method}@{design}@"))
        name = method + (f" ({lost} failed, left out)" if lost else "")
        plotting.dodged(axes[0], rows, "trainable", name, slot, len(methods))
        plotting.dodged(axes[1], rows, "primary", name, 0, 1, connect=False)
    for ax, x in zip(axes, ("trainable parameters (points shifted apart)",
                            "primary-network parameters (g, q or the MLP)")):
        ax.set(xscale="log", xlabel=x, ylabel=METRIC[task])
    plotting.label_ticks(axes[0], sorted({s["budget"] for s in stats_}))
    for name, value in entry["baselines"].items():
        if name in ("constant", "mean image"):
            for ax in axes:
                ax.axhline(value["mean"], color="grey", ls="--", lw=0.8)
    if axes[1].get_legend_handles_labels()[0]:  # none when every run failed
        axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1))
    path = plotting.save(fig, outdir / "figures" / f"{NAME}-{dataset}-{task}-{design}.png")
    return str(path.relative_to(outdir))


def _ranking_rows(entry: dict[str, Any], ranking: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in ranking["ranked"]:
        cells = pair_cells(r["pair"], WORDS) if r["pair"] is not None else {}
        row = {"budget": f"{ranking['budget']:,}", "place": r["place"],
               "method": r["method"] + (" (shared)" if r["shared"] else ""),
               "metric": side_text(r["side"]),
               "select": "-" if r["selection"] == float("inf") else f"{r['selection']:.4f}",
               "lr": "-" if r["lr"] is None else f"{r['lr']:g}",
               "cap": f"{r['cap']} of {r['runs']}",
               "psnr": f"{r['psnr']:.2f}" if r["psnr"] is not None else "",
               "diff": cells.get("diff", "(best)"), "p": cells.get("p", "-"),
               "p_adj": cells.get("p_adj", "-"), "outcome": cells.get("outcome", "best"),
               "all_runs": cells.get("all_runs", "-"),
               "trainable": f"{r['trainable']:,}", "primary": f"{r['primary']:,}",
               "code": "-" if r["code_dim"] is None else f"{r['code_dim']:,}",
               "matched": "yes" if r["budget_ok"] else "no (see note)"}
        for name, against in r["against"].items():
            row[name] = ("-" if against is None else
                         f"{AGAINST.get(against.outcome, against.outcome)} "
                         f"(Holm p {p_text(against.p_adjusted)})")
        rows.append(row)
    return rows


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """Per task and design a figure and a ranking table; per task its baselines and the
    init ablation; one table of Kendall's tau; the claims in words."""
    figures, tables, claims, notes, taus = [], [], [], [], []
    on = "validation" if summary["select"] == "val_error" else "test"
    for entry in summary["tasks"]:
        task, label = entry["task"], f"{entry['task']} on {entry['dataset']}"
        designs = list(dict.fromkeys(r["design"] for r in entry["rankings"]))
        for design in designs:
            figures.append(_figure(entry, design, outdir))
            rankings = [r for r in entry["rankings"] if r["design"] == design]
            rows = [row for ranking in rankings for row in _ranking_rows(entry, ranking)]
            for ranking in rankings:
                others = [r for r in ranking["ranked"] if r["pair"] is not None]
                worse = sum(r["pair"].outcome == "first" for r in others)
                short = [r["method"] for r in ranking["ranked"] if any(
                    a is not None and a.outcome != "first" for a in r["against"].values())]
                claims.append(
                    f"{label}, {design} design, budget {ranking['budget']:,}: best "
                    f"{ranking['best']} ({side_text(ranking['ranked'][0]['side'])}), "
                    f"{worse} of {len(others)} others worse beyond noise"
                    + (f"; not below every baseline: {', '.join(short)}" if short else ""))
                if ranking["tau"] is not None:
                    taus.append({"task": label, "design": design,
                                 "budget": f"{ranking['budget']:,}",
                                 "tau": f"{ranking['tau']:+.2f}",
                                 "shared": ", ".join(ranking["shared_order"]),
                                 "tuned": ", ".join(r["method"] for r in ranking["ranked"])})
            columns = [("budget", "budget"), ("place", f"rank ({on})"), ("method", "method"),
                       ("metric", METRIC[task] + " (runs that trained)"),
                       ("select", f"mean {on} metric (ranks)"), ("lr", "lr (chosen)"),
                       ("cap", "at the epoch cap")]
            if task == "inr":
                columns += [("psnr", "test PSNR (dB)")]
            columns += [("diff", "best minus it [95% CI]"), ("p", "paired p"),
                        ("p_adj", "Holm p"), ("outcome", "against the best"),
                        ("all_runs", "with failures: difference, p")]
            columns += [(n, f"against {n}") for n in BASELINES.get(task, ())]
            columns += [("trainable", "trainable"), ("primary", "primary")]
            columns += [("code", "code size")] if task == "inr" else []
            columns += [("matched", "within 1%")]
            tables.append(f"**{label}, {design} design**\n\n" + markdown_table(rows, columns))
        if entry["baselines"]:
            tables.append(f"**{label}: baselines** (test {METRIC[task].removeprefix('test ')}"
                          ", mean ± std over seeds)\n\n" + markdown_table(
                              [{"name": k, "value": f"{v['mean']:.4f} ± {v['std']:.4f} "
                                f"(n={v['n']})"} for k, v in entry["baselines"].items()],
                              [("name", "baseline"), ("value", METRIC[task])]))
        if entry["ablation"]:
            tables.append(f"**{label}: init ablation** (trainable design, each at its own "
                          "lr)\n\n" + _ablation_table(entry["ablation"]))
        notes.append(f"{label}: {entry['caps']} of {entry['runs']} reported runs stopped at "
                     "the epoch cap while still improving on validation.")
        if entry["tuned"]:
            figures.append(str(plotting.selection_figure(
                entry["selection"], entry["tuned"][0], ("method", "design"), "budget",
                outdir / "figures" / f"{NAME}-{entry['dataset']}-{task}-tuning.png",
                ylabel=f"validation {METRIC[task].removeprefix('test ')} (mean over seeds)")
                .relative_to(outdir)))
            by = ("method", "design", "budget")
            edge = edge_note(entry["selection"], entry["tuned"], by)
            notes.append(f"{label}: " + rule_text(entry["tuned"], by)
                         + (" " + edge if edge else ""))
    if not taus and any("lr" in e["tuned"] for e in summary["tasks"]):
        notes.append(f"No Kendall's tau: the shared lr ({summary['shared_lr']}) is not "
                     "among the tuned values.")
    if taus:
        tables.append(f"**Kendall's tau: the ranking at the shared lr "
                      f"({summary['shared_lr']:g}) against the tuned one** (validation "
                      "means; 1: the same order)\n\n" + markdown_table(taus, [
                          ("task", "task"), ("design", "design"), ("budget", "budget"),
                          ("tau", "tau"), ("shared", "order at the shared lr"),
                          ("tuned", "order tuned")]))
    return Section(
        title="Choosing a conditioning method at a fixed parameter budget",
        claim="Beyond the paper: methods matched on trainable parameters (trainable design) "
              "or on the primary network's size with the encoder filling the budget "
              f"(primary design) are ranked by mean final {on} metric over seeds, each at "
              "its own learning rate chosen on validation; each other method is compared "
              "with the best on the test metric by a paired t-test over seeds, Holm over "
              "the comparisons of one budget, and each method with the task's baselines "
              "likewise. Here: " + "; ".join(claims) + ".",
        figures=figures, tables=tables,
        notes=[verdict.rules_note("paired", "holm", "seeds", "failures"), _note(summary),
               BASELINE_NOTE, *notes, _scope(records)])


def _scope(records: list[dict[str, Any]]) -> str:
    """What the run does not show, from the settings it ran with."""
    config = (records[0].get("config") or {}) if records else {}
    images, train = config.get("limit_train"), config.get("train") or {}
    seeds = len({(r.get("unit") or {}).get("seed") for r in records})
    tuned = [k.removeprefix("tune_") for k in ("tune_lr", "tune_weight_decay")
             if config.get(k)]
    data = [d for d in config.get("datasets", ()) if d != "structured"]
    return ("What this run does not show: "
            + (f"the image tasks used the first {images:,} training images" if images
               else "the image tasks used every training image")
            + f"; training stopped at {train.get('epochs')} epochs at most, with "
              f"{train.get('optimizer', 'adam')} only; "
            + (f"only {' and '.join(tuned)} {'was' if len(tuned) == 1 else 'were'} tuned"
               if tuned else "nothing was tuned (one learning rate for every method)")
            + " (not widths, depth or the encoder family, which every method shares); "
            + f"{len(data)} image data set{'s' if len(data) != 1 else ''} "
              f"({', '.join(data) or 'none'}); {seeds} seeds, so only gaps a few seed "
              "spreads wide show; the budgets are the settings' and say nothing of larger "
              "models.")


BASELINE_NOTE = (
    "Baselines, fitted without the test set and scored on it as the models are: "
    "'constant' is the best constant output chosen on validation data (the most frequent "
    "rotation bin; the mean target); 'mean image' predicts every test image as the mean "
    "training image; 'pca-K' rebuilds each test image from its first K principal "
    "coordinates (axes from the training images), and 'pca-code' is PCA at the method's "
    "code size (what its encoder hands the primary network; none for the MLP). 'below "
    "it' means the method's test metric is below the baseline's beyond noise (paired over "
    "seeds, Holm over the methods of one budget); anything else marks a method that did "
    "not beat that baseline.")


def _ablation_table(entries: list[dict[str, Any]]) -> str:
    rows = []
    for e in entries:
        cells = pair_cells(e["pair"], {"first": f"{e['base']} lower",
                                       "second": f"{e['init']} lower",
                                       "noise": "within noise"})
        rows.append({"method": e["method"], "budget": f"{e['budget']:,}",
                     "base": cells["first"] + analysis.lr_text(e["lr_base"]),
                     "init": cells["second"] + analysis.lr_text(e["lr_init"]),
                     "diff": cells["diff"], "p": cells["p"], "p_adj": cells["p_adj"],
                     "outcome": cells["outcome"]})
    first = entries[0]
    return markdown_table(rows, [("method", "method"), ("budget", "budget"),
                                 ("base", f"{first['base']} init"),
                                 ("init", f"{first['init']} init"),
                                 ("diff", "difference [95% CI]"), ("p", "paired p"),
                                 ("p_adj", "Holm p"), ("outcome", "outcome")])


def _note(summary: dict[str, Any]) -> str:
    """What chose the ranking, and what a row not matched to its budget means."""
    if summary["select"] == "val_error":
        text = ("The ranking is by the mean validation metric (a seeded share of the "
                "training data held out); the test set only reports.")
    else:
        text = ("These runs have no validation part (made before it existed), so the "
                "ranking is by the mean test metric and the best is then tested on the "
                "same test data: the comparisons against the best are made after choosing "
                "on them, which favours the best.")
    return text + (" A row marked 'no' in 'within 1%' could not be matched to its budget "
                   "within 1% (the budget note in its unit file says how close it got); "
                   "it is ranked with its actual count shown. In the primary design the "
                   "MLP is all primary network, so it is the size of g, far under the "
                   "budget; the paper's hypernetwork is that design's reference and its "
                   "row is the trainable design's runs, marked '(shared)'.")


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    return render(summarize(records), records, outdir)
