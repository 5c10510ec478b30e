"""Numbers in, verdicts out: each experiment's `summarize` on hand-made records, the
verdict rules, and what `build_report` adds (quick mark, settings, claims)."""

import json
import math

import pytest

from hypermod.experiments import assumption1, assumption2, rotation_depth, rotation_embedding
from hypermod.experiments.modularity_scaling.summary import summarize as scaling_summary
from hypermod.experiments.report import QUICK_MARK, build_report
from hypermod.records import unit_key
from hypermod.reporting import verdict
from hypermod.reporting.verdict import HELD, INCONCLUSIVE, NOT_HELD, PART, Verdict
from hypermod.sweep import config_record
from hypermod.tasks import chance_error

N1 = Verdict(INCONCLUSIVE, "n=1: no spread to judge a difference")


def _record(experiment, rows, config=None, unit_keys=("dataset",)):
    last = rows[-1]
    return {"status": "finished", "experiment": experiment, "config": config or {},
            "unit": {**{k: last[k] for k in unit_keys}, "seed": last["seed"]}, "rows": rows}


def _depth_records(errors, epoch=10, config=None):
    """rotation-depth records from {(method, depth): [error per seed]}."""
    return [_record("rotation-depth", [{"dataset": "mnist", "method": m, "depth": d,
                                        "seed": seed, "epoch": epoch, "test_error": err,
                                        "trainable": 100}],
                    config, ("dataset", "method", "depth"))
            for (m, d), errs in errors.items() for seed, err in enumerate(errs, 1)]


# ---- the rules ----------------------------------------------------------------------

def test_tally_and_seed_rule():
    assert verdict.tally(3, 0, 3) == Verdict(HELD)
    assert verdict.tally(1, 0, 3) == Verdict(PART, "1 of 3")
    assert verdict.tally(0, 1, 3) == Verdict(NOT_HELD)
    assert verdict.tally(0, 0, 3) == Verdict(INCONCLUSIVE, "every difference within noise")
    assert verdict.tally(0, 0, 0) is None
    assert verdict.seeds_reason(2, 1, 5) == N1.reason and verdict.seeds_reason(2, 3) is None


def test_a_claim_from_its_parts():
    agree, steep, open_ = Verdict(HELD), Verdict(NOT_HELD, "steeper"), N1
    assert verdict.from_parts([agree, agree]) == Verdict(HELD)
    assert verdict.from_parts([agree, steep, open_]) == Verdict(PART, "1 of 3 inconclusive")
    assert verdict.from_parts([steep]) == Verdict(NOT_HELD)
    assert verdict.from_parts([open_, open_]) == N1


# ---- rotation-depth -----------------------------------------------------------------

TOO_FEW = "fewer than 2 runs per arm at"


def test_rotation_depth_single_seed_gaps_are_inconclusive():
    # issue 15: single-seed gaps of 0.025 were called held
    s = rotation_depth.summarize(_depth_records({("hyper", 2): [0.300], ("embedding", 2): [0.325],
                                                 ("hyper", 4): [0.310], ("embedding", 4): [0.335]}))
    data = s["datasets"]["mnist"]
    assert data["verdict"] == Verdict(INCONCLUSIVE, f"{TOO_FEW} 2 of 2")
    assert [d["pair"].outcome for d in data["depths"]] == ["too few"] * 2
    assert data["mean_hyper"] == pytest.approx(0.305)
    assert data["mean_embedding"] == pytest.approx(0.330)


def test_rotation_depth_at_chance_level_is_inconclusive():
    # issue 15: a 1-epoch sweep at chance level was called "did not hold"
    chance = chance_error(12, "reference")
    assert chance == 0.875
    s = rotation_depth.summarize(_depth_records(
        {("hyper", 2): [0.880, 0.884], ("embedding", 2): [0.870, 0.871]}, epoch=1))
    assert s["chance"] == chance
    assert s["datasets"]["mnist"]["verdict"] == Verdict(
        INCONCLUSIVE, "every run of both arms failed at 1")


def test_rotation_depth_counts_depths_beyond_noise_after_holm():
    s = rotation_depth.summarize(_depth_records({
        ("hyper", 2): [0.20, 0.22, 0.21], ("embedding", 2): [0.40, 0.42, 0.41],  # beyond
        ("hyper", 4): [0.30, 0.40, 0.35], ("embedding", 4): [0.32, 0.42, 0.37],  # within
    }))
    data = s["datasets"]["mnist"]
    d2, d4 = (d["pair"] for d in data["depths"])
    assert d2.first.stats()["mean"] == pytest.approx(0.21) and d2.outcome == "first"
    assert d2.test.test == "welch" and d2.p_adjusted == pytest.approx(2 * d2.test.p)
    assert d4.test.diff == pytest.approx(-0.02) and d4.outcome == "noise"
    assert data["count"]["first"] == 1 and data["count"]["noise"] == 1
    assert data["verdict"] == Verdict(PART, "1 of 2")


