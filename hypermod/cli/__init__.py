"""The `hypermod` command line: runs, comparisons, data, sweeps, reports.

    hypermod run rotation --dataset mnist --model hyper --depth 4 --epochs 10 --out runs/h4
    hypermod compare rotation --dataset digits --epochs 5
    hypermod data fetch mnist
    hypermod sweep rotation-depth --quick --seeds 3 --out runs/depth
    hypermod report runs/depth
    hypermod reproduce --quick
    hypermod bounds --m1 2 --m2 4 --r 1 --eps 0.1 0.01 --plot bounds.png
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hypermod.cli import commands, single
from hypermod.cli.args import DeferredParser, Subcommands, path, positive_int
from hypermod.cli.flags import (
    add_bounds_flags,
    add_data_actions,
    add_executor_flags,
    add_rotation_flags,
    add_sweep_flags,
)

EXIT_CODES = """exit status:
  0    done
  1    done, but a run diverged or a sweep's units failed (the output says which)
  2    refused or stopped by an error: bad input, missing data, a failed write, a unit
       that raised in process (the message names the problem)
  130  interrupted (Ctrl-C); the message says how to go on"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hypermod` command.

    Each subcommand's flags are added when that subcommand is used (`DeferredParser`),
    so that building the parser imports neither torch nor the experiments.
    """
    parser = argparse.ArgumentParser(
        prog="hypermod",
        description="Hypernetworks versus embedding methods (Galanti and Wolf, NeurIPS 2020): "
                    "train, compare, sweep and report.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.register("action", "parsers", Subcommands)
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads torch may use (default: torch's choice, one per "
                             "core); 1 avoids oversubscription when runs share a machine")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=DeferredParser)

    def run_flags(p: argparse.ArgumentParser) -> None:
        add_rotation_flags(p, with_model=True)
        p.add_argument("--resume", action="store_true",
                       help="continue the run in --out DIR from its checkpoint (written after "
                            "every epoch), or extend a finished run to more --epochs; the "
                            "same settings are needed")
        p.add_argument("--overwrite", action="store_true",
                       help="replace a finished or interrupted run already in --out DIR (it "
                            "is kept aside until the new run's first epoch is saved)")

    sub.add_parser("run", help="train one model and write its result file",
                   description="Train one model on a task and write DIR/result.json.",
                   epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
                   flags=run_flags).set_defaults(func=single.cmd_run)

    def compare_flags(p: argparse.ArgumentParser) -> None:
        from hypermod.models import METHODS

        add_rotation_flags(p, with_model=False)
        p.add_argument("--methods", default=None, metavar="A,B,...",
                       help="registered methods to compare, from: " + ", ".join(METHODS)
                            + " (default: hyper,embedding); each gets the paper's sizes at "
                            "--depth")
        p.add_argument("--budget", type=positive_int, default=None, metavar="N",
                       help="match every method's trainable parameters to N by its encoder "
                            "width (the plain MLP by its width), within 1%% or saying why not")
        p.add_argument("--init", choices=("default", "hyperfan"), default="default",
                       help="initialization of the methods that generate weights (default: "
                            "PyTorch's, as the reference)")
        p.add_argument("--tune", action="append", default=None, metavar="lr=V1,V2,...",
                       help="train every method at each learning rate at once (one ensemble) "
                            "and report the one of lowest validation error (needs "
                            "--val-fraction)")

    sub.add_parser("compare", help="train conditioning methods side by side",
                   description="Train any registered conditioning methods (default: the "
                               "hypernetwork and the embedding method) with the same data, "
                               "seed and settings, and print their test errors side by "
                               "side; --out writes each method's result as `run` does.",
                   flags=compare_flags).set_defaults(func=single.cmd_compare)

    sub.add_parser("data", help="find or download data sets",
                   description="Show where data sets are found, or download one.",
                   flags=add_data_actions).set_defaults(func=commands.cmd_data)

    def sweep_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("experiment", help="experiment name (see `hypermod experiments`)")
        add_sweep_flags(p, Path("runs"))
        add_executor_flags(p)
        p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                       help="override a setting by name, e.g. --set train.epochs=3 --set "
                            "depths=2,4 (repeatable; unknown keys are refused; the "
                            "training settings are the train group's: train.lr, ...)")
        p.add_argument("--tune", action="append", default=None, metavar="NAME=V1,V2,...",
                       help="train every grid point at each value of a training setting "
                            "(lr or weight_decay), seeds x values as one ensemble, and "
                            "choose per method on validation data, e.g. --tune "
                            "lr=3e-4,1e-3,3e-3 (the same as --set tune_lr=...)")

    sub.add_parser("sweep", help="run one experiment over its grid and seeds, resumably",
                   description="Run every (configuration, seed) of an experiment, one result "
                               "file each under OUT/EXPERIMENT/runs/. Rerunning skips the "
                               "finished runs, so an interrupted sweep loses at most the "
                               "runs in flight.",
                   epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
                   flags=sweep_flags).set_defaults(func=commands.cmd_sweep)

    sub.add_parser("report", help="rebuild figures and report.md from result files",
                   description="Read every finished result file under DIRECTORY and write "
                               "DIRECTORY/report.md with one figure per experiment under "
                               "DIRECTORY/figures/.",
                   flags=lambda p: p.add_argument(
                       "directory", type=path, help="a sweep or reproduce output directory"),
                   ).set_defaults(func=commands.cmd_report)

    sub.add_parser("reproduce", help="run every experiment of the paper, then the report",
                   description="Run every registered experiment on the data sets found "
                               "here (digits and uniform noise always; MNIST, "
                               "Fashion-MNIST, CIFAR-10 where found), then build the "
                               "report. Resumable like sweep.",
                   flags=lambda p: add_sweep_flags(p, None),
                   ).set_defaults(func=commands.cmd_reproduce)

    def export_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("directory", type=path,
                       help="a run, compare, sweep or reproduce folder")
        p.add_argument("--csv", type=path, required=True, metavar="FILE",
                       help="the table to write; not inside DIRECTORY, and not a file that "
                            "exists unless --force")
        p.add_argument("--force", action="store_true",
                       help="replace FILE if it exists (never a result file hypermod wrote)")

    sub.add_parser("export", help="every finished run under a folder as one CSV table",
                   description="Read every finished result file under DIRECTORY (a run, "
                               "compare or sweep folder) and write one tidy table, a row "
                               "per (run, seed, epoch), to --csv FILE. Needs pandas.",
                   flags=export_flags).set_defaults(func=commands.cmd_export)

    sub.add_parser("experiments", help="list the registered experiments and settings",
                   ).set_defaults(func=commands.cmd_experiments)

    sub.add_parser("bounds", help="the paper's parameter-count bounds as numbers and curves",
                   description="Print the complexity bounds (Theorems 1 and 2, the "
                               "hypernetwork's bound for g, structured-target totals) at "
                               "each eps, and optionally draw them (log-log N vs 1/eps).",
                   flags=add_bounds_flags).set_defaults(func=commands.cmd_bounds)

    return parser


# Flags people reach for on `sweep` that are experiment settings there.
SETTING_FLAGS = ("--epochs", "--lr", "--batch-size", "--depth", "--depths", "--widths",
                 "--limit-train", "--limit-test", "--width")
TRAIN_FLAGS = ("epochs", "lr", "batch_size")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hypermod` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        flag = extra[0].split("=")[0]
        if args.command in ("sweep", "reproduce") and flag in SETTING_FLAGS:
            name = flag[2:].replace("-", "_")
            if name in TRAIN_FLAGS:  # training settings are the `train` group's
                name = f"train.{name}"
            parser.error(f"{args.command} has no {flag}; experiment settings are set by name: "
                         f"--set {name}=VALUE (see `hypermod experiments`)")
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    out = getattr(args, "out", None)
    fresh = False
    try:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        fresh = out is not None and not out.exists()
        return args.func(args)
    except KeyboardInterrupt:
        hint = getattr(args, "interrupt_hint", None)
        hint = hint() if callable(hint) else hint
        print("hypermod: interrupted" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return 130
    except Exception as err:
        from hypermod.data import DataError

        if not isinstance(err, (DataError, ValueError, OSError, ImportError)):
            raise  # a bug: its traceback is the report
        print(f"hypermod: error: {err}{_data_dir_hint(args, err)}", file=sys.stderr)
        if fresh and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # made by this command for a run that never started
        return 2


def _data_dir_hint(args, err: Exception) -> str:
    """A hint when --data-dir names a data set's own folder instead of its parent."""
    from hypermod.data import DataError

    data_dir = getattr(args, "data_dir", None)
    if not isinstance(err, DataError) or data_dir is None:
        return ""
    markers = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "data_batch_1")
    if any((Path(data_dir) / m).exists() for m in markers):
        return (f"\nhint: --data-dir {data_dir} holds a data set's files itself; point it at "
                f"the folder above it (--data-dir {Path(data_dir).parent}), which holds "
                "mnist/, fashion-mnist/ or cifar10/")
    return ""
