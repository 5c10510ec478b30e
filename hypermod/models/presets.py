"""The paper's architectures, as configs of the method registry.

    build_model(paper("hyper", depth=4), Sizes(784, 784, 12))   # the reference code's

For MNIST (d_I = d_x = 784) at depth 4 these give f = 922,860 trainable parameters
generating 7,960 weights of g, e = 911,750 and q = 86,482, as in the reference code.
"""

from __future__ import annotations

from hypermod.models.methods import configure, get_method
from hypermod.models.settings import EmbeddingConfig, MethodConfig

# The reference code uses ReLU in g and q for MNIST and ELU for CIFAR-10.
DEFAULT_ACTIVATION = {"cifar10": "elu"}


def paper(method: str = "hyper", depth: int = 4, activation: str = "relu",
          embedding_dim: int | None = None) -> MethodConfig:
    """The reference code's sizes for `method`: encoders of width 100 with `depth` hidden
    blocks, g and q with one hidden layer of 10, g without biases, E = 10 d_x + 10 unless
    `embedding_dim` is given. Any other registered method gets the same encoder and
    primary sizes (and `embedding_dim` where it has a code e(I))."""
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    shared = {"encoder_hidden": 100, "encoder_depth": depth, "primary_hidden": (10,),
              "activation": activation, "primary_bias": False}
    if method == "embedding":
        return EmbeddingConfig(encoder_hidden=100, encoder_depth=depth, primary_hidden=(10,),
                               activation=activation, embedding_dim=embedding_dim)
    if embedding_dim is not None:
        if not hasattr(get_method(method).config(), "embedding_dim"):
            raise ValueError(f"embedding_dim applies to methods with a code e(I), not to "
                             f"{method}")
        shared["embedding_dim"] = embedding_dim
    return configure(method, **shared)


def reference_embedding_dim(d_x: int, primary_hidden: int = 10) -> int:
    """E = 10 * d_x + 10: the reference's embedding size for the depth experiment."""
    return primary_hidden * d_x + primary_hidden