def test_rotation_depth_a_two_se_gap_that_holm_does_not_keep_is_noise():
    # 2.2 standard errors apart at 3 seeds: the old normal rule called it; Welch's t (df
    # about 4) gives p of about 0.09, so it is within noise
    s = rotation_depth.summarize(_depth_records({
        ("hyper", 2): [0.29, 0.30, 0.31], ("embedding", 2): [0.308, 0.318, 0.328]}))
    (d,) = s["datasets"]["mnist"]["depths"]
    assert abs(d["pair"].test.diff) / ((2 * 0.01 ** 2 / 3) ** 0.5) > 2
    assert d["pair"].outcome == "noise" and d["pair"].test.p > 0.05


def test_rotation_depth_held_and_not():
    held = rotation_depth.summarize(_depth_records(
        {("hyper", 2): [0.20, 0.22], ("embedding", 2): [0.40, 0.42]}))
    assert held["datasets"]["mnist"]["verdict"] == Verdict(HELD)
    lost = rotation_depth.summarize(_depth_records(
        {("hyper", 2): [0.40, 0.42], ("embedding", 2): [0.20, 0.22]}))
    assert lost["datasets"]["mnist"]["verdict"] == Verdict(NOT_HELD)


def test_a_failed_run_is_counted_apart_not_averaged_in():
    # issue 20: a hypernetwork seed at chance made its arm's mean 0.566 and the test "not
    # worse"; the runs that trained are compared, the failure is shown beside them
    s = rotation_depth.summarize(_depth_records(
        {("hyper", 2): [0.878, 0.150, 0.160], ("embedding", 2): [0.40, 0.41, 0.42]}))
    (d,) = s["datasets"]["mnist"]["depths"]
    p = d["pair"]
    assert p.first.failed == {1} and p.first.stats()["n"] == 2
    assert p.used == "trained" and p.outcome == "first"
    assert p.everything.n_a == 3 and p.everything.p > 0.05  # all runs: within noise
    assert s["datasets"]["mnist"]["verdict"] == Verdict(HELD)


# ---- rotation-embedding -------------------------------------------------------------

def _embedding_records(hyper, emb, val=None):
    """hyper at lr 0.1, the embedding method at (E=100, lr 0.1); with `val`, a second
    embedding lr (0.01) whose test errors are `val[1]` and validation errors `val[0]`."""
    config = {"embedding_dims": [100], "lrs": [0.1]}
    rows = [("hyper", 0, 0.1, e, e, seed) for seed, e in enumerate(hyper, 1)]
    rows += [("embedding", 100, 0.1, e, e, seed) for seed, e in enumerate(emb, 1)]
    if val is not None:
        rows += [("embedding", 100, 0.01, v, t, seed)
                 for seed, (v, t) in enumerate(zip(*val), 1)]
    return [_record("rotation-embedding", [{"dataset": "mnist", "method": m, "E": big,
                                            "lr": lr, "seed": seed, "epoch": 3,
                                            "test_error": err, "val_error": v}],
                    config, ("dataset", "method", "E", "lr"))
            for m, big, lr, v, err, seed in rows]


@pytest.mark.parametrize("hyper,emb,want", [
    ([0.30, 0.31], [0.40, 0.41], Verdict(HELD)),
    ([0.40, 0.41], [0.30, 0.31], Verdict(NOT_HELD)),
    ([0.30, 0.40], [0.32, 0.42], Verdict(INCONCLUSIVE, "every difference within noise")),
    ([0.30], [0.40], Verdict(INCONCLUSIVE, f"{TOO_FEW} 1 of 1")),
])
def test_rotation_embedding_verdicts(hyper, emb, want):
    data = rotation_embedding.summarize(_embedding_records(hyper, emb))["datasets"]["mnist"]
    assert data["verdict"] == want
    assert data["hyper"]["mean"] == pytest.approx(sum(hyper) / len(hyper))
    assert data["embedding"]["E"] == 100


