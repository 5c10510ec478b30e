"""rotation-depth: test error of both methods as the encoder (f or e) deepens.

The paper's figure of rotation prediction on MNIST and CIFAR-10: hypernetwork and
embedding method at encoder depth 2..9 (the reference's `--experiment depth`), trained
with plain SGD, batch 64, for 10 epochs; E = 10 d_x + 10 for the embedding method.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from hypermod.experiments.rotation import RotationRun, default_activation, unit_rows
from hypermod.models import paper
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
from hypermod.reporting.stats import stopping_counts
from hypermod.sweep import (
    Experiment,
    SweepContext,
    Unit,
    check_settings,
    check_tuned,
    tuned_units,
    unit,
)
from hypermod.tasks import RotationConfig, chance_error
from hypermod.training import TrainConfig

NAME = "rotation-depth"


@dataclass(frozen=True)
class RotationDepthConfig:
    """Settings of rotation-depth; the defaults are the paper's.

    Attributes:
        datasets: data sets to run on.
        methods: "hyper" and/or "embedding".
        depths: encoder depths (hidden-to-hidden blocks of f and e).
        seeds: repetitions per (data set, method, depth); seeds 1..seeds.
        epochs, lr, batch_size: plain SGD as in the reference.
        limit_train, limit_test: use only the first N images (None: all).
        binning, interpolation: rotation-task settings (reference defaults).
        val_fraction: share of the training images held out for validation (0: the
            paper's runs choose nothing, so all of them train).
        tune_lr: learning rates to train every (method, depth) at, seeds x values as one
            ensemble; the report chooses one per method and depth on validation data.
            Empty: `lr` alone, as the paper.
        patience, cuts: early stopping on validation (see `TrainConfig`); `epochs` is then
            the cap. None: every run trains all its epochs, as the paper.
    """

    datasets: tuple[str, ...] = ("mnist", "cifar10")
    methods: tuple[str, ...] = ("hyper", "embedding")
    depths: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9)
    seeds: int = 5
    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 64
    limit_train: int | None = None
    limit_test: int | None = None
    binning: str = "reference"
    interpolation: str = "nearest"
    val_fraction: float = 0.0
    tune_lr: tuple[float, ...] = ()
    patience: int | None = None
    cuts: int = 0

    # What runs made before a setting existed used (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = {"val_fraction": 0.0, "tune_lr": [],
                                         "patience": None, "cuts": 0}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "methods", "depths"),
                       positive=("seeds", "epochs", "lr", "batch_size"),
                       optional_positive=("limit_train", "limit_test"))
        # The components check the rest with their own messages.
        TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                    patience=self.patience, cuts=self.cuts)
        check_tuned("lr", self.tune_lr)
        if (self.tune_lr or self.patience) and not self.val_fraction:
            raise ValueError("tune_lr and patience choose on validation data: set "
                             "val_fraction (for example 0.1)")
        RotationConfig(binning=self.binning, interpolation=self.interpolation,
                       val_fraction=self.val_fraction)
        for method in self.methods:
            for depth in self.depths:
                paper(method, depth)


FULL = RotationDepthConfig()
QUICK = RotationDepthConfig(
    datasets=("digits",), depths=(2, 5, 9), seeds=2, epochs=10, lr=0.05,
    limit_train=2000, limit_test=1000,
)


def units(config: RotationDepthConfig) -> list[Unit]:
    """Seed-major, so that an interrupted sweep holds whole curves for the first seeds."""
    return tuned_units([
        unit(seed, dataset=d, method=m, depth=depth)
        for seed in range(1, config.seeds + 1)
        for d in config.datasets
        for depth in config.depths
        for m in config.methods
    ], config)


def _spec(config: RotationDepthConfig, item: Unit, ctx: SweepContext) -> RotationRun:
    p = dict(item.point)
    return RotationRun(
        dataset=p["dataset"],
        model=paper(p["method"], p["depth"], activation=default_activation(p["dataset"])),
        train=TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                          seed=item.seed, patience=config.patience, cuts=config.cuts),
        task=RotationConfig(binning=config.binning, interpolation=config.interpolation,
                            val_fraction=config.val_fraction),
        limit_train=config.limit_train,
        limit_test=config.limit_test,
        device=ctx.device,
    )


def run(config: RotationDepthConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one model; one row per epoch."""
    return unit_rows(_spec(config, item, ctx), [item], ctx, NAME)[item.key]


def run_ensemble(config: RotationDepthConfig, items: list[Unit],
                 ctx: SweepContext) -> dict[int, list[dict[str, Any]]]:
    """Train the seeds of one grid point as one ensemble; rows per seed as `run` gives."""
    return unit_rows(_spec(config, items[0], ctx), items, ctx, NAME)


# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"dataset": str, "method": str, "depth": int,
              "test_error": float, "trainable": int}


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
    params = {(r["dataset"], r["method"], r["depth"]): r["trainable"] for r in finals}
    out: dict[str, Any] = {"epochs": max(r["epoch"] for r in finals), "chance": chance,
                           "stats": stats, "datasets": {}, "tuned": tuned,
                           "selection": selection,
                           "chosen": {_key(r) for r in finals},
                           "stopping": stopping_counts(finals, records)}
    for judgement in judge(claim(chance), finals):
        name = judgement.at["dataset"]
        depths = [{"depth": p.at["depth"], "pair": p,
                   **{f"{m}_params": params.get((name, m, p.at["depth"])) for m in METHODS}}
                  for p in sorted(judgement.pairs, key=lambda p: p.at["depth"])]
        means = {m: [getattr(d["pair"], side).stats()["mean"] for d in depths]
                 for m, side in zip(METHODS, ("first", "second"))}
        out["datasets"][name] = {
            "depths": depths, "verdict": judgement.verdict, "count": judgement.counts,
            **{f"mean_{m}": (sum(v) / len(v) if v and None not in v else None)
               for m, v in means.items()}}
    return out


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """The figures, the table and the claim text of `summary`."""
    datasets, chance = list(summary["datasets"]), summary["chance"]
    stops = summary["stopping"]
    when = (f"after {summary['epochs']} epochs" if stops["rule"] + stops["cap"] == 0 else
            f"at each run's best validation epoch (cap {summary['epochs']})")
    fig, axes = plotting.panels(len(datasets), f"Rotation prediction: test error {when} "
                                               "against encoder depth"
                                + (", lr chosen on validation" if summary["tuned"] else ""))
    for ax, name in zip(axes, datasets):
        for method, label in (("hyper", "hypernetwork g(x; f(I))"),
                              ("embedding", "embedding q([e(I), x])")):
            rows = [s for s in summary["stats"] if s["dataset"] == name
                    and s["method"] == method]
            if rows:
                plotting.band(ax, rows, "depth", label)
        ax.axhline(chance, color="grey", linestyle=":", label=f"best constant guess ({chance:.3f})")
        ax.set(title=name, xlabel="encoder depth (hidden blocks of f / e)",
               ylabel="test error (mean ± std over seeds)")
        ax.legend(fontsize=8)
    figure = plotting.save(fig, outdir / "figures" / f"{NAME}.png")
    chosen = [r for r in records if r["rows"] and _key(r["rows"][-1]) in summary["chosen"]]
    curves = _learning_curves(chosen, datasets, outdir)
    tuning = plotting.selection_figure(summary["selection"], "lr", ("method", "depth"),
                                       "dataset", outdir / "figures" / f"{NAME}-lr.png")
    table_rows, claims = [], []
    for name, data in summary["datasets"].items():
        for d in data["depths"]:
            cells = pair_cells(d["pair"], WORDS)
            table_rows.append({"dataset": name, "depth": d["depth"], **cells,
                               "hyper_params": d["hyper_params"] or "",
                               "embedding_params": d["embedding_params"] or ""})
        claims.append(_claim(name, data))
    table = markdown_table(table_rows, [
        ("dataset", "data set"), ("depth", "depth"), ("first", "hypernetwork test error"),
        ("second", "embedding test error"), *PAIR_COLUMNS,
        ("hyper_params", "hyper trainable"), ("embedding_params", "embedding trainable"),
    ])
    return Section(
        title="Rotation prediction against encoder depth",
        claim="Paper: the hypernetwork reaches a lower test error than the embedding method "
              "at every encoder depth (held when the hypernetwork is lower beyond noise at "
              "every depth judged, in part when at some; one Welch test per depth, Holm over "
              "the depths of a data set). Here " + "; ".join(claims) + ".",
        figures=[str(f.relative_to(outdir)) for f in (figure, curves, tuning) if f],
        tables=[table] + ([selection_markdown(summary["selection"], BY, ("lr",))]
                          if summary["selection"] else []),
        notes=[verdict.rules_note("welch", "holm", "seeds", "failures"),
               *choice_notes(summary["tuned"], summary["selection"], BY,
                             summary["stopping"], summary["epochs"])],
    )


def _claim(name: str, data: dict[str, Any]) -> str:
    text = f"on {name}: {data['verdict'].markdown()}"
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


EXPERIMENT = Experiment(
    name=NAME,
    description="hypernetwork vs embedding method on rotation prediction, encoder depth 2..9",
    full=FULL,
    quick=QUICK,
    datasets=("digits", "mnist", "fashion-mnist", "cifar10"),
    units=units,
    run=run,
    run_ensemble=run_ensemble,
    grid_fields=("datasets", "methods", "depths", "seeds", "tune_lr"),
    tunable=("lr",),
    report=report,
    row_fields=ROW_FIELDS,
)
