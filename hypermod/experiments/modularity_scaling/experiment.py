"""modularity-scaling: do trained networks follow the paper's parameter-count rates?

    hypermod sweep modularity-scaling --quick --out runs/scaling && hypermod report runs/scaling

For targets y(x, I) with x in [-1, 1]^m1 and I in [-1, 1]^m2 (`hypermod.tasks.synthetic`),
each method's primary network is swept in width under a large fixed encoder: g (an MLP
m1 -> w -> 1 whose weights and biases f generates) and q (an MLP on [e(I), x] of width
w). Each network trains to convergence (Adam, learning-rate cuts and early stopping on a
validation set) and is scored on a test set of new instances. The report reads off, at
several target errors eps (root mean squared test error; the targets have unit
variance), the smallest primary network reaching each, fits log N on log(1/eps) and sets
the slope beside the theory's m1/r for g and (m1+m2)/r for q. On the structured target
it also compares the total trainable parameters needed by a hypernetwork, an embedding
method and a plain MLP on [x, I], with encoder and MLP widths swept too.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch

from hypermod.experiments.modularity_scaling.regression import (
    RegressionConfig,
    fit_regression,
    mse,
    primary_size,
    scaling_model,
)
from hypermod.experiments.modularity_scaling.report import NAME, ROW_FIELDS, report
from hypermod.models import activation
from hypermod.sweep import Experiment, SweepContext, Unit, check_settings, unit
from hypermod.tasks.synthetic import TARGETS, SyntheticSet, make_target, splits
from hypermod.training import resolve_device


@dataclass(frozen=True)
class ScalingConfig:
    """Settings of modularity-scaling.

    Attributes:
        datasets: targets, "smooth" (random Fourier series of smoothness r) and/or
            "structured" (y = g*(x; f*(I))).
        m1s, m2s: input and instance dimensions; every pair runs on the smooth target.
        structured_m2s: instance dimensions of the structured target (with every m1).
        widths: hidden widths of g and q under the large encoder.
        encoder_width: hidden width of f and e (two hidden layers: mlp_encoder depth 1).
        embedding_dim: E, the size of e(I).
        totals_encoders, totals_widths: extra (encoder width x primary width) grid of both
            methods on the structured target, for the total-parameter comparison.
        mlp_widths: widths of the plain MLP on [x, I] (two hidden layers).
        activation: of g, q and the plain MLP (the encoders f and e use ReLU).
        r, delta: smoothness of the smooth target (coefficients ~ |w|^-(r + m/2 + delta)).
        target_seed: seed of the targets (the same function for every run).
        train_instances, val_instances, test_instances, points: set sizes (instances
            times points per instance); each seed draws its own sets.
        batch_instances: instances per Adam step.
        lr, max_steps, patience, decays: optimization (see RegressionConfig).
        seeds: repetitions (initialization, batch order and data sets).
    """

    datasets: tuple[str, ...] = TARGETS
    m1s: tuple[int, ...] = (1, 2)
    m2s: tuple[int, ...] = (1, 2, 4)
    structured_m2s: tuple[int, ...] = (4,)
    widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    encoder_width: int = 128
    embedding_dim: int = 8
    totals_encoders: tuple[int, ...] = (8, 32)
    totals_widths: tuple[int, ...] = (2, 8, 32)
    mlp_widths: tuple[int, ...] = (8, 16, 32, 64, 128)
    activation: str = "relu"
    r: float = 1.0
    delta: float = 0.1
    target_seed: int = 0
    train_instances: int = 4096
    val_instances: int = 256
    test_instances: int = 1024
    points: int = 16
    batch_instances: int = 256
    lr: float = 1e-2
    max_steps: int = 4000
    patience: int = 5
    decays: int = 3
    seeds: int = 3

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "m1s", "m2s", "widths"),
                       positive=("m1s", "m2s", "structured_m2s", "widths", "encoder_width",
                                 "embedding_dim", "totals_encoders", "totals_widths",
                                 "mlp_widths", "r", "train_instances", "val_instances",
                                 "test_instances", "points", "batch_instances", "lr",
                                 "max_steps", "patience", "seeds"))
        unknown = sorted(set(self.datasets) - set(TARGETS))
        if unknown:
            raise ValueError(f"ScalingConfig.datasets: unknown targets {unknown}; choose "
                             f"from {TARGETS}")
        activation(self.activation)  # raises ValueError naming the choices
        if self.delta < 0 or self.decays < 0:
            raise ValueError(f"ScalingConfig needs delta >= 0 and decays >= 0, got "
                             f"delta={self.delta}, decays={self.decays}")


FULL = ScalingConfig()
QUICK = ScalingConfig(m1s=(1,), m2s=(2,), structured_m2s=(2,), widths=(1, 4, 16),
                      encoder_width=32, totals_encoders=(), mlp_widths=(8, 32),
                      train_instances=256, val_instances=64, test_instances=128, points=8,
                      batch_instances=256, max_steps=300, patience=3, decays=1, seeds=2)


def units(config: ScalingConfig) -> list[Unit]:
    """Width sweeps on every target, then the structured target's totals grid."""
    out = []
    for seed in range(1, config.seeds + 1):
        for target in config.datasets:
            m2s = config.m2s if target == "smooth" else config.structured_m2s
            for m1 in config.m1s:
                for m2 in m2s:
                    point = {"target": target, "m1": m1, "m2": m2}
                    out += [unit(seed, **point, method=method, width=w,
                                 encoder=config.encoder_width)
                            for method in ("hyper", "embedding") for w in config.widths]
                    if target != "structured":
                        continue
                    out += [unit(seed, **point, method=method, width=w, encoder=enc)
                            for method in ("hyper", "embedding")
                            for enc in config.totals_encoders if enc != config.encoder_width
                            for w in config.totals_widths]
                    out += [unit(seed, **point, method="mlp", width=w, encoder=w)
                            for w in config.mlp_widths]
    return out


