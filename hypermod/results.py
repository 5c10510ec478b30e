"""Result files: self-describing JSON written atomically, plus per-epoch JSON lines.

A result file holds everything a report needs (config, parameter counts, metrics,
environment, code version), so tables and figures can be rebuilt without rerunning.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hypermod

SCHEMA = 1


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as JSON to `path` so that readers see the old file or the whole new one.

    The text goes to a temporary file in the same directory, is flushed to disk, then
    renamed over `path`; a crash at any point leaves no half-written `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique hidden name in the same directory (so the rename is atomic), created with
    # open(..., "x") so that it gets the usual permissions rather than mkstemp's 0600.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x") as fh:
            json.dump(obj, fh, indent=1, sort_keys=False, default=_jsonable)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def append_jsonl(path: str | os.PathLike, obj: Any) -> None:
    """Append one JSON line to `path` (an append-only log, e.g. one line per epoch)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(obj, default=_jsonable) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Load a JSON file, raising ValueError that names the file when it is not valid JSON."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a valid JSON result file ({err})") from None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, torch.device, torch.dtype)):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def code_version() -> dict[str, Any]:
    """The package version and, when run from a git checkout, the commit and dirtiness."""
    info: dict[str, Any] = {"hypermod": hypermod.__version__, "git_commit": None, "git_dirty": None}
    root = Path(hypermod.__file__).resolve().parent.parent
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
