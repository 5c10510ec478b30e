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


def dodged(ax, stats: Sequence[Row], x: str, label: str, slot: int, slots: int,
           connect: bool = True, spread: float = 0.05) -> None:
    """Mean with +-1 std error bars against `x` on a log axis, each of `slots` series
    shifted by its own small factor (`slot` of them) so that bars at one x stay apart;
    `connect` draws the line between a series' points (off where x is not the design's
    axis, so that points sharing an x do not make vertical lines)."""
    stats = sorted((r for r in stats if r["mean"] is not None), key=lambda r: r[x])
    shift = (1 + spread) ** (slot - (slots - 1) / 2) if slots > 1 else 1.0
    ax.errorbar([r[x] * shift for r in stats], [r["mean"] for r in stats],
                yerr=[r["std"] for r in stats], marker="o", markersize=4, capsize=2,
                linestyle="-" if connect else "none", linewidth=1, label=label)


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


def selection_figure(table: Sequence[Row], x: str, series: Sequence[str], panel: str,
                     path: str | Path, ylabel: str = "validation error (mean over seeds)"):
    """Validation metric against a tuned value (log x), one line per `series` group, one
    panel per value of `panel`, the chosen value of each line circled; None when the
    table is empty. `table` is `hypermod.reporting.selection.choose`'s."""
    if not table:
        return None
    panels_ = sorted(dict.fromkeys(r[panel] for r in table),
                     key=lambda v: (not isinstance(v, (int, float)), v if isinstance(
                         v, (int, float)) else str(v)))
    fig, axes = panels(len(panels_), f"Tuning {x}: chosen on validation data (circled)")
    for ax, name in zip(axes, panels_):
        mine = [r for r in table if r[panel] == name and r["mean"] is not None]
        for key in dict.fromkeys(tuple(r[s] for s in series) for r in mine):
            line = sorted((r for r in mine if tuple(r[s] for s in series) == key),
                          key=lambda r: r[x])
            (drawn,) = ax.plot([r[x] for r in line], [r["mean"] for r in line], marker=".",
                               label=", ".join(map(str, key)))
            for r in line:
                if r["chosen"]:
                    ax.plot(r[x], r["mean"], "o", markersize=9, markerfacecolor="none",
                            color=drawn.get_color())
        title = f"{panel} {name:,}" if isinstance(name, int) else str(name)
        ax.set(title=title, xscale="log", xlabel=x, ylabel=ylabel)
        if ax.get_legend_handles_labels()[0]:  # none where every run of the panel failed
            ax.legend(fontsize=6, ncol=2)
    return save(fig, path)
