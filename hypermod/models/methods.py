"""The one registry of conditioning methods: name -> settings, builder, closed-form counts.

    model = build_model(FiLMConfig(encoder_depth=3), Sizes(d_instance=64, d_x=64, outputs=12))
    counts(FiLMConfig(), sizes)        # by role, with "trainable" and "primary"
    configure("film", encoder_depth=3, primary_hidden=(16,))   # shared settings by name
    METHODS["film"].widths["trainable"]                          # what a budget turns

| method | h_I(x) |
|---|---|
| hyper | g(x; f(I)), every weight of g generated (the paper's) |
| embedding | q([e(I), x]) (the paper's) |
| concat-all | q with e(I) concatenated to the input of every layer |
| film | q with hidden layers gamma(I) * z + beta(I) (Perez et al., 2018) |
| lowrank-hyper | g with W_I = W0 + A(I) B(I), rank r per layer |
| chunked-hyper | g's weights from one shared generator over learned chunk embeddings |
| partial-hyper | g with only its last k layers generated |
| mip-hyper | g with theta_I = theta_0 + f(phi(I)), ||phi(I)|| constant (Ortiz et al., 2024) |
| mlp | a plain MLP on [x, I] (the paper's "standard network") |

Each entry's count is written from `hypermod.theory`'s primitives, apart from the module
code, so the tests can hold the two against each other; `match_budget` and every
experiment read the counts from here. A method defined outside the package joins with
`register(Method(...))` and then works in `hypermod run`, `compare`, the zoo and sweeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

import hypermod.theory as theory
from hypermod.models.activations import activation_module
from hypermod.models.concat import ConcatNetwork
from hypermod.models.conditioned import ConcatAllNetwork, FiLMNetwork
from hypermod.models.embedding import EmbeddingNetwork
from hypermod.models.encoder import mlp_encoder
from hypermod.models.generators import (
    ChunkedGenerator,
    LowRankGenerator,
    MIPGenerator,
    PartialGenerator,
)
from hypermod.models.hyper import HyperNetwork
from hypermod.models.init import hyperfan_init
from hypermod.models.primary import MLPPrimary, MLPSpec, num_generated
from hypermod.models.settings import (
    ChunkedConfig,
    ConcatAllConfig,
    EmbeddingConfig,
    FiLMConfig,
    HyperConfig,
    LowRankConfig,
    MethodConfig,
    MIPConfig,
    MLPConfig,
    PartialConfig,
)


@dataclass(frozen=True)
class Sizes:
    """What a task fixes: the instance's size d_I, the input's d_x, the outputs."""

    d_instance: int
    d_x: int
    outputs: int


@dataclass(frozen=True)
class Method:
    """A registered conditioning method.

    Attributes:
        name: the registry key (also the config's `method`); summary: h_I(x) in words.
        config: its settings class (a `MethodConfig`).
        build: (config, sizes) -> the model, called as model(x, I).
        count: (config, sizes) -> parameters by role with "trainable" (their sum, the
            generated ones left out) and "primary" (g's weights per instance, or q's).
        widths: count kind ("trainable", "primary") -> the config field `match_budget`
            turns for it.
        generated: whether g's weights are generated per instance (hyperfan applies).
    """

    name: str
    summary: str
    config: type
    build: Callable[[Any, Sizes], nn.Module]
    count: Callable[[Any, Sizes], dict[str, int]]
    widths: dict[str, str]
    generated: bool = False


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add `method` to the registry (its name must be new and match its config's)."""
    if method.name in METHODS:
        raise ValueError(f"a method called {method.name!r} is already registered")
    if method.config().method != method.name:
        raise ValueError(f"{method.config.__name__}.method is {method.config().method!r}, "
                         f"not {method.name!r}")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The registered method `name`; ValueError lists the names."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") \
            from None


def configure(name: str, **settings: Any) -> MethodConfig:
    """Method `name`'s config with those of `settings` it has (shared settings such as
    encoder_depth or primary_hidden are offered to every method; each takes its own)."""
    config = get_method(name).config
    own = {f.name for f in fields(config) if f.init}
    return config(**{k: v for k, v in settings.items() if k in own})


def build_model(config: MethodConfig, sizes: Sizes, instances: Tensor | None = None
                ) -> nn.Module:
    """The model `config` describes for `sizes`. `instances` (B, ...) are sample
    instances for the hyperfan init (default: 256 standard normal draws), used by no
    other setting."""
    model = get_method(config.method).build(config, sizes)
    if getattr(config, "init", "default") == "hyperfan":
        hyperfan_init(model, torch.randn(256, sizes.d_instance) if instances is None
                      else instances)
    return model


def counts(config: MethodConfig, sizes: Sizes) -> dict[str, int]:
    """Parameters by role of `config`'s model, with "trainable" and "primary"."""
    return get_method(config.method).count(config, sizes)


