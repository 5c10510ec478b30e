"""Optimization settings, the optimizer they name, and the device a run uses."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

OPTIMIZERS = ("sgd", "adam", "adadelta")


@dataclass(frozen=True)
class TrainConfig:
    """Optimization settings; defaults are the reference's rotation experiment but lr.

    The reference code defaults to lr 0.001; 0.01 trains both methods within 10 epochs.

    Attributes:
        epochs: passes over the training set.
        lr: learning rate.
        batch_size, test_batch_size: 64 and 1000 in the reference.
        optimizer: "sgd" (plain by default), "adam" or "adadelta".
        momentum: SGD momentum.
        seed: seeds the model's initialization, the data order and the random angles.
    """

    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 64
    test_batch_size: int = 1000
    optimizer: str = "sgd"
    momentum: float = 0.0
    seed: int = 1

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


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer `config` names, over `params`."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.Adadelta(params, lr=config.lr)


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA when present; asking for CUDA without it is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but torch sees no CUDA device")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    return torch.device(name)
