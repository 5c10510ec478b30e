"""modularity-scaling's numbers: exponent fits with verdicts, size ratios, totals, from rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hypermod import theory
from hypermod.experiments.modularity_scaling.diagnosis import Diagnosis, diagnose
from hypermod.experiments.modularity_scaling.fits import (
    ExponentEstimate,
    envelope,
    eps_levels,
    exponent_with_ci,
    smallest_size,
    smallest_total,
)
from hypermod.reporting import group_stats, verdict
from hypermod.reporting.inference import family_confidence

# Target errors of the total-parameter comparison, fixed before any run.
TOTALS_EPS = (0.5, 0.3, 0.2, 0.1, 0.05, 0.03)
MIN_POINTS = 3  # a slope through two points has no check on its straightness
MIN_LEVELS = 2  # error levels the total-parameter claim needs


def predicted(target: str, method: str, m1: int, m2: int, r: float) -> float | None:
    """The theory's exponent, or None where it predicts none."""
    # Only the smooth target is a generic member of W_{r,m}; the structured one is not.
    return theory.predicted_exponents(m1, m2, r)[method] if target == "smooth" else None


def bearing(method: str, fitted: verdict.Verdict) -> verdict.Verdict:
    """What a fit's comparison says about the theorem's bound, which points one way.

    g's m1/r is an upper bound (O): a steeper g, on primary-limited points, goes against
    it; consistent or shallower is within it. q's (m1+m2)/r is a lower bound over the
    whole class W_(r,m) (Omega, the worst function): consistent or steeper agrees, and a
    shallower q is allowed for one particular target, so it decides nothing.
    """
    if fitted.word not in (verdict.CONSISTENT, verdict.STEEPER, verdict.SHALLOWER):
        return fitted if fitted.word == verdict.INCONCLUSIVE \
            else verdict.Verdict(verdict.INCONCLUSIVE, fitted.word)
    if method == "hyper":
        return (verdict.Verdict(verdict.NOT_HELD, f"trained g steeper than the upper bound "
                                                  f"({fitted.reason})")
                if fitted.word == verdict.STEEPER else verdict.Verdict(verdict.HELD))
    if fitted.word == verdict.SHALLOWER:
        return verdict.Verdict(verdict.INCONCLUSIVE, "q shallower than the worst-case lower "
                                                     "bound, which one target may be")
    return verdict.Verdict(verdict.HELD)


