"""What limits a point of modularity-scaling: the rule on known numbers, the fits that
leave limited points out, the totals verdict, and a real tiny encoder flagged."""

import math

import pytest

from hypermod.experiments.modularity_scaling.diagnosis import GAIN, PRIMARY, diagnose
from hypermod.experiments.modularity_scaling.experiment import ScalingConfig, run
from hypermod.experiments.modularity_scaling.summary import summarize
from hypermod.reporting.verdict import HELD, INCONCLUSIVE
from hypermod.sweep import SweepContext, unit


def _row(rmse, wider=None, longer=None, data=None, stop="rule", **point):
    probes = {name: {"test_rmse": value} for name, value in
              (("wider", wider), ("longer", longer), ("data", data)) if value is not None}
    return {"test_rmse": rmse, "stop": stop, "probes": probes, **point}


def test_a_probe_that_lowers_the_error_by_more_than_the_gain_names_the_limit():
    d = diagnose([_row(0.2, wider=0.15, longer=0.19, data=0.195)])
    assert d.limits == ("encoder",) and d.label == "encoder-limited"
    assert not d.primary_limited and d.gain("wider") == pytest.approx(-0.25)
    d = diagnose([_row(0.2, wider=0.21, longer=0.17, data=0.17)])
    assert d.label == "optimization-limited, data-limited"


def test_a_point_no_probe_moves_is_primary_limited():
    just_inside = 0.2 * (1 - GAIN) + 1e-6
    d = diagnose([_row(0.2, wider=just_inside, longer=0.25, data=0.2)])
    assert d.primary_limited and d.label == PRIMARY and d.limits == ()


def test_a_run_stopped_by_the_cap_is_not_converged_so_not_primary_limited():
    d = diagnose([_row(0.2, wider=0.2, longer=0.2, data=0.2, stop="cap"),
                  _row(0.2, stop="rule")])
    assert d.capped == 1 and d.limits == ("optimization",)


def test_probes_are_compared_with_the_same_seeds_only():
    # seed 1 ran the probes (0.2 -> 0.19); seed 2 did not and is much better (0.1): the
    # unpaired mean 0.15 would make the probe look 27% worse, the paired one is -5%
    d = diagnose([_row(0.2, wider=0.19, longer=0.19, data=0.19), _row(0.1)])
    assert d.base == pytest.approx(0.2) and d.probed == 1 and d.seeds == 2
    assert d.gain("wider") == pytest.approx(-0.05) and d.primary_limited


def test_rows_without_probes_are_not_diagnosed():
    d = diagnose([_row(0.3), _row(0.2)])
    assert not d.diagnosed and d.label == "not diagnosed" and not d.primary_limited
    with pytest.raises(ValueError, match="at least one row"):
        diagnose([])


CONFIG = {"r": 1.0, "delta": 0.1, "encoder_widths": [16], "embedding_dim": 4, "m1s": [1],
          "m2s": [1], "widths": [1, 2, 4, 8, 16], "totals_encoders": [], "mlp_widths": [],
          "max_steps": 100}


def _records(target="smooth", method="hyper", curve=None, floor_from=8):
    """g's curve: N ~ eps^-1 exactly up to width 4, then a flat floor that a wider
    encoder lowers by 30% (encoder-limited); every seed ran the probes."""
    out = []
    for seed in (1, 2):
        for width in CONFIG["widths"]:
            n = 3 * width + 1
            rmse = (curve or {}).get(width, (n / 4) ** -1.0)
            limited = width >= floor_from
            if limited:  # 7.5% lower per doubling after width 4: a floor, a ~ 8
                rmse = (13 / 4) ** -1.0 * (1 - 0.075 * math.log2(width / 4))
            row = _row(rmse, wider=rmse * (0.7 if limited else 1.0), longer=rmse, data=rmse,
                       target=target, m1=1, m2=1, method=method, width=width, encoder=16,
                       seed=seed, epoch=1, primary=n, trainable=100 + n,
                       train_mse=rmse ** 2, test_mse=rmse ** 2, test_rmse=rmse, steps=50)
            out.append({"config": CONFIG, "rows": [row]})
    return out


