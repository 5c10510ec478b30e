"""Fair comparisons: pick a method's free widths so its parameter count hits a budget.

    match = match_budget(ZooConfig(method="film"), 50_000, d_instance=64, d_x=64, outputs=12)
    match.config, match.count, match.ok, match.note

Counts come from the closed forms in `hypermod.theory.zoo_params` (held against the
modules by the tests), so a search costs no model construction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypermod.models.zoo import ZooConfig
from hypermod.theory import zoo_params

COUNTS = ("trainable", "primary")
TOLERANCE = 0.01
MAX_WIDTH = 1 << 14


@dataclass(frozen=True)
class BudgetMatch:
    """The result of `match_budget`.

    Attributes:
        config: the closest config found; count: its parameter count.
        target: the budget; ok: whether count is within 1% of it.
        note: how it was matched, or why it could not be.
    """

    config: ZooConfig
    count: int
    target: int
    ok: bool
    note: str


def counts(config: ZooConfig, d_instance: int, d_x: int, outputs: int) -> dict[str, int]:
    """Parameters by role of `config`'s model, with "trainable" and "primary"."""
    c = config
    return zoo_params(c.method, d_instance, d_x, outputs, c.encoder_hidden,
                             c.encoder_depth, c.primary_hidden, c.primary_bias,
                             c.embedding_dim, c.rank, c.chunk_size, c.chunk_dim,
                             c.generated_layers)


def _closest(make, measure, target: int) -> tuple[ZooConfig, int]:
    """The width w in 1..MAX_WIDTH whose config `make(w)` counts closest to `target`
    (counts grow with w, so a binary search finds the crossing)."""
    low, high = 1, MAX_WIDTH
    while low < high:
        mid = (low + high) // 2
        if measure(make(mid)) < target:
            low = mid + 1
        else:
            high = mid
    candidates = [make(w) for w in {max(1, low - 1), low}]
    best = min(candidates, key=lambda c: abs(measure(c) - target))
    return best, measure(best)


def match_budget(settings: ZooConfig, target: int, d_instance: int, d_x: int, outputs: int,
                 count: str = "trainable") -> BudgetMatch:
    """Choose the free width of `settings.method` so that its `count` lands within 1% of
    `target`, or say how close it got and why.

    The free width is the encoder's (f, e, or the plain MLP's) for "trainable", and g's or
    q's hidden width (every hidden layer alike) for "primary". When one width cannot reach
    1% (its steps are too coarse), the other is varied too, over a window around its own
    setting.
    """
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    if target < 1:
        raise ValueError(f"the budget must be a positive count, got {target}")
    layers = len(settings.primary_hidden)
    if not layers and count == "primary":
        raise ValueError(f"{settings.method} has no hidden layer in g or q to widen "
                         "(primary_hidden is empty), so its primary size is fixed")

    def measure(c: ZooConfig) -> int:
        return counts(c, d_instance, d_x, outputs)[count]

    def by_encoder(base: ZooConfig):
        return lambda w: replace(base, encoder_hidden=w)

    def by_primary(base: ZooConfig):
        return lambda w: replace(base, primary_hidden=(w,) * layers)

    first, second = ((by_encoder, by_primary) if count == "trainable"
                     else (by_primary, by_encoder))
    best, got = _closest(first(settings), measure, target)
    note = "matched by the " + ("encoder width" if first is by_encoder else "primary width")
    if abs(got - target) > TOLERANCE * target and layers:  # no hidden layer: no other width
        # A coarse step: try nearby settings of the other width, each with its best first.
        other = best.encoder_hidden if second is by_encoder else best.primary_hidden[0]
        for w in range(max(1, other // 4), other * 4 + 1):
            option, value = _closest(first(second(settings)(w)), measure, target)
            if abs(value - target) < abs(got - target):
                best, got = option, value
        note += " and the other width"
    ok = abs(got - target) <= TOLERANCE * target
    if ok and measure(settings) == got:
        note = "the settings already match"
    capped = (not ok and got < target and _width(best, first is by_encoder) == MAX_WIDTH)
    fixed = capped and measure(first(best)(1)) == got  # the width does not move this count
    if capped and not fixed:
        # Too many to reach: training the closest would mean a model this big, unasked.
        raise ValueError(f"{settings.method} cannot reach a budget of {target:,} {count} "
                         f"parameters: the most it reaches within the width cap "
                         f"({MAX_WIDTH:,}) is {got:,}; choose a smaller budget")
    if not ok:
        # `got` is the nearest count found; when it is above the target, it is also the
        # fewest (counts grow with every width), so that is the count to name.
        why = (f"the fewest parameters it reaches is {got}" if got > target
               else f"its {count} count does not grow with the width it varies" if fixed
               else "the counts it can reach step over the target")
        note = (f"cannot reach {target} within 1% ({why}); closest {got} "
                f"({(got - target) / target:+.1%})")
    return BudgetMatch(best, got, target, ok, note)


def _width(config: ZooConfig, encoder: bool) -> int:
    """The encoder's width, or g's (q's) first hidden width."""
    return config.encoder_hidden if encoder else config.primary_hidden[0]
