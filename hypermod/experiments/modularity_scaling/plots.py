"""modularity-scaling's figures: error-versus-size curves with their fits, and totals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hypermod.experiments.modularity_scaling.fits import ExponentEstimate
from hypermod.experiments.modularity_scaling.summary import predicted
from hypermod.reporting import figures as plotting

COLORS = {"hyper": "tab:blue", "embedding": "tab:orange", "mlp": "tab:green"}
LABELS = {"hyper": "hypernetwork", "embedding": "embedding", "mlp": "plain MLP on [x, I]"}


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


def _panel_grid(rows: int, cols: int, title: str):
    fig, axes = plotting.plt.subplots(rows, cols, figsize=(max(4.4 * cols, 7.0), 3.6 * rows + 0.4),
                                      squeeze=False)
    fig.suptitle(title)
    return fig, axes


def sweep_figure(sweeps: dict[tuple, Any], estimates: dict[tuple, Any], target: str, r: float,
                 path: Path) -> Path | None:
    """Error against primary size per (m1, m2) panel of `target`, both methods, with fits;
    None when the target has no sweep."""
    pairs = sorted({(k[1], k[2]) for k in sweeps if k[0] == target})
    if not pairs:
        return None
    m1s, m2s = sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs})
    fig, axes = _panel_grid(len(m1s), len(m2s), f"{target} target: test RMSE against primary "
                            "network size\n(mean ± std over seeds, best encoder; theory's slope "
                            "dashed)\nhollow: not primary-limited, left out of the fit")
    for (m1, m2) in pairs:
        ax = axes[m1s.index(m1)][m2s.index(m2)]
        for method in ("hyper", "embedding"):
            key = (target, m1, m2, method)
            if key in sweeps:
                sweep = sweeps[key]
                draw_measured(ax, sweep.sizes, sweep.errors, LABELS[method],
                              estimates.get(key), predicted(target, method, m1, m2, r),
                              COLORS[method], used=sweep.used)
        ax.set(title=f"m1={m1}, m2={m2}", xlabel="primary parameters N (g generated; q)",
               ylabel="test RMSE")
        ax.legend(fontsize=6)
    for row in axes:
        for ax in row:
            if not ax.has_data():
                ax.axis("off")
    return plotting.save(fig, path)


def totals_figure(totals: list[dict[str, Any]], path: Path) -> Path | None:
    """Structured target: error against all trainable parameters, every configuration and
    the best at each size; None without totals."""
    pairs = sorted({(t["m1"], t["m2"]) for t in totals})
    if not pairs:
        return None
    fig, axes = plotting.panels(len(pairs), "structured target: test RMSE against all "
                                "trainable parameters\n(every configuration; line: the best "
                                "at each size)", height=4.0)
    for ax, (m1, m2) in zip(axes, pairs):
        for t in (t for t in totals if (t["m1"], t["m2"]) == (m1, m2)):
            sizes, errs = [p[0] for p in t["points"]], [p[1] for p in t["points"]]
            color = COLORS[t["method"]]
            ax.loglog(sizes, errs, "o", color=color, markersize=3, alpha=0.6)
            ax.loglog(sizes, np.minimum.accumulate(errs), "-", color=color,
                      label=LABELS[t["method"]])
        ax.set(title=f"m1={m1}, m2={m2}", xlabel="trainable parameters",
               ylabel="test RMSE (mean over seeds)")
        ax.legend(fontsize=7)
    return plotting.save(fig, path)
