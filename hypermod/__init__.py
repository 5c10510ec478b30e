"""hypermod: hypernetworks versus embedding methods, after Galanti and Wolf (NeurIPS 2020).

The main names are re-exported here; see the subpackages for the rest.
"""

__version__ = "0.1.0"

from hypermod.data import DATASETS, ImageDataset, load_dataset  # noqa: E402
from hypermod.models import (  # noqa: E402
    EmbeddingNetwork,
    HyperNetwork,
    MLPPrimary,
    MLPSpec,
    ModelConfig,
    ModulePrimary,
    build_model,
)
from hypermod.tasks import ClassificationTask, RotationConfig, RotationTask  # noqa: E402
from hypermod.train import TrainConfig, fit  # noqa: E402

__all__ = [
    "DATASETS",
    "ClassificationTask",
    "EmbeddingNetwork",
    "HyperNetwork",
    "ImageDataset",
    "MLPPrimary",
    "MLPSpec",
    "ModelConfig",
    "ModulePrimary",
    "RotationConfig",
    "RotationTask",
    "TrainConfig",
    "build_model",
    "fit",
    "load_dataset",
]
