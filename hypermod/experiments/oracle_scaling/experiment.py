"""oracle-scaling: the theorems' rates with encoders as large as needed, built exactly.

    hypermod sweep oracle-scaling --quick --out runs/oracle && hypermod report runs/oracle

modularity-scaling trains finite encoders f and e, so each of its points has to be
diagnosed as limited by the primary network or not. Here the encoders are oracles
(`hypermod.models.oracle`): on K fixed instances I_1..I_K of the smooth target
(`tasks.synthetic`, r = 1), f is a free table of g's weights (one copy of g per
instance) and e a free table of codes c_k (dimension E) feeding one shared q. What is
left to limit the error is the primary network's size N and optimization. The error is
measured on held-out x points of the training instances (`hypermod.tasks.oracle`).

Per m2 the data are one draw of K_max instances (nested: the first K of them for K <
K_max) with their points; a unit's seed sets the initialization and the batch order, and
the seeds of a grid point train as one seed ensemble. Training: Adam through the one loop
(`hypermod.training.train`), early stopping on the validation points with learning-rate
cuts and an epoch cap; then a full-batch L-BFGS polish, kept for a member when it lowers
that member's validation error. Rows record both errors, whether the polish was kept,
and whether the run stopped by the rule or the cap.

Controls: q runs at K_max/4, K_max/2 and K_max (its task grows with K; a point whose
error still moves between K_max/2 and K_max is K-limited), and at 2E (K_max). g's copies
are independent, so g runs at K_max alone. For m1 = 1 every hyper row also carries a
certificate: the least-squares fit, per instance, of a width-w ReLU network whose kinks
are fixed on a uniform grid (a linear problem, solved exactly): an upper bound on what g
of that width can reach, set beside what training reached.

The pre-registered verdicts are written in `rules.py` (before the full run), the
analysis in `analysis.py`; the structured-target comparison of total sizes (finite
networks on new instances) in `structured.py`.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch

from hypermod.experiments.oracle_scaling import structured
from hypermod.experiments.oracle_scaling.fitting import (
    member_errors,
    polish,
    uniform_knots_rmse,
)
from hypermod.experiments.oracle_scaling.report import NAME, ROW_FIELDS, report
from hypermod.models import Ensemble
from hypermod.models.oracle import OracleEmbedding, OracleHyper
from hypermod.sweep import (
    Experiment,
    SweepContext,
    Unit,
    check_settings,
    check_train,
    group_legacy,
    unit,
)
from hypermod.tasks.oracle import OracleSets, OracleTask, sample_oracle
from hypermod.tasks.synthetic import SmoothTarget
from hypermod.training import TrainConfig, resolve_device
from hypermod.training.loop import selected_row, train

TARGETS = ("smooth", "structured")  # the data sets: built in, nothing to find


# Adam with early stopping (patience 15 epochs, 3 cuts), cap 400 epochs; batch sizes are
# set per run from `batch_fraction` and the instances
TRAIN = TrainConfig(epochs=400, lr=1e-2, optimizer="adam", patience=15, cuts=3)
# the structured part's settings of older records (in the class body `structured` is a field)
STRUCTURED_LEGACY = group_legacy(structured.TRAIN, "structured.train")
STRUCTURED_MOVED = {f"structured.{old}": f"structured.{new}"
                    for old, new in structured.StructuredConfig.MOVED.items()}


@dataclass(frozen=True)
class OracleConfig:
    """Settings of oracle-scaling.

    Attributes:
        datasets: the targets, "smooth" (the oracle sweep) and/or "structured" (total
            sizes of finite networks on a structured target, `structured.py`).
        m1, m2s: point and instance dimensions of the smooth target.
        hyper_widths, embedding_widths: hidden widths of g and q.
        instances: K_max; q also runs at K_max/2 and K_max/4 (`k_fractions`).
        k_fractions: the divisors of K_max q runs at (1 is K_max itself).
        code_dims: E (the first runs at every K, the others at K_max only: the E control).
        points: training, validation and test points per instance.
        r, delta, target_seed, data_seed: the smooth target and the draw of its instances.
        train, batch_fraction, steps_per_epoch: Adam through the one loop (`TrainConfig`:
            lr 0.01, cap 400 epochs, patience 15, 3 cuts), on batches of K *
            batch_fraction instances with all their points (the batch sizes follow from
            it), an epoch being at least `steps_per_epoch` steps; after `train.patience`
            epochs without a 0.1% better validation MSE the learning rate is cut by 0.3,
            after `train.cuts` cuts training stops; the seed is each unit's.
        polish_steps: L-BFGS iterations after Adam (0: none).
        seeds: repetitions (initialization and batch order), one seed ensemble.
        structured: the structured-target part's settings.
    """

    datasets: tuple[str, ...] = TARGETS
    m1: int = 1
    m2s: tuple[int, ...] = (1, 2, 3)
    hyper_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    embedding_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    instances: int = 64
    k_fractions: tuple[int, ...] = (4, 2, 1)
    code_dims: tuple[int, ...] = (8, 16)
    points: tuple[int, int, int] = (128, 32, 128)
    r: float = 1.0
    delta: float = 0.1
    target_seed: int = 0
    data_seed: int = 1
    train: TrainConfig = TRAIN
    batch_fraction: float = 0.25
    steps_per_epoch: int = 16
    polish_steps: int = 300
    seeds: int = 10
    structured: structured.StructuredConfig = structured.FULL

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = {**group_legacy(TRAIN), **STRUCTURED_LEGACY}
    MOVED: ClassVar[dict[str, str]] = {
        **{k: f"train.{k}" for k in ("lr", "epochs", "patience", "cuts")}, **STRUCTURED_MOVED}

    def __post_init__(self) -> None:
        if isinstance(self.structured, dict):  # from a saved config or --set
            object.__setattr__(self, "structured", structured.StructuredConfig(
                **self.structured))
        check_settings(self, nonempty=("datasets", "m2s", "hyper_widths", "embedding_widths",
                                       "k_fractions", "code_dims"),
                       positive=("m1", "m2s", "hyper_widths", "embedding_widths", "instances",
                                 "k_fractions", "code_dims", "points", "r",
                                 "batch_fraction", "steps_per_epoch", "seeds"))
        check_train(self, TRAIN, derived={"batch_size": "batch_fraction",
                                          "test_batch_size": "instances"})
        unknown = sorted(set(self.datasets) - set(TARGETS))
        if unknown:
            raise ValueError(f"OracleConfig.datasets: unknown {unknown}; choose from {TARGETS}")
        if 1 not in self.k_fractions:
            raise ValueError("OracleConfig.k_fractions must include 1 (K_max itself)")
        small = [f for f in self.k_fractions if self.instances % f or self.instances // f < 4]
        if small:
            raise ValueError(f"OracleConfig: K_max={self.instances} divided by {small} is not "
                             f"a whole number of at least 4 instances")
        if not self.batch_fraction <= 1 or self.delta < 0 or self.polish_steps < 0:
            raise ValueError(f"OracleConfig needs 0 < batch_fraction <= 1, delta >= 0 and "
                             f"polish_steps >= 0; got {self.batch_fraction}, {self.delta}, "
                             f"{self.polish_steps}")

    def train_config(self, seed: int, instances: int) -> TrainConfig:
        return replace(self.train, seed=seed, batch_size=self.batch(instances),
                       test_batch_size=instances)

    def batch(self, instances: int) -> int:
        return max(1, round(instances * self.batch_fraction))


FULL = OracleConfig()
QUICK = OracleConfig(m2s=(1, 2), hyper_widths=(1, 4, 16), embedding_widths=(1, 4, 16),
                     instances=16, k_fractions=(2, 1), code_dims=(4, 8), points=(32, 16, 32),
                     train=replace(TRAIN, epochs=20, patience=5, cuts=1), polish_steps=10,
                     seeds=3,
                     structured=structured.QUICK)


def units(config: OracleConfig) -> list[Unit]:
    """Per seed: g at K_max, q at every K (first E) and at K_max with every further E;
    then the structured part's units."""
    out = []
    k_max, first_e = config.instances, config.code_dims[0]
    for seed in range(1, config.seeds + 1 if "smooth" in config.datasets else 1):
        for m2 in config.m2s:
            point = {"target": "smooth", "m1": config.m1, "m2": m2}
            out += [unit(seed, **point, method="hyper", width=w, K=k_max, E=0)
                    for w in config.hyper_widths]
            for w in config.embedding_widths:
                out += [unit(seed, **point, method="embedding", width=w, K=k_max // f,
                             E=first_e) for f in sorted(config.k_fractions, reverse=True)]
                out += [unit(seed, **point, method="embedding", width=w, K=k_max, E=e)
                        for e in config.code_dims[1:]]
    if "structured" in config.datasets:
        # its own number of seeds, at most the sweep's (so --seeds 1 means one here too)
        out += structured.units(config.structured, min(config.seeds, config.structured.seeds))
    return out


