"""The embedding method: h_I(x) = q([e(I), x])."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hypermod.models.encoder import count_trainable
from hypermod.models.stacked import stacked_call, subtree


def joint_input(code: Tensor, x: Tensor, lead: int) -> Tensor:
    """[code, x] per sample: code (*L, E) with `lead` leading dims L; x (*L, d) or
    (*L, n, d) for n query points (code repeated for each), anything else flattened to
    (*L, d). Returns (*L, E + d) or (*L, n, E + d)."""
    if x.dim() == lead + 2:
        n = x.shape[lead]
        return torch.cat([code.unsqueeze(lead).expand(*code.shape[:lead], n, -1), x], dim=-1)
    return torch.cat([code, x.reshape(*x.shape[:lead], -1)], dim=lead)


class EmbeddingNetwork(nn.Module):
    """e maps the instance I to a vector; q reads the concatenation [e(I), x].

    Args:
        e: any module mapping (B, d_I) to (B, E).
        q: any module mapping (B, E + d_x) to (B, out) (and (B, n, E + d_x) to
            (B, n, out) for n query points, as `nn.Linear` stacks do).
    """

    method = "embedding"

    def __init__(self, e: nn.Module, q: nn.Module):
        super().__init__()
        self.e = e
        self.q = q

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        """(B, ...) inputs and (B, ...) instances -> (B, [n,] out) outputs of each h_I."""
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        code = self.e(instance.reshape(instance.shape[0], -1))  # (B, E), once per instance
        return self.q(joint_input(code, x, lead=1))

    def forward_stacked(self, params: dict[str, Tensor], x: Tensor, instance: Tensor) -> Tensor:
        """S members at once: (S, B, ...) inputs -> (S, B, [n,] out)."""
        s, b = x.shape[:2]
        code = stacked_call(self.e, subtree(params, "e."), instance.reshape(s, b, -1))
        return stacked_call(self.q, subtree(params, "q."), joint_input(code, x, lead=2))

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters of e and of q."""
        e, q = count_trainable(self.e), count_trainable(self.q)
        return {"e": e, "q": q, "trainable": e + q}
