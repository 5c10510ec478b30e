"""python examples/sweep_to_dataframe.py depth.png [--sweep DIR]

A sweep's results as a pandas DataFrame (hypermod.frame.load_frame) and your own
matplotlib figure from it: final test error against encoder depth, one line per method,
mean and standard deviation over seeds. Without --sweep it first runs a small
rotation-depth sweep on the bundled digits (seconds on 2 cores; raise --epochs and
--limit-train for clearer curves). Needs pandas: pip install 'hypermod[frame]'.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402

from hypermod.config import override  # noqa: E402
from hypermod.experiments import get_experiment, settings_for  # noqa: E402
from hypermod.frame import load_frame  # noqa: E402
from hypermod.sweep import SweepContext, run_sweep  # noqa: E402


def small_sweep(out, epochs, limit_train):
    experiment = get_experiment("rotation-depth")
    config = override(settings_for(experiment, seeds=2), [
        "datasets=digits", "depths=0,1,2", f"epochs={epochs}",
        f"limit_train={limit_train}", f"limit_test={max(limit_train // 4, 64)}"])
    run_sweep(experiment, config, out, SweepContext("cpu", progress=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("png", type=Path, help="where to write the figure")
    parser.add_argument("--sweep", type=Path, help="an existing sweep output folder")
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
    df = df[df["experiment"] == "rotation-depth"]
    final = df[df["epoch"] == df.groupby("path")["epoch"].transform("max")]
    table = final.groupby(["method", "depth"])["test_error"].agg(["mean", "std", "count"])
    print(table)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method, rows in table.reset_index().groupby("method"):
        ax.errorbar(rows["depth"], rows["mean"], yerr=rows["std"], marker="o", capsize=3,
                    label=method)
    ax.set_xticks(sorted(table.index.get_level_values("depth").unique()))
    ax.set(xlabel="encoder depth", ylabel="final test error", title="rotation prediction")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
