"""Verdict words and the rules behind them, in numbers and in words.

    tally(better=3, worse=0, judged=3)                 # Verdict("held")
    exponent(0.91, 1.32, predicted=1.0)                # Verdict("consistent")

A claim's verdict is one of four words: held, held only in part, did not hold,
inconclusive (always with the reason). An exponent against its prediction is steeper,
shallower, consistent or inconclusive, by a rule that treats every prediction alike.
The report prints the rules (`RULES`) beside the verdicts, so a reader can check each
verdict against the numbers next to it. The statistics themselves live in
`hypermod.reporting.inference`; how a claim's runs become comparisons, in
`hypermod.reporting.claims`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypermod.reporting.inference import ALPHA, CONFIDENCE

HELD, PART, NOT_HELD, INCONCLUSIVE = "held", "held only in part", "did not hold", "inconclusive"
CONSISTENT, STEEPER, SHALLOWER = "consistent", "steeper", "shallower"
MIN_SEEDS = 2  # below this a sample standard deviation does not exist
FAILURE_MARGIN = 0.02  # a run within 2% of the best constant guess never left chance level
MIN_WIDTHS = 3  # a rank trend over two points is a coin flip
# An exponent interval that contains the prediction says "consistent" only when it is at
# most this wide (absolute, the same for every prediction): +-0.5 around the estimate.
EXPONENT_WIDTH = 1.0
TREND_RHO = -0.8  # assumption 2: Spearman's rho of width and mean error at most this

RULES = {
    "welch": f"two arms are compared by Welch's t-test (t quantiles, Welch-Satterthwaite "
             f"degrees of freedom) on the runs that trained; the difference of means is "
             f"shown with its {CONFIDENCE:.0%} t-interval, n per arm and the p-value",
    "paired": f"two arms are compared by a paired t-test over seeds (each seed sees the "
              f"same data in both arms) on the seeds where both trained; the mean "
              f"difference is shown with its {CONFIDENCE:.0%} t-interval",
    "holm": f"the comparisons of one claim form one family; their p-values are corrected "
            f"by Holm's step-down method, and a difference counts only when its adjusted "
            f"p is below {ALPHA:g}; otherwise it is within noise",
    "seeds": f"fewer than {MIN_SEEDS} runs that trained behind a mean being compared is "
             "inconclusive (no spread to judge a difference)",
    "failures": f"a run that diverged, or whose error stayed within {FAILURE_MARGIN:.0%} of "
                "the best constant guess (never left chance level), is a failure: each arm "
                "shows its failures, the test runs on the runs that trained, and the test "
                "on all runs is shown beside it; when every run of both arms failed the "
                "comparison is inconclusive",
    "interval": f"an exponent's {CONFIDENCE:.0%} interval (Bonferroni over the family of "
                f"fits) that excludes the prediction says steeper or shallower; one that "
                f"contains it and is at most {EXPONENT_WIDTH:g} wide (the same width for "
                "every prediction) says consistent; anything else is inconclusive",
    "trend": f"the error keeps falling with size when Spearman's rank correlation of width "
             f"and mean error is at most {TREND_RHO:g} and the widest network's error is "
             "below the narrowest's by the Welch rule (Holm over data sets)",
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

    def plain(self) -> str:
        """"word (reason)"."""
        return f"{self.word} ({self.reason})" if self.reason else self.word


def seeds_reason(*counts: int) -> str | None:
    """Why too few runs forbid a verdict, or None when every count suffices."""
    n = min(counts)
    return None if n >= MIN_SEEDS else f"n={n}: no spread to judge a difference"


def failed(value: float | None, chance: float | None) -> bool:
    """Whether a run's error says it never learned: no finite value (diverged), or within
    `FAILURE_MARGIN` of the best constant guess `chance` (None: no such guess known)."""
    if value is None or not math.isfinite(value):
        return True
    return chance is not None and value >= (1 - FAILURE_MARGIN) * chance


def tally(better: int, worse: int, judged: int) -> Verdict | None:
    """The verdict from comparisons beyond noise: `better` for the claim, `worse` against,
    out of `judged` (the rest within noise); None when nothing could be judged."""
    if judged == 0:
        return None
    if better == judged:
        return Verdict(HELD)
    if better:
        return Verdict(PART, f"{better} of {judged}")
    if worse:
        return Verdict(NOT_HELD)
    return Verdict(INCONCLUSIVE, "every difference within noise")


def exponent(low: float, high: float, predicted: float,
             width: float = EXPONENT_WIDTH) -> Verdict:
    """A fitted exponent's interval against its prediction, symmetric in the prediction:
    steeper or shallower when the interval excludes it, consistent when it contains it
    and is at most `width` wide, else inconclusive (with the reason)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return Verdict(INCONCLUSIVE, "no interval (fewer than 2 seeds)")
    rounding = 1e-9  # exact curves give a zero-width interval, off by float rounding
    if low - rounding > predicted:
        return Verdict(STEEPER, f"[{low:.2f}, {high:.2f}] above {predicted:g}")
    if high + rounding < predicted:
        return Verdict(SHALLOWER, f"[{low:.2f}, {high:.2f}] below {predicted:g}")
    if high - low <= width:
        return Verdict(CONSISTENT, f"[{low:.2f}, {high:.2f}] contains {predicted:g}")
    return Verdict(INCONCLUSIVE, f"[{low:.2f}, {high:.2f}] contains {predicted:g} but is "
                                 f"{high - low:.2f} wide (consistent needs <= {width:g})")


def from_parts(verdicts: list[Verdict], agree: str = HELD) -> Verdict:
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
