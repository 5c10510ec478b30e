"""TensorBoard curves and hyperparameters of a run, written by an `on_epoch` hook.

    with TensorBoardLogger("tb", "digits-hyper", {"lr": 0.01}, ["seed-1", "seed-2"]) as board:
        train(ensemble, task, config, seeds=[1, 2], on_epoch=board)
    # closing adds the HPARAMS table's row: hyperparameters and final metrics

then `tensorboard --logdir tb` (docs/analyse.md). Needs the `tensorboard` package (pip install
'hypermod[tensorboard]'); it is imported when a logger is made, so nothing here costs
anything, or writes anything, unless asked.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Row field -> scalar tag; the tags group losses and errors into two TensorBoard sections.
SCALARS = {"train_loss": "loss/train", "test_loss": "loss/test", "test_error": "error/test"}
# The HPARAMS table's metrics: own tags, since a metric tag that an epoch scalar also uses
# would show that scalar's last value instead (see SummaryWriter.add_hparams).
FINAL = {key: f"final/{key}" for key in SCALARS}

Row = dict[str, Any]


def summary_writer_class() -> type:
    """torch's SummaryWriter, or ImportError saying how to install TensorBoard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:  # torch raises it when the tensorboard package is missing
        raise ImportError("TensorBoard logging needs the tensorboard package; pip install "
                          "'hypermod[tensorboard]' (or pip install tensorboard)") from err
    return SummaryWriter


def flat_hparams(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`values` as TensorBoard hyperparameters: nested dicts flattened with dots, numbers,
    strings and bools kept, anything else (None, lists) written as JSON text."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_hparams(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = json.dumps(value, default=str)
    return out


class TensorBoardLogger:
    """Per-epoch train loss, test loss and test error of each member, then the
    hyperparameters with the final metrics, in TensorBoard event files.

    Args:
        log_dir: the folder TensorBoard is pointed at.
        run_name: this run's folder under `log_dir` (may contain "/").
        hparams: the run's hyperparameters (nested dicts are flattened with dots), one
            dict for every member or a sequence of one dict per member.
        members: with a seed ensemble, one folder name per member (e.g. "seed-3"), each
            written under `log_dir/run_name`; None: one model, written in `log_dir/run_name`.

    Called with the rows `hypermod.training.train` passes to `on_epoch` (one per member,
    None for a member that already diverged), or with `fit`'s single row. A diverged
    epoch's missing losses are left out of the curves.
    """

    def __init__(self, log_dir: str | os.PathLike, run_name: str, hparams: Any,
                 members: Sequence[str] | None = None):
        writer = summary_writer_class()
        root = Path(log_dir) / run_name
        names = [None] if members is None else [str(m) for m in members]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"members must be distinct folder names, got {members}")
        per_member = [hparams] * len(names) if isinstance(hparams, Mapping) else list(hparams)
        if len(per_member) != len(names):
            raise ValueError(f"{len(per_member)} hparams dicts for {len(names)} members")
        self.dirs = [root if name is None else root / name for name in names]
        self.hparams = [flat_hparams(h) for h in per_member]
        self._writers = [writer(log_dir=str(d)) for d in self.dirs]
        self._last: list[Row | None] = [None] * len(names)

    def __call__(self, rows: Sequence[Row | None] | Row) -> None:
        """Write one epoch: each member's row (a single dict for one model)."""
        if self._writers is None:
            raise ValueError("this TensorBoardLogger is closed")
        if isinstance(rows, Mapping):
            rows = [rows]
        if len(rows) != len(self._writers):
            raise ValueError(f"{len(rows)} rows for a logger of {len(self._writers)} members")
        for k, (writer, row) in enumerate(zip(self._writers, rows)):
            if row is None:
                continue
            self._last[k] = row
            for key, tag in SCALARS.items():
                if row.get(key) is not None:
                    writer.add_scalar(tag, row[key], row["epoch"])
            writer.flush()  # epochs are slow: show each one as soon as it ends

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        # A run that raised has no final metrics worth a row in the HPARAMS table.
        self.close(hparams=kind is None)

    def close(self, final_metrics: Row | Sequence[Row | None] | None = None,
              hparams: bool = True) -> None:
        """Write the hyperparameters with each member's final metrics (default: its last
        row) for TensorBoard's HPARAMS table, then close the files; with `hparams` False
        (a run that failed) only close them. A second close does nothing."""
        if self._writers is None:
            return
        if final_metrics is None:
            final_metrics = self._last
        elif isinstance(final_metrics, Mapping):
            final_metrics = [final_metrics]
        if len(final_metrics) != len(self._writers):
            raise ValueError(f"{len(final_metrics)} final metrics for "
                             f"{len(self._writers)} members")
        for writer, params, final in zip(self._writers, self.hparams, final_metrics):
            if hparams and final is not None:
                metrics = {tag: _number(final.get(key)) for key, tag in FINAL.items()}
                # run_name "." keeps the hparams beside the curves, in the member's own
                # folder, so the table links to them (the default is a new timestamped one).
                writer.add_hparams(params, metrics, run_name=".")
            writer.close()
        self._writers = None


def _number(value: Any) -> float:
    """A metric for the table; a diverged run's missing value is NaN."""
    return math.nan if value is None else float(value)
