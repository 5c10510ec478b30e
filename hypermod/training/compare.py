"""Any registered conditioning methods side by side on rotation prediction: one path.

    results = compare(run, ["hyper", "film", "mlp"], budget=20_000, out_dir="runs/cmp")
    results = compare(run, ["hyper", "embedding"], tune_lrs=[1e-3, 3e-3, 1e-2])

Every method gets the paper's sizes for the run's encoder depth and activation
(`hypermod.models.presets.paper`), then, with a budget, the encoder width that matches
its trainable parameters to it (`match_budget`). Without tuning each method is one run
written as `hypermod run` writes it (DIR/METHOD/result.json). With tuning, each method
trains every learning rate at once (one ensemble, the run's seed), the rate of lowest
validation error at each member's reported epoch is chosen, and DIR/METHOD/tuning.json
holds every member's history, the rule and the choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypermod.data import ImageDataset, load_dataset
from hypermod.models import METHODS, MethodConfig, Sizes, counts, get_method, paper
from hypermod.models.budget import match_budget
from hypermod.results import code_version, make_record, write_json_atomic
from hypermod.tasks import RotationTask
from hypermod.training.loop import selected_row
from hypermod.training.run import RotationRun, run_rotation, train_rotation

RULE = ("the learning rate whose member has the lowest validation error at its reported "
        "epoch is chosen; its test numbers are reported")


@dataclass(frozen=True)
class Comparison:
    """One method's outcome.

    Attributes:
        method, config: the method and its settings; sizes: parameters by role;
        budget_note: how the budget was matched ("the paper's sizes" without one);
        row: the reported row (test and, with a validation part, validation metrics);
        status: "finished" or "diverged"; lr: the learning rate of that row;
        tuning: with tuning, (lr, validation error or None) per value tried.
    """

    method: str
    config: MethodConfig
    sizes: dict[str, int]
    budget_note: str
    row: dict[str, Any]
    status: str
    lr: float
    tuning: list[tuple[float, float | None]] | None = None


def parse_methods(text: str) -> tuple[str, ...]:
    """"hyper,film" -> ("hyper", "film"); ValueError for an empty list, a method named
    twice, or unknown names (listing the registered ones)."""
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    if not methods:
        raise ValueError(f"--methods: empty list; name at least one of {', '.join(METHODS)}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}")
    twice = sorted({m for m in methods if methods.count(m) > 1})
    if twice:
        raise ValueError(f"--methods: {', '.join(twice)} named twice; name each method once")
    return methods


def has_code(method: str) -> bool:
    """Whether the registered `method` has a code e(I) whose size E can be set."""
    return hasattr(get_method(method).config(), "embedding_dim")


def method_config(method: str, run: RotationRun, sizes: Sizes, budget: int | None,
                  init: str = "default") -> tuple[MethodConfig, str]:
    """The paper's sizes for `method` at the run's depth and activation (and E), with
    `init` where the method generates weights, matched to `budget` when given."""
    base = run.model
    depth = base.encoder_depth
    config = paper(method, depth, base.activation,
                   getattr(base, "embedding_dim", None) if has_code(method) else None)
    if init != "default":
        if not hasattr(config, "init"):
            raise ValueError(f"--init {init} applies to methods with an init setting (the "
                             f"hypernetworks but mip-hyper, which has its own), not to "
                             f"{method}")
        config = replace(config, init=init)
    if budget is None:
        return config, "the paper's sizes"
    match = match_budget(config, budget, sizes)
    return match.config, match.note


def compare(run: RotationRun, methods: Sequence[str], budget: int | None = None,
            init: str = "default", out_dir: str | Path | None = None,
            data: ImageDataset | None = None, data_dir: str | Path | None = None,
            tune_lrs: Sequence[float] | None = None, progress: bool = True,
            tensorboard: str | Path | None = None,
            on_method: Callable[[str], None] | None = None) -> list[Comparison]:
    """Train each method with the run's data, seed and settings (see the module)."""
    data = data or load_dataset(run.dataset, data_dir)
    probe = RotationTask(data, run.task, "cpu", run.limit_train, run.limit_test)
    sizes = Sizes(probe.input_dim, probe.input_dim, probe.num_outputs)
    if tune_lrs and not probe.num_val:
        raise ValueError("tuning chooses on validation data: set a validation part "
                         "(--val-fraction, for example 0.1)")
    # every method's settings first: a budget one cannot meet stops nothing half-done
    plans = [(m, *method_config(m, run, sizes, budget, init)) for m in methods]
    out = Path(out_dir) if out_dir is not None else None
    results = []
    for method, config, note in plans:
        if on_method is not None:
            on_method(method)
        spec = replace(run, model=config)
        where = out / method if out is not None else None
        if not tune_lrs:
            record = run_rotation(spec, where, data=data, progress=progress,
                                  tensorboard=tensorboard)
            results.append(Comparison(method, config, counts(config, sizes), note,
                                      selected_row(record["epochs"]), record["status"],
                                      run.train.lr))
            continue
        results.append(_tuned(spec, method, config, sizes, note, tune_lrs, data, where,
                              progress))
    return results


def _tuned(spec: RotationRun, method: str, config: MethodConfig, sizes: Sizes, note: str,
           lrs: Sequence[float], data: ImageDataset, where: Path | None,
           progress: bool) -> Comparison:
    """Every learning rate of one method as one ensemble; the choice on validation."""
    started, wall = datetime.now(timezone.utc), time.perf_counter()
    code_version()
    trains = [replace(spec.train, lr=float(lr)) for lr in lrs]
    trained = train_rotation(spec, [spec.train.seed] * len(lrs), data=data, trains=trains,
                             progress=progress)
    rows = [selected_row(h) for h in trained.histories]
    scores = [None if r.get("diverged") else r["val_error"] for r in rows]
    usable = [k for k, s in enumerate(scores) if s is not None]
    best = min(usable, key=lambda k: scores[k]) if usable else 0
    status = "diverged" if not usable else "finished"
    if where is not None:
        write_json_atomic(where / "tuning.json", make_record({
            "kind": "rotation-tuning", "status": status, "method": method,
            "config": {**asdict(spec), "tune_lr": [float(v) for v in lrs]}, "rule": RULE,
            "chosen_lr": float(lrs[best]), "param_counts": trained.param_counts,
            "members": [{"lr": float(lr), "epochs": h} for lr, h in zip(lrs, trained.histories)],
        }, trained.device, started, time.perf_counter() - wall))
    return Comparison(method, config, counts(config, sizes), note, rows[best], status,
                      float(lrs[best]), list(zip(map(float, lrs), scores)))
