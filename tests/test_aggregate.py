"""Summaries: final rows, mean and sample spread, rank correlation, Markdown tables."""

import math

import pytest

from hypermod.reporting import (
    diverged_runs,
    final_rows,
    finite_stats,
    group_stats,
    markdown_table,
    pm,
    spearman,
)


def test_group_stats_uses_the_sample_standard_deviation():
    rows = [{"m": "a", "v": v} for v in (1.0, 2.0, 3.0, 4.0)] + [{"m": "b", "v": 7.0}]
    a, b = group_stats(rows, ("m",), "v")
    assert (a["m"], a["n"], a["mean"]) == ("a", 4, 2.5)
    assert a["std"] == pytest.approx(math.sqrt(5 / 3))  # sum of squares 5 over n - 1 = 3
    assert (b["mean"], b["std"], b["n"]) == (7.0, 0.0, 1)
    assert pm(a, 2) == "2.50 ± 1.29 (n=4)"


def test_spearman_matches_scipy_with_ties():
    scipy_stats = pytest.importorskip("scipy.stats")
    import random

    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(2, 12)
        x = [rng.randint(0, 4) for _ in range(n)]
        y = [rng.randint(0, 4) for _ in range(n)]
        if len(set(x)) < 2 or len(set(y)) < 2:
            continue  # scipy returns nan for a constant input
        want = scipy_stats.spearmanr(x, y).statistic
        assert spearman(x, y) == pytest.approx(want, abs=1e-12)
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0
    with pytest.raises(ValueError):
        spearman([1], [2])


def test_final_rows_take_each_units_last_epoch():
    records = [{"rows": [{"epoch": 1, "e": 0.5}, {"epoch": 3, "e": 0.1}, {"epoch": 2, "e": 0.2}]},
               {"rows": []}]
    assert final_rows(records) == [{"epoch": 3, "e": 0.1}]


def test_markdown_table_formats_numbers():
    text = markdown_table([{"a": 0.123456, "b": 12345, "c": "x"}],
                          [("a", "A"), ("b", "B"), ("c", "C")])
    assert text.splitlines() == ["| A | B | C |", "|---|---|---|", "| 0.1235 | 12,345 | x |"]


def test_group_stats_leave_diverged_runs_out_and_count_them():
    rows = [{"m": "a", "v": 1.0}, {"m": "a", "v": None}, {"m": "a", "v": 3.0},
            {"m": "a", "v": float("nan")}, {"m": "b", "v": None}, {"m": "b", "v": float("inf")}]
    a, b = group_stats(rows, ("m",), "v")
    assert (a["mean"], a["n"], a["diverged"]) == (2.0, 2, 2)
    assert a["std"] == pytest.approx(math.sqrt(2))
    assert (b["mean"], b["std"], b["n"], b["diverged"]) == (None, None, 0, 2)
    assert pm(a, 2) == "2.00 ± 1.41 (n=2, 2 diverged)"
    assert pm(b) == "diverged (2 of 2)"
    assert finite_stats([a, b]) == [a]
    with pytest.raises(KeyError):
        group_stats([{"m": "a"}], ("m",), "v")  # a missing field is a bug, not divergence


def test_diverged_runs_lists_units_whose_last_row_diverged():
    records = [
        {"unit": {"seed": 1}, "rows": [{"epoch": 1, "v": 0.5}, {"epoch": 2, "diverged": True,
                                                               "last_finite_loss": 0.7}]},
        {"unit": {"seed": 2}, "rows": [{"epoch": 1, "v": 0.5}]},
    ]
    assert diverged_runs(records) == [{"seed": 1, "epoch": 2, "last_finite_loss": 0.7}]
