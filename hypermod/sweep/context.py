"""What a unit's run may ask of its sweep: settings that travel, data loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypermod.data import load_dataset
from hypermod.training import Accel, resolve_device


@dataclass(frozen=True)
class SweepSettings:
    """How units run: plain data, so that a worker process (Ray) can rebuild the context.

    Attributes:
        device: "auto", "cpu" or "cuda[:N]"; `SweepContext` resolves "auto" once.
        data_dir: where to look for data sets first.
        progress: show progress bars (only on a terminal unless forced, see
            `hypermod.training.progress`).
        ensemble: train the seeds of a grid point as one ensemble, where the experiment
            can (`Experiment.run_ensemble`).
        max_ensemble: at most this many seeds per ensemble (None: all pending seeds).
        accel: speed settings for ensembles.
        ensemble_mode: "bmm" or "vmap" (see `hypermod.models.stacked`).
        tensorboard: a folder to write TensorBoard curves and hyperparameters to, one
            subfolder per unit (`TENSORBOARD/EXPERIMENT/UNIT_KEY`), for experiments that
            support it (the rotation ones and assumption2); None: no logging.
    """

    device: str = "auto"
    data_dir: str | None = None
    progress: bool = True
    ensemble: bool = True
    max_ensemble: int | None = None
    accel: Accel = field(default_factory=Accel)
    ensemble_mode: str = "bmm"
    tensorboard: str | None = None

    def __post_init__(self) -> None:
        if self.max_ensemble is not None and self.max_ensemble < 1:
            raise ValueError(f"max_ensemble must be None or positive, got {self.max_ensemble}")


class SweepContext:
    """A sweep's settings in one process, with the data sets it has loaded (once each).

    Built from keyword arguments (those of `SweepSettings`) or from `settings=`. The
    device is resolved here once ("auto" becomes "cpu" or "cuda") and recorded as such.
    """

    def __init__(self, device: str = "auto", data_dir: str | Path | None = None,
                 progress: bool = True, ensemble: bool = True, max_ensemble: int | None = None,
                 accel: Accel | None = None, ensemble_mode: str = "bmm",
                 settings: SweepSettings | None = None,
                 tensorboard: str | Path | None = None):
        if settings is None:
            settings = SweepSettings(device, None if data_dir is None else str(data_dir),
                                     progress, ensemble, max_ensemble, accel or Accel(),
                                     ensemble_mode,
                                     None if tensorboard is None else str(tensorboard))
        self.settings = settings
        self.device = str(resolve_device(settings.device))
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        # The settings' fields read as the context's own (ctx.progress, ctx.accel...).
        if name != "settings" and "settings" in self.__dict__:
            return getattr(self.__dict__["settings"], name)
        raise AttributeError(name)

    def dataset(self, name: str):
        """The data set called `name`, loaded on first use and kept for later units."""
        if name not in self._cache:
            self._cache[name] = load_dataset(name, self.settings.data_dir)
        return self._cache[name]

    def preload(self, name: str, data: Any) -> None:
        """Use `data`, already in memory (sent by a driver, say), as the data set `name`."""
        self._cache[name] = data
