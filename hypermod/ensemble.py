"""Seed ensembles: S independent copies of one model trained in one pass.

Every parameter of the S members is stacked along a new leading dimension, and the
members run as one batched model on inputs of shape (S, B, ...). Member k starts from
the weights that `torch.manual_seed(seed_k)` gives its architecture, draws its data order
and rotation angles from its own generator seeded with seed_k, and sees only its own
loss, so its metrics and weights are those of a separate run with that seed (to float
rounding: batched matmuls sum in another order). What is shared is the kernel launches:
a few large batched products instead of S sets of small ones.

Two ways to run the stacked members, chosen by `mode`:
- "bmm": layer by layer with `baddbmm`, for the modules hypermod's models are built of
  (nn.Sequential, nn.Linear, parameter-free activations, HyperNetwork, EmbeddingNetwork);
  any other submodule falls back to vmap;
- "vmap": `torch.func.vmap` over `functional_call`, for any module.
`benchmarks/sweep_throughput.py --modes` times both; "bmm" is the default: on the GPU we
measured it was 1.4x-1.5x faster, on the CPU the two were within 0.74x-1.22x of each
other, depending on the configuration (docs/performance.md).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from hypermod.models.embedding import EmbeddingNetwork
from hypermod.models.hyper import HyperNetwork
from hypermod.models.primary import split_params

MODES = ("bmm", "vmap")

# Parameter-free modules that act on each scalar alone, so (S, B, ...) passes through.
ELEMENTWISE = (nn.ReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.LeakyReLU, nn.GELU,
               nn.SiLU, nn.Softplus, nn.Hardtanh, nn.ReLU6)


class Ensemble(nn.Module):
    """S models of one architecture as one batched model: (S, B, ...) in, (S, B, out) out.

    Args:
        members: S >= 1 models with identical parameter names and shapes, no buffers.
        mode: "bmm" or "vmap" (see the module docstring).
    """

    def __init__(self, members: Sequence[nn.Module], mode: str = "bmm"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown ensemble mode {mode!r}; choose one of {MODES}")
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = dict(members[0].named_parameters())
        for k, member in enumerate(members):
            if list(member.buffers()):
                raise ValueError(f"member {k} has buffers; ensembles take parameter-only models")
            shapes = {n: tuple(p.shape) for n, p in member.named_parameters()}
            if shapes != {n: tuple(p.shape) for n, p in first.items()}:
                raise ValueError(f"member {k} differs from member 0 in parameter names or shapes")
        self.names = list(first)
        self.stacked = nn.ParameterList(
            nn.Parameter(torch.stack([dict(m.named_parameters())[n].detach() for m in members]))
            for n in self.names
        )
        self.size = len(members)
        self.mode = mode
        self.method = getattr(members[0], "method", None)
        counts = getattr(members[0], "param_counts", None)
        self._counts = counts() if counts is not None else None
        # The skeleton only supplies structure; a tuple keeps it out of parameters().
        self._skeleton = (copy.deepcopy(members[0]).to("meta"),)

    def params(self) -> dict[str, Tensor]:
        """name -> (S, *shape) stacked parameters."""
        return dict(zip(self.names, self.stacked))

    def member_state(self, k: int) -> dict[str, Tensor]:
        """Member k's weights as a state dict of its own architecture (detached copies)."""
        if not 0 <= k < self.size:
            raise IndexError(f"member {k} of an ensemble of {self.size}")
        return {n: p[k].detach().clone() for n, p in zip(self.names, self.stacked)}

    def param_counts(self) -> dict[str, int] | None:
        """One member's parameter counts by role (every member has the same)."""
        return dict(self._counts) if self._counts is not None else None

    def forward(self, *inputs: Tensor) -> Tensor:
        """Inputs of shape (S, B, ...) each -> (S, B, ...) outputs, member k on slice k."""
        for t in inputs:
            if t.shape[0] != self.size:
                raise ValueError(f"ensemble of {self.size} got an input of shape "
                                 f"{tuple(t.shape)}; the leading dimension must be {self.size}")
        skeleton = self._skeleton[0]
        if self.mode == "vmap":
            return _vmapped(skeleton, self.params(), inputs)
        return _stacked(skeleton, self.params(), "", *inputs)


def _vmapped(module: nn.Module, params: dict[str, Tensor], inputs: tuple[Tensor, ...]) -> Tensor:
    def one(p: dict[str, Tensor], *xs: Tensor) -> Tensor:
        return functional_call(module, p, xs)

    return vmap(one)(params, *inputs)


def _sub(params: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {n[len(prefix):]: p for n, p in params.items() if n.startswith(prefix)}


def _stacked(module: nn.Module, params: dict[str, Tensor], prefix: str, *inputs: Tensor) -> Tensor:
    """`module` applied member-wise to (S, B, ...) inputs with its (S, ...) parameters."""
    if isinstance(module, nn.Linear):
        (h,) = inputs  # (S, B, in)
        w = params[prefix + "weight"].transpose(1, 2)  # (S, in, out)
        if module.bias is None:
            return torch.bmm(h, w)
        return torch.baddbmm(params[prefix + "bias"].unsqueeze(1), h, w)
    if isinstance(module, nn.Sequential):
        (h,) = inputs
        for name, child in module.named_children():
            h = _stacked(child, params, f"{prefix}{name}.", h)
        return h
    if isinstance(module, HyperNetwork):
        x, instance = inputs
        s, b = x.shape[:2]
        theta = _stacked(module.f, params, prefix + "f.", instance.reshape(s, b, -1))  # (S,B,P)
        generated = split_params(theta.reshape(s * b, -1), module.g.param_shapes)
        return module.g(generated, x.reshape(s * b, *x.shape[2:])).reshape(s, b, -1)
    if isinstance(module, EmbeddingNetwork):
        x, instance = inputs
        s, b = x.shape[:2]
        code = _stacked(module.e, params, prefix + "e.", instance.reshape(s, b, -1))  # (S,B,E)
        return _stacked(module.q, params, prefix + "q.", torch.cat([code, x.reshape(s, b, -1)], 2))
    if isinstance(module, ELEMENTWISE):
        (h,) = inputs  # elementwise: the stack's extra dimension changes nothing
        return module(h)
    return _vmapped(module, _sub(params, prefix), inputs)