def primary_size(config: MethodConfig, sizes: Sizes) -> int:
    """N of the primary network: g's weights applied per instance, q's, or the MLP's."""
    return counts(config, sizes)["primary"]


# ---- the entries: builders ---------------------------------------------------------

def _widths(c: Any, s: Sizes) -> tuple[int, ...]:
    return (s.d_x, *c.primary_hidden, s.outputs)


def _encoder(c: MethodConfig, s: Sizes, out: int) -> nn.Sequential:
    return mlp_encoder(s.d_instance, out, c.encoder_hidden, c.encoder_depth)


def _spec(c: Any, s: Sizes) -> MLPSpec:
    return MLPSpec(_widths(c, s), c.primary_bias, c.activation)


def _hyper(c: HyperConfig, s: Sizes) -> HyperNetwork:
    g = MLPPrimary(_spec(c, s))
    return HyperNetwork(_encoder(c, s, g.num_params), g)


def _lowrank(c: LowRankConfig, s: Sizes) -> HyperNetwork:
    w = _widths(c, s)
    trunk = _encoder(c, s, sum(c.rank * (a + b) for a, b in zip(w[:-1], w[1:])))
    return HyperNetwork(LowRankGenerator(trunk, _spec(c, s), c.rank), MLPPrimary(_spec(c, s)),
                        method=c.method)


def _chunked(c: ChunkedConfig, s: Sizes) -> HyperNetwork:
    f = ChunkedGenerator(_encoder(c, s, c.embedding_dim), c.embedding_dim, _spec(c, s),
                         c.chunk_size, c.chunk_dim)
    return HyperNetwork(f, MLPPrimary(_spec(c, s)), method=c.method)


def _partial(c: PartialConfig, s: Sizes) -> HyperNetwork:
    spec, k = _spec(c, s), c.generated_layers
    f = PartialGenerator(_encoder(c, s, PartialGenerator.generated_count(spec, k)), spec, k)
    return HyperNetwork(f, MLPPrimary(spec), method=c.method)


def _mip(c: MIPConfig, s: Sizes) -> HyperNetwork:
    spec = _spec(c, s)
    trunk = mlp_encoder(2 * s.d_instance, num_generated(spec.shapes), c.encoder_hidden,
                        c.encoder_depth)  # on phi(I), two numbers per coordinate of I
    return HyperNetwork(MIPGenerator(trunk, spec), MLPPrimary(spec), method=c.method)


def embedding_dim(c: EmbeddingConfig, s: Sizes) -> int:
    """E: the config's, or the reference's 10 d_x + 10 (q's first width for 10)."""
    h = c.primary_hidden[0]
    return c.embedding_dim if c.embedding_dim is not None else h * s.d_x + h


def _embedding(c: EmbeddingConfig, s: Sizes) -> EmbeddingNetwork:
    dim = embedding_dim(c, s)
    e = _encoder(c, s, dim)  # before q: the reference builds e first
    widths = (dim + s.d_x, *c.primary_hidden, s.outputs)
    layers: list[nn.Module] = [nn.Linear(widths[0], widths[1])]
    for a, b in zip(widths[1:-1], widths[2:]):
        layers += [activation_module(c.activation), nn.Linear(a, b)]
    return EmbeddingNetwork(e, nn.Sequential(*layers))


def _concat_all(c: ConcatAllConfig, s: Sizes) -> ConcatAllNetwork:
    return ConcatAllNetwork(_encoder(c, s, c.embedding_dim), _widths(c, s), c.embedding_dim,
                            c.activation)


def _film(c: FiLMConfig, s: Sizes) -> FiLMNetwork:
    return FiLMNetwork(_encoder(c, s, c.embedding_dim), _widths(c, s), c.embedding_dim,
                       c.activation)


def _mlp(c: MLPConfig, s: Sizes) -> ConcatNetwork:
    return ConcatNetwork(s.d_x, s.d_instance, c.encoder_hidden, c.encoder_depth, c.activation,
                         s.outputs)


# ---- the entries: closed-form counts ------------------------------------------------

def _totals(roles: dict[str, int], primary: int, generated: tuple[str, ...] = ()) -> dict:
    trainable = sum(v for k, v in roles.items() if k not in generated)
    return {**roles, "trainable": trainable, "primary": primary}


def _enc(c: MethodConfig, s: Sizes, out: int, d_in: int | None = None) -> int:
    return theory.encoder_params(d_in or s.d_instance, out, c.encoder_hidden, c.encoder_depth)


def _layers(c: Any, s: Sizes) -> list[tuple[int, int]]:
    w = _widths(c, s)
    return list(zip(w[:-1], w[1:]))


def _count_hyper(c: HyperConfig, s: Sizes) -> dict[str, int]:
    g = theory.mlp_params(_widths(c, s), c.primary_bias)
    return _totals({"f": _enc(c, s, g), "g_generated": g}, g, ("g_generated",))


