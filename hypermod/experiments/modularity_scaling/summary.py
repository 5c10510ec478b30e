"""modularity-scaling's numbers: exponent fits with verdicts, size ratios, totals, from rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from hypermod import theory
from hypermod.experiments.modularity_scaling.fits import (
    envelope,
    eps_levels,
    exponent_with_ci,
    smallest_size,
    smallest_total,
)
from hypermod.reporting import group_stats, verdict

# Target errors of the total-parameter comparison, fixed before any run.
TOTALS_EPS = (0.5, 0.3, 0.2, 0.1, 0.05, 0.03)


def predicted(target: str, method: str, m1: int, m2: int, r: float) -> float | None:
    """The theory's exponent, or None where it predicts none."""
    # Only the smooth target is a generic member of W_{r,m}; the structured one is not.
    return theory.predicted_exponents(m1, m2, r)[method] if target == "smooth" else None


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Every fit with its verdict, the claim's verdict, N_q / N_g, totals and diagnostics.

    `sweeps` and `estimates` ((target, m1, m2, method) -> curves and `ExponentEstimate`)
    are kept for the figures.
    """
    config = records[0]["config"]
    r, encoder = config["r"], config["encoder_width"]
    finals = [rec["rows"][-1] for rec in records if rec["rows"]]
    sweeps = _sweeps(finals, encoder)
    estimates = {key: exponent_with_ci(sizes, errors) if len(sizes) >= 2 else None
                 for key, (_, sizes, errors) in sweeps.items()}
    fits = [_fit(key, est, predicted(t, method, m1, m2, r))
            for key, est in estimates.items() for t, m1, m2, method in [key]]
    smooth = [f["verdict"] for f in fits if f["target"] == "smooth"]
    claim = (verdict.from_parts(smooth) if smooth
             else verdict.Verdict(verdict.INCONCLUSIVE, "no smooth-target fit"))
    capped = sum(f["steps"] >= config["max_steps"] for f in finals)
    gaps = [f["test_mse"] / f["train_mse"] for f in finals if f["train_mse"] > 0]
    return {
        "config": config, "r": r, "encoder": encoder, "sweeps": sweeps,
        "estimates": estimates, "fits": fits, "verdict": claim,
        "ratios": _ratios(sweeps), "totals": _totals(finals), "raw": _raw(finals, encoder),
        "diagnostics": {"runs": len(finals), "capped": capped,
                        "gap_median": float(np.median(gaps)) if gaps else None,
                        "gap_max": max(gaps) if gaps else None},
    }


def _sweeps(finals: list[dict[str, Any]], encoder: int) -> dict[tuple, tuple]:
    """(target, m1, m2, method) -> (widths, primary sizes, (seeds, widths) test RMSE)."""
    out = {}
    rows = [r for r in finals if r["method"] != "mlp" and r["encoder"] == encoder]
    for key in dict.fromkeys((r["target"], r["m1"], r["m2"], r["method"]) for r in rows):
        mine = [r for r in rows if (r["target"], r["m1"], r["m2"], r["method"]) == key]
        widths = sorted({r["width"] for r in mine})
        seeds = sorted({r["seed"] for r in mine})
        size = {r["width"]: r["primary"] for r in mine}
        errors = np.full((len(seeds), len(widths)), np.nan)
        for r in mine:
            errors[seeds.index(r["seed"]), widths.index(r["width"])] = r["test_rmse"]
        out[key] = (widths, [size[w] for w in widths], errors)
    return out


def _fit(key: tuple, est, prediction: float | None) -> dict[str, Any]:
    """One fit's numbers and verdict; without a fit, only why."""
    target, m1, m2, method = key
    row = {"target": target, "m1": m1, "m2": m2, "method": method, "predicted": prediction}
    if est is None:
        return {**row, "verdict": verdict.Verdict(verdict.INCONCLUSIVE, "too few levels")}
    n = len(est.seed_slopes)
    return {**row, "slope": est.slope, "low": est.low, "high": est.high, "n": n,
            "pooled": est.fit.slope, "boot_low": est.boot_low, "boot_high": est.boot_high,
            "eps": (min(est.levels), max(est.levels)), "N": (min(est.sizes), max(est.sizes)),
            "verdict": verdict.exponent(est.slope, est.low, est.high, n, prediction)}


def _ratios(sweeps: dict[tuple, tuple]) -> list[dict[str, Any]]:
    """N_q / N_g at errors both seed-averaged curves reach."""
    rows = []
    for (target, m1, m2, method), (_, g_sizes, g_err) in sorted(sweeps.items()):
        if method != "hyper" or (target, m1, m2, "embedding") not in sweeps:
            continue
        _, q_sizes, q_err = sweeps[(target, m1, m2, "embedding")]
        g_env, q_env = envelope(np.nanmean(g_err, 0)), envelope(np.nanmean(q_err, 0))
        lo, hi = max(g_env[-1], q_env[-1]), min(g_env[0], q_env[0])
        for eps in eps_levels([hi, lo], k=3) if hi > lo else []:
            n_g, n_q = smallest_size(g_sizes, g_env, eps), smallest_size(q_sizes, q_env, eps)
            if n_g is not None and n_q is not None:
                rows.append({"target": target, "m1": m1, "m2": m2, "eps": eps, "n_g": n_g,
                             "n_q": n_q, "ratio": n_q / n_g})
    return rows


def _totals(finals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Structured target, per (m1, m2, method): (trainable, mean RMSE) of every
    configuration, the best RMSE, and the fewest parameters reaching each of TOTALS_EPS."""
    rows = [r for r in finals if r["target"] == "structured"]
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


def _raw(finals: list[dict[str, Any]], encoder: int) -> list[dict[str, Any]]:
    """Mean test RMSE per width of every sweep, with the primary size N."""
    rows = [f for f in finals if f["method"] != "mlp" and f["encoder"] == encoder]
    keys = ("target", "m1", "m2", "method", "width")
    size = {tuple(f[k] for k in keys): f["primary"] for f in rows}
    stats = sorted(group_stats(rows, keys, "test_rmse"), key=lambda s: tuple(s[k] for k in keys))
    return [{**s, "N": size[tuple(s[k] for k in keys)]} for s in stats]
