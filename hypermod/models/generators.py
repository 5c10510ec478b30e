"""Weight generators for hypernetwork variants: each maps instances (B, d_I) to the flat
weights (B, P) of the primary network g, so `HyperNetwork(generator, g)` runs any of them.

- `LowRankGenerator`: W_I = W0 + A(I) B(I) per layer, rank r; W0 and the biases learned.
- `ChunkedGenerator`: one shared generator applied to learned chunk embeddings together
  with the instance code (Oswald et al., ICLR 2020), so the output layer is one chunk wide.
- `PartialGenerator`: only g's last k layers are generated; the others are shared weights.
- `MIPGenerator`: magnitude-invariant parametrization (Ortiz, Guttag and Dalca, ICLR 2024):
  theta_I = theta_0 + f(phi(I)), the input encoded with a constant norm.

Each reports its trainable parameters by role (`param_counts`), which `HyperNetwork`
passes on, and `generated_per_instance` (the numbers f itself emits per instance).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hypermod.models.encoder import count_trainable
from hypermod.models.primary import MLPSpec, num_generated


def _layers(spec: MLPSpec) -> list[tuple[str, int, int]]:
    """(name prefix, out, in) of each layer of g."""
    return [(f"layers.{i}", b, a) for i, (a, b) in enumerate(zip(spec.widths[:-1],
                                                                  spec.widths[1:]))]


def _kaiming_(weight: Tensor, variance_share: float = 1.0) -> None:
    """Normal init with variance share * 2 / fan_in (Kaiming for ReLU), in place."""
    nn.init.normal_(weight, 0.0, math.sqrt(variance_share * 2.0 / weight.shape[1]))


class LowRankGenerator(nn.Module):
    """theta_I = flatten over layers of (W0 + A(I) B(I), b0): A (out, r), B (r, in).

    Args:
        trunk: maps (B, d_I) to (B, sum over layers of r * (out + in)).
        spec: g's architecture (biases, when present, are learned, not generated).
        rank: r, the same for every layer.
    """

    def __init__(self, trunk: nn.Module, spec: MLPSpec, rank: int):
        super().__init__()
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        self.trunk, self.spec, self.rank = trunk, spec, rank
        self.base = nn.ParameterDict()
        for name, out, inp in _layers(spec):
            weight = torch.empty(out, inp)
            _kaiming_(weight, 0.5)  # half of Kaiming's variance; A B brings the other half
            self.base[name.replace(".", "_") + "_weight"] = nn.Parameter(weight)
            if spec.bias:
                self.base[name.replace(".", "_") + "_bias"] = nn.Parameter(torch.zeros(out))

    @property
    def generated_per_instance(self) -> int:
        return sum(self.rank * (out + inp) for _, out, inp in _layers(self.spec))

    def factors(self, instance: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        """Layer name -> (A (B, out, r), B (B, r, in)) for each instance."""
        code, offset, out = self.trunk(instance), 0, {}
        for name, rows, cols in _layers(self.spec):
            a = code[:, offset : offset + rows * self.rank].view(-1, rows, self.rank)
            offset += rows * self.rank
            b = code[:, offset : offset + self.rank * cols].view(-1, self.rank, cols)
            offset += self.rank * cols
            out[name] = (a, b)
        return out

    def forward(self, instance: Tensor) -> Tensor:
        """(B, d_I) -> (B, P) g's weights, layer by layer as `MLPSpec.shapes` orders them."""
        parts = []
        for name, (a, b) in self.factors(instance).items():
            key = name.replace(".", "_")
            parts.append((self.base[key + "_weight"] + torch.bmm(a, b)).flatten(1))
            if self.spec.bias:
                parts.append(self.base[key + "_bias"].expand(instance.shape[0], -1))
        return torch.cat(parts, dim=1)

    def param_counts(self) -> dict[str, int]:
        return {"f": count_trainable(self.trunk), "base": count_trainable(self.base),
                "g_generated": self.generated_per_instance}


class ChunkedGenerator(nn.Module):
    """theta_I = [gain_k * G([c(I), e_k]) for every chunk k], cut to g's weights.

    Chunks never straddle two of g's tensors, so each chunk's learned gain can give it
    the scale of the tensor it fills (see `hypermod.models.init`).

    Args:
        trunk: maps (B, d_I) to the instance code c (B, code_dim).
        spec: g's architecture.
        chunk_size: weights per chunk (G's output width).
        chunk_dim: size of each learned chunk embedding e_k.
    """

    def __init__(self, trunk: nn.Module, code_dim: int, spec: MLPSpec, chunk_size: int,
                 chunk_dim: int = 8):
        super().__init__()
        if min(chunk_size, chunk_dim) < 1:
            raise ValueError(f"chunk_size and chunk_dim must be >= 1, got {chunk_size}, "
                             f"{chunk_dim}")
        self.trunk, self.spec, self.chunk_size = trunk, spec, chunk_size
        # Each tensor of g is cut into whole chunks; the last chunk's excess is dropped.
        self.pieces = [(name, math.prod(shape)) for name, shape in spec.shapes.items()]
        count = sum(math.ceil(n / chunk_size) for _, n in self.pieces)
        self.embeddings = nn.Parameter(torch.randn(count, chunk_dim))
        self.gains = nn.Parameter(torch.ones(count))
        self.generator = nn.Linear(code_dim + chunk_dim, chunk_size)

    @property
    def num_chunks(self) -> int:
        return self.embeddings.shape[0]

    def chunks(self, instance: Tensor) -> Tensor:
        """(B, d_I) -> (B, K, chunk_size): every chunk of every instance, gains applied."""
        code = self.trunk(instance)  # (B, code_dim)
        b, k = code.shape[0], self.num_chunks
        joint = torch.cat([code[:, None, :].expand(b, k, -1),
                           self.embeddings[None].expand(b, -1, -1)], dim=2)
        return self.generator(joint) * self.gains[None, :, None]

    def forward(self, instance: Tensor) -> Tensor:
        """(B, d_I) -> (B, P) g's weights."""
        chunks, parts, first = self.chunks(instance), [], 0
        for _, n in self.pieces:
            k = math.ceil(n / self.chunk_size)
            parts.append(chunks[:, first : first + k].flatten(1)[:, :n])
            first += k
        return torch.cat(parts, dim=1)

    def param_counts(self) -> dict[str, int]:
        return {"f": count_trainable(self.trunk),
                "chunk_embeddings": self.embeddings.numel() + self.gains.numel(),
                "generator": count_trainable(self.generator),
                "g_generated": num_generated(self.spec.shapes)}


