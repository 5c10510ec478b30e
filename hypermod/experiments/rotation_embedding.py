"""rotation-embedding: does a larger embedding let the embedding method catch up?

The paper describes a sweep that grows E = 10^4 (i + 1) while also moving the learning
rate lr = 10^-4 10^(i/4), i = 2..9, with e of depth 3, so size and step size change
together. (The published reference code passes the encoder depth, 4, where that i
belongs, so every one of its runs used E = 50,000 and only the learning rate moved; the
grid below contains those runs too.) This experiment runs the described schedule and,
with `grid=True`, every (E, lr) pair, reporting the best learning rate per E; the
hypernetwork (depth 4) at its best learning rate is the reference line. Learning rates
(and E) are chosen on a validation part held out of the training images (the reference
chose on the test set); the test errors reported are those of the chosen settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from hypermod.experiments.rotation import RotationRun, default_activation, unit_rows
from hypermod.models import paper
from hypermod.reporting import Section, final_rows, group_stats, markdown_table, pm, verdict
from hypermod.reporting import figures as plotting
from hypermod.reporting.claims import Arm, Claim, judge
from hypermod.reporting.markdown import pair_cells
from hypermod.sweep import (
    Experiment,
    SweepContext,
    Unit,
    check_settings,
    check_train,
    group_legacy,
    unit,
)
from hypermod.tasks import RotationConfig, chance_error
from hypermod.training import TrainConfig

NAME = "rotation-embedding"


@dataclass(frozen=True)
class RotationEmbeddingConfig:
    """Settings of rotation-embedding; the defaults are the reference's.

    Attributes:
        datasets: data sets to run on.
        embedding_dims: E values; the reference's 10^4 (i + 1), i = 2..9.
        lrs: learning rates; the reference's 10^-4 10^(i/4), i = 2..9, paired with
            embedding_dims index by index for the reference schedule.
        grid: also run every (E, lr) pair, not only the reference's pairs.
        embedding_depth, hyper_depth: encoder depths (3 and 4 in the reference).
        seeds, limit_train, limit_test: as in rotation-depth.
        train: the training settings (`TrainConfig`), plain SGD as the reference; the
            learning rate is each unit's (from `lrs`), the seed too.
        val_fraction: share of the training images held out (seeded, the same for every
            run) to choose E and the learning rates on.
    """

    datasets: tuple[str, ...] = ("mnist", "cifar10")
    embedding_dims: tuple[int, ...] = tuple(10_000 * (i + 1) for i in range(2, 10))
    lrs: tuple[float, ...] = tuple(1e-4 * 10 ** (i / 4) for i in range(2, 10))
    grid: bool = True
    embedding_depth: int = 3
    hyper_depth: int = 4
    seeds: int = 3
    train: TrainConfig = TrainConfig()
    limit_train: int | None = None
    limit_test: int | None = None
    val_fraction: float = 0.1

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = {"val_fraction": 0.0, **group_legacy(TrainConfig())}
    MOVED: ClassVar[dict[str, str]] = {"epochs": "train.epochs",
                                        "batch_size": "train.batch_size"}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "embedding_dims", "lrs"),
                       positive=("embedding_dims", "lrs", "seeds"),
                       optional_positive=("limit_train", "limit_test"))
        check_train(self, TrainConfig(), derived={"lr": "lrs"})
        RotationConfig(val_fraction=self.val_fraction)
        paper("embedding", self.embedding_depth)
        paper("hyper", self.hyper_depth)
        if not self.grid and len(self.embedding_dims) != len(self.lrs):
            raise ValueError(
                f"without grid, embedding_dims and lrs are paired index by index and must be "
                f"equally long; got {len(self.embedding_dims)} and {len(self.lrs)}"
            )


FULL = RotationEmbeddingConfig()
QUICK = RotationEmbeddingConfig(
    datasets=("digits",), embedding_dims=(650, 2_000, 6_500), lrs=(0.01, 0.03, 0.1),
    seeds=1, train=TrainConfig(epochs=5), limit_train=2000, limit_test=1000,
)


def _pairs(config: RotationEmbeddingConfig) -> list[tuple[int, float]]:
    if config.grid:
        return [(e, lr) for e in config.embedding_dims for lr in config.lrs]
    return list(zip(config.embedding_dims, config.lrs))


def units(config: RotationEmbeddingConfig) -> list[Unit]:
    """Embedding runs at each (E, lr) pair, then the hypernetwork at each lr."""
    out = []
    for seed in range(1, config.seeds + 1):
        for d in config.datasets:
            out += [unit(seed, dataset=d, method="embedding", E=e, lr=lr)
                    for e, lr in _pairs(config)]
            out += [unit(seed, dataset=d, method="hyper", E=0, lr=lr) for lr in config.lrs]
    return out


def _spec(config: RotationEmbeddingConfig, item: Unit, ctx: SweepContext) -> RotationRun:
    p = dict(item.point)
    hyper = p["method"] == "hyper"
    model = paper(p["method"], config.hyper_depth if hyper else config.embedding_depth,
                  activation=default_activation(p["dataset"]),
                  embedding_dim=None if hyper else p["E"])
    return RotationRun(
        dataset=p["dataset"], model=model,
        train=replace(config.train, lr=p["lr"], seed=item.seed),
        task=RotationConfig(val_fraction=config.val_fraction),
        limit_train=config.limit_train, limit_test=config.limit_test, device=ctx.device,
    )


def run(config: RotationEmbeddingConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one model; one row per epoch."""
    return unit_rows(_spec(config, item, ctx), [item], ctx, NAME)[item.key]


