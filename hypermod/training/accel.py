"""Speed settings for training; none of them changes the mathematics, only rounding.

- `tf32`: TensorFloat-32 matmuls on CUDA;
- `autocast="bf16"`: bfloat16 autocast of the forward pass (CPU or CUDA);
- `compile`: `torch.compile` of the forward pass and the loss;
- `cuda_graphs`: the whole training step (batch building, forward, backward, optimizer)
  captured once as a CUDA graph after a few eager warm-up steps, then replayed; only the
  per-member random draws and two copies into the graph's inputs stay outside.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

AUTOCASTS = ("none", "bf16")


@dataclass(frozen=True)
class Accel:
    """Speed settings for `hypermod.training.train`; all off by default (exact float32).

    Attributes:
        tf32: allow TensorFloat-32 in CUDA matmuls and convolutions.
        autocast: "none" or "bf16" (bfloat16 autocast of the forward pass).
        compile: `torch.compile` the forward pass and the loss.
        cuda_graphs: capture the whole training step as a CUDA graph (CUDA only).
    """

    tf32: bool = False
    autocast: str = "none"
    compile: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.autocast not in AUTOCASTS:
            raise ValueError(f"unknown autocast {self.autocast!r}; choose one of {AUTOCASTS}")
        if self.compile and self.cuda_graphs:
            raise ValueError("choose compile or cuda_graphs, not both")

    def check_device(self, device: torch.device) -> None:
        """Refuse settings the device cannot honour, naming them."""
        if self.cuda_graphs and device.type != "cuda":
            raise ValueError(f"cuda_graphs needs a CUDA device; the model is on {device}")


@contextlib.contextmanager
def tf32(enabled: bool):
    """TensorFloat-32 on or off within the block, restored after."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def autocast(accel: Accel, device: torch.device):
    """The autocast context `accel` asks for on `device` (a no-op for "none")."""
    if accel.autocast == "none":
        return contextlib.nullcontext()
    # cache_enabled=False: the weight-cast cache must not outlive a CUDA graph capture.
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)