def test_rotation_embedding_chooses_on_validation_and_reports_the_test_error():
    # lr 0.01 looks best on test (0.20) but worse on validation (0.5): lr 0.1 is chosen
    s = rotation_embedding.summarize(_embedding_records(
        [0.30, 0.31], [0.40, 0.41], val=([0.50, 0.51], [0.20, 0.21])))
    assert s["select"] == "val_error"
    data = s["datasets"]["mnist"]
    assert data["embedding"]["lr"] == 0.1 and data["embedding"]["mean"] == pytest.approx(0.405)
    assert data["verdict"] == Verdict(HELD)


# ---- the assumptions ----------------------------------------------------------------

def _a1_records(gaps, teacher=0.5):
    return [_record("assumption1", [{"dataset": "uniform", "seed": seed, "epoch": ep,
                                     "dist_students": g / ep, "dist_teacher": teacher / ep}
                                    for ep in (1, 2)])
            for seed, g in enumerate(gaps, 1)]


def test_assumption1_verdicts():
    data = assumption1.summarize(_a1_records([0.1, 0.2, 0.15]))["datasets"]["uniform"]
    assert data["ratio"] == pytest.approx(0.3) and data["verdict"] == Verdict(HELD)
    assert data["pair"].test.test == "paired"
    data = assumption1.summarize(_a1_records([0.7, 0.8, 0.75]))["datasets"]["uniform"]
    assert data["ratio"] == pytest.approx(1.5) and data["verdict"] == Verdict(NOT_HELD)
    near = assumption1.summarize(_a1_records([0.3, 0.7]))["datasets"]["uniform"]
    assert near["verdict"] == Verdict(INCONCLUSIVE, "the gap is within noise")
    assert assumption1.summarize(_a1_records([0.1]))["datasets"]["uniform"]["verdict"] == N1
    lost = assumption1.summarize(_a1_records([math.nan, math.nan]))["datasets"]["uniform"]
    assert lost["verdict"] == Verdict(INCONCLUSIVE, "every run diverged")


def _a2_records(errors):
    """{width: [error per seed]}."""
    return [_record("assumption2", [{"dataset": "digits", "width": w, "seed": seed,
                                     "epoch": 1, "test_error": e, "test_mse": e / 10,
                                     "params": 10 * w}], unit_keys=("dataset", "width"))
            for w, errs in errors.items() for seed, e in enumerate(errs, 1)]


def test_assumption2_verdicts():
    data = assumption2.summarize(_a2_records({1: [0.5, 0.6, 0.55], 2: [0.3, 0.4, 0.35],
                                              4: [0.1, 0.11, 0.12]}))
    data = data["datasets"]["digits"]
    assert data["rho"] == pytest.approx(-1.0) and data["falls"] == 2
    assert data["verdict"] == Verdict(HELD) and data["pair"].outcome == "first"
    noisy = assumption2.summarize(_a2_records({1: [0.3, 0.6], 2: [0.3, 0.4], 4: [0.2, 0.4]}))
    assert noisy["datasets"]["digits"]["verdict"] == Verdict(NOT_HELD)  # rho, not the gap
    rising = assumption2.summarize(_a2_records({1: [0.1, 0.1], 2: [0.3, 0.3], 4: [0.2, 0.2]}))
    assert rising["datasets"]["digits"]["verdict"] == Verdict(NOT_HELD)
    two = assumption2.summarize(_a2_records({1: [0.5, 0.6], 2: [0.3, 0.4]}))
    assert two["datasets"]["digits"]["verdict"] == Verdict(INCONCLUSIVE,
                                                           "only 2 width(s) finished")
    one_seed = assumption2.summarize(_a2_records({1: [0.5], 2: [0.3], 4: [0.2]}))
    assert one_seed["datasets"]["digits"]["verdict"] == Verdict(
        INCONCLUSIVE, "widest against narrowest: too few")


# ---- modularity-scaling -------------------------------------------------------------

SCALING = {"r": 1.0, "delta": 0.1, "encoder_widths": [16], "embedding_dim": 4, "m1s": [1],
           "m2s": [1], "widths": [1, 2, 4, 8], "totals_encoders": [],
           "mlp_widths": [], "max_steps": 100}


def _scaling_records(exponents):
    """Smooth-target curves with N ~ eps^-a exactly, a per (method, seed)."""
    out = []
    for (method, seed), a in exponents.items():
        for width in SCALING["widths"]:
            n = 3 * width + 1
            rmse = (n / 4) ** (-1 / a)
            row = {"target": "smooth", "m1": 1, "m2": 1, "method": method, "width": width,
                   "encoder": 16, "seed": seed, "epoch": 1, "primary": n, "trainable": n,
                   "train_mse": rmse ** 2, "test_mse": rmse ** 2, "test_rmse": rmse,
                   "steps": 50}
            out.append(_record("modularity-scaling", [row], SCALING, ("method", "width")))
    return out


