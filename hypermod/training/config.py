"""Optimization settings, the optimizer they name, and the device a run uses."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

OPTIMIZERS = ("sgd", "adam", "adamw", "adadelta")
MONITORS = ("val_loss", "val_error")
# What members of one ensemble may differ in (`train` with one config per member).
PER_MEMBER = ("lr", "weight_decay", "seed")


@dataclass(frozen=True)
class TrainConfig:
    """Optimization settings; defaults are the reference's rotation experiment but lr.

    The reference code defaults to lr 0.001; 0.01 trains both methods within 10 epochs.

    Attributes:
        epochs: passes over the training set.
        lr: learning rate.
        batch_size, test_batch_size: 64 and 1000 in the reference.
        optimizer: "sgd" (plain by default), "adam", "adamw" or "adadelta".
        momentum: SGD momentum.
        weight_decay: L2 penalty (decoupled for adamw), 0 by default.
        seed: seeds the model's initialization, the data order and the random angles.
        patience: with it, early stopping on the task's validation part: after
            `patience` epochs without a new best of `monitor` the learning rate is cut
            by `decay`, and after `cuts` cuts the run stops; its weights and reported
            epoch are those of its best validation epoch. None: train all epochs.
        cuts, decay, min_improvement: the cut rule (a new best must beat the old one by
            min_improvement, relative).
        monitor: "val_loss" or "val_error".

    `epochs` is the cap: a run stopped by it rather than by the rule says so ("cap").
    """

    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 64
    test_batch_size: int = 1000
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    seed: int = 1
    patience: int | None = None
    cuts: int = 0
    decay: float = 0.3
    min_improvement: float = 1e-3
    monitor: str = "val_loss"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        for name in ("epochs", "batch_size", "test_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be positive and finite, got {self.lr}")
        if not (self.momentum >= 0 and math.isfinite(self.momentum)):
            raise ValueError(f"momentum must be >= 0 and finite, got {self.momentum}")
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"momentum applies to sgd only, not to {self.optimizer}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {self.seed}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(f"weight_decay must be >= 0 and finite, got {self.weight_decay}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if self.cuts < 0 or not 0 < self.decay < 1 or not 0 <= self.min_improvement < 1:
            raise ValueError(f"TrainConfig needs cuts >= 0, 0 < decay < 1 and 0 <= "
                             f"min_improvement < 1; got {self.cuts}, {self.decay}, "
                             f"{self.min_improvement}")
        if self.monitor not in MONITORS:
            raise ValueError(f"unknown monitor {self.monitor!r}; choose one of {MONITORS}")


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer `config` names, over `params` (a plain model's; an ensemble whose
    members differ gets `hypermod.training.optim.MemberOptimizer`)."""
    wd = config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=wd)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=wd)
    return torch.optim.Adadelta(params, lr=config.lr, weight_decay=wd)


def member_configs(config: TrainConfig | list[TrainConfig] | tuple[TrainConfig, ...],
                   size: int) -> list[TrainConfig]:
    """One config per member: `config` repeated, or the list given, whose configs may
    differ only in `PER_MEMBER` (ValueError names the first other field that differs)."""
    if isinstance(config, TrainConfig):
        return [config] * size
    configs = list(config)
    if len(configs) != size:
        raise ValueError(f"{len(configs)} train configs for a model of {size} members")
    first = asdict(configs[0])
    for k, other in enumerate(configs[1:], 1):
        differ = sorted(key for key, value in asdict(other).items()
                        if key not in PER_MEMBER and first[key] != value)
        if differ:
            raise ValueError(f"members of one ensemble may differ only in {PER_MEMBER}; "
                             f"member {k} differs in {differ}")
    return configs


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA when present; asking for CUDA without it is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but torch sees no CUDA device")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    return torch.device(name)
