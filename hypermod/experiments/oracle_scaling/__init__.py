"""oracle-scaling: the theorems' rates with oracle encoders (free tables on K instances)."""

from hypermod.experiments.oracle_scaling.experiment import EXPERIMENT, QUICK, OracleConfig

__all__ = ["EXPERIMENT", "QUICK", "OracleConfig"]
