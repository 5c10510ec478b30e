"""`hypermod compare rotation --methods hyper,film,embedding --budget N`: a quick
side-by-side of any conditioning methods, matched to one parameter budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hypermod.data import ImageDataset
from hypermod.models import METHODS, MethodConfig, Sizes, build_model, configure, counts
from hypermod.models.budget import match_budget
from hypermod.tasks import RotationTask, sample_instances
from hypermod.training import TrainConfig, fit, resolve_device


@dataclass(frozen=True)
class Comparison:
    """One method's outcome: its matched settings, sizes and final metrics."""

    method: str
    settings: MethodConfig
    sizes: dict[str, int]
    budget_note: str
    history: list[dict[str, Any]]


def parse_methods(text: str) -> tuple[str, ...]:
    """"hyper,film" -> ("hyper", "film"); ValueError for an empty list, a method named
    twice, or unknown names (listing the choices)."""
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


def compare_methods(methods: tuple[str, ...], data: ImageDataset, train: TrainConfig,
                    budget: int | None = None, limit_train: int | None = None,
                    device: str = "auto", progress: bool = True,
                    on_method=None) -> list[Comparison]:
    """Train each method on rotation prediction with the same data, seed and settings;
    with `budget`, each one's encoder width is set so its trainable count matches it."""
    dev = resolve_device(device)
    task = RotationTask(data, device=dev, limit_train=limit_train)
    sizes = Sizes(task.input_dim, task.input_dim, task.num_outputs)
    instances = sample_instances(task, dev)
    out = []
    for method in methods:
        settings = configure(method, init="hyperfan")
        note = "default widths"
        if budget is not None:
            match = match_budget(settings, budget, sizes)
            settings, note = match.config, match.note
        if on_method is not None:
            on_method(method)
        torch.manual_seed(train.seed)
        model = build_model(settings, sizes, instances=instances).to(dev)
        history = fit(model, task, train, progress=progress)
        out.append(Comparison(method, settings, counts(settings, sizes), note, history))
    return out
