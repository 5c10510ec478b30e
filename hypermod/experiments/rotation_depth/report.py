"""rotation-depth's report: the paper's claim judged per depth, figures and tables; with
tuned learning rates, each method at its own rate chosen on validation, beside the paper's
fixed setting read from the same runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypermod.experiments.rotation_depth.experiment import FULL, NAME
from hypermod.reporting import (
    Section,
    final_rows,
    finite_stats,
    group_stats,
    markdown_table,
    verdict,
)
from hypermod.reporting import figures as plotting
from hypermod.reporting.claims import Arm, Claim, judge
from hypermod.reporting.markdown import PAIR_COLUMNS, pair_cells
from hypermod.reporting.selection import (
    choice_notes,
    choose,
    selection_markdown,
    tuned_fields,
)
from hypermod.reporting.stats import rows_at_epoch, stopping_counts
from hypermod.tasks import chance_error

METHODS = ("hyper", "embedding")
BY = ("dataset", "method", "depth")


def _key(row: dict[str, Any]) -> tuple:
    return tuple(row.get(k) for k in (*BY, "lr", "seed"))
WORDS = {"first": "hyper", "second": "embedding", "noise": "within noise",
         "too few": "too few seeds", "failed": "neither learned"}


def claim(chance: float) -> Claim:
    """The paper's claim as data: hyper lower than embedding at every depth, one Welch
    test per depth, Holm over the depths of a data set."""
    return Claim("hyper-lower", "the hypernetwork reaches a lower test error than the "
                 "embedding method at every encoder depth", "test_error",
                 Arm("hyper", {"method": "hyper"}), Arm("embedding", {"method": "embedding"}),
                 family=("depth",), split=("dataset",), chance=chance)


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per data set: each depth's stats and comparison, and the verdict (numbers only).

    At the paper's settings nothing is chosen: every run reports its last epoch, on the
    test set. With tuned learning rates, each (method, depth) is compared at its lr of
    lowest mean validation error (`reporting.selection.choose`), and with early stopping
    each run reports its best validation epoch."""
    every = final_rows(records)
    tuned = tuned_fields(every, ("lr",))
    chance = chance_error(12, records[0]["config"].get("binning", "reference"))
    finals, selection = choose(every, tuned, BY, "val_error", chance)
    stats = group_stats(finals, ("dataset", "method", "depth"), "test_error")
    out: dict[str, Any] = {"epochs": max(r["epoch"] for r in finals), "chance": chance,
                           "stats": stats, "datasets": {}, "tuned": tuned,
                           "selection": selection,
                           "chosen": {_key(r) for r in finals},
                           "stopping": stopping_counts(finals, records)}
    out["datasets"] = _judged(finals, chance)
    longest = max(row["epoch"] for r in records for row in r["rows"])
    # with learning-rate cuts a run's epoch-10 row is no longer a fixed-lr run's
    uncut = all(not r["config"].get("train", {}).get("cuts") for r in records)
    if list(tuned) == ["lr"] and any(r["lr"] == FULL.train.lr for r in every) \
            and longest >= FULL.train.epochs and uncut:
        fixed, stopped = rows_at_epoch(records, FULL.train.epochs, lr=FULL.train.lr)
        out["fixed"] = {"lr": FULL.train.lr, "epochs": FULL.train.epochs, "stopped": stopped,
                        "datasets": _judged(fixed, chance),
                        "stats": group_stats(fixed, BY, "test_error")}
    return out


def _judged(rows: list[dict[str, Any]], chance: float) -> dict[str, Any]:
    """The claim judged on one row per run: per data set, each depth's pair, the verdict
    and its counts, and each method's mean over the depths."""
    params = {(r["dataset"], r["method"], r["depth"]): r["trainable"] for r in rows}
    out = {}
    for judgement in judge(claim(chance), rows):
        name = judgement.at["dataset"]
        depths = [{"depth": p.at["depth"], "pair": p,
                   **{f"{m}_params": params.get((name, m, p.at["depth"])) for m in METHODS}}
                  for p in sorted(judgement.pairs, key=lambda p: p.at["depth"])]
        means = {m: [getattr(d["pair"], side).stats()["mean"] for d in depths]
                 for m, side in zip(METHODS, ("first", "second"))}
        out[name] = {
            "depths": depths, "verdict": judgement.verdict, "count": judgement.counts,
            **{f"mean_{m}": (sum(v) / len(v) if v and None not in v else None)
               for m, v in means.items()}}
    return out


