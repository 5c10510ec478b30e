"""The report: corrupt or foreign result files are named and skipped; diverged runs shown."""

import json

import pytest
from test_experiments import _hand_made, _write

from hypermod.config import override
from hypermod.experiments import get_experiment, settings_for
from hypermod.experiments.report import build_report, load_results
from hypermod.sweep import SweepContext, run_sweep

GOOD_ROW = {"dataset": "mnist", "method": "hyper", "depth": 2, "seed": 9, "epoch": 10,
            "test_error": 0.9, "trainable": 1000}


def _record(**changes):
    record = {"status": "finished", "experiment": "rotation-depth", "unit": GOOD_ROW,
              "config": {"epochs": 10}, "rows": [GOOD_ROW]}
    return json.dumps({**record, **changes}).encode()


# Each would-be result file, and what the report must say about it.
BAD_FILES = {
    "truncated": (_record()[:57], "not a valid JSON result file (Unterminated string"),
    "empty": (b"", "not a valid JSON result file (Expecting value"),
    "html": (b"<html>503 Service Unavailable</html>", "not a valid JSON result file"),
    "binary": (bytes(range(256)), "not UTF-8 text"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "array": (b"[1, 2, 3]", "not a valid unit record (a JSON list, not an object)"),
    "running": (_record(status="running"), "status is 'running', not 'finished'"),
    "no-rows": (_record(rows=[]), "'rows' is not a non-empty list"),
    "no-seed": (_record(unit={"dataset": "mnist"}), "the unit has no integer seed"),
    "bad-epoch": (_record(rows=[{**GOOD_ROW, "epoch": "ten"}]), "row 0 has no epoch >= 0"),
    "no-error": (_record(rows=[{k: v for k, v in GOOD_ROW.items() if k != "test_error"}]),
                 "row 0 has no 'test_error'"),
    "text-error": (_record(rows=[{**GOOD_ROW, "test_error": "low"}]),
                   "row 0: 'test_error' is 'low', expected float"),
    "bool-depth": (_record(rows=[{**GOOD_ROW, "depth": True}]),
                   "row 0: 'depth' is True, expected int"),
}


def test_corrupt_result_files_are_named_and_skipped(tmp_path):
    _hand_made(tmp_path / "clean")
    clean = build_report(tmp_path / "clean", log=lambda _: None).path.read_text()
    _hand_made(tmp_path)
    runs = tmp_path / "rotation-depth" / "runs"
    for name, (content, _) in BAD_FILES.items():
        (runs / f"{name}.json").write_bytes(content)
    logged = []
    text = build_report(tmp_path, log=logged.append).path.read_text()
    assert len(logged) == len(BAD_FILES)
    for name, (_, reason) in BAD_FILES.items():
        line = next(m for m in logged if f"{name}.json" in m)
        assert line.startswith(f"skipped {runs / name}.json: ")
        assert reason in line, (name, line)
        assert f"`{runs / name}.json: " in text
    assert f"{len(BAD_FILES)} result file(s) could not be used" in text
    # The good files give the same numbers as without the bad ones.
    table = "| mnist | 2 | 0.2150 ± 0.0071 (n=2) | 0.4150 ± 0.0071 (n=2) |"
    assert table in clean and table in text


def test_a_directory_of_only_bad_files_is_a_clear_error(tmp_path):
    runs = tmp_path / "rotation-depth" / "runs"
    runs.mkdir(parents=True)
    (runs / "a.json").write_bytes(b"{")
    with pytest.raises(ValueError, match="no finished result files .*1 were skipped"):
        build_report(tmp_path, log=lambda _: None)


def test_diverged_runs_are_shown_not_dropped(tmp_path):
    _hand_made(tmp_path)
    for seed, depth, last in ((3, 2, 2.5), (1, 8, None), (2, 8, 1.25)):
        row = {"dataset": "mnist", "method": "hyper", "depth": depth, "seed": seed,
               "epoch": 4, "train_loss": None, "test_loss": None, "test_error": None,
               "diverged": True, "last_finite_loss": last, "trainable": 1000}
        unit_ = {"dataset": "mnist", "method": "hyper", "depth": depth, "seed": seed}
        _write(tmp_path, "rotation-depth", unit_, [row],
               {"epochs": 10})
    grouped, skipped = load_results(tmp_path)
    assert skipped == [] and len(grouped["rotation-depth"]) == 11
    text = build_report(tmp_path, log=lambda _: None).path.read_text()
    # depth 2: seeds 1, 2 finished (0.21, 0.22), seed 3 diverged
    assert "| mnist | 2 | 0.2150 ± 0.0071 (n=2, 1 of 3 failed) | 0.4150 ± 0.0071 (n=2) |" \
        in text
    assert "| mnist | 8 |" not in text.split("### Diverged runs")[0]  # nothing to compare
    assert "| mnist | hyper | 2 | 3 | 4 | 2.5 |" in text
    assert "| mnist | hyper | 8 | 1 | 4 | none (first epoch) |" in text
    assert "| finished runs | 11 (3 diverged) |" in text
    # the claim compares the depths where both methods have a mean
    assert "lower beyond noise at 2 of 2 depths" in text


def test_a_sweep_goes_on_past_diverging_runs_and_reports_them(tmp_path):
    experiment = get_experiment("rotation-embedding")
    config = override(settings_for(experiment, seeds=1), [
        "datasets=digits", "embedding_dims=50", "lrs=0.05,1e6", "train.epochs=2",
        "limit_train=128", "limit_test=64"])
    counts = run_sweep(experiment, config, tmp_path, SweepContext("cpu", progress=False),
                       log=lambda _: None)
    assert counts == {"total": 4, "skipped": 0, "ran": 4}
    records = load_results(tmp_path)[0]["rotation-embedding"]
    diverged = {r["unit"]["method"]: r["rows"][-1] for r in records
                if r["unit"]["lr"] == 1e6}
    assert set(diverged) == {"embedding", "hyper"}
    for row in diverged.values():
        assert row["diverged"] is True and row["epoch"] == 1 and row["test_error"] is None
    text = build_report(tmp_path, log=lambda _: None).path.read_text()
    assert "### Diverged runs" in text
    assert "| digits | embedding | 50 | 1e+06 | 1 | 1 |" in text
    assert "| finished runs | 4 (2 diverged) |" in text
    # Rerunning does not retry them: a diverged run is a finished unit.
    assert run_sweep(experiment, config, tmp_path, SweepContext("cpu", progress=False),
                     log=lambda _: None)["ran"] == 0
