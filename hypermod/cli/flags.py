"""The flags of `run`/`compare` and of `sweep`/`reproduce`, and what they build.

The library is imported inside the functions: only the subcommand in use adds its flags
(see `args.DeferredParser`), and `hypermod --help` imports no torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hypermod.cli.args import (
    check_tensorboard,
    nonnegative_float,
    nonnegative_int,
    path,
    positive_float,
    positive_int,
    seed,
)


def add_rotation_flags(p: argparse.ArgumentParser, with_model: bool) -> None:
    from hypermod.data import DATASETS
    from hypermod.models import METHODS
    from hypermod.tasks import BINNINGS, INTERPOLATIONS
    from hypermod.training import OPTIMIZERS

    p.add_argument("task", choices=["rotation"], help="the task (today: rotation prediction)")
    p.add_argument("--dataset", choices=DATASETS, default="mnist",
                   help="data set; digits is bundled with scikit-learn (default: mnist)")
    if with_model:
        p.add_argument("--model", choices=METHODS, default="hyper", metavar="METHOD",
                       help="a registered conditioning method: " + "; ".join(
                           f"{name}: {m.summary}" for name, m in METHODS.items())
                       + " (default: hyper), at the paper's sizes for --depth")
    p.add_argument("--depth", type=nonnegative_int, default=4,
                   help="hidden-to-hidden blocks in the encoder f or e (default: 4)")
    p.add_argument("--activation", default=None,
                   help="activation of g and q (default: elu for cifar10, relu otherwise)")
    p.add_argument("--embedding-dim", type=positive_int, default=None,
                   help="E for the methods with a code e(I) (default: 10 * d_x + 10 for the "
                        "embedding method, its own for the others)")
    p.add_argument("--epochs", type=positive_int, default=10, help="epochs (default: 10)")
    p.add_argument("--lr", type=positive_float, default=0.01,
                   help="learning rate (default: 0.01)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="optimizer (default: plain sgd, as the reference)")
    p.add_argument("--momentum", type=nonnegative_float, default=0.0,
                   help="SGD momentum (default: 0)")
    p.add_argument("--weight-decay", type=nonnegative_float, default=0.0,
                   help="L2 penalty, decoupled for adamw (default: 0)")
    p.add_argument("--val-fraction", type=nonnegative_float, default=0.0,
                   help="share of the training images held out for validation, to choose "
                        "on (default: 0, the paper's runs choose nothing)")
    p.add_argument("--patience", type=positive_int, default=None,
                   help="early stopping on validation: epochs without a better validation "
                        "loss before a cut (or the stop); --epochs is then the cap "
                        "(needs --val-fraction)")
    p.add_argument("--cuts", type=nonnegative_int, default=0,
                   help="learning-rate cuts (x0.3) before early stopping stops (default: 0)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="(default: 64)")
    p.add_argument("--test-batch-size", type=positive_int, default=1000, help="(default: 1000)")
    p.add_argument("--seed", type=seed, default=1,
                   help="seeds initialization, data order and angles (default: 1)")
    p.add_argument("--binning", choices=BINNINGS, default="reference",
                   help="reference: nearest of 0..330 without wrap-around; circular wraps "
                        "(default: reference)")
    p.add_argument("--interpolation", choices=INTERPOLATIONS, default="nearest",
                   help="rotation sampling (default: nearest, as PIL in the reference)")
    p.add_argument("--test-seed", type=seed, default=0,
                   help="seed of the fixed test-set angles (default: 0)")
    p.add_argument("--limit-train", type=positive_int, default=None,
                   help="use only the first N training images (quick runs)")
    p.add_argument("--data-dir", type=path, default=None,
                   help="look for data sets here first (then $HYPERMOD_DATA, the user cache, "
                        "system locations)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--out", type=path, default=None,
                   help="write result.json, metrics.jsonl and checkpoint.pt into this "
                        "directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--tensorboard", type=path, default=None, metavar="DIR",
                   help="also write TensorBoard curves and hyperparameters under DIR")
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                   help="override any setting of the run by its dotted name, e.g. "
                        "--set train.lr=0.1 --set model.encoder_hidden=50 (repeatable; unknown "
                        "keys are refused)")


def rotation_run(args: argparse.Namespace, method: str):
    from hypermod.config import override
    from hypermod.models import paper
    from hypermod.tasks import RotationConfig
    from hypermod.training import TrainConfig
    from hypermod.training.run import RotationRun, default_activation

    run = RotationRun(
        dataset=args.dataset,
        model=paper(method, args.depth, args.activation or default_activation(args.dataset),
                    args.embedding_dim),
        train=TrainConfig(
            epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
            test_batch_size=args.test_batch_size, optimizer=args.optimizer,
            momentum=args.momentum, seed=args.seed, weight_decay=args.weight_decay,
            patience=args.patience, cuts=args.cuts,
        ),
        task=RotationConfig(
            binning=args.binning, interpolation=args.interpolation, test_seed=args.test_seed,
            val_fraction=args.val_fraction
        ),
        limit_train=args.limit_train,
        device=args.device,
    )
    return override(run, args.set or [])


def add_sweep_flags(p: argparse.ArgumentParser, default_out: Path | None) -> None:
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true",
                       help="small settings that finish in about a minute per experiment on "
                            "2 CPU cores (the default)")
    speed.add_argument("--full", action="store_true", help="the paper's settings")
    p.add_argument("--seeds", type=positive_int, default=None,
                   help="repetitions per configuration (default: the settings' own)")
    p.add_argument("--dataset", action="append", default=None, metavar="NAME",
                   help="run on this data set (repeatable; default: the settings' own)")
    p.add_argument("--out", type=path, default=default_out,
                   help=f"output directory (default: {default_out or 'runs/reproduce-MODE'})")
    p.add_argument("--data-dir", type=path, default=None, help="look for data sets here first")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--tensorboard", type=path, default=None, metavar="DIR",
                   help="also write TensorBoard curves and hyperparameters under DIR (needs "
                        "the tensorboard package; nothing is written without this flag)")
    fast = p.add_argument_group("speed", "seed ensembles and GPU settings (results change "
                                         "only by float rounding)")
    fast.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=True,
                      help="train the seeds of a configuration as one batched model where the "
                           "experiment supports it (default: on)")
    fast.add_argument("--max-ensemble", type=positive_int, default=None, metavar="S",
                      help="at most S seeds per ensemble (default: all pending seeds)")
    fast.add_argument("--ensemble-mode", choices=("bmm", "vmap"), default="bmm",
                      help="how members run: batched matmuls or torch.func.vmap (default: bmm)")
    fast.add_argument("--tf32", action="store_true", help="TensorFloat-32 matmuls on CUDA")
    fast.add_argument("--autocast", choices=("none", "bf16"), default="none",
                      help="bfloat16 autocast of the forward pass (default: none)")
    fast.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    fast.add_argument("--cuda-graphs", action="store_true",
                      help="capture each training step as a CUDA graph (CUDA only)")


def sweep_context(args: argparse.Namespace):
    """The SweepContext the sweep flags ask for (checked: device, speed flags, TensorBoard)."""
    import torch

    from hypermod.sweep import SweepContext
    from hypermod.training import Accel

    accel = Accel(tf32=args.tf32, autocast=args.autocast, compile=args.compile,
                  cuda_graphs=args.cuda_graphs)
    context = SweepContext(args.device, args.data_dir, progress=not args.no_progress,
                           ensemble=args.ensemble, max_ensemble=args.max_ensemble,
                           accel=accel, ensemble_mode=args.ensemble_mode,
                           tensorboard=args.tensorboard)
    if accel != Accel() and not args.ensemble:
        raise ValueError("--tf32, --autocast, --compile and --cuda-graphs apply to ensembles; "
                         "drop --no-ensemble or those flags")
    accel.check_device(torch.device(context.device))
    check_tensorboard(args.tensorboard)
    return context




def add_executor_flags(p: argparse.ArgumentParser) -> None:
    """Where a sweep's jobs run: in this process, or on a Ray cluster."""
    dist = p.add_argument_group("distributed", "run the sweep's jobs on a Ray cluster "
                                                "(pip install -e '.[ray]'; see docs/ray.md)")
    dist.add_argument("--executor", choices=("inprocess", "ray"), default="inprocess",
                      help="where jobs run (default: in this process)")
    dist.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                      help="a running Ray cluster's head, or auto (default: start a local "
                           "Ray for this sweep)")
    dist.add_argument("--cpus-per-task", type=positive_float, default=1.0,
                      help="CPUs Ray reserves per job; also its torch threads (default: 1)")
    dist.add_argument("--gpus-per-task", type=nonnegative_float, default=0.0,
                      help="GPUs per job; fractions let jobs share a card (default: 0)")
    dist.add_argument("--ray-retries", type=nonnegative_int, default=None,
                      help="reruns of a job whose worker died, before it counts as failed "
                           "(default: 2)")
    dist.add_argument("--shared-data-dir", action="store_true",
                      help="workers read data sets from --data-dir (a disk every node sees) "
                           "instead of receiving this machine's copies")


