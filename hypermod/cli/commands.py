"""What each subcommand does: call the library, print the outcome.

The library is imported inside each command, so that `hypermod --help` and the light
commands do not pay for torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hypermod.cli.args import check_out_dir, check_tensorboard
from hypermod.cli.flags import rotation_run, sweep_context


def outcome(result: dict) -> str:
    """"test error E, test loss L", or where the run diverged."""
    if result.get("status") == "diverged":
        where = result["diverged"]
        last = where["last_finite_loss"]
        return (f"diverged at epoch {where['epoch']} (the loss became NaN or infinite; "
                + ("no epoch before it ended with a finite loss)" if last is None
                   else f"last finite train loss {last:.4f})"))
    final = result["final"]
    return f"test error {final['test_error']:.4f}, test loss {final['test_loss']:.4f}"


def existing_run(out: Path) -> str | None:
    """What `out` already holds that a new run would replace, or None."""
    from hypermod.training.run import CHECKPOINT

    if (out / "result.json").exists():
        return "a finished run (result.json)"
    if (out / CHECKPOINT).exists():
        return "an interrupted run (checkpoint.pt)"
    return None


def check_resumable(out: Path, epochs: int) -> str | None:
    """Why the run in `out` cannot be resumed or extended to `epochs`, or None.

    A finished run is extended from its last checkpoint; one that diverged, or whose
    checkpoint is gone, cannot be. (Settings are checked against the checkpoint when
    the run starts, before any file is touched.)
    """
    from hypermod.results import read_json
    from hypermod.training.run import CHECKPOINT

    if not (out / "result.json").exists():
        return None
    result = read_json(out / "result.json")
    done = len(result.get("epochs") or []) if isinstance(result, dict) else 0
    if isinstance(result, dict) and result.get("status") == "diverged":
        return (f"--out {out} holds a run that diverged at epoch "
                f"{result['diverged']['epoch']}; it cannot be extended (--overwrite to run "
                "it again)")
    if not (out / CHECKPOINT).exists():
        return (f"--out {out} holds a finished run but its checkpoint ({CHECKPOINT}) is "
                f"gone, so it cannot be extended to {epochs} epochs; run it again with "
                "--overwrite, or choose another --out")
    if done == epochs:
        return (f"--out {out} holds a finished run of {done} epochs; nothing to resume "
                "(ask for more --epochs to extend it)")
    return None


def cmd_run(args: argparse.Namespace) -> int:
    from hypermod.data import load_dataset
    from hypermod.results import SetAside
    from hypermod.training import resolve_device
    from hypermod.training.run import CHECKPOINT, RUN_FILES, run_rotation

    # Every input is checked before anything is written, moved or deleted.
    if args.resume and args.out is None:
        raise ValueError("--resume needs --out DIR, the directory of the run to resume")
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out DIR and --overwrite replaces "
                         "it; give one of them")
    run = rotation_run(args, args.model)
    resolve_device(run.device)
    check_tensorboard(args.tensorboard)
    if args.out is not None:
        SetAside(args.out, RUN_FILES).recover()  # after a replacement killed early
        held = existing_run(args.out)
        if held and not (args.resume or args.overwrite):
            go_on = ("extend it to more --epochs with --resume" if "finished" in held
                     else "continue it with the same command and --resume")
            raise ValueError(f"--out {args.out} already holds {held}; {go_on}, replace it "
                             "with --overwrite, or choose another --out")
        if args.resume:
            refusal = check_resumable(args.out, run.train.epochs)
            if refusal:
                raise ValueError(refusal)
        check_out_dir(args.out)
    data = load_dataset(args.dataset, args.data_dir)
    if args.resume and not (args.out / CHECKPOINT).exists():
        print(f"no checkpoint in {args.out} to resume from; starting afresh")
    if args.out is not None:
        args.interrupt_hint = (f"the run's checkpoint is in {args.out}; continue it with the "
                               "same command and --resume")
    result = run_rotation(run, args.out, data=data, progress=not args.no_progress,
                          resume=args.resume, tensorboard=args.tensorboard)
    if result["resumed_after_epoch"] is not None:
        print(f"resumed from {args.out / CHECKPOINT} after epoch "
              f"{result['resumed_after_epoch']}")
    print(f"{args.model} on {args.dataset}: {outcome(result)}, parameters "
          f"{result['param_counts']}")
    if args.out is not None:
        print(f"result: {args.out / 'result.json'}")
    return 1 if result["status"] == "diverged" else 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Any registered methods on one task with one set of settings (one code path)."""
    from hypermod.data import load_dataset
    from hypermod.training.compare import compare, parse_methods
    from hypermod.training.run import CHECKPOINT

    methods = parse_methods("hyper,embedding" if args.methods is None else args.methods)
    coded = [m for m in methods if m in ("embedding", "concat-all", "film", "chunked-hyper")]
    if args.embedding_dim is not None and not coded:
        raise ValueError(f"--embedding-dim applies to methods with a code e(I), none of "
                         f"{', '.join(methods)}")
    run = rotation_run(args, "embedding")  # the template: every method's shared settings
    tune = _compare_tune(args.tune)
    check_tensorboard(args.tensorboard)
    if args.tensorboard is not None and tune:
        raise ValueError("--tensorboard draws single runs; with --tune the members' "
                         "histories go to DIR/METHOD/tuning.json (--out)")
    if args.out is not None:
        held = [str(args.out / m) for m in methods
                if any((args.out / m / f).exists() for f in ("result.json", CHECKPOINT,
                                                            "tuning.json"))]
        if held:
            raise ValueError(f"--out {args.out} already holds runs ({', '.join(held)}); "
                             "choose another --out")
        check_out_dir(args.out)
    data = load_dataset(args.dataset, args.data_dir)
    results = compare(run, methods, budget=args.budget, init=args.init, out_dir=args.out,
                      data=data, tune_lrs=tune, progress=not args.no_progress,
                      tensorboard=args.tensorboard,
                      on_method=None if args.no_progress else lambda m: print(f"== {m} =="))
    t = run.train
    lrs = (f"lr chosen on validation from {', '.join(f'{v:g}' for v in tune)}" if tune
           else f"lr {t.lr:g}")
    budget = f", budget {args.budget:,} trainable" if args.budget else ""
    print(f"\nrotation prediction on {args.dataset}: {t.optimizer}"
          + (f" (momentum {t.momentum:g})" if t.momentum else "")
          + f", {lrs}, encoder depth {args.depth}, {t.epochs} epochs, batch {t.batch_size}, "
          f"one seed ({t.seed}){budget}; validation part {run.task.val_fraction:g}")
    print(f"{'method':<14} {'lr':>8} {'test error':>10} {'test loss':>10} {'trainable':>11} "
          f"{'primary':>9}  sizes")
    for r in results:
        row = r.row
        diverged = r.status == "diverged" or row.get("diverged")
        error = "diverged" if diverged else f"{row['test_error']:.4f}"
        loss = "-" if diverged else f"{row['test_loss']:.4f}"
        edge = " (grid edge: widen it)" if tune and r.lr in (min(tune), max(tune)) else ""
        print(f"{r.method:<14} {r.lr:>8g} {error:>10} {loss:>10} {r.sizes['trainable']:>11,} "
              f"{r.sizes['primary']:>9,}  {r.budget_note}{edge}")
    if args.out is not None:
        print(f"results: {args.out}/METHOD/" + ("tuning.json" if tune else "result.json"))
    return 1 if any(r.status == "diverged" for r in results) else 0


def _compare_tune(tunes: list[str] | None) -> list[float]:
    """`--tune lr=a,b,...` as the learning rates (compare tunes lr only)."""
    from hypermod.sweep import check_tuned

    if not tunes:
        return []
    if len(tunes) > 1:
        raise ValueError("compare tunes one setting, lr: give --tune once")
    name, sep, values = tunes[0].partition("=")
    if name.strip() != "lr" or not sep or not values.strip():
        raise ValueError(f"--tune {tunes[0]!r}: compare tunes lr only, as --tune "
                         "lr=V1,V2,...")
    try:
        lrs = [float(v) for v in values.split(",")]
    except ValueError:
        raise ValueError(f"--tune lr: values must be numbers, got {values!r}") from None
    check_tuned("lr", lrs)
    return lrs


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

    check_table_target(args.csv, args.directory, args.force)  # before reading anything
    frame = load_frame(args.directory, {n: e.row_fields for n, e in EXPERIMENTS.items()})
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