def _count_lowrank(c: LowRankConfig, s: Sizes) -> dict[str, int]:
    g = theory.mlp_params(_widths(c, s), c.primary_bias)
    factors = sum(c.rank * (a + b) for a, b in _layers(c, s))
    return _totals({"f": _enc(c, s, factors), "base": g, "g_generated": factors}, g,
                   ("g_generated",))


def _count_chunked(c: ChunkedConfig, s: Sizes) -> dict[str, int]:
    layers = _layers(c, s)
    g = theory.mlp_params(_widths(c, s), c.primary_bias)
    tensors = [a * b for a, b in layers] + ([b for _, b in layers] if c.primary_bias else [])
    chunks = sum(-(-n // c.chunk_size) for n in tensors)
    return _totals({"f": _enc(c, s, c.embedding_dim),
                    "chunk_embeddings": chunks * (c.chunk_dim + 1),
                    "generator": theory.linear_params(c.embedding_dim + c.chunk_dim,
                                                      c.chunk_size),
                    "g_generated": g}, g, ("g_generated",))


def _count_partial(c: PartialConfig, s: Sizes) -> dict[str, int]:
    g = theory.mlp_params(_widths(c, s), c.primary_bias)
    generated = sum(theory.linear_params(a, b, c.primary_bias)
                    for a, b in _layers(c, s)[-c.generated_layers:])
    return _totals({"f": _enc(c, s, generated), "shared": g - generated,
                    "g_generated": generated}, g, ("g_generated",))


def _count_mip(c: MIPConfig, s: Sizes) -> dict[str, int]:
    g = theory.mlp_params(_widths(c, s), c.primary_bias)
    return _totals({"f": _enc(c, s, g, d_in=2 * s.d_instance), "base": g, "g_generated": g},
                   g, ("g_generated",))


def _count_embedding(c: EmbeddingConfig, s: Sizes) -> dict[str, int]:
    dim = embedding_dim(c, s)
    q = theory.mlp_params((dim + s.d_x, *c.primary_hidden, s.outputs))
    return _totals({"e": _enc(c, s, dim), "q": q}, q)


def _count_concat_all(c: ConcatAllConfig, s: Sizes) -> dict[str, int]:
    q = sum(theory.linear_params(a + c.embedding_dim, b) for a, b in _layers(c, s))
    return _totals({"e": _enc(c, s, c.embedding_dim), "q": q}, q)


def _count_film(c: FiLMConfig, s: Sizes) -> dict[str, int]:
    q = theory.mlp_params(_widths(c, s))
    film = theory.linear_params(c.embedding_dim, 2 * sum(c.primary_hidden))
    return _totals({"e": _enc(c, s, c.embedding_dim), "film": film, "q": q}, q)


def _count_mlp(c: MLPConfig, s: Sizes) -> dict[str, int]:
    mlp = _enc(c, s, s.outputs, d_in=s.d_x + s.d_instance)
    return _totals({"mlp": mlp}, mlp)


ENCODER, PRIMARY = {"trainable": "encoder_hidden"}, "primary_hidden"
for _entry in (
    Method("hyper", "g(x; f(I)), every weight of g generated (the paper's)", HyperConfig,
           _hyper, _count_hyper, {**ENCODER, "primary": PRIMARY}, generated=True),
    Method("embedding", "q([e(I), x]) (the paper's)", EmbeddingConfig, _embedding,
           _count_embedding, {**ENCODER, "primary": PRIMARY}),
    Method("concat-all", "q with e(I) concatenated to every layer's input", ConcatAllConfig,
           _concat_all, _count_concat_all, {**ENCODER, "primary": PRIMARY}),
    Method("film", "q with hidden layers gamma(I) * z + beta(I)", FiLMConfig, _film,
           _count_film, {**ENCODER, "primary": PRIMARY}),
    Method("lowrank-hyper", "g with W_I = W0 + A(I) B(I)", LowRankConfig, _lowrank,
           _count_lowrank, {**ENCODER, "primary": PRIMARY}, generated=True),
    Method("chunked-hyper", "g's weights from one generator over chunk embeddings",
           ChunkedConfig, _chunked, _count_chunked, {**ENCODER, "primary": PRIMARY},
           generated=True),
    Method("partial-hyper", "g with only its last k layers generated", PartialConfig,
           _partial, _count_partial, {**ENCODER, "primary": PRIMARY}, generated=True),
    Method("mip-hyper", "g with theta_I = theta_0 + f(phi(I)), phi(I) of constant norm",
           MIPConfig, _mip, _count_mip, {**ENCODER, "primary": PRIMARY}, generated=True),
    Method("mlp", "a plain MLP on [x, I]", MLPConfig, _mlp, _count_mlp,
           {**ENCODER, "primary": "encoder_hidden"}),
):
    register(_entry)
