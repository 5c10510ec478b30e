"""Measured scaling: the smallest network reaching an error, and power-law fits with intervals.

    levels = eps_levels(mean_errors, k=6)
    n = [smallest_size(sizes, mean_errors, eps) for eps in levels]
    fit = fit_power_law([1 / e for e in levels], n)     # slope = the measured exponent

Numbers in, numbers out (numpy). The theory says N(eps) ~ eps^-a; `exponent_with_ci`
estimates a from error-versus-size curves of several seeds: average the seeds' curves,
read N(eps) at a few errors inside the measured range, fit log N on log(1/eps) by least
squares. The interval is a t-interval over seeds: each seed's curve is fitted on its
own at the same errors, and the seeds' slopes are the independent replicates. A
percentile bootstrap of the averaged curve's slope (resampling, at every size, which
seeds' runs enter the average) is kept as a second view; with two or three seeds it is
too narrow (tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PowerLawFit:
    """log y = intercept + slope log x, fitted by least squares.

    Attributes:
        slope, intercept: the fit.
        stderr: standard error of the slope (nan with two points).
        t_low, t_high: the 95% t-interval of the slope, which treats the points as
            independent (they are not when they are read off one curve; see
            `ExponentEstimate` for the bootstrap).
        points: number of (x, y) pairs fitted.
    """

    slope: float
    intercept: float
    stderr: float
    t_low: float
    t_high: float
    points: int


def fit_power_law(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> PowerLawFit:
    """Least-squares slope of log y on log x, with its t-interval; x and y positive."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if lx.shape != ly.shape or lx.size < 2 or not np.all(np.isfinite(lx) & np.isfinite(ly)):
        raise ValueError(f"fit_power_law needs >= 2 positive pairs, got x={list(x)}, "
                         f"y={list(y)}")
    if np.ptp(lx) == 0:
        raise ValueError("fit_power_law needs at least two distinct x")
    slope, intercept = np.polyfit(lx, ly, 1)
    n = lx.size
    if n > 2:
        residual = ly - (intercept + slope * lx)
        stderr = math.sqrt(float(residual @ residual) / (n - 2) / float(((lx - lx.mean()) ** 2)
                                                                      .sum()))
        half = float(stats.t.ppf(0.5 + level / 2, n - 2)) * stderr
    else:
        stderr, half = math.nan, math.nan
    return PowerLawFit(float(slope), float(intercept), stderr, float(slope) - half,
                       float(slope) + half, n)


def envelope(errors: Sequence[float]) -> np.ndarray:
    """The running minimum: the best error reached by a network of at most that size.

    Why: a larger network can represent a smaller one, so an error reached at size N is
    reachable at every larger size; a later rise is a failure of training, not of size.
    """
    return np.minimum.accumulate(np.asarray(errors, float))


def smallest_size(sizes: Sequence[float], errors: Sequence[float], eps: float) -> float | None:
    """The smallest size whose (enveloped) error is at most `eps`, log-log interpolated.

    Args:
        sizes: increasing network sizes N.
        errors: the error at each size.
        eps: the target error.

    Returns:
        N(eps) between the last size above eps and the first at or below it, by linear
        interpolation of log N against log error; None when no size reaches eps, or when
        the smallest size already does (N(eps) is then only bounded above).
    """
    n, e = np.asarray(sizes, float), envelope(errors)
    if n.shape != e.shape or np.any(np.diff(n) <= 0):
        raise ValueError(f"sizes must increase and match errors: {list(sizes)}, {list(errors)}")
    hit = np.flatnonzero(e <= eps)
    if hit.size == 0 or hit[0] == 0:
        return None
    i = int(hit[0])
    if e[i - 1] == e[i]:
        return float(n[i])
    t = (math.log(e[i - 1]) - math.log(eps)) / (math.log(e[i - 1]) - math.log(e[i]))
    return float(math.exp(math.log(n[i - 1]) + t * (math.log(n[i]) - math.log(n[i - 1]))))


def eps_levels(errors: Sequence[float], k: int = 6) -> list[float]:
    """`k` target errors spaced evenly in log between the curve's first and best errors.

    The levels sit at the midpoints of k equal slices of [log best, log first], so none
    is an end point (whose N would be censored) and the rule depends on nothing but the
    curve itself. Empty when the curve never improves.
    """
    e = envelope(errors)
    lo, hi = math.log(e[-1]), math.log(e[0])
    if k < 1 or not hi > lo:
        return []
    return [math.exp(hi - (i + 0.5) * (hi - lo) / k) for i in range(k)]


