"""python benchmarks/fuzz_parsers.py --examples 20000

The long fuzz run behind docs/reliability.md: every property of
tests/test_fuzz_parsers.py (IDX reader, MNIST loader, CIFAR-10 batch reader and its
restricted unpickler, result-file reader and report loader) with `--examples` inputs
each, instead of the suite's 100. Prints, per property, the inputs tried, how they
ended (Hypothesis events: which error, or a valid read), and the totals.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--examples", type=int, default=20_000,
                        help="inputs per property (the report-loader property gets a fifth)")
    parser.add_argument("-k", default=None, help="only the properties matching this")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               str(ROOT / "tests" / "test_fuzz_parsers.py"), "--hypothesis-show-statistics"]
    if args.k:
        command += ["-k", args.k]
    env = {**os.environ, "HYPERMOD_FUZZ_EXAMPLES": str(args.examples)}
    start = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(run.stdout)
    total = failing = 0
    for passing, failed in re.findall(r"- (\d+) passing, (\d+) failing", run.stdout):
        total += int(passing) + int(failed)  # summed over phases (generate, shrink)
        failing += int(failed)
    print(f"fuzz inputs run: {total:,} ({failing} failing) in {seconds / 60:.1f} min; "
          f"pytest exit code {run.returncode}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
