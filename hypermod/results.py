"""Result files: self-describing records written atomically, plus per-epoch JSON lines.

A record holds everything a report needs (config, parameter counts, metrics, environment,
code version), so tables and figures can be rebuilt without rerunning; `make_record`
is the one place that stamps a record with where and with what code it was made.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used: `hypermod --help` needs none of it
    import torch

SCHEMA = 1


def make_record(body: dict[str, Any], device: torch.device | str | None, started: datetime,
                wall_seconds: float, **extra: Any) -> dict[str, Any]:
    """A result record: the schema, `body` (what was run and what it gave), the
    environment and code version, when it started and how long it took, then `extra`."""
    return {"schema": SCHEMA, **body, "environment": environment(device),
            "code": code_version(), "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": wall_seconds, **extra}


class WriteError(OSError):
    """A result or checkpoint could not be written (full disk, no permission...); the
    message names the file, and nothing partial was left behind."""


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(file)` on a new file that replaces `path` only once it is complete.

    The bytes go to a temporary file in the same directory, are flushed to disk, then the
    file is renamed over `path`: readers see the old file or the whole new one, and a crash
    or a failed write (a full disk, say) at any point leaves no half-written `path` and no
    temporary file. OSErrors are raised again with a message that names `path`.
    """
    path = Path(path)
    # A unique hidden name in the same directory (so the rename is atomic), created with
    # open(..., "x") so that it gets the usual permissions rather than mkstemp's 0600.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:
            raise WriteError(err.errno, f"could not write {path}: {err.strerror}; nothing was "
                             "written (the previous version, if any, is intact)") from err
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as JSON to `path` so that readers see the old file or the whole new one.

    See `write_atomic`. The text is encoded before the file is created, so an object that
    cannot be written as JSON leaves nothing behind.
    """
    text = json.dumps(obj, indent=1, sort_keys=False, default=_jsonable) + "\n"
    return write_atomic(path, lambda fh: fh.write(text.encode()))


def append_jsonl(path: str | os.PathLike, obj: Any) -> None:
    """Append one JSON line to `path` (an append-only log, e.g. one line per epoch).

    The line is written with one call; if that fails part-way (a full disk), the file is
    cut back to its previous length, so the log never ends in a torn line.
    """
    path = Path(path)
    line = (json.dumps(obj, default=_jsonable) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        size = fh.seek(0, os.SEEK_END)
        try:
            fh.write(line)
            fh.flush()
        except OSError as err:
            fh.truncate(size)
            raise WriteError(err.errno, f"could not append to {path}: {err.strerror}; the "
                             "log was left as it was") from err


class SetAside:
    """A previous run's files, moved into `directory/.replaced/` while a new run starts.

    `move()` renames them there (the same file system: nothing is copied); once the new
    run has saved its first epoch, `discard()` deletes them; if it fails before that,
    `restore()` puts them back. `recover()` (called before a directory is looked at)
    handles a process killed in between: it puts them back, unless the new run had
    already saved an epoch.

    Args:
        directory: the run's folder.
        names: the files of a run, the one that proves a run has started first (a
            checkpoint): `move` takes them in this order, so that a kill midway never
            leaves the old marker in `directory` beside files set aside.
    """

    FOLDER = ".replaced"

    def __init__(self, directory: str | os.PathLike, names: Sequence[str]):
        self.directory = Path(directory)
        self.folder = self.directory / self.FOLDER
        self.names = tuple(names)
        self.moved: list[str] | None = None  # what `move` set aside in this process

    def move(self) -> bool:
        """Set the files present aside; whether there were any."""
        self.moved = [n for n in self.names if (self.directory / n).exists()]
        if self.moved:
            self.folder.mkdir(exist_ok=True)
            for name in self.moved:
                os.replace(self.directory / name, self.folder / name)
        return bool(self.moved)

    def restore(self) -> None:
        """Put the set-aside files back. After `move` in this process, a file the new run
        wrote that the old one did not have is deleted too; after a kill (`recover`),
        nothing but the set-aside files is touched: the new run had written nothing."""
        if not self.folder.is_dir():
            return
        for name in self.names:
            if (self.folder / name).exists():
                os.replace(self.folder / name, self.directory / name)
            elif self.moved is not None and name not in self.moved:
                (self.directory / name).unlink(missing_ok=True)  # the new run's alone
        self.discard()

    def discard(self) -> None:
        """Delete the set-aside files: the new run has started."""
        if self.folder.is_dir():
            shutil.rmtree(self.folder)

    def recover(self) -> None:
        """After a kill: the new run started if its marker (`names[0]`) is in `directory`."""
        if self.folder.is_dir():
            if (self.directory / self.names[0]).exists():
                self.discard()
            else:
                self.restore()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    torch = sys.modules.get("torch")  # a torch object implies torch is imported
    if isinstance(obj, Path) or (torch is not None
                                 and isinstance(obj, (torch.device, torch.dtype))):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def package_version() -> str:
    """hypermod's installed version, from the package metadata."""
    try:
        return metadata.version("hypermod")
    except metadata.PackageNotFoundError:  # run from a source tree that was not installed
        return "0+unknown"


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The package version and, when run from a git checkout, the commit and dirtiness.

    Computed once per process, at the first call (a run or sweep makes it at its start):
    the code a process runs is the code it loaded, whatever HEAD becomes later.
    """
    info: dict[str, Any] = {"hypermod": package_version(), "git_commit": None,
                            "git_dirty": None}
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root, capture_output=True, text=True, timeout=5,
            )
            info["git_dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def environment(device: torch.device | str | None = None) -> dict[str, Any]:
    """Versions, machine and device, recorded beside every result."""
    import torch

    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device) if device is not None else None,
    }
    if device is not None and torch.device(device).type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(torch.device(device))
    return env
