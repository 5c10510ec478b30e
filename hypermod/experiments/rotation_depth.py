"""rotation-depth: test error of both methods as the encoder (f or e) deepens.

The paper's figure of rotation prediction on MNIST and CIFAR-10: hypernetwork and
embedding method at encoder depth 2..9 (the reference's `--experiment depth`), trained
with plain SGD, batch 64, for 10 epochs; E = 10 d_x + 10 for the embedding method.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypermod.experiments.rotation import RotationRun, default_activation, unit_rows
from hypermod.models import ModelConfig
from hypermod.reporting import (
    Section,
    final_rows,
    finite_stats,
    group_stats,
    markdown_table,
    pm,
    verdict,
)
from hypermod.reporting import figures as plotting
from hypermod.sweep import Experiment, SweepContext, Unit, check_settings, unit
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

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "methods", "depths"),
                       positive=("seeds", "epochs", "lr", "batch_size"),
                       optional_positive=("limit_train", "limit_test"))
        # The components check the rest with their own messages.
        TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size)
        RotationConfig(binning=self.binning, interpolation=self.interpolation)
        for method in self.methods:
            for depth in self.depths:
                ModelConfig(method, depth)


FULL = RotationDepthConfig()
QUICK = RotationDepthConfig(
    datasets=("digits",), depths=(2, 5, 9), seeds=2, epochs=10, lr=0.05,
    limit_train=2000, limit_test=1000,
)


def units(config: RotationDepthConfig) -> list[Unit]:
    """Seed-major, so that an interrupted sweep holds whole curves for the first seeds."""
    return [
        unit(seed, dataset=d, method=m, depth=depth)
        for seed in range(1, config.seeds + 1)
        for d in config.datasets
        for depth in config.depths
        for m in config.methods
    ]


def _spec(config: RotationDepthConfig, item: Unit, ctx: SweepContext) -> RotationRun:
    p = dict(item.point)
    return RotationRun(
        dataset=p["dataset"],
        model=ModelConfig(p["method"], p["depth"], activation=default_activation(p["dataset"])),
        train=TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                          seed=item.seed),
        task=RotationConfig(binning=config.binning, interpolation=config.interpolation),
        limit_train=config.limit_train,
        limit_test=config.limit_test,
        device=ctx.device,
    )


def run(config: RotationDepthConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one model; one row per epoch."""
    return unit_rows(_spec(config, item, ctx), [item], ctx, NAME)[item.seed]


def run_ensemble(config: RotationDepthConfig, items: list[Unit],
                 ctx: SweepContext) -> dict[int, list[dict[str, Any]]]:
    """Train the seeds of one grid point as one ensemble; rows per seed as `run` gives."""
    return unit_rows(_spec(config, items[0], ctx), items, ctx, NAME)


# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"dataset": str, "method": str, "depth": int,
              "test_error": float, "trainable": int}


METHODS = ("hyper", "embedding")


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per data set: each depth's stats and comparison, and the verdict (numbers only)."""
    finals = final_rows(records)
    stats = group_stats(finals, ("dataset", "method", "depth"), "test_error")
    params = {(r["dataset"], r["method"], r["depth"]): r["trainable"] for r in finals}
    chance = chance_error(12, records[0]["config"].get("binning", "reference"))
    out: dict[str, Any] = {"epochs": max(r["epoch"] for r in finals), "chance": chance,
                           "stats": stats, "datasets": {}}
    for name in dict.fromkeys(r["dataset"] for r in finals):
        by = {(s["method"], s["depth"]): s for s in stats if s["dataset"] == name}
        depths = [_depth(by, d, chance) for d in sorted({d for (_, d) in by})]
        for row in depths:
            row.update({f"{m}_params": params.get((name, m, row["depth"])) for m in METHODS})
        out["datasets"][name] = {"depths": depths, **_judge(depths, chance)}
    return out


