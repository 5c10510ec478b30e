"""Conditioning methods behind one call, `model(x, I) -> outputs`, and their parts."""

from hypermod.models.activations import activation, activation_module
from hypermod.models.concat import ConcatNetwork
from hypermod.models.embedding import EmbeddingNetwork
from hypermod.models.encoder import count_trainable, mlp_encoder
from hypermod.models.hyper import HyperNetwork
from hypermod.models.methods import (
    METHODS,
    Method,
    Sizes,
    build_model,
    configure,
    counts,
    get_method,
    primary_size,
    register,
)
from hypermod.models.presets import DEFAULT_ACTIVATION, paper, reference_embedding_dim
from hypermod.models.primary import (
    MLPPrimary,
    MLPSpec,
    ModulePrimary,
    num_generated,
    split_params,
)
from hypermod.models.settings import (
    ChunkedConfig,
    ConcatAllConfig,
    EmbeddingConfig,
    FiLMConfig,
    HyperConfig,
    LowRankConfig,
    MethodConfig,
    MIPConfig,
    MLPConfig,
    PartialConfig,
)
from hypermod.models.shallow import conv_teacher, shallow_mlp
from hypermod.models.stacked import MODES, Ensemble, stacked_call

__all__ = [
    "DEFAULT_ACTIVATION",
    "METHODS",
    "MODES",
    "ChunkedConfig",
    "ConcatAllConfig",
    "ConcatNetwork",
    "EmbeddingConfig",
    "EmbeddingNetwork",
    "Ensemble",
    "FiLMConfig",
    "HyperConfig",
    "HyperNetwork",
    "LowRankConfig",
    "MIPConfig",
    "MLPConfig",
    "MLPPrimary",
    "MLPSpec",
    "Method",
    "MethodConfig",
    "ModulePrimary",
    "PartialConfig",
    "Sizes",
    "activation",
    "activation_module",
    "build_model",
    "configure",
    "counts",
    "get_method",
    "paper",
    "primary_size",
    "register",
    "conv_teacher",
    "count_trainable",
    "mlp_encoder",
    "num_generated",
    "reference_embedding_dim",
    "shallow_mlp",
    "split_params",
    "stacked_call",
]