def test_scaling_verdicts_per_fit_and_for_the_claim():
    s = scaling_summary(_scaling_records({("hyper", 1): 1.0, ("hyper", 2): 1.0,
                                          ("embedding", 1): 1.0, ("embedding", 2): 1.0}))
    fits = {f["method"]: f for f in s["fits"]}
    assert fits["hyper"]["slope"] == pytest.approx(1.0) and fits["hyper"]["predicted"] == 1
    assert fits["hyper"]["verdict"].word == verdict.CONSISTENT
    assert fits["hyper"]["bearing"] == Verdict(HELD)
    assert fits["embedding"]["verdict"] == Verdict(verdict.SHALLOWER, "[1.00, 1.00] below 2")
    # a shallower q is allowed for one target by a worst-case lower bound: no decision
    assert fits["embedding"]["bearing"].word == INCONCLUSIVE
    assert s["verdict"] == Verdict(HELD, "1 of 2 inconclusive")


def test_scaling_a_steeper_g_goes_against_its_upper_bound():
    s = scaling_summary(_scaling_records({("hyper", 1): 2.0, ("hyper", 2): 2.0,
                                          ("embedding", 1): 3.0, ("embedding", 2): 3.0}))
    fits = {f["method"]: f for f in s["fits"]}
    assert fits["hyper"]["verdict"] == Verdict(verdict.STEEPER, "[2.00, 2.00] above 1")
    assert fits["hyper"]["bearing"].word == NOT_HELD
    assert fits["embedding"]["bearing"] == Verdict(HELD)  # steeper than a lower bound
    assert s["verdict"] == Verdict(PART) and s["settings"][0]["verdict"] == Verdict(PART)


def test_scaling_wide_interval_is_inconclusive():
    s = scaling_summary(_scaling_records({("hyper", 1): 0.5, ("hyper", 2): 1.5}))
    (fit,) = s["fits"]
    assert fit["slope"] == pytest.approx(1.0) and fit["high"] - fit["low"] > 1
    assert fit["verdict"].word == INCONCLUSIVE
    assert fit["verdict"].reason.endswith("wide (consistent needs <= 1)")
    assert s["verdict"].word == INCONCLUSIVE


def test_scaling_single_seed_is_inconclusive():
    s = scaling_summary(_scaling_records({("hyper", 1): 2.0}))
    assert s["fits"][0]["verdict"] == N1 and s["verdict"] == N1


# ---- build_report -------------------------------------------------------------------

def _write(root, records):
    for record in records:
        path = root / record["experiment"] / "runs" / f"{unit_key(record['unit'])}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))


def test_quick_settings_are_marked_and_claims_come_back_plain(tmp_path):
    quick = config_record(rotation_depth.QUICK)
    _write(tmp_path, _depth_records({("hyper", 2): [0.30], ("embedding", 2): [0.32]},
                                    config=quick))
    report = build_report(tmp_path, log=lambda _: None)
    assert report.path == tmp_path / "report.md" and str(report) == str(report.path)
    text = report.path.read_text()
    title = f"Rotation prediction against encoder depth {QUICK_MARK}"
    assert f"- **{title}** (`rotation-depth`)" in text and f"## {title}" in text
    ((got_title, claim),) = report.claims
    assert got_title == title and "**" not in claim
    assert f"on mnist: inconclusive ({TOO_FEW} 1 of 1)" in claim


def test_settings_table_lists_the_union_of_the_grids(tmp_path):
    # A resumed sweep that added mnist: its records say so, the first ones do not.
    old = _depth_records({("hyper", 2): [0.2, 0.21], ("embedding", 2): [0.4, 0.41]},
                         config={"epochs": 10, "datasets": ["digits"]})
    for r in old:
        r["rows"][0]["dataset"] = r["unit"]["dataset"] = "digits"
    new = _depth_records({("hyper", 2): [0.2, 0.21], ("embedding", 2): [0.4, 0.41]},
                         config={"epochs": 10, "datasets": ["digits", "mnist"]})
    _write(tmp_path, old + new)
    text = build_report(tmp_path, log=lambda _: None).path.read_text()
    assert '| datasets | ["digits", "mnist"] |' in text
    # first seen in file order: files are named by their unit keys
    assert "| units ran | dataset: digits, mnist; method: embedding, hyper; depth: 2 |" in text
    assert QUICK_MARK not in text


