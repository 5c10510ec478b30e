"""Argument types that refuse bad values with a message naming them, and the output check."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def integer(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
    return value


def positive_int(text: str) -> int:
    return integer(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    return integer(text, 0, "an integer >= 0")


def seed(text: str) -> int:
    value = integer(text, 0, "an integer >= 0")
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be below 2**63, got {text}")
    return value


def number(text: str, positive: bool) -> float:
    what = "a finite number > 0" if positive else "a finite number >= 0"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
    return value


def positive_float(text: str) -> float:
    return number(text, positive=True)


def nonnegative_float(text: str) -> float:
    return number(text, positive=False)


def check_out_dir(path: Path) -> None:
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


