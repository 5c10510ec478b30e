"""Training: one loop for single runs and seed ensembles, its settings, checkpoints, speed."""

from hypermod.training.accel import AUTOCASTS, Accel
from hypermod.training.checkpoint import load_checkpoint
from hypermod.training.config import OPTIMIZERS, TrainConfig, make_optimizer, resolve_device
from hypermod.training.loop import evaluate, fit, selected_row, train
from hypermod.training.status import diverged_row, run_status

__all__ = [
    "AUTOCASTS",
    "OPTIMIZERS",
    "Accel",
    "TrainConfig",
    "diverged_row",
    "evaluate",
    "fit",
    "load_checkpoint",
    "make_optimizer",
    "resolve_device",
    "run_status",
    "selected_row",
    "train",
]