class PartialGenerator(nn.Module):
    """theta_I = [shared weights of g's first L - k layers, f(I) for the last k layers].

    Args:
        trunk: maps (B, d_I) to the weights of g's last k layers (B, P_k).
        spec: g's architecture; k: how many of its layers are generated (1..L).
    """

    def __init__(self, trunk: nn.Module, spec: MLPSpec, k: int):
        super().__init__()
        layers = len(spec.widths) - 1
        if not 1 <= k <= layers:
            raise ValueError(f"k must be in 1..{layers} (g has {layers} layers), got {k}")
        self.trunk, self.spec, self.k = trunk, spec, k
        first_generated = layers - k
        self.shared = nn.ParameterDict()
        self.generated_names = []
        for name, shape in spec.shapes.items():
            if int(name.split(".")[1]) < first_generated:
                value = torch.zeros(shape)
                if len(shape) == 2:
                    _kaiming_(value)
                self.shared[name.replace(".", "_")] = nn.Parameter(value)
            else:
                self.generated_names.append(name)

    @property
    def generated_per_instance(self) -> int:
        return self.generated_count(self.spec, self.k)

    @staticmethod
    def generated_count(spec: MLPSpec, k: int) -> int:
        """Weights of g's last k layers: what the trunk must emit per instance."""
        first = len(spec.widths) - 1 - k
        return sum(math.prod(shape) for name, shape in spec.shapes.items()
                   if int(name.split(".")[1]) >= first)

    def forward(self, instance: Tensor) -> Tensor:
        """(B, d_I) -> (B, P) g's weights: shared ones repeated, then the generated ones."""
        b = instance.shape[0]
        shared = [p.flatten().expand(b, -1) for p in self.shared.values()]
        return torch.cat([*shared, self.trunk(instance)], dim=1)

    def param_counts(self) -> dict[str, int]:
        return {"f": count_trainable(self.trunk), "shared": count_trainable(self.shared),
                "g_generated": self.generated_per_instance}


def magnitude_invariant(instance: Tensor) -> Tensor:
    """phi(I): each coordinate u as (cos a, sin a) with a = (pi / 2) sigmoid(u), so that
    ||phi(I)|| = sqrt(d_I) for every instance. (B, d_I) -> (B, 2 d_I)."""
    angle = (math.pi / 2) * torch.sigmoid(instance)
    return torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)


class MIPGenerator(nn.Module):
    """theta_I = theta_0 + f(phi(I)): magnitude-invariant parametrization (MIP).

    Ortiz, Guttag and Dalca (ICLR 2024) trace slow, unstable hypernetwork training to the
    generated weights' magnitude growing with the input's, and remove it in two ways,
    both here: the input is encoded with a constant norm (`magnitude_invariant`), and f
    predicts an additive change to learned weights theta_0 instead of the weights
    themselves. Their inputs lie in [0, 1], encoded as (cos, sin) of (pi / 2) u; ours may
    lie anywhere (images, [-1, 1]), so u passes through a sigmoid first. theta_0 starts as
    a plain g would (Kaiming-normal weights, zero biases) and f's output layer starts at
    zero, so the model starts as the plain network g(x; theta_0): both are our choices.

    Args:
        trunk: maps (B, 2 d_I) to (B, P), P = g's number of weights; its last module must
            be an `nn.Linear` (zeroed here).
        spec: g's architecture.
    """

    def __init__(self, trunk: nn.Sequential, spec: MLPSpec):
        super().__init__()
        head = trunk[-1]
        if not isinstance(head, nn.Linear) or head.out_features != num_generated(spec.shapes):
            raise ValueError(f"MIPGenerator needs a trunk ending in nn.Linear(..., "
                             f"{num_generated(spec.shapes)}), got {head}")
        self.trunk, self.spec = trunk, spec
        parts = []
        for shape in spec.shapes.values():
            value = torch.zeros(shape)
            if len(shape) == 2:
                _kaiming_(value)
            parts.append(value.flatten())
        self.base = nn.Parameter(torch.cat(parts))
        with torch.no_grad():
            head.weight.zero_()
            head.bias.zero_()

    def forward(self, instance: Tensor) -> Tensor:
        """(B, d_I) -> (B, P) g's weights in `MLPSpec.shapes` order."""
        return self.base + self.trunk(magnitude_invariant(instance))

    def param_counts(self) -> dict[str, int]:
        return {"f": count_trainable(self.trunk), "base": self.base.numel(),
                "g_generated": self.base.numel()}
