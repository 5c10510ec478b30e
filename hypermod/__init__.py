"""hypermod: hypernetworks versus embedding methods, after Galanti and Wolf (NeurIPS 2020).

The main names are re-exported here; docs/architecture.md maps the subpackages.
"""

from hypermod.results import package_version

__version__ = package_version()

from hypermod.data import DATASETS, ImageDataset, load_dataset  # noqa: E402
from hypermod.models import (  # noqa: E402
    EmbeddingNetwork,
    HyperNetwork,
    MLPPrimary,
    MLPSpec,
    ModulePrimary,
    build_model,
    paper,
)
from hypermod.tasks import ClassificationTask, RotationConfig, RotationTask  # noqa: E402
from hypermod.training import TrainConfig, fit, train  # noqa: E402

__all__ = [
    "DATASETS",
    "ClassificationTask",
    "EmbeddingNetwork",
    "HyperNetwork",
    "ImageDataset",
    "MLPPrimary",
    "MLPSpec",
    "ModulePrimary",
    "RotationConfig",
    "RotationTask",
    "TrainConfig",
    "build_model",
    "paper",
    "fit",
    "train",
    "load_dataset",
]
