"""Tuning a training setting in a sweep: every value a unit field, a grid point's seeds x
values one ensemble, the choice made on validation data, the edge of a grid flagged, bad
values refused before anything is written."""

import json

import pytest

from hypermod.cli import main
from hypermod.config import override
from hypermod.experiments import get_experiment, settings_for
from hypermod.experiments.report import build_report
from hypermod.reporting.selection import choose, edge_note
from hypermod.sweep import SweepContext, SweepSettings, groups, run_sweep, tuned_units, unit


def test_every_unit_once_per_value_and_one_ensemble_per_grid_point():
    experiment = get_experiment("rotation-depth")
    config = override(settings_for(experiment), ["datasets=digits", "depths=2", "seeds=2",
                                                 "tune_lr=0.01,0.1", "val_fraction=0.2"])
    todo = experiment.units(config)
    assert len(todo) == 2 * 2 * 2  # seeds x methods x values
    assert {dict(u.point)["lr"] for u in todo} == {0.01, 0.1}
    batches = groups(todo, experiment, SweepSettings())
    assert sorted(len(b) for b in batches) == [4, 4]  # per method: 2 seeds x 2 values
    assert all(len({dict(u.point)["method"] for u in b}) == 1 for b in batches)
    capped = groups(todo, experiment, SweepSettings(max_ensemble=3))
    assert sorted(len(b) for b in capped) == [1, 1, 3, 3]
    assert tuned_units([unit(1, a=1)], config=object()) == [unit(1, a=1)]


def test_the_choice_is_made_on_validation_and_an_end_of_the_grid_is_flagged():
    rows = []
    for lr, val, test in ((0.01, 0.5, 0.1), (0.1, 0.2, 0.4), (1.0, 0.3, 0.3)):
        rows += [{"method": "hyper", "lr": lr, "seed": s, "val_error": val + 0.01 * s,
                  "test_error": test} for s in (1, 2)]
    chosen, table = choose(rows, ("lr",), ("method",))
    assert {r["lr"] for r in chosen} == {0.1}  # lowest on validation, not on test
    assert [r["chosen"] for r in table] == [False, True, False]
    assert edge_note(table, ("lr",), ("method",)) is None
    rows = [r for r in rows if r["lr"] != 0.01]
    _, table = choose(rows, ("lr",), ("method",))
    assert "best lr at the grid's edge (widen it): method hyper, lr 0.1" == \
        edge_note(table, ("lr",), ("method",))


def test_a_tuned_sweep_records_each_value_and_the_report_names_the_choice(tmp_path):
    experiment = get_experiment("rotation-depth")
    config = override(settings_for(experiment, seeds=2), [
        "datasets=digits", "depths=1", "train.epochs=3", "limit_train=200", "limit_test=100",
        "tune_lr=0.01,0.1", "val_fraction=0.2", "train.patience=2"])
    counts = run_sweep(experiment, config, tmp_path, SweepContext("cpu", progress=False),
                       log=lambda _: None)
    assert counts["ran"] == 8
    files = sorted((tmp_path / experiment.name / "runs").glob("*.json"))
    records = [json.loads(p.read_text()) for p in files]
    for record in records:
        assert record["unit"]["lr"] in (0.01, 0.1)
        assert all(row["lr"] == record["unit"]["lr"] for row in record["rows"])
        assert record["ensemble"]["size"] == 4 and "val_error" in record["rows"][0]
    text = build_report(tmp_path, log=lambda _: None).path.read_text()
    assert "Tuned: lr; the value of lowest mean val_error over seeds" in text
    assert "figures/rotation-depth-lr.png" in text


@pytest.mark.parametrize("tune, message", [
    ("lr=", "at least one value"), ("lr=x", "values must be numbers"),
    ("lr=-1", "must be finite and > 0"), ("lr=0.1,0.1", "named twice"),
    ("momentum=0.5", "rotation-depth tunes lr, not 'momentum'"),
])
def test_bad_tuning_is_refused_before_anything_is_written(tmp_path, capsys, tune, message):
    out = tmp_path / "out"
    assert main(["sweep", "rotation-depth", "--tune", tune, "--set", "val_fraction=0.1",
                 "--out", str(out), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_tuning_without_a_validation_part_is_refused(capsys, tmp_path):
    assert main(["sweep", "rotation-depth", "--tune", "lr=0.01,0.1", "--out",
                 str(tmp_path / "o"), "--no-progress"]) == 2
    assert "set val_fraction" in capsys.readouterr().err
