"""The single-run API: a rotation-prediction run from a frozen config to its record.

    run_rotation(RotationRun(dataset="digits"), out_dir="runs/h")   # `hypermod run`
    train_rotation(run, seeds=[1, 2, 3])                             # one ensemble

Used by `hypermod run` and `compare`, and by the rotation experiments (through
`hypermod.experiments.rotation.unit_rows`). A run of several
seeds trains them as one ensemble; each seed's history equals that of a separate run
with its seed, up to float rounding.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from hypermod.data import ImageDataset, load_dataset
from hypermod.models import DEFAULT_ACTIVATION, Ensemble, MethodConfig, Sizes, build_model, paper
from hypermod.results import (
    SetAside,
    append_jsonl,
    code_version,
    make_record,
    write_atomic,
    write_json_atomic,
)
from hypermod.tasks import sample_instances
from hypermod.tasks.rotation import RotationConfig, RotationTask
from hypermod.training.accel import Accel
from hypermod.training.checkpoint import check_checkpoint, train_settings
from hypermod.training.config import TrainConfig, resolve_device
from hypermod.training.loop import train
from hypermod.training.status import run_status
from hypermod.training.tensorboard import TensorBoardLogger

CHECKPOINT = "checkpoint.pt"
# The files of a run's folder, its checkpoint first (see `SetAside`).
RUN_FILES = (CHECKPOINT, "metrics.jsonl", "result.json")


@dataclass(frozen=True)
class RotationRun:
    """Everything that defines a rotation-prediction run.

    Attributes:
        dataset: "digits", "mnist", "fashion-mnist" or "cifar10".
        model: architecture: any registered method's config (`hypermod.models.methods`;
            the default is the paper's hypernetwork, `paper("hyper")`).
        train: optimization (epochs, lr, seed, ...).
        task: rotation settings (bins, binning, interpolation, test angles).
        limit_train, limit_test: use only the first N training / test images.
        device: "auto", "cpu" or "cuda[:N]".
    """

    dataset: str = "mnist"
    model: MethodConfig = field(default_factory=paper)
    train: TrainConfig = field(default_factory=TrainConfig)
    task: RotationConfig = field(default_factory=RotationConfig)
    limit_train: int | None = None
    limit_test: int | None = None
    device: str = "auto"


def default_activation(dataset: str) -> str:
    """The activation of g and q that the reference uses for `dataset`."""
    return DEFAULT_ACTIVATION.get(dataset, "relu")


@dataclass
class Trained:
    """What `train_rotation` gives back: the data, task, counts and one history per seed."""

    data: ImageDataset
    task: RotationTask
    device: torch.device
    param_counts: dict[str, int]
    histories: list[list[dict[str, Any]]]


def train_rotation(run: RotationRun, seeds: Sequence[int] | None = None,
                   data: ImageDataset | None = None, data_dir: str | Path | None = None,
                   accel: Accel | None = None, mode: str = "bmm", progress: bool = True,
                   trains: Sequence[TrainConfig] | None = None, **options: Any) -> Trained:
    """Train `run` for each seed (default: `run.train.seed`), several as one ensemble.

    Member k is initialized as a single run with seeds[k] would be
    (`torch.manual_seed(seeds[k])`, then the constructor). `trains` gives each member its
    own training settings (learning rate, weight decay; `run.train` otherwise), so one
    seed may appear once per tuned value. `options` go to `hypermod.training.train`
    (checkpoint, resume, on_epoch, meta).
    """
    seeds = list(seeds) if seeds is not None else [run.train.seed]
    trains = list(trains) if trains is not None else [replace(run.train, seed=s)
                                                       for s in seeds]
    pairs = [(s, json.dumps(asdict(t), sort_keys=True)) for s, t in zip(seeds, trains)]
    if not seeds or len(trains) != len(seeds) or len(set(pairs)) != len(pairs):
        raise ValueError(f"an ensemble needs one train config per seed and no member twice, "
                         f"got seeds {seeds}")
    device = resolve_device(run.device)
    if data is None:
        data = load_dataset(run.dataset, data_dir)
    elif data.name != run.dataset:
        raise ValueError(f"run asks for data set {run.dataset!r} but got {data.name!r}")
    task = RotationTask(data, run.task, device, run.limit_train, run.limit_test)
    sizes = Sizes(task.input_dim, task.input_dim, task.num_outputs)
    instances = (sample_instances(task, device) if getattr(run.model, "init", "") == "hyperfan"
                 else None)
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(build_model(run.model, sizes, instances))
    model = (members[0] if len(seeds) == 1 else Ensemble(members, mode)).to(device)
    histories = train(model, task, trains, seeds, accel, progress=progress, **options)
    return Trained(data, task, device, model.param_counts(), histories)


def run_rotation(run: RotationRun, out_dir: str | Path | None = None,
                 data: ImageDataset | None = None, data_dir: str | Path | None = None,
                 progress: bool = True, resume: bool = False,
                 tensorboard: str | Path | None = None) -> dict[str, Any]:
    """Train and evaluate one model on rotation prediction; return the result record.

    With `out_dir`, each epoch's metrics are appended to `out_dir/metrics.jsonl` as they
    come, the training state is checkpointed to `out_dir/checkpoint.pt` after every
    epoch, and the whole record is written atomically to `out_dir/result.json` at the
    end. With `resume`, a run killed midway continues from its checkpoint, and a finished
    one is extended to `run.train.epochs` (on the CPU, bit for bit as if it had not
    stopped, or had been asked for that many epochs); a checkpoint that cannot continue
    this run raises ValueError before any file is touched. Without, the run starts
    afresh: the previous run's files wait in `out_dir/.replaced/` until the new run has
    saved its first epoch, and are put back if it fails (or is interrupted) before.

    The record's `status` is "finished", or "diverged" with the epoch and the last finite
    train loss when the loss became NaN or infinite (training then stops).

    With `tensorboard`, the curves and hyperparameters also go to TensorBoard, in
    `tensorboard/NAME` (NAME: the name of `out_dir`, else dataset_method_seed-N).
    """
    started = datetime.now(timezone.utc)
    wall = time.perf_counter()
    code_version()  # before training: HEAD may move while a long run goes on
    meta = asdict(run)
    for key in ("train", "device"):  # training checks the former; the latter may change
        meta.pop(key)
    log = checkpoint = resumed_after = aside = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        log, checkpoint = out_dir / "metrics.jsonl", out_dir / CHECKPOINT
        aside = SetAside(out_dir, RUN_FILES)
        aside.recover()  # a run set aside by a replacement killed before its first epoch
        if resume and checkpoint.exists():
            # Checked before any file is touched: a checkpoint that cannot continue this
            # run (other settings, more epochs than asked) leaves the run as it was.
            settings = train_settings(run.train, resolve_device(run.device), meta)
            done = check_checkpoint(checkpoint, run.train.epochs, settings)["histories"][0]
            resumed_after = done[-1]["epoch"]
            # A rerun must not leave an old result beside a run killed midway.
            (out_dir / "result.json").unlink(missing_ok=True)
            # The log may hold an epoch the checkpoint lacks (killed between the two):
            # rewrite it from the checkpoint, which the resumed run continues.
            lines = "".join(json.dumps(row) + "\n" for row in done)
            write_atomic(log, lambda fh: fh.write(lines.encode()))
        else:
            # A fresh start: the previous run's files wait aside until this run has saved
            # its first epoch, and come back if it fails before.
            out_dir.mkdir(parents=True, exist_ok=True)
            aside.move()

    try:
        board = None
        if tensorboard is not None:
            name = (out_dir.name if out_dir is not None
                    else f"{run.dataset}_{run.model.method}_seed-{run.train.seed}")
            board = TensorBoardLogger(tensorboard, name, hparams(run))

        def on_epoch(rows: list[dict[str, Any] | None]) -> None:
            if aside is not None:
                aside.discard()  # this run's first checkpoint is saved: it has started
            if log is not None:
                append_jsonl(log, rows[0])
            if board is not None:
                board(rows)

        with board or nullcontext():
            trained = train_rotation(run, data=data, data_dir=data_dir, progress=progress,
                                     on_epoch=on_epoch, checkpoint=checkpoint, resume=resume,
                                     meta=meta)
    except BaseException:
        if aside is not None:
            aside.restore()  # a no-op once this run has started
        raise
    history = trained.histories[0]
    result = make_record({
        "kind": "rotation",
        **run_status(history),
        "config": asdict(run),
        "dataset": {"name": trained.data.name, "source": trained.data.source,
                    "num_train": trained.task.num_train, "num_test": trained.task.num_test,
                    "image_shape": list(trained.data.image_shape)},
        "param_counts": trained.param_counts,
        "epochs": history,
        "final": history[-1],
    }, trained.device, started, time.perf_counter() - wall, resumed_after_epoch=resumed_after)
    if out_dir is not None:
        write_json_atomic(out_dir / "result.json", result)
    return result


def load_run(out_dir: str | Path, device: str | torch.device = "cpu"
             ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The trained model of a `hypermod run` folder, in eval mode, and its result record.

        model, record = load_run("runs/h4")
        task = RotationTask(load_dataset(record["config"]["dataset"]),
                            RotationConfig(**record["config"]["task"]))
        (x, I), y = next(task.test_batches(256))   # normalized images, (B, C, H, W)
        logits = model(x, I)                        # (B, num_bins)

    The weights are those of the epoch the run reports: its last, or with early stopping
    its best validation epoch (kept in the checkpoint beside the last weights). Reads
    result.json and checkpoint.pt (tensors only, no code runs) and raises ValueError
    naming the file when either is missing a part or they disagree on the epoch.
    """
    from hypermod.models import get_method
    from hypermod.records import check_run_record, read_json
    from hypermod.training.checkpoint import load_checkpoint

    out_dir = Path(out_dir)
    record = check_run_record(read_json(out_dir / "result.json"), out_dir / "result.json")
    if record["status"] != "finished":
        raise ValueError(f"{out_dir}: the run {record['status']}; no trained model to load")
    saved = dict(record["config"]["model"])
    method = get_method(saved.pop("method"))
    defaults = method.config()
    model_config = method.config(**{k: tuple(v) if isinstance(getattr(defaults, k, None), tuple)
                                     else v for k, v in saved.items()})
    channels, height, width = record["dataset"]["image_shape"]
    d = channels * height * width
    sizes = Sizes(d, d, RotationConfig(**record["config"]["task"]).num_bins)
    state = load_checkpoint(out_dir / CHECKPOINT, device)
    last = record["epochs"][-1]
    if state["epoch"] != last["epoch"]:
        raise ValueError(f"{out_dir / CHECKPOINT}: holds epoch {state['epoch']}, but "
                         f"result.json ends at epoch {last['epoch']}")
    weights = state["model"]
    best = state["optimizer"].get("best") if isinstance(state["optimizer"], dict) else None
    if last.get("best_epoch") and best:  # early stopping: the reported epoch's weights
        weights = best["0"]  # member 0 (BestWeights saves its keys as text)
    model = build_model(model_config, sizes).to(device)
    model.load_state_dict(weights)
    return model.eval(), record


def hparams(run: RotationRun) -> dict[str, Any]:
    """What TensorBoard's HPARAMS table shows of a run: its settings but the device."""
    settings = asdict(run)
    settings.pop("device")
    return settings

