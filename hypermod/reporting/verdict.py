"""Verdicts on the paper's claims: every rule in one place, in numbers and in words.

    v = compare(hyper_stats, embedding_stats)       # which side is lower beyond noise
    tally(better=3, worse=0, judged=3)               # Verdict("held")

A verdict is one of four words: held, held only in part, did not hold, inconclusive
(always with the reason). The report prints the rules (`RULES`) beside the verdicts, so
a reader can check each verdict against the numbers next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

HELD, PART, NOT_HELD, INCONCLUSIVE = "held", "held only in part", "did not hold", "inconclusive"
MIN_SEEDS = 2  # below this a sample standard deviation does not exist
NOISE_SE = 2.0  # about a 95% two-sided threshold for a difference of means
CHANCE_MARGIN = 0.02  # test error this close to the best constant guess is no learning
MIN_WIDTHS = 3  # a rank trend over two points is a coin flip

RULES = {
    "seeds": f"fewer than {MIN_SEEDS} finished runs behind a mean being compared is "
             "inconclusive (no spread to judge a difference)",
    "noise": f"a difference of means counts only when it exceeds {NOISE_SE:g} standard "
             "errors of the difference, sqrt(s_h^2/n_h + s_e^2/n_e); otherwise it is within "
             "noise",
    "chance": f"when both methods' mean errors are within {CHANCE_MARGIN} of the best "
              "constant guess (or above it), neither method learned: inconclusive",
    "interval": "a fitted exponent whose 95% interval is wider than the predicted value "
                "(without a prediction, wider than the measured slope) is inconclusive; "
                "otherwise it agrees when the prediction is inside the interval, and is "
                "steeper or shallower (by the ratio measured / predicted) when not",
    "diverged": "every run diverged: inconclusive",
    "widths": f"fewer than {MIN_WIDTHS} widths finished: inconclusive",
}


def rules_note(*keys: str) -> str:
    """The rules named by `keys`, as one line for the report."""
    return "Verdict rules: " + "; ".join(RULES[k] for k in keys) + "."


@dataclass(frozen=True)
class Verdict:
    """A verdict word and, for inconclusive ones (or a detail), why."""

    word: str
    reason: str = ""

    def markdown(self) -> str:
        """"**word** (reason)"; the reason only when there is one."""
        return f"**{self.word}**" + (f" ({self.reason})" if self.reason else "")


def seeds_reason(*counts: int) -> str | None:
    """Why too few finished runs forbid a verdict, or None when every count suffices."""
    n = min(counts)
    return None if n >= MIN_SEEDS else f"n={n}: no spread to judge a difference"


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two `group_stats` rows (lower is better): the difference, its standard error, and
    "first" or "second" for the side lower beyond `NOISE_SE` standard errors, else "noise".
    """
    diff = a["mean"] - b["mean"]
    se = math.sqrt(a["std"] ** 2 / a["n"] + b["std"] ** 2 / b["n"])
    lower = "first" if diff < -NOISE_SE * se else "second" if diff > NOISE_SE * se else "noise"
    return {"diff": diff, "se": se, "lower": lower}


def neither_learned(chance: float, *errors: float) -> bool:
    """Whether no error is below the best constant guess by more than `CHANCE_MARGIN`."""
    return all(e > chance - CHANCE_MARGIN for e in errors)


def chance_reason(chance: float) -> str:
    """The reason given when neither method learned."""
    return (f"neither method learned: errors within {CHANCE_MARGIN} of the best constant "
            f"guess {chance:.3f}")


def tally(better: int, worse: int, judged: int) -> Verdict | None:
    """The verdict from comparisons beyond noise: `better` for the claim, `worse` against,
    out of `judged` (the rest within noise); None when nothing could be judged."""
    if judged == 0:
        return None
    if better == judged:
        return Verdict(HELD)
    if better:
        return Verdict(PART)
    if worse:
        return Verdict(NOT_HELD)
    return Verdict(INCONCLUSIVE, "every difference within noise")


def exponent(slope: float, low: float, high: float, seeds: int,
             predicted: float | None) -> Verdict:
    """A fitted exponent against its prediction: agrees, steeper (ratio), shallower
    (ratio), no prediction, or inconclusive with the reason."""
    reason = seeds_reason(seeds)
    if reason:
        return Verdict(INCONCLUSIVE, reason)
    width = high - low
    scale = abs(slope) if predicted is None else abs(predicted)
    if not width <= scale:  # a nan interval is too wide too
        against = "the measured slope" if predicted is None else f"the prediction {predicted:g}"
        return Verdict(INCONCLUSIVE, f"95% interval [{low:.2f}, {high:.2f}] is wider than "
                                     f"{against}")
    if predicted is None:
        return Verdict("no prediction")
    rounding = 1e-9 * max(1.0, abs(predicted))  # exact curves give a zero-width interval
    if low - rounding <= predicted <= high + rounding:
        return Verdict("agrees")
    side = "steeper" if slope > predicted else "shallower"
    return Verdict(side, f"{slope / predicted:.2f}x")


def from_parts(verdicts: list[Verdict], agree: str = "agrees") -> Verdict:
    """One claim's verdict from its parts: held when every conclusive part is `agree`,
    in part when some, not when none; inconclusive when no part is conclusive."""
    conclusive = [v for v in verdicts if v.word != INCONCLUSIVE]
    if not conclusive:
        reasons = sorted({v.reason for v in verdicts if v.reason})
        return Verdict(INCONCLUSIVE, "; ".join(reasons) or "nothing to judge")
    agreeing = sum(v.word == agree for v in conclusive)
    left = len(verdicts) - len(conclusive)
    note = f"{left} of {len(verdicts)} inconclusive" if left else ""
    if agreeing == len(conclusive):
        return Verdict(HELD, note)
    return Verdict(PART if agreeing else NOT_HELD, note)
