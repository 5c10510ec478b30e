"""The paper's architectures, rebuilt from a small frozen config.

For MNIST (d_I = d_x = 784) at depth 4 these give f = 922,860 trainable parameters
generating 7,960 weights of g, e = 911,750 and q = 86,482, as in the reference code.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from hypermod.models.activations import activation_module
from hypermod.models.embedding import EmbeddingNetwork
from hypermod.models.encoder import mlp_encoder
from hypermod.models.hyper import HyperNetwork
from hypermod.models.primary import MLPPrimary, MLPSpec

METHODS = ("hyper", "embedding")

# The reference code uses ReLU in g and q for MNIST and ELU for CIFAR-10.
DEFAULT_ACTIVATION = {"cifar10": "elu"}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of either method; defaults are the paper's.

    Attributes:
        method: "hyper" (h_I(x) = g(x; f(I))) or "embedding" (h_I(x) = q([e(I), x])).
        depth: hidden-to-hidden blocks in the encoder f or e.
        hidden: encoder width.
        primary_hidden: hidden width of g and of q.
        activation: activation of g and q (the encoder always uses ReLU, as the reference).
        primary_bias: whether g has biases (the reference's g has none).
        embedding_dim: E; None means the reference's 10 * d_x + 10.
    """

    method: str = "hyper"
    depth: int = 4
    hidden: int = 100
    primary_hidden: int = 10
    activation: str = "relu"
    primary_bias: bool = False
    embedding_dim: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {METHODS}")
        if self.depth < 0:
            raise ValueError(f"depth must be >= 0, got {self.depth}")
        if self.embedding_dim is not None and self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, got {self.embedding_dim}")
        if self.embedding_dim is not None and self.method == "hyper":
            raise ValueError("embedding_dim applies to the embedding method, not to hyper")


def reference_embedding_dim(d_x: int, primary_hidden: int = 10) -> int:
    """E = 10 * d_x + 10: the reference's embedding size for the depth experiment."""
    return primary_hidden * d_x + primary_hidden


def build_model(
    config: ModelConfig, d_instance: int, d_x: int, num_outputs: int = 12
) -> HyperNetwork | EmbeddingNetwork:
    """The model `config` describes, for instances of size d_instance and inputs of size d_x."""
    h = config.primary_hidden
    if config.method == "hyper":
        g = MLPPrimary(MLPSpec((d_x, h, num_outputs), config.primary_bias, config.activation))
        f = mlp_encoder(d_instance, g.num_params, config.hidden, config.depth)
        return HyperNetwork(f, g)
    dim = config.embedding_dim or reference_embedding_dim(d_x, h)
    e = mlp_encoder(d_instance, dim, config.hidden, config.depth)
    q = nn.Sequential(
        nn.Linear(dim + d_x, h), activation_module(config.activation), nn.Linear(h, num_outputs)
    )
    return EmbeddingNetwork(e, q)
