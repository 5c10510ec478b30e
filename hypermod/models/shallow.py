"""The small networks of the paper's assumption checks."""

from __future__ import annotations

import torch
from torch import nn

from hypermod.models.activations import activation_module


def shallow_mlp(
    in_features: int, width: int, outputs: int = 10, act: str = "elu",
    normalize_rows: bool = False,
) -> nn.Sequential:
    """Linear(in, width) + act + Linear(width, outputs), maps (B, in) to (B, outputs).

    With `normalize_rows`, every weight row starts with unit norm, as the students of the
    reference's assumption-1 check do (biases keep PyTorch's default initialization).
    """
    if min(in_features, width, outputs) < 1:
        raise ValueError(f"sizes must be positive: in={in_features}, width={width}, "
                         f"outputs={outputs}")
    net = nn.Sequential(nn.Linear(in_features, width), activation_module(act),
                        nn.Linear(width, outputs))
    if normalize_rows:
        with torch.no_grad():
            for layer in (net[0], net[2]):
                layer.weight.div_(layer.weight.norm(dim=1, keepdim=True))
    return net


def conv_teacher(channels: int, size: int, outputs: int = 10) -> nn.Sequential:
    """Conv(20, 10x10, stride 2) + ReLU + Conv(40, 10x10, stride 2) + ReLU + Linear(., 10).

    The random, fixed target of the assumption-1 check; maps (B, channels, size, size) to
    (B, outputs). Needs images of at least 28 pixels a side (the second conv needs 10).
    """
    after_first = (size - 10) // 2 + 1
    after_second = (after_first - 10) // 2 + 1
    if after_second < 1:
        raise ValueError(f"conv_teacher needs images of at least 28x28, got {size}x{size}")
    return nn.Sequential(
        nn.Conv2d(channels, 20, 10, stride=2), nn.ReLU(),
        nn.Conv2d(20, 40, 10, stride=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(40 * after_second**2, outputs),
    )
