"""What limits a point of a width sweep: its primary network, its encoder, training, or data.

    d = diagnose(rows)          # the final rows of one point's seeds
    d.label                     # "primary-limited", or e.g. "encoder-limited, data-limited"

The theorems bound the size of the primary network (g or q) that an error needs when the
encoder may be as large as needed, training finds the best weights and data is
unlimited. A measured error says that only when it is limited by the primary network,
so every point is trained again three ways (`experiment.run`): the chosen encoder twice
as wide, twice the training budget (steps and patience), and twice the data (instances
and points per instance). A probe names a limit only when it lowers the error beyond the
seed spread (a one-sided paired t-test over the probed seeds of log test RMSE, probe
against the same seed's own run, p < 0.05) and by more than `GAIN` (10%) on average: a
consistent change too small to move a fit does not count, nor a large one that is noise.
The point is *primary-limited* when no probe names a limit and no seed's run stopped at the step cap
(a capped run is not converged, so it counts as limited by training). The wider probe
goes one step beyond every encoder the envelope tried (`experiment.run`); a probe that
repeats an encoder the envelope already tried and rejected (runs made before that rule)
is flagged as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hypermod.reporting.inference import ALPHA, paired

GAIN = 0.10  # and by more than this fraction of the error: a change that matters to a fit
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
        limits: what lowered the error beyond the seed spread (or, for "optimization",
            a capped run), in the order of `LIMITS`; empty for a primary-limited point.
        p: probe name -> the paired test's one-sided p-value (None with one seed).
        repeats: probes that re-ran an encoder the envelope had tried (and rejected).
    """

    base: float
    probes: dict[str, float]
    capped: int
    seeds: int
    probed: int
    limits: tuple[str, ...]
    p: dict[str, float | None]
    repeats: tuple[str, ...] = ()

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


def _lowers(own: list[float], probe: list[float]) -> tuple[bool, float | None]:
    """Whether the probe's errors are lower than the same seeds' own beyond their
    spread (a paired t-test of log RMSE, one-sided because only a lower error names a
    limit, p < ALPHA) and by more than `GAIN` on average; and the p-value (None below 2
    seeds)."""
    if len(own) < 2:
        return False, None
    d = paired(np.log(probe), np.log(own))
    p = d.p / 2 if d.diff < 0 else 1 - d.p / 2
    return p < ALPHA and np.mean(probe) < (1 - GAIN) * np.mean(own), p


def diagnose(rows: list[dict[str, Any]]) -> Diagnosis:
    """The diagnosis of one point from its seeds' final rows (each with `test_rmse`,
    `stop` and, for the seeds that ran them, `probes`: name -> {"test_rmse": ...,
    "encoder": ...}; `tried` lists the envelope's encoders).

    Each probe is compared with the same seeds' own errors (paired); a point where no
    seed ran the probes (an old run, or a target not diagnosed) is not diagnosed.
    `capped` counts every seed.
    """
    if not rows:
        raise ValueError("diagnose needs at least one row")
    capped = sum(r.get("stop", "rule") != "rule" for r in rows)
    probed = [r for r in rows if r.get("probes")]
    paired_rows = probed or rows
    base = float(np.mean([r["test_rmse"] for r in paired_rows]))
    names = [n for n in PROBES if probed and all(n in r["probes"] for r in probed)]
    probes = {n: float(np.mean([r["probes"][n]["test_rmse"] for r in probed]))
              for n in names}
    tests = {n: _lowers([r["test_rmse"] for r in probed],
                        [r["probes"][n]["test_rmse"] for r in probed]) for n in names}
    hit = {PROBES[n] for n, (lower, _) in tests.items() if lower}
    if capped and probes:
        hit.add("optimization")
    repeats = tuple(n for n in names if n == "wider" and any(
        r["probes"][n].get("encoder") in {t.get("encoder") for t in r.get("tried", [])}
        for r in probed))
    return Diagnosis(base, probes, capped, len(rows), len(probed),
                     tuple(x for x in LIMITS if x in hit),
                     {n: p for n, (_, p) in tests.items()}, repeats)


def rule_text() -> str:
    """The diagnosis rule, for the report."""
    return ("Diagnosis: each point is trained again with its chosen encoder twice as wide "
            "(one step beyond every encoder the envelope tried, in runs made since that "
            "rule), with twice the steps and patience, and with twice the training "
            "instances and points per instance (same validation and test sets), on the "
            "first seeds (see probe_seeds). A probe names the limit (encoder, optimization, "
            f"data) only when it lowers the mean test RMSE by more than {GAIN:.0%} and "
            f"beyond the seed spread: a one-sided paired t-test over the probed seeds of "
            f"log RMSE, probe against the same seed's own run, p < {ALPHA:g} (uncorrected, "
            "so that limits are rather found than missed; with 3 seeds it needs a "
            "consistent gain); a seed whose run "
            "stopped at the step cap also marks the point optimization-limited (not "
            "converged). A point with no limit is primary-limited. Exponents are fitted "
            "on every point and on the primary-limited ones, side by side.")
