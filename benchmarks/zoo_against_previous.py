"""Kendall's tau between an earlier conditioning-zoo run's ranking and a newer one's.

    git worktree add /tmp/zoo-old e31faea    # the run with one lr and 5 epochs
    python benchmarks/zoo_against_previous.py /tmp/zoo-old/docs/results/conditioning-zoo \
        docs/results/conditioning-zoo

For every (task, budget) the two runs share, each run's order of the methods both ran:
the earlier run's by mean test metric over seeds (it had no validation part, so its own
report ranked that way), the newer run's by its report (trainable design, each method at
its chosen learning rate, mean validation metric). Prints one line per (task, budget).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypermod.experiments.conditioning_zoo import summarize
from hypermod.experiments.conditioning_zoo.analysis import kendall
from hypermod.experiments.report import load_results


def orders(directory: Path) -> dict[tuple[str, int], list[str]]:
    """(task, budget) -> methods best first, by the run's own report (trainable design)."""
    records = load_results(directory)[0]["conditioning-zoo"]
    out = {}
    for entry in summarize(records)["tasks"]:
        for ranking in entry["rankings"]:
            if ranking["design"] == "trainable":
                out[(entry["task"], ranking["budget"])] = [r["method"]
                                                          for r in ranking["ranked"]]
    return out


def main(old: str, new: str) -> None:
    before, after = orders(Path(old)), orders(Path(new))
    for key in sorted(set(before) & set(after)):
        shared = [m for m in before[key] if m in after[key]]
        a = [m for m in before[key] if m in shared]
        b = [m for m in after[key] if m in shared]
        tau = kendall(a, b)
        print(f"{key[0]} at {key[1]:,}: tau {'-' if tau is None else f'{tau:+.2f}'} over "
              f"{len(shared)} methods; before: {', '.join(a)}; after: {', '.join(b)}")
    if not set(before) & set(after):
        print("the two runs share no (task, budget)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/zoo_against_previous.py OLD_DIR NEW_DIR")
    main(*sys.argv[1:])