def agreement(summary: dict[str, Any], name: str) -> tuple[list[int], list[int]]:
    """The depths where the answer (hyper lower, embedding lower, within noise, ...) is
    the same at the chosen learning rates as at the paper's fixed setting, and those
    where it differs."""
    tuned = {d["depth"]: d["pair"].outcome for d in summary["datasets"][name]["depths"]}
    fixed = {d["depth"]: d["pair"].outcome
             for d in summary["fixed"]["datasets"].get(name, {}).get("depths", [])}
    both = sorted(set(tuned) & set(fixed))
    return ([d for d in both if tuned[d] == fixed[d]],
            [d for d in both if tuned[d] != fixed[d]])


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """The figures, the table and the claim text of `summary`."""
    datasets, chance = list(summary["datasets"]), summary["chance"]
    stops = summary["stopping"]
    when = (f"after {summary['epochs']} epochs" if stops["rule"] + stops["cap"] == 0 else
            f"at each run's best validation epoch (cap {summary['epochs']})")
    fixed = summary.get("fixed")
    fig, axes = plotting.panels(len(datasets), f"Rotation prediction: test error {when}\n"
                                "against encoder depth"
                                + ("; lr chosen on validation" if summary["tuned"] else "")
                                + (f" (dashed: lr {fixed['lr']:g}, epoch {fixed['epochs']})"
                                   if fixed else ""))
    for ax, name in zip(axes, datasets):
        for method, label in (("hyper", "hypernetwork g(x; f(I))"),
                              ("embedding", "embedding q([e(I), x])")):
            rows = [s for s in summary["stats"] if s["dataset"] == name
                    and s["method"] == method]
            if rows:
                plotting.band(ax, rows, "depth", label)
            at_paper = [s for s in (fixed or {}).get("stats", [])
                        if s["dataset"] == name and s["method"] == method and s["mean"]]
            if at_paper:
                ax.plot([s["depth"] for s in at_paper], [s["mean"] for s in at_paper], "--",
                        color=ax.get_lines()[-1].get_color() if rows else None, linewidth=1,
                        label=f"{method} at lr {fixed['lr']:g}, epoch {fixed['epochs']}")
        ax.axhline(chance, color="grey", linestyle=":", label=f"best constant guess ({chance:.3f})")
        ax.set(title=name, xlabel="encoder depth (hidden blocks of f / e)",
               ylabel="test error (mean ± std over seeds)")
        ax.legend(fontsize=8)
    figure = plotting.save(fig, outdir / "figures" / f"{NAME}.png")
    chosen = [r for r in records if r["rows"] and _key(r["rows"][-1]) in summary["chosen"]]
    curves = _learning_curves(chosen, datasets, outdir)
    tuning = plotting.selection_figure(summary["selection"], "lr", ("method", "depth"),
                                       "dataset", outdir / "figures" / f"{NAME}-lr.png")
    claims = [_claim(name, data) for name, data in summary["datasets"].items()]
    tables = [_pair_table(summary["datasets"])]
    fixed = summary.get("fixed")
    if fixed:
        setting = f"lr {fixed['lr']:g}, epoch {fixed['epochs']}"
        tables.append(f"At the paper's fixed setting ({setting}), read from the same runs:"
                      "\n\n" + _pair_table(fixed["datasets"]))
        for i, name in enumerate(summary["datasets"]):
            same, other = agreement(summary, name)
            claims[i] += (f"; at the paper's fixed setting ({setting}) in the same runs: "
                          + _claim(name, fixed["datasets"][name], named=False)
                          + f"; the answer per depth is the same at {len(same)} of "
                          f"{len(same) + len(other)} depths"
                          + (f" (it differs at depth {', '.join(map(str, other))})"
                             if other else ""))
    if summary["selection"]:
        tables.append(selection_markdown(summary["selection"], BY, ("lr",)))
    return Section(
        title="Rotation prediction against encoder depth",
        claim="Paper: the hypernetwork reaches a lower test error than the embedding method "
              "at every encoder depth (held when the hypernetwork is lower beyond noise at "
              "every depth judged, in part when at some; one Welch test per depth, Holm over "
              "the depths of a data set). Here " + "; ".join(claims) + ".",
        figures=[str(f.relative_to(outdir)) for f in (figure, curves, tuning) if f],
        tables=tables,
        notes=[verdict.rules_note("welch", "holm", "seeds", "failures"),
               *choice_notes(summary["tuned"], summary["selection"], BY,
                             summary["stopping"], summary["epochs"]),
               *([_fixed_note(fixed)] if fixed else [])],
    )


