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
from hypermod.reporting import Section, final_rows, finite_stats, group_stats, markdown_table, pm
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
    return unit_rows(_spec(config, item, ctx), [item], ctx)[item.seed]


def run_ensemble(config: RotationDepthConfig, items: list[Unit],
                 ctx: SweepContext) -> dict[int, list[dict[str, Any]]]:
    """Train the seeds of one grid point as one ensemble; rows per seed as `run` gives."""
    return unit_rows(_spec(config, items[0], ctx), items, ctx)


# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"dataset": str, "method": str, "depth": int,
              "test_error": float, "trainable": int}


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    """Error against depth per data set, a table, and the claim checked per data set."""
    finals = final_rows(records)
    stats = group_stats(finals, ("dataset", "method", "depth"), "test_error")
    params = {(r["dataset"], r["method"], r["depth"]): r["trainable"] for r in finals}
    datasets = list(dict.fromkeys(r["dataset"] for r in finals))
    epochs = max(r["epoch"] for r in finals)
    chance = chance_error(12, records[0]["config"].get("binning", "reference"))

    fig, axes = plotting.panels(len(datasets), f"Rotation prediction: test error after "
                                               f"{epochs} epochs against encoder depth")
    for ax, name in zip(axes, datasets):
        for method, label in (("hyper", "hypernetwork g(x; f(I))"),
                              ("embedding", "embedding q([e(I), x])")):
            rows = [s for s in stats if s["dataset"] == name and s["method"] == method]
            if rows:
                plotting.band(ax, rows, "depth", label)
        ax.axhline(chance, color="grey", linestyle=":", label=f"best constant guess ({chance:.3f})")
        ax.set(title=name, xlabel="encoder depth (hidden blocks of f / e)",
               ylabel="test error (mean ± std over seeds)")
        ax.legend(fontsize=8)
    figure = plotting.save(fig, outdir / "figures" / f"{NAME}.png")
    curves = _learning_curves(records, datasets, outdir)

    table_rows, claims = [], []
    for name in datasets:
        by = {(s["method"], s["depth"]): s for s in stats if s["dataset"] == name}
        depths = sorted({d for (_, d) in by})
        for depth in depths:
            h, e = by.get(("hyper", depth)), by.get(("embedding", depth))
            table_rows.append({
                "dataset": name, "depth": depth, "hyper": pm(h), "embedding": pm(e),
                "hyper_params": params.get((name, "hyper", depth), ""),
                "embedding_params": params.get((name, "embedding", depth), ""),
            })
        # A depth where every run of a method diverged has no mean to compare.
        paired = [d for d in depths if all(by.get((m, d), {}).get("mean") is not None
                                           for m in ("hyper", "embedding"))]
        wins = sum(by[("hyper", d)]["mean"] < by[("embedding", d)]["mean"] for d in paired)
        if not paired:
            claims.append(f"on {name} only one method ran (or finished), so the comparison "
                          "is open")
            continue
        mh = sum(by[("hyper", d)]["mean"] for d in paired) / len(paired)
        me = sum(by[("embedding", d)]["mean"] for d in paired) / len(paired)
        verdict = ("held" if wins == len(paired) else "did not hold" if wins == 0
                   else "held only in part")
        claims.append(
            f"on {name} it **{verdict}**: the hypernetwork was better at {wins} of "
            f"{len(paired)} depths, mean test error over depths {mh:.4f} (hypernetwork) "
            f"against {me:.4f} (embedding)"
        )
    table = markdown_table(table_rows, [
        ("dataset", "data set"), ("depth", "depth"), ("hyper", "hypernetwork test error"),
        ("embedding", "embedding test error"), ("hyper_params", "hyper trainable"),
        ("embedding_params", "embedding trainable"),
    ])
    return Section(
        title="Rotation prediction against encoder depth",
        claim="Paper: the hypernetwork reaches a lower test error than the embedding method "
              "at every encoder depth (we compare the mean over seeds at each depth: held "
              "when the hypernetwork's is lower at every depth, in part when at some). Here "
              + "; ".join(claims) + ".",
        figures=[str(figure.relative_to(outdir)), str(curves.relative_to(outdir))],
        tables=[table],
    )


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
