"""oracle-scaling's numbers: curves, fits with intervals, the K and E controls, the first
three pre-registered verdicts (`rules.py`; the fourth, on totals, is in `structured.py`).
Rows in, plain data out (numpy and scipy).

    result = analyze(rows)     # result["verdicts"]["g_rate"].word, result["fits"], ...
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from hypermod.experiments.modularity_scaling.fits import envelope, eps_levels, smallest_size
from hypermod.experiments.oracle_scaling import rules
from hypermod.reporting.inference import ALPHA, holm, welch
from hypermod.reporting.verdict import (
    HELD,
    INCONCLUSIVE,
    NOT_HELD,
    PART,
    Verdict,
    exponent,
)

Row = dict[str, Any]


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the t-interval of the mean; nan bounds with fewer than 2 values."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    if v.size < 2:
        return float(v.mean()), math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1)) * float(v.std(ddof=1)) \
        / math.sqrt(v.size)
    return float(v.mean()), float(v.mean()) - half, float(v.mean()) + half


def curve(rows: list[Row], error: str = "test_rmse", **point: Any
          ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Sizes N (increasing), errors (seeds x sizes, nan where a run is missing or failed)
    and the seeds, of the rows matching `point` (method, m2, K, E...)."""
    mine = [r for r in rows if all(r.get(k) == v for k, v in point.items())]
    sizes = sorted({r["primary"] for r in mine})
    seeds = sorted({r["seed"] for r in mine})
    runs = np.full((len(seeds), len(sizes)), np.nan)
    for r in mine:
        value = r.get(error)
        if value is not None and math.isfinite(value):
            runs[seeds.index(r["seed"]), sizes.index(r["primary"])] = value
    return np.asarray(sizes, float), runs, seeds


def _pairs(sizes: np.ndarray, errors: np.ndarray, levels: Sequence[float]):
    out = [(eps, smallest_size(sizes, errors, eps)) for eps in levels]
    return [(eps, n) for eps, n in out if n is not None]


