"""The plain network on [x, I]: no conditioning structure at all (the paper's "standard
network", Theorem 3's baseline)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hypermod.models.encoder import count_trainable, mlp_encoder


class ConcatNetwork(nn.Module):
    """h(x, I) = MLP([x, I]): `width` hidden units in each of `depth` + 1 hidden layers.

    x is (B, m1) or (B, n, m1) for n query points; I is (B, m2). Output (B, [n,] out).
    """

    method = "mlp"

    def __init__(self, m1: int, m2: int, width: int, depth: int = 1, act: str = "relu",
                 outputs: int = 1):
        super().__init__()
        self.net = mlp_encoder(m1 + m2, outputs, width, depth, act)

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        flat = instance.reshape(instance.shape[0], -1)  # (B, m2)
        if x.dim() == 3:  # (B, n, m1): I repeated beside every query point
            joint = torch.cat([x, flat[:, None, :].expand(-1, x.shape[1], -1)], dim=2)
        else:
            joint = torch.cat([x.reshape(x.shape[0], -1), flat], dim=1)
        return self.net(joint)

    def param_counts(self) -> dict[str, int]:
        n = count_trainable(self.net)
        return {"mlp": n, "trainable": n}
