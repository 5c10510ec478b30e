"""Each conditioning method's settings: one small frozen dataclass per method.

    HyperConfig(encoder_hidden=64, primary_hidden=(16,))      # h_I(x) = g(x; f(I))
    FiLMConfig(encoder_depth=2, embedding_dim=32)

Every config shares the instance encoder (f or e: `mlp_encoder` of width
`encoder_hidden` and `encoder_depth` hidden blocks) and the activation of the primary
network; the others add their own fields. `method` is fixed per class (not an argument),
so a config written to a record names its method. The registry
(`hypermod.models.methods`) maps each config to its builder and closed-form counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypermod.models.activations import activation

INITS = ("default", "hyperfan")


@dataclass(frozen=True)
class MethodConfig:
    """What every method has: its encoder's width and depth, and g's or q's activation.

    Attributes:
        encoder_hidden, encoder_depth: width and hidden blocks of f / e (of the plain
            MLP itself for "mlp"); the encoder uses ReLU, as the reference.
        activation: of g and q (and of the plain MLP).
    """

    method: str = field(default="", init=False)
    encoder_hidden: int = 100
    encoder_depth: int = 2
    activation: str = "relu"

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.encoder_hidden < 1 or self.encoder_depth < 0:
            raise ValueError(f"{name} needs encoder_hidden >= 1 and encoder_depth >= 0, got "
                             f"{self.encoder_hidden} and {self.encoder_depth}")
        for key in ("embedding_dim", "rank", "chunk_size", "chunk_dim", "generated_layers"):
            value = getattr(self, key, 1)
            if value is not None and value < 1:
                raise ValueError(f"{name}.{key} must be >= 1, got {value}")
        hidden = getattr(self, "primary_hidden", ())
        if any(w < 1 for w in hidden):  # () is a primary network without hidden layers
            raise ValueError(f"{name}.primary_hidden must be positive widths, got {hidden}")
        if getattr(self, "init", "default") not in INITS:
            raise ValueError(f"{name}: unknown init {self.init!r}; choose one of {INITS}")
        if getattr(self, "generated_layers", 1) > len(hidden) + 1:
            raise ValueError(f"generated_layers {self.generated_layers} exceeds g's "
                             f"{len(hidden) + 1} layers")
        activation(self.activation)  # ValueError naming the choices


@dataclass(frozen=True)
class HyperConfig(MethodConfig):
    """The hypernetwork: f generates every weight of g (the paper's).

    Attributes:
        primary_hidden: hidden widths of g (d_x -> ... -> outputs).
        primary_bias: whether g has biases (the reference's g has none).
        init: "default" (PyTorch's, as the paper's code) or "hyperfan" (generated weights
            start with the variance a Kaiming-initialized g has).
    """

    method: str = field(default="hyper", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    primary_bias: bool = True
    init: str = "default"


@dataclass(frozen=True)
class LowRankConfig(MethodConfig):
    """g with W_I = W0 + A(I) B(I), rank `rank` per layer (W0 and biases learned)."""

    method: str = field(default="lowrank-hyper", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    primary_bias: bool = True
    init: str = "default"
    rank: int = 2


@dataclass(frozen=True)
class ChunkedConfig(MethodConfig):
    """g's weights from one shared generator over learned chunk embeddings and the
    instance code of size `embedding_dim` (Oswald et al., ICLR 2020)."""

    method: str = field(default="chunked-hyper", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    primary_bias: bool = True
    init: str = "default"
    embedding_dim: int = 16
    chunk_size: int = 64
    chunk_dim: int = 8


@dataclass(frozen=True)
class PartialConfig(MethodConfig):
    """g with only its last `generated_layers` layers generated, the others shared."""

    method: str = field(default="partial-hyper", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    primary_bias: bool = True
    init: str = "default"
    generated_layers: int = 1


@dataclass(frozen=True)
class MIPConfig(MethodConfig):
    """g's weights theta_0 + f(phi(I)) with phi(I) of constant norm: magnitude-invariant
    parametrization (Ortiz et al., ICLR 2024; `hypermod.models.generators.MIPGenerator`).
    It has its own init, so no `init` setting."""

    method: str = field(default="mip-hyper", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    primary_bias: bool = True


@dataclass(frozen=True)
class EmbeddingConfig(MethodConfig):
    """The embedding method: q reads [e(I), x] (the paper's).

    Attributes:
        primary_hidden: hidden widths of q.
        embedding_dim: E, the size of e(I); None: the reference's 10 d_x + 10 (with q's
            first hidden width in place of 10).
    """

    method: str = field(default="embedding", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    embedding_dim: int | None = 16


@dataclass(frozen=True)
class ConcatAllConfig(MethodConfig):
    """q with the code e(I) of size `embedding_dim` concatenated to every layer's input."""

    method: str = field(default="concat-all", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    embedding_dim: int = 16


@dataclass(frozen=True)
class FiLMConfig(MethodConfig):
    """q whose hidden layers are scaled and shifted by gamma(I), beta(I) from a code of
    size `embedding_dim` (Perez et al., AAAI 2018)."""

    method: str = field(default="film", init=False)
    primary_hidden: tuple[int, ...] = (10,)
    embedding_dim: int = 16


@dataclass(frozen=True)
class MLPConfig(MethodConfig):
    """A plain MLP on [x, I] (the paper's "standard network"): encoder_hidden units in
    each of its encoder_depth + 1 hidden layers; all of it reads x, so all is primary."""

    method: str = field(default="mlp", init=False)
