"""The one judge: arms from rows, failures counted apart, paired tests by seed, Holm over
a family, rankings chosen on validation, and assumption 2's trend rule."""

import pytest

from hypermod.reporting.claims import Arm, Claim, best_of, judge, trend
from hypermod.reporting.inference import paired


def _rows(values, **fields):
    return [{**fields, "seed": seed, "test_error": v} for seed, v in enumerate(values, 1)]


CLAIM = Claim("lower", "a below b", "test_error", Arm("a", {"m": "a"}), Arm("b", {"m": "b"}),
              family=("depth",), split=("data",), chance=0.9)


def test_one_judgement_per_split_and_one_pair_per_family_member():
    rows = []
    for data in ("x", "y"):
        for depth in (1, 2, 3):
            rows += _rows([0.1, 0.11, 0.12], m="a", depth=depth, data=data)
            rows += _rows([0.3, 0.31, 0.32], m="b", depth=depth, data=data)
    out = judge(CLAIM, rows)
    assert [j.at for j in out] == [{"data": "x"}, {"data": "y"}]
    assert all(len(j.pairs) == 3 and j.verdict.word == "held" for j in out)
    ps = [p.test.p for p in out[0].pairs]
    assert sorted(p.p_adjusted for p in out[0].pairs) == pytest.approx(
        sorted([3 * min(ps)] * 3))  # equal raw p: Holm multiplies each by 3


def test_an_arm_missing_at_a_member_drops_that_member_only():
    rows = _rows([0.1, 0.11], m="a", depth=1, data="x") + _rows([0.1], m="a", depth=2,
                                                                 data="x")
    rows += _rows([0.3, 0.31], m="b", depth=1, data="x")
    (j,) = judge(CLAIM, rows)
    assert [p.at for p in j.pairs] == [{"depth": 1}]


def test_failures_are_counted_apart_and_read_on_validation_where_there_is_one():
    rows = _rows([0.10, 0.11, 0.12], m="a", depth=1, data="x")
    rows += _rows([0.30, 0.31, 0.32], m="b", depth=1, data="x")
    rows[0]["val_error"] = 0.89  # at chance on validation (within 2% of 0.9): failed
    rows[1]["val_error"] = 0.2
    rows[2]["diverged"] = True
    (j,) = judge(CLAIM, rows)
    (p,) = j.pairs
    assert p.first.failed == {1, 3} and p.second.failed == frozenset()
    assert p.used == "all runs"  # one run of a trained: too few, so every run is tested
    assert p.everything.n_a == 3


def test_every_run_failed_is_inconclusive_not_a_tie():
    rows = _rows([0.89, 0.9], m="a", depth=1, data="x") + _rows([0.9, 0.91], m="b", depth=1,
                                                                  data="x")
    (j,) = judge(CLAIM, rows)
    assert j.pairs[0].outcome == "failed"
    assert j.verdict.word == "inconclusive" and "failed" in j.verdict.reason


def test_a_paired_claim_matches_seeds_and_may_compare_two_metrics():
    rows = [{"seed": s, "near": v, "far": v + 0.1 + 0.001 * s} for s, v in
            enumerate([0.1, 0.5, 0.9], 1)]
    claim = Claim("closer", "", "near", Arm("near", {}), Arm("far", {}, metric="far"),
                  test="paired")
    (j,) = judge(claim, rows)
    (p,) = j.pairs
    want = paired([0.1, 0.5, 0.9], [r["far"] for r in rows])
    assert p.test.p == pytest.approx(want.p) and p.outcome == "first"


def test_best_of_chooses_on_validation_and_ranks_failed_arms_last():
    rows = []
    for method, val, test in (("a", 0.5, 0.1), ("b", 0.2, 0.3), ("c", 0.95, 0.95)):
        rows += [{"method": method, "budget": 1, "seed": s, "val_error": val + 0.01 * s,
                  "test_error": test + 0.01 * s} for s in (1, 2, 3)]
    (r,) = best_of(rows, "method", "test_error", "val_error", ("budget",), test="paired",
                   chance=0.9)
    assert r.best == "b" and r.order == ["b", "a", "c"]  # c failed: last
    by = {p.at["method"]: p for p in r.pairs}
    assert by["a"].outcome == "second"  # a is lower on test: said, not hidden
    assert by["c"].second.failed == {1, 2, 3}


def test_trend_needs_both_the_rank_rule_and_the_gap():
    rows = []
    for w, errs in ((1, [0.5, 0.52, 0.54]), (2, [0.3, 0.31, 0.32]), (4, [0.1, 0.11, 0.12])):
        rows += [{"d": "x", "w": w, "seed": s, "test_error": e} for s, e in enumerate(errs, 1)]
    (j,) = trend(rows, "w", "test_error", ("d",))
    assert j.verdict.word == "held" and j.counts["rho"] == pytest.approx(-1.0)
