"""How conditioning-zoo sizes each method: its design's budget match, its code size, and
which methods take an init.

    match = method_config(config, "film", 20_000, sizes, design="primary")
"""

from __future__ import annotations

from dataclasses import fields

from hypermod.models import METHODS, Sizes, configure, counts
from hypermod.models.budget import BudgetMatch, match_budget
from hypermod.models.methods import embedding_dim


def takes_init(methods) -> list[str]:
    """The methods among `methods` whose config has an init setting (the hypernetworks
    hyperfan applies to; mip-hyper has its own init)."""
    return [m for m in methods if "init" in {f.name for f in fields(METHODS[m].config)}]


def is_ablation(config, point: dict) -> bool:
    """Whether a unit's point is an init-ablation run: a method that takes an init,
    started from another one than the experiment's."""
    main = config.model.init
    return point.get("init", main) != main and bool(takes_init([point["method"]]))


def shared(config) -> dict:
    """The experiment's `model` settings every method is offered (`configure` gives each
    the ones it has): all but the encoder width, which the budget sets, and the method."""
    return {f.name: getattr(config.model, f.name) for f in fields(config.model)
            if f.init and f.name != "encoder_hidden"}


def method_config(config, method: str, budget: int, sizes: Sizes,
                  design: str = "trainable", init: str | None = None) -> BudgetMatch:
    """The method's settings matched to `budget` by `design`, and the match. `init` (the
    experiment's by default) applies to the methods that generate weights (hyperfan); the
    others keep PyTorch's.

    "primary": g, q or the MLP is matched to the primary size the paper's hypernetwork
    gets at this budget in the trainable design, then the encoder alone is widened to the
    budget (g's width stays put). The MLP has no encoder: all of it is primary, so it is
    that size, far under the budget (its note says so).
    """
    offered = shared(config)
    settings = configure(method, **{**offered, "init": init or offered["init"]})
    if design == "trainable":
        return match_budget(settings, budget, sizes)
    reference = match_budget(configure("hyper", **{**offered, "init": "default"}), budget,
                             sizes).config
    target = counts(reference, sizes)["primary"]
    primary = match_budget(settings, target, sizes, count="primary", vary_other=False)
    if method == "mlp":
        note = (f"all primary: matched to g's {target:,} ({primary.note}), so "
                f"{primary.count:,} trainable against the budget's {budget:,}")
        return BudgetMatch(primary.config, primary.count, budget, False, note)
    filled = match_budget(primary.config, budget, sizes, vary_other=False)
    note = (f"primary {counts(filled.config, sizes)['primary']:,} against g's {target:,} "
            f"({primary.note}); encoder: {filled.note}")
    return BudgetMatch(filled.config, filled.count, budget, filled.ok and primary.ok, note)


def code_dim(settings, sizes: Sizes) -> int | None:
    """How many numbers about the instance reach the primary network: the code's size,
    capped by the encoder's last hidden width. Every encoder ends in a linear layer, so
    its output (e(I) for the embedding methods, f(I) for the hypernetworks: g's weights,
    low-rank factors, chunked-hyper's embedding) lies in an affine space of at most that
    many dimensions; PCA with as many components is the linear code of the same size.
    None for the MLP (it reads I itself) and for methods that name no code."""
    if settings.method == "mlp":
        return None
    if settings.method == "embedding":
        size = embedding_dim(settings, sizes)
    elif hasattr(settings, "embedding_dim"):
        size = settings.embedding_dim
    else:  # a method registered from outside may have neither: no code size then
        size = counts(settings, sizes).get("g_generated")
    hidden = getattr(settings, "encoder_hidden", None)
    return size if size is None or hidden is None else min(size, hidden)
