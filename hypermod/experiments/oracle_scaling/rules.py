"""oracle-scaling's pre-registered claims and verdict rules, written before its full run.

Every verdict below is computed by `analysis.py` from these constants and printed in the
report with the numbers behind it. Errors are test RMSE on held-out points of the
training instances (the sup norm, max |error| over those points, is fitted and shown
beside, but decides nothing). Fits: log N on log(1/eps) at the curve's own error levels
(`modularity_scaling.fits.eps_levels`, the envelope of the seed-averaged curve), each
seed's curve fitted at the same levels; intervals are t-intervals over seeds. Every
point of a curve enters its fit (no exclusion); a K-limited point is reported as such.
"""

from __future__ import annotations

from hypermod.reporting.inference import ALPHA
from hypermod.reporting.verdict import EXPONENT_WIDTH

LEVELS = 6  # error levels per fitted curve
RATIO_LEVELS = 5  # levels inside the error range both g and q reach
# Verdict 1: the slope of g's exponent against m2 must lie in an interval containing 0
# and at most this wide (exponent units per unit of m2) for "flat".
FLAT_WIDTH = 0.5
# Verdicts 2 and 3 are read off q at K_max; when more than this share of q's points there
# are K-limited, a "held" becomes inconclusive: the curve is not yet a rate.
K_LIMITED_SHARE = 0.5
SEPARATION = 10.0  # verdict 4: the total-size ratio's interval must lie above this

CLAIMS = {
    "g_rate": "g's exponent is consistent with m1/r = 1 at each m2, and flat in m2",
    "q_grows": "q's exponent grows with m2, toward the lower bound (m1 + m2)/r",
    "ratio": "N_q/N_g at equal error grows as the error falls, as eps^-(m2/r)",
    "structured": "on a structured target y = g*(x; f*(I)) the hypernetwork (f + g) needs "
                  f"over {SEPARATION:g}x fewer parameters than the embedding method (e + q) "
                  "and than a plain MLP on [x, I], at the smallest error all three reach",
}

RULES = {
    "g_rate": f"held when g's exponent interval at every m2 (Bonferroni over the m2s) "
              f"contains 1 and is at most {EXPONENT_WIDTH:g} wide, and the slope of the "
              f"exponent against m2 (each seed's exponents regressed on m2; t-interval "
              f"over seeds, 95%) contains 0 and is at most {FLAT_WIDTH:g} wide; did not "
              f"hold when an exponent interval excludes 1 or the slope's excludes 0; "
              f"else inconclusive",
    "q_grows": f"held when the slope of q's exponent (at K_max) against m2 has a 95% "
               f"interval above 0; did not hold when it lies below 0, or contains 0 and "
               f"is at most {FLAT_WIDTH:g} wide (flat); else inconclusive; a held becomes "
               f"inconclusive when over {K_LIMITED_SHARE:.0%} of q's points at K_max are "
               f"K-limited. q's exponents are set beside (m1 + m2)/r by the symmetric "
               f"interval rule",
    "ratio": f"per m2, each seed's log(N_q/N_g) at {RATIO_LEVELS} errors inside the "
             f"range both reach is regressed on log(1/eps); held when that slope's "
             f"interval over seeds (Bonferroni over the m2s) lies above 0 at every m2, "
             f"did not hold when one lies below 0, in part when some m2s hold; the same "
             f"K-limited rule as q's applies",
    "k_limited": f"a q point (m2, width) at K_max is K-limited when its errors at K_max "
                 f"and K_max/2 differ by Welch's t-test with Holm-adjusted p < {ALPHA:g} "
                 f"(the widths of one m2 are a family)",
    "e_control": f"doubling E moves the curve when q's errors at 2E and E (K_max) differ "
                 f"by Welch's t-test with Holm-adjusted p < {ALPHA:g} (widths of one m2 a "
                 f"family); the exponent at 2E is shown beside",
    "structured": f"eps* is the largest, over methods and seeds, of a seed's best test "
                  f"RMSE (so every seed of every method reaches it); each seed's size at "
                  f"eps* is its fewest trainable parameters among configurations with RMSE "
                  f"<= eps*; the ratio's interval is exp of the t-interval over seeds of log "
                  f"ratios (Bonferroni over the two ratios); held when both lie above "
                  f"{SEPARATION:g}, did not hold when one lies below, else inconclusive",
    "curvature": "a fit's curvature check: each seed's quadratic coefficient of log N on "
                 "log(1/eps) (needs 3 levels); when its 95% interval over seeds excludes "
                 "0, a single exponent does not describe the curve (said beside the fit)",
}

# Said in every report, beside the verdicts.
LIMITS = ("trained networks, not best approximators: a curve that flattens can be "
          "optimization's (the least-squares certificate shows what a g of each width "
          "reaches at least); ReLU networks, m1 = 1 only, one smooth target and one draw of "
          "instances per m2 (seeds vary the initialization and batch order); the committed "
          "run is scaled to 2 CPU cores (K_max = 64, 128 training points per instance, widths "
          "up to 64, 400 epochs as the cap), the unscaled settings are "
          "benchmarks/oracle_scaling_gpu.sh; the structured part measures sizes at errors "
          "training reached, not the asymptotic separation")
