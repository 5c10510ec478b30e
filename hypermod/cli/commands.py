"""What the sweep, report, data and other subcommands do: call the library, print the
outcome (`run` and `compare` are in `single.py`).

The library is imported inside each command, so that `hypermod --help` and the light
commands do not pay for torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hypermod.cli.args import check_out_dir
from hypermod.cli.flags import sweep_context


def cmd_data(args: argparse.Namespace) -> int:
    from hypermod.data import DATASETS, DataError, fetch_dataset, find_dataset

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


def experiment_settings(args: argparse.Namespace, experiment):
    from hypermod.config import override
    from hypermod.experiments import settings_for

    config = settings_for(experiment, full=args.full, seeds=args.seeds,
                          datasets=tuple(args.dataset) if args.dataset else None)
    return override(config, [*(args.set or []),
                             *tune_settings(getattr(args, "tune", None) or [], experiment)])


def tune_settings(tunes: list[str], experiment) -> list[str]:
    """`--tune lr=a,b` as the setting it stands for (`tune_lr=a,b`), after checking the
    name is tunable here and the values are numbers, positive and distinct."""
    from hypermod.sweep import check_tuned

    out = []
    for text in tunes:
        name, sep, values = text.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values.strip():
            raise ValueError(f"--tune {text!r}: expected NAME=V1,V2,... with at least one "
                             "value")
        if name not in experiment.tunable:
            raise ValueError(f"--tune {name}: {experiment.name} tunes "
                             f"{', '.join(experiment.tunable) or 'nothing'}, not {name!r}")
        parts = [v.strip() for v in values.split(",")]
        try:
            numbers = [float(v) for v in parts]
        except ValueError:
            raise ValueError(f"--tune {name}: values must be numbers, got {values!r}") \
                from None
        check_tuned(name, numbers)
        out.append(f"tune_{name}={values}")
    return out


def cmd_sweep(args: argparse.Namespace) -> int:
    from hypermod.experiments import get_experiment, require_datasets
    from hypermod.sweep import run_sweep

    # Every input is checked before anything is written: settings (and the grid they
    # make), data sets, device and speed flags, TensorBoard, executor flags, the output.
    experiment = get_experiment(args.experiment)
    config = experiment_settings(args, experiment)
    total = len(experiment.units(config))
    require_datasets(config.datasets, args.data_dir)
    context = sweep_context(args)
    chosen = executor(args)
    check_out_dir(args.out)
    print(f"{experiment.name} ({'full' if args.full else 'quick'} settings): {config}")
    args.interrupt_hint = lambda: (
        f"{finished_units(experiment, config, args.out)} of {total} runs are finished in "
        f"{args.out / experiment.name}; run the same command again to do the rest")
    counts = run_sweep(experiment, config, args.out, context, executor=chosen)
    where = args.out / experiment.name
    if counts.get("failed"):
        print(f"{experiment.name}: {counts['ran']} runs done, {counts['skipped']} were already "
              f"finished, {counts['failed']} failed (each failure is named above); results in "
              f"{where}; run the same command again to retry the failed runs")
        return 1
    print(f"{experiment.name}: {counts['ran']} runs done, {counts['skipped']} were already "
          f"finished; results in {where}")
    print(f"next: hypermod report {args.out}")
    return 0


def executor(args: argparse.Namespace):
    """The executor `--executor` names (None: the runner's in-process default)."""
    ray_flags = (args.ray_address is not None or args.cpus_per_task != 1.0
                 or args.gpus_per_task != 0.0 or args.shared_data_dir
                 or args.ray_retries is not None)
    if args.executor != "ray":
        if ray_flags:
            raise ValueError("--ray-address, --cpus-per-task, --gpus-per-task, --ray-retries "
                             "and --shared-data-dir apply to --executor ray")
        return None
    from hypermod.sweep.ray import RayExecutor

    retries = 2 if args.ray_retries is None else args.ray_retries
    return RayExecutor(args.ray_address, args.cpus_per_task, args.gpus_per_task,
                       retries, data_dir_shared=args.shared_data_dir)


def finished_units(experiment, config, out: Path) -> int:
    """How many units of the sweep in `out` are finished under `config`."""
    from hypermod.sweep import SweepStore

    store = SweepStore(out / experiment.name, config, experiment.grid_fields)
    return sum(store.is_current(u.key) for u in experiment.units(config))


def cmd_report(args: argparse.Namespace) -> int:
    from hypermod.experiments.report import build_report

    print(f"report: {build_report(args.directory)}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    import time

    from hypermod.experiments.report import build_report
    from hypermod.experiments.reproduce import describe, plan, run_plan

    start = time.perf_counter()
    out = args.out or Path("runs") / f"reproduce-{'full' if args.full else 'quick'}"
    planned = plan(args.full, tuple(args.dataset) if args.dataset else None, args.seeds,
                   args.data_dir)
    for line in describe(planned):
        print(line)
    context = sweep_context(args)
    check_out_dir(out)
    run_plan(planned, out, context)
    report = build_report(out)
    minutes = (time.perf_counter() - start) / 60
    print("\nwhat the paper claims, and what this run measured:")
    for title, claim in report.claims:
        print(f"- {title}: {claim}")
    print(f"\ndone in {minutes:.1f} min; report: {report.path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from hypermod.experiments import EXPERIMENTS
    from hypermod.frame import check_table_target, load_frame, write_csv
    from hypermod.sweep.spec import moved_settings

    check_table_target(args.csv, args.directory, args.force)  # before reading anything
    frame = load_frame(args.directory, {n: e.row_fields for n, e in EXPERIMENTS.items()},
                       {n: moved_settings(e.quick) for n, e in EXPERIMENTS.items()})
    for message in frame.attrs.get("skipped", []):
        print(f"skipped {message}")
    if frame.empty:
        raise ValueError(f"{args.directory}: no finished result files to export")
    rows = write_csv(frame, args.csv)
    print(f"{rows} rows ({frame.shape[1]} columns) -> {args.csv}")
    return 0


def cmd_experiments(args: argparse.Namespace) -> int:
    from hypermod.experiments import EXPERIMENTS

    for experiment in EXPERIMENTS.values():
        print(f"{experiment.name}: {experiment.description}")
        print(f"  quick: {experiment.quick}")
        print(f"  full:  {experiment.full}")
    return 0


def cmd_bounds(args: argparse.Namespace) -> int:
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


