"""Report pieces: summaries over seeds, Markdown sections and tables, figures."""

from hypermod.reporting.markdown import Section, markdown_table, pm
from hypermod.reporting.stats import (
    Row,
    diverged_runs,
    final_rows,
    finite_stats,
    group_stats,
    spearman,
)

__all__ = [
    "Row",
    "Section",
    "diverged_runs",
    "final_rows",
    "finite_stats",
    "group_stats",
    "markdown_table",
    "pm",
    "spearman",
]
