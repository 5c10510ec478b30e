"""The MLP encoder that both methods share: f for the hypernetwork, e for the embedding."""

from __future__ import annotations

from torch import nn

from hypermod.models.activations import activation_module


def mlp_encoder(
    in_features: int, out_features: int, hidden: int = 100, depth: int = 4, act: str = "relu"
) -> nn.Sequential:
    """Linear(in, hidden) + act, then `depth` x [Linear(hidden, hidden) + act], then
    Linear(hidden, out).

    This is the reference code's encoder: `depth` counts the hidden-to-hidden blocks, so
    the network has depth + 2 linear layers. Maps (B, in_features) to (B, out_features).
    """
    if min(in_features, out_features, hidden) < 1 or depth < 0:
        raise ValueError(
            f"encoder sizes must be positive and depth >= 0: in={in_features}, "
            f"out={out_features}, hidden={hidden}, depth={depth}"
        )
    layers: list[nn.Module] = [nn.Linear(in_features, hidden), activation_module(act)]
    for _ in range(depth):
        layers += [nn.Linear(hidden, hidden), activation_module(act)]
    layers.append(nn.Linear(hidden, out_features))
    return nn.Sequential(*layers)


def count_trainable(module: nn.Module) -> int:
    """Number of trainable scalars in `module`."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
