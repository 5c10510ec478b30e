"""rotation-depth: test error of both methods as the encoder (f or e) deepens.

The paper's figure of rotation prediction on MNIST and CIFAR-10: hypernetwork and
embedding method at encoder depth 2..9 (the reference's `--experiment depth`), trained
with plain SGD, batch 64, for 10 epochs; E = 10 d_x + 10 for the embedding method.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from hypermod.experiments.rotation import RotationRun, default_activation, unit_rows
from hypermod.models import paper
from hypermod.sweep import (
    SweepContext,
    Unit,
    check_settings,
    check_train,
    check_tuned,
    group_legacy,
    tuned_units,
    unit,
)
from hypermod.tasks import RotationConfig
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
        train: the training settings (`TrainConfig`): plain SGD as in the reference;
            with `train.patience`, early stopping on validation and `train.epochs` the
            cap (None: every run trains all its epochs, as the paper). The seed is each
            unit's.
        limit_train, limit_test: use only the first N images (None: all).
        binning, interpolation: rotation-task settings (reference defaults).
        val_fraction: share of the training images held out for validation (0: the
            paper's runs choose nothing, so all of them train).
        tune_lr: learning rates to train every (method, depth) at, seeds x values as one
            ensemble; the report chooses one per method and depth on validation data.
            Empty: `train.lr` alone, as the paper.
    """

    datasets: tuple[str, ...] = ("mnist", "cifar10")
    methods: tuple[str, ...] = ("hyper", "embedding")
    depths: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9)
    seeds: int = 5
    train: TrainConfig = TrainConfig()
    limit_train: int | None = None
    limit_test: int | None = None
    binning: str = "reference"
    interpolation: str = "nearest"
    val_fraction: float = 0.0
    tune_lr: tuple[float, ...] = ()

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = {"val_fraction": 0.0, "tune_lr": [],
                                         **group_legacy(TrainConfig())}
    MOVED: ClassVar[dict[str, str]] = {k: f"train.{k}" for k in (
        "epochs", "lr", "batch_size", "patience", "cuts")}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "methods", "depths"),
                       positive=("seeds",), optional_positive=("limit_train", "limit_test"))
        # The components check the rest with their own messages.
        check_train(self, TrainConfig())
        check_tuned("lr", self.tune_lr)
        if (self.tune_lr or self.train.patience) and not self.val_fraction:
            raise ValueError("tune_lr and patience choose on validation data: set "
                             "val_fraction (for example 0.1)")
        RotationConfig(binning=self.binning, interpolation=self.interpolation,
                       val_fraction=self.val_fraction)
        for method in self.methods:
            for depth in self.depths:
                paper(method, depth)


FULL = RotationDepthConfig()
QUICK = RotationDepthConfig(
    datasets=("digits",), depths=(2, 5, 9), seeds=2, train=TrainConfig(epochs=10, lr=0.05),
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
        train=replace(config.train, seed=item.seed),
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
