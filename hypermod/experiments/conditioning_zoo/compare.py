"""`hypermod compare rotation --methods hyper,film,embedding --budget N`: a quick
side-by-side of any conditioning methods, matched to one parameter budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hypermod.data import ImageDataset
from hypermod.experiments.conditioning_zoo.experiment import sample_instances
from hypermod.models.budget import counts, match_budget
from hypermod.models.zoo import HYPER_FAMILY, ZOO, ZooConfig, build_method
from hypermod.tasks import RotationTask
from hypermod.training import TrainConfig, fit, resolve_device


@dataclass(frozen=True)
class Comparison:
    """One method's outcome: its matched settings, sizes and final metrics."""

    method: str
    settings: ZooConfig
    sizes: dict[str, int]
    budget_note: str
    history: list[dict[str, Any]]


def parse_methods(text: str) -> tuple[str, ...]:
    """"hyper,film" -> ("hyper", "film"); ValueError for an empty list, a method named
    twice, or unknown names (listing the choices)."""
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    if not methods:
        raise ValueError(f"--methods: empty list; name at least one of {', '.join(ZOO)}")
    unknown = [m for m in methods if m not in ZOO]
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; choose from {', '.join(ZOO)}")
    twice = sorted({m for m in methods if methods.count(m) > 1})
    if twice:
        raise ValueError(f"--methods: {', '.join(twice)} named twice; name each method once")
    return methods


def compare_methods(methods: tuple[str, ...], data: ImageDataset, train: TrainConfig,
                    budget: int | None = None, limit_train: int | None = None,
                    device: str = "auto", progress: bool = True,
                    on_method=None) -> list[Comparison]:
    """Train each method on rotation prediction with the same data, seed and settings;
    with `budget`, each one's encoder width is set so its trainable count matches it."""
    dev = resolve_device(device)
    task = RotationTask(data, device=dev, limit_train=limit_train)
    d = task.input_dim
    instances = sample_instances(task, dev)
    out = []
    for method in methods:
        settings = ZooConfig(method=method,
                             init="hyperfan" if method in HYPER_FAMILY else "default")
        note = "default widths"
        if budget is not None:
            match = match_budget(settings, budget, d, d, task.num_outputs)
            settings, note = match.config, match.note
        if on_method is not None:
            on_method(method)
        torch.manual_seed(train.seed)
        model = build_method(settings, d, d, task.num_outputs, instances=instances).to(dev)
        history = fit(model, task, train, progress=progress)
        out.append(Comparison(method, settings, counts(settings, d, d, task.num_outputs),
                              note, history))
    return out
