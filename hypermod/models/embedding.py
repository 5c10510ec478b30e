"""The embedding method: h_I(x) = q([e(I), x])."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hypermod.models.encoder import count_trainable


class EmbeddingNetwork(nn.Module):
    """e maps the instance I to a vector; q reads the concatenation [e(I), x].

    Args:
        e: any module mapping (B, d_I) to (B, E).
        q: any module mapping (B, E + d_x) to (B, out).
    """

    method = "embedding"

    def __init__(self, e: nn.Module, q: nn.Module):
        super().__init__()
        self.e = e
        self.q = q

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        """(B, ...) inputs and (B, ...) instances -> (B, out) outputs of each h_I."""
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        code = self.e(instance.reshape(instance.shape[0], -1))  # (B, E)
        return self.q(torch.cat([code, x.reshape(x.shape[0], -1)], dim=1))

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters of e and of q."""
        e, q = count_trainable(self.e), count_trainable(self.q)
        return {"e": e, "q": q, "trainable": e + q}
