"""Conditioning methods behind one call, `model(x, I) -> outputs`, and their parts."""

from hypermod.models.activations import activation, activation_module
from hypermod.models.concat import ConcatNetwork
from hypermod.models.embedding import EmbeddingNetwork
from hypermod.models.encoder import count_trainable, mlp_encoder
from hypermod.models.hyper import HyperNetwork
from hypermod.models.presets import (
    DEFAULT_ACTIVATION,
    METHODS,
    ModelConfig,
    build_model,
    reference_embedding_dim,
)
from hypermod.models.primary import (
    MLPPrimary,
    MLPSpec,
    ModulePrimary,
    num_generated,
    split_params,
)
from hypermod.models.shallow import conv_teacher, shallow_mlp
from hypermod.models.stacked import MODES, Ensemble, stacked_call

__all__ = [
    "DEFAULT_ACTIVATION",
    "METHODS",
    "MODES",
    "ConcatNetwork",
    "EmbeddingNetwork",
    "Ensemble",
    "HyperNetwork",
    "MLPPrimary",
    "MLPSpec",
    "ModelConfig",
    "ModulePrimary",
    "activation",
    "activation_module",
    "build_model",
    "conv_teacher",
    "count_trainable",
    "mlp_encoder",
    "num_generated",
    "reference_embedding_dim",
    "shallow_mlp",
    "split_params",
    "stacked_call",
]
