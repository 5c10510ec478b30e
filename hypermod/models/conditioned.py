"""Embedding-family methods beyond the paper's: the code e(I) enters q at every layer.

- `ConcatAllNetwork`: e(I) concatenated to the input of every layer of q.
- `FiLMNetwork`: q's hidden layers scaled and shifted per instance, gamma(I) * h + beta(I)
  (Perez et al., AAAI 2018), with gamma starting at 1 and beta at 0.

Both take x as (B, d_x) or (B, n, d_x) (n query points per instance, e run once per
instance) and return (B, [n,] out).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hypermod.models.activations import activation
from hypermod.models.encoder import count_trainable


def _points(code: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """x as (B, n, d) or (B, d), and the code shaped to go beside it."""
    if x.dim() == 3:
        return x, code[:, None, :].expand(-1, x.shape[1], -1)
    return x.reshape(x.shape[0], -1), code


class ConcatAllNetwork(nn.Module):
    """h_I(x) = q(x) where every layer of q reads [its input, e(I)].

    Args:
        e: maps (B, d_I) to (B, E).
        widths: q's widths (d_x, hidden..., out); layer l is Linear(w_l + E, w_{l+1}).
        embedding_dim: E. act: activation between q's layers.
    """

    method = "concat-all"

    def __init__(self, e: nn.Module, widths: tuple[int, ...], embedding_dim: int,
                 act: str = "relu"):
        super().__init__()
        self.e, self.widths, self._act = e, tuple(widths), activation(act)
        self.q = nn.ModuleList(nn.Linear(a + embedding_dim, b)
                               for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        h, code = _points(self.e(instance.reshape(instance.shape[0], -1)), x)
        for i, layer in enumerate(self.q):
            h = layer(torch.cat([h, code], dim=-1))
            if i < len(self.q) - 1:
                h = self._act(h)
        return h

    def param_counts(self) -> dict[str, int]:
        e, q = count_trainable(self.e), count_trainable(self.q)
        return {"e": e, "q": q, "trainable": e + q}



class FiLMNetwork(nn.Module):
    """h_I(x) = q(x) with each hidden layer's pre-activation z turned into
    gamma(I) * z + beta(I) before the activation.

    Args:
        e: maps (B, d_I) to the code (B, E).
        widths: q's widths (d_x, hidden..., out).
        embedding_dim: E; the FiLM generator is Linear(E, 2 * sum(hidden widths)).
    """

    method = "film"

    def __init__(self, e: nn.Module, widths: tuple[int, ...], embedding_dim: int,
                 act: str = "relu"):
        super().__init__()
        self.e, self.widths, self._act = e, tuple(widths), activation(act)
        self.q = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.hidden = list(widths[1:-1])
        self.film = nn.Linear(embedding_dim, 2 * sum(self.hidden))
        # Zero weights and bias: gamma = 1 + 0 and beta = 0 at the start, so q begins as a
        # plain network; the weights still get gradients through the code.
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        film = self.film(self.e(instance.reshape(instance.shape[0], -1)))  # (B, 2 sum(H))
        h, film = _points(film, x)
        offset = 0
        for i, layer in enumerate(self.q):
            h = layer(h)
            if i < len(self.q) - 1:
                width = self.hidden[i]
                gamma = 1 + film[..., offset : offset + width]
                beta = film[..., offset + width : offset + 2 * width]
                h = self._act(gamma * h + beta)
                offset += 2 * width
        return h

    def param_counts(self) -> dict[str, int]:
        e, film, q = (count_trainable(m) for m in (self.e, self.film, self.q))
        return {"e": e, "film": film, "q": q, "trainable": e + film + q}
