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
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hypermod.data import DATASETS, DataError
from hypermod.models import METHODS, ModelConfig
from hypermod.tasks import BINNINGS, INTERPOLATIONS, RotationConfig
from hypermod.training import OPTIMIZERS, TrainConfig


def _integer(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
    return value


def _positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _nonnegative_int(text: str) -> int:
    return _integer(text, 0, "an integer >= 0")


def _seed(text: str) -> int:
    value = _integer(text, 0, "an integer >= 0")
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be below 2**63, got {text}")
    return value


def _number(text: str, positive: bool) -> float:
    what = "a finite number > 0" if positive else "a finite number >= 0"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
    return value


def _positive_float(text: str) -> float:
    return _number(text, positive=True)


def _nonnegative_float(text: str) -> float:
    return _number(text, positive=False)


def _check_out_dir(path: Path) -> None:
    """Fail now, not after the first hours of training, if `path` cannot take results.

    Creates the directory and a probe file in it, then removes the probe.
    """
    probe = path / f".hypermod-write-test.{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"cannot write to the output directory {path}: "
                         f"{err.strerror or err}") from None


def _add_rotation_flags(p: argparse.ArgumentParser, with_model: bool) -> None:
    p.add_argument("task", choices=["rotation"], help="the task (today: rotation prediction)")
    p.add_argument("--dataset", choices=DATASETS, default="mnist",
                   help="data set; digits is bundled with scikit-learn (default: mnist)")
    if with_model:
        p.add_argument("--model", choices=METHODS, default="hyper",
                       help="hyper: g(x; f(I)); embedding: q([e(I), x]) (default: hyper)")
    p.add_argument("--depth", type=_nonnegative_int, default=4,
                   help="hidden-to-hidden blocks in the encoder f or e (default: 4)")
    p.add_argument("--activation", default=None,
                   help="activation of g and q (default: elu for cifar10, relu otherwise)")
    p.add_argument("--embedding-dim", type=_positive_int, default=None,
                   help="E for the embedding method (default: 10 * d_x + 10)")
    p.add_argument("--epochs", type=_positive_int, default=10, help="epochs (default: 10)")
    p.add_argument("--lr", type=_positive_float, default=0.01,
                   help="learning rate (default: 0.01)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="optimizer (default: plain sgd, as the reference)")
    p.add_argument("--momentum", type=_nonnegative_float, default=0.0,
                   help="SGD momentum (default: 0)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="(default: 64)")
    p.add_argument("--test-batch-size", type=_positive_int, default=1000, help="(default: 1000)")
    p.add_argument("--seed", type=_seed, default=1,
                   help="seeds initialization, data order and angles (default: 1)")
    p.add_argument("--binning", choices=BINNINGS, default="reference",
                   help="reference: nearest of 0..330 without wrap-around; circular wraps "
                        "(default: reference)")
    p.add_argument("--interpolation", choices=INTERPOLATIONS, default="nearest",
                   help="rotation sampling (default: nearest, as PIL in the reference)")
    p.add_argument("--test-seed", type=_seed, default=0,
                   help="seed of the fixed test-set angles (default: 0)")
    p.add_argument("--limit-train", type=_positive_int, default=None,
                   help="use only the first N training images (quick runs)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="look for data sets here first (then $HYPERMOD_DATA, the user cache, "
                        "system locations)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--out", type=Path, default=None,
                   help="write result.json, metrics.jsonl and checkpoint.pt into this "
                        "directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                   help="override any setting of the run by its dotted name, e.g. "
                        "--set train.lr=0.1 --set model.hidden=50 (repeatable; unknown keys "
                        "are refused)")


def _rotation_run(args: argparse.Namespace, method: str):
    from hypermod.config import override
    from hypermod.experiments.rotation import RotationRun, default_activation

    run = RotationRun(
        dataset=args.dataset,
        model=ModelConfig(
            method=method,
            depth=args.depth,
            activation=args.activation or default_activation(args.dataset),
            embedding_dim=args.embedding_dim,
        ),
        train=TrainConfig(
            epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
            test_batch_size=args.test_batch_size, optimizer=args.optimizer,
            momentum=args.momentum, seed=args.seed,
        ),
        task=RotationConfig(
            binning=args.binning, interpolation=args.interpolation, test_seed=args.test_seed
        ),
        limit_train=args.limit_train,
        device=args.device,
    )
    return override(run, args.set or [])


def _outcome(result: dict) -> str:
    """"test error E, test loss L", or where the run diverged."""
    if result.get("status") == "diverged":
        where = result["diverged"]
        return (f"diverged at epoch {where['epoch']} (the loss became NaN or infinite; last "
                f"finite train loss {where['last_finite_loss']})")
    final = result["final"]
    return f"test error {final['test_error']:.4f}, test loss {final['test_loss']:.4f}"


def _cmd_run(args: argparse.Namespace) -> int:
    from hypermod.experiments.rotation import run_rotation

    if args.resume and args.out is None:
        raise ValueError("--resume needs --out DIR, the directory of the run to resume")
    run = _rotation_run(args, args.model)
    if args.out is not None:
        _check_out_dir(args.out)
    result = run_rotation(run, args.out, data_dir=args.data_dir, progress=not args.no_progress,
                          resume=args.resume)
    if result["resumed_after_epoch"] is not None:
        print(f"resumed from {args.out / 'checkpoint.pt'} after epoch "
              f"{result['resumed_after_epoch']}")
    print(f"{args.model} on {args.dataset}: {_outcome(result)}, parameters "
          f"{result['param_counts']}")
    if args.out is not None:
        print(f"result: {args.out / 'result.json'}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from hypermod.data import load_dataset
    from hypermod.experiments.rotation import run_rotation

    runs = {method: _rotation_run(args, method) for method in METHODS}
    if args.out is not None:
        _check_out_dir(args.out)
    data = load_dataset(args.dataset, args.data_dir)
    results = {}
    for method, run in runs.items():
        out = args.out / method if args.out is not None else None
        results[method] = run_rotation(run, out, data=data, progress=not args.no_progress)
    print(f"\nrotation prediction on {args.dataset}, depth {args.depth}, {args.epochs} epochs, "
          f"seed {args.seed}")
    print(f"{'method':<10} {'test error':>10} {'test loss':>10} {'trainable':>11}")
    for method, result in results.items():
        final, trainable = result["final"], result["param_counts"]["trainable"]
        if result.get("status") == "diverged":
            print(f"{method:<10} {'diverged':>10} {'-':>10} {trainable:>11,}  "
                  f"({_outcome(result)})")
            continue
        print(f"{method:<10} {final['test_error']:>10.4f} {final['test_loss']:>10.4f} "
              f"{trainable:>11,}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from hypermod.data import fetch_dataset, find_dataset

    if args.data_command == "fetch":
        path = fetch_dataset(args.name, args.data_dir, mirror=args.mirror,
                             progress=not args.no_progress)
        print(f"{args.name}: ready in {path}")
        return 0
    for name in DATASETS:
        if name == "digits":
            print(f"{name:<14} bundled with scikit-learn")
            continue
        try:
            print(f"{name:<14} {find_dataset(name, args.data_dir)}")
        except DataError:
            print(f"{name:<14} not found (hypermod data fetch {name})")
    return 0


def _experiment_settings(args: argparse.Namespace, experiment):
    from hypermod.config import override
    from hypermod.experiments import settings_for

    config = settings_for(experiment, full=args.full, seeds=args.seeds,
                          datasets=tuple(args.dataset) if args.dataset else None)
    return override(config, args.set or [])


def _cmd_sweep(args: argparse.Namespace) -> int:
    from hypermod.experiments import get_experiment, require_datasets
    from hypermod.sweep import run_sweep

    experiment = get_experiment(args.experiment)
    config = _experiment_settings(args, experiment)
    require_datasets(config.datasets, args.data_dir)
    context = _sweep_context(args)
    _check_out_dir(args.out)
    print(f"{experiment.name} ({'full' if args.full else 'quick'} settings): {config}")
    counts = run_sweep(experiment, config, args.out, context)
    print(f"{experiment.name}: {counts['ran']} runs done, {counts['skipped']} were already "
          f"finished; results in {args.out / experiment.name}")
    print(f"next: hypermod report {args.out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hypermod.experiments.report import build_report

    print(f"report: {build_report(args.directory)}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    import time

    from hypermod.experiments import (
        BUILT_IN,
        EXPERIMENTS,
        available_datasets,
        require_datasets,
        settings_for,
    )
    from hypermod.experiments.report import build_report
    from hypermod.sweep import run_sweep

    start = time.perf_counter()
    out = args.out or Path("runs") / f"reproduce-{'full' if args.full else 'quick'}"
    if args.dataset:
        unknown = sorted(set(args.dataset) - set(DATASETS) - set(BUILT_IN))
        if unknown:
            raise ValueError(f"unknown data sets {unknown}; choose from "
                             f"{sorted(set(DATASETS) | set(BUILT_IN))}")
        require_datasets(tuple(args.dataset), args.data_dir)
    plans = []
    for experiment in EXPERIMENTS.values():
        if args.dataset:
            datasets = tuple(d for d in args.dataset if d in experiment.datasets)
        else:
            datasets = available_datasets(experiment, args.data_dir)
        if not datasets:
            print(f"{experiment.name}: skipped, none of its data sets was asked for or found")
            continue
        plans.append((experiment, settings_for(experiment, full=args.full, datasets=datasets,
                                               seeds=args.seeds)))
    if not plans:
        raise ValueError(f"no experiment runs on {args.dataset}")
    _check_out_dir(out)
    context = _sweep_context(args)
    for experiment, config in plans:
        run_sweep(experiment, config, out, context)
    report = build_report(out)
    minutes = (time.perf_counter() - start) / 60
    print("\nwhat the paper claims, and what this run measured:")
    for line in report.read_text().split("## Claims", 1)[1].split("\n## ", 1)[0].splitlines():
        if line.startswith("- "):
            print(line.replace("**", "").replace("`", ""))
    print(f"\ndone in {minutes:.1f} min; report: {report}")
    return 0


def _cmd_experiments(args: argparse.Namespace) -> int:
    from hypermod.experiments import EXPERIMENTS

    for experiment in EXPERIMENTS.values():
        print(f"{experiment.name}: {experiment.description}")
        print(f"  quick: {experiment.quick}")
        print(f"  full:  {experiment.full}")
    return 0


def _cmd_bounds(args: argparse.Namespace) -> int:
    from hypermod import theory

    m1, m2, r, c = args.m1, args.m2, args.r, args.constant
    rows = theory.bounds_table(sorted(args.eps, reverse=True), m1, m2, r, c, args.primary)
    a = theory.predicted_exponents(m1, m2, r)
    print(f"parameter counts c * eps^-a for m1={m1}, m2={m2}, r={r:g}, c={c:g} (the paper "
          f"leaves c unknown: compare growth, not values)")
    print(f"a: any network on W_(r,m1+m2) {a['mlp']:g} (Theorem 1); embedding q "
          f"{a['embedding']:g} (Theorem 2, proven for r = 1); hypernetwork g {a['hyper']:g}; "
          f"N_q/N_g ~ eps^-{m2 / r:g}")
    header = ["eps", "any net", "q lower", "g upper", "N_q/N_g", "f+g", "e+q", "MLP"]
    keys = ["eps", "any_network", "q_lower", "g_upper", "ratio_q_g", "total_hyper",
            "total_embedding", "total_mlp"]
    print(f"f+g, e+q, MLP: total parameters on a structured target y = g*(x; f*(I)) with "
          f"|g*| = {args.primary}")
    print("".join(f"{h:>10}" for h in header))
    for row in rows:
        print("".join(f"{row[k]:>10.3g}" for k in keys))
    if args.plot is not None:
        from hypermod.reporting.bounds import bounds_figure

        path = bounds_figure(args.plot, m1, m2, r, min(min(args.eps), 1e-3),
                             max(max(args.eps), 0.5), c, args.primary)
        print(f"figure: {path}")
    return 0


def _add_sweep_flags(p: argparse.ArgumentParser, default_out: Path | None) -> None:
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true",
                       help="small settings that finish in about a minute per experiment on "
                            "2 CPU cores (the default)")
    speed.add_argument("--full", action="store_true", help="the paper's settings")
    p.add_argument("--seeds", type=_positive_int, default=None,
                   help="repetitions per configuration (default: the settings' own)")
    p.add_argument("--dataset", action="append", default=None, metavar="NAME",
                   help="run on this data set (repeatable; default: the settings' own)")
    p.add_argument("--out", type=Path, default=default_out,
                   help=f"output directory (default: {default_out or 'runs/reproduce-MODE'})")
    p.add_argument("--data-dir", type=Path, default=None, help="look for data sets here first")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    fast = p.add_argument_group("speed", "seed ensembles and GPU settings (results change "
                                         "only by float rounding)")
    fast.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=True,
                      help="train the seeds of a configuration as one batched model where the "
                           "experiment supports it (default: on)")
    fast.add_argument("--max-ensemble", type=_positive_int, default=None, metavar="S",
                      help="at most S seeds per ensemble (default: all pending seeds)")
    fast.add_argument("--ensemble-mode", choices=("bmm", "vmap"), default="bmm",
                      help="how members run: batched matmuls or torch.func.vmap (default: bmm)")
    fast.add_argument("--tf32", action="store_true", help="TensorFloat-32 matmuls on CUDA")
    fast.add_argument("--autocast", choices=("none", "bf16"), default="none",
                      help="bfloat16 autocast of the forward pass (default: none)")
    fast.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    fast.add_argument("--cuda-graphs", action="store_true",
                      help="capture each training step as a CUDA graph (CUDA only)")


def _sweep_context(args: argparse.Namespace):
    """The SweepContext the sweep flags ask for."""
    import torch

    from hypermod.sweep import SweepContext
    from hypermod.training import Accel

    accel = Accel(tf32=args.tf32, autocast=args.autocast, compile=args.compile,
                  cuda_graphs=args.cuda_graphs)
    context = SweepContext(args.device, args.data_dir, progress=not args.no_progress,
                           ensemble=args.ensemble, max_ensemble=args.max_ensemble,
                           accel=accel, ensemble_mode=args.ensemble_mode)
    if accel != Accel() and not args.ensemble:
        raise ValueError("--tf32, --autocast, --compile and --cuda-graphs apply to ensembles; "
                         "drop --no-ensemble or those flags")
    accel.check_device(torch.device(context.device))
    return context


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hypermod` command."""
    parser = argparse.ArgumentParser(
        prog="hypermod",
        description="Hypernetworks versus embedding methods (Galanti and Wolf, NeurIPS 2020): "
                    "train, compare, sweep and report.",
    )
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="CPU threads torch may use (default: torch's choice, one per "
                             "core); 1 avoids oversubscription when runs share a machine")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="train one model and write its result file",
                       description="Train one model on a task and write DIR/result.json.")
    _add_rotation_flags(p, with_model=True)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out DIR from its checkpoint (written after "
                        "every epoch); same settings needed, --epochs may grow")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("compare", help="train both methods with the same settings",
                       description="Train the hypernetwork and the embedding method with the "
                                   "same settings and print their test errors side by side.")
    _add_rotation_flags(p, with_model=False)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("data", help="find or download data sets",
                       description="Show where data sets are found, or download one.")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = data_sub.add_parser("fetch", help="download a data set and verify its checksums")
    fetch.add_argument("name", choices=[d for d in DATASETS if d != "digits"])
    fetch.add_argument("--data-dir", type=Path, default=None,
                       help="download under this directory (default: $HYPERMOD_DATA or the "
                            "user cache)")
    fetch.add_argument("--mirror", default=None,
                       help="base URL to download from (default: $HYPERMOD_MIRROR_<NAME> or "
                            "the canonical mirror)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = data_sub.add_parser("list", help="show where each data set is found")
    where.add_argument("--data-dir", type=Path, default=None, help="look here first")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("sweep", help="run one experiment over its grid and seeds, resumably",
                       description="Run every (configuration, seed) of an experiment, one result "
                                   "file each under OUT/EXPERIMENT/runs/. Rerunning skips the "
                                   "finished runs, so an interrupted sweep loses at most the "
                                   "runs in flight.")
    p.add_argument("experiment", help="experiment name (see `hypermod experiments`)")
    _add_sweep_flags(p, Path("runs"))
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                   help="override a setting by name, e.g. --set epochs=3 --set depths=2,4 "
                        "(repeatable; unknown keys are refused)")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("report", help="rebuild figures and report.md from result files",
                       description="Read every finished result file under DIRECTORY and write "
                                   "DIRECTORY/report.md with one figure per experiment under "
                                   "DIRECTORY/figures/.")
    p.add_argument("directory", type=Path, help="a sweep or reproduce output directory")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("reproduce", help="run every experiment of the paper, then the report",
                       description="Run every registered experiment on the data sets found "
                                   "here (digits and uniform noise always; MNIST, "
                                   "Fashion-MNIST, CIFAR-10 where found), then build the "
                                   "report. Resumable like sweep.")
    _add_sweep_flags(p, None)
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("experiments", help="list the registered experiments and settings")
    p.set_defaults(func=_cmd_experiments)

    p = sub.add_parser("bounds", help="the paper's parameter-count bounds as numbers and curves",
                       description="Print the complexity bounds (Theorems 1 and 2, the "
                                   "hypernetwork's bound for g, structured-target totals) at "
                                   "each eps, and optionally draw them (log-log N vs 1/eps).")
    p.add_argument("--m1", type=_positive_int, default=1, help="dimension of x (default: 1)")
    p.add_argument("--m2", type=_positive_int, default=1, help="dimension of I (default: 1)")
    p.add_argument("--r", type=_positive_float, default=1.0,
                   help="smoothness of the Sobolev ball W_(r,m) (default: 1)")
    p.add_argument("--eps", type=_positive_float, nargs="+", default=[0.1, 0.03, 0.01],
                   help="approximation errors in (0, 1] (default: 0.1 0.03 0.01)")
    p.add_argument("--constant", type=_positive_float, default=1.0,
                   help="the unknown constant c of every bound (default: 1)")
    p.add_argument("--primary", type=_positive_int, default=10,
                   help="weights of the structured target's g* (default: 10)")
    p.add_argument("--plot", type=Path, default=None, help="also draw the curves to this PNG")
    p.set_defaults(func=_cmd_bounds)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hypermod` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except (DataError, ValueError, OSError) as err:
        print(f"hypermod: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hypermod: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
