"""Hyperfan initialization (Chang, Flokas and Lipson, ICLR 2020) for the hypernetworks.

At initialization every weight tensor that f generates for g should have the variance a
Kaiming-initialized g would have, 2 / fan_in, so that g's activations neither vanish nor
explode whatever the instance. Hyperfan-in derives the scale of f's output layer from the
variance of what that layer reads (the instance code); here that second moment is
measured on sample instances instead of assumed, then each generated tensor's slice of
f's output layer is scaled to hit the target. Generated biases start at zero.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hypermod.models.generators import ChunkedGenerator, LowRankGenerator, PartialGenerator
from hypermod.models.hyper import HyperNetwork


def target_variance(name: str, shape: tuple[int, ...]) -> float:
    """Kaiming's variance for a generated weight (out, in): 2 / in; 0 for a bias."""
    return 2.0 / shape[1] if len(shape) == 2 else 0.0


def _last_linear(module: nn.Module) -> nn.Linear:
    last = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError(f"hyperfan init needs a Linear output layer in {type(module).__name__}")
    return last[-1]


def _slices(shapes: dict[str, tuple[int, ...]], names: list[str]):
    offset = 0
    for name in names:
        size = math.prod(shapes[name])
        yield name, slice(offset, offset + size)
        offset += size


@torch.no_grad()
def _scale_rows(head: nn.Linear, code: Tensor, rows: slice, target: float,
                power: float = 0.5) -> None:
    """Scale the head's rows so that their outputs on `code` have variance `target`
    (power 1/4 when two such outputs are multiplied together)."""
    if target == 0:
        head.weight[rows] = 0
        return
    variance = float(code[:, rows].var())
    head.weight[rows] *= (target / variance) ** power if variance > 0 else 1.0


@torch.no_grad()
def hyperfan_init(model: HyperNetwork, instances: Tensor) -> None:
    """Rescale `model`'s generator in place so that, on `instances` (B, d_I), the weights
    it generates have variance 2 / fan_in per tensor of g (biases zero).

    Works for the plain hypernetwork (f an MLP), and the low-rank, chunked and partial
    generators of `hypermod.models.generators`.
    """
    f, shapes = model.f, model.g.param_shapes
    flat = instances.reshape(instances.shape[0], -1)
    if isinstance(f, ChunkedGenerator):
        f.generator.bias.zero_()
        f.gains.fill_(1.0)
        chunks, first = f.chunks(flat), 0  # (B, K, C)
        for name, n in f.pieces:
            k = math.ceil(n / f.chunk_size)
            for j in range(first, first + k):
                target = target_variance(name, shapes[name])
                var = float(chunks[:, j].var())
                f.gains[j] = math.sqrt(target / var) if target and var > 0 else 0.0
            first += k
        return
    if isinstance(f, LowRankGenerator):
        head = _last_linear(f.trunk)
        head.bias.zero_()
        offset = 0
        for _, (a, b) in f.factors(flat).items():
            out, rank, inp = a.shape[1], a.shape[2], b.shape[2]
            rows_a, rows_b = slice(offset, offset + out * rank), \
                slice(offset + out * rank, offset + out * rank + rank * inp)
            offset = rows_b.stop
            product = float(torch.bmm(a, b).var())
            scale = (1.0 / inp / product) ** 0.25 if product > 0 else 1.0  # half of 2 / in
            head.weight[rows_a] *= scale
            head.weight[rows_b] *= scale
        return
    trunk = f.trunk if isinstance(f, PartialGenerator) else f
    names = f.generated_names if isinstance(f, PartialGenerator) else list(shapes)
    head = _last_linear(trunk)
    head.bias.zero_()
    code = trunk(flat)
    for name, rows in _slices(shapes, names):
        _scale_rows(head, code, rows, target_variance(name, shapes[name]))
