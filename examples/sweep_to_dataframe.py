"""python examples/sweep_to_dataframe.py figure.png [--sweep DIR] [--experiment NAME]

A sweep's results as a pandas DataFrame (hypermod.frame.load_frame) and your own
matplotlib figure from it: each run's reported test metric against the experiment's axis
(encoder depth, budget or width), one line per method (or data set), mean and standard
deviation over seeds, one panel per data set and task. Without --sweep it first runs a
small rotation-depth sweep on the bundled digits (seconds on 2 cores; raise --epochs and
--limit-train for clearer curves). It reads the sweeps of rotation-depth,
conditioning-zoo and assumption2. Needs pandas: pip install 'hypermod[frame]'.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402

from hypermod.config import override  # noqa: E402
from hypermod.experiments import get_experiment, settings_for  # noqa: E402
from hypermod.frame import load_frame  # noqa: E402
from hypermod.sweep import SweepContext, run_sweep  # noqa: E402

# experiment -> (x axis, one line per, one panel per, log x); the metric is the run's
# reported row (its best validation epoch under early stopping, else its last)
AXES = {
    "rotation-depth": ("depth", "method", ("dataset",), False),
    "conditioning-zoo": ("budget", "method", ("task", "dataset"), True),
    "assumption2": ("width", "dataset", (), False),
}
# the zoo's tasks score by different metrics, all in the `test_error` column
METRIC = {"rotation": "test error", "classification": "test error", "inr": "test MSE",
          "regression": "test RMSE"}


def small_sweep(out, epochs, limit_train):
    experiment = get_experiment("rotation-depth")
    config = override(settings_for(experiment, seeds=2), [
        "datasets=digits", "depths=0,1,2", f"train.epochs={epochs}",
        f"limit_train={limit_train}", f"limit_test={max(limit_train // 4, 64)}"])
    run_sweep(experiment, config, out, SweepContext("cpu", progress=False))


def pick_experiment(df, asked):
    """The experiment to draw: the one asked for, else the first the sweep holds that
    this example knows how to draw; exits with a message naming what is there."""
    held = sorted(df["experiment"].unique()) if len(df) else []
    if asked is not None and asked not in held:
        sys.exit(f"error: the sweep holds no {asked} runs (it holds: "
                 f"{', '.join(held) or 'none'})")
    drawable = [name for name in held if name in AXES]
    if asked is None and not drawable:
        sys.exit(f"error: this example draws {', '.join(AXES)}; the sweep holds "
                 f"{', '.join(held) or 'no finished runs'}")
    name = asked or drawable[0]
    if name not in AXES:
        sys.exit(f"error: this example draws {', '.join(AXES)}, not {name}")
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("png", type=Path, help="where to write the figure")
    parser.add_argument("--sweep", type=Path, help="an existing sweep output folder")
    parser.add_argument("--experiment", help="which experiment of the sweep to draw")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit-train", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sweep is None:
            args.sweep = Path(tmp)
            small_sweep(args.sweep, args.epochs, args.limit_train)
        df = load_frame(args.sweep)
    for message in df.attrs["skipped"]:
        print("skipped", message)
    name = pick_experiment(df, args.experiment)
    x, line, panel, log_x = AXES[name]
    df = df[df["experiment"] == name]
    # one row per run: the epoch it reports, as hypermod.training.selected_row: the best
    # validation epoch its last row names when it stopped early, else its last epoch
    last_epoch = df.groupby("path")["epoch"].transform("max")
    reported = last_epoch
    if "best_epoch" in df:
        named = df[df["epoch"] == last_epoch].set_index("path")["best_epoch"]
        reported = df["path"].map(named).fillna(0).where(lambda e: e > 0, last_epoch)
    last = df["epoch"] == reported
    final = df[last]
    keys = [*panel, line, x]
    table = final.groupby(keys)["test_error"].agg(["mean", "std", "count"])
    print(f"{name}: reported test metric by {', '.join(keys)}")
    print(table)

    flat = table.reset_index()
    groups = list(flat.groupby(list(panel))) if panel else [((), flat)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.5), squeeze=False)
    for ax, (where, rows) in zip(axes[0], groups):
        where = where if isinstance(where, tuple) else (where,)
        for label, part in rows.groupby(line):
            ax.errorbar(part[x], part["mean"], yerr=part["std"].fillna(0), marker="o",
                        capsize=3, label=label)
        task = dict(zip(panel, where)).get("task", "rotation" if name != "assumption2"
                                           else "classification")
        ax.set(xlabel=x, ylabel=METRIC.get(task, "test error"),
               title=" / ".join(map(str, where)) or name)
        ticks = sorted(rows[x].unique())
        if log_x:
            ax.set_xscale("log")
            ax.minorticks_off()  # the budgets alone, or their labels run into each other
        ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
    axes[0][-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
