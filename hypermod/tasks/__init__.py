"""Tasks that build their own batches on the device."""

from hypermod.tasks.classification import LOSSES, ClassificationTask
from hypermod.tasks.rotation import (
    BINNINGS,
    INTERPOLATIONS,
    RotationConfig,
    RotationTask,
    angle_bins,
    chance_error,
    rotate,
)

__all__ = [
    "LOSSES",
    "ClassificationTask",
    "BINNINGS",
    "INTERPOLATIONS",
    "RotationConfig",
    "RotationTask",
    "angle_bins",
    "chance_error",
    "rotate",
]