def _tuned_depth_records(curves):
    """rotation-depth records with tuned lr and early stopping: {(method, depth, lr):
    [(val errors per epoch, test errors per epoch) per seed]}; the last row names the best
    validation epoch, as the loop does."""
    out = []
    for (m, d, lr), seeds in curves.items():
        for seed, (vals, tests) in enumerate(seeds, 1):
            best = min(range(len(vals)), key=lambda i: vals[i]) + 1
            rows = [{"dataset": "mnist", "method": m, "depth": d, "lr": lr, "seed": seed,
                     "epoch": e, "val_error": v, "test_error": t, "trainable": 100}
                    for e, (v, t) in enumerate(zip(vals, tests), 1)]
            rows[-1].update(stop="cap", best_epoch=best)
            out.append(_record("rotation-depth", rows, {"binning": "reference"},
                               ("dataset", "method", "depth", "lr")))
    return out


def test_rotation_depth_at_tuned_lrs_is_set_beside_the_papers_fixed_setting(tmp_path):
    # 12 epochs; at lr 0.01 (the paper's) after epoch 10 the embedding method is lower,
    # but each method's chosen lr (on validation) makes the hypernetwork lower
    def curve(at10, later, val_later):
        tests = [0.5] * 9 + [at10, later, later]
        vals = [0.6] * 9 + [at10 + 0.01, val_later, val_later]
        return vals, tests

    jitter = (0.0, 0.004, 0.008)
    records = _tuned_depth_records({
        ("hyper", 2, 0.01): [curve(0.30 + j, 0.30 + j, 0.40) for j in jitter],
        ("hyper", 2, 0.1): [curve(0.30 + j, 0.10 + j, 0.11 + j) for j in jitter],
        ("embedding", 2, 0.01): [curve(0.20 + j, 0.20 + j, 0.25 + j) for j in jitter],
        ("embedding", 2, 0.1): [curve(0.40 + j, 0.40 + j, 0.45) for j in jitter],
    })
    s = rotation_depth.summarize(records)
    tuned = s["datasets"]["mnist"]["depths"][0]["pair"]
    assert tuned.outcome == "first"  # hyper lower at the chosen lrs (0.1 and 0.01)
    assert tuned.first.stats()["mean"] == pytest.approx(0.104)
    fixed = s["fixed"]
    assert (fixed["lr"], fixed["epochs"], fixed["stopped"]) == (0.01, 10, 0)
    at_paper = fixed["datasets"]["mnist"]["depths"][0]["pair"]
    assert at_paper.outcome == "second"  # embedding lower at lr 0.01, epoch 10
    assert at_paper.first.stats()["mean"] == pytest.approx(0.304)
    from hypermod.experiments.rotation_depth.report import agreement

    assert agreement(s, "mnist") == ([], [2])
    section = rotation_depth.report(records, tmp_path)
    assert ("at the paper's fixed setting (lr 0.01, epoch 10) in the same runs: "
            "**did not hold**") in section.claim
    assert "the answer per depth is the same at 0 of 1 depths (it differs at depth 2)" \
        in section.claim
    assert len(section.tables) == 3  # chosen lrs, the fixed setting, the lr selection
    assert section.tables[1].startswith("At the paper's fixed setting (lr 0.01, epoch 10)")
    for record in records:  # learning-rate cuts change the steps before epoch 10
        record["config"]["train"] = {"cuts": 1}
    assert "fixed" not in rotation_depth.summarize(records)


def test_rows_at_an_epoch_count_runs_that_stopped_before_it():
    from hypermod.reporting.stats import rows_at_epoch

    rows = [{"lr": 0.01, "epoch": e, "test_error": 0.5 - e / 100} for e in (1, 2, 3)]
    short = [{"lr": 0.01, "epoch": 1, "test_error": 0.4, "stop": "rule", "best_epoch": 1}]
    broke = [{"lr": 0.01, "epoch": 1, "test_error": 0.4},
             {"lr": 0.01, "epoch": 2, "diverged": True, "test_error": None}]
    other = [{"lr": 0.1, "epoch": e, "test_error": 0.3} for e in (1, 2, 3)]
    records = [{"rows": r} for r in (rows, short, broke, other)]
    found, stopped = rows_at_epoch(records, 3, lr=0.01)
    assert found == [rows[2], broke[1]]  # the diverged run is a failure, not left out
    assert stopped == 1
