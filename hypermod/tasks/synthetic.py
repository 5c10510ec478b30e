"""Synthetic targets y(x, I) of known structure, x in [-1, 1]^m1 and I in [-1, 1]^m2.

    from hypermod.tasks.synthetic import SmoothTarget, sample, splits
    target = SmoothTarget(m1=2, m2=4, r=1.0, seed=0)
    train, val, test = splits(target, seed=1)            # fixed sets; or sample(...) fresh

Two kinds, both normalized to mean 0 and variance 1 over uniform (x, I), so that a mean
squared error reads as a fraction of the variance, and both rebuilt bit for bit from
their seed on the CPU:

- `StructuredTarget`: y = g*(x; f*(I)). A fixed random teacher f* (a tanh MLP of I)
  produces every weight of a small tanh MLP g* of x. The hypernetwork's own form, so a
  hypernetwork can represent it exactly with a small g (Section 4 of the paper).
- `SmoothTarget`: a random Fourier series of z = [x, I] jointly, with no structure to
  exploit, whose spectrum decays at a chosen rate: the L2 analogue of the Sobolev ball
  W_{r,m} (m = m1 + m2) that Theorems 1 to 3 bound.

Samples come on a grid of instances and points, instances (B, m2) and points
(B, n, m1) -> targets (B, n), because a conditioning network then runs f or e once per
instance instead of once per point; per-sample pairs are the case n = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

# Points used to estimate a target's mean and variance (from the target's own seed).
NORMALIZATION_POINTS = 1 << 16
_CHUNK = 1 << 14  # points evaluated at once: bounds memory at (chunk, terms) floats


@dataclass(frozen=True)
class SyntheticSet:
    """A sample of a target on a grid: `instances` (B, m2), `x` (B, n, m1), `y` (B, n)."""

    instances: Tensor
    x: Tensor
    y: Tensor

    @property
    def num_points(self) -> int:
        return self.y.numel()

    def to(self, device: torch.device | str) -> SyntheticSet:
        return SyntheticSet(self.instances.to(device), self.x.to(device), self.y.to(device))


class _Target:
    """Shared evaluation: a raw function of (x, I), shifted and scaled to unit variance."""

    m1: int
    m2: int
    seed: int
    shift: float = 0.0
    scale: float = 1.0

    def _raw(self, x: Tensor, instances: Tensor) -> Tensor:  # (B, n, m1), (B, m2) -> (B, n)
        raise NotImplementedError

    def _normalize(self) -> None:
        gen = torch.Generator().manual_seed(self.seed + 7_919)  # apart from the weights' draw
        data = _uniform_grid(self.m1, self.m2, NORMALIZATION_POINTS, 1, gen)
        y = self._raw(data.x, data.instances).double()
        self.shift, self.scale = float(y.mean()), float(y.std())
        if not self.scale > 0:
            raise ValueError(f"{self!r} is constant; choose another seed")

    def __call__(self, x: Tensor, instances: Tensor) -> Tensor:
        """Targets at every point of every instance.

        Args:
            x: (B, n, m1) points in [-1, 1]^m1.
            instances: (B, m2) instances in [-1, 1]^m2.

        Returns:
            (B, n) values, mean 0 and variance 1 over uniform inputs.
        """
        if x.dim() != 3 or x.shape[2] != self.m1:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (B, n, {self.m1})")
        if instances.shape != (x.shape[0], self.m2):
            raise ValueError(f"instances have shape {tuple(instances.shape)}; expected "
                             f"({x.shape[0]}, {self.m2})")
        step = max(1, _CHUNK // max(x.shape[1], 1))  # instances per chunk
        rows = [self._raw(x[i: i + step], instances[i: i + step])
                for i in range(0, x.shape[0], step)]
        return (torch.cat(rows) - self.shift) / self.scale


class SmoothTarget(_Target):
    """A random Fourier series of z = [x, I] with coefficients decaying like |w|^-(r+m/2+delta).

    y(z) = sum_j a_j cos(pi w_j . z + phi_j) over `terms` frequencies w_j = rho_j u_j:
    radii rho_j log-uniform on [1, max_freq], directions u_j uniform on the sphere,
    phases uniform, amplitudes a_j = xi_j rho_j^-(r + delta) with xi_j standard normal.
    Why: log-uniform radii put a density proportional to rho^-m per unit volume of
    frequency space, so the expected power there is rho^-2(r+delta) rho^-m, i.e.
    coefficients of size |w|^-(r + m/2 + delta), as for a function of W_{r,m} in the L2
    sense: sum |w|^(2s) |a_w|^2 stays bounded as max_freq grows for s < r + delta only.
    Along any line the power spectral density falls like |nu|^-(2r + 2 delta + 1) for
    1 << nu << max_freq (the projection keeps a power law's exponent), which is what the
    tests measure. A finite series is itself infinitely smooth; the rate above is what it
    shows at every error above the variance it leaves out beyond max_freq, about
    max_freq^-2(r+delta) (3e-4 for the defaults at r = 1).
    """

    def __init__(self, m1: int, m2: int, r: float = 1.0, delta: float = 0.1, terms: int = 512,
                 max_freq: float = 32.0, seed: int = 0):
        if min(m1, m2) < 1 or terms < 1 or not r > 0 or delta < 0 or not max_freq > 1:
            raise ValueError(f"SmoothTarget needs m1, m2, terms >= 1, r > 0, delta >= 0 and "
                             f"max_freq > 1; got m1={m1}, m2={m2}, terms={terms}, r={r}, "
                             f"delta={delta}, max_freq={max_freq}")
        self.m1, self.m2, self.r, self.delta, self.seed = m1, m2, r, delta, seed
        self.terms, self.max_freq = terms, max_freq
        gen = torch.Generator().manual_seed(seed)
        m = m1 + m2
        rho = torch.exp(torch.rand(terms, generator=gen, dtype=torch.float64)
                        * math.log(max_freq))  # (T,) log-uniform on [1, max_freq]
        u = torch.randn(terms, m, generator=gen, dtype=torch.float64)
        self.freqs = (rho[:, None] * u / u.norm(dim=1, keepdim=True)).float()  # (T, m)
        self.phases = (2 * math.pi * torch.rand(terms, generator=gen, dtype=torch.float64)
                       ).float()  # (T,)
        self.amplitudes = (torch.randn(terms, generator=gen, dtype=torch.float64)
                           * rho ** -(r + delta)).float()  # (T,)
        self._normalize()

    def _raw(self, x: Tensor, instances: Tensor) -> Tensor:
        z = torch.cat([x, instances[:, None, :].expand(-1, x.shape[1], -1)], dim=2)  # (B, n, m)
        phase = math.pi * z @ self.freqs.to(z).T + self.phases.to(z)  # (B, n, T)
        return torch.cos(phase) @ self.amplitudes.to(z)

    def __repr__(self) -> str:
        return (f"SmoothTarget(m1={self.m1}, m2={self.m2}, r={self.r}, delta={self.delta}, "
                f"terms={self.terms}, max_freq={self.max_freq}, seed={self.seed})")


class StructuredTarget(_Target):
    """y(x, I) = g*(x; f*(I)): a random tanh MLP f* of I generates all weights of g*.

    f*: m2 -> teacher_width -> teacher_width -> P (tanh, weights N(0, 1/fan_in) times 1.5,
    an output of unit scale per entry); g*: m1 -> primary_width -> 1 (tanh, with biases),
    whose P = primary_width (m1 + 2) + 1 weights are f*'s outputs times fixed gains: 2 for
    the first layer's weights and biases (a few bends over [-1, 1]^m1), 1/sqrt(width) for
    the last layer's weights, 1 for its bias. Smooth in (x, I) jointly.
    """

    def __init__(self, m1: int, m2: int, primary_width: int = 8, teacher_width: int = 32,
                 seed: int = 0):
        if min(m1, m2, primary_width, teacher_width) < 1:
            raise ValueError(f"StructuredTarget needs positive sizes; got m1={m1}, m2={m2}, "
                             f"primary_width={primary_width}, teacher_width={teacher_width}")
        self.m1, self.m2, self.seed = m1, m2, seed
        self.primary_width, self.teacher_width = primary_width, teacher_width
        gen = torch.Generator().manual_seed(seed)
        w = primary_width
        self.num_generated = w * m1 + w + w + 1
        widths = (m2, teacher_width, teacher_width, self.num_generated)
        self.layers = [(1.5 * torch.randn(b, a, generator=gen) / math.sqrt(a),
                        0.5 * torch.randn(b, generator=gen)) for a, b in zip(widths, widths[1:])]
        self.gains = torch.cat([torch.full((w * m1 + w,), 2.0),
                                torch.full((w,), 1 / math.sqrt(w)), torch.ones(1)])
        self._normalize()

    def generate(self, instances: Tensor) -> Tensor:
        """f*(I): (B, m2) -> (B, P) weights of g*, laid out W1 (w, m1), b1 (w), W2 (w), b2."""
        h = instances
        for i, (weight, bias) in enumerate(self.layers):
            h = h @ weight.to(h).T + bias.to(h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h * self.gains.to(h)

    def _raw(self, x: Tensor, instances: Tensor) -> Tensor:
        w, m1, b = self.primary_width, self.m1, instances.shape[0]
        theta = self.generate(instances)  # (B, P)
        w1 = theta[:, : w * m1].view(b, w, m1)
        b1 = theta[:, w * m1: w * m1 + w]
        w2 = theta[:, w * m1 + w: w * m1 + 2 * w]
        b2 = theta[:, -1]
        hidden = torch.tanh(x @ w1.transpose(1, 2) + b1[:, None, :])  # (B, n, w)
        return (hidden @ w2[:, :, None]).squeeze(2) + b2[:, None]

    def __repr__(self) -> str:
        return (f"StructuredTarget(m1={self.m1}, m2={self.m2}, primary_width="
                f"{self.primary_width}, teacher_width={self.teacher_width}, seed={self.seed})")


TARGETS = ("smooth", "structured")


def make_target(kind: str, m1: int, m2: int, seed: int = 0, r: float = 1.0,
                **options) -> SmoothTarget | StructuredTarget:
    """The target called `kind` ("smooth" or "structured"); `r` applies to smooth only."""
    if kind == "smooth":
        return SmoothTarget(m1, m2, r=r, seed=seed, **options)
    if kind == "structured":
        return StructuredTarget(m1, m2, seed=seed, **options)
    raise ValueError(f"unknown target {kind!r}; choose one of {TARGETS}")


def _uniform_grid(m1: int, m2: int, n_instances: int, n_points: int,
                  generator: torch.Generator) -> SyntheticSet:
    instances = 2 * torch.rand(n_instances, m2, generator=generator) - 1
    x = 2 * torch.rand(n_instances, n_points, m1, generator=generator) - 1
    return SyntheticSet(instances, x, torch.empty(0))


def sample(target: SmoothTarget | StructuredTarget, n_instances: int, n_points: int,
           generator: torch.Generator) -> SyntheticSet:
    """Fresh uniform instances (n_instances, m2) and points (n_instances, n_points, m1)."""
    if min(n_instances, n_points) < 1:
        raise ValueError(f"need at least one instance and one point, got {n_instances} "
                         f"and {n_points}")
    grid = _uniform_grid(target.m1, target.m2, n_instances, n_points, generator)
    return SyntheticSet(grid.instances, grid.x, target(grid.x, grid.instances))


def splits(target: SmoothTarget | StructuredTarget, seed: int,
           sizes: tuple[tuple[int, int], ...] = ((512, 32), (128, 32), (512, 32)),
           ) -> tuple[SyntheticSet, ...]:
    """Fixed train / validation / test sets (instances, points each), drawn from `seed`.

    Each set has its own instances, so a test error measures generalization to new I as
    well as new x.
    """
    gen = torch.Generator().manual_seed(seed)
    return tuple(sample(target, n_i, n_x, gen) for n_i, n_x in sizes)
