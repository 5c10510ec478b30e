"""Checkpoints within a run: everything `train` needs to continue bit for bit, saved safely.

A checkpoint holds the model's and optimizer's state dicts, the members' generator
states, torch's global RNG state (and the CUDA one on a GPU), the metrics so far and the
settings it was made with. It is written atomically (a temporary file renamed over the
old one, see `hypermod.results.write_atomic`) and read with
`torch.load(weights_only=True)`, which admits tensors and plain containers only: a
tampered checkpoint cannot run code.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hypermod.results import write_atomic

CHECKPOINT_FORMAT = 2  # 2: generators and histories per member (1: one run's)


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint written by `train`, read with `torch.load(weights_only=True)`.

    weights_only admits tensors and plain containers only, so a tampered checkpoint
    cannot run code. Raises ValueError naming the file if it is not a readable checkpoint.
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises many kinds for a corrupt or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({type(err).__name__}: "
                         f"{str(err)[:200]}); delete it to start the run afresh") from err
    if not isinstance(state, dict) or state.get("format") not in (1, CHECKPOINT_FORMAT):
        raise ValueError(f"{path}: not a hypermod checkpoint of format {CHECKPOINT_FORMAT}")
    if state["format"] == 1:  # one run: its generator and history
        state.update(format=CHECKPOINT_FORMAT, generators=[state.pop("generator")],
                     histories=[state.pop("history")])
    return state


def train_settings(config: Any, device: torch.device, meta: dict[str, Any] | None) -> dict:
    """What a checkpoint must agree on to be resumed: all but the number of epochs."""
    settings = {**asdict(config), "device_type": device.type}
    settings.pop("epochs")
    settings.update({f"run.{key}": value for key, value in (meta or {}).items()})
    return json.loads(json.dumps(settings))  # tuples as lists, as they come back


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    generators: list[torch.Generator], histories: list[list[dict[str, Any]]],
                    settings: dict[str, Any]) -> None:
    """Write the state after the last epoch of `histories` to `path`, atomically."""
    device = generators[0].device
    state = {
        "format": CHECKPOINT_FORMAT,
        "epoch": max(h[-1]["epoch"] for h in histories if h),
        "histories": histories,
        "settings": settings,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generators": [g.get_state() for g in generators],
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
    }
    write_atomic(path, lambda fh: torch.save(state, fh))


def check_checkpoint(path: str | os.PathLike, epochs: int, settings: dict[str, Any],
                     members: int = 1) -> dict[str, Any]:
    """The checkpoint at `path` if a run of `epochs` epochs with `settings` (see
    `train_settings`) and `members` members can continue from it; else ValueError saying
    why. Reads only: a caller checks this before it touches the run's other files."""
    state = load_checkpoint(path)  # on the CPU: RNG states must be CPU tensors
    saved = state["settings"]
    if saved != settings:
        keys = sorted(k for k in saved.keys() | settings.keys() if saved.get(k) != settings.get(k))
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {settings.get(k)!r}" for k in keys)
        raise ValueError(f"{path} was made with other settings ({detail}); delete it, or "
                         "resume with the settings it was made with")
    if state["epoch"] > epochs:
        raise ValueError(f"{path} already holds {state['epoch']} epochs, more than the "
                         f"{epochs} asked for")
    if len(state["generators"]) != members:
        raise ValueError(f"{path} holds {len(state['generators'])} members, not {members}")
    return state


def restore_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                       generators: list[torch.Generator], epochs: int,
                       settings: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Load `path` into the model, optimizer and generators; return its histories.

    Raises ValueError (see `check_checkpoint`) before changing anything when the
    checkpoint cannot continue this run.
    """
    device = generators[0].device
    state = check_checkpoint(path, epochs, settings, len(generators))
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    for generator, saved_state in zip(generators, state["generators"]):
        generator.set_state(saved_state)
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    return [list(h) for h in state["histories"]]
