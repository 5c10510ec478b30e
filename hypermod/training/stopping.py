"""Early stopping on validation with learning-rate cuts, member by member.

    stop = Stopping(config, size=3)
    stop.update(k, epoch, val_loss)   # -> "best", "wait", "cut" or "stop"

After each epoch every member still training reports its monitored validation metric.
A value below its best by more than `min_improvement` (relative) is a new best; after
`patience` epochs without one its learning rate is cut by `decay`, and after `cuts` cuts
(with patience again) it stops, by the rule. A member that reaches the epoch cap first
stops there ("cap"). Each member keeps the weights of its best epoch, and that epoch is
the one it reports: the test numbers of a run that stopped early are read at its best
validation epoch, never chosen on the test set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from hypermod.models import Ensemble

BEST, WAIT, CUT, STOP = "best", "wait", "cut", "stop"


@dataclass
class Stopping:
    """Each member's best value and epoch, epochs since, cuts made and why it stopped.

    Attributes:
        patience, cuts, decay, min_improvement: the rule (see the module docstring).
        best, best_epoch, stale, cut: per member.
        stopped: per member, None while it trains, else "rule", "cap" or "diverged".
    """

    patience: int
    cuts: int
    decay: float
    min_improvement: float
    size: int
    best: list[float] = field(default_factory=list)
    best_epoch: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    cut: list[int] = field(default_factory=list)
    stopped: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.best = self.best or [math.inf] * self.size
        self.best_epoch = self.best_epoch or [0] * self.size
        self.stale = self.stale or [0] * self.size
        self.cut = self.cut or [0] * self.size
        self.stopped = self.stopped or [None] * self.size

    def update(self, k: int, epoch: int, value: float) -> str:
        """Member k's value after `epoch`: what to do (BEST, WAIT, CUT or STOP)."""
        if value < self.best[k] * (1 - self.min_improvement):
            self.best[k], self.best_epoch[k], self.stale[k] = value, epoch, 0
            return BEST
        self.stale[k] += 1
        if self.stale[k] < self.patience:
            return WAIT
        if self.cut[k] < self.cuts:
            self.cut[k] += 1
            self.stale[k] = 0
            return CUT
        self.stopped[k] = "rule"
        return STOP

    def state_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("best", "best_epoch", "stale", "cut",
                                              "stopped")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, list(value))


class BestWeights:
    """A copy of each member's weights at its best epoch, put back at the end."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.stacked = isinstance(model, Ensemble)
        self.saved: dict[int, dict[str, Tensor]] = {}

    @torch.no_grad()
    def keep(self, k: int) -> None:
        state = self.model.state_dict()
        self.saved[k] = ({n: t[k].clone() for n, t in state.items()} if self.stacked
                         else {n: t.clone() for n, t in state.items()})

    @torch.no_grad()
    def restore(self) -> None:
        state = self.model.state_dict()
        for k, weights in self.saved.items():
            for name, tensor in weights.items():
                (state[name][k] if self.stacked else state[name]).copy_(tensor)

    def state_dict(self) -> dict[str, Any]:
        return {str(k): v for k, v in self.saved.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.saved = {int(k): v for k, v in state.items()}


class Resumable:
    """The optimizer together with the stopping state and the best weights, as one
    `state_dict` for checkpoints (a run without stopping saves its optimizer alone)."""

    def __init__(self, optimizer: Any, stopping: Stopping, best: BestWeights):
        self.optimizer, self.stopping, self.best = optimizer, stopping, best

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "stopping": self.stopping.state_dict(), "best": self.best.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.stopping.load_state_dict(state["stopping"])
        self.best.load_state_dict(state["best"])