@dataclass(frozen=True)
class Sweep:
    """One (target, m1, m2, method) width sweep: test RMSE per seed and width, at the
    encoder each seed's run chose, and each width's diagnosis."""

    widths: list[int]
    sizes: list[int]
    errors: np.ndarray  # (seeds, widths)
    diagnoses: list[Diagnosis]

    @property
    def used(self) -> np.ndarray:
        """Which widths enter the fits: the primary-limited ones, and every width of a
        sweep that was not diagnosed."""
        return np.array([d.primary_limited or not d.diagnosed for d in self.diagnoses])


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Every fit with its verdict, the claim's verdict, N_q / N_g, totals and diagnostics.

    `sweeps` and `estimates` ((target, m1, m2, method) -> `Sweep` and `ExponentEstimate`
    on the primary-limited widths) are kept for the figures; each fit also carries the
    fit on every width ("all_slope", ...), shown beside it.
    """
    config = records[0]["config"]
    r = config["r"]
    finals = [rec["rows"][-1] for rec in records if rec["rows"]]
    sweeps = _sweeps(finals)
    levels = _levels(sweeps)
    estimates = {key: _estimate(sweep, sweep.used, levels[key]) for key, sweep in sweeps.items()}
    everything = {key: _estimate(sweep, np.ones(len(sweep.widths), bool), levels[key])
                  for key, sweep in sweeps.items()}
    fits = [_fit(key, sweeps[key], est, everything[key], predicted(t, method, m1, m2, r),
                 levels[key])
            for key, est in estimates.items() for t, m1, m2, method in [key]]
    smooth = [f["bearing"] for f in fits if f["target"] == "smooth"]
    settings = [{"m1": m1, "m2": m2, "verdict": verdict.from_parts(
                    [f["bearing"] for f in fits if (f["target"], f["m1"], f["m2"])
                     == ("smooth", m1, m2)], agree=verdict.HELD)}
                for m1, m2 in sorted({(f["m1"], f["m2"]) for f in fits
                                      if f["target"] == "smooth"})]
    claim = (verdict.from_parts(smooth, agree=verdict.HELD) if smooth
             else verdict.Verdict(verdict.INCONCLUSIVE, "no smooth-target fit"))
    totals = _totals(finals)
    capped = sum(f.get("stop", "rule") != "rule" for f in finals)
    gaps = [f["test_mse"] / f["train_mse"] for f in finals if f["train_mse"] > 0]
    return {
        "config": config, "r": r, "sweeps": sweeps, "estimates": estimates, "fits": fits,
        "verdict": claim, "settings": settings, "ratios": _ratios(sweeps), "totals": totals,
        "totals_verdicts": _totals_verdicts(totals), "points": _points(sweeps),
        "raw": _raw(finals),
        "diagnostics": {"runs": len(finals), "capped": capped,
                        "gap_median": float(np.median(gaps)) if gaps else None,
                        "gap_max": max(gaps) if gaps else None},
    }


def _levels(sweeps: dict[tuple, Any]) -> dict[tuple, float]:
    """Each fit's interval confidence: Bonferroni over its family, the fits of one method
    on one target (g's exponents at every (m1, m2) are one claim, q's another)."""
    size: dict[tuple, int] = {}
    for target, _, _, method in sweeps:
        size[(target, method)] = size.get((target, method), 0) + 1
    return {key: family_confidence(size[(key[0], key[3])]) for key in sweeps}


def _sweeps(finals: list[dict[str, Any]]) -> dict[tuple, Sweep]:
    """(target, m1, m2, method) -> its `Sweep`, for g and q."""
    out = {}
    rows = [r for r in finals if r["method"] != "mlp"]
    for key in dict.fromkeys((r["target"], r["m1"], r["m2"], r["method"]) for r in rows):
        mine = [r for r in rows if (r["target"], r["m1"], r["m2"], r["method"]) == key]
        widths = sorted({r["width"] for r in mine})
        seeds = sorted({r["seed"] for r in mine})
        size = {r["width"]: r["primary"] for r in mine}
        errors = np.full((len(seeds), len(widths)), np.nan)
        for r in mine:
            errors[seeds.index(r["seed"]), widths.index(r["width"])] = r["test_rmse"]
        out[key] = Sweep(widths, [size[w] for w in widths], errors,
                         [diagnose([r for r in mine if r["width"] == w]) for w in widths])
    return out


def _estimate(sweep: Sweep, used: np.ndarray, level: float) -> ExponentEstimate | None:
    if used.sum() < 2:
        return None
    return exponent_with_ci(np.asarray(sweep.sizes)[used], sweep.errors[:, used],
                            level=level)


def _judged(est: ExponentEstimate | None, prediction: float | None) -> verdict.Verdict:
    """The exponent rule on one estimate (no prediction: descriptive only)."""
    if est is None:
        return verdict.Verdict(verdict.INCONCLUSIVE, "too few levels")
    reason = verdict.seeds_reason(len(est.seed_slopes))
    if reason:
        return verdict.Verdict(verdict.INCONCLUSIVE, reason)
    if prediction is None:
        return verdict.Verdict("no prediction")
    return verdict.exponent(est.low, est.high, prediction)


def _fit(key: tuple, sweep: Sweep, est: ExponentEstimate | None,
         everything: ExponentEstimate | None, prediction: float | None,
         level: float) -> dict[str, Any]:
    """One fit's numbers and verdict (on primary-limited points; on every point beside
    it); without a fit, only why."""
    target, m1, m2, method = key
    used = sweep.used
    sizes = np.asarray(sweep.sizes)[used]
    row = {"target": target, "m1": m1, "m2": m2, "method": method, "predicted": prediction,
           "points": int(used.sum()), "of": len(sweep.widths), "level": level,
           "diagnosed": all(d.diagnosed for d in sweep.diagnoses),
           "decades": float(np.log10(sizes.max() / sizes.min())) if sizes.size else 0.0}
    if everything is not None:
        row.update({"all_slope": everything.slope, "all_low": everything.low,
                    "all_high": everything.high,
                    "all_verdict": _judged(everything, prediction)})
    if row["points"] < MIN_POINTS:
        why = (f"{row['points']} primary-limited point(s) of {row['of']}" if row["diagnosed"]
               else f"{row['points']} point(s)")
        no_fit = verdict.Verdict(verdict.INCONCLUSIVE, f"{why}; a fit needs {MIN_POINTS}")
        return {**row, "verdict": no_fit, "bearing": no_fit}
    if est is None:
        no_fit = verdict.Verdict(verdict.INCONCLUSIVE, "too few levels")
        return {**row, "verdict": no_fit, "bearing": no_fit}
    judged = _judged(est, prediction)
    return {**row, "slope": est.slope, "low": est.low, "high": est.high,
            "n": len(est.seed_slopes), "pooled": est.fit.slope, "boot_low": est.boot_low,
            "boot_high": est.boot_high, "eps": (min(est.levels), max(est.levels)),
            "N": (int(sizes.min()), int(sizes.max())),
            "verdict": judged, "bearing": bearing(method, judged)}


def _points(sweeps: dict[tuple, Sweep]) -> list[dict[str, Any]]:
    """Every point's diagnosis, with its size and the spread of its seeds' errors
    ((max - min) / mean: how far apart independent runs of the same point land)."""
    out = []
    for (t, m1, m2, method), sweep in sorted(sweeps.items()):
        for j, (w, n, d) in enumerate(zip(sweep.widths, sweep.sizes, sweep.diagnoses)):
            column = sweep.errors[:, j][np.isfinite(sweep.errors[:, j])]
            out.append({"target": t, "m1": m1, "m2": m2, "method": method, "width": w,
                        "N": n, "diagnosis": d,
                        "spread": float(np.ptp(column) / column.mean()) if column.size > 1
                        else None})
    return out


def _ratios(sweeps: dict[tuple, tuple]) -> list[dict[str, Any]]:
    """N_q / N_g at errors both seed-averaged curves reach (primary-limited widths)."""
    rows = []
    for (target, m1, m2, method), g in sorted(sweeps.items()):
        if method != "hyper" or (target, m1, m2, "embedding") not in sweeps:
            continue
        q = sweeps[(target, m1, m2, "embedding")]
        if g.used.sum() < 2 or q.used.sum() < 2:
            continue
        g_sizes, q_sizes = np.asarray(g.sizes)[g.used], np.asarray(q.sizes)[q.used]
        g_env = envelope(np.nanmean(g.errors[:, g.used], 0))
        q_env = envelope(np.nanmean(q.errors[:, q.used], 0))
        lo, hi = max(g_env[-1], q_env[-1]), min(g_env[0], q_env[0])
        for eps in eps_levels([hi, lo], k=3) if hi > lo else []:
            n_g, n_q = smallest_size(g_sizes, g_env, eps), smallest_size(q_sizes, q_env, eps)
            if n_g is not None and n_q is not None:
                rows.append({"target": target, "m1": m1, "m2": m2, "eps": eps, "n_g": n_g,
                             "n_q": n_q, "ratio": n_q / n_g})
    return rows


def _configurations(finals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every configuration a structured-target unit trained (each encoder it tried), as
    rows with m1, m2, method, width, encoder, trainable and test_rmse."""
    out = []
    for r in finals:
        if r["target"] != "structured":
            continue
        for t in r.get("tried") or [r]:
            out.append({**{k: r[k] for k in ("m1", "m2", "method", "width", "seed")},
                        **{k: t[k] for k in ("encoder", "trainable", "test_rmse")}})
    return out


