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




def path(text: str) -> Path:
    """A path flag's value: not empty (that would mean the current directory), and no
    name in it longer than file names may be (255 bytes on most systems)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a path, got an empty string")
    for part in Path(text).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            raise argparse.ArgumentTypeError(
                f"the name {part[:40]!r}... is {size} bytes; file names are limited to "
                f"{NAME_MAX} bytes")
    return Path(text)


NAME_MAX = 255  # bytes in one file name: ext4, xfs, btrfs, APFS, NTFS (in characters)


class DeferredParser(argparse.ArgumentParser):
    """A subcommand's parser whose flags are added only when that subcommand is used.

    Args:
        flags: called with this parser to add its flags, once, the first time it parses
            or formats its help.

    Why: the flags of `run` and `compare` take their choices (methods, optimizers...)
    from modules that import torch, about 2 s; `hypermod --help`, `hypermod data list`
    and the other subcommands never need them.
    """

    def __init__(self, *args, flags=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._deferred = flags

    def add_flags(self) -> DeferredParser:
        """Add the deferred flags now (idempotent); return the parser."""
        if self._deferred is not None:
            flags, self._deferred = self._deferred, None
            flags(self)
        return self

    def parse_known_args(self, args=None, namespace=None):
        self.add_flags()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.add_flags()
        return super().format_usage()

    def format_help(self) -> str:
        self.add_flags()
        return super().format_help()


class Subcommands(argparse._SubParsersAction):
    """The subcommand action: adds the chosen subcommand's deferred flags before it parses."""

    def __call__(self, parser, namespace, values, option_string=None):
        chosen = self._name_parser_map.get(values[0])
        if isinstance(chosen, DeferredParser):
            chosen.add_flags()
        super().__call__(parser, namespace, values, option_string)


def check_dir_usable(path: Path, flag: str) -> None:
    """Fail now if `path` cannot be (or become) a directory to write into; creates nothing.

    `path` must be a directory, or not exist below a directory this process may write in.
    """
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        where = "" if probe == path else f"{probe} is "
        raise ValueError(f"{flag} {path}: {where}not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: cannot write in {probe}")


def check_tensorboard(path: Path | None) -> None:
    """`--tensorboard DIR` usable: the folder can be written, the package is installed."""
    if path is not None:
        from hypermod.training.tensorboard import summary_writer_class

        check_dir_usable(path, "--tensorboard")
        summary_writer_class()
