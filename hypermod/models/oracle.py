"""Oracle encoders: the limit of an encoder "as large as needed", on K fixed instances.

    g = OracleHyper(instances=64, d_x=1, width=16)          # f is a free table of g's weights
    q = OracleEmbedding(instances=64, d_x=1, width=16, code_dim=8)   # e a free table of codes
    y = g(x, ids)        # x (B, n, d_x): n points of each instance ids (B,) -> y (B, n)

The paper's theorems bound the primary network (g or q) while letting the encoder (f or
e) be as large as needed. On a fixed set of K training instances that limit can be built
exactly: f(I_k) becomes row k of a free table of g's weights (K independent copies of g,
trained as one batched model), and e(I_k) becomes a free code c_k feeding one shared q.
The only limits left are the primary network's width and optimization.

g is an MLP d_x -> width -> 1 with biases; q is an MLP (code_dim + d_x) -> width -> 1 on
[c_k, x]. Both are ReLU networks, and both count their primary parameters as the
finite-encoder models of `hypermod.models` do: width (d_x + 2) + 1 for g, width
(code_dim + d_x + 2) + 1 for q.

Initialization ("knots", the default): every hidden unit's weights on x are a random unit
vector and its bias is uniform on [-1, 1], so each unit's kink crosses [-1, 1]^d_x; the
rest (q's weights on the code, both output layers) is PyTorch's `nn.Linear` default, and
codes are standard normal. Why: under the default init about half of a unit's kinks fall
outside the domain, where the unit is dead or linear, and a small g then trains to
roughly twice the error of uniformly placed kinks (0.30 against 0.20 RMS at width 16
on the smooth target, m2 = 1, K = 32, 6,400 Adam steps: one prototype measurement made
while building this, not a committed run).
"default" gives nn.Linear's init everywhere.

Inputs come on a grid, n points per instance, as the synthetic targets' samples do. Why
q's first layer is split into a code part and a point part: c_k W_c is the same for
every point of instance k, so it is computed once per instance, and a point costs
O(width d_x) in both models, whatever code_dim is.

Both run member-wise in a seed ensemble (`forward_stacked`), gathering each member's rows
with `F.embedding`, whose backward is a dense scatter-add on the CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _uniform(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
    bound = 1 / math.sqrt(fan_in)  # nn.Linear's default for weights and biases alike
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


INITS = ("knots", "default")


def _check(instances: int, d_x: int, width: int, init: str) -> None:
    if min(instances, d_x, width) < 1:
        raise ValueError(f"oracle models need instances, d_x and width >= 1; got "
                         f"instances={instances}, d_x={d_x}, width={width}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {INITS}")


@torch.no_grad()
def _knots(weight: Tensor, bias: Tensor) -> None:
    """Unit-vector rows of `weight` (..., width, d_x), biases uniform on [-1, 1]."""
    direction = torch.randn_like(weight)
    weight.copy_(direction / direction.norm(dim=-1, keepdim=True))
    bias.uniform_(-1, 1)


def _rows(table: Tensor, ids: Tensor) -> Tensor:
    """Rows of `table` (S, K, ...) for ids (S, B): (S, B, ...), member s from its own table."""
    s, k = table.shape[:2]
    flat = table.reshape(s * k, -1)
    offset = torch.arange(s, device=ids.device)[:, None] * k
    return F.embedding(ids + offset, flat).reshape(*ids.shape, *table.shape[2:])


class OracleHyper(nn.Module):
    """K copies of g (d_x -> width -> 1, ReLU, with biases), one per instance: f as a table.

    Args:
        instances: K, the number of training instances (ids run 0..K-1).
        d_x: m1, the dimension of a point.
        width: g's hidden width.
        init: "knots" or "default" (see the module's docstring).
    """

    def __init__(self, instances: int, d_x: int, width: int, init: str = "knots"):
        super().__init__()
        _check(instances, d_x, width, init)
        self.instances, self.d_x, self.width = instances, d_x, width
        self.w1 = _uniform((instances, width, d_x), d_x)
        self.b1 = _uniform((instances, width), d_x)
        self.w2 = _uniform((instances, width), width)
        self.b2 = _uniform((instances,), width)
        if init == "knots":
            _knots(self.w1, self.b1)

    def param_counts(self) -> dict[str, int]:
        """g's own size ("primary") and the table's ("encoder": K copies of g)."""
        primary = self.width * (self.d_x + 2) + 1
        return {"encoder": self.instances * primary, "primary": primary,
                "trainable": self.instances * primary}

    @staticmethod
    def _g(w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, x: Tensor) -> Tensor:
        # w1 (..., width, d_x), b1 and w2 (..., width), b2 (...), x (..., n, d_x) -> (..., n)
        hidden = torch.relu(x @ w1.transpose(-1, -2) + b1.unsqueeze(-2))  # (..., n, width)
        return (hidden @ w2.unsqueeze(-1)).squeeze(-1) + b2.unsqueeze(-1)

    def forward(self, x: Tensor, ids: Tensor) -> Tensor:
        """x (B, n, d_x), ids (B,) -> (B, n): instance ids[b]'s copy of g on its points."""
        return self._g(self.w1[ids], self.b1[ids], self.w2[ids], self.b2[ids], x)

    def forward_stacked(self, params: dict[str, Tensor], x: Tensor, ids: Tensor) -> Tensor:
        """Member-wise: params name -> (S, ...), x (S, B, n, d_x), ids (S, B) -> (S, B, n)."""
        rows = [_rows(params[n], ids) for n in ("w1", "b1", "w2")]
        b2 = _rows(params["b2"][..., None], ids).squeeze(-1)
        return self._g(*rows, b2, x)


class OracleEmbedding(nn.Module):
    """One q ((code_dim + d_x) -> width -> 1, ReLU) on [c_k, x]: e as a table of free codes.

    Args:
        instances: K, the number of training instances.
        d_x: m1.
        width: q's hidden width.
        code_dim: E, the dimension of a code.
        init: "knots" or "default" (see the module's docstring).
    """

    def __init__(self, instances: int, d_x: int, width: int, code_dim: int,
                 init: str = "knots"):
        super().__init__()
        _check(instances, d_x, width, init)
        if code_dim < 1:
            raise ValueError(f"code_dim must be >= 1, got {code_dim}")
        self.instances, self.d_x, self.width, self.code_dim = instances, d_x, width, code_dim
        fan_in = code_dim + d_x
        self.codes = nn.Parameter(torch.randn(instances, code_dim))
        self.wc = _uniform((width, code_dim), fan_in)
        self.wx = _uniform((width, d_x), fan_in)
        self.b1 = _uniform((width,), fan_in)
        self.w2 = _uniform((width,), width)
        self.b2 = _uniform((), width)
        if init == "knots":
            _knots(self.wx, self.b1)

    def param_counts(self) -> dict[str, int]:
        """q's size ("primary", its code inputs included) and the codes' ("encoder")."""
        primary = self.width * (self.code_dim + self.d_x + 2) + 1
        codes = self.instances * self.code_dim
        return {"encoder": codes, "primary": primary, "trainable": codes + primary}

    def forward(self, x: Tensor, ids: Tensor) -> Tensor:
        """x (B, n, d_x), ids (B,) -> (B, n): q(c_ids[b], x) at instance b's points."""
        per_instance = (self.codes[ids] @ self.wc.T + self.b1)[:, None, :]  # (B, 1, width)
        hidden = torch.relu(per_instance + x @ self.wx.T)  # (B, n, width)
        return hidden @ self.w2 + self.b2

    def forward_stacked(self, params: dict[str, Tensor], x: Tensor, ids: Tensor) -> Tensor:
        """Member-wise: params name -> (S, ...), x (S, B, n, d_x), ids (S, B) -> (S, B, n)."""
        s, b, n, d = x.shape
        codes = _rows(params["codes"], ids)  # (S, B, E)
        per_instance = torch.baddbmm(params["b1"][:, None, :], codes,
                                     params["wc"].transpose(1, 2))  # (S, B, width)
        points = torch.bmm(x.reshape(s, b * n, d), params["wx"].transpose(1, 2))
        hidden = torch.relu(per_instance[:, :, None, :] + points.reshape(s, b, n, -1))
        flat = torch.baddbmm(params["b2"][:, None, None], hidden.reshape(s, b * n, -1),
                             params["w2"][:, :, None])  # (S, B n, 1)
        return flat.reshape(s, b, n)
