"""modularity-scaling: measured parameter-count exponents against the paper's rates."""

from hypermod.experiments.modularity_scaling.experiment import EXPERIMENT, QUICK, ScalingConfig

__all__ = ["EXPERIMENT", "QUICK", "ScalingConfig"]
