"""modularity-scaling's figure piece: a measured error-versus-size curve with its fit."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hypermod.experiments.modularity_scaling.fits import ExponentEstimate


def draw_measured(ax, sizes: Sequence[float], runs: np.ndarray, label: str,
                  estimate: ExponentEstimate | None, predicted: float | None,
                  color: str, used: Sequence[bool] | None = None) -> None:
    """Mean error +-1 std over seeds against size, the fit, and the predicted slope.

    Args:
        sizes: (S,) network sizes; runs: (R, S) errors of R seeds.
        used: (S,) which points entered the fit (filled markers); the others are hollow.
        estimate: the fit of N(eps) ~ eps^-a (drawn as eps ~ N^(-1/a) over its range).
        predicted: the theory's a, drawn through the middle of the fitted range.
    """
    mean, std = np.nanmean(runs, axis=0), np.nanstd(runs, axis=0, ddof=1 if len(runs) > 1
                                                     else 0)
    used = np.ones(len(sizes), bool) if used is None else np.asarray(used, bool)
    ax.loglog(sizes, mean, "-", color=color, lw=1, label=label)
    sizes_arr = np.asarray(sizes, float)
    ax.loglog(sizes_arr[used], mean[used], "o", color=color, markersize=4)
    ax.loglog(sizes_arr[~used], mean[~used], "o", markerfacecolor="none", color=color,
              markersize=4)
    ax.fill_between(sizes, np.maximum(mean - std, mean * 0.5), mean + std, color=color,
                    alpha=0.2, linewidth=0)
    if estimate is None:
        return
    fit = estimate.fit
    n = np.geomspace(min(estimate.sizes), max(estimate.sizes), 20)
    # log N = b + a log(1/eps)  <=>  eps = exp((b - log N) / a)
    ax.loglog(n, np.exp((fit.intercept - np.log(n)) / fit.slope), "-", color=color, lw=2.5,
              alpha=0.5, label=f"fit a={estimate.slope:.2f}"
              + (f" [{estimate.low:.2f}, {estimate.high:.2f}]"
                 if len(estimate.seed_slopes) > 1 else ""))
    if predicted:
        center_n = math.sqrt(min(estimate.sizes) * max(estimate.sizes))
        center_e = math.exp((fit.intercept - math.log(center_n)) / fit.slope)
        ax.loglog(n, center_e * (n / center_n) ** (-1 / predicted), "--", color=color, lw=1,
                  label=f"theory a={predicted:g}")
