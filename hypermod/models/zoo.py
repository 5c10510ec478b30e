"""Every conditioning method behind one config: `build_method(ZooConfig(method=...), ...)`.

All share the instance encoder family (f or e: `mlp_encoder` of width `encoder_hidden`)
and the primary architecture (g or q: widths d_x -> primary_hidden... -> outputs):

| method | h_I(x) |
|---|---|
| hyper | g(x; f(I)), every weight of g generated (the paper's) |
| embedding | q([e(I), x]) (the paper's) |
| concat-all | q with e(I) concatenated to the input of every layer |
| film | q with hidden layers gamma(I) * z + beta(I) (Perez et al., 2018) |
| lowrank-hyper | g with W_I = W0 + A(I) B(I), rank r per layer |
| chunked-hyper | g's weights from one shared generator over learned chunk embeddings |
| partial-hyper | g with only its last k layers generated |
| mlp | a plain MLP on [x, I] (the paper's "standard network") |

Counts by role have closed forms in `hypermod.theory.zoo_params` (tested against these
modules); `hypermod.models.budget.match_budget` picks widths for a parameter budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from hypermod.models.activations import activation, activation_module
from hypermod.models.concat import ConcatNetwork
from hypermod.models.conditioned import ConcatAllNetwork, FiLMNetwork
from hypermod.models.embedding import EmbeddingNetwork
from hypermod.models.encoder import mlp_encoder
from hypermod.models.generators import ChunkedGenerator, LowRankGenerator, PartialGenerator
from hypermod.models.hyper import HyperNetwork
from hypermod.models.init import hyperfan_init
from hypermod.models.primary import MLPPrimary, MLPSpec

ZOO = ("hyper", "embedding", "concat-all", "film", "lowrank-hyper", "chunked-hyper",
       "partial-hyper", "mlp")
HYPER_FAMILY = ("hyper", "lowrank-hyper", "chunked-hyper", "partial-hyper")
INITS = ("default", "hyperfan")


@dataclass(frozen=True)
class ZooConfig:
    """One conditioning method and its sizes.

    Attributes:
        method: one of `ZOO`.
        encoder_hidden, encoder_depth: width and hidden blocks of f / e (and of the mlp).
        primary_hidden: hidden widths of g / q.
        activation: of g and q (encoders use ReLU).
        primary_bias: whether g has biases (q always has).
        embedding_dim: E, the code of embedding, concat-all and film, and the instance
            code of chunked-hyper.
        rank: r of lowrank-hyper. chunk_size, chunk_dim: of chunked-hyper.
        generated_layers: k of partial-hyper.
        init: "default" (PyTorch's, as the paper's code) or "hyperfan" (generated layers
            start with the variance a Kaiming-initialized g has; hypernetworks only).
    """

    method: str = "hyper"
    encoder_hidden: int = 100
    encoder_depth: int = 2
    primary_hidden: tuple[int, ...] = (10,)
    activation: str = "relu"
    primary_bias: bool = True
    embedding_dim: int = 16
    rank: int = 2
    chunk_size: int = 64
    chunk_dim: int = 8
    generated_layers: int = 1
    init: str = "default"

    def __post_init__(self) -> None:
        if self.method not in ZOO:
            raise ValueError(f"unknown method {self.method!r}; choose one of {ZOO}")
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {INITS}")
        if self.init == "hyperfan" and self.method not in HYPER_FAMILY:
            raise ValueError(f"init 'hyperfan' applies to {HYPER_FAMILY}, not {self.method}")
        for name in ("encoder_hidden", "embedding_dim", "rank", "chunk_size", "chunk_dim",
                     "generated_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"ZooConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.encoder_depth < 0 or any(w < 1 for w in self.primary_hidden):
            raise ValueError(f"ZooConfig needs encoder_depth >= 0 and positive primary_hidden,"
                             f" got {self.encoder_depth}, {self.primary_hidden}")
        if self.generated_layers > len(self.primary_hidden) + 1:
            raise ValueError(f"generated_layers {self.generated_layers} exceeds g's "
                             f"{len(self.primary_hidden) + 1} layers")
        activation(self.activation)


def build_method(config: ZooConfig, d_instance: int, d_x: int, outputs: int,
                 instances: Tensor | None = None) -> nn.Module:
    """The model `config` describes, called as model(x, I) -> (B, [n,] outputs).

    `instances` (B, ...) are sample instances for the hyperfan init (default: 256 draws
    of a standard normal); they are not used otherwise.
    """
    c = config
    widths = (d_x, *c.primary_hidden, outputs)

    def encoder(out: int, d_in: int = d_instance) -> nn.Sequential:
        return mlp_encoder(d_in, out, c.encoder_hidden, c.encoder_depth)

    if c.method == "mlp":
        return ConcatNetwork(d_x, d_instance, c.encoder_hidden, c.encoder_depth, c.activation,
                             outputs)
    if c.method == "embedding":
        q = [nn.Linear(c.embedding_dim + d_x, widths[1])]
        for a, b in zip(widths[1:-1], widths[2:]):
            q += [activation_module(c.activation), nn.Linear(a, b)]
        return EmbeddingNetwork(encoder(c.embedding_dim), nn.Sequential(*q))
    if c.method == "concat-all":
        return ConcatAllNetwork(encoder(c.embedding_dim), widths, c.embedding_dim, c.activation)
    if c.method == "film":
        return FiLMNetwork(encoder(c.embedding_dim), widths, c.embedding_dim, c.activation)
    spec = MLPSpec(widths, c.primary_bias, c.activation)
    g = MLPPrimary(spec)
    if c.method == "hyper":
        f: nn.Module = encoder(g.num_params)
    elif c.method == "lowrank-hyper":
        f = LowRankGenerator(encoder(sum(c.rank * (a + b) for a, b in
                                         zip(widths[:-1], widths[1:]))), spec, c.rank)
    elif c.method == "chunked-hyper":
        f = ChunkedGenerator(encoder(c.embedding_dim), c.embedding_dim, spec, c.chunk_size,
                             c.chunk_dim)
    else:
        k = c.generated_layers
        f = PartialGenerator(encoder(PartialGenerator.generated_count(spec, k)), spec, k)
    model = HyperNetwork(f, g, method=c.method)
    if c.init == "hyperfan":
        hyperfan_init(model, torch.randn(256, d_instance) if instances is None else instances)
    return model