def fit(sizes: np.ndarray, runs: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """The exponent a of N ~ eps^-a: each seed's slope of log N on log(1/eps) at common
    levels, their mean and t-interval, and the curvature check.

    Returns a dict with "slope", "low", "high", "n" (seeds fitted), "seed_slopes" (one per
    row of `runs`, None where a seed gave fewer than 2 levels), "levels", "sizes_at"
    (N read off the seed-averaged curve), "curvature" (mean, low, high of the quadratic
    coefficient), "failed" (runs missing or failed) and "points".
    """
    finite = np.isfinite(runs)
    mean = np.array([np.nanmean(c) if np.isfinite(c).any() else np.nan for c in runs.T])
    out: dict[str, Any] = {"points": int(sizes.size), "failed": int((~finite).sum())}
    ok = np.isfinite(mean)
    levels = eps_levels(mean[ok], rules.LEVELS) if ok.sum() >= 2 else []
    averaged = _pairs(sizes[ok], mean[ok], levels) if ok.sum() >= 2 else []
    seed_slopes, quads = [], []
    for row in runs:
        good = np.isfinite(row)
        pairs = _pairs(sizes[good], row[good], levels) if good.sum() >= 2 else []
        if len(pairs) >= 2 and len({p[0] for p in pairs}) >= 2:
            lx = np.log([1 / p[0] for p in pairs])
            ly = np.log([p[1] for p in pairs])
            seed_slopes.append(float(np.polyfit(lx, ly, 1)[0]))
            quads.append(float(np.polyfit(lx, ly, 2)[0]) if len(pairs) >= 3 else None)
        else:
            seed_slopes.append(None)
            quads.append(None)
    slope, low, high = t_interval(seed_slopes, level)
    used = [p[1] for p in averaged]
    out.update(slope=slope, low=low, high=high, n=sum(s is not None for s in seed_slopes),
               seed_slopes=seed_slopes, levels=[p[0] for p in averaged], sizes_at=used,
               decades=float(np.log10(max(used) / min(used))) if len(used) >= 2 else 0.0,
               curvature=t_interval(quads))
    return out


def per_seed_trend(xs: Sequence[float], slopes: list[list[float | None]]
                   ) -> tuple[float, float, float, int]:
    """Each seed's exponents (one list per x, aligned by seed) regressed on x: the slope's
    mean and t-interval over the seeds that have every x, and their number."""
    per_seed = []
    for values in zip(*slopes):
        if all(v is not None for v in values):
            per_seed.append(float(np.polyfit(np.asarray(xs, float), np.asarray(values), 1)[0]))
    mean, low, high = t_interval(per_seed)
    return mean, low, high, len(per_seed)


def ratio_slope(g: tuple[np.ndarray, np.ndarray, list[int]],
                q: tuple[np.ndarray, np.ndarray, list[int]], level: float) -> dict[str, Any]:
    """Slope of log(N_q/N_g) on log(1/eps), per seed (g's seed s with q's seed s), at
    `RATIO_LEVELS` errors inside the range both seed-averaged curves reach."""
    (ng, eg, sg), (nq, eq, sq) = g, q
    mg, mq = np.nanmean(eg, axis=0), np.nanmean(eq, axis=0)
    env_g, env_q = envelope(mg[np.isfinite(mg)]), envelope(mq[np.isfinite(mq)])
    hi = min(env_g[0], env_q[0])
    lo = max(env_g[-1], env_q[-1])
    out: dict[str, Any] = {"range": (lo, hi)}
    if not hi > lo:
        return {**out, "slope": math.nan, "low": math.nan, "high": math.nan, "n": 0,
                "levels": [], "ratios": []}
    k = rules.RATIO_LEVELS
    levels = [math.exp(math.log(hi) - (i + 0.5) * (math.log(hi) - math.log(lo)) / k)
              for i in range(k)]
    slopes = []
    for seed in sorted(set(sg) & set(sq)):
        rg, rq = eg[sg.index(seed)], eq[sq.index(seed)]
        pg = dict(_pairs(ng[np.isfinite(rg)], rg[np.isfinite(rg)], levels))
        pq = dict(_pairs(nq[np.isfinite(rq)], rq[np.isfinite(rq)], levels))
        both = [eps for eps in levels if eps in pg and eps in pq]
        if len(both) >= 2:
            lx = np.log([1 / e for e in both])
            ly = np.log([pq[e] / pg[e] for e in both])
            slopes.append(float(np.polyfit(lx, ly, 1)[0]))
    slope, low, high = t_interval(slopes, level)
    ratios = []
    for eps in levels:
        a = smallest_size(ng[np.isfinite(mg)], mg[np.isfinite(mg)], eps)
        b = smallest_size(nq[np.isfinite(mq)], mq[np.isfinite(mq)], eps)
        ratios.append((eps, a, b, None if a is None or b is None else b / a))
    return {**out, "slope": slope, "low": low, "high": high, "n": len(slopes),
            "levels": levels, "ratios": ratios}


def controls(rows: list[Row], m2: int, widths: Sequence[int], a: dict[str, Any],
             b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per width of q: Welch's test of its errors at point `a` against point `b` (each a
    dict of fields: K, E), Holm-adjusted over the widths."""
    def errors(fields: dict[str, Any], width: int) -> list[float]:
        return [r["test_rmse"] for r in rows
                if r["method"] == "embedding" and r["m2"] == m2 and r["width"] == width
                and all(r[k] == v for k, v in fields.items())
                and r["test_rmse"] is not None and math.isfinite(r["test_rmse"])]

    out = []
    for w in widths:
        ea, eb = errors(a, w), errors(b, w)
        if len(ea) >= 2 and len(eb) >= 2:
            out.append({"width": w, "test": welch(ea, eb)})
    for item, p in zip(out, holm([c["test"].p for c in out])):
        item["p_adj"] = p
        item["moved"] = p < ALPHA
    return out


def _word(v: Verdict) -> str:
    return f"{v.word} ({v.reason})" if v.reason else v.word


def analyze(rows: list[Row], r: float = 1.0) -> dict[str, Any]:
    """Every fit, control and verdict of the smooth part (rows of target "smooth") of a
    target of smoothness `r` (the predictions are m1/r for g, (m1 + m2)/r for q)."""
    smooth = [r for r in rows if r.get("target") == "smooth"]
    if not smooth:
        return {}
    m2s = sorted({r["m2"] for r in smooth})
    m1 = smooth[0]["m1"]
    k_max = max(r["K"] for r in smooth)
    codes = sorted({r["E"] for r in smooth if r["method"] == "embedding"})
    e1 = min(codes) if codes else None
    bonferroni = 1 - ALPHA / len(m2s)
    fits, k_controls, e_controls, ratios = [], {}, {}, {}
    for m2 in m2s:
        for method, extra in (("hyper", {"K": k_max}), ("embedding", {"K": k_max, "E": e1})):
            for error in ("test_rmse", "test_max"):
                c = curve(smooth, error, method=method, m2=m2, **extra)
                if c[0].size < 2:
                    continue
                f = fit(c[0], c[1], bonferroni)
                f.update(method=method, m2=m2, error=error, K=k_max, E=extra.get("E"),
                         predicted=(m1 if method == "hyper" else m1 + m2) / r,
                         caps=sum(r["stop"] == "cap" for r in smooth if r["method"] == method
                                  and r["m2"] == m2 and all(r[k] == v for k, v in extra.items())))
                f["verdict"] = exponent(f["low"], f["high"], f["predicted"])
                fits.append(f)
        widths = sorted({r["width"] for r in smooth if r["method"] == "embedding"
                         and r["m2"] == m2})
        ks = sorted({r["K"] for r in smooth if r["method"] == "embedding" and r["m2"] == m2})
        k_controls[m2] = [(ks[i], ks[i + 1], controls(smooth, m2, widths, {"K": ks[i + 1],
                                                                           "E": e1},
                                                      {"K": ks[i], "E": e1}))
                          for i in range(len(ks) - 1)]
        e_controls[m2] = [(e, controls(smooth, m2, widths, {"K": k_max, "E": e},
                                       {"K": k_max, "E": e1})) for e in codes if e != e1]
        for e in codes:  # fits at every E and K, for the tables
            for k in ks:
                if (e, k) == (e1, k_max):
                    continue
                c = curve(smooth, method="embedding", m2=m2, K=k, E=e)
                if c[0].size >= 2 and np.isfinite(c[1]).any():
                    f = fit(c[0], c[1], bonferroni)
                    f.update(method="embedding", m2=m2, error="test_rmse", K=k, E=e,
                             predicted=(m1 + m2) / r, control=True,
                             caps=sum(r["stop"] == "cap" for r in smooth
                                      if r["method"] == "embedding" and r["m2"] == m2
                                      and r["K"] == k and r["E"] == e))
                    f["verdict"] = exponent(f["low"], f["high"], f["predicted"])
                    fits.append(f)
        ratios[m2] = ratio_slope(curve(smooth, method="hyper", m2=m2, K=k_max),
                                 curve(smooth, method="embedding", m2=m2, K=k_max, E=e1),
                                 bonferroni)
    k_limited = {m2: [c["width"] for c in k_controls[m2][-1][2] if c["moved"]]
                 if k_controls[m2] else [] for m2 in m2s}
    q_points = sum(len({r["width"] for r in smooth if r["method"] == "embedding"
                        and r["m2"] == m2}) for m2 in m2s)
    share = sum(len(v) for v in k_limited.values()) / q_points if q_points else 0.0
    main = [f for f in fits if f["error"] == "test_rmse" and not f.get("control")]
    verdicts = {"g_rate": _g_verdict(main, m2s),
                "q_grows": _q_verdict(main, m2s, share),
                "ratio": _ratio_verdict(ratios, share)}
    return {"m1": m1, "r": r, "m2s": m2s, "K": k_max, "E": e1, "fits": fits, "ratios": ratios,
            "k_controls": k_controls, "e_controls": e_controls, "k_limited": k_limited,
            "k_limited_share": share, "verdicts": verdicts}


def _main(fits: list[dict[str, Any]], method: str, m2s: list[int]) -> list[dict[str, Any]]:
    return [next((f for f in fits if f["method"] == method and f["m2"] == m2), None)
            for m2 in m2s]


def _g_verdict(fits: list[dict[str, Any]], m2s: list[int]) -> Verdict:
    g = _main(fits, "hyper", m2s)
    if any(f is None for f in g):
        return Verdict(INCONCLUSIVE, "g has no fit at some m2")
    words = [f["verdict"].word for f in g]
    parts = "; ".join(f"m2={f['m2']}: {f['slope']:.2f} [{f['low']:.2f}, {f['high']:.2f}]"
                      for f in g)
    if len(m2s) < 2:
        trend = (math.nan, math.nan, math.nan, 0)
    else:
        trend = per_seed_trend(m2s, [f["seed_slopes"] for f in g])
    mean, low, high, n = trend
    slope_text = f"slope against m2 {mean:.2f} [{low:.2f}, {high:.2f}] (n={n})"
    if any(w in ("steeper", "shallower") for w in words):
        return Verdict(NOT_HELD, f"{parts}; {slope_text}")
    if math.isfinite(low) and (low > 0 or high < 0):
        return Verdict(NOT_HELD, f"{parts}; {slope_text}: not flat")
    flat = math.isfinite(low) and low <= 0 <= high and high - low <= rules.FLAT_WIDTH
    if all(w == "consistent" for w in words) and flat:
        return Verdict(HELD, f"{parts}; {slope_text}")
    return Verdict(INCONCLUSIVE, f"{parts}; {slope_text}")


def _q_verdict(fits: list[dict[str, Any]], m2s: list[int], share: float) -> Verdict:
    q = _main(fits, "embedding", m2s)
    if any(f is None for f in q) or len(m2s) < 2:
        return Verdict(INCONCLUSIVE, "q needs a fit at two m2s or more")
    mean, low, high, n = per_seed_trend(m2s, [f["seed_slopes"] for f in q])
    parts = "; ".join(f"m2={f['m2']}: {f['slope']:.2f} [{f['low']:.2f}, {f['high']:.2f}] vs "
                      f"{f['predicted']:g}" for f in q)
    text = f"slope against m2 {mean:.2f} [{low:.2f}, {high:.2f}] (n={n}); {parts}"
    if not math.isfinite(low):
        return Verdict(INCONCLUSIVE, text)
    if low > 0:
        if share > rules.K_LIMITED_SHARE:
            return Verdict(INCONCLUSIVE, f"{text}; but {share:.0%} of q's points are "
                                         f"K-limited")
        return Verdict(HELD, text)
    if high < 0 or high - low <= rules.FLAT_WIDTH:
        return Verdict(NOT_HELD, text)
    return Verdict(INCONCLUSIVE, text)


def _ratio_verdict(ratios: dict[int, dict[str, Any]], share: float) -> Verdict:
    parts, words = [], []
    for m2, r in sorted(ratios.items()):
        parts.append(f"m2={m2}: {r['slope']:.2f} [{r['low']:.2f}, {r['high']:.2f}] "
                     f"(n={r['n']})")
        if not math.isfinite(r["low"]):
            words.append(INCONCLUSIVE)
        else:
            words.append(HELD if r["low"] > 0 else NOT_HELD if r["high"] < 0 else INCONCLUSIVE)
    text = "; ".join(parts)
    conclusive = [w for w in words if w != INCONCLUSIVE]
    if not conclusive:
        return Verdict(INCONCLUSIVE, text)
    if NOT_HELD in conclusive:
        return Verdict(NOT_HELD if HELD not in conclusive else PART, text)
    if len(conclusive) < len(words):
        return Verdict(PART, text)
    if share > rules.K_LIMITED_SHARE:
        return Verdict(INCONCLUSIVE, f"{text}; but {share:.0%} of q's points are K-limited")
    return Verdict(HELD, text)
