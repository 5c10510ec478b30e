"""The hypernetwork: h_I(x) = g(x; f(I))."""

from __future__ import annotations

from torch import Tensor, nn

from hypermod.models.encoder import count_trainable
from hypermod.models.primary import MLPPrimary, ModulePrimary, num_generated, split_params
from hypermod.models.stacked import stacked_call, subtree


class HyperNetwork(nn.Module):
    """f maps the instance I to all the weights of g; g then runs on x.

    Args:
        f: any module mapping (B, d_I) to (B, P) with P = g.num_params.
        g: a primary network (`MLPPrimary` or `ModulePrimary`) with a `param_shapes` table.

    x is (B, d_x), or (B, n, d_x) for n query points per instance with `MLPPrimary`
    (f then runs once per instance); images (B, C, H, W) are flattened to (B, d_x).
    """

    method = "hyper"

    def __init__(self, f: nn.Module, g: MLPPrimary | ModulePrimary, method: str | None = None):
        super().__init__()
        self.f = f
        self.g = g
        if method is not None:  # a variant whose generator f has its own structure
            self.method = method

    def generate(self, instance: Tensor) -> dict[str, Tensor]:
        """The primary network's weights for each instance: name -> (B, *shape)."""
        theta = self.f(instance.reshape(instance.shape[0], -1))  # (B, P)
        return split_params(theta, self.g.param_shapes)

    def forward(self, x: Tensor, instance: Tensor) -> Tensor:
        """(B, ...) inputs and (B, ...) instances -> (B, [n,] out) outputs of each h_I."""
        if x.shape[0] != instance.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but I has {instance.shape[0]}")
        return self.g(self.generate(instance), x)

    def forward_stacked(self, params: dict[str, Tensor], x: Tensor, instance: Tensor) -> Tensor:
        """S members at once: (S, B, ...) inputs -> (S, B, [n,] out); f stacked, g batched
        over all S * B generated weight sets."""
        s, b = x.shape[:2]
        theta = stacked_call(self.f, subtree(params, "f."), instance.reshape(s, b, -1))
        generated = split_params(theta.reshape(s * b, -1), self.g.param_shapes)
        out = self.g(generated, x.reshape(s * b, *x.shape[2:]))
        return out.reshape(s, b, *out.shape[1:])

    def param_counts(self) -> dict[str, int]:
        """Trainable parameters of f (by role, when f reports them: base weights, chunk
        embeddings...), and the weights f generates for g per instance."""
        roles = getattr(self.f, "param_counts", None)
        if roles is None:
            f = count_trainable(self.f)
            return {"f": f, "g_generated": num_generated(self.g.param_shapes), "trainable": f}
        counts = roles()
        return {**counts, "trainable": count_trainable(self.f)}