def _pair_table(datasets: dict[str, Any]) -> str:
    rows = []
    for name, data in datasets.items():
        for d in data["depths"]:
            rows.append({"dataset": name, "depth": d["depth"], **pair_cells(d["pair"], WORDS),
                         "hyper_params": d["hyper_params"] or "",
                         "embedding_params": d["embedding_params"] or ""})
    return markdown_table(rows, [
        ("dataset", "data set"), ("depth", "depth"), ("first", "hypernetwork test error"),
        ("second", "embedding test error"), *PAIR_COLUMNS,
        ("hyper_params", "hyper trainable"), ("embedding_params", "embedding trainable"),
    ])


def _fixed_note(fixed: dict[str, Any]) -> str:
    stopped = (f"; {fixed['stopped']} run(s) at lr {fixed['lr']:g} stopped early before "
               f"epoch {fixed['epochs']} and are left out of it" if fixed["stopped"] else "")
    return (f"The paper's fixed setting is read from the runs at lr {fixed['lr']:g}: each "
            f"one's test error after epoch {fixed['epochs']}, the last epoch of the paper's "
            f"runs. The training loop takes the same steps whatever its cap, so that row is "
            f"what a {fixed['epochs']}-epoch run with the same seed ends with; these runs "
            f"train on the same images as the tuned ones (the validation part held out)"
            f"{stopped}.")


def _claim(name: str, data: dict[str, Any], named: bool = True) -> str:
    text = (f"on {name}: " if named else "") + data['verdict'].markdown()
    depths = data["depths"]
    if not depths:
        return text
    c = data["count"]
    text += (f"; the hypernetwork was lower beyond noise at {c['first']} of {len(depths)} "
             f"depths, the embedding method at {c['second']}, within noise at {c['noise']}")
    if c["too few"] or c["failed"]:
        text += f" (too few seeds at {c['too few']}, neither learned at {c['failed']})"
    failures = {m: sum(len(getattr(d["pair"], side).failed) for d in depths)
                for m, side in zip(METHODS, ("first", "second"))}
    if any(failures.values()):
        text += (f"; failed runs (at chance or diverged): hypernetwork {failures['hyper']}, "
                 f"embedding {failures['embedding']}")
    if data["mean_hyper"] is not None and data["mean_embedding"] is not None:
        text += (f"; mean test error over depths {data['mean_hyper']:.4f} (hypernetwork) "
                 f"against {data['mean_embedding']:.4f} (embedding)")
    return text


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    """Error against depth per data set, a table, and the claim checked per data set."""
    return render(summarize(records), records, outdir)


def _learning_curves(records: list[dict[str, Any]], datasets: list[str], outdir: Path) -> Path:
    """Test error against epoch, one line per (method, depth), darker for deeper encoders."""
    rows = [row for r in records for row in r["rows"]]
    stats = group_stats(rows, ("dataset", "method", "depth", "epoch"), "test_error")
    fig, axes = plotting.panels(len(datasets), "Rotation prediction: test error during "
                                               "training (mean over seeds)")
    for ax, name in zip(axes, datasets):
        for method, palette in (("hyper", "Blues"), ("embedding", "Oranges")):
            mine = [s for s in stats if s["dataset"] == name and s["method"] == method]
            depths = sorted({s["depth"] for s in mine})
            for depth, colour in zip(depths, plotting.shades(palette, len(depths))):
                curve = sorted((s for s in finite_stats(mine) if s["depth"] == depth),
                               key=lambda s: s["epoch"])
                ax.plot([s["epoch"] for s in curve], [s["mean"] for s in curve],
                        color=colour, label=f"{method}, depth {depth}")
        ax.set(title=name, xlabel="epoch", ylabel="test error")
        ax.legend(fontsize=6, ncol=2)
    return plotting.save(fig, outdir / "figures" / f"{NAME}-curves.png")
