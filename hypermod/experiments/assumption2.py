"""assumption2: does the approximation error keep falling as the network grows?

The paper's Assumption 2 says the best error of a class keeps falling with its size.
The reference checks it with one-hidden-layer ELU networks of width 1..29 trained by MSE
to one-hot labels with Adadelta (lr 1.0), batch 64, on Fashion-MNIST, MNIST and
CIFAR-10, every set normalized with MNIST's mean and std; it reports the test MSE. We
report the test classification error and the test MSE (mean over samples and the ten
outputs; the reference's figure is ten times that: a sum over outputs).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import torch

from hypermod.models import count_trainable, shallow_mlp
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
from hypermod.reporting.claims import trend
from hypermod.reporting.markdown import pair_cells
from hypermod.sweep import (
    Experiment,
    SweepContext,
    Unit,
    check_settings,
    check_train,
    config_record,
    group_legacy,
    unit,
)
from hypermod.tasks import ClassificationTask
from hypermod.training import TrainConfig, fit, resolve_device
from hypermod.training.tensorboard import TensorBoardLogger

NAME = "assumption2"


TRAIN = TrainConfig(epochs=5, lr=1.0, optimizer="adadelta")  # the reference's


@dataclass(frozen=True)
class Assumption2Config:
    """Settings of assumption2; the defaults are the reference's.

    Attributes:
        datasets: data sets to run on.
        widths: hidden widths of the one-hidden-layer ELU network.
        train: the training settings (`TrainConfig`): Adadelta at lr 1 for 5 epochs, as
            the reference (its README runs 5 epochs); the seed is each unit's.
        limit_train, limit_test: use only the first N images.
        seeds: repetitions per (data set, width).
    """

    datasets: tuple[str, ...] = ("fashion-mnist", "mnist", "cifar10")
    widths: tuple[int, ...] = tuple(range(1, 30))
    train: TrainConfig = TRAIN
    limit_train: int | None = None
    limit_test: int | None = None
    seeds: int = 5

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = group_legacy(TRAIN)
    MOVED: ClassVar[dict[str, str]] = {k: f"train.{k}" for k in ("epochs", "lr", "batch_size")}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "widths"), positive=("widths", "seeds"),
                       optional_positive=("limit_train", "limit_test"))
        check_train(self, TRAIN)


FULL = Assumption2Config()
QUICK = Assumption2Config(datasets=("digits",), widths=(1, 2, 4, 8, 16, 29),
                          limit_train=3_000, limit_test=1_000, seeds=2)


def units(config: Assumption2Config) -> list[Unit]:
    return [unit(seed, dataset=d, width=w)
            for seed in range(1, config.seeds + 1) for d in config.datasets
            for w in config.widths]


def run(config: Assumption2Config, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one network; one row per epoch (and its curves in TensorBoard, under
    TENSORBOARD/assumption2/UNIT_KEY, when `ctx.tensorboard` is set)."""
    p = dict(item.point)
    device = resolve_device(ctx.device)
    task = ClassificationTask(ctx.dataset(p["dataset"]), "mse_onehot", device,
                              config.limit_train, config.limit_test)
    torch.manual_seed(item.seed)
    model = shallow_mlp(task.input_dim, p["width"], task.num_classes, "elu").to(device)
    train = replace(config.train, seed=item.seed)
    board = None
    if ctx.tensorboard is not None:
        # without the number of seeds of the sweep (the unit's own is "seed"); the logger
        # flattens the train group to train.lr, ...
        hparams = {**config_record(config), **item.as_dict()}
        board = TensorBoardLogger(ctx.tensorboard, NAME, hparams, members=[item.key])
    with board or nullcontext():
        history = fit(model, task, train, progress=False, on_epoch=board)
    params = count_trainable(model)
    return [{**item.as_dict(), "epoch": h["epoch"], "train_loss": h["train_loss"],
             "test_mse": h["test_loss"], "test_error": h["test_error"], "params": params,
             **{k: h[k] for k in ("diverged", "last_finite_loss") if k in h}}
            for h in history]


# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"dataset": str, "width": int, "test_error": float,
              "test_mse": float, "params": int}


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per data set: error and MSE per width, the rank trend and the verdict."""
    finals = final_rows(records)
    err = group_stats(finals, ("dataset", "width"), "test_error")
    mse = group_stats(finals, ("dataset", "width"), "test_mse")
    params = {(r["dataset"], r["width"]): r["params"] for r in finals}
    trends = {j.at["dataset"]: j for j in trend(finals, "width", "test_error", ("dataset",))}
    out: dict[str, Any] = {"error": err, "mse": mse, "datasets": {}}
    for name in dict.fromkeys(r["dataset"] for r in finals):
        e = sorted((s for s in err if s["dataset"] == name), key=lambda s: s["width"])
        m = {s["width"]: s for s in mse if s["dataset"] == name}
        widths = [{"width": s["width"], "params": params[(name, s["width"])], "error": s,
                   "mse": m[s["width"]]} for s in e]
        out["datasets"][name] = {"widths": widths, **_trend(finite_stats(e), trends[name])}
    return out


def _trend(e: list[dict[str, Any]], judged) -> dict[str, Any]:
    """Spearman's rho of width and mean error, the falls, the widest-vs-narrowest test
    and the verdict (`hypermod.reporting.claims.trend`)."""
    if not e:
        return {"verdict": verdict.Verdict(verdict.INCONCLUSIVE, "every run diverged")}
    reason = verdict.seeds_reason(*(s["n"] for s in e))
    if reason and judged.verdict.word != verdict.INCONCLUSIVE:
        return {"verdict": verdict.Verdict(verdict.INCONCLUSIVE, reason)}
    falls = sum(b["mean"] < a["mean"] for a, b in zip(e, e[1:]))
    return {"rho": judged.counts.get("rho"), "falls": falls, "steps": len(e) - 1,
            "first": e[0], "last": e[-1], "pair": judged.pairs[0] if judged.pairs else None,
            "verdict": judged.verdict}


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """The figure, the table and the claim text of `summary`."""
    datasets = summary["datasets"]
    fig, axes = plotting.panels(2, "Assumption 2: one-hidden-layer ELU networks against width")
    for name in datasets:
        plotting.band(axes[0], [s for s in summary["error"] if s["dataset"] == name], "width",
                      name)
        plotting.band(axes[1], [s for s in summary["mse"] if s["dataset"] == name], "width",
                      name)
    axes[0].set(xlabel="hidden width", ylabel="test error (mean ± std over seeds)")
    axes[1].set(xlabel="hidden width", ylabel="test MSE to one-hot (mean over outputs)")
    for ax in axes:
        ax.legend(fontsize=8)
    figure = plotting.save(fig, outdir / "figures" / f"{NAME}.png")
    table_rows, claims = [], []
    for name, d in datasets.items():
        table_rows += [{"dataset": name, "width": w["width"], "params": w["params"],
                        "error": pm(w["error"]), "mse": pm(w["mse"])} for w in d["widths"]]
        text = f"on {name}: {d['verdict'].markdown()}"
        if d.get("rho") is not None:
            first, last = d["first"], d["last"]
            text += (f"; test error {first['mean']:.4f} at width {first['width']} and "
                     f"{last['mean']:.4f} at width {last['width']}, Spearman rank "
                     f"correlation with width {d['rho']:.2f}, falling at {d['falls']} of "
                     f"{d['steps']} steps")
        if d.get("pair") is not None and d["pair"].test is not None:
            c = pair_cells(d["pair"], {})
            text += (f"; widest minus narrowest {c['diff']} ({c['test']}, Holm p "
                     f"{c['p_adj']} over {len(datasets)} data sets)")
        claims.append(text)
    table = markdown_table(table_rows, [
        ("dataset", "data set"), ("width", "width"), ("params", "parameters"),
        ("error", "test error"), ("mse", "test MSE"),
    ])
    return Section(
        title="Assumption 2: the error keeps falling with size",
        claim="Paper: the test error of the best network keeps falling as its width grows "
              "(we call it held when the Spearman rank correlation between width and mean "
              "test error is at most -0.8 and the widest net beats the narrowest beyond "
              "noise: Welch's test, Holm over the data sets). Here "
              + "; ".join(claims) + ".",
        figures=[str(figure.relative_to(outdir))],
        tables=[table],
        notes=[verdict.rules_note("trend", "welch", "holm", "seeds", "diverged", "widths"),
               "Nothing is chosen in this experiment: every run reports its last epoch, and "
               "the whole training set trains."],
    )


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    """Test error and MSE against width per data set; the trend checked by rank."""
    return render(summarize(records), records, outdir)


EXPERIMENT = Experiment(
    name=NAME,
    description="one-hidden-layer ELU networks of growing width: test error against width",
    full=FULL,
    quick=QUICK,
    datasets=("digits", "fashion-mnist", "mnist", "cifar10"),
    units=units,
    run=run,
    grid_fields=("datasets", "widths", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)
