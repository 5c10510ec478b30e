"""The single-run commands, `run` and `compare`: check every input, train, print.

The library is imported inside each command, so that `hypermod --help` pays for no torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hypermod.cli.args import check_out_dir, check_tensorboard
from hypermod.cli.flags import rotation_run


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
    from hypermod.records import read_json
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
    from hypermod.training.compare import compare, has_code, parse_methods
    from hypermod.training.run import CHECKPOINT

    methods = parse_methods("hyper,embedding" if args.methods is None else args.methods)
    coded = [m for m in methods if has_code(m)]
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