@functools.lru_cache(maxsize=4)
def _data(target: str, m1: int, m2: int, r: float, delta: float, target_seed: int,
          data_seed: int, sizes: tuple) -> tuple[SyntheticSet, ...]:
    options = {"r": r, "delta": delta} if target == "smooth" else {}
    return splits(make_target(target, m1, m2, target_seed, **options), data_seed, sizes)


def run(config: ScalingConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one network to convergence; one row with its sizes and errors."""
    p = dict(item.point)
    device = resolve_device(ctx.device)
    sizes = tuple((n, config.points) for n in (config.train_instances, config.val_instances,
                                               config.test_instances))
    train, val, test = (s.to(device) for s in _data(
        p["target"], p["m1"], p["m2"], config.r, config.delta, config.target_seed,
        1000 + item.seed, sizes))
    torch.manual_seed(item.seed)
    model = scaling_model(p["method"], p["m1"], p["m2"], p["width"],
                          encoder_width=p["encoder"], embedding_dim=config.embedding_dim,
                          act=config.activation)
    model = model.to(device)
    result = fit_regression(model, train, val, RegressionConfig(
        lr=config.lr, batch_instances=config.batch_instances, max_steps=config.max_steps,
        patience=config.patience, decays=config.decays, seed=item.seed))
    test_mse = mse(model, test)
    counts = model.param_counts()
    # Passes over the training instances up to the kept (best) state; "epoch" is the
    # pass it fell in, the field every sweep row carries.
    passes = result["best_step"] * min(config.batch_instances, config.train_instances) \
        / config.train_instances
    return [{**item.as_dict(), "epoch": math.ceil(passes), "passes": passes,
             "primary": primary_size(model),
             "trainable": counts["trainable"], "counts": counts,
             "train_mse": result["train_mse"], "val_mse": result["val_mse"],
             "test_mse": test_mse, "test_rmse": test_mse ** 0.5,
             "steps": result["steps"], "best_step": result["best_step"],
             "train_seconds": result["seconds"],
             "curve": result["curve"][::4] + result["curve"][-1:]}]


EXPERIMENT = Experiment(
    name=NAME,
    description="primary-network width sweeps on synthetic targets: measured against "
                "predicted parameter-count exponents, and total sizes on a structured "
                "target",
    full=FULL,
    quick=QUICK,
    datasets=TARGETS,
    units=units,
    run=run,
    grid_fields=("datasets", "m1s", "m2s", "structured_m2s", "widths", "totals_encoders",
                 "totals_widths", "mlp_widths", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)
