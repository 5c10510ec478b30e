"""Figures: curves with a band of one standard deviation over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

from hypermod.reporting.stats import Row  # noqa: E402


def band(ax, stats: Sequence[Row], x: str, label: str, marker: str = "o") -> None:
    """Plot mean against `x` with a shaded +-1 std band; `stats` as from `group_stats`.

    Groups whose runs all diverged (mean None) have no point.
    """
    stats = sorted((r for r in stats if r["mean"] is not None), key=lambda r: r[x])
    xs = [r[x] for r in stats]
    mean = [r["mean"] for r in stats]
    lo = [r["mean"] - r["std"] for r in stats]
    hi = [r["mean"] + r["std"] for r in stats]
    (line,) = ax.plot(xs, mean, marker=marker, markersize=4, label=label)
    ax.fill_between(xs, lo, hi, alpha=0.2, color=line.get_color(), linewidth=0)


def label_ticks(ax, values: Sequence[float]) -> None:
    """Put x ticks at exactly `values`, written out in full (a log axis's own overlap)."""
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xticks(list(values), [f"{v:,}" if float(v).is_integer() else f"{v:g}"
                                 for v in values])


def shades(palette: str, n: int) -> list:
    """`n` colours of a sequential matplotlib palette, light to dark (the lightest skipped)."""
    cmap = matplotlib.colormaps[palette]
    return [cmap(0.35 + 0.65 * (i + 1) / n) for i in range(n)]


def panels(n: int, title: str, width: float = 4.6, height: float = 3.6):
    """A row of `n` axes under a common title."""
    # A single panel still gets room for a long title.
    fig, axes = plt.subplots(1, n, figsize=(max(width * n, 7.0), height), squeeze=False)
    fig.suptitle(title)
    return fig, list(axes[0])


def save(fig, path: str | Path) -> Path:
    """Write the figure as PNG and release it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
