"""The statistics behind every verdict: t-tests against scipy, Holm by hand, and
calibration on simulated data (seeded, not timed): a "better" verdict fires at most at
its nominal rate on null data, Holm keeps a family of 8 at 5%, a planted difference is
found, and the exponent rule treats every prediction alike."""

import math

import numpy as np
import pytest
from scipy import stats

from hypermod.reporting import verdict
from hypermod.reporting.claims import Arm, Claim, judge
from hypermod.reporting.inference import family_confidence, holm, paired, t_interval, welch

REPS = 4000


def test_welch_is_scipys_unequal_variance_test_with_its_interval():
    a, b = [0.31, 0.29, 0.35, 0.30], [0.12, 0.19, 0.11]
    d = welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert d.p == pytest.approx(ref.pvalue, rel=1e-12)
    assert d.t == pytest.approx(ref.statistic, rel=1e-12)
    ci = ref.confidence_interval(0.95)
    assert (d.low, d.high) == (pytest.approx(ci.low, rel=1e-10), pytest.approx(ci.high,
                                                                                rel=1e-10))
    assert d.diff == pytest.approx(np.mean(a) - np.mean(b)) and (d.n_a, d.n_b) == (4, 3)


def test_paired_is_scipys_related_test():
    a, b = [0.31, 0.29, 0.35, 0.30], [0.30, 0.25, 0.33, 0.31]
    d = paired(a, b)
    ref = stats.ttest_rel(a, b)
    assert d.p == pytest.approx(ref.pvalue, rel=1e-12) and d.df == 3
    ci = ref.confidence_interval(0.95)
    assert d.low == pytest.approx(ci.low, rel=1e-10)


def test_a_gap_without_spread_is_certain_and_no_gap_is_no_evidence():
    assert welch([1.0, 1.0], [2.0, 2.0]).p == 0.0
    assert welch([1.0, 1.0], [1.0, 1.0]).p == 1.0
    assert paired([1.0, 2.0, 3.0], [0.5, 1.5, 2.5]).p == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        welch([1.0], [2.0, 3.0])


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.03, 0.04 times 4, 3, 2, 1 -> 0.04, 0.06, 0.06, 0.06 (monotone)
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
    with pytest.raises(ValueError):
        holm([1.5])


def test_intervals():
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(stats.t.ppf(0.975, 2) / math.sqrt(3))
    assert family_confidence(4) == pytest.approx(0.9875)


def _null_rate(n: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """On null data: how often the first arm is called lower (Welch), how often either
    is (two-sided), and how often the old 2-standard-error rule called a difference."""
    lower = either = old = 0
    for _ in range(REPS):
        a, b = rng.normal(size=n), rng.normal(size=n)
        d = welch(a, b)
        lower += d.p < 0.05 and d.diff < 0
        either += d.p < 0.05
        se = math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
        old += abs(a.mean() - b.mean()) > 2 * se
    return lower / REPS, either / REPS, old / REPS


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_better_verdict_fires_at_most_at_its_nominal_rate_on_null_data(n):
    rates = _null_rate(n, np.random.default_rng(n))
    mc = 3 * math.sqrt(0.05 * 0.95 / REPS)  # three Monte Carlo standard errors
    assert rates[0] <= 0.025 + mc and rates[1] <= 0.05 + mc
    if n == 3:  # what the rule it replaces did: about 11% at 3 seeds
        assert rates[2] > 0.09


def _family_rows(rng: np.random.Generator, n: int, shift: float, depths: int = 8):
    rows = []
    for depth in range(depths):
        for method, offset in (("hyper", shift), ("embedding", 0.0)):
            rows += [{"method": method, "depth": depth, "seed": s,
                      "test_error": 0.5 + offset + 0.01 * v}
                     for s, v in enumerate(rng.normal(size=n), 1)]
    return rows


CLAIM = Claim("lower", "hyper lower at every depth", "test_error", Arm("hyper",
              {"method": "hyper"}), Arm("embedding", {"method": "embedding"}),
              family=("depth",))


def test_holm_keeps_a_family_of_eight_within_five_percent():
    rng = np.random.default_rng(8)
    reps = 1500
    fired = 0
    for _ in range(reps):
        (j,) = judge(CLAIM, _family_rows(rng, 5, 0.0))
        fired += any(p.outcome in ("first", "second") for p in j.pairs)
    assert fired / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


def test_a_true_difference_of_three_standard_deviations_at_five_seeds_is_found():
    rng = np.random.default_rng(3)
    reps = 1000
    found = sum(p.outcome == "first" for _ in range(reps)
                for p in judge(CLAIM, _family_rows(rng, 5, -0.03, depths=1))[0].pairs)
    assert found / reps >= 0.8


@pytest.mark.parametrize("low, high", [(0.8, 1.3), (1.2, 1.9), (0.2, 0.9), (0.1, 2.5),
                                       (-1.0, -0.5), (1.0, 1.0)])
@pytest.mark.parametrize("shift", [0.0, 1.0, 3.0, -0.7])
def test_the_exponent_rule_gives_the_same_verdict_wherever_the_prediction_lies(low, high,
                                                                                shift):
    base = verdict.exponent(low, high, 1.0)
    moved = verdict.exponent(low + shift, high + shift, 1.0 + shift)
    assert moved.word == base.word


def test_exponent_words():
    assert verdict.exponent(0.8, 1.3, 1.0).word == verdict.CONSISTENT
    assert verdict.exponent(2.46, 4.65, 1.0).word == verdict.STEEPER
    assert verdict.exponent(1.03, 3.50, 4.0).word == verdict.SHALLOWER
    assert verdict.exponent(0.87, 1.93, 1.0).word == verdict.INCONCLUSIVE
    # the old rule's asymmetry: both intervals contain their prediction and are equally wide
    assert verdict.exponent(0.0, 2.2, 1.0).word == verdict.exponent(3.0, 5.2, 4.0).word
    assert verdict.exponent(math.nan, math.nan, 1.0).word == verdict.INCONCLUSIVE