@dataclass(frozen=True)
class ExponentEstimate:
    """The measured exponent a in N(eps) ~ eps^-a, with two 95% intervals.

    Attributes:
        seed_slopes: the slope fitted to each seed's own curve (at the common levels).
        low, high: t-interval over seeds, mean +- t_(n-1) sd / sqrt(n): seeds are the
            independent replicates, and with few of them the t quantile keeps the
            interval honest (wide). nan with fewer than two seeds.
        fit: least squares on the seed-averaged curve.
        boot_low, boot_high: percentile bootstrap of `fit`'s slope, resampling at every
            size which seeds' runs enter the average; with few seeds it is too narrow,
            so it is a second view only.
        levels: the target errors; sizes: N(eps) read off the averaged curve at each.
        replicates: bootstrap replicates that gave a slope (of `draws`).
    """

    seed_slopes: tuple[float, ...]
    low: float
    high: float
    fit: PowerLawFit
    boot_low: float
    boot_high: float
    levels: tuple[float, ...]
    sizes: tuple[float, ...]
    replicates: int
    draws: int

    @property
    def slope(self) -> float:
        """Mean of the per-seed slopes, or the averaged curve's slope with one seed."""
        return float(np.mean(self.seed_slopes)) if len(self.seed_slopes) > 1 \
            else self.fit.slope


def _at_levels(sizes: np.ndarray, errors: np.ndarray, levels: Sequence[float]) -> tuple:
    pairs = [(eps, smallest_size(sizes, errors, eps)) for eps in levels]
    pairs = [(eps, n) for eps, n in pairs if n is not None]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def _slope_or_none(sizes: np.ndarray, errors: np.ndarray,
                   levels: Sequence[float]) -> float | None:
    lv, n = _at_levels(sizes, errors, levels)
    if len(n) < 2 or np.ptp(np.log(lv)) == 0:
        return None
    return fit_power_law([1 / e for e in lv], n).slope


def exponent_with_ci(sizes: Sequence[float], runs: np.ndarray | Sequence[Sequence[float]],
                     k: int = 6, draws: int = 2000, seed: int = 0,
                     level: float = 0.95) -> ExponentEstimate | None:
    """Fit N(eps) ~ eps^-a to error curves of several seeds.

    Args:
        sizes: increasing network sizes, (S,).
        runs: (R, S) errors, one row per seed; nan where a run is missing.
        k: target errors (see `eps_levels`, applied to the seed-averaged curve; every
            seed's curve is read at the same levels).
        draws: bootstrap replicates; seed: their generator's seed.

    Returns:
        The estimate, or None when the averaged curve gives fewer than two levels.
    """
    sizes_arr, err = np.asarray(sizes, float), np.asarray(runs, float)
    if err.ndim != 2 or err.shape[1] != sizes_arr.size:
        raise ValueError(f"runs must be (seeds, {sizes_arr.size}); got {err.shape}")
    mean = np.nanmean(err, axis=0)
    levels, ns = _at_levels(sizes_arr, mean, eps_levels(mean, k))
    if len(ns) < 2:
        return None
    fit = fit_power_law([1 / e for e in levels], ns)
    complete = [row for row in err if np.all(np.isfinite(row))]
    seed_slopes = [s for s in (_slope_or_none(sizes_arr, row, levels) for row in complete)
                   if s is not None]
    low = high = math.nan
    if len(seed_slopes) > 1:
        n = len(seed_slopes)
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(np.std(seed_slopes, ddof=1)) \
            / math.sqrt(n)
        low, high = float(np.mean(seed_slopes)) - half, float(np.mean(seed_slopes)) + half
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(draws if err.shape[0] > 1 else 0):  # one seed: nothing to resample
        picked = np.empty_like(mean)
        for j in range(sizes_arr.size):  # resample the runs at each size independently
            column = err[:, j][np.isfinite(err[:, j])]
            picked[j] = rng.choice(column, size=column.size).mean()
        slope = _slope_or_none(sizes_arr, picked, levels)
        if slope is not None:
            slopes.append(slope)
    boot = np.percentile(slopes, [2.5, 97.5]) if slopes else (math.nan, math.nan)
    return ExponentEstimate(tuple(seed_slopes), low, high, fit, float(boot[0]),
                            float(boot[1]), tuple(levels), tuple(ns), len(slopes), draws)


def smallest_total(totals: Sequence[float], errors: Sequence[float], eps: float) -> float | None:
    """The fewest parameters among configurations whose error is at most `eps`, or None.

    For a grid of architectures (encoder width x primary width) whose sizes do not lie on
    one curve: no interpolation, just the best configuration that reaches eps.
    """
    ok = [t for t, e in zip(totals, errors) if e <= eps]
    return float(min(ok)) if ok else None