def add_data_actions(p: argparse.ArgumentParser) -> None:
    """`data fetch NAME` and `data list`."""
    from hypermod.data import DATASETS

    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = data_sub.add_parser("fetch", help="download a data set and verify its checksums")
    fetch.add_argument("name", choices=[d for d in DATASETS if d != "digits"])
    fetch.add_argument("--data-dir", type=path, default=None,
                       help="download under this directory (default: $HYPERMOD_DATA or the "
                            "user cache)")
    fetch.add_argument("--mirror", default=None,
                       help="base URL to download from (default: $HYPERMOD_MIRROR_<NAME> or "
                            "the canonical mirror)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = data_sub.add_parser("list", help="show where each data set is found")
    where.add_argument("--data-dir", type=path, default=None, help="look here first")


def add_bounds_flags(p: argparse.ArgumentParser) -> None:
    """The dimensions, smoothness, errors and constant of `hypermod bounds`."""
    p.add_argument("--m1", type=positive_int, default=1, help="dimension of x (default: 1)")
    p.add_argument("--m2", type=positive_int, default=1, help="dimension of I (default: 1)")
    p.add_argument("--r", type=positive_float, default=1.0,
                   help="smoothness of the Sobolev ball W_(r,m) (default: 1)")
    p.add_argument("--eps", type=positive_float, nargs="+", default=[0.1, 0.03, 0.01],
                   help="approximation errors in (0, 1] (default: 0.1 0.03 0.01)")
    p.add_argument("--constant", type=positive_float, default=1.0,
                   help="the unknown constant c of every bound (default: 1)")
    p.add_argument("--primary", type=positive_int, default=10,
                   help="weights of the structured target's g* (default: 10)")
    p.add_argument("--plot", type=path, default=None, help="also draw the curves to this PNG")