def run_ensemble(config: RotationEmbeddingConfig, items: list[Unit],
                 ctx: SweepContext) -> dict[int, list[dict[str, Any]]]:
    """Train the seeds of one grid point as one ensemble; rows per seed as `run` gives."""
    return unit_rows(_spec(config, items[0], ctx), items, ctx, NAME)


def _best(stats: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The lowest mean of the selection metric; settings where a seed diverged only when
    all others did."""
    stable = [s for s in stats if s["mean"] is not None and not s.get("diverged")]
    candidates = stable or [s for s in stats if s["mean"] is not None]
    return min(candidates, key=lambda s: s["mean"]) if candidates else None


# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"dataset": str, "method": str, "E": int, "lr": float,
              "test_error": float}
WORDS = {"first": "hypernetwork lower", "second": "embedding lower",
         "noise": "within noise", "too few": "too few seeds", "failed": "neither learned"}


def selection_metric(rows: list[dict[str, Any]]) -> str:
    """"val_error" when every run has a validation part, else "test_error" (runs made
    before the split existed: then the choice is made on the test set, and said so)."""
    return "val_error" if rows and all("val_error" in r for r in rows) else "test_error"


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per data set: the reference schedule and best lr per E, the hypernetwork's best
    lr (every choice by mean validation error over seeds), the test errors of the
    chosen settings, their comparison and the verdict (numbers only)."""
    config = records[0]["config"]
    schedule = list(zip(config["embedding_dims"], config["lrs"]))
    finals = final_rows(records)
    select = selection_metric(finals)
    keys = ("dataset", "method", "E", "lr")
    chosen_by = group_stats(finals, keys, select)
    tests = {tuple(s[k] for k in keys): s for s in group_stats(finals, keys, "test_error")}
    # No binning in this experiment's config: its runs use the rotation task's default.
    chance = chance_error(12, config.get("binning", "reference"))
    out: dict[str, Any] = {"chance": chance, "select": select, "datasets": {}}
    picked: dict[str, tuple] = {}
    for name in dict.fromkeys(r["dataset"] for r in finals):
        emb = [s for s in chosen_by if s["dataset"] == name and s["method"] == "embedding"]
        rows = []
        for e in sorted({s["E"] for s in emb}):
            group = [s for s in emb if s["E"] == e]
            best = _best(group)
            ref = next((s for s in group if (e, s["lr"]) in schedule), None)
            rows.append({"E": e, "best": best and tests[tuple(best[k] for k in keys)],
                         "best_select": best, "diverged": sum(s["diverged"] for s in group),
                         "reference": ref and tests[tuple(ref[k] for k in keys)]})
        hyper = _best([s for s in chosen_by if s["dataset"] == name
                       and s["method"] == "hyper"])
        emb_best = _best([r["best_select"] for r in rows if r["best_select"] is not None])
        picked[name] = (hyper, emb_best)
        out["datasets"][name] = {
            "rows": rows, "hyper": hyper and tests[tuple(hyper[k] for k in keys)],
            "embedding": emb_best and tests[tuple(emb_best[k] for k in keys)],
            "grid": len(emb) > len([r for r in rows if r["reference"]]),
            "verdict": verdict.Verdict(verdict.INCONCLUSIVE,
                                       "one of the two methods is missing")}
    chosen = [r for r in finals if any(
        s is not None and all(r[k] == s[k] for k in keys) for s in picked[r["dataset"]])]
    for j in judge(claim(chance), chosen):
        data = out["datasets"][j.at["dataset"]]
        if j.pairs:
            data.update({"pair": j.pairs[0], "verdict": j.verdict})
    return out


def claim(chance: float) -> Claim:
    """The hypernetwork at its chosen lr against the embedding method at its chosen
    (E, lr): one Welch test per data set on the chosen settings' test errors."""
    return Claim("hyper-lower", "enlarging the embedding does not let the embedding method "
                 "reach the hypernetwork's test error", "test_error",
                 Arm("hypernetwork", {"method": "hyper"}),
                 Arm("embedding", {"method": "embedding"}), split=("dataset",),
                 chance=chance)


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """The figure, the table and the claim text of `summary`."""
    datasets = summary["datasets"]
    fig, axes = plotting.panels(len(datasets), "Rotation prediction: embedding size E "
                                               "against test error")
    table_rows, claims = [], []
    on = "validation" if summary["select"] == "val_error" else "test"
    for ax, (name, data) in zip(axes, datasets.items()):
        hyper = data["hyper"]
        for row in data["rows"]:
            ref, best = row["reference"], row["best"]
            table_rows.append({
                "dataset": name, "E": row["E"], "ref_lr": f"{ref['lr']:.3g}" if ref else "-",
                "ref": pm(ref), "best_lr": f"{best['lr']:.3g}" if best else "-",
                "select": pm(row["best_select"]) if row["best_select"] else "-",
                "best": pm(best) if best else f"every run diverged ({row['diverged']})",
                "hyper": pm(hyper),
            })
        diagonal = [{**r["reference"], "x": r["E"]} for r in data["rows"] if r["reference"]]
        best_per_e = [{**r["best"], "x": r["E"]} for r in data["rows"] if r["best"]]
        if diagonal:
            plotting.band(ax, diagonal, "x", "embedding, reference schedule (E_i with lr_i)")
        if data["grid"] and best_per_e:  # a grid ran: more lrs for some E
            plotting.band(ax, best_per_e, "x", f"embedding, lr chosen on {on} per E (grid)",
                          marker="s")
        if hyper:
            ax.axhline(hyper["mean"], color="black", linestyle="--",
                       label=f"hypernetwork, lr {hyper['lr']:.3g} (chosen on {on})")
        ax.set(title=name, xlabel="embedding size E", xscale="log",
               ylabel="test error (mean ± std over seeds)")
        plotting.label_ticks(ax, [s["x"] for s in best_per_e])
        ax.legend(fontsize=8)
        claims.append(_claim(name, data))
    figure = plotting.save(fig, outdir / "figures" / f"{NAME}.png")
    table = markdown_table(table_rows, [
        ("dataset", "data set"), ("E", "E"), ("ref_lr", "reference lr"),
        ("ref", "test error, reference schedule"), ("best_lr", f"lr chosen on {on}"),
        ("select", f"{on} error at it"), ("best", "test error at it"),
        ("hyper", "hypernetwork test error, its chosen lr"),
    ])
    note = ("Every learning rate (and the embedding method's E) is chosen by the mean "
            "validation error over seeds (a seeded share of the training images, "
            "held out of training); the test errors reported are those of the chosen "
            "settings." if on == "validation" else
            "These runs have no validation split (they were made before it existed), so "
            "learning rates are chosen by final test error, for both methods alike: the "
            "test set chooses and reports, which flatters both, and picking the best of "
            "many settings favours the side with more of them (the embedding method's "
            "E x lr grid). Rerun the sweep for a choice on validation data.")
    return Section(
        title="Rotation prediction against embedding size",
        claim="Paper: enlarging the embedding does not let the embedding method reach the "
              "hypernetwork's test error (held when the hypernetwork's test error at its "
              f"lr chosen on {on} data is below that of the embedding method's (E, lr) "
              f"chosen on {on} data, by Welch's test). Here " + "; ".join(claims) + ".",
        figures=[str(figure.relative_to(outdir))],
        tables=[table],
        notes=[verdict.rules_note("welch", "seeds", "failures"), note],
    )


def _claim(name: str, data: dict[str, Any]) -> str:
    text = f"on {name}: {data['verdict'].markdown()}"
    h, e = data["hyper"], data["embedding"]
    if h is None or e is None:
        return text
    text += (f"; the embedding method's chosen setting (E = {e['E']:,}, lr {e['lr']:.3g}) "
             f"reached {pm(e)}, the hypernetwork at its chosen lr ({h['lr']:.3g}) {pm(h)}")
    if "pair" in data and data["pair"].test is not None:
        c = pair_cells(data["pair"], WORDS)
        text += f", difference {c['diff']} ({c['test']}, p {c['p']})"
    return text


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    """Error against E: the reference schedule, the best lr per E, the hypernetwork line."""
    return render(summarize(records), records, outdir)


EXPERIMENT = Experiment(
    name=NAME,
    description="embedding method with growing E (reference schedule and E x lr grid) "
                "against the hypernetwork",
    full=FULL,
    quick=QUICK,
    datasets=("digits", "mnist", "fashion-mnist", "cifar10"),
    units=units,
    run=run,
    run_ensemble=run_ensemble,
    grid_fields=("datasets", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)
