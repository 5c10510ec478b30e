"""What limits a point of a width sweep: its primary network, its encoder, training, or data.

    d = diagnose(rows)          # the final rows of one point's seeds
    d.label                     # "primary-limited", or e.g. "encoder-limited, data-limited"

The theorems bound the size of the primary network (g or q) that an error needs when the
encoder may be as large as needed, training finds the best weights and data is
unlimited. A measured error says that only when it is limited by the primary network,
so every point is trained again three ways (`experiment.run`): the chosen encoder twice
as wide, twice the training budget (steps and patience), and twice the data (instances
and points per instance). The point is *primary-limited* when none of the three lowers
its mean test error over seeds by more than `GAIN`, and when no seed's run stopped at the
step cap (a capped run is not converged, so it counts as limited by training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

GAIN = 0.10  # a probe that lowers the mean error by more than this fraction limits it
PROBES = {"wider": "encoder", "longer": "optimization", "data": "data"}
LIMITS = ("encoder", "optimization", "data")
PRIMARY, UNDIAGNOSED = "primary-limited", "not diagnosed"


@dataclass(frozen=True)
class Diagnosis:
    """One point's diagnosis.

    Attributes:
        base: mean test RMSE at the chosen encoder over the seeds that ran the probes
            (over every seed when none did).
        probes: probe name ("wider", "longer", "data") -> its mean test RMSE over the
            same seeds.
        capped: seeds whose chosen run stopped at the step cap (or diverged).
        seeds: seeds of the point; probed: those that ran the probes.
        limits: what lowered the error by more than `GAIN` (or, for "optimization", a
            capped run), in the order of `LIMITS`; empty for a primary-limited point.
    """

    base: float
    probes: dict[str, float]
    capped: int
    seeds: int
    probed: int
    limits: tuple[str, ...]

    @property
    def diagnosed(self) -> bool:
        return bool(self.probes)

    @property
    def primary_limited(self) -> bool:
        return self.diagnosed and not self.limits

    @property
    def label(self) -> str:
        if not self.diagnosed:
            return UNDIAGNOSED
        return PRIMARY if not self.limits else ", ".join(f"{x}-limited" for x in self.limits)

    def gain(self, probe: str) -> float | None:
        """The probe's relative change of the error, (probe - base) / base."""
        return self.probes[probe] / self.base - 1 if probe in self.probes else None


def diagnose(rows: list[dict[str, Any]]) -> Diagnosis:
    """The diagnosis of one point from its seeds' final rows (each with `test_rmse`,
    `stop` and, for the seeds that ran them, `probes`: name -> {"test_rmse": ...}).

    Each probe is compared with the mean of the same seeds' own errors (paired); a
    point where no seed ran the probes (an old run, or a target not diagnosed) is not
    diagnosed. `capped` counts every seed.
    """
    if not rows:
        raise ValueError("diagnose needs at least one row")
    capped = sum(r.get("stop", "rule") != "rule" for r in rows)
    probed = [r for r in rows if r.get("probes")]
    paired = probed or rows
    base = float(np.mean([r["test_rmse"] for r in paired]))
    probes = {name: float(np.mean([r["probes"][name]["test_rmse"] for r in probed]))
              for name in PROBES if probed and all(name in r["probes"] for r in probed)}
    hit = {PROBES[name] for name, error in probes.items() if error < (1 - GAIN) * base}
    if capped and probes:
        hit.add("optimization")
    return Diagnosis(base, probes, capped, len(rows), len(probed),
                     tuple(x for x in LIMITS if x in hit))


def rule_text() -> str:
    """The diagnosis rule, for the report."""
    return (f"Diagnosis: each point is trained again with its chosen encoder twice as wide, "
            f"with twice the steps and patience, and with twice the training instances and "
            f"points per instance (same validation and test sets), on the first seeds (see "
            f"probe_seeds). A probe that lowers the mean test RMSE over those seeds, against "
            f"the same seeds' own runs, by more than {GAIN:.0%} names the limit "
            f"(encoder, optimization, data); a seed whose run stopped at the step cap also "
            f"marks the point optimization-limited (not converged). A point with no limit "
            f"is primary-limited; only primary-limited points enter the exponent fits, and "
            f"the others are drawn hollow.")
