"""The numbers every verdict rests on: two-sample t-tests, intervals, Holm's correction.

    c = welch([0.31, 0.29, 0.33], [0.12, 0.15, 0.11])   # c.diff, c.low, c.high, c.p
    adjusted = holm([c.p for c in family])             # one claim's family, corrected

Numbers in, numbers out (scipy for the t distribution). Why t and not "2 standard
errors": with 3 seeds per arm a normal 2-SE rule calls a difference on null data about
11% of the time; Welch's t with its Welch-Satterthwaite degrees of freedom keeps the
nominal 5% (`tests/test_inference.py` measures both). A claim judged over several
comparisons (depths, budgets, methods) is one family, and Holm's step-down correction
keeps its family-wise error at the level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05  # two-sided level of every test, family-wise after Holm
CONFIDENCE = 0.95  # intervals of differences and exponents
TESTS = ("welch", "paired")


@dataclass(frozen=True)
class Difference:
    """A two-sample comparison of `a` against `b` (lower is better wherever we use it).

    Attributes:
        test: "welch" (independent arms, unequal variances) or "paired" (by seed).
        n_a, n_b: sample sizes (paired: both the number of pairs).
        mean_a, mean_b: the arms' means.
        diff: mean_a - mean_b (paired: the mean of the pairwise differences, the same).
        low, high: its `CONFIDENCE` t-interval (unadjusted for multiplicity).
        t, df: the statistic and its degrees of freedom.
        p: two-sided p-value, before any correction.
    """

    test: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    t: float
    df: float
    p: float

    @property
    def relative(self) -> float:
        """diff / mean_b: the change of `a` as a fraction of `b` (nan when mean_b is 0)."""
        return self.diff / self.mean_b if self.mean_b else math.nan


def _degenerate(test: str, n_a: int, n_b: int, mean_a: float, mean_b: float,
                diff: float, df: float) -> Difference:
    """Both arms without spread: a difference is exact (p = 0), none is p = 1.

    With no spread there is nothing to estimate the noise from; a gap that is the same
    at every seed is taken as certain (the t statistic is infinite), as scipy would
    after a precision warning.
    """
    p = 1.0 if diff == 0 else 0.0
    t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return Difference(test, n_a, n_b, mean_a, mean_b, diff, diff, diff, t, df, p)


def welch(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
          ) -> Difference:
    """Welch's two-sample t-test of mean(a) - mean(b), with its t-interval.

    Needs at least 2 values per arm (a sample variance); ValueError otherwise.
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.size < 2 or y.size < 2:
        raise ValueError(f"welch needs at least 2 values per arm, got {x.size} and {y.size}")
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(x.mean() - y.mean())
    se2 = va + vb
    if se2 <= 1e-30 * max(diff * diff, 1e-300):
        return _degenerate("welch", x.size, y.size, float(x.mean()), float(y.mean()), diff,
                           float(x.size + y.size - 2))
    df = se2 ** 2 / (va ** 2 / (x.size - 1) + vb ** 2 / (y.size - 1))
    se = math.sqrt(se2)
    t = diff / se
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p = float(2 * stats.t.sf(abs(t), df))
    return Difference("welch", x.size, y.size, float(x.mean()), float(y.mean()), diff,
                      diff - half, diff + half, t, float(df), p)


def paired(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
           ) -> Difference:
    """Paired t-test of a - b over matched pairs (the same seed in both arms)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"paired needs two equally long samples of at least 2, got "
                         f"{x.size} and {y.size}")
    gaps = x - y
    diff, n = float(gaps.mean()), gaps.size
    spread = float(gaps.std(ddof=1))
    if spread <= 1e-12 * max(abs(diff), 1e-300):
        return _degenerate("paired", n, n, float(x.mean()), float(y.mean()), diff, n - 1.0)
    se = spread / math.sqrt(n)
    t = diff / se
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    p = float(2 * stats.t.sf(abs(t), n - 1))
    return Difference("paired", n, n, float(x.mean()), float(y.mean()), diff, diff - half,
                      diff + half, t, n - 1.0, p)


def compare(a: Sequence[float], b: Sequence[float], test: str = "welch",
            confidence: float = CONFIDENCE) -> Difference:
    """`welch` or `paired`, by name."""
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose one of {TESTS}")
    return (welch if test == "welch" else paired)(a, b, confidence)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    The i-th smallest of m p-values is multiplied by (m - i + 1), made non-decreasing in
    that order and capped at 1; rejecting where the adjusted p is below alpha keeps the
    family-wise error rate at alpha whatever the dependence between the tests.
    """
    p = np.asarray(pvalues, float)
    if p.size == 0:
        return []
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {list(pvalues)}")
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.maximum.accumulate(scaled)
    out = np.empty(m)
    out[order] = adjusted
    return [float(v) for v in out]


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE
               ) -> tuple[float, float, float]:
    """(mean, low, high): the t-interval of a mean over independent replicates (seeds)."""
    x = np.asarray(values, float)
    if x.size < 2:
        raise ValueError(f"an interval needs at least 2 values, got {x.size}")
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)) * float(x.std(ddof=1)) \
        / math.sqrt(x.size)
    mean = float(x.mean())
    return mean, mean - half, mean + half


def family_confidence(size: int, confidence: float = CONFIDENCE) -> float:
    """Per-interval confidence that keeps `size` intervals jointly at `confidence`
    (Bonferroni: the interval analogue of correcting a family of tests)."""
    if size < 1:
        raise ValueError(f"a family has at least one member, got {size}")
    return 1 - (1 - confidence) / size