@functools.lru_cache(maxsize=2)
def _sets(m1: int, m2: int, r: float, delta: float, target_seed: int, data_seed: int,
          instances: int, points: tuple[int, int, int]) -> OracleSets:
    target = SmoothTarget(m1, m2, r=r, delta=delta, seed=target_seed)
    return sample_oracle(target, instances, points, data_seed)


def oracle_sets(config: OracleConfig, m2: int, instances: int) -> OracleSets:
    """The first `instances` of the K_max instances drawn for m2, with their points."""
    full = _sets(config.m1, m2, config.r, config.delta, config.target_seed,
                 config.data_seed, config.instances, tuple(config.points))
    if instances == full.instances:
        return full
    return OracleSets(*(type(s)(s.instances[:instances], s.x[:instances], s.y[:instances])
                        for s in (full.train, full.val, full.test)))


def build(point: dict[str, Any], m1: int) -> torch.nn.Module:
    if point["method"] == "hyper":
        return OracleHyper(point["K"], m1, point["width"])
    return OracleEmbedding(point["K"], m1, point["width"], point["E"])


def run_ensemble(config: OracleConfig, items: list[Unit], ctx: SweepContext
                 ) -> dict[str, list[dict[str, Any]]]:
    """Train the seeds of one grid point together; one row per seed."""
    p = dict(items[0].point)
    if p["target"] == "structured":
        return {u.key: structured.run(config.structured, u, ctx) for u in items}
    device = resolve_device(ctx.device)
    sets = oracle_sets(config, p["m2"], p["K"]).to(device)
    task = OracleTask(sets, config.batch(p["K"]), config.steps_per_epoch)
    members = []
    for item in items:
        torch.manual_seed(item.seed)
        members.append(build(p, config.m1))
    model = (members[0] if len(items) == 1 else Ensemble(members, ctx.ensemble_mode)).to(device)
    start = time.perf_counter()
    histories = train(model, task, [config.train_config(u.seed, p["K"]) for u in items],
                      accel=ctx.accel, progress=ctx.progress)
    adam = member_errors(model, sets)
    kept = polish(model, sets, config.polish_steps) if config.polish_steps else \
        [False] * len(items)
    final = member_errors(model, sets)
    seconds = time.perf_counter() - start
    counts = members[0].param_counts()
    certificate = (uniform_knots_rmse(sets, p["width"]) if p["method"] == "hyper"
                   and config.m1 == 1 else None)
    out = {}
    for k, (u, history) in enumerate(zip(items, histories)):
        best = selected_row(history)
        out[u.key] = [{**u.as_dict(), "primary": counts["primary"],
                       "trainable": counts["trainable"], "encoder": counts["encoder"],
                       "epoch": best["epoch"], "epochs_run": history[-1]["epoch"],
                       "stop": ("diverged" if history[-1].get("diverged")
                                else history[-1].get("stop", "cap")),
                       "steps": history[-1]["epoch"] * math.ceil(task.num_train
                                                                 / config.batch(p["K"])),
                       **{f"adam_{name}": value for name, value in adam[k].items()},
                       **final[k], "polished": kept[k], "certificate_rmse": certificate,
                       "train_seconds": seconds, "error_name": "MSE"}]
    return out


def run(config: OracleConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one seed; its row."""
    return run_ensemble(config, [item], ctx)[item.key]


EXPERIMENT = Experiment(
    name=NAME,
    description="oracle encoders (free tables of g's weights and of codes) on K fixed "
                "instances: primary-network size against error per m2 with K and E "
                "controls, pre-registered rate verdicts, and total sizes on a structured "
                "target",
    full=FULL,
    quick=QUICK,
    datasets=TARGETS,
    units=units,
    run=run,
    run_ensemble=run_ensemble,
    grid_fields=("datasets", "m2s", "hyper_widths", "embedding_widths", "k_fractions",
                 "code_dims", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)

