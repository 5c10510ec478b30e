"""The hypernetwork: h_I(x) = g(x; f(I))."""

from __future__ import annotations

from torch import Tensor, nn

from hypermod.models.encoder import count_trainable
from hypermod.models.primary import MLPPrimary, ModulePrimary, num_generated, split_params


class HyperNetwork(nn.Module):
    """f maps the instance I to all the weights of g; g then runs on x.

    Args:
        f: any module mapping (B, d_I) to (B, P) with P = g.num_params.
        g: a primary network (`MLPPrimary` or `ModulePrimary`) with a `param_shapes` table.
    """

    method = "hyper"

    def __init__(self, f: nn.Module, g: MLPPrimary | ModulePrimary):
        super().__init__()
        self.f = f
        self.g = g

    def generate(self, instance: Tensor) -> dict[str, Tensor]:
        """The primary network's weights for each instance: name -> (B, *shape)."""
        theta = self.f(instance.reshape(instance.shape[0], -1))  # (B, P)
        return split_params(theta, self.g.param_shapes)

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        """(B, ...) inputs and (B, ...) instances -> (B, out) outputs of each h_I."""
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        return self.g(self.generate(instance), x)

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters of f, and the weights f generates for g per instance."""
        f = count_trainable(self.f)
        return {"f": f, "g_generated": num_generated(self.g.param_shapes), "trainable": f}
