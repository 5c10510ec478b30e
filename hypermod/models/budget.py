"""Fair comparisons: pick a method's free widths so its parameter count hits a budget.

    match = match_budget(FiLMConfig(), 50_000, Sizes(d_instance=64, d_x=64, outputs=12))
    match.config, match.count, match.ok, match.note

Counts come from the registry's closed forms (`hypermod.models.methods`, held against the
modules by the tests), so a search costs no model construction; each method names the
width a budget may turn (`Method.widths`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypermod.models.methods import Sizes, counts, get_method
from hypermod.models.settings import MethodConfig

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

    config: MethodConfig
    count: int
    target: int
    ok: bool
    note: str


def _closest(make, measure, target: int) -> tuple[MethodConfig, int]:
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


def match_budget(settings: MethodConfig, target: int, sizes: Sizes,
                 count: str = "trainable", vary_other: bool = True) -> BudgetMatch:
    """Choose the free width of `settings.method` so that its `count` lands within 1% of
    `target`, or say how close it got and why.

    The free width is the method's `widths[count]`: the encoder's (f, e, or the plain
    MLP's) for "trainable", g's or q's hidden width (every hidden layer alike) for
    "primary". When one width cannot reach 1% (its steps are too coarse), the other is
    varied too, over a window around its own setting, unless `vary_other` is False (when
    the other width was itself matched to something, as g's in a primary-matched design).
    """
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    if target < 1:
        raise ValueError(f"the budget must be a positive count, got {target}")
    knobs = get_method(settings.method).widths
    turned, other_knob = knobs[count], next((v for k, v in knobs.items() if k != count
                                             and v != knobs[count]), None)
    if count == "primary" and knobs["primary"] == "primary_hidden" \
            and not settings.primary_hidden:
        raise ValueError(f"{settings.method} has no hidden layer in g or q to widen "
                         "(primary_hidden is empty), so its primary size is fixed")

    def measure(c: MethodConfig) -> int:
        return counts(c, sizes)[count]

    def by(field: str | None):
        def make(base: MethodConfig):
            if field is None:  # no second width: every w gives the base
                return lambda w: base
            if field == "primary_hidden":
                layers = len(base.primary_hidden)
                return lambda w: replace(base, primary_hidden=(w,) * layers)
            return lambda w: replace(base, **{field: w})
        return make

    first, second = by(turned), by(other_knob)
    by_encoder = first if turned == "encoder_hidden" else second
    best, got = _closest(first(settings), measure, target)
    note = ("matched by its width" if settings.method == "mlp" else "matched by the "
            + ("encoder width" if first is by_encoder else "primary width"))
    empty = other_knob == "primary_hidden" and not settings.primary_hidden
    if (abs(got - target) > TOLERANCE * target and other_knob is not None and not empty
            and vary_other):
        # A coarse step: try nearby settings of the other width, each with its best first.
        other = (best.primary_hidden[0] if other_knob == "primary_hidden"
                 else getattr(best, other_knob))
        for w in range(max(1, other // 4), other * 4 + 1):
            option, value = _closest(first(second(settings)(w)), measure, target)
            if abs(value - target) < abs(got - target):
                best, got = option, value
        note += " and the other width"
    ok = abs(got - target) <= TOLERANCE * target
    if ok and measure(settings) == got:
        note = "the settings already match"
    capped = (not ok and got < target and _width(best, turned) == MAX_WIDTH)
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


def _width(config: MethodConfig, field: str) -> int:
    """The width `field` of `config` (g's or q's first hidden width for primary_hidden;
    0 when g has no hidden layer)."""
    if field == "primary_hidden":
        return config.primary_hidden[0] if config.primary_hidden else 0
    return getattr(config, field)
