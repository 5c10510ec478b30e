"""Tasks that build their own batches on the device, and synthetic regression targets."""

from hypermod.tasks.base import Task, sample_instances
from hypermod.tasks.classification import LOSSES, ClassificationTask
from hypermod.tasks.inr import (
    INRConfig,
    INRTask,
    encode_coordinates,
    evaluate_psnr,
    mean_psnr,
    per_sample_mse,
    psnr,
)
from hypermod.tasks.regression import RegressionTask
from hypermod.tasks.rotation import (
    BINNINGS,
    INTERPOLATIONS,
    RotationConfig,
    RotationTask,
    angle_bins,
    chance_error,
    rotate,
)
from hypermod.tasks.synthetic import (
    TARGETS,
    SmoothTarget,
    StructuredTarget,
    SyntheticSet,
    make_target,
    sample,
    splits,
)

__all__ = [
    "LOSSES",
    "Task",
    "sample_instances",
    "ClassificationTask",
    "INRConfig",
    "INRTask",
    "encode_coordinates",
    "evaluate_psnr",
    "mean_psnr",
    "per_sample_mse",
    "psnr",
    "BINNINGS",
    "INTERPOLATIONS",
    "RegressionTask",
    "RotationConfig",
    "RotationTask",
    "angle_bins",
    "chance_error",
    "rotate",
    "TARGETS",
    "SmoothTarget",
    "StructuredTarget",
    "SyntheticSet",
    "make_target",
    "sample",
    "splits",
]
