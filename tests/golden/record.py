"""Record the golden numbers that tests/test_golden.py pins.

    python tests/golden/record.py          # rewrites tests/golden/golden.json

Run it only when a change is meant to move the numbers, and say so in the commit. The
runs are tiny seeded CPU runs on scikit-learn's digits (nothing to download), with one
torch thread so that summation order is the same on every machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from golden_cases import CASES  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    numbers = {name: case() for name, case in CASES.items()}
    path = HERE / "golden.json"
    path.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}: {len(numbers)} cases")


if __name__ == "__main__":
    main()
