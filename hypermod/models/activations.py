"""Activations by name, so that specs and configs stay plain data."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu,
    "elu": F.elu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda t: t,
}

MODULES: dict[str, Callable[[], torch.nn.Module]] = {
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "identity": torch.nn.Identity,
}


def activation(name: str) -> Callable[[Tensor], Tensor]:
    """The activation function called `name`; raises ValueError naming the valid choices."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        ) from None


def activation_module(name: str) -> torch.nn.Module:
    """A fresh `nn.Module` for the activation called `name`."""
    activation(name)  # validates the name with the same message
    return MODULES[name]()
