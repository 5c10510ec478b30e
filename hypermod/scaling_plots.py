"""Figures of the complexity bounds and of measured error-versus-size curves.

Used by `hypermod bounds --plot` and by the modularity-scaling report. Both draw on
log-log axes: the bounds as N against 1/eps, the measurements as error against N with
the fitted power law and the theory's slope beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hypermod import plotting, theory
from hypermod.scaling import ExponentEstimate


def draw_bounds(axes, m1: int, m2: int, r: float = 1.0, eps_min: float = 1e-3,
                eps_max: float = 0.5, constant: float = 1.0, primary: int = 10) -> None:
    """Two panels on `axes`: primary-network bounds, and structured-target totals."""
    eps = np.geomspace(eps_max, eps_min, 60)
    inv = 1 / eps
    lines = [
        (f"any network on W_(r,m1+m2): eps^-{(m1 + m2) / r:g} (Thm 1)",
         [theory.sobolev_lower_bound(e, m1 + m2, r, constant) for e in eps], ":"),
        (f"embedding q, lower: eps^-{(m1 + m2) / r:g} (Thm 2{'' if r == 1 else ', r=1 only'})",
         [theory.embedding_primary_lower_bound(e, m1, m2, r, constant) for e in eps], "-"),
        (f"hypernetwork g, upper: eps^-{m1 / r:g}",
         [theory.hyper_primary_upper_bound(e, m1, r, constant) for e in eps], "-"),
    ]
    for (label, values, style), width in zip(lines, (3.5, 1.5, 1.5)):
        axes[0].loglog(inv, values, style, label=label, lw=width)  # Thm 1 may coincide
    axes[0].set(xlabel="1 / eps", ylabel=f"parameters (constant {constant:g})",
                title=f"primary networks, m1={m1}, m2={m2}, r={r:g}")
    totals = [theory.structured_totals(e, m1, m2, r, primary, constant=constant) for e in eps]
    for key, label in (("hyper", "hypernetwork f + g"), ("embedding", "embedding e + q"),
                       ("mlp", "plain network on [x, I]")):
        axes[1].loglog(inv, [t[key] for t in totals], label=label)
    axes[1].set(xlabel="1 / eps", ylabel=f"parameters (constant {constant:g})",
                title=f"structured target y = g*(x; f*(I)), |g*| = {primary}")
    for ax in axes:
        ax.legend(fontsize=7)


def bounds_figure(path: str | Path, m1: int, m2: int, r: float = 1.0, eps_min: float = 1e-3,
                  eps_max: float = 0.5, constant: float = 1.0, primary: int = 10) -> Path:
    """The bound curves as a PNG at `path`."""
    fig, axes = plotting.panels(2, "Complexity bounds (orders; constants unknown in the paper)")
    draw_bounds(axes, m1, m2, r, eps_min, eps_max, constant, primary)
    return plotting.save(fig, path)


def draw_measured(ax, sizes: Sequence[float], runs: np.ndarray, label: str,
                  estimate: ExponentEstimate | None, predicted: float | None,
                  color: str) -> None:
    """Mean error +-1 std over seeds against size, the fit, and the predicted slope.

    Args:
        sizes: (S,) network sizes; runs: (R, S) errors of R seeds.
        estimate: the fit of N(eps) ~ eps^-a (drawn as eps ~ N^(-1/a) over its range).
        predicted: the theory's a, drawn through the middle of the fitted range.
    """
    mean, std = np.nanmean(runs, axis=0), np.nanstd(runs, axis=0, ddof=1 if len(runs) > 1
                                                     else 0)
    ax.loglog(sizes, mean, "o-", color=color, markersize=3, label=label)
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