def test_only_primary_limited_points_enter_the_fit():
    s = summarize(_records())
    (fit,) = s["fits"]
    assert (fit["points"], fit["of"]) == (3, 5) and fit["N"] == (4, 13)
    assert fit["slope"] == pytest.approx(1.0) and fit["verdict"].word == "agrees"
    labels = [p["diagnosis"].label for p in s["points"]]
    assert labels == [PRIMARY] * 3 + ["encoder-limited"] * 2
    # the same curve without the diagnosis: the floor enters and steepens the slope
    undiagnosed = _records()
    for record in undiagnosed:
        record["rows"][0]["probes"] = {}
    (flat,) = summarize(undiagnosed)["fits"]
    assert flat["points"] == 5 and flat["slope"] > 1.2  # 1.24: the floor steepens it


def test_too_few_primary_limited_points_give_no_fit():
    s = summarize(_records(floor_from=2))
    (fit,) = s["fits"]
    assert "slope" not in fit and fit["verdict"].word == INCONCLUSIVE
    assert fit["verdict"].reason == "1 primary-limited point(s) of 5; a fit needs 3"


def test_a_disagreement_on_primary_limited_points_is_called_a_finding():
    steep = {w: ((3 * w + 1) / 4) ** -0.5 for w in CONFIG["widths"]}  # a = 2, predicted 1
    (fit,) = summarize(_records(curve=steep, floor_from=99))["fits"]
    assert fit["verdict"].word == "steeper"
    assert fit["verdict"].reason == "2.00x, on primary-limited points only: a finding"


def _totals_records(errors):
    """Structured-target units whose tried configurations have given totals and errors."""
    out = []
    for seed in (1, 2):
        for method, tried in errors.items():
            rows = [{"encoder": enc, "trainable": total, "test_rmse": err}
                    for enc, total, err in tried]
            best = min(rows, key=lambda t: t["test_rmse"])
            row = {"target": "structured", "m1": 1, "m2": 4, "method": method, "width": 4,
                   "seed": seed, "stop": "rule", "probes": {}, "tried": rows, **best,
                   "primary": 9, "train_mse": 0.01, "test_mse": best["test_rmse"] ** 2}
            out.append({"config": CONFIG, "rows": [row]})
    return out


def test_totals_verdict_compares_at_every_level_all_three_reach():
    s = summarize(_totals_records({
        "hyper": [(8, 300, 0.25), (64, 2_000, 0.08)],
        "embedding": [(8, 500, 0.25), (64, 9_000, 0.09)],
        "mlp": [(32, 800, 0.28), (128, 20_000, 0.06)]}))
    (claim,) = s["totals_verdicts"]
    assert [lv["eps"] for lv in claim["levels"]] == [0.5, 0.3, 0.2, 0.1]
    assert claim["levels"][-1]["embedding_ratio"] == pytest.approx(4.5)
    assert claim["levels"][-1]["mlp_ratio"] == pytest.approx(10.0)
    assert claim["verdict"].word == HELD
    s = summarize(_totals_records({"hyper": [(8, 300, 0.25)], "embedding": [(8, 500, 0.4)],
                                   "mlp": [(8, 100, 0.45)]}))
    (claim,) = s["totals_verdicts"]
    assert claim["verdict"].word == INCONCLUSIVE and "1 error level(s)" in claim["verdict"].reason


def test_a_tiny_encoder_is_flagged_encoder_limited():
    """A real case with a known answer: the structured target's g* takes all its weights
    from a 4-dimensional instance through f*, so an encoder of width 1 (one hidden unit
    per layer) cannot carry I to g; twice as wide must lower the error by far more than
    the 10% rule, while more steps or data cannot lift the bottleneck."""
    config = ScalingConfig(datasets=("structured",), m1s=(1,), m2s=(4,), structured_m2s=(4,),
                           widths=(8,), encoder_widths=(1,), totals_encoders=(),
                           mlp_widths=(8,), diagnose=("structured",), train_instances=512,
                           val_instances=64, test_instances=128, points=8, max_steps=600,
                           patience=4, decays=1, probe_seeds=2, seeds=2)
    ctx = SweepContext("cpu", progress=False)
    rows = [run(config, unit(seed, target="structured", m1=1, m2=4, method="hyper",
                             width=8), ctx)[0] for seed in (1, 2)]
    assert all(r["encoder"] == 1 and r["probes"]["wider"]["encoder"] == 2 for r in rows)
    d = diagnose(rows)
    assert d.diagnosed and "encoder" in d.limits and not d.primary_limited
    assert d.gain("wider") < -0.3  # measured: -0.63 and -0.59 for the two seeds
