"""Figures of the complexity bounds: N against 1/eps on log-log axes.

Used by `hypermod bounds --plot` and by the modularity-scaling report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hypermod import theory
from hypermod.reporting import figures as plotting


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
