"""The oracle-scaling report: the four pre-registered verdicts with their numbers, every
fit, the K and E controls, the points, the structured totals, and figures."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from hypermod.experiments.modularity_scaling.fits import (
    eps_levels,
    fit_power_law,
    smallest_size,
)
from hypermod.experiments.oracle_scaling import analysis, rules, structured
from hypermod.reporting import Section, markdown_table
from hypermod.reporting import figures as plotting
from hypermod.reporting.inference import ALPHA

NAME = "oracle-scaling"
# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"target": str, "m1": int, "m2": int, "method": str, "width": int,
              "primary": int, "trainable": int, "test_rmse": float, "stop": str}
# The finite-encoder run drawn beside the oracle curves, when present (from the repo root).
FINITE = Path("docs/results/modularity-scaling/modularity-scaling/runs")
COLORS = {"hyper": "tab:blue", "embedding": "tab:orange", "mlp": "tab:green"}
LABELS = {"hyper": "hypernetwork (f + g)", "embedding": "embedding (e + q)",
          "mlp": "plain MLP on [x, I]"}


def _word(v) -> str:
    return f"**{v.word}** ({v.reason})" if v.reason else f"**{v.word}**"


def _ci(f: dict[str, Any]) -> str:
    if not math.isfinite(f.get("slope", math.nan)):
        return "no fit"
    if not math.isfinite(f["low"]):
        return f"{f['slope']:.2f} (n={f['n']})"
    return f"{f['slope']:.2f} [{f['low']:.2f}, {f['high']:.2f}] (n={f['n']})"


def _curvature(f: dict[str, Any]) -> str:
    mean, low, high = f["curvature"]
    if not math.isfinite(low):
        return "-"
    bent = "; one exponent does not describe the curve" if low > 0 or high < 0 else ""
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]{bent}"


def fits_table(result: dict[str, Any]) -> str:
    rows = []
    for f in sorted(result["fits"], key=lambda f: (f["m2"], f["method"], f["error"],
                                                   f["K"], f["E"] or 0)):
        rows.append({
            "m2": f["m2"], "primary": "g" if f["method"] == "hyper" else "q",
            "K": f["K"], "E": "-" if f["method"] == "hyper" else f["E"],
            "error": "RMSE" if f["error"] == "test_rmse" else "max abs error",
            "measured": _ci(f), "predicted": f"{f['predicted']:g}",
            "verdict": f["verdict"].word, "levels": len(f["levels"]),
            "decades": f"{f['decades']:.2f}",
            "eps": (f"{min(f['levels']):.3f}..{max(f['levels']):.3f}" if f["levels"]
                    else "-"),
            "curvature": _curvature(f), "failed": f["failed"], "caps": f["caps"],
            "role": "control" if f.get("control") else "main"})
    return markdown_table(rows, [
        ("m2", "m2"), ("primary", "primary"), ("K", "K"), ("E", "E"), ("error", "error"),
        ("role", "fit"), ("measured", "exponent a [CI]"), ("predicted", "theory"),
        ("verdict", "against theory"), ("levels", "levels"), ("decades", "decades of N"),
        ("eps", "eps range"), ("curvature", "quadratic term [CI]"),
        ("failed", "failed runs"), ("caps", "runs at the cap")])


def certificate_table(rows: list[dict[str, Any]], r: float) -> str:
    """Per m2: g's least-squares certificate, its running minimum over widths (a wider g
    holds every narrower one) and the exponent of that curve (least squares on its own
    levels; one curve, no seeds: it decides nothing)."""
    out = []
    for m2 in sorted({r["m2"] for r in rows if r.get("certificate_rmse") is not None}):
        pairs = sorted({(r["primary"], r["certificate_rmse"]) for r in rows
                        if r.get("certificate_rmse") is not None and r["m2"] == m2})
        sizes = np.asarray([p[0] for p in pairs], float)
        bound = np.minimum.accumulate([p[1] for p in pairs])
        levels = eps_levels(bound, rules.LEVELS)
        found = [(e, smallest_size(sizes, bound, e)) for e in levels]
        found = [(e, n) for e, n in found if n is not None]
        slope = (fit_power_law([1 / e for e, _ in found], [n for _, n in found]).slope
                 if len(found) >= 2 else math.nan)
        out.append({"m2": m2, "curve": ", ".join(f"{int(n)}: {b:.3f}" for n, b in
                                                 zip(sizes, bound)),
                    "slope": f"{slope:.2f}", "predicted": f"{1 / r:g}"})  # m1 = 1
    return markdown_table(out, [("m2", "m2"), ("curve", "N: certificate RMSE (running min)"),
                                ("slope", "its exponent"), ("predicted", "m1/r")])


def ratio_table(result: dict[str, Any]) -> str:
    rows = []
    for m2, r in sorted(result["ratios"].items()):
        for eps, ng, nq, ratio in r["ratios"]:
            rows.append({"m2": m2, "eps": f"{eps:.3f}",
                         "ng": "-" if ng is None else f"{ng:,.0f}",
                         "nq": "-" if nq is None else f"{nq:,.0f}",
                         "ratio": "-" if ratio is None else f"{ratio:.1f}",
                         "slope": _ci(r), "theory": f"{m2 / result['r']:g}"})
    return markdown_table(rows, [("m2", "m2"), ("eps", "RMSE eps"), ("ng", "N_g"),
                                 ("nq", "N_q"), ("ratio", "N_q / N_g"),
                                 ("slope", "slope of log ratio on log(1/eps) [CI]"),
                                 ("theory", "theory's slope m2/r")])


def control_table(result: dict[str, Any]) -> str:
    rows = []
    for m2 in result["m2s"]:
        families = [(f"K {small} -> {large}", tests)
                    for small, large, tests in result["k_controls"][m2]]
        families += [(f"E {result['E']} -> {e}", tests) for e, tests in result["e_controls"][m2]]
        for label, tests in families:
            for c in tests:
                t = c["test"]
                rows.append({"m2": m2, "control": label, "width": c["width"],
                             "a": f"{t.mean_b:.4f}", "b": f"{t.mean_a:.4f}",
                             "diff": f"{t.diff:+.4f} [{t.low:+.4f}, {t.high:+.4f}]",
                             "p": f"{c['p_adj']:.2g}", "moved": "moved" if c["moved"]
                             else "within noise", "n": f"{t.n_b}, {t.n_a}"})
    return markdown_table(rows, [("m2", "m2"), ("control", "control"), ("width", "q width"),
                                 ("a", "RMSE before"), ("b", "RMSE after"),
                                 ("diff", "change [95% CI]"), ("n", "n"),
                                 ("p", "Holm-adjusted p"), ("moved", "curve")])


def points_table(rows: list[dict[str, Any]]) -> str:
    out = []
    keys = sorted({(r["m2"], r["method"], r["K"], r["E"], r["width"]) for r in rows
                   if r.get("target") == "smooth"})
    for m2, method, k, e, w in keys:
        mine = [r for r in rows if r.get("target") == "smooth" and r["m2"] == m2
                and r["method"] == method and r["K"] == k and r["E"] == e and r["width"] == w]
        ok = [r for r in mine if r["test_rmse"] is not None and math.isfinite(r["test_rmse"])]
        rmse = np.array([r["test_rmse"] for r in ok])
        sup = np.array([r["test_max"] for r in ok])
        adam = np.array([r["adam_test_rmse"] for r in ok])
        cert = mine[0].get("certificate_rmse")
        out.append({"m2": m2, "primary": "g" if method == "hyper" else "q", "K": k,
                    "E": "-" if method == "hyper" else e, "width": w, "N": mine[0]["primary"],
                    "rmse": (f"{rmse.mean():.4f} ± {rmse.std(ddof=1):.4f}" if rmse.size > 1
                             else f"{rmse.mean():.4f}" if rmse.size else "-"),
                    "max": f"{sup.mean():.3f}" if sup.size else "-",
                    "adam": f"{adam.mean():.4f}" if adam.size else "-",
                    "polished": f"{sum(r['polished'] for r in mine)} of {len(mine)}",
                    "caps": sum(r["stop"] == "cap" for r in mine),
                    "failed": len(mine) - len(ok),
                    "cert": "-" if cert is None else f"{cert:.4f}"})
    return markdown_table(out, [
        ("m2", "m2"), ("primary", "primary"), ("K", "K"), ("E", "E"), ("width", "width"),
        ("N", "N"), ("rmse", "test RMSE (mean ± sd)"), ("max", "max abs error (mean)"),
        ("adam", "RMSE before polish"), ("polished", "polish kept"),
        ("caps", "at the cap"), ("failed", "failed"),
        ("cert", "g by least squares, uniform kinks: RMSE")])


def _sizes(entry: dict[str, Any], method: str) -> str:
    """The geometric mean over seeds of a method's size at the entry's eps."""
    values = [v for v in entry["sizes"][method] if v is not None]
    reached = f"{len(values)} of {len(entry['sizes'][method])} seeds"
    return f"{np.exp(np.mean(np.log(values))):,.0f} ({reached})" if values else f"- ({reached})"


def _ratio(entry: dict[str, Any], method: str) -> str:
    mean, low, high, n = entry[method]
    if not n:
        return "-"
    return f"{mean:.1f}x [{low:.1f}, {high:.1f}] (n={n})" if math.isfinite(low) \
        else f"{mean:.1f}x (n={n})"


def totals_table(result: dict[str, Any]) -> str:
    rows = []
    for entry in result["table"]:
        star = " (eps*)" if entry["eps"] == result["eps_star"] else ""
        rows.append({"eps": f"{entry['eps']:.3f}{star}", "hyper": _sizes(entry, "hyper"),
                     "embedding": _sizes(entry, "embedding"), "mlp": _sizes(entry, "mlp"),
                     "re": _ratio(entry, "embedding"), "rm": _ratio(entry, "mlp")})
    return markdown_table(rows, [("eps", "test RMSE eps"),
                                 ("hyper", "hypernetwork f + g (geometric mean)"),
                                 ("embedding", "embedding e + q"), ("mlp", "plain MLP"),
                                 ("re", "embedding / hyper [CI]"), ("rm", "MLP / hyper [CI]")])


def _finite_curves() -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """(m2, method) -> (sizes, mean RMSE) of the committed finite-encoder run, if here."""
    from hypermod.records import read_unit_files

    if not FINITE.is_dir():
        return {}
    used, _ = read_unit_files(FINITE.glob("*.json"))
    finals = [rec["rows"][-1] for _, rec in used if rec["rows"]]
    out = {}
    for key in {(r["m2"], r["method"]) for r in finals if r.get("target") == "smooth"}:
        mine = [r for r in finals if r.get("target") == "smooth" and (r["m2"], r["method"]) == key]
        sizes = sorted({r["primary"] for r in mine})
        means = [float(np.mean([r["test_rmse"] for r in mine if r["primary"] == n]))
                 for n in sizes]
        out[key] = (np.asarray(sizes, float), np.asarray(means))
    return out


def _draw(ax, rows, error, method, m2, color, style, label, **point) -> None:
    sizes, runs, _ = analysis.curve(rows, error, method=method, m2=m2, **point)
    if sizes.size == 0 or not np.isfinite(runs).any():
        return
    mean = np.nanmean(runs, axis=0)
    std = np.nanstd(runs, axis=0, ddof=1) if runs.shape[0] > 1 else np.zeros_like(mean)
    ax.errorbar(sizes, mean, yerr=std, fmt=style, color=color, markersize=3, capsize=2,
                linewidth=1, label=label)


def oracle_figure(rows: list[dict[str, Any]], result: dict[str, Any], error: str,
                  path: Path) -> Path:
    m2s, k_max, e1 = result["m2s"], result["K"], result["E"]
    finite = _finite_curves() if error == "test_rmse" else {}
    name = "test RMSE" if error == "test_rmse" else "max abs error on the test points"
    fig, axes = plotting.panels(len(m2s), f"oracle encoders: {name} against primary size N "
                                "(mean ± sd over seeds)\nheld-out x of the training "
                                "instances; finite-encoder run (new instances) in grey",
                                height=4.2)
    smooth = [r for r in rows if r.get("target") == "smooth"]
    ks = sorted({r["K"] for r in smooth if r["method"] == "embedding"})
    codes = sorted({r["E"] for r in smooth if r["method"] == "embedding"})
    for ax, m2 in zip(axes, m2s):
        _draw(ax, smooth, error, "hyper", m2, COLORS["hyper"], "o-", f"g, K={k_max}", K=k_max)
        for k in ks:
            style = "o-" if k == k_max else "s:"
            _draw(ax, smooth, error, "embedding", m2, COLORS["embedding"], style,
                  f"q, K={k}, E={e1}", K=k, E=e1)
        for e in codes[1:]:
            _draw(ax, smooth, error, "embedding", m2, "tab:red", "^--", f"q, K={k_max}, E={e}",
                  K=k_max, E=e)
        if error == "test_rmse":
            cert = sorted({(r["primary"], r["certificate_rmse"]) for r in smooth
                           if r["method"] == "hyper" and r["m2"] == m2
                           and r.get("certificate_rmse") is not None})
            if cert:
                sizes, values = zip(*cert)
                ax.loglog(sizes, np.minimum.accumulate(values), "x--", color="tab:cyan",
                          markersize=4, linewidth=1,
                          label="g by least squares, uniform kinks (running min)")
        for method in ("hyper", "embedding"):
            if (m2, method) in finite:
                sizes, means = finite[(m2, method)]
                g = method == "hyper"
                ax.loglog(sizes, means, "d-" if g else "d:", color="grey", alpha=0.6,
                          markersize=3, linewidth=1, label="finite f: g" if g else "finite e: q")
        ax.set(xscale="log", yscale="log", title=f"m1={result['m1']}, m2={m2}",
               xlabel="primary parameters N", ylabel=name)
        ax.legend(fontsize=6, loc="upper right")
    return plotting.save(fig, path)


def totals_figure(rows: list[dict[str, Any]], totals: dict[str, Any], path: Path) -> Path:
    mine = [r for r in rows if r.get("target") == "structured"
            and r["test_rmse"] is not None and math.isfinite(r["test_rmse"])]
    fig, axes = plotting.panels(1, "structured target: test RMSE (new instances) against "
                                "all trainable parameters\n(mean ± sd over seeds per "
                                "configuration; dotted: eps*)", height=4.2)
    ax = axes[0]
    for method in ("hyper", "embedding", "mlp"):
        configs = sorted({(r["trainable"], r["width"], r["encoder"]) for r in mine
                          if r["method"] == method})
        xs, means, stds = [], [], []
        for n, w, e in configs:
            v = [r["test_rmse"] for r in mine if r["method"] == method and r["width"] == w
                 and r["encoder"] == e]
            xs.append(n)
            means.append(np.mean(v))
            stds.append(np.std(v, ddof=1) if len(v) > 1 else 0.0)
        ax.errorbar(xs, means, yerr=stds, fmt="o", color=COLORS[method], markersize=3,
                    capsize=2, label=LABELS[method])
    if totals.get("eps_star"):
        ax.axhline(totals["eps_star"], linestyle=":", color="black", linewidth=1)
    ax.set(xscale="log", yscale="log", xlabel="trainable parameters", ylabel="test RMSE")
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    """Verdicts, fits, controls, points and totals from the unit records."""
    rows = [rec["rows"][-1] for rec in records if rec["rows"]]
    result = analysis.analyze(rows, r=records[0]["config"]["r"] if records else 1.0)
    totals = structured.totals(rows)
    lines, tables, figures, notes = [], [], [], []
    if result:
        v = result["verdicts"]
        lines += [f"1. {rules.CLAIMS['g_rate']}: {_word(v['g_rate'])}",
                  f"2. {rules.CLAIMS['q_grows']}: {_word(v['q_grows'])}",
                  f"3. {rules.CLAIMS['ratio']}: {_word(v['ratio'])}"]
        tables += [fits_table(result), certificate_table(rows, result["r"]), ratio_table(result),
                   control_table(result), points_table(rows)]
        limited = ", ".join(f"m2={m2}: {w or 'none'}" for m2, w in result["k_limited"].items())
        notes.append(f"K-limited q widths at K={result['K']} (moved between K/2 and K): "
                     f"{limited}; {result['k_limited_share']:.0%} of q's points.")
        for error, stem in (("test_rmse", "oracle-scaling"), ("test_max", "oracle-scaling-sup")):
            figures.append(oracle_figure(rows, result, error, outdir / "figures"
                                         / f"{stem}.png").relative_to(outdir).as_posix())
    if totals:
        lines.append(f"4. {rules.CLAIMS['structured']}: {_word(totals['verdict'])}")
        if "table" in totals:
            tables.append(totals_table(totals))
            figures.append(totals_figure(rows, totals, outdir / "figures"
                                         / "oracle-scaling-structured.png")
                           .relative_to(outdir).as_posix())
            notes.append("Structured runs per method: " + ", ".join(
                f"{m} {totals['runs'][m]} ({totals['failed'][m]} failed, "
                f"{totals['caps'][m]} at the cap)" for m in totals["runs"]) + ".")
    notes += [f"What this run does not show: {rules.LIMITS}."]
    notes += [f"Rule ({name}): {text}." for name, text in rules.RULES.items()]
    notes.append(f"Intervals: t over seeds; tests at alpha {ALPHA:g}. Every seed of one "
                 "(m2, K) sees the same instances and points: seeds vary the "
                 "initialization and batch order, not the draw of instances.")
    claim = ("Pre-registered verdicts (rules in `hypermod/experiments/oracle_scaling/"
             "rules.py`, written before the full run):\n\n" + "\n".join(lines))
    return Section(title="Oracle encoders: the theorems' rates with f and e as large as "
                         "needed", claim=claim, figures=figures, tables=tables, notes=notes)