def _depth(by: dict[tuple, dict[str, Any]], depth: int, chance: float) -> dict[str, Any]:
    """One depth: both methods' stats and the outcome of comparing them."""
    h, e = by.get(("hyper", depth)), by.get(("embedding", depth))
    row = {"depth": depth, "hyper": h, "embedding": e}
    if h is None or e is None or h["mean"] is None or e["mean"] is None:
        return {**row, "outcome": "missing"}  # one method did not run, or every run diverged
    if verdict.seeds_reason(h["n"], e["n"]):
        return {**row, "outcome": "too few seeds"}
    if verdict.neither_learned(chance, h["mean"], e["mean"]):
        return {**row, "outcome": "neither learned"}
    c = verdict.compare(h, e)
    outcome = {"first": "hyper", "second": "embedding", "noise": "within noise"}[c["lower"]]
    return {**row, "diff": c["diff"], "se": c["se"], "outcome": outcome}


def _judge(depths: list[dict[str, Any]], chance: float) -> dict[str, Any]:
    """The counts over depths and the data set's verdict."""
    paired = [d for d in depths if d["outcome"] != "missing"]
    count = {k: sum(d["outcome"] == k for d in depths)
             for k in ("hyper", "embedding", "within noise", "too few seeds", "neither learned")}
    judged = count["hyper"] + count["embedding"] + count["within noise"]
    out = {"paired": len(paired), "judged": judged, "count": count,
           "mean_hyper": None, "mean_embedding": None}
    if paired:
        for m in METHODS:
            out[f"mean_{m}"] = sum(d[m]["mean"] for d in paired) / len(paired)
    v = verdict.tally(count["hyper"], count["embedding"], judged)
    if v is None:
        reasons = []
        if count["too few seeds"]:
            n = min(min(d["hyper"]["n"], d["embedding"]["n"]) for d in paired
                    if d["outcome"] == "too few seeds")
            reasons.append(verdict.seeds_reason(n))
        if count["neither learned"]:
            reasons.append(verdict.chance_reason(chance))
        v = verdict.Verdict(verdict.INCONCLUSIVE, "; ".join(reasons)
                            or "only one method ran (or finished)")
    return {**out, "verdict": v}


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """The figures, the table and the claim text of `summary`."""
    datasets, chance = list(summary["datasets"]), summary["chance"]
    fig, axes = plotting.panels(len(datasets), f"Rotation prediction: test error after "
                                               f"{summary['epochs']} epochs against encoder "
                                               "depth")
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
    curves = _learning_curves(records, datasets, outdir)
    table_rows, claims = [], []
    for name, data in summary["datasets"].items():
        table_rows += [{"dataset": name, "depth": d["depth"], "hyper": pm(d["hyper"]),
                        "embedding": pm(d["embedding"]), "outcome": _outcome(d),
                        "hyper_params": d["hyper_params"] or "",
                        "embedding_params": d["embedding_params"] or ""}
                       for d in data["depths"]]
        claims.append(_claim(name, data))
    table = markdown_table(table_rows, [
        ("dataset", "data set"), ("depth", "depth"), ("hyper", "hypernetwork test error"),
        ("embedding", "embedding test error"), ("outcome", "lower (beyond 2 SE)"),
        ("hyper_params", "hyper trainable"), ("embedding_params", "embedding trainable"),
    ])
    return Section(
        title="Rotation prediction against encoder depth",
        claim="Paper: the hypernetwork reaches a lower test error than the embedding method "
              "at every encoder depth (held when the hypernetwork's mean over seeds is lower "
              "beyond noise at every depth judged, in part when at some). Here "
              + "; ".join(claims) + ".",
        figures=[str(figure.relative_to(outdir)), str(curves.relative_to(outdir))],
        tables=[table],
        notes=[verdict.rules_note("noise", "seeds", "chance")],
    )


def _outcome(depth: dict[str, Any]) -> str:
    if "diff" in depth:
        return f"{depth['outcome']} (diff {depth['diff']:+.4f}, SE {depth['se']:.4f})"
    return depth["outcome"]


def _claim(name: str, data: dict[str, Any]) -> str:
    text = f"on {name}: {data['verdict'].markdown()}"
    if not data["paired"]:
        return text
    c = data["count"]
    if data["judged"]:
        text += (f"; the hypernetwork was lower beyond noise at {c['hyper']} of "
                 f"{data['paired']} depths, the embedding method at {c['embedding']}, within "
                 f"noise at {c['within noise']}")
    return (f"{text}; mean test error over depths {data['mean_hyper']:.4f} (hypernetwork) "
            f"against {data['mean_embedding']:.4f} (embedding)")


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
    grid_fields=("datasets", "methods", "depths", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)
