"""conditioning-zoo: every conditioning method at matched parameter budgets, on three tasks.

    hypermod sweep conditioning-zoo --quick --out runs/zoo && hypermod report runs/zoo

Two designs match the methods (`designs`). "trainable": each method's encoder width is
chosen by `match_budget` so that its trainable parameters land within 1% of each budget.
"primary": each method's primary network (g, q, or the whole MLP) is first matched to the
paper's hypernetwork's g at that budget, then its encoder is made as large as the rest of
the budget allows (the paper's question: what a primary network of one size can do).
Each then trains on rotation prediction (an image data set),
on the synthetic structured target y = g*(x; f*(I)) (regression, n points per instance)
and on implicit neural representations (`inr`: an image's intensity at a pixel
coordinate). Seeds of one grid point train as one ensemble; every seed sees the same data
for every method, so methods can be compared seed by seed. Every run also records the
baselines it must beat on the same test set (`baselines`), and `init_ablation` reruns the
hypernetworks that take an init at another one.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import torch

from hypermod.experiments.conditioning_zoo import baselines
from hypermod.experiments.conditioning_zoo.designs import (
    code_dim,
    is_ablation,
    method_config,
    shared,
    takes_init,
)
from hypermod.models import (
    METHODS,
    Ensemble,
    HyperConfig,
    Sizes,
    build_model,
    configure,
    counts,
)
from hypermod.sweep import (
    SweepContext,
    Unit,
    check_settings,
    check_train,
    check_tuned,
    group_legacy,
    tuned_settings,
    tuned_units,
    unit,
)
from hypermod.tasks import RegressionTask, RotationConfig, RotationTask, sample_instances
from hypermod.tasks.synthetic import make_target, splits
from hypermod.training import TrainConfig, resolve_device, selected_row, train

NAME = "conditioning-zoo"
IMAGE_TASKS = ("rotation", "inr")
DESIGNS = ("trainable", "primary")


TRAIN = TrainConfig(lr=1e-3, optimizer="adam")  # 10 epochs, batches of 64
MODEL = HyperConfig(encoder_depth=2, primary_hidden=(16,), init="hyperfan")


@dataclass(frozen=True)
class ZooExperimentConfig:
    """Settings of conditioning-zoo.

    Attributes:
        datasets: image data sets for the image tasks, and/or "structured" (the synthetic
            target; it runs the regression task).
        tasks: image tasks to run on each image data set: "rotation" and/or "inr".
        methods: conditioning methods (names in `hypermod.models.METHODS`).
        budgets: trainable-parameter budgets each method is matched to.
        designs: "trainable" (trainable parameters matched) and/or "primary" (the primary
            network matched to the paper's g at that budget, the encoder filling the rest).
        model: the shared architecture, as the registry's config of the paper's
            hypernetwork (`HyperConfig`: encoder depth 2, g with one hidden layer of 16,
            `init` "hyperfan" for the hypernetworks, the others keeping PyTorch's, or
            "default" for all); every method takes the settings it has of it
            (`models.configure`), and the budget sets `encoder_hidden` (and the widths
            the design turns).
        init_ablation: other inits the hypernetworks that take one also run at (trainable
            design), as an ablation; empty: none. ablation_budgets: the budgets it runs at
            (empty: every budget).
        pca_components: INR baselines' PCA sizes, besides each method's code size.
        m1, m2, train_instances, test_instances, points: the structured target's sizes.
        train: the training settings (`TrainConfig`; Adam at lr 0.001 by default: one lr
            for methods whose best SGD steps differ by orders of magnitude); with
            `train.patience`, early stopping on validation and `train.epochs` the cap.
            The seed is each unit's; `tune_lr` and `tune_weight_decay` replace those.
        limit_train, limit_test: first N images of the image data sets.
        val_fraction: share of the training images held out (seeded, the same for every
            run) to choose on: the ranking and every selection read validation data.
        val_instances: validation instances of the structured target (new instances,
            drawn apart from training and test).
        tune_lr, tune_weight_decay: values every (method, budget, task) trains at, seeds
            x values as one ensemble; the report chooses per method on validation data.
        seeds: repetitions.
    """

    datasets: tuple[str, ...] = ("mnist", "structured")
    tasks: tuple[str, ...] = IMAGE_TASKS
    methods: tuple[str, ...] = ("hyper", "embedding", "concat-all", "film", "lowrank-hyper",
                                "chunked-hyper", "partial-hyper", "mip-hyper", "mlp")
    budgets: tuple[int, ...] = (50_000, 200_000, 800_000)
    designs: tuple[str, ...] = ("trainable",)
    model: HyperConfig = MODEL
    init_ablation: tuple[str, ...] = ()
    ablation_budgets: tuple[int, ...] = ()
    pca_components: tuple[int, ...] = (4, 16)
    m1: int = 2
    m2: int = 4
    train_instances: int = 4096
    test_instances: int = 1024
    points: int = 32
    train: TrainConfig = TRAIN
    limit_train: int | None = None
    limit_test: int | None = None
    val_fraction: float = 0.1
    val_instances: int = 512
    tune_lr: tuple[float, ...] = ()
    tune_weight_decay: tuple[float, ...] = ()
    seeds: int = 3

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = {"val_fraction": 0.0, "val_instances": 0,
                                         "tune_lr": [], "tune_weight_decay": [],
                                         "designs": ["trainable"], "init_ablation": [],
                                         "ablation_budgets": [],
                                         "pca_components": [], **group_legacy(TRAIN),
                                         **group_legacy(MODEL, "model")}
    MOVED: ClassVar[dict[str, str]] = {k: f"train.{k}" for k in (
        "epochs", "lr", "batch_size", "optimizer", "patience", "cuts")} | {
        k: f"model.{k}" for k in ("init", "encoder_depth", "primary_hidden")}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets", "methods", "budgets"),
                       positive=("budgets", "m1", "m2", "train_instances", "test_instances",
                                 "val_instances", "points", "seeds"),
                       optional_positive=("limit_train", "limit_test"))
        unknown = (sorted(set(self.methods) - set(METHODS)) + sorted(set(self.tasks) -
                                                                     set(IMAGE_TASKS))
                   + sorted(set(self.designs) - set(DESIGNS)))
        if unknown or not self.designs:
            raise ValueError(f"ZooExperimentConfig: unknown methods, tasks or designs "
                             f"{unknown or ['(no design)']}; methods: {tuple(METHODS)}, "
                             f"tasks: {IMAGE_TASKS}, designs: {DESIGNS}")
        stray = sorted(set(self.ablation_budgets) - set(self.budgets))
        if stray:
            raise ValueError(f"ZooExperimentConfig: ablation_budgets {stray} are not among "
                             f"the budgets {self.budgets}")
        if any(k < 1 for k in self.pca_components):
            raise ValueError(f"ZooExperimentConfig: pca_components must be positive, got "
                             f"{self.pca_components}")
        if self.init_ablation and "trainable" not in self.designs:
            raise ValueError("ZooExperimentConfig: the init ablation runs in the trainable "
                             "design, which designs leaves out; add it or drop init_ablation")
        for init in self.init_ablation:
            if init == self.model.init:
                raise ValueError(f"ZooExperimentConfig: init_ablation repeats the main init "
                                 f"{init!r}; list only the other inits")
            for method in takes_init(self.methods):
                configure(method, init=init)
        check_train(self, TRAIN)
        if self.model.encoder_hidden != MODEL.encoder_hidden:
            raise ValueError("ZooExperimentConfig: model.encoder_hidden follows from budgets "
                             "(each method's widths are matched to them); set budgets "
                             "instead")
        check_tuned("lr", self.tune_lr)
        check_tuned("weight_decay", self.tune_weight_decay)
        for method in self.methods:  # each method checks the shared sizes its own way
            configure(method, **shared(self))
        RotationConfig(val_fraction=self.val_fraction)


# Scaled for 2 CPU cores (planned at 75 minutes, measured at 114; docs/results/README.md):
# budgets a quarter of the earlier run's, 2,000 MNIST images, a 10-epoch cap. The INR MLP's
# 20-member evaluation needs about 51 GB (add --max-ensemble 2 on smaller machines); the
# unscaled version is benchmarks/conditioning_zoo_gpu.sh.
FULL = ZooExperimentConfig(budgets=(5_000, 20_000, 80_000), designs=DESIGNS,
                           init_ablation=("default",), ablation_budgets=(20_000,),
                           train_instances=1024, test_instances=512, val_instances=256,
                           train=replace(TRAIN, patience=2, cuts=1), limit_train=2000,
                           limit_test=1000, tune_lr=(3e-4, 1e-3, 3e-3, 1e-2), seeds=5)
QUICK = ZooExperimentConfig(datasets=("digits", "structured"), budgets=(5_000, 20_000),
                            designs=DESIGNS, init_ablation=("default",), train_instances=512,
                            test_instances=256, val_instances=128, points=16,
                            train=replace(TRAIN, epochs=3, lr=3e-3, patience=1),
                            limit_train=600, limit_test=300, tune_lr=(1e-3, 3e-3), seeds=2)


def _shared(config: ZooExperimentConfig, method: str, design: str) -> bool:
    """Whether (method, design) is the same model as another unit's (see `units`)."""
    return method == "hyper" and design == "primary" and "trainable" in config.designs


def units(config: ZooExperimentConfig) -> list[Unit]:
    """Seed-major; on each data set its tasks, then designs, methods and budgets, then the
    init ablation (trainable design). A unit's `init` is the one its model starts from
    ("default" for the methods the init setting does not reach). The paper's hypernetwork
    is the primary design's reference, so there it is the trainable design's model: when
    both designs run, it runs once (the report reads it into both)."""
    takes = set(takes_init(config.methods))
    out = []
    for seed in range(1, config.seeds + 1):
        for d in config.datasets:
            for task in (("regression",) if d == "structured" else config.tasks):
                out += [unit(seed, dataset=d, task=task, method=m, budget=b, design=design,
                             init=config.model.init if m in takes else "default")
                        for design in config.designs for m in config.methods
                        for b in config.budgets if not _shared(config, m, design)]
                out += [unit(seed, dataset=d, task=task, method=m, budget=b,
                             design="trainable", init=init)
                        for init in config.init_ablation for m in takes_init(config.methods)
                        for b in config.ablation_budgets or config.budgets]
    return tuned_units(out, config)


@functools.lru_cache(maxsize=4)
def _structured(m1: int, m2: int, train: int, val: int, test: int, points: int, seed: int):
    """Train, validation and test sets of the structured target for one seed."""
    target = make_target("structured", m1, m2, seed=0)
    return splits(target, 1000 + seed, ((train, points), (val, points), (test, points)))


def make_task(config: ZooExperimentConfig, item: Unit, ctx: SweepContext):
    """The unit's task and its sizes."""
    p, device = dict(item.point), resolve_device(ctx.device)
    if p["task"] == "regression":
        train_set, val_set, test_set = (s.to(device) for s in _structured(
            config.m1, config.m2, config.train_instances, config.val_instances,
            config.test_instances, config.points, item.seed))
        task = RegressionTask(train_set, test_set, val_set)
        return task, Sizes(config.m2, config.m1, 1)
    data = ctx.dataset(p["dataset"])
    if p["task"] == "rotation":
        task = RotationTask(data, RotationConfig(val_fraction=config.val_fraction), device,
                            limit_train=config.limit_train, limit_test=config.limit_test)
        return task, Sizes(task.input_dim, task.input_dim, task.num_outputs)
    from hypermod.tasks.inr import INRConfig, INRTask

    task = INRTask(data, INRConfig(val_fraction=config.val_fraction), device,
                   config.limit_train, config.limit_test)
    return task, Sizes(task.input_dim, task.coord_dim, 1)


def run_ensemble(config: ZooExperimentConfig, items: list[Unit],
                 ctx: SweepContext) -> dict[int, list[dict[str, Any]]]:
    """Train the seeds of one grid point together; rows per seed and epoch."""
    p = dict(items[0].point)
    task, sizes = make_task(config, items[0], ctx)
    match = method_config(config, p["method"], p["budget"], sizes, p.get("design", "trainable"),
                          p.get("init"))
    instances = sample_instances(task, resolve_device(ctx.device))
    code = code_dim(match.config, sizes)  # baselines first: cheap, and they fail early
    if p["task"] == "inr":
        scored = baselines.inr_baselines(task, config.pca_components + ((code,) if code
                                                                        else ()))
    else:
        scored = {"constant": baselines.constant_guess(task)} if task.num_val else {}
    members = []
    for item in items:
        torch.manual_seed(item.seed)
        members.append(build_model(match.config, sizes, instances=instances))
    model = (members[0] if len(items) == 1 else Ensemble(members, ctx.ensemble_mode))
    model = model.to(resolve_device(ctx.device))
    histories = train(model, task, [replace(config.train, seed=u.seed, **tuned_settings(u))
                              for u in items],
                      accel=ctx.accel, progress=ctx.progress)
    scores = _inr_scores(task, model, members) if p["task"] == "inr" else [{}] * len(items)
    roles = counts(match.config, sizes)
    extra = {"trainable": roles["trainable"], "primary": roles["primary"],
             "code_dim": code, "baselines": scored,
             "ablation": is_ablation(config, p),
             "budget_ok": match.ok, "budget_note": match.note,
             "settings": asdict(match.config), "param_counts": roles,
             "error_name": getattr(task, "error_name", "error")}  # what test_error holds
    # the scores are of the weights the run reports (its best validation epoch, put back
    # after training): they go on that row and, as before, on the last
    out = {}
    for u, history, score in zip(items, histories, scores):
        chosen = selected_row(history)
        out[u.key] = [{**u.as_dict(), **row, **extra,
                       **(score if row is chosen or row is history[-1] else {})}
                      for row in history]
    return out


@torch.no_grad()
def _inr_scores(task, model, members) -> list[dict[str, float]]:
    """Each member's mean per-image PSNR on the test images and on the held-out pixels of
    the training images (members are scored one at a time, with their trained weights)."""
    from hypermod.tasks.inr import evaluate_psnr

    device = next(model.parameters()).device
    out = []
    for k, member in enumerate(members):
        if isinstance(model, Ensemble):
            member.load_state_dict(model.member_state(k))
        member = member.to(device)
        out.append({"test_psnr": evaluate_psnr(member, task.test_batches(256)),
                    "heldout_psnr": evaluate_psnr(member, task.heldout_pixel_batches(256))})
    return out


def run(config: ZooExperimentConfig, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Train one seed; its rows."""
    return run_ensemble(config, [item], ctx)[item.key]


# What the report reads from every row.
ROW_FIELDS = {"dataset": str, "task": str, "method": str, "budget": int, "trainable": int,
              "primary": int, "test_error": float}
