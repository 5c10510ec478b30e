"""modularity-scaling: do trained networks follow the paper's parameter-count rates?

    hypermod sweep modularity-scaling --quick --out runs/scaling && hypermod report runs/scaling

For targets y(x, I) with x in [-1, 1]^m1 and I in [-1, 1]^m2 (`hypermod.tasks.synthetic`),
each method's primary network is swept in width: g (an MLP m1 -> w -> 1 whose weights
and biases f generates) and q (an MLP on [e(I), x] of width w). At every width the
encoder is swept too and the one of best validation error is kept (the envelope: the
theorems let f and e be as large as needed). Each network trains until its validation
error stops improving (Adam, learning-rate cuts) and is scored on a test set of new
instances.

Every point (target, m1, m2, method, width) is then diagnosed (`diagnosis.py`): it is
trained again with the chosen encoder twice as wide (one step beyond every encoder the
envelope tried), with twice the training budget, and with twice the data (instances and
points per instance). A point whose error none of the three lowers beyond the seed
spread (a paired test over seeds), and which stopped by the rule rather than the step
cap, is *primary-limited*. Exponents of log N on log(1/eps) are fitted on every point and
on the primary-limited ones, and set beside the theory's m1/r for g and (m1+m2)/r for q.
On the structured target the report also compares the total trainable parameters a
hypernetwork, an embedding method and a plain MLP on [x, I] need for equal error.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch

from hypermod.experiments.modularity_scaling.regression import mse, scaling_config
from hypermod.experiments.modularity_scaling.report import NAME, ROW_FIELDS, report
from hypermod.models import Sizes, activation, build_model, counts
from hypermod.sweep import (
    Experiment,
    SweepContext,
    Unit,
    check_settings,
    check_train,
    group_legacy,
    unit,
)
from hypermod.tasks import RegressionTask
from hypermod.tasks.synthetic import TARGETS, SyntheticSet, make_target, splits
from hypermod.training import TrainConfig, fit, resolve_device, selected_row

# Adam, batches of 256 instances, cuts after 15 passes without a gain, stop after the third
TRAIN = TrainConfig(lr=1e-2, batch_size=256, test_batch_size=4096, optimizer="adam",
                    patience=15, cuts=3)


@dataclass(frozen=True)
class ScalingConfig:
    """Settings of modularity-scaling.

    Attributes:
        datasets: targets, "smooth" (random Fourier series of smoothness r) and/or
            "structured" (y = g*(x; f*(I))).
        m1s, m2s: input and instance dimensions; every pair runs on the smooth target.
        structured_m2s: instance dimensions of the structured target (with every m1).
        widths: hidden widths of g and q.
        encoder_widths: hidden widths of f and e tried at every primary width (two hidden
            layers: mlp_encoder depth 1); the one of lowest validation error is kept.
        totals_encoders: further encoder widths tried on the structured target only, so
            that the total-parameter comparison also sees small encoders.
        embedding_dim: E, the size of e(I).
        mlp_widths: widths of the plain MLP on [x, I] (two hidden layers), structured only.
        diagnose: targets whose points are trained again with a wider encoder, a larger
            training budget and more data, to find what limits them (`diagnosis.py`).
        probe_seeds: how many seeds (the first ones) run those probes; the diagnosis
            compares each probe with the same seeds' own runs (paired).
        activation: of g, q and the plain MLP (the encoders f and e use ReLU).
        r, delta: smoothness of the smooth target (coefficients ~ |w|^-(r + m/2 + delta)).
        target_seed: seed of the targets (the same function for every run).
        train_instances, val_instances, test_instances, points: set sizes (instances
            times points per instance); each seed draws its own sets.
        train, max_steps: Adam through the one training loop (`TrainConfig`: lr 0.01,
            batches of `train.batch_size` instances), evaluated on the validation set
            after every pass over the training instances: after `train.patience` passes
            without a 0.1% better validation MSE the learning rate is cut by 0.3, after
            `train.cuts` cuts training stops and the best state is kept; `max_steps`
            (rounded up to whole passes: the passes, `train.epochs`, follow from it) is
            the cap, and a run stopped by it is not converged. The seed is each unit's.
        seeds: repetitions (initialization, batch order and data sets).
    """

    datasets: tuple[str, ...] = TARGETS
    m1s: tuple[int, ...] = (1,)
    m2s: tuple[int, ...] = (1, 3)
    structured_m2s: tuple[int, ...] = (4,)
    widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    encoder_widths: tuple[int, ...] = (64, 128)
    totals_encoders: tuple[int, ...] = (8,)
    embedding_dim: int = 8
    mlp_widths: tuple[int, ...] = (8, 16, 32, 64, 128)
    diagnose: tuple[str, ...] = ("smooth",)
    probe_seeds: int = 3
    activation: str = "relu"
    r: float = 1.0
    delta: float = 0.1
    target_seed: int = 0
    train_instances: int = 4096
    val_instances: int = 256
    test_instances: int = 1024
    points: int = 16
    train: TrainConfig = TRAIN
    max_steps: int = 8000
    seeds: int = 3

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = group_legacy(TRAIN)
    MOVED: ClassVar[dict[str, str]] = {"batch_instances": "train.batch_size",
                                        "decays": "train.cuts", "lr": "train.lr",
                                        "patience": "train.patience"}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "m1s", "m2s", "widths", "encoder_widths"),
                       positive=("m1s", "m2s", "structured_m2s", "widths", "encoder_widths",
                                 "totals_encoders", "embedding_dim", "mlp_widths", "r",
                                 "train_instances", "val_instances", "test_instances",
                                 "points", "max_steps", "probe_seeds", "seeds"))
        check_train(self, TRAIN, derived={"epochs": "max_steps"})
        for name in ("datasets", "diagnose"):
            unknown = sorted(set(getattr(self, name)) - set(TARGETS))
            if unknown:
                raise ValueError(f"ScalingConfig.{name}: unknown targets {unknown}; choose "
                                 f"from {TARGETS}")
        activation(self.activation)  # raises ValueError naming the choices
        if self.delta < 0:
            raise ValueError(f"ScalingConfig needs delta >= 0, got delta={self.delta}")

    def encoders(self, target: str) -> tuple[int, ...]:
        """The encoder widths tried at every primary width on `target`, increasing."""
        extra = self.totals_encoders if target == "structured" else ()
        return tuple(sorted(set(self.encoder_widths) | set(extra)))


FULL = ScalingConfig()
QUICK = ScalingConfig(m1s=(1,), m2s=(2,), structured_m2s=(2,), widths=(1, 4, 16),
                      encoder_widths=(16, 32), totals_encoders=(), mlp_widths=(8, 32),
                      train_instances=256, val_instances=64, test_instances=128, points=8,
                      train=replace(TRAIN, patience=20, cuts=1), max_steps=300, probe_seeds=2,
                      seeds=2)


def units(config: ScalingConfig) -> list[Unit]:
    """One unit per (seed, target, m1, m2, method, width); the plain MLP on structured."""
    out = []
    for seed in range(1, config.seeds + 1):
        for target in config.datasets:
            m2s = config.m2s if target == "smooth" else config.structured_m2s
            for m1 in config.m1s:
                for m2 in m2s:
                    point = {"target": target, "m1": m1, "m2": m2}
                    out += [unit(seed, **point, method=method, width=w)
                            for method in ("hyper", "embedding") for w in config.widths]
                    if target == "structured":
                        out += [unit(seed, **point, method="mlp", width=w)
                                for w in config.mlp_widths]
    return out


@functools.lru_cache(maxsize=1)
def _target(target: str, m1: int, m2: int, r: float, delta: float, target_seed: int):
    options = {"r": r, "delta": delta} if target == "smooth" else {}
    return make_target(target, m1, m2, target_seed, **options)


@functools.lru_cache(maxsize=4)
def _data(key: tuple, data_seed: int, train: tuple[int, int],
          evaluation: tuple[tuple[int, int], ...]) -> tuple[SyntheticSet, ...]:
    """Train, validation and test sets; the evaluation sets are drawn apart from the
    training set, so a run with more training data is scored on the same sets."""
    target = _target(*key)
    return (splits(target, data_seed, (train,))[0],
            *splits(target, data_seed + 500_000, evaluation))


@dataclass(frozen=True)
class PointTrainer:
    """Trains one point (target, m1, m2, method, width) of one seed, at any encoder width,
    budget and data multiple: what a unit, and its probes, train."""

    config: ScalingConfig
    point: dict[str, Any]
    seed: int
    device: torch.device

    def train(self, encoder: int, budget: int = 1, data: int = 1) -> dict[str, Any]:
        """One network trained to convergence (`budget` times the steps and patience,
        `data` times the instances and points per instance); its sizes and errors."""
        c, p = self.config, self.point
        key = (p["target"], p["m1"], p["m2"], c.r, c.delta, c.target_seed)
        train, val, test = (s.to(self.device) for s in _data(
            key, 1000 + self.seed, (c.train_instances * data, c.points * data),
            ((c.val_instances, c.points), (c.test_instances, c.points))))
        sizes = Sizes(p["m2"], p["m1"], 1)
        config = scaling_config(p["method"], p["width"], encoder_width=encoder,
                                embedding_dim=c.embedding_dim, act=c.activation)
        torch.manual_seed(self.seed)
        model = build_model(config, sizes).to(self.device)
        n_train = train.instances.shape[0]
        steps_per_pass = math.ceil(n_train / c.train.batch_size)
        start = time.perf_counter()
        patience = None if c.train.patience is None else c.train.patience * budget
        history = fit(model, RegressionTask(train, test, val), replace(
            c.train, epochs=math.ceil(c.max_steps * budget / steps_per_pass),
            seed=self.seed, patience=patience), progress=False)
        best = selected_row(history)
        roles = counts(config, sizes)
        test_mse = best["test_loss"] if best["test_loss"] is not None else math.nan
        stop = "diverged" if history[-1].get("diverged") else history[-1].get("stop", "cap")
        return {"encoder": encoder, "primary": roles["primary"],
                "trainable": roles["trainable"], "counts": roles,
                "train_mse": mse(model, train), "val_mse": best["val_loss"],
                "test_mse": test_mse, "test_rmse": test_mse ** 0.5,
                "steps": len(history) * steps_per_pass,
                "best_step": best["epoch"] * steps_per_pass, "stop": stop,
                "passes": best["epoch"], "train_seconds": time.perf_counter() - start,
                "curve": [{"step": r["epoch"] * steps_per_pass, "train_mse": r["train_loss"],
                           "val_mse": r["val_loss"]} for r in history
                          if not r.get("diverged")]}


def run(config: ScalingConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train the point at every encoder width, keep the best by validation error, and
    (on `config.diagnose` targets, for the first `probe_seeds` seeds) train it again wider,
    longer and on more data."""
    p = dict(item.point)
    point = PointTrainer(config, p, item.seed, resolve_device(ctx.device))
    # the plain MLP has no encoder; its row's "encoder" is its own width, as before
    encoders = (p["width"],) if p["method"] == "mlp" else config.encoders(p["target"])
    tried = [point.train(encoder) for encoder in encoders]
    best = min(tried, key=lambda t: t["val_mse"])
    probes = {}
    if p["method"] != "mlp" and p["target"] in config.diagnose \
            and item.seed <= config.probe_seeds:
        # One step beyond every encoder the envelope tried: a probe of an encoder it
        # already tried and rejected would tell nothing new.
        wider = 2 * best["encoder"]
        while wider in encoders:
            wider *= 2
        probes = {"wider": point.train(wider), "longer": point.train(best["encoder"], budget=2),
                  "data": point.train(best["encoder"], data=2)}
    keep = ("encoder", "primary", "trainable", "train_mse", "val_mse", "test_rmse", "steps",
            "stop")
    return [{**item.as_dict(), **best, "epoch": math.ceil(best["passes"]),
             "curve": best["curve"][::4] + best["curve"][-1:],
             "tried": [{k: t[k] for k in keep} for t in tried],
             "probes": {name: {k: t[k] for k in keep} for name, t in probes.items()}}]


EXPERIMENT = Experiment(
    name=NAME,
    description="primary-network width sweeps on synthetic targets, each point diagnosed "
                "(encoder, budget, data): measured against predicted parameter-count "
                "exponents on primary-limited points, and total sizes on a structured target",
    full=FULL,
    quick=QUICK,
    datasets=TARGETS,
    units=units,
    run=run,
    grid_fields=("datasets", "m1s", "m2s", "structured_m2s", "widths", "encoder_widths",
                 "totals_encoders", "mlp_widths", "diagnose", "probe_seeds", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)
