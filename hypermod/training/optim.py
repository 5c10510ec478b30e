"""One optimizer step for S members stacked along the leading dimension, each with its own
learning rate and weight decay.

    opt = MemberOptimizer(ensemble.parameters(), "adam", lrs=[3e-4, 1e-3, 3e-3])
    loss.backward(); opt.step()          # member k moves by its own lr
    opt.scale(k, 0.3); opt.freeze(k)     # a learning-rate cut; a stopped member

Why our own step: torch's optimizers take one learning rate per parameter group, and an
ensemble's parameter is one tensor holding every member (`hypermod.models.Ensemble`).
Here every hyperparameter that may differ between members is an (S,) tensor broadcast
along the leading dimension, so S learning rates (and seeds) train as one batched model,
and the update stays a few tensor operations on the device (a CUDA graph captures it:
the step count is a tensor too). The formulas are torch's SGD (with momentum), Adam,
AdamW and Adadelta, so member k's update is the one a separate run with its settings
makes, to float rounding. A member whose lr is 0 no longer moves (AdamW's decay is
scaled by lr as well): that is how an early-stopped member stops.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

KINDS = ("sgd", "adam", "adamw", "adadelta")
BETAS, EPS = (0.9, 0.999), 1e-8  # torch's Adam defaults
RHO, DELTA_EPS = 0.9, 1e-6  # torch's Adadelta defaults


class MemberOptimizer:
    """SGD, Adam, AdamW or Adadelta over stacked parameters (S, ...), member-wise settings.

    Args:
        params: tensors whose leading dimension is the member (an `Ensemble`'s).
        kind: one of `KINDS`.
        lrs, weight_decays: S values each (weight decay is L2 added to the gradient for
            sgd, adam and adadelta, decoupled for adamw, as in torch).
        momentum: SGD momentum (the same for every member).
    """

    def __init__(self, params: Iterable[Tensor], kind: str, lrs: Sequence[float],
                 weight_decays: Sequence[float] | None = None, momentum: float = 0.0):
        if kind not in KINDS:
            raise ValueError(f"unknown optimizer {kind!r}; choose one of {KINDS}")
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("MemberOptimizer got no trainable parameters")
        size = len(lrs)
        if any(p.shape[0] != size for p in self.params):
            raise ValueError(f"{size} learning rates for parameters of leading dimensions "
                             f"{sorted({p.shape[0] for p in self.params})}")
        device = self.params[0].device
        weight_decays = [0.0] * size if weight_decays is None else list(weight_decays)
        if len(weight_decays) != size:
            raise ValueError(f"{len(weight_decays)} weight decays for {size} members")
        self.kind, self.momentum, self.size = kind, momentum, size
        self.lr = torch.tensor(list(lrs), dtype=torch.float32, device=device)  # (S,)
        self.weight_decay = torch.tensor(weight_decays, dtype=torch.float32, device=device)
        self.steps = torch.zeros((), dtype=torch.float32, device=device)
        self.state: list[dict[str, Tensor]] = [{} for _ in self.params]

    def _member(self, values: Tensor, like: Tensor) -> Tensor:
        """(S,) -> (S, 1, ..., 1), broadcastable against a parameter `like`."""
        return values.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every member by its own settings."""
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            lr, wd = self._member(self.lr, p), self._member(self.weight_decay, p)
            grad = p.grad
            if self.kind != "adamw":
                grad = grad + wd * p  # L2: every member's wd, 0 where it has none
            getattr(self, f"_{self.kind}")(p, grad, state, lr, wd)

    def _sgd(self, p: Tensor, grad: Tensor, state: dict, lr: Tensor, wd: Tensor) -> None:
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.clone()
            else:
                buf.mul_(self.momentum).add_(grad)
            grad = buf
        p.sub_(lr * grad)

    def _adam(self, p: Tensor, grad: Tensor, state: dict, lr: Tensor, wd: Tensor) -> None:
        if not state:
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - BETAS[0])
        v.mul_(BETAS[1]).addcmul_(grad, grad, value=1 - BETAS[1])
        correction1 = 1 - BETAS[0] ** self.steps
        correction2_sqrt = (1 - BETAS[1] ** self.steps).sqrt()
        denom = (v.sqrt() / correction2_sqrt).add_(EPS)
        p.sub_((lr / correction1) * m / denom)

    def _adamw(self, p: Tensor, grad: Tensor, state: dict, lr: Tensor, wd: Tensor) -> None:
        p.mul_(1 - lr * wd)
        self._adam(p, grad, state, lr, wd)

    def _adadelta(self, p: Tensor, grad: Tensor, state: dict, lr: Tensor, wd: Tensor
                  ) -> None:
        if not state:
            state["square_avg"] = torch.zeros_like(p)
            state["acc_delta"] = torch.zeros_like(p)
        square, acc = state["square_avg"], state["acc_delta"]
        square.mul_(RHO).addcmul_(grad, grad, value=1 - RHO)
        delta = (acc + DELTA_EPS).sqrt_().div_((square + DELTA_EPS).sqrt_()).mul_(grad)
        acc.mul_(RHO).addcmul_(delta, delta, value=1 - RHO)
        p.sub_(lr * delta)

    def scale(self, member: int, factor: float) -> None:
        """Multiply member `member`'s learning rate by `factor` (a cut)."""
        self.lr[member] *= factor

    def freeze(self, member: int) -> None:
        """Member `member` stops moving (its learning rate becomes 0)."""
        self.lr[member] = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lr": self.lr.clone(), "weight_decay":
                self.weight_decay.clone(), "steps": self.steps.clone(),
                "momentum": self.momentum,
                "state": [{k: v.clone() for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        if saved.get("kind") != self.kind or len(saved["state"]) != len(self.state):
            raise ValueError(f"the saved optimizer is a {saved.get('kind')} of "
                             f"{len(saved['state'])} tensors, not a {self.kind} of "
                             f"{len(self.state)}")
        device = self.lr.device
        self.lr = saved["lr"].to(device)
        self.weight_decay = saved["weight_decay"].to(device)
        self.steps = saved["steps"].to(device)
        self.state = [{k: v.to(device) for k, v in s.items()} for s in saved["state"]]


def member_lrs_valid(lrs: Sequence[float]) -> None:
    """ValueError unless every learning rate is positive and finite."""
    bad = [lr for lr in lrs if not (lr > 0 and math.isfinite(lr))]
    if bad:
        raise ValueError(f"learning rates must be positive and finite, got {bad}")