def _totals(finals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Structured target, per (m1, m2, method): (trainable, mean RMSE) of every
    configuration, the best RMSE, and the fewest parameters reaching each of TOTALS_EPS."""
    rows = _configurations(finals)
    stats = group_stats(rows, ("m1", "m2", "method", "width", "encoder"), "test_rmse")
    trainable = {(r["m1"], r["m2"], r["method"], r["width"], r["encoder"]): r["trainable"]
                 for r in rows}
    out = []
    for m1, m2 in sorted({(r["m1"], r["m2"]) for r in rows}):
        for method in ("hyper", "embedding", "mlp"):
            mine = [s for s in stats if (s["m1"], s["m2"], s["method"]) == (m1, m2, method)]
            if not mine:
                continue
            points = sorted((trainable[(m1, m2, method, s["width"], s["encoder"])], s["mean"])
                            for s in mine)
            totals, errs = [p[0] for p in points], [p[1] for p in points]
            out.append({"m1": m1, "m2": m2, "method": method, "points": points,
                        "best": min(errs),
                        "at_eps": {eps: smallest_total(totals, errs, eps) for eps in TOTALS_EPS}})
    return out


def _totals_verdicts(totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per structured (m1, m2): at every error of TOTALS_EPS that all three methods reach,
    the others' totals over the hypernetwork's, and the claim's verdict (held when the
    hypernetwork needs the fewest at every such level, of at least MIN_LEVELS)."""
    out = []
    for m1, m2 in sorted({(t["m1"], t["m2"]) for t in totals}):
        at = {t["method"]: t["at_eps"] for t in totals if (t["m1"], t["m2"]) == (m1, m2)}
        if set(at) != {"hyper", "embedding", "mlp"}:
            continue
        levels = [eps for eps in TOTALS_EPS if all(at[m][eps] is not None for m in at)]
        rows = [{"eps": eps, **{m: at[m][eps] for m in at},
                 "embedding_ratio": at["embedding"][eps] / at["hyper"][eps],
                 "mlp_ratio": at["mlp"][eps] / at["hyper"][eps]} for eps in levels]
        smallest = sum(r["embedding_ratio"] > 1 and r["mlp_ratio"] > 1 for r in rows)
        if len(rows) < MIN_LEVELS:
            word = verdict.Verdict(verdict.INCONCLUSIVE, f"{len(rows)} error level(s) that "
                                   f"all three methods reach; the claim needs {MIN_LEVELS}")
        else:
            word = verdict.tally(smallest, len(rows) - smallest, len(rows))
        out.append({"m1": m1, "m2": m2, "levels": rows, "verdict": word})
    return out


def _raw(finals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean test RMSE per width of every sweep (at each seed's chosen encoder), with the
    primary size N and the encoders chosen."""
    rows = [f for f in finals if f["method"] != "mlp"]
    keys = ("target", "m1", "m2", "method", "width")
    size = {tuple(f[k] for k in keys): f["primary"] for f in rows}
    chosen: dict[tuple, set] = {}
    for f in rows:
        chosen.setdefault(tuple(f[k] for k in keys), set()).add(f["encoder"])
    stats = sorted(group_stats(rows, keys, "test_rmse"), key=lambda s: tuple(s[k] for k in keys))
    return [{**s, "N": size[tuple(s[k] for k in keys)],
             "encoders": sorted(chosen[tuple(s[k] for k in keys)])} for s in stats]
