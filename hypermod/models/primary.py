"""Primary networks g(x; theta) evaluated with a different theta for every sample.

A primary network has no trainable parameters of its own: it publishes a name -> shape
table (`param_shapes`) and is called as `g(params, x)` where every entry of `params`
carries a leading batch dimension. That table is the whole contract between a
hypernetwork and the network it drives, so any implementation can be swapped in.

Two implementations:
- `MLPPrimary`: a fully connected net described by an `MLPSpec`, evaluated with `bmm`.
  The fast path, and the one the paper uses.
- `ModulePrimary`: any parameter-only `nn.Module` (a conv net, say), evaluated per sample
  with `torch.func.vmap` over `torch.func.functional_call`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from hypermod.models.activations import activation

Shapes = dict[str, tuple[int, ...]]


def num_generated(shapes: Shapes) -> int:
    """Total number of scalars in a name -> shape table."""
    return sum(math.prod(shape) for shape in shapes.values())


def split_params(theta: Tensor, shapes: Shapes) -> dict[str, Tensor]:
    """Cut a flat per-sample parameter vector into named per-sample tensors.

    Args:
        theta: (B, P) with P == num_generated(shapes); entries are consumed in the
            table's order, each reshaped row-major.
        shapes: name -> shape of one sample's tensor.

    Returns:
        name -> (B, *shape) views into theta (no copy).
    """
    expected = num_generated(shapes)
    if theta.dim() != 2 or theta.shape[1] != expected:
        raise ValueError(
            f"theta has shape {tuple(theta.shape)}; expected (batch, {expected}) for "
            f"the primary network's table {shapes}"
        )
    params, offset = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        params[name] = theta[:, offset : offset + size].view(theta.shape[0], *shape)
        offset += size
    return params


def check_params(params: dict[str, Tensor], shapes: Shapes, batch: int) -> None:
    """Raise a ValueError naming the first key whose tensor is not (batch, *shape)."""
    missing = shapes.keys() - params.keys()
    extra = params.keys() - shapes.keys()
    if missing or extra:
        raise ValueError(
            f"parameter names differ: missing {sorted(missing)}, extra {sorted(extra)}"
        )
    for name, shape in shapes.items():
        if tuple(params[name].shape) != (batch, *shape):
            raise ValueError(
                f"parameter {name!r} has shape {tuple(params[name].shape)}; "
                f"expected {(batch, *shape)}"
            )


@dataclass(frozen=True)
class MLPSpec:
    """A fully connected primary network: widths[0] -> ... -> widths[-1].

    The paper's g is MLPSpec((d_x, 10, 12), bias=False, activation="relu").
    """

    widths: tuple[int, ...]
    bias: bool = False
    activation: str = "relu"

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or any(int(w) < 1 for w in self.widths):
            raise ValueError(f"MLPSpec.widths needs >= 2 positive sizes, got {self.widths}")
        activation(self.activation)

    @property
    def shapes(self) -> Shapes:
        """name -> shape, weights as (out, in) like `nn.Linear`, layer by layer."""
        table: Shapes = {}
        for i, (n_in, n_out) in enumerate(zip(self.widths[:-1], self.widths[1:])):
            table[f"layers.{i}.weight"] = (n_out, n_in)
            if self.bias:
                table[f"layers.{i}.bias"] = (n_out,)
        return table


class MLPPrimary(nn.Module):
    """A per-sample MLP: y_b = W_L act(... act(W_1 x_b + b_1) ...) + b_L, batched with bmm."""

    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.spec = spec
        self.param_shapes: Shapes = spec.shapes
        self._act = activation(spec.activation)

    @property
    def in_features(self) -> int:
        return self.spec.widths[0]

    @property
    def num_params(self) -> int:
        return num_generated(self.param_shapes)

    def forward(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Apply sample b's weights to sample b's input.

        Args:
            params: name -> (B, *shape) as in `param_shapes`.
            x: (B, widths[0]); or (B, n, widths[0]) for n query points per sample, all
                under sample b's weights; anything else is flattened to (B, widths[0]).

        Returns:
            (B, widths[-1]) or (B, n, widths[-1]).
        """
        points = x.dim() == 3 and x.shape[2] == self.in_features
        h = x if points else x.reshape(x.shape[0], -1)
        check_params(params, self.param_shapes, h.shape[0])
        if h.shape[-1] != self.in_features:
            raise ValueError(f"x has {h.shape[-1]} features per sample; the spec expects "
                             f"{self.in_features}")
        last = len(self.spec.widths) - 2
        if points:
            for i in range(last + 1):  # (B, n, in) @ (B, in, out)
                h = h @ params[f"layers.{i}.weight"].transpose(1, 2)
                if self.spec.bias:
                    h = h + params[f"layers.{i}.bias"][:, None, :]
                if i < last:
                    h = self._act(h)
            return h
        h = h.unsqueeze(2)  # (B, in, 1) so that every layer is one bmm
        for i in range(last + 1):
            h = torch.bmm(params[f"layers.{i}.weight"], h)  # (B, out, in) @ (B, in, 1)
            if self.spec.bias:
                h = h + params[f"layers.{i}.bias"].unsqueeze(2)
            if i < last:
                h = self._act(h)
        return h.squeeze(2)

    def extra_repr(self) -> str:
        return f"{self.spec}, generated={self.num_params}"


class ModulePrimary(nn.Module):
    """Any `nn.Module` as a primary network, run per sample with torch.func.

    The template module's own parameters are never used or trained: they only fix the
    name -> shape table and are moved to the meta device. Modules with buffers (batch
    norm) are refused, since per-sample running statistics have no clear meaning.
    """

    def __init__(self, template: nn.Module):
        super().__init__()
        buffers = [name for name, _ in template.named_buffers()]
        if buffers:
            raise ValueError(f"ModulePrimary needs a module without buffers; found {buffers}")
        self.param_shapes: Shapes = {
            name: tuple(p.shape) for name, p in template.named_parameters()
        }
        if not self.param_shapes:
            raise ValueError("ModulePrimary needs a module with at least one parameter")
        # A tuple keeps the template out of this module's parameters and state_dict.
        self._template = (template.to("meta"),)

    @property
    def num_params(self) -> int:
        return num_generated(self.param_shapes)

    def forward(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Apply the template with sample b's parameters to sample b's input.

        Args:
            params: name -> (B, *shape) as in `param_shapes`.
            x: (B, ...) where `...` is what the template takes for one sample.

        Returns:
            (B, ...) the template's output for each sample.
        """
        check_params(params, self.param_shapes, x.shape[0])
        module = self._template[0]

        def one(p: dict[str, Tensor], xi: Tensor) -> Tensor:
            return functional_call(module, p, (xi.unsqueeze(0),)).squeeze(0)

        return vmap(one)(params, x)
